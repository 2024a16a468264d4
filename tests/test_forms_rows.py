"""The row model: what a form cell may hold, and the reason given when it may not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.forms.rows import FieldError, FormRow, row_model, validate_row
from intensive_tracker.config import FormSettings

MSK = ZoneInfo("Europe/Moscow")


def form(**extra: Any) -> FormSettings:
    values: dict[str, Any] = {
        "name": "f",
        "kind": "registration",
        "files": "x.csv",
        "cohort": "C",
        "program": "ku",
        "columns": {"full_name": "ФИО", "email": "Почта", "timestamp": "Время"},
    }
    values.update(extra)
    return FormSettings.model_validate(values)


TODAY = date(2024, 3, 1)  # the day every row here is read on


def check(values: dict[str, Any], **extra: Any) -> FormRow | list[FieldError]:
    f = form(**extra)
    return validate_row(row_model(f), values, form=f, tz=MSK, today=TODAY)


def ok(values: dict[str, Any], **extra: Any) -> FormRow:
    result = check(values, **extra)
    assert isinstance(result, FormRow), result
    return result


def reasons(values: dict[str, Any], **extra: Any) -> dict[str, str]:
    result = check(values, **extra)
    assert isinstance(result, list), result
    return {e.field: e.reason for e in result}


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("20.09.2023", datetime(2023, 9, 19, 21, 0, tzinfo=UTC)),
        ("20.09.2023 15:03:12", datetime(2023, 9, 20, 12, 3, 12, tzinfo=UTC)),
        ("20.09.2023 15:03", datetime(2023, 9, 20, 12, 3, tzinfo=UTC)),
        ("2023-09-20T15:03:12", datetime(2023, 9, 20, 12, 3, 12, tzinfo=UTC)),
        ("2023-09-20 15:03:12+03:00", datetime(2023, 9, 20, 12, 3, 12, tzinfo=UTC)),
        ("45189.5", datetime(2023, 9, 20, 9, 0, tzinfo=UTC)),
        (45189.5, datetime(2023, 9, 20, 9, 0, tzinfo=UTC)),
        (datetime(2023, 9, 20, 15, 0), datetime(2023, 9, 20, 12, 0, tzinfo=UTC)),
        (date(2023, 9, 20), datetime(2023, 9, 19, 21, 0, tzinfo=UTC)),
        ("20.09.23", datetime(2023, 9, 19, 21, 0, tzinfo=UTC)),
        ("2023/09/20 3:03:12 PM GMT+3", datetime(2023, 9, 20, 12, 3, 12, tzinfo=UTC)),
        ("2023/09/20 12:10:00 AM GMT+3", datetime(2023, 9, 19, 21, 10, tzinfo=UTC)),
        ("2023/09/20 15:03:12", datetime(2023, 9, 20, 12, 3, 12, tzinfo=UTC)),
    ],
)
def test_dates_in_every_shape_forms_write_them(cell: Any, expected: datetime) -> None:
    """dd.mm.yyyy (or yy), with a time, ISO, Google's «2023/09/20 3:03:12 PM GMT+3», Excel day numbers, XLSX dates → UTC."""
    assert ok({"full_name": "Иванова Анна", "timestamp": cell}).timestamp == expected


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("31.02.2024", "такой даты нет: 31.02.2024"),
        ("вчера", "не дата (ожидается дд.мм.гггг, дд.мм.гггг чч:мм:сс, ISO или число даты Excel)"),
        (
            "12.12.1812",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        (
            "01.01.0001",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        (
            "0001-01-01",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        (
            "31.12.1999",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        (
            "03.03.2025",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        (
            "01.01.2100",
            "неправдоподобная дата (раньше 2000 года или позже 02.03.2025 — больше года от сегодняшнего дня)",
        ),
        ("2023/09/20 13:03:12 PM GMT+3", "такого времени нет: 2023/09/20 13:03:12 PM GMT+3"),
    ],
)
def test_impossible_dates_are_rejected_with_the_reason(cell: str, reason: str) -> None:
    """31 February is not silently rolled over to March."""
    assert reasons({"full_name": "Иванова Анна", "timestamp": cell}) == {"timestamp": reason}


def test_the_plausible_window_is_2000_to_a_year_after_today() -> None:
    """Its edges are accepted: 01.01.2000 and the day a year after today (injected, not the clock)."""
    assert ok({"full_name": "Иванова Анна", "timestamp": "01.01.2000"}).timestamp == datetime(
        1999, 12, 31, 21, tzinfo=UTC
    )
    assert ok({"full_name": "Иванова Анна", "timestamp": "02.03.2025"}).timestamp == datetime(
        2025, 3, 1, 21, tzinfo=UTC
    )


def test_emails_are_trimmed_and_lowercased_and_empty_is_allowed() -> None:
    """« Petrov.Ivan@Yandex.RU » matches petrov.ivan@yandex.ru; an empty e-mail is no error."""
    assert ok({"full_name": "Петров Иван", "email": " Petrov.Ivan@Yandex.RU "}).email == "petrov.ivan@yandex.ru"
    assert ok({"full_name": "Петров Иван", "email": "mailto:a@b.ru"}).email == "a@b.ru"
    assert ok({"full_name": "Петров Иван", "email": ""}).email is None
    assert reasons({"full_name": "Петров Иван", "email": "petrov@mail"}) == {"email": "не адрес e-mail"}


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example/";"Смирнов")', "+Смирнов", "@SUM(A1)", "-Смирнов"])
def test_formulas_are_refused_not_stored(cell: str) -> None:
    """A cell a spreadsheet would evaluate is rejected with the reason; it never reaches the tables."""
    assert reasons({"full_name": cell}) == {
        "full_name": "формула, а не значение: впишите само значение (ячейка, начинающаяся с = + - @, не принимается)"
    }


def test_names_in_one_column_or_three() -> None:
    """Split names are joined «Фамилия Имя Отчество»; the patronymic may be empty; the surname may not."""
    split = {"last_name": "Фамилия", "first_name": "Имя", "middle_name": "Отчество"}
    assert (
        ok({"last_name": "Лебедев", "first_name": "Андрей", "middle_name": None}, columns=split).name
        == "Лебедев Андрей"
    )
    assert (
        ok({"last_name": " Соколова ", "first_name": "Нина", "middle_name": "Петровна"}, columns=split).name
        == "Соколова Нина Петровна"
    )
    assert reasons({"last_name": None, "first_name": "Пётр", "middle_name": "Ильич"}, columns=split) == {
        "last_name": "пусто"
    }


def test_a_name_without_letters_and_placeholders() -> None:
    """«123» is не похоже на ФИО; «—» in an optional column is treated as empty."""
    assert reasons({"full_name": "123"}) == {"full_name": "не похоже на ФИО"}
    assert reasons({"full_name": "—"}) == {"full_name": "пусто"}
    assert ok({"full_name": "Иванова\u00a0 Анна\nПетровна", "email": "—"}).full_name == "Иванова Анна Петровна"


def defense(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "defense",
        "columns": {"full_name": "ФИО", "grade": "Оценка"},
        "defense_date": "2024-03-15",
        **extra,
    }


@pytest.mark.parametrize(
    "cell, outcome, grade",
    [
        ("5", "passed", 5.0),
        (4, "passed", 4.0),
        ("3,5", "failed", 3.5),
        ("зачтено", "passed", None),
        ("Зачтено ", "passed", None),
        ("не зачтено", "failed", None),
        ("", None, None),
    ],
)
def test_grades_against_pass_grade_and_the_passing_words(cell: Any, outcome: str | None, grade: float | None) -> None:
    """Numbers compare with pass_grade; words with the form's passing/failing lists (folded)."""
    row = ok({"full_name": "Иванова Анна", "grade": cell}, **defense(pass_grade=4))
    assert (row.grade.outcome if row.grade else None, row.grade.grade if row.grade else None) == (outcome, grade)


def test_grade_five_plus_is_rejected_unless_the_config_says_it_passes() -> None:
    """«5+» is neither a number nor a known word: rejected with the fix; listing it in `passing` accepts it."""
    why = reasons({"full_name": "Орлова Дарья", "grade": "5+"}, **defense(pass_grade=4))["grade"]
    assert why.startswith("не число и не значение из списков passing/failing") and "добавьте его в passing" in why
    row = ok({"full_name": "Орлова Дарья", "grade": "5+"}, **defense(pass_grade=4, passing=["5+", "зачтено"]))
    assert row.grade is not None and row.grade.outcome == "passed"


def test_a_numeric_grade_needs_pass_grade() -> None:
    """Without pass_grade a number cannot be judged: the row says so instead of guessing."""
    assert reasons({"full_name": "Иванова Анна", "grade": "5"}, **defense()) == {
        "grade": "оценка 5 — число, но у формы не задан pass_grade"
    }


def test_a_sign_in_list_without_session_date_requires_each_rows_time() -> None:
    """The session of a row comes from its timestamp then, so an empty one is an error."""
    extra = {"kind": "attendance", "columns": {"full_name": "ФИО", "timestamp": "Вход"}}
    assert reasons({"full_name": "Иванова Анна", "timestamp": ""}, **extra) == {"timestamp": "пусто"}
    assert ok({"full_name": "Иванова Анна", "timestamp": ""}, session_date="2023-09-20", **extra).timestamp is None


def test_every_wrong_field_of_a_row_is_reported() -> None:
    """A row with two bad cells yields two reasons, one per column."""
    assert reasons({"full_name": "", "email": "x", "timestamp": "31.02.2024"}) == {
        "full_name": "пусто",
        "email": "не адрес e-mail",
        "timestamp": "такой даты нет: 31.02.2024",
    }
