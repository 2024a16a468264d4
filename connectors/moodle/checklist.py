"""The checklist `check` fills: its items, its exit code, its JSON and its text lines, and one probe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.moodle import errors as e
from intensive_tracker.errors import TrackerError
from intensive_tracker.i18n import N_, _

SEVERITY = (69, 77, 78, 65)  # most severe first


@dataclass
class Item:
    """One line of the checklist; `status` is ok, fail or warn (a warning does not fail the check)."""

    item: str
    status: str
    detail: str
    fix: str = ""
    exit_code: int = 0


@dataclass
class Checklist:
    items: list[Item] = field(default_factory=list)
    site: dict[str, Any] = field(default_factory=dict)

    def ok(self, item: str, detail: str) -> None:
        self.items.append(Item(item, "ok", detail))

    def warn(self, item: str, detail: str, fix: str = "") -> None:
        self.items.append(Item(item, "warn", detail, fix))

    def fail(self, item: str, detail: str, fix: str = "", *, exit_code: int) -> None:
        self.items.append(Item(item, "fail", detail, fix, exit_code))

    def error(self, item: str, error: TrackerError) -> None:
        """A failing call as a red line; the error's message already says what to do."""
        self.fail(item, str(error), exit_code=error.exit_code)

    @property
    def passed(self) -> bool:
        return all(i.status != "fail" for i in self.items)

    @property
    def exit_code(self) -> int:
        codes = [i.exit_code for i in self.items if i.status == "fail"]
        if not codes:
            return 0
        return min(codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.passed,
            "exit_code": self.exit_code,
            "site": self.site,
            "items": [asdict(i) for i in self.items],
        }


def probe(checklist: Checklist, item: str, present: set[str], wsfunction: str, action: Callable[[], Any]) -> Any:
    """Run one probe; a failure becomes a red line and None. A function missing from the service is not called."""
    if wsfunction not in present:
        checklist.fail(
            item,
            _("не проверено: {function} нет в службе токена", function=wsfunction),
            _("добавьте её: {path}", path=_(e.SERVICE_FUNCTIONS_PATH)),
            exit_code=77,
        )
        return None
    try:
        return action()
    except TrackerError as error:
        checklist.error(item, error)
        return None


# Items whose names are fixed English values of `check --json` (a contract); people read them in their language.
ITEM_LABELS = {
    "configuration": N_("конфигурация"),
    "token": N_("токен"),
    "Moodle connection settings": N_("настройки подключения к Moodle"),
}


def lines(checklist: Checklist) -> Iterator[tuple[str, str]]:
    """(status, text) per item: the text is one line, with what to do after «→» for a red or yellow one."""
    marks = {"ok": "✔", "fail": "✘", "warn": "!"}
    for i in checklist.items:
        label = _(ITEM_LABELS[i.item]) if i.item in ITEM_LABELS else i.item
        text = f"{marks[i.status]} {label}: {i.detail}"
        if i.fix:
            text += f" → {i.fix}"
        yield i.status, text
