"""Reading generated pages back as a person would: tables as rows of cell texts, links, visible text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag in ("img", "script", "link") and (a.get("src") or a.get("href")):
            self.sources.append(a.get("src") or a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text("utf-8"))
    return page


def visible_text(path: Path) -> str:
    return " ".join("".join(parse(path).text).split())


def local_target(page: Path, href: str) -> Path | None:
    """The file a relative link points at, or None for an in-page anchor."""
    target, _ = urldefrag(href)
    if not target:
        return None
    return (page.parent / unquote(target)).resolve()


def find_table(path: Path, header: list[str]) -> list[list[str]]:
    """The rows (header excluded) of the first table whose header row is `header`."""
    for table in parse(path).tables:
        if table and table[0] == header:
            return table[1:]
    raise AssertionError(f"{path.name}: no table with header {header}")


class _Texts(HTMLParser):
    """The text of each element whose tag is in `tags` (or whose class is in `classes`), one string each."""

    def __init__(self, tags: set[str], classes: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags, self.classes = tags, classes
        self.found: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.tags or set((dict(attrs).get("class") or "").split()) & self.classes:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _tag, parts = self._open.pop()
            self.found.append(" ".join("".join(parts).split()))

    def handle_data(self, data: str) -> None:
        for _tag, parts in self._open:
            parts.append(data)


def texts(path: Path, tags: set[str], classes: frozenset[str] = frozenset()) -> list[str]:
    """The texts of a page's headings, header cells, captions…: `texts(page, {"h1", "th"})`."""
    parser = _Texts(tags, set(classes))
    parser.feed(path.read_text("utf-8"))
    return parser.found
