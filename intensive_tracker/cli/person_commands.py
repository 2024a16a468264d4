"""`person QUERY`: a person's card, to answer «была ли она на интенсиве? защитилась ли?»."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from intensive_tracker.cli.context import Context, TrackerArgument, cli
from intensive_tracker.i18n import N_, _
from intensive_tracker.reports.person_card import build_cards, person_rosters
from intensive_tracker.reports.person_search import find_people
from intensive_tracker.reports.person_text import card_json, card_lines
from intensive_tracker.reports.quality import build_quality
from intensive_tracker.reports.quality_json import quality_json
from intensive_tracker.store.schema import ensure_schema


@cli.command(
    help=N_(
        "Карточка человека: учётные записи, округа, занятия и защиты по программам и годам "
        "(код выхода 1: никого не нашлось)."
    )
)
@click.argument("query", cls=TrackerArgument, metavar=N_("ЗАПРОС"))
@click.option("--json", "as_json", is_flag=True, help=N_("Вывод для программ (JSON, даты ISO)."))
@click.pass_obj
def person(obj: Context, query: str, as_json: bool) -> None:
    settings = obj.settings
    engine = obj.app.engine
    ensure_schema(engine)
    registry = obj.app.registry
    matches = find_people(engine, query)
    if not matches:
        if as_json:
            click.echo(json.dumps({"query": query, "matches": []}, ensure_ascii=False, indent=2))
        click.echo(
            _("Никого не найдено по запросу «{query}»: проверьте написание или введите e-mail.", query=query), err=True
        )
        sys.exit(1)
    ids = [m.participant_id for m in matches]
    all_rosters, titles = person_rosters(engine, registry, ids)
    items = quality_json(build_quality(engine, registry, settings, datetime.now(settings.tz)))["items"]
    cards = build_cards(engine, registry, ids, all_rosters, titles, items)
    how = {m.participant_id: m.how for m in matches}
    if as_json:
        click.echo(
            json.dumps(
                {"query": query, "matches": [{"match": how[c.participant_id], **card_json(c)} for c in cards]},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return
    if any(m.how == "similar" for m in matches):
        click.echo(_("Точных совпадений нет; похожие ({count}):", count=len(cards)))
    for card in cards:
        click.echo("\n".join(card_lines(card)))
        click.echo("")
