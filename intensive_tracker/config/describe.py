"""Config errors as a person reads them: the key as the file writes it, the problem in Russian, a likely fix.

pydantic reports `cohorts.0.pass_grad: Extra inputs are not permitted`; the file says
`[[cohorts]] №1 (KU-2023-H1): pass_grad — неизвестный ключ; возможно, pass_grade?`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from intensive_tracker.i18n import N_, _

# pydantic error type → the sentence, a msgid ({…} filled from the error's context, translated when shown).
MESSAGES: dict[str, str] = {
    "extra_forbidden": N_("неизвестный ключ"),
    "missing": N_("обязательный ключ не задан"),
    "int_parsing": N_("ожидается целое число"),
    "int_type": N_("ожидается целое число"),
    "int_from_float": N_("ожидается целое число"),
    "float_parsing": N_("ожидается число"),
    "float_type": N_("ожидается число"),
    "string_type": N_("ожидается строка в кавычках"),
    "bool_parsing": N_("ожидается true или false"),
    "bool_type": N_("ожидается true или false"),
    "list_type": N_("ожидается список [ … ]"),
    "dict_type": N_("ожидается таблица"),
    "model_type": N_("ожидается таблица"),
    "model_attributes_type": N_("ожидается таблица"),
    "literal_error": N_("допустимые значения: {expected}"),
    "string_pattern_mismatch": N_("значение не подходит под шаблон {pattern}"),
    "string_too_short": N_("не может быть пустым"),
    "greater_than": N_("должно быть больше {gt}"),
    "greater_than_equal": N_("должно быть не меньше {ge}"),
    "less_than": N_("должно быть меньше {lt}"),
    "less_than_equal": N_("должно быть не больше {le}"),
    "date_parsing": N_("ожидается дата ГГГГ-ММ-ДД"),
    "date_from_datetime_parsing": N_("ожидается дата ГГГГ-ММ-ДД"),
    "date_type": N_("ожидается дата ГГГГ-ММ-ДД"),
    "time_parsing": N_("ожидается время ЧЧ:ММ:СС"),
    "time_type": N_("ожидается время ЧЧ:ММ:СС"),
    "union_tag_invalid": N_("недопустимое значение"),
    "enum": N_("допустимые значения: {expected}"),
}
GENERIC = N_("недопустимое значение")
TOP_LEVEL = N_("верхний уровень файла")


def describe(error: ValidationError, data: Mapping[str, Any], model: type[BaseModel]) -> str:
    """Every problem of `error`, one per line, each naming its key as written in the file."""
    lines = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if part != "[key]")  # a table's key: named by the path itself
        if item["type"] == "value_error":
            message = str(item.get("ctx", {}).get("error", item["msg"]))
        else:
            message = _message(item)
        if item["type"] == "extra_forbidden":
            guess = _nearest(str(loc[-1]), _allowed_keys(model, loc[:-1]))
            if guess:
                message += _("; возможно, {guess}?", guess=guess)
        if item["type"] == "literal_error" and isinstance(item.get("input"), str):
            guess = _nearest(item["input"], re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", ""))))
            if guess:
                message += _("; возможно, {guess}?", guess=guess)
        lines.append(f"{where(loc, data)}: {message}")
    return lines[0] if len(lines) == 1 else "\n  " + "\n  ".join(lines)


def where(loc: Sequence[int | str], data: Mapping[str, Any]) -> str:
    """`("cohorts", 0, "pass_grad")` → «[[cohorts]] №1 (KU-2023-H1): pass_grad»; `("moodle", "url")` → «[moodle] url»."""
    tables: list[str] = []
    node: Any = data
    keys: list[str] = []
    i = 0
    parts = list(loc)
    while i < len(parts):
        part = parts[i]
        following = parts[i + 1] if i + 1 < len(parts) else None
        child = node.get(part) if isinstance(node, Mapping) and isinstance(part, str) else None
        if isinstance(part, str) and isinstance(following, int) and isinstance(child, list):
            entry = child[following] if following < len(child) else None
            name = next(
                (entry[k] for k in ("key", "name") if isinstance(entry, Mapping) and isinstance(entry.get(k), str)),
                None,
            )
            path = ".".join([*tables, *keys, part])
            tables = [f"[[{path}]] " + _("№{n}", n=following + 1) + (f" ({name})" if name else "")]
            keys = []
            node = entry
            i += 2
            continue
        if isinstance(part, str) and isinstance(child, Mapping) and i + 1 < len(parts):
            keys.append(part)
            node = child
            i += 1
            continue
        keys.append(str(part) if not isinstance(part, int) else _("№{n}", n=part + 1))
        node = child
        i += 1
    head = " ".join(tables)
    if keys and not tables and len(keys) > 1:
        return f"[{'.'.join(keys[:-1])}] {keys[-1]}"
    if tables and len(keys) > 1:
        return f"{head}: {'.'.join(keys)}"
    if tables:
        return f"{head}: {keys[0]}" if keys else head
    if len(keys) == 1 and isinstance(data.get(keys[0]), Mapping):
        return f"[{keys[0]}]"
    if len(keys) == 1 and isinstance(data.get(keys[0]), list):
        return f"[[{keys[0]}]]"
    return keys[0] if keys else _(TOP_LEVEL)


def _message(item: Mapping[str, Any]) -> str:
    template = MESSAGES.get(str(item["type"]), GENERIC)
    ctx = {k: str(v).replace(" or ", _(" или ")) for k, v in item.get("ctx", {}).items()}
    try:
        return _(template, **ctx)
    except (KeyError, IndexError):
        return _(GENERIC)


def _nearest(word: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the table at `loc` accepts (an empty list when `loc` is not a table of the model)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The model inside `X | None`, `list[X]`, `Annotated[list[X], …]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None:
        return None
    for arg in typing.get_args(annotation):
        if isinstance(origin, type) and origin is types.UnionType and arg is type(None):
            continue
        found = _model_in(arg)
        if found is not None:
            return found
    return None
