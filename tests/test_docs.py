"""The examples of README.md and docs/*.md work: every TOML block parses, config blocks validate, commands exist.

Convention (docs/reference.md, «Examples in these documents»): a ```toml block whose first line is `# config`
is a piece of a real config; its top-level keys replace those of config.example.toml and the result must
pass `parse_settings`. Every `intensive-tracker …` line of a sh/bash/unlabeled block must name an existing
verb (and subcommand) with long flags that exist.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest

from intensive_tracker.app import parse_settings
from intensive_tracker.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
COMMAND = re.compile(r"(?:^|[\s;&|(]|bin/)intensive-tracker(?=\s|$)")  # a command, not a folder
SERVICE = re.compile(r"\b(?:systemctl|journalctl)\b")  # the unit is also named intensive-tracker


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line number) of every fenced block of `path`."""
    text = path.read_text("utf-8")
    return [(m.group(1).lower(), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _all(kind: set[str]) -> list[Any]:
    return [
        pytest.param(path, body, id=f"{path.name}:{line}")
        for path in DOCS
        for lang, body, line in _blocks(path)
        if lang in kind
    ]


def check_toml(body: str, *, source: str) -> None:
    """Parse a TOML block; a `# config` block must also validate over config.example.toml."""
    data = tomllib.loads(body)
    if body.lstrip().splitlines()[0].strip() == "# config":
        base = tomllib.loads((ROOT / "config.example.toml").read_text("utf-8"))
        parse_settings({**base, **data}, source=source)


def _invocations(body: str) -> list[list[str]]:
    """The words after `intensive-tracker` on every command line of a shell block (continuations joined)."""
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("#") or SERVICE.search(line) or not (m := COMMAND.search(line)):
            continue
        rest = line[m.end() :]
        rest = re.split(r"\s(?:&&|\|\||;|\|)\s|[<>]", rest)[0]
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
        out.append(words)
    return out


def check_command(words: list[str]) -> None:
    """The verb, subcommand and long flags of `intensive-tracker WORDS` exist in the click tree."""
    command: click.Command = cli
    path = ["intensive-tracker"]
    for word in words:
        if word in ("…", "...") or word.startswith("<") or word.startswith("КОМАНДА"):
            break
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
            assert flag in known, f"{' '.join(path)}: no option {flag} (has {sorted(known)})"
        elif word.startswith("-"):
            continue
        elif isinstance(command, click.Group):
            sub = command.commands.get(word)
            if sub is None:
                # the value of the previous option (e.g. --config FILE) is not a verb
                continue
            command, path = sub, [*path, word]
    if command is cli and {"--version", "--help"} & set(words):
        return
    assert command is not cli, f"no command in: intensive-tracker {' '.join(words)}"
    assert not isinstance(command, click.Group) or "--help" in words, (
        f"{' '.join(path)} needs a subcommand ({sorted(command.commands)})"
    )


@pytest.mark.parametrize(("path", "body"), _all({"toml"}))
def test_toml_examples_parse_and_config_blocks_validate(path: Path, body: str) -> None:
    """Every ```toml block parses; a `# config` block is a valid config over config.example.toml."""
    check_toml(body, source=path.name)


@pytest.mark.parametrize(("path", "body"), _all({"sh", "bash", "", "console", "shell"}))
def test_shown_commands_exist(path: Path, body: str) -> None:
    """Every `intensive-tracker VERB [SUB] [--flag]` shown in a shell block exists in the CLI."""
    for words in _invocations(body):
        check_command(words)


def test_the_documents_show_commands_and_config() -> None:
    """The scan finds what it should: commands in README and docs, config blocks, the example file embedded."""
    bodies = [body for path in DOCS for lang, body, _ in _blocks(path) if lang in {"sh", "bash", ""}]
    verbs = {w[0] for body in bodies for w in _invocations(body) if w}
    assert {"status", "check", "sync", "email", "db"} <= {v for v in verbs if not v.startswith("-")} | {
        w for body in bodies for ws in _invocations(body) for w in ws
    }
    example = (ROOT / "config.example.toml").read_text("utf-8").rstrip("\n")
    assert example in (ROOT / "docs" / "reference.md").read_text("utf-8"), (
        "docs/reference.md embeds config.example.toml: copy the file into its «All keys» block again"
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('columns = { a = "x",\n  b = "y" }', "TOML"),
        ('# config\n[moodle]\nurll = "https://x"', "urll"),
    ],
)
def test_a_broken_toml_example_fails(bad: str, message: str) -> None:
    """A block split inside an inline table, or a config block with a misspelt key, is caught."""
    with pytest.raises(Exception) as e:
        check_toml(bad, source="broken.md")
    assert message in str(e.value) or message == "TOML"


@pytest.mark.parametrize(
    "line",
    [
        "intensive-tracker synk",
        "intensive-tracker --config c.toml report --outt x",
        "intensive-tracker db upgrad",
        ".venv/bin/intensive-tracker email --sendd",
    ],
)
def test_a_broken_command_example_fails(line: str) -> None:
    """An unknown verb, subcommand or flag in a shown command is caught."""
    (words,) = _invocations(line)
    with pytest.raises(AssertionError):
        check_command(words)
