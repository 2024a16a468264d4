"""`status` for a terminal: the dict `collect_status` returns, laid out as Russian text lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from intensive_tracker.i18n import number
from intensive_tracker.mail.outbox import state_label
from intensive_tracker.people.vocabulary import RUN_STATUS_LABELS


def _short(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).strftime("%d.%m.%y %H:%M")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} мин {secs:02d} с" if minutes else f"{secs} с"


def render_text(status: dict[str, Any]) -> str:
    """The status for a terminal: one line per run, then what failed last, then the schedule."""
    if status.get("database_error"):
        return f"База: {status['database']} — не читается. {status['database_error']['message']}"
    lines = [
        f"База: {status['database']} — схема "
        + (
            "актуальна"
            if status["schema"]["up_to_date"]
            else f"отстаёт ({', '.join(status['schema']['current']) or 'пусто'} → {', '.join(status['schema']['heads'])}); "
            "выполните intensive-tracker db upgrade"
        ),
        "Синхронизация выполняется сейчас." if status["sync_running"] else "Синхронизация сейчас не выполняется.",
    ]
    if status["runs"]:
        lines.append(f"Последние запуски (время {status['timezone']}):")
        lines.append(
            "     #  начат           длит.      итог                      новых  измен.  без изм.  откл.  предупр.  ошибок"
        )
        for r in status["runs"]:
            lines.append(
                f"  {r['id']:>4}  {_short(r['started_at']):<15} {_duration(r['duration_s']):<10} "
                f"{RUN_STATUS_LABELS.get(r['status'], r['status']):<25} {number(r['inserted']):>5}  "
                f"{number(r['updated']):>6}  {number(r['unchanged']):>8}  {number(r['rejected']):>5}  "
                f"{number(r['warnings']):>8}  {number(r['errors']):>6}"
            )
        last = status["runs"][0]
        if last.get("refresh"):
            lines.append(f"Когорты в запуске #{last['id']}:")
            modes = {"full": "полностью", "incremental": "только новые оценки", "skipped": "пропущена"}
            for r in last["refresh"]:
                lines.append(f"  {r.get('cohort')}: {modes.get(r.get('mode'), r.get('mode'))} ({r.get('reason')})")
        if last.get("known_rejects"):
            lines.append(f"Известные отклонённые строки в запуске #{last['id']} (не новые, запуск не красный):")
            lines += [f"  {message}" for message in last["known_rejects"]]
    else:
        lines.append("Запусков синхронизации ещё не было.")
    failure = status["last_failure"]
    if failure:
        lines.append(
            f"Последняя неудача: #{failure['id']} от {_short(failure['started_at'])}, "
            f"{RUN_STATUS_LABELS.get(failure['status'], failure['status'])}:"
        )
        for e in failure["error_list"][:10]:
            where = " ".join(x for x in (e.get("source"), e.get("cohort")) if x)
            lines.append(f"  {where + ': ' if where else ''}{e.get('message')}")
        if len(failure["error_list"]) > 10:
            lines.append(f"  и ещё {len(failure['error_list']) - 10}")
    if status["jobs"]:
        lines.append("Расписание:")
        for job in status["jobs"]:
            last = job["last"]
            done = (
                f"; последний за {_short(last['logical_date'])}: {RUN_STATUS_LABELS.get(last['status'], last['status'])}"
                if last
                else "; ещё не запускалось"
            )
            lines.append(
                f"  {job['id']} ({job['title']}, «{job['crontab']}», {job['timezone']}): "
                f"следующий {_short(job['next_run'])}{done}"
            )
    if status["outbox"] is not None:
        parts = ", ".join(f"{state_label(k)}: {v}" for k, v in status["outbox"].items()) or "пусто"
        lines.append(f"Очередь писем: {parts}")
    return "\n".join(lines)
