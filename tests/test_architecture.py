"""The package's shape: no import cycles anywhere, and the layer contracts of pyproject.toml hold."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

PACKAGES = ("intensive_tracker", "connectors", "jobs")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_back() -> None:
    """No chain of imports leads from a module back to itself (lazy imports inside functions count too)."""
    graph = grimp.build_graph(*PACKAGES)
    assert import_cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    """A graph with a → b → a is reported, so the test above cannot pass by finding nothing."""
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]


def test_templates_are_reached_only_through_the_renderer() -> None:
    """Only templating.py names the templates package or builds a Jinja environment; the rest ask it."""
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if path == root / "intensive_tracker" / "templating.py":
                continue
            text = path.read_text("utf-8")
            if re.search(
                r"""files\(\s*["']templates["']|\bimport templates\b|\bEnvironment\(|FileSystemLoader""", text
            ):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
    assert "import templates" in (root / "intensive_tracker" / "templating.py").read_text("utf-8")
