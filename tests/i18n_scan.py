"""Finds words a person would read that do not go through the message catalog.

Python: a string with Cyrillic letters outside `_()`, `N_()` and `ngettext()` (docstrings and
comments aside), and an English sentence handed straight to a user-facing call (an error of ours,
`click.echo`, a log line above debug, `ctx.warn`). Templates: words in the markup outside `{{ … }}`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_PACKAGES = ("intensive_tracker", "connectors", "jobs")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,}(?:\s+[A-Za-z]{2,})+")  # a phrase, not one technical word
CATALOG_CALLS = {"_", "N_", "ngettext"}
# On a line that holds data a person types or Moodle sends (a spelling to match, a status acronym), not a message.
PRAGMA = "# not a message"
USER_FACING_CALLS = {"echo", "secho", "warn", "info", "warning", "error", "exception", "critical", "fail"}
NOT_OURS = {"ValueError", "TypeError", "KeyError", "RuntimeError", "AssertionError", "NotImplementedError"}


def python_modules() -> list[Path]:
    return sorted(p for package in PYTHON_PACKAGES for p in (ROOT / package).rglob("*.py") if "versions" not in p.parts)


def template_files() -> list[Path]:
    return sorted(p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"})


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def python_findings(path: Path) -> Iterator[str]:
    """`file:line: «text»` for each string a person reads that bypasses the catalog."""
    source = path.read_text("utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_catalog: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in CATALOG_CALLS:
            for arg in ast.walk(node):
                inside_catalog.add(id(arg))
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_catalog:
            continue
        if hasattr(node, "lineno") and any(
            PRAGMA in lines[n - 1] for n in range(node.lineno, (getattr(node, "end_lineno", None) or node.lineno) + 1)
        ):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CYRILLIC.search(node.value):
            yield f"{relative(path)}:{node.lineno}: «{node.value[:60]}»"
        if isinstance(node, ast.Call) and node.args:
            name = _call_name(node)
            is_our_error = (
                name.endswith(("Error", "Running", "Behind", "Unavailable", "Corrupt")) and name not in NOT_OURS
            )
            if name in USER_FACING_CALLS or is_our_error:
                text = _literal_text(node.args[0])
                if text and ENGLISH_WORDS.search(text) and not CYRILLIC.search(text):
                    yield f"{relative(path)}:{node.lineno}: English to a user «{text[:60]}»"


def shadowing(path: Path) -> Iterator[str]:
    """A module that uses the catalog's `_` must not assign `_` (a throwaway `_` would hide it)."""
    tree = ast.parse(path.read_text("utf-8"))
    imports_it = any(
        isinstance(n, ast.ImportFrom) and n.module == "intensive_tracker.i18n" and any(a.name == "_" for a in n.names)
        for n in ast.walk(tree)
    )
    if not imports_it:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
            yield f"{relative(path)}:{node.lineno}: assigns `_`, which hides the catalog's `_`"


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_MARKUP = re.compile(r"<style.*?</style>|<script.*?</script>|<!--.*?-->|<[^>]*>|&[a-z#0-9]+;", re.S)


def _keep_lines(match: re.Match[str]) -> str:
    """A removed span becomes a space and its line breaks, so that line numbers stay true."""
    return " " + "\n" * match.group(0).count("\n")


def template_findings(path: Path) -> Iterator[str]:
    """Words in a template's own text (outside `{{ }}`, `{% %}` and the markup): they would bypass the catalog."""
    # Expressions first, then tags: `<html lang="{{ lang() }}">` is one tag, not «html» and «lang» as text.
    text = _MARKUP.sub(_keep_lines, _JINJA.sub(_keep_lines, path.read_text("utf-8")))
    for lineno, line in enumerate(text.splitlines(), start=1):
        for word in re.findall(r"[A-Za-zА-Яа-яЁё]{2,}", line):
            yield f"{relative(path)}:{lineno}: «{word}» in «{' '.join(line.split())[:60]}»"
            break
