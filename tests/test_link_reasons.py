"""Why an account belongs to a person: stored once in Russian, shown in the reader's language."""

from __future__ import annotations

import re

import pytest

from intensive_tracker.i18n import using
from intensive_tracker.people import vocabulary as v
from intensive_tracker.reports.link_reasons import link_reason_text

CYRILLIC = re.compile(r"[А-Яа-яЁё]")

STORED = [
    (v.LINK_SAME_EMAIL.format(email="ivanova@mail.ru"), "same e-mail (ivanova@mail.ru)"),
    (v.LINK_NEW, "new participant"),
    (
        v.LINK_NEW_OTHER_EMAIL.format(ids="#12, #40"),
        "new participant: same full name and district as #12, #40, but another e-mail — different people",
    ),
    (
        v.LINK_NEW_AMBIGUOUS.format(ids="#3, #9"),
        "new participant: several matches by full name and district (#3, #9); please check",
    ),
    (v.LINK_JOINED, "joined by hand (people.join)"),
    (v.LINK_JOINED_NOTE.format(note="одна и та же"), "joined by hand (people.join: одна и та же)"),
    (v.LINK_SPLIT, "split by hand (people.split)"),
    (v.LINK_SPLIT_NOTE.format(note="x"), "split by hand (people.split: x)"),
    (
        v.stored_probable("Иванова Анна, Балашиха"),
        "probable: same full name and district (Иванова Анна, Балашиха); please check",
    ),
]


@pytest.mark.parametrize(("stored", "english"), STORED)
def test_a_stored_reason_reads_in_english_with_its_data_kept(stored: str, english: str) -> None:
    with using("en"):
        assert link_reason_text(stored) == english


@pytest.mark.parametrize(("stored", "english"), STORED[:-1])
def test_in_russian_a_stored_reason_reads_as_it_was_stored(stored: str, english: str) -> None:
    assert link_reason_text(stored) == stored


def test_a_probable_match_is_stored_with_its_machine_prefix_and_shown_in_words() -> None:
    stored = v.stored_probable("Семенова Алена Игоревна, Балашиха")
    assert stored == "probable: то же ФИО и округ (Семенова Алена Игоревна, Балашиха); проверьте"
    assert link_reason_text(stored) == "вероятно: то же ФИО и округ (Семенова Алена Игоревна, Балашиха); проверьте"


def test_a_reason_of_another_shape_is_shown_as_stored() -> None:
    with using("en"):
        assert link_reason_text("причина старой версии") == "причина старой версии"
