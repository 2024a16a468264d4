"""Importing form exports end to end: what each realistic file keeps, rejects and why; re-imports; corrections."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from intensive_tracker.cli import cli
from intensive_tracker.people.districts import load_registry
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import table_snapshot
from tests.synckit import PROGRAM_LINES

FORMS = Path(__file__).parent / "fixtures" / "forms"
MSK = ZoneInfo("Europe/Moscow")

GOOGLE = {
    "name": "reg-ku",
    "kind": "registration",
    "files": "google_registration.csv",
    "cohort": "KU-2023-H1",
    "program": "ku",
    "cohort_title": "Конструирование урока, 1 полугодие 2023/24",
    "columns": {
        "timestamp": "Отметка времени",
        "email": "Адрес электронной почты",
        "full_name": "ФИО",
        "district": "Городской округ",
        "school": "Образовательная организация",
        "position": "Должность",
    },
}
SIGNIN = {
    "name": "signin-ku",
    "kind": "attendance",
    "files": "bom_signin.csv",
    "cohort": "KU-2023-H1",
    "program": "ku",
    "session_date": "2023-09-20",
    "session_time": "15:00:00",
    "session_topic": "Урок как система",
    "columns": {"full_name": "ФИО", "email": "E-mail", "district": "Городской округ"},
}
PROTOCOL = {
    "name": "defense-ku",
    "kind": "defense",
    "files": "excel_defense_1251.csv",
    "cohort": "KU-2023-H1",
    "program": "ku",
    "pass_grade": 4,
    "columns": {
        "full_name": "ФИО",
        "district": "Городской округ",
        "school": "Образовательная организация",
        "timestamp": "Дата защиты",
        "grade": "Оценка",
    },
}
YANDEX = {
    "name": "reg-shn",
    "kind": "registration",
    "inbox": "inbox-shn",
    "cohort": "SHN-2023-24",
    "program": "shn",
    "columns": {
        "timestamp": "Время создания",
        "last_name": "Фамилия",
        "first_name": "Имя",
        "middle_name": "Отчество",
        "email": "Email",
        "district": "Городской округ",
        "school": "Школа",
        "category": "Категория участника",
    },
}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if len(value) in (8, 10) and value[2:3] == ":" or value[4:5] == "-" and value[:4].isdigit():
            return value  # TOML local date / local time literals
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def write_config(folder: Path, db_url: str, *forms: dict[str, Any]) -> Path:
    """A config with the two programs and the given [[forms]] (paths relative to `folder`)."""
    lines = [
        f"database_url = {_toml(db_url)}",
        "",
        *PROGRAM_LINES,
    ]
    for form in forms:
        lines.append("[[forms]]")
        lines += [f"{k} = {_toml(v)}" for k, v in form.items()]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), "utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the fixtures, free to be corrected by a test."""
    work = tmp_path / "work"
    shutil.copytree(FORMS, work)
    (work / "inbox-shn").mkdir()
    shutil.move(work / "yandex_registration.xlsx", work / "inbox-shn" / "yandex_registration.xlsx")
    return work


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def rows(engine: Engine, query: Any) -> list[Any]:
    with Session(engine) as session:
        return list(session.execute(query).all())


def count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def rejects(engine: Engine, form: str) -> list[tuple[int, str, str, str]]:
    return [
        tuple(r)
        for r in rows(
            engine,
            select(m.FormReject.row, m.FormReject.column, m.FormReject.value, m.FormReject.reason)
            .where(m.FormReject.form == form)
            .order_by(m.FormReject.row, m.FormReject.column),
        )
    ]


# --- each realistic export -------------------------------------------------------------------------


# A registration form read from reg.csv (columns ФИО, Почта, Округ) of cohort C.
REG_CSV = {
    "name": "reg",
    "kind": "registration",
    "files": "reg.csv",
    "cohort": "C",
    "program": "ku",
    "columns": {"full_name": "ФИО", "email": "Почта", "district": "Округ"},
}


def test_google_forms_csv_keeps_good_rows_and_lists_bad_ones(engine: Engine, db_url: str, folder: Path) -> None:
    """9 rows: 6 imported (a re-submission merged into one person), 3 rejected with file, row, column and reason."""
    config = write_config(folder, db_url, GOOGLE)
    result = run(config, "import-form", "reg-ku")
    assert result.exit_code == 65
    assert "google_registration.csv: строк прочитано 9, принято 6, отклонено 3" in result.stdout
    assert (
        "google_registration.csv, строка 5, «Адрес электронной почты»: не адрес e-mail («kuznetsova@mail»)"
        in result.stderr
    )
    assert "google_registration.csv, строка 6, «ФИО»: формула, а не значение" in result.stderr
    assert "google_registration.csv, строка 8, «ФИО»: пусто" in result.stderr
    assert "google_registration.csv, строка 7 повторяет строку" in result.stderr  # one language with «строка N»
    assert [r[:2] for r in rejects(engine, "reg-ku")] == [(5, "Адрес электронной почты"), (6, "ФИО"), (8, "ФИО")]
    assert rejects(engine, "reg-ku")[1][2].startswith("=HYPERLINK(")  # kept as the text it was, for the report
    names = sorted(n for (n,) in rows(engine, select(m.Participant.full_name)))
    assert names == [
        "Иванова Анна Петровна",
        "Новикова Елена Викторовна",
        "Петров Иван Сергеевич",
        "Семенова Алена Игоревна",
        "Сидорова Мария Ивановна",
    ]
    assert count(engine, m.Registration) == 5
    # The later submission of Иванова (row 7, e-mail in capitals) is the one kept.
    ((school, when),) = rows(
        engine,
        select(m.Account.school, m.Registration.registered_at)
        .join(m.Registration, m.Registration.account_id == m.Account.id)
        .where(m.Account.email == "ivanova.anna@mail.ru"),
    )
    assert school == "МБОУ «Гимназия №1» корпус 2"
    assert when.replace(tzinfo=None) == datetime(2023, 9, 3, 15, 20)
    ((f,),) = rows(engine, select(m.ImportedFile))
    assert (f.status, f.rows_read, f.rows_imported, f.rows_rejected, len(f.sha256)) == ("imported", 9, 6, 3, 64)
    (cohort,) = rows(engine, select(m.Cohort.key, m.Cohort.source, m.Cohort.title))
    assert tuple(cohort) == ("KU-2023-H1", "forms", "Конструирование урока, 1 полугодие 2023/24")


def test_yandex_xlsx_from_an_inbox_with_names_in_three_columns(engine: Engine, db_url: str, folder: Path) -> None:
    """The inbox's XLSX: split names joined, an Excel day number read as a date; formula, 31.02 and no surname rejected."""
    (folder / "inbox-shn" / "~$yandex_registration.xlsx").write_bytes(b"lock")  # Excel's lock file: ignored
    config = write_config(folder, db_url, YANDEX)
    result = run(config, "import-form", "reg-shn")
    assert result.exit_code == 65, result.output
    assert "yandex_registration.xlsx: строк прочитано 6, принято 3, отклонено 3" in result.stdout
    assert [r[:2] for r in rejects(engine, "reg-shn")] == [(5, "Фамилия"), (7, "Время создания"), (8, "Фамилия")]
    assert [r[3] for r in rejects(engine, "reg-shn")][1:] == ["такой даты нет: 31.02.2024", "пусто"]
    people = {r.full_name: r for (r,) in rows(engine, select(m.Account))}
    assert set(people) == {"Карпова Ирина Валерьевна", "Лебедев Андрей", "Соколова Нина Петровна"}
    assert people["Карпова Ирина Валерьевна"].school == "5" and people["Лебедев Андрей"].email == "lebedev.a@mail.ru"
    assert people["Соколова Нина Петровна"].category == "наставник"
    when = {
        r[0]: r[1].replace(tzinfo=None)
        for r in rows(engine, select(m.Account.full_name, m.Registration.registered_at).join(m.Registration))
    }
    assert when["Соколова Нина Петровна"] == datetime(2023, 10, 31, 9, 0)  # day 45230.5: 31.10.2023 12:00 Moscow


def test_sign_in_list_joins_people_by_email_or_probably_by_name_and_district(
    engine: Engine, db_url: str, folder: Path
) -> None:
    """BOM + tab sign-in list: one session; Петров by e-mail in capitals, Семёнова (ё) probably by name and district."""
    config = write_config(folder, db_url, GOOGLE, SIGNIN)
    run(config, "import-form", "reg-ku")
    result = run(config, "import-form", "signin-ku")
    assert result.exit_code == 0, result.output
    assert "bom_signin.csv: строк прочитано 4, принято 4, отклонено 0" in result.stdout
    reasons = dict(
        rows(
            engine,
            select(m.Account.external_id, m.Account.link_reason).where(m.Account.external_id.startswith("signin-ku:")),
        )
    )
    assert reasons["signin-ku:petrov.ivan@yandex.ru"] == "тот же e-mail (petrov.ivan@yandex.ru)"
    assert reasons["signin-ku:name:семенова алена игоревна|балашиха"].startswith("probable: то же ФИО и округ")
    assert reasons["signin-ku:name:ткачева юлия андреевна|сергиево посадский"] == "новый участник"
    assert count(engine, m.Participant) == 6
    # The probable link does not rename the person registered with an e-mail.
    assert count(engine, m.Participant, m.Participant.full_name == "Семенова Алена Игоревна") == 1
    summary = build_summary(engine, load_registry(), tz=MSK, now=datetime(2024, 6, 1, tzinfo=MSK))
    (session,) = summary.programs[0].current.sessions  # type: ignore[union-attr]
    assert (session.day.isoformat(), session.topic, session.present) == ("2023-09-20", "Урок как система", 4)
    assert session.starts_at.hour == 15
    report = json.loads(run(config, "data-quality", "--json").stdout)
    assert [x["account"] for x in report["matches"]] == ["Семёнова Алёна Игоревна"]
    assert report["unknown_districts"] == {"го Красногорскк": 1}
    assert report["links"] == {
        "reg-ku": {"email": 0, "probable": 0, "ambiguous": 0, "new": 5},
        "signin-ku": {"email": 2, "probable": 1, "ambiguous": 0, "new": 1},
    }


def test_windows_1251_defense_protocol(engine: Engine, db_url: str, folder: Path) -> None:
    """Grades against pass_grade, «зачтено», initials matched probably; «5+» and «31.02.2024» rejected with reasons."""
    config = write_config(folder, db_url, GOOGLE, PROTOCOL)
    run(config, "import-form", "reg-ku")
    result = run(config, "import-form", "defense-ku")
    assert result.exit_code == 65
    assert [(r[0], r[1], r[2]) for r in rejects(engine, "defense-ku")] == [
        (4, "Дата защиты", "31.02.2024"),
        (5, "Оценка", "5+"),
    ]
    outcomes = dict(rows(engine, select(m.Participant.full_name, m.Defense.outcome).join(m.Defense)))
    assert outcomes == {
        "Иванова Анна Петровна": "passed",
        "Сидорова Мария Ивановна": "passed",
        "Волков Павел Игоревич": "failed",
        "Зайцева Ксения Олеговна": "failed",
        "Морозов Денис Алексеевич": "pending",
    }
    summary = build_summary(engine, load_registry(), tz=MSK, now=datetime(2024, 6, 1, tzinfo=MSK))
    assert summary.programs[0].defenses_passed.by_calendar_year == {"2024": 2}
    text = run(config, "data-quality", "--form", "defense-ku").stdout
    assert "Совпадения для проверки: 2" in text
    assert "Сидорова М.И. (Химки) → участник" in text and "Сидорова Мария Ивановна" in text
    whole = run(config, "data-quality").stdout  # the whole report lists them as quality.html does
    assert "Вероятные совпадения людей — проверить: 2" in whole


def test_a_missing_column_rejects_the_whole_file_and_records_it(engine: Engine, db_url: str, folder: Path) -> None:
    """Exit 65, the message names the file and the column; the file is recorded as refused; nothing imported."""
    config = write_config(folder, db_url, {**GOOGLE, "files": "missing_column.csv"})
    result = run(config, "import-form", "reg-ku")
    assert result.exit_code == 65
    assert "missing_column.csv: нет столбца «Городской округ»" in result.stderr
    ((f,),) = rows(engine, select(m.ImportedFile))
    assert f.status == "rejected" and "«Городской округ»" in f.message
    assert rejects(engine, "reg-ku")[0][0] == 0
    assert count(engine, m.Registration) == count(engine, m.Account) == 0
    assert "НЕ ПРИНЯТ: missing_column.csv: нет столбца «Городской округ»" in run(config, "data-quality").stdout


def test_an_undecodable_or_oversized_file_is_rejected_whole(engine: Engine, db_url: str, folder: Path) -> None:
    """Both are refused with the file name and the way out, and the other files of the form still import."""
    inbox = folder / "inbox-reg"
    inbox.mkdir()
    shutil.copy(folder / "google_registration.csv", inbox / "a-good.csv")
    (inbox / "b-utf16.csv").write_bytes("ФИО,Городской округ\nИванова,Клин\n".encode("utf-16-le"))
    (inbox / "c-big.csv").write_bytes(b"x" * 30_000)
    form = {**GOOGLE, "inbox": "inbox-reg", "max_size_mb": 0.02}
    del form["files"]
    result = run(write_config(folder, db_url, form), "import-form", "reg-ku")
    assert result.exit_code == 65
    assert "b-utf16.csv: текст не декодируется" in result.stderr
    assert "c-big.csv: 0.0 МБ — больше предела" in result.stderr
    assert count(engine, m.Registration) == 5
    assert sorted(r for (r,) in rows(engine, select(m.ImportedFile.status))) == ["imported", "rejected", "rejected"]


def test_quiet_prints_the_errors_and_no_warnings(engine: Engine, db_url: str, folder: Path) -> None:
    """`-q sync`: the rejected-rows error is printed, the repeated-row warning and the summary are not."""
    config = write_config(folder, db_url, GOOGLE)
    result = CliRunner().invoke(cli, ["-q", "--config", str(config), "sync"], catch_exceptions=False)
    assert result.exit_code == 65
    assert "отклонено строк 3 из 9" in result.stderr
    assert "повторяет" not in result.stderr and "предупреждение" not in result.stderr.lower()
    assert result.stdout == ""


def test_status_counts_the_rows_a_form_import_rejected(engine: Engine, db_url: str, folder: Path) -> None:
    """The run's «откл.» is the number of rows refused (3 of 9), also when the same rejects come again."""
    config = write_config(folder, db_url, GOOGLE)
    run(config, "import-form", "reg-ku")
    (last,) = json.loads(run(config, "status", "--json").stdout)["runs"]
    assert last["rejected"] == 3
    lines = run(config, "status").stdout.splitlines()
    header = next(line for line in lines if "откл." in line)
    row = lines[lines.index(header) + 1]
    column = header.index("откл.") + len("откл.")
    assert row[:column].split()[-1] == "3"  # the text table shows it under «откл.»
    second = run(config, "import-form", "reg-ku")
    assert second.exit_code == 0  # the same rejects again are known, not a new problem (issue 12)
    assert [r["rejected"] for r in json.loads(run(config, "status", "--json").stdout)["runs"]] == [3, 3]


# --- idempotency and corrections -------------------------------------------------------------------


def test_importing_the_same_files_again_changes_nothing(engine: Engine, db_url: str, folder: Path) -> None:
    """Every table, rejects and fingerprints included, is identical after a second sync."""
    config = write_config(folder, db_url, GOOGLE, SIGNIN, PROTOCOL, YANDEX)
    first = run(config, "sync")
    assert first.exit_code == 65  # rows were rejected; the good ones are in
    before = table_snapshot(engine, m.DATA_TABLES)
    second = run(config, "sync")
    assert second.exit_code == 0  # the same rejects as last night: reported once, not every night (issue 12)
    assert table_snapshot(engine, m.DATA_TABLES) == before
    assert "+0 новых, 0 изменено" in second.stdout
    assert count(engine, m.ImportedFile) == 4 and count(engine, m.FormReject) == 8


def test_a_corrected_file_updates_changed_rows_and_marks_removed_ones(
    engine: Engine, db_url: str, folder: Path
) -> None:
    """A fixed e-mail lands, a changed district updates in place, a dropped row is marked and listed, not deleted."""
    config = write_config(folder, db_url, GOOGLE)
    path = folder / "google_registration.csv"
    original = path.read_text("utf-8")
    run(config, "import-form", "reg-ku")
    corrected = original.replace('"kuznetsova@mail"', '"kuznetsova@mail.ru"').replace("го Красногорскк", "Красногорск")
    corrected = "\n".join(line for line in corrected.split("\n") if "Petrov.Ivan" not in line)
    path.write_text(corrected, "utf-8")
    result = run(config, "import-form", "reg-ku")
    assert "строк прочитано 8, принято 6, отклонено 2" in result.stdout
    gone = rows(
        engine,
        select(m.Account.full_name, m.Registration.missing_since)
        .join(m.Registration)
        .where(m.Registration.missing_since.is_not(None)),
    )
    assert [g[0] for g in gone] == ["Петров Иван Сергеевич"]
    assert count(engine, m.Registration, m.Registration.missing_since.is_(None)) == 5  # Кузнецова is in now
    (district,) = rows(engine, select(m.Account.district_raw).where(m.Account.email == "novikova.e@gmail.com"))
    assert district[0] == "Красногорск"
    report = json.loads(run(config, "data-quality", "--json").stdout)
    assert [(d["file"], d["row"], d["name"]) for d in report["dropped"]] == [
        ("google_registration.csv", 3, "Петров Иван Сергеевич")
    ]
    assert [r["row"] for r in report["rejects"]] == [5, 7]  # the current version's rejects only
    assert report["unknown_districts"] == {}
    assert count(engine, m.ImportedFile, m.ImportedFile.superseded_at.is_not(None)) == 1
    # Going back to the first version restores Петров; the fixed e-mail's row is the one gone now.
    path.write_text(original, "utf-8")
    run(config, "import-form", "reg-ku")
    gone = rows(
        engine, select(m.Account.full_name).join(m.Registration).where(m.Registration.missing_since.is_not(None))
    )
    assert [g[0] for g in gone] == ["Кузнецова Ольга Павловна"]
    current = rows(engine, select(m.ImportedFile.rows_read).where(m.ImportedFile.superseded_at.is_(None)))
    assert [c[0] for c in current] == [9]


def test_a_row_dropped_from_a_sign_in_list_stops_counting(engine: Engine, db_url: str, folder: Path) -> None:
    """The attendance stays stored, marked «removed» and not present, so the session's count drops."""
    config = write_config(folder, db_url, SIGNIN)
    run(config, "import-form", "signin-ku")
    path = folder / "bom_signin.csv"
    path.write_bytes(b"".join(line for line in path.read_bytes().splitlines(keepends=True) if b"PETROV" not in line))
    run(config, "import-form", "signin-ku")
    status = dict(
        rows(
            engine,
            select(m.Account.full_name, m.Attendance.status).join(
                m.Attendance, m.Attendance.account_id == m.Account.id
            ),
        )
    )
    assert status["Петров Иван Сергеевич"] == "removed" and status["Иванова Анна Петровна"] == "form"
    assert count(engine, m.Attendance, m.Attendance.present.is_(True)) == 3


def test_a_row_dropped_from_a_protocol_no_longer_counts_as_passed(engine: Engine, db_url: str, folder: Path) -> None:
    """The defense turns «pending» without a grade: the corrected protocol no longer says the person passed."""
    config = write_config(folder, db_url, PROTOCOL)
    run(config, "import-form", "defense-ku")
    path = folder / "excel_defense_1251.csv"
    path.write_bytes(
        b"".join(line for line in path.read_bytes().splitlines(keepends=True) if not line.startswith(b"1;"))
    )
    run(config, "import-form", "defense-ku")
    outcome = dict(
        rows(
            engine, select(m.Account.full_name, m.Defense.outcome).join(m.Defense, m.Defense.account_id == m.Account.id)
        )
    )
    assert outcome["Иванова Анна Петровна"] == "pending" and outcome["Сидорова М.И."] == "passed"


def test_a_row_in_two_files_of_a_form_stays_while_one_still_has_it(engine: Engine, db_url: str, folder: Path) -> None:
    """Dropping a person from one file of a form keeps the registration the other file still holds."""
    inbox = folder / "inbox-reg"
    inbox.mkdir()
    shutil.copy(folder / "google_registration.csv", inbox / "week1.csv")
    shutil.copy(folder / "google_registration.csv", inbox / "week2.csv")
    form = {**GOOGLE, "inbox": "inbox-reg"}
    del form["files"]
    config = write_config(folder, db_url, form)
    run(config, "import-form", "reg-ku")
    week2 = inbox / "week2.csv"
    week2.write_text("\n".join(x for x in week2.read_text("utf-8").split("\n") if "Petrov" not in x), "utf-8")
    run(config, "import-form", "reg-ku", str(week2))
    assert count(engine, m.FormEntry, m.FormEntry.missing_since.is_not(None)) == 1
    assert count(engine, m.Registration, m.Registration.missing_since.is_not(None)) == 0


# --- configuration, commands, other sources --------------------------------------------------------


def test_a_form_never_seen_before_needs_only_config(engine: Engine, db_url: str, folder: Path) -> None:
    """Other headers, separator and date styles, two sessions in one list: a new [[forms]] entry suffices."""
    (folder / "platform.csv").write_text(
        "Участник;Почта участника;Муниципалитет;Подключился\n"
        "Орлова Дарья Андреевна;ORLOVA@school.ru;г. о. Люберцы;2023-11-15T15:02:00\n"
        "Белов Кирилл;;Коломна;15.11.2023 15:07\n"
        "Орлова Дарья Андреевна;orlova@school.ru;Люберцы;22.11.2023 15:01\n",
        "utf-8",
    )
    form = {
        "name": "webinar-nov",
        "kind": "attendance",
        "files": "platform.csv",
        "cohort": "KU-2023-H1",
        "program": "ku",
        "columns": {
            "full_name": "Участник",
            "email": "Почта участника",
            "district": "Муниципалитет",
            "timestamp": "Подключился",
        },
    }
    result = run(write_config(folder, db_url, form), "import-form", "webinar-nov")
    assert result.exit_code == 0, result.output
    keys = sorted(k for (k,) in rows(engine, select(m.Session.source_key)))
    assert keys == ["form:webinar-nov:2023-11-15", "form:webinar-nov:2023-11-22"]  # each row's own date
    assert count(engine, m.Attendance, m.Attendance.present.is_(True)) == 3  # Орлова at both sessions
    assert count(engine, m.Participant) == 2


def test_unknown_form_and_bad_cohort_are_configuration_errors(engine: Engine, db_url: str, folder: Path) -> None:
    """An unknown form name and a cohort neither configured nor defined exit 78 and say what to set."""
    config = write_config(folder, db_url, GOOGLE)
    result = run(config, "import-form", "nope")
    assert result.exit_code == 78 and "в конфигурации нет формы 'nope' (формы: reg-ku)" in result.stderr
    form = {**GOOGLE}
    del form["program"]
    result = run(write_config(folder, db_url, form), "import-form", "reg-ku")
    assert result.exit_code == 78 and "задайте program, чтобы определить когорту только из форм" in result.stderr
    result = run(write_config(folder, db_url, {**GOOGLE, "columns": {"email": "Почта"}}), "import-form", "reg-ku")
    assert result.exit_code == 78 and "в columns нужен full_name или last_name и first_name" in result.stderr


def test_no_matching_file_is_an_input_error(engine: Engine, db_url: str, folder: Path) -> None:
    """import-form with a glob that matches nothing says where it looked (exit 65)."""
    result = run(write_config(folder, db_url, {**GOOGLE, "files": "exports/*.csv"}), "import-form", "reg-ku")
    assert (
        result.exit_code == 65 and "ни один файл не подходит под" in result.stderr and "exports/*.csv" in result.stderr
    )


def test_moodle_batches_leave_form_sessions_and_form_rows_leave_moodle_defenses(
    engine: Engine, db_url: str, folder: Path
) -> None:
    """A cohort fed by Moodle and forms: neither source marks or overwrites what the other wrote."""
    from connectors.base import Batch, CohortRef, DefenseRecord, PersonRecord, SessionRecord
    from intensive_tracker.config import load_settings
    from intensive_tracker.sync.engine import run_sync

    config = write_config(folder, db_url, SIGNIN, PROTOCOL)
    run(config, "import-form", "signin-ku")

    class FakeMoodle:
        name = "moodle"

        def batches(self, cursors: Any) -> Any:
            yield Batch(
                source="moodle",
                cohort=CohortRef(key="KU-2023-H1", program="ku", course_id=7),
                people=[
                    PersonRecord(
                        external_id="77",
                        full_name="Волков Павел Игоревич",
                        email="volkov@school.ru",
                        district_raw="Коломна",
                    )
                ],
                sessions=[
                    SessionRecord(source_key="att:1", starts_at=datetime(2023, 10, 11, 12, 0, tzinfo=ZoneInfo("UTC")))
                ],
                defenses=[
                    DefenseRecord(
                        external_id="77",
                        outcome="passed",
                        grade=8.0,
                        graded_at=datetime(2024, 3, 20, tzinfo=ZoneInfo("UTC")),
                    )
                ],
            )

    settings = load_settings(config)
    run_sync(engine, settings, load_registry(), [FakeMoodle()])
    assert count(engine, m.Session, m.Session.missing_since.is_not(None)) == 0
    result = run(config, "import-form", "defense-ku")  # says Волков failed with 3
    assert (
        "excel_defense_1251.csv, строка 6: у этого человека уже есть защита из Moodle в KU-2023-H1; "
        "строка протокола не используется"
    ) in result.stderr
    ((outcome, grade),) = rows(
        engine,
        select(m.Defense.outcome, m.Defense.grade)
        .join(m.Participant)
        .where(m.Participant.full_name == "Волков Павел Игоревич"),
    )
    assert (outcome, grade) == ("passed", 8.0)


def test_several_namesakes_in_a_district_are_not_guessed(engine: Engine, db_url: str, folder: Path) -> None:
    """Two known «Иванова Анна Петровна» in Балашиха (e.g. two Moodle users): a row without e-mail is a new, flagged person."""
    from intensive_tracker.people.identity import name_key

    with Session(engine) as session:
        for email in ("a1@mail.ru", "a2@mail.ru"):
            session.add(
                m.Participant(
                    full_name="Иванова Анна Петровна",
                    name_key=name_key("Иванова Анна Петровна"),
                    email_key=email,
                    district_raw="Балашиха",
                )
            )
        session.commit()
    (folder / "in.csv").write_text("ФИО;Почта;Округ\nИванова Анна Петровна;;г.о. Балашиха\n", "utf-8")
    sign = {
        "name": "in",
        "kind": "attendance",
        "files": "in.csv",
        "cohort": "C",
        "program": "ku",
        "session_date": "2023-09-20",
        "columns": {"full_name": "ФИО", "email": "Почта", "district": "Округ"},
    }
    config = write_config(folder, db_url, sign)
    assert run(config, "import-form", "in").exit_code == 0
    assert count(engine, m.Participant) == 3
    report = json.loads(run(config, "data-quality", "--json").stdout)
    (match,) = report["matches"]
    assert match["reason"].startswith("новый участник: несколько совпадений по ФИО и округу (#1, #2)")
    assert report["links"]["in"] == {"email": 0, "probable": 0, "ambiguous": 1, "new": 0}


def test_same_name_and_district_with_another_email_is_another_person_listed_as_a_twin(
    engine: Engine, db_url: str, folder: Path
) -> None:
    """Two «Иванова Анна Петровна» of Балашиха with two e-mails are two people; quality.json offers the join line."""
    (folder / "reg.csv").write_text(
        "ФИО,Почта,Округ\nИванова Анна Петровна,a1@mail.ru,Балашиха\nиванова  анна петровна,a2@mail.ru,го Балашиха\n",
        "utf-8",
    )
    config = write_config(folder, db_url, REG_CSV)
    run(config, "import-form", "reg")
    assert count(engine, m.Participant) == 2 and count(engine, m.Registration) == 2
    report = json.loads(run(config, "data-quality", "--json").stdout)
    assert report["links"]["reg"] == {"email": 0, "probable": 0, "ambiguous": 0, "new": 2}
    reasons = dict(rows(engine, select(m.Account.external_id, m.Account.link_reason)))
    assert reasons["reg:a2@mail.ru"] == "новый участник: то же ФИО и округ, что у #1, но другой e-mail — разные люди"
    assert run(config, "report").exit_code == 0
    quality = json.loads((folder / "out" / "report" / "quality.json").read_text("utf-8"))
    (twins,) = [i for i in quality["items"] if i["kind"] == "name_twins"]
    assert twins["fix"] == '[[people.join]]\naccounts = ["forms:reg:a1@mail.ru", "forms:reg:a2@mail.ru"]'
    # The config line joins them: one person from the next sync on.
    config.write_text(config.read_text("utf-8") + "\n" + twins["fix"] + "\n", "utf-8")
    assert run(config, "sync").exit_code == 0
    with Session(engine) as session:
        people = {a.participant_id for a in session.execute(select(m.Account)).scalars()}
    assert len(people) == 1


def test_a_name_match_joins_when_either_side_has_no_email(engine: Engine, db_url: str, folder: Path) -> None:
    """A row without e-mail joins the registered person; a row with one joins a person known by none."""
    (folder / "reg.csv").write_text(
        "ФИО,Почта,Округ\nИванова Анна Петровна,,Балашиха\nИванова Анна Петровна,a1@mail.ru,Балашиха\n"
        "Петров Иван Сергеевич,p@mail.ru,Клин\nПетров Иван Сергеевич,,Клин\n",
        "utf-8",
    )
    config = write_config(folder, db_url, REG_CSV)
    run(config, "import-form", "reg")
    assert count(engine, m.Participant) == 2
    report = json.loads(run(config, "data-quality", "--json").stdout)
    assert report["links"]["reg"] == {"email": 0, "probable": 2, "ambiguous": 0, "new": 2}


def test_sync_of_clean_forms_exits_0_and_a_rerun_reports_no_change(engine: Engine, db_url: str, folder: Path) -> None:
    """`sync` imports the forms with the other sources; a clean file exits 0, and again writes nothing."""
    config = write_config(folder, db_url, SIGNIN)
    first = run(config, "sync")
    assert first.exit_code == 0, first.output
    assert "отметки: +4 новых" in first.stdout
    second = run(config, "sync")
    assert second.exit_code == 0 and "Изменений нет: база не менялась." in second.stdout
