"""The demo playground: a config for the stand-in Moodle, its database and its report in one folder."""

from __future__ import annotations

from pathlib import Path

from connectors.demo.history import KU_LAUNCHES, KU_TITLE, SHN_TITLE
from intensive_tracker.files import write_atomic


def demo_config_text(*, seed: int = 2024) -> str:
    """config.toml of the playground: every path relative to its folder."""
    lines = [
        "# The demo playground written by `intensive-tracker demo`.",
        "# Try any command on it: intensive-tracker --config out/demo/config.toml <command>",
        "# The built-in stand-in Moodle (127.0.0.1, a free port) is started by every command that needs it.",
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
        'title = "Конструирование урока"',
        f'full_title = "Образовательный интенсив «{KU_TITLE}»"',
        "",
        "[[programs]]",
        'key = "shn"',
        f'title = "{SHN_TITLE}"',
        f'full_title = "Образовательный интенсив «{SHN_TITLE}»"',
        "",
    ]
    for shortname, *_ in KU_LAUNCHES:
        lines += [
            "[[cohorts]]",
            f'key = "{shortname}"',
            'program = "ku"',
            f'course = "{shortname}"',
            'defense = "Защита методической разработки"',
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
        "# Try the emails: `python -m aiosmtpd -n -l 127.0.0.1:1025` in another terminal, then",
        "# email --preview (nothing sent) and email --send. The .invalid addresses reach nobody else.",
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
