"""Words the whole product shares, each defined once: defense outcomes and their rank, run statuses, link reasons."""

from __future__ import annotations

from typing import Literal

from intensive_tracker.i18n import N_

Outcome = Literal["passed", "failed", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "pending")

# When one person has several defense rows (two accounts, two attempts), the best outcome stands.
DEFENSE_RANK: dict[str, int] = {"passed": 3, "failed": 2, "pending": 1}

# Shown as _(RUN_STATUS_LABELS[status]): the language is chosen after import.
RUN_STATUS_LABELS: dict[str, str] = {
    "ok": N_("успешно"),
    "problems": N_("завершена с проблемами"),
    "failed": N_("не выполнена"),
    "interrupted": N_("прервана"),
    "running": N_("выполняется"),
}

# Why an account belongs to a participant: stored once with the account, in Russian (the stored text is the
# msgid filled in), read back by the reports by these words and shown through the catalog
# (reports/link_reasons.py).
LINK_SAME_EMAIL = N_("тот же e-mail ({email})")
LINK_NEW = N_("новый участник")
LINK_NEW_OTHER_EMAIL = N_("новый участник: то же ФИО и округ, что у {ids}, но другой e-mail — разные люди")
LINK_NEW_AMBIGUOUS = N_("новый участник: несколько совпадений по ФИО и округу ({ids}); проверьте")
LINK_JOINED = N_("объединено вручную (people.join)")
LINK_JOINED_NOTE = N_("объединено вручную (people.join: {note})")
LINK_SPLIT = N_("отделено вручную (people.split)")
LINK_SPLIT_NOTE = N_("отделено вручную (people.split: {note})")
# A probable match is stored with the machine prefix «probable:» (the reports find it by that) and shown in words.
LINK_PROBABLE_PREFIX = "probable:"
LINK_PROBABLE = N_("вероятно: то же ФИО и округ ({person}); проверьте")


def stored_probable(person: str) -> str:
    """The stored reason of a probable match: «probable: то же ФИО и округ (…); проверьте»."""
    return LINK_PROBABLE_PREFIX + LINK_PROBABLE.split(":", 1)[1].format(person=person)
