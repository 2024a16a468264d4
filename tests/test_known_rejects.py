"""A bad row that never changes is reported once: later nights stay green, the site current; a new problem is red again."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.test_forms_import import GOOGLE, rejects, run, write_config
from tests.test_forms_import import folder as folder  # the fixture


def _summary(folder: Path) -> dict[str, object]:
    return dict(json.loads((folder / "out" / "report" / "summary.json").read_text("utf-8")))


def test_unchanged_rejects_leave_later_nights_green_and_a_new_one_turns_red(
    engine: Engine, db_url: str, folder: Path
) -> None:
    """Night 1 exit 65 (new rejects); night 2, same file: exit 0, «ok», no site warning; a new bad row: 65 again."""
    config = write_config(folder, db_url, GOOGLE)
    first = run(config, "sync")
    assert first.exit_code == 65
    assert run(config, "report").exit_code == 0
    (warning,) = _summary(folder)["freshness_warnings"]  # type: ignore[misc]
    assert warning.startswith("Последняя синхронизация нашла новые строки с ошибками в файлах форм")

    second = run(config, "sync")
    assert second.exit_code == 0, second.output
    status = json.loads(run(config, "status", "--json").stdout)
    last = status["runs"][0]
    assert last["status"] == "ok" and last["warnings"] >= 1
    (known,) = last["known_rejects"]
    assert known.startswith("google_registration.csv: отклонено 3 из ")
    assert known in run(config, "status").stdout  # listed for the administrator, not only counted
    assert run(config, "report").exit_code == 0
    assert _summary(folder)["freshness_warnings"] == [] and _summary(folder)["last_sync_status"] == "ok"
    assert len(rejects(engine, "reg-ku")) == 3  # still listed for the quality page

    export = folder / "google_registration.csv"
    export.write_text(export.read_text("utf-8") + "Новый Ряд,not-an-address,Клин\n", "utf-8")
    third = run(config, "sync")
    assert third.exit_code == 65
    assert json.loads(run(config, "status", "--json").stdout)["runs"][0]["status"] == "problems"
