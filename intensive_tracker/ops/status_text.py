"""`status` for a terminal: the dict `collect_status` returns, laid out as text lines in the terminal's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from intensive_tracker.i18n import N_, _, number
from intensive_tracker.mail.outbox import state_label
from intensive_tracker.people.vocabulary import RUN_STATUS_LABELS

# How each cohort of the last run was refreshed (the JSON keeps the English word).
REFRESH_MODES = {"full": N_("полностью"), "incremental": N_("только новые оценки"), "skipped": N_("пропущена")}


def _short(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).strftime("%d.%m.%y %H:%M")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    return (
        _("{minutes} мин {seconds:02d} с", minutes=minutes, seconds=secs) if minutes else _("{seconds} с", seconds=secs)
    )


def _status(value: str) -> str:
    return _(RUN_STATUS_LABELS[value]) if value in RUN_STATUS_LABELS else value


def render_text(status: dict[str, Any]) -> str:
    """The status for a terminal: one line per run, then what failed last, then the schedule."""
    if status.get("database_error"):
        return _(
            "База: {database} — не читается. {message}",
            database=status["database"],
            message=status["database_error"]["message"],
        )
    schema = status["schema"]
    lines = [
        _("База: {database} — схема актуальна", database=status["database"])
        if schema["up_to_date"]
        else _(
            "База: {database} — схема отстаёт ({current} → {heads}); выполните intensive-tracker db upgrade",
            database=status["database"],
            current=", ".join(schema["current"]) or _("пусто"),
            heads=", ".join(schema["heads"]),
        ),
        _("Синхронизация выполняется сейчас.") if status["sync_running"] else _("Синхронизация сейчас не выполняется."),
    ]
    if status["runs"]:
        lines.append(_("Последние запуски (время {zone}):", zone=status["timezone"]))
        # One header line, its columns as wide as the rows below in either language.
        lines.append(
            _(
                "     #  начат           длит.      итог                      новых  измен.  без изм.  откл.  предупр.  ошибок"
            )
        )
        for r in status["runs"]:
            lines.append(
                f"  {r['id']:>4}  {_short(r['started_at']):<15} {_duration(r['duration_s']):<10} "
                f"{_status(r['status']):<25} {number(r['inserted']):>5}  "
                f"{number(r['updated']):>6}  {number(r['unchanged']):>8}  {number(r['rejected']):>5}  "
                f"{number(r['warnings']):>8}  {number(r['errors']):>6}"
            )
        last = status["runs"][0]
        if last.get("refresh"):
            lines.append(_("Когорты в запуске #{run}:", run=last["id"]))
            for r in last["refresh"]:
                mode = r.get("mode")
                shown = _(REFRESH_MODES[mode]) if mode in REFRESH_MODES else mode
                lines.append(f"  {r.get('cohort')}: {shown} ({r.get('reason')})")
        if last.get("known_rejects"):
            lines.append(
                _("Известные отклонённые строки в запуске #{run} (не новые, запуск не красный):", run=last["id"])
            )
            lines += [f"  {message}" for message in last["known_rejects"]]
    else:
        lines.append(_("Запусков синхронизации ещё не было."))
    failure = status["last_failure"]
    if failure:
        lines.append(
            _(
                "Последняя неудача: #{run} от {when}, {status}:",
                run=failure["id"],
                when=_short(failure["started_at"]),
                status=_status(failure["status"]),
            )
        )
        for e in failure["error_list"][:10]:
            where = " ".join(x for x in (e.get("source"), e.get("cohort")) if x)
            lines.append(f"  {where + ': ' if where else ''}{e.get('message')}")
        if len(failure["error_list"]) > 10:
            lines.append(_("  и ещё {n}", n=len(failure["error_list"]) - 10))
    if status["jobs"]:
        lines.append(_("Расписание:"))
        for job in status["jobs"]:
            last = job["last"]
            done = (
                _(
                    "; последний за {night}: {status}",
                    night=_short(last["logical_date"]),
                    status=_status(last["status"]),
                )
                if last
                else _("; ещё не запускалось")
            )
            lines.append(
                _(
                    "  {job} ({title}, «{crontab}», {zone}): следующий {next}",
                    job=job["id"],
                    title=_(job["title"]),
                    crontab=job["crontab"],
                    zone=job["timezone"],
                    next=_short(job["next_run"]),
                )
                + done
            )
    if status["outbox"] is not None:
        parts = ", ".join(f"{state_label(k)}: {v}" for k, v in status["outbox"].items()) or _("пусто")
        lines.append(_("Очередь писем: {states}", states=parts))
    return "\n".join(lines)
