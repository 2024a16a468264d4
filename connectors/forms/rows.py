"""One row of a form export, validated: the pydantic model every row goes through.

A row that fails is not imported; each failing field becomes a reject naming the column, the value
and the reason. Formulas are refused rather than stored: a name like `=HYPERLINK("http://…";"Иванов")`
is rejected with «a formula, not a value», so nothing a spreadsheet would execute reaches our tables.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo, create_model

from intensive_tracker.config import FormSettings
from intensive_tracker.i18n import N_, _
from intensive_tracker.periods import utcnow

_SPACES = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"^[-–—.\s/_]*$")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")
_LETTER = re.compile(r"[^\W\d_]")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:,?[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# Google Forms' own CSV download: «2023/09/20 3:03:12 PM GMT+3» (12-hour clock, the form's zone).
_GOOGLE = re.compile(
    r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AP]M))?"
    r"(?: ?(?:GMT|UTC)([+-]\d{1,2})(?::?(\d{2}))?)?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
EARLIEST_YEAR = 2000  # the program began long after; a year before is a typo (issue 12: «01.01.0001»)
MAX_TEXT = 300
EMPTY = N_("пусто")  # a required cell left blank
NO_SUCH_DATE = N_("такой даты нет: {text}")


class Grading(NamedTuple):
    """A defense result read from a grade or outcome cell."""

    outcome: Literal["passed", "failed"]
    grade: float | None


def _text(value: Any) -> str | None:
    """A cell as trimmed text; empty cells and placeholders («-», «—») are None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 5.0 from a numeric XLSX cell means «5»
    text = _SPACES.sub(" ", str(value).replace("\u00a0", " ")).strip()
    if _PLACEHOLDER.match(text):
        return None
    # Leading = + - @ make a spreadsheet evaluate the cell; in a form export it is a hand edit or an attack.
    if text[0] in "=+@" or (text[0] == "-" and len(text) > 1 and not text[1].isdigit()):
        raise ValueError(
            _("формула, а не значение: впишите само значение (ячейка, начинающаяся с = + - @, не принимается)")
        )
    if len(text) > MAX_TEXT:
        raise ValueError(_("длиннее {n} символов", n=MAX_TEXT))
    return text


def _required(value: Any) -> str:
    text = _text(value)
    if text is None:
        raise ValueError(_(EMPTY))
    return text


def _name(value: Any) -> str:
    text = _required(value)
    if len(_LETTER.findall(text)) < 2:
        raise ValueError(_("не похоже на ФИО"))
    return text


def _optional_name(value: Any) -> str | None:
    return None if _text(value) is None else _name(value)


def _email(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.removeprefix("mailto:").strip().lower()  # a hyperlinked e-mail cell keeps the scheme
    if not _EMAIL.match(text):
        raise ValueError(_("не адрес e-mail"))
    return text


def _when(value: Any, info: ValidationInfo) -> datetime | None:
    """dd.mm.yyyy [hh:mm[:ss]], ISO, an XLSX date or an Excel day number → aware UTC (local time of the lab)."""
    tz: ZoneInfo = (info.context or {})["tz"]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = _excel_day(float(value))
    else:
        moment = _parse_text_date(str(value).strip())
    today: date = (info.context or {}).get("today") or utcnow().astimezone(tz).date()
    latest = today + timedelta(days=366)
    if moment.year < EARLIEST_YEAR or moment.date() > latest:
        raise ValueError(
            _(
                "неправдоподобная дата (раньше {year} года или позже {latest} — больше года от сегодняшнего дня)",
                year=EARLIEST_YEAR,
                latest=latest.strftime("%d.%m.%Y"),
            )
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def _excel_day(number: float) -> datetime:
    if not 1 <= number < 2958466:
        raise ValueError(_("не дата"))
    return (EXCEL_EPOCH + timedelta(days=number)).replace(microsecond=0)


def _parse_text_date(text: str) -> datetime:
    match = _DOTTED.match(text)
    if match:
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        if len(match.group(3)) == 2:
            year += 2000  # «20.09.23»: Excel's short date; «01.01.0001» stays year 1, and is refused below
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise ValueError(_(NO_SUCH_DATE, text=text)) from None
    match = _GOOGLE.match(text)
    if match:
        return _google_time(match, text)
    if _NUMBER.match(text):
        return _excel_day(float(text.replace(",", ".")))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(_("не дата (ожидается дд.мм.гггг, дд.мм.гггг чч:мм:сс, ISO или число даты Excel)"))


def _google_time(match: re.Match[str], text: str) -> datetime:
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    half, offset_h, offset_m = match.group(7), match.group(8), match.group(9)
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(_("такого времени нет: {text}", text=text))
        hour = hour % 12 + (12 if half.upper() == "PM" else 0)
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(_(NO_SUCH_DATE, text=text)) from None
    if offset_h is not None:
        sign = -1 if offset_h.startswith("-") else 1
        delta = timedelta(hours=int(offset_h), minutes=sign * int(offset_m or 0))
        moment = moment.replace(tzinfo=timezone(delta))
    return moment


def fold_value(text: str) -> str:
    """Grade words compare folded: case, ё/е, spacing."""
    return _SPACES.sub(" ", text.lower().replace("ё", "е")).strip()  # not a message


def _grading(value: Any, info: ValidationInfo) -> Grading | None:
    """A number (against pass_grade) or a word from the form's passing/failing lists."""
    form: FormSettings = (info.context or {})["form"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number: float | None = float(value)
        text = str(value)
    else:
        text = _text(value) or ""
        if not text:
            return None
        number = float(text.replace(",", ".")) if _NUMBER.match(text) else None
    if number is not None:
        if form.pass_grade is None:
            raise ValueError(_("оценка {grade} — число, но у формы не задан pass_grade", grade=text))
        return Grading("passed" if number >= form.pass_grade else "failed", number)
    folded = fold_value(text)
    if folded in {fold_value(v) for v in form.passing}:
        return Grading("passed", None)
    if folded in {fold_value(v) for v in form.failing}:
        return Grading("failed", None)
    raise ValueError(
        _(
            "не число и не значение из списков passing/failing формы (passing: {passing}); добавьте его "
            "в passing или failing в конфигурации",
            passing=", ".join(form.passing),
        )
    )


Text = Annotated[str | None, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_name)]
OptionalName = Annotated[str | None, BeforeValidator(_optional_name)]
Email = Annotated[str | None, BeforeValidator(_email)]
When = Annotated[datetime | None, BeforeValidator(_when)]
GradeCell = Annotated[Grading | None, BeforeValidator(_grading)]


class FormRow(BaseModel):
    """The fields every form may map; the per-form model makes its required ones required."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    full_name: OptionalName = None
    last_name: OptionalName = None
    first_name: OptionalName = None
    middle_name: OptionalName = None
    email: Email = None
    district: Text = None
    school: Text = None
    position: Text = None
    category: Text = None
    timestamp: When = None
    grade: GradeCell = None
    outcome: GradeCell = None

    @property
    def name(self) -> str:
        """ФИО, from one column or from three."""
        if self.full_name:
            return self.full_name
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


def _required_when(value: Any, info: ValidationInfo) -> datetime:
    moment = _when(value, info)
    if moment is None:
        raise ValueError(_(EMPTY))
    return moment


def row_model(form: FormSettings) -> type[FormRow]:
    """The model of this form's rows: the mapped name fields and, where no date is configured, the timestamp required."""
    required: dict[str, Any] = {}
    if "full_name" in form.columns:
        required["full_name"] = (Name, ...)
    else:
        required["last_name"] = (Name, ...)
        required["first_name"] = (Name, ...)
    needs_date = (form.kind == "attendance" and form.session_date is None) or (
        form.kind == "defense" and form.defense_date is None
    )
    if needs_date:
        required["timestamp"] = (Annotated[datetime, BeforeValidator(_required_when)], ...)
    return create_model(f"FormRow_{form.name}", __base__=FormRow, **required)


class FieldError(NamedTuple):
    field: str
    value: Any
    reason: str


def validate_row(
    model: type[FormRow], values: dict[str, Any], *, form: FormSettings, tz: ZoneInfo, today: date | None = None
) -> FormRow | list[FieldError]:
    """The row, or every field that is wrong in it; a date more than a year after `today` (default: now) is refused."""
    try:
        return model.model_validate(values, context={"form": form, "tz": tz, "today": today})
    except ValidationError as e:
        errors = []
        for item in e.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            reason = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                reason = _(EMPTY)
            errors.append(FieldError(field, values.get(field), reason))
        return errors
