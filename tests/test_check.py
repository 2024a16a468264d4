"""`check` gives one actionable line per item and the exit code of the most severe failure."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner, Result

from intensive_tracker.cli import cli
from tests.conftest import recording
from tests.test_moodle_replay import TOKEN, Replay
from tests.test_moodle_sync import TOKEN_ENV, write_config

CHECK_RECORDINGS = [
    "001_core_webservice_get_site_info",
    "005_core_course_get_courses_by_field__shortname_KU-2023-H1",
    "006_core_course_get_courses_by_field__shortname_SHN-2023-24",
    "010_KU-2023-H1__core_course_get_contents",
    "013_KU-2023-H1__core_enrol_get_enrolled_users__page_from0",
    "019_KU-2023-H1__core_enrol_get_enrolled_users__onlysuspended",
    "022_KU-2023-H1__mod_attendance_get_sessions",
    "027_KU-2023-H1__mod_assign_get_assignments",
    "029_KU-2023-H1__mod_assign_get_submissions",
    "031_KU-2023-H1__mod_assign_get_grades",
    "046_SHN-2023-24__core_course_get_contents",
    "049_SHN-2023-24__core_enrol_get_enrolled_users__page_from0",
    "053_SHN-2023-24__core_enrol_get_enrolled_users__onlysuspended",
    "056_SHN-2023-24__mod_attendance_get_sessions",
]


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Replay(rsps).add(*CHECK_RECORDINGS)


def run_check(tmp_path: Path, *args: str, config: Path | None = None, lang: str = "en") -> Result:
    """`check` in English by default here: these tests pin the English lines (Russian ones are pinned below)."""
    config = config or write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    return CliRunner().invoke(cli, ["--lang", lang, "--config", str(config), "check", *args])


def red(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("✘")]


def test_all_green_on_the_recorded_site(replay: Replay, tmp_path: Path) -> None:
    """Against the recorded Moodle every item passes, names site, release and user, and the database stays unborn."""
    result = run_check(tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert not red(result)
    assert "Moodle 4.5.6 (Build: 20250811)" in out and "service user ws_tracker" in out
    assert "all 9 the config needs" in out
    assert "cohort KU-2023-H1: attendance «Журнал посещаемости» (cmid 2): 6 sessions (6 taken)" in out
    assert "a grade of at least 6 passes; 95 grades, 116 submissions" in out
    assert "cohort SHN-2023-24: suspended enrolments: readable (0 now)" in out
    assert "profile_fields.district = «district»" in out
    assert all(line[0] in "✔!" for line in out.splitlines()[:-1])
    assert not (tmp_path / "tracker.db").exists()


def test_json_output_lists_every_item(replay: Replay, tmp_path: Path) -> None:
    """--json gives ok, exit_code, site and one entry per item."""
    result = run_check(tmp_path, "--json")
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["site"]["username"] == "ws_tracker" and data["site"]["attendance_version"] == "2024020500"
    assert {i["status"] for i in data["items"]} == {"ok"} and len(data["items"]) == 14


def test_wrong_token_is_red_with_exit_77(monkeypatch: pytest.MonkeyPatch, replay: Replay, tmp_path: Path) -> None:
    """A rejected token: reachable is green, the token line red naming the variable to set; the token never shown."""
    canary = "canary-wrong-token-5f1e2d"
    monkeypatch.setenv(TOKEN_ENV, canary)
    result = run_check(tmp_path)
    assert result.exit_code == 77
    assert result.stdout.splitlines()[1].startswith("✔ Moodle reachable")
    assert red(result) == [line for line in red(result) if line.startswith("✘ token accepted")] and red(result)
    assert TOKEN_ENV in result.stdout and canary not in result.output


def test_missing_function_is_named_with_where_to_add_it(replay: Replay, tmp_path: Path) -> None:
    """A function missing from the service is named, with the administration path that adds it; exit 77."""
    site = recording("001_core_webservice_get_site_info")["body"]
    site["functions"] = [f for f in site["functions"] if f["name"] != "mod_attendance_get_sessions"]
    replay.override("001_core_webservice_get_site_info", site)
    result = run_check(tmp_path)
    assert result.exit_code == 77
    lines = red(result)
    assert lines[0].startswith("✘ function mod_attendance_get_sessions: not in the token's service")
    assert "External services" in lines[0]
    assert replay.calls["022_KU-2023-H1__mod_attendance_get_sessions"] == 0


def test_unreachable_host_exits_69(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing listening on the port: one red line saying so and exit 69."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    config.write_text(config.read_text("utf-8").replace("http://moodle.test", f"http://127.0.0.1:{port}"), "utf-8")
    result = run_check(tmp_path, config=config)
    assert result.exit_code == 69
    assert red(result) == [red(result)[0]] and "connection refused" in red(result)[0]


def test_web_services_disabled_exits_77(replay: Replay, tmp_path: Path) -> None:
    """HTTP 403 with an empty body says where web services and REST are switched on."""
    replay.add("104_ERR_webservices_disabled")
    result = run_check(tmp_path)
    assert result.exit_code == 77
    assert red(result)[0].startswith("✘ web services enabled") and "Enable web services" in red(result)[0]


def test_missing_capabilities_are_named(replay: Replay, tmp_path: Path) -> None:
    """Course contents refused, then attendance refused: each red line names the capability the role lacks."""
    replay.add("078_ERR_no_capability__mod_attendance_get_sessions")
    result = run_check(tmp_path)
    assert result.exit_code == 77
    assert [
        line
        for line in red(result)
        if "attendance «Журнал посещаемости» (cmid 2)" in line and "mod/attendance:view" in line
    ]
    replay.add("077_ERR_no_capability__core_course_get_contents")
    result = run_check(tmp_path)
    assert result.exit_code == 77
    assert red(result)[0].startswith("✘ cohort KU-2023-H1: course contents") and "moodle/course:view" in red(result)[0]


def test_assign_warning_code_1_is_a_missing_capability(replay: Replay, tmp_path: Path) -> None:
    """Grades answered with warnings[] code 1 (no exception) are caught: mod/assign:viewgrades is named."""
    replay.add("079_ERR_no_capability__mod_assign_get_grades")
    result = run_check(tmp_path)
    assert result.exit_code == 77
    assert any("warning code 1" in line and "mod/assign:viewgrades" in line for line in red(result))


def test_assign_warning_code_1_in_a_forced_groups_course_names_accessallgroups(replay: Replay, tmp_path: Path) -> None:
    """In a course forced into separate groups, code 1 means moodle/site:accessallgroups, not mod/assign:view (issue 12)."""
    name = "005_core_course_get_courses_by_field__shortname_KU-2023-H1"
    body = recording(name)["body"]
    body["courses"][0] |= {"groupmode": 1, "groupmodeforce": 1}
    replay.override(name, body).add("079_ERR_no_capability__mod_assign_get_grades")
    result = run_check(tmp_path)
    assert result.exit_code == 77
    line = next(line for line in red(result) if "warning code 1" in line)
    assert "moodle/site:accessallgroups" in line and "mod/assign:view" not in line


def test_unknown_course_is_configuration_and_capability_wins(replay: Replay, tmp_path: Path) -> None:
    """An unknown course id is red with 78; with a capability failure too, the exit is the more severe 77."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    config.write_text(config.read_text("utf-8").replace('course = "KU-2023-H1"', "course = 99999"), "utf-8")
    replay.add("093_ERR_nonexistent_course__core_course_get_courses_by_field")
    result = run_check(tmp_path, config=config)
    assert result.exit_code == 78
    assert red(result)[0].startswith("✘ cohort KU-2023-H1: course 99999: course 99999 not found by id")
    refused = recording("078_ERR_no_capability__mod_attendance_get_sessions")["body"]
    replay.override("056_SHN-2023-24__mod_attendance_get_sessions", refused)
    assert run_check(tmp_path, config=config).exit_code == 77


def test_profile_field_and_pass_rule_are_configuration(replay: Replay, tmp_path: Path) -> None:
    """A profile-field shortname nobody has, and a defense without pass_grade: red lines, exit 78."""
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}", extra_moodle='[moodle.profile_fields]\ndistrict = "gorod"\n'
    )
    config.write_text(config.read_text("utf-8").replace("pass_grade = 6\n", ""), "utf-8")
    result = run_check(tmp_path, config=config)
    assert result.exit_code == 78
    text = "\n".join(red(result))
    assert "custom profile field district" in text and "«gorod»" in text and "moodle.profile_fields.district" in text
    assert "set pass_grade" in text and "graded out of 10" in text


def test_missing_token_variable_is_a_red_configuration_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the token variable, check says which variable to export and exits 78."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = run_check(tmp_path)
    assert result.exit_code == 78
    assert red(result) and f"export {TOKEN_ENV}" in red(result)[0]
    # One verdict per item: the file is valid (green), the token is what is missing (red), never both for one item.
    items = [line[2:].split(":")[0] for line in result.stdout.splitlines() if line[:1] in "✔✘!"]
    assert items == ["configuration", "token"] and red(result)[0].startswith("✘ token:")


def test_check_passes_on_the_demo_playground(tmp_path: Path) -> None:
    """The demo config's stand-in Moodle passes every item."""
    from connectors.demo.playground import write_demo_config

    config = write_demo_config(tmp_path)
    result = CliRunner().invoke(cli, ["--lang", "en", "--config", str(config), "check"])
    assert result.exit_code == 0, result.output
    assert "✘" not in result.stdout and "cohort SHN-2023-24: enrolled users" in result.stdout
    assert not (tmp_path / "tracker.db").exists()


def test_warnings_of_successful_answers_are_shown_without_failing(replay: Replay, tmp_path: Path) -> None:
    """A warnings[] entry in a successful answer becomes a «!» line; the check still passes."""
    body = recording("027_KU-2023-H1__mod_assign_get_assignments")["body"]
    body["warnings"] = [
        {
            "item": "course",
            "itemid": 3,
            "warningcode": "2",
            "message": "User is not enrolled or does not have requested capability",
        }
    ]
    replay.override("027_KU-2023-H1__mod_assign_get_assignments", body)
    result = run_check(tmp_path)
    assert result.exit_code == 0, result.output
    assert [
        line
        for line in result.stdout.splitlines()
        if line.startswith("! cohort KU-2023-H1: defense") and "User is not enrolled" in line and "code 2" in line
    ]
