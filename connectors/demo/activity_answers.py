"""The stand-in Moodle's activity answers: mod_attendance sessions and mod_assign assignments, grades and submissions."""

from __future__ import annotations

from typing import Any

from connectors.demo.answer_base import AnswerBase, MoodleFault
from connectors.demo.world import Course


class ActivityAnswers(AnswerBase):
    """The `_fn_mod_*` answer builders."""

    def _fn_mod_attendance_get_sessions(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        instance = int(params["attendanceid"])
        for course in self.world.courses:
            for att in course.attendances:
                if att.id != instance:
                    continue
                statuses = [
                    {
                        "id": s.id,
                        "attendanceid": att.id,
                        "acronym": s.acronym,
                        "description": s.description,
                        "grade": s.grade,
                        "visible": 1,
                        "deleted": 0,
                        "setnumber": 0,
                    }
                    for s in att.statuses
                ]
                users = [
                    {"id": u, "firstname": self.world.users[u].firstname, "lastname": self.world.users[u].lastname}
                    for u in course.students
                ]
                out, marks, log_id = [], 0, 0
                for s in att.sessions:
                    log = []
                    for uid, status in s.log.items():
                        log_id += 1
                        log.append({"studentid": uid, "statusid": str(status), "remarks": "", "id": str(log_id)})
                    marks += len(log)
                    out.append(
                        {
                            "id": s.id,
                            "attendanceid": att.id,
                            "groupid": s.groupid,
                            "sessdate": s.sessdate,
                            "duration": s.duration,
                            "lasttaken": s.sessdate + s.duration if s.taken else None,
                            "lasttakenby": course.teachers[0] if s.taken else 0,
                            "timemodified": s.sessdate,
                            "description": s.description,
                            "descriptionformat": 1,
                            "studentscanmark": 0,
                            "absenteereport": 1,
                            "autoassignstatus": 0,
                            "preventsharedip": 0,
                            "preventsharediptime": None,
                            "statusset": 0,
                            "includeqrcode": 0,
                            "studentsearlyopentime": 0,
                            "courseid": course.id,
                            "statuses": statuses,
                            "attendance_log": log,
                            "users": users,
                        }
                    )
                return out, {"marks": marks}
        raise MoodleFault("dml_missing_record_exception", "invalidrecordunknown", "Can't find data record in database.")

    def _assignments(self, ids: list[int]) -> list[tuple[Course, Any]]:
        return [(c, a) for c in self.world.courses for a in c.assignments if a.id in ids]

    def _fn_mod_assign_get_assignments(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        ids = [int(v) for v in params.get("courseids", [])]
        if str(params.get("includenotenrolledcourses", "0")) != "1":
            return {
                "courses": [],
                "warnings": [
                    {
                        "item": "course",
                        "itemid": i,
                        "warningcode": "2",
                        "message": "User is not enrolled or does not have requested capability",
                    }
                    for i in ids
                ],
            }, {}
        courses, warnings = [], []
        for cid in ids:
            course = self.world.course(cid)
            if course is None:
                warnings.append(
                    {
                        "item": "course",
                        "itemid": cid,
                        "warningcode": "1",
                        "message": "No access rights in course context Can't find data record in database table course.",
                    }
                )
                continue
            courses.append(
                {
                    "id": course.id,
                    "fullname": course.fullname,
                    "shortname": course.shortname,
                    "timemodified": course.startdate,
                    "assignments": [
                        {
                            "id": a.id,
                            "cmid": a.cmid,
                            "course": course.id,
                            "name": a.name,
                            "nosubmissions": 0,
                            "duedate": course.enddate,
                            "grade": a.grade,
                            "timemodified": course.startdate,
                            "intro": "",
                            "introformat": 1,
                        }
                        for a in course.assignments
                    ],
                }
            )
        return {"courses": courses, "warnings": warnings}, {}

    def _fn_mod_assign_get_grades(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        ids = [int(v) for v in params.get("assignmentids", [])]
        since = int(params.get("since", 0))
        out, warnings, n = [], [], 0
        for _, a in self._assignments(ids):
            grades = [
                {
                    "id": i + 1,
                    "userid": g.userid,
                    "attemptnumber": g.attemptnumber,
                    "timecreated": g.timemodified,
                    "timemodified": g.timemodified,
                    "grader": -1 if g.grade < 0 else 2,
                    "grade": f"{g.grade:.5f}",
                }
                for i, g in enumerate(a.grades)
                if g.timemodified >= since
            ]
            n += len(grades)
            if grades:
                out.append({"assignmentid": a.id, "grades": grades})
            else:
                warnings.append(
                    {"item": "assignment", "itemid": a.id, "warningcode": "3", "message": "No grades found"}
                )
        return {"assignments": out, "warnings": warnings}, {}

    def _fn_mod_assign_get_submissions(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        ids = [int(v) for v in params.get("assignmentids", [])]
        out = []
        for _, a in self._assignments(ids):
            graded = {g.userid for g in a.grades if g.grade >= 0}
            out.append(
                {
                    "assignmentid": a.id,
                    "submissions": [
                        {
                            "id": i + 1,
                            "userid": sub.userid,
                            "attemptnumber": sub.attemptnumber,
                            "timecreated": sub.timemodified,
                            "timemodified": sub.timemodified,
                            "timestarted": None,
                            "status": sub.status,
                            "groupid": 0,
                            "plugins": [],
                            "gradingstatus": "graded" if sub.userid in graded else "notgraded",
                        }
                        for i, sub in enumerate(a.submissions)
                    ],
                }
            )
        return {"assignments": out, "warnings": []}, {}
