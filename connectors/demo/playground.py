"""The demo playground: a config for the stand-in Moodle, its database and its report in one folder."""

from __future__ import annotations

from pathlib import Path

from connectors.demo.history import KU_LAUNCHES, KU_TITLE, SHN_TITLE
from intensive_tracker.files import write_atomic
from intensive_tracker.i18n import _


def demo_config_text(*, seed: int = 2024) -> str:
    """config.toml of the playground: every path relative to its folder."""
    lines = [
        "# " + _("Демонстрационная площадка, записанная командой `intensive-tracker demo`."),
        "# " + _("Любую команду можно попробовать на ней: intensive-tracker --config out/demo/config.toml <команда>"),
        "# " + _("Встроенную замену Moodle (127.0.0.1, свободный порт) запускает каждая команда, которой она нужна."),
        "",
        'database_url = "sqlite:///tracker.db"',
        'timezone = "Europe/Moscow"',
        "",
        "[moodle]",
        'standin = "demo"',
        f"standin_seed = {seed}",
        "",
        "[report]",
        'out_dir = "report"',
        "",
        "[[programs]]",
        'key = "ku"',
        'title = "Конструирование урока"',  # not a message: config data, the program's title
        f'full_title = "Образовательный интенсив «{KU_TITLE}»"',  # not a message: config data
        "",
        "[[programs]]",
        'key = "shn"',
        f'title = "{SHN_TITLE}"',
        f'full_title = "Образовательный интенсив «{SHN_TITLE}»"',  # not a message: config data
        "",
    ]
    for shortname, *_rest in KU_LAUNCHES:
        lines += [
            "[[cohorts]]",
            f'key = "{shortname}"',
            'program = "ku"',
            f'course = "{shortname}"',
            'defense = "Защита методической разработки"',  # not a message: the assignment's name in Moodle
            "pass_grade = 6",
            "",
        ]
    for shortname in ("SHN-2022-23", "SHN-2023-24"):
        lines += ["[[cohorts]]", f'key = "{shortname}"', 'program = "shn"', f'course = "{shortname}"', ""]
    return "\n".join(lines + _demo_mail_lines())


def _demo_mail_lines() -> list[str]:
    """[mail] of the playground: a local SMTP sink and one made-up address per district."""
    from intensive_tracker.people.districts import load_registry
    from intensive_tracker.text import slug

    lines = [
        "# " + _("Письма можно попробовать: `python -m aiosmtpd -n -l 127.0.0.1:1025` в другом терминале, затем"),
        "# " + _("email --preview (ничего не отправляется) и email --send. Адреса .invalid никуда больше не дойдут."),
        "[mail]",
        'smtp_host = "127.0.0.1"',
        "smtp_port = 1025",
        'security = "none"',
        'from_address = "lab@demo.invalid"',
        'lab_address = "lab@demo.invalid"',
        "rate_per_minute = 600",
        'preview_dir = "mail-preview"',
        "",
        "[districts.recipients]",
    ]
    for name in load_registry().territorial():
        lines.append(f'"{name}" = ["umc.{slug(name)}@demo.invalid"]')
    return lines + [""]


def write_demo_config(out_dir: Path, *, seed: int = 2024) -> Path:
    path = out_dir / "config.toml"
    write_atomic(path, demo_config_text(seed=seed))
    return path
