"""The defense outcome of each person from mod_assign grades and submissions.

Rules (issue 3, checked against the recordings' answer key):
* the latest attempt counts; a newer *submitted* attempt than the latest grade is pending again;
* a grade ≥ 0 is passed or failed by the configured rule (Moodle does not expose «Grade to pass»);
* a grade of -1 (a grade record without a grade) or no grade, with a submitted attempt, is pending;
* a graded person without an online submission (a live defense, status "new") is graded all the same;
* nobody else gets a record: never submitted is absent, not failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base import DefenseRecord
from connectors.moodle import schemas as s
from intensive_tracker.config import CohortSettings
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _
from intensive_tracker.periods import from_unix


@dataclass(frozen=True)
class PassRule:
    """Points: a minimum grade. Scale: the passing items by position (1-based), as Moodle stores scale grades."""

    min_grade: float | None = None
    scale_items: frozenset[int] = frozenset()

    def passes(self, grade: float) -> bool:
        if self.scale_items:
            return int(round(grade)) in self.scale_items
        assert self.min_grade is not None
        return grade >= self.min_grade - 1e-9

    def describe(self) -> str:
        if self.scale_items:
            return _("проходят пункты шкалы {items}", items=", ".join(str(i) for i in sorted(self.scale_items)))
        return _("проходит оценка не ниже {grade}", grade=format(self.min_grade, "g"))


def pass_rule(cohort: CohortSettings, assignment: s.Assignment) -> PassRule:
    """The cohort's pass rule for this assignment; a rule that does not fit its grade type is a config error."""
    maximum = float(assignment.grade or 0)
    where = _("когорта {key}: защита «{name}»", key=cohort.key, name=assignment.name)
    if maximum < 0:  # Moodle gives a scale as -scaleid
        if cohort.pass_scale_items:
            positions = set()
            for item in cohort.pass_scale_items:
                if not str(item).strip().isdigit() or int(item) < 1:
                    raise ConfigError(
                        _(
                            "{where} оценивается по шкале: pass_scale_items — это номера пунктов "
                            "(1 — первый пункт шкалы), а не {item}",
                            where=where,
                            item=repr(item),
                        )
                    )
                positions.add(int(item))
            return PassRule(scale_items=frozenset(positions))
        if cohort.pass_grade is not None:
            return PassRule(min_grade=cohort.pass_grade)
        raise ConfigError(
            _(
                "{where} оценивается по шкале: задайте pass_scale_items (номера проходных пунктов) "
                "в записи когорты [[cohorts]]",
                where=where,
            )
        )
    if maximum == 0:
        raise ConfigError(
            _(
                "{where} не имеет типа оценки в Moodle (Оценка → Тип: Отсутствует): оценивайте баллами или по шкале",
                where=where,
            )
        )
    if cohort.pass_grade is None:
        raise ConfigError(
            _(
                "{where} оценивается из {max} баллов: задайте pass_grade в записи когорты [[cohorts]] "
                "(веб-службы Moodle не отдают «Проходной балл» задания)",
                where=where,
                max=format(maximum, "g"),
            )
        )
    if not 0 < cohort.pass_grade <= maximum:
        raise ConfigError(
            _(
                "{where}: pass_grade {grade} вне 0…{max}, максимальной оценки задания",
                where=where,
                grade=format(cohort.pass_grade, "g"),
                max=format(maximum, "g"),
            )
        )
    return PassRule(min_grade=cohort.pass_grade)


def grade_value(raw: str | float | None) -> float | None:
    """ "8.00000" → 8.0; None, "" and garbage → None."""
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _latest_grades(grades: Iterable[s.Grade]) -> dict[int, s.Grade]:
    latest: dict[int, s.Grade] = {}
    for g in grades:
        current = latest.get(g.userid)
        rank = (g.attemptnumber, g.timemodified or 0, g.id or 0)
        if current is None or rank >= (current.attemptnumber, current.timemodified or 0, current.id or 0):
            latest[g.userid] = g
    return latest


def _latest_submissions(submissions: Iterable[s.Submission]) -> dict[int, s.Submission]:
    latest: dict[int, s.Submission] = {}
    for sub in submissions:
        current = latest.get(sub.userid)
        if current is None or (sub.attemptnumber, sub.timemodified or 0) >= (
            current.attemptnumber,
            current.timemodified or 0,
        ):
            latest[sub.userid] = sub
    return latest


def outcomes(
    grades: Iterable[s.Grade],
    submissions: Iterable[s.Submission],
    rule: PassRule,
    *,
    incremental: bool = False,
    grade_max: float | None = None,
) -> list[DefenseRecord]:
    """One record per person with a defense outcome, by Moodle user id order.

    `incremental`: `grades` holds only those modified since the cursor, so a submission already
    graded earlier ("gradingstatus": "graded") with no grade here keeps its stored outcome.
    """
    latest_grade = _latest_grades(grades)
    latest_sub = _latest_submissions(submissions)
    records: list[DefenseRecord] = []
    for uid in sorted(set(latest_grade) | set(latest_sub)):
        g, sub = latest_grade.get(uid), latest_sub.get(uid)
        value = grade_value(g.grade) if g else None
        submitted = sub is not None and sub.status == "submitted"
        newer_attempt = sub is not None and g is not None and sub.attemptnumber > g.attemptnumber
        if newer_attempt and submitted and sub is not None:
            records.append(DefenseRecord(external_id=str(uid), outcome="pending", attempt=sub.attemptnumber))
        elif g is not None and value is not None and value >= 0:
            records.append(
                DefenseRecord(
                    external_id=str(uid),
                    outcome="passed" if rule.passes(value) else "failed",
                    grade=value,
                    grade_max=grade_max,
                    graded_at=from_unix(g.timemodified) if g.timemodified else None,
                    attempt=g.attemptnumber,
                )
            )
        elif submitted:
            assert sub is not None
            if incremental and g is None and sub.gradingstatus == "graded":
                continue  # graded before the cursor: the stored outcome stands
            records.append(DefenseRecord(external_id=str(uid), outcome="pending", attempt=sub.attemptnumber))
    return records
