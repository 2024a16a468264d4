"""The stand-in Moodle's answers: each web-service function's JSON, built from the World as Moodle 4.5 writes it.

`StandinMoodle` (connectors.demo.standin) serves these over HTTP; this module knows nothing of the wire.
"""

from __future__ import annotations

from typing import Any

from connectors.demo.world import Course, World

SERVICE_FUNCTIONS = [
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_course_get_contents",
    "core_group_get_course_groups",
    "core_enrol_get_enrolled_users",
    "core_user_get_users_by_field",
    "core_user_get_course_user_profiles",
    "mod_attendance_get_sessions",
    "mod_assign_get_assignments",
    "mod_assign_get_grades",
    "mod_assign_get_submissions",
]


class MoodleFault(Exception):
    """Raised inside a handler: becomes Moodle's HTTP-200 exception body."""

    def __init__(self, exception: str, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.body = {"exception": exception, "errorcode": errorcode, "message": message}


class MoodleAnswers:
    """The `_fn_<wsfunction>` answer builders: each takes the request's parameters, returns (body, cost units)."""

    world: World

    @property
    def url(self) -> str:
        """The site's base URL, as the answers link to it (the server supplies it)."""
        raise NotImplementedError

    def _course(self, params: dict[str, Any]) -> Course:
        course = self.world.course(int(params["courseid"]))
        if course is None:
            raise MoodleFault(
                "dml_missing_record_exception", "invalidrecord", "Can't find data record in database table course."
            )
        return course

    # -- web-service functions ------------------------------------------------------------------

    def _fn_core_webservice_get_site_info(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        return {
            "sitename": self.world.sitename,
            "username": "ws_tracker",
            "firstname": "Intensive",
            "lastname": "Tracker WS",
            "fullname": "Tracker WS Intensive",
            "lang": "ru",
            "userid": 2,
            "siteurl": self.url,
            "userpictureurl": f"{self.url}/theme/image.php/boost/core/1/u/f1",
            "functions": [{"name": f, "version": "2024100706"} for f in SERVICE_FUNCTIONS],
            "downloadfiles": 0,
            "uploadfiles": 0,
            "release": "4.5.6 (Build: 20250811)",
            "version": "2024100706",
            "mobilecssurl": "",
            "advancedfeatures": [],
            "usercanmanageownfiles": True,
            "userquota": 104857600,
            "usermaxuploadfilesize": 67108864,
            "userhomepage": 1,
            "siteid": 1,
            "sitecalendartype": "gregorian",
            "usercalendartype": "gregorian",
            "userissiteadmin": False,
            "theme": "boost",
            "limitconcurrentlogins": 0,
            "policyagreed": 0,
        }, {}

    def _course_json(self, c: Course) -> dict[str, Any]:
        return {
            "id": c.id,
            "fullname": c.fullname,
            "displayname": c.fullname,
            "shortname": c.shortname,
            "categoryid": 2,
            "categoryname": c.category,
            "summary": "",
            "summaryformat": 1,
            "startdate": c.startdate,
            "enddate": c.enddate,
            "visible": 1,
            "groupmode": 1,
            "format": "topics",
            "idnumber": c.shortname,
            "enablecompletion": 1,
        }

    def _fn_core_course_get_courses_by_field(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        field, value = params.get("field", ""), str(params.get("value", ""))
        if field in ("id", "ids"):
            wanted = {int(v) for v in value.split(",") if v}
            found = [c for c in self.world.courses if c.id in wanted]
        elif field in ("shortname", "idnumber"):
            found = [c for c in self.world.courses if c.shortname == value]
        elif field == "":
            found = list(self.world.courses)
        else:
            raise ValueError(field)
        return {"courses": [self._course_json(c) for c in found], "warnings": []}, {}

    def _fn_core_course_get_contents(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        course = self._course(params)
        modules = [
            {
                "id": a.cmid,
                "url": f"{self.url}/mod/attendance/view.php?id={a.cmid}",
                "name": a.name,
                "instance": a.id,
                "visible": 1,
                "uservisible": True,
                "modname": "attendance",
                "modplural": "Attendances",
            }
            for a in course.attendances
        ]
        modules += [
            {
                "id": a.cmid,
                "url": f"{self.url}/mod/assign/view.php?id={a.cmid}",
                "name": a.name,
                "instance": a.id,
                "visible": 1,
                "uservisible": True,
                "modname": "assign",
                "modplural": "Assignments",
            }
            for a in course.assignments
        ]
        return [
            {"id": 1, "name": "Общие сведения", "visible": 1, "summary": "", "section": 0, "modules": []},
            {"id": 2, "name": "Занятия", "visible": 1, "summary": "", "section": 1, "modules": modules},
        ], {}

    def _fn_core_group_get_course_groups(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        course = self._course(params)
        return [
            {
                "id": gid,
                "courseid": course.id,
                "name": name,
                "description": "",
                "descriptionformat": 1,
                "enrolmentkey": "",
                "idnumber": "",
            }
            for gid, name in sorted(course.groups.items())
        ], {}

    def _user_json(self, uid: int, course: Course | None, fields: set[str] | None) -> dict[str, Any]:
        u = self.world.users[uid]
        custom = [
            {"type": t, "value": v, "name": n, "shortname": s}
            for t, v, n, s in (
                ("text", u.district, "Городской округ", "district"),
                ("text", u.school, "Образовательная организация", "school"),
                ("text", u.position, "Должность", "position"),
                ("menu", u.category, "Категория", "role_in_program"),
            )
            if v
        ]
        full = {
            "id": u.id,
            "username": u.username,
            "firstname": u.firstname,
            "lastname": u.lastname,
            "fullname": u.fullname,
            "email": u.email,
            "department": "",
            "firstaccess": 0,
            "lastaccess": 0,
            "customfields": custom,
        }
        if course is not None:
            teacher = uid in course.teachers
            full["roles"] = [
                {
                    "roleid": 3 if teacher else 5,
                    "name": "",
                    "shortname": "editingteacher" if teacher else "student",
                    "sortorder": 0,
                }
            ]
            gid = course.user_groups.get(uid)
            full["groups"] = (
                [{"id": gid, "name": course.groups[gid], "description": "", "descriptionformat": 1}] if gid else []
            )
        if fields is not None:
            full = {k: v for k, v in full.items() if k in fields or k == "id"}
        return full

    def _fn_core_enrol_get_enrolled_users(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        course = self._course(params)
        options = {o["name"]: o["value"] for o in params.get("options", [])}
        fields = set(options["userfields"].split(",")) if "userfields" in options else None
        known = {
            "id",
            "username",
            "fullname",
            "firstname",
            "lastname",
            "email",
            "suspended",
            "customfields",
            "roles",
            "groups",
            "department",
            "firstaccess",
            "lastaccess",
        }
        if fields and fields - known:
            raise MoodleFault(
                "core\\exception\\moodle_exception",
                "invaliduserfield",
                f"Invalid user field: {sorted(fields - known)[0]}",
            )
        ids = sorted(set(course.students) | set(course.teachers))
        if "groupid" in options:
            ids = [u for u in ids if course.user_groups.get(u) == int(options["groupid"])]
        if str(options.get("onlysuspended", "0")) == "1":
            ids = [u for u in ids if u in course.suspended_enrolments]
        if str(options.get("onlyactive", "0")) == "1":
            ids = [u for u in ids if u not in course.suspended_enrolments]
        start = int(options.get("limitfrom", 0))
        limit = int(options.get("limitnumber", 0))
        page = ids[max(start, 0) :][: limit if limit > 0 else None]
        return [self._user_json(u, course, fields) for u in page], {"users": len(page)}

    def _fn_core_user_get_users_by_field(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        if params.get("field") != "id":
            raise ValueError("field")
        values = [int(v) for v in params.get("values", [])]
        found = [
            self._user_json(v, None, None) | {"suspended": self.world.users[v].suspended}
            for v in values
            if v in self.world.users
        ]
        return found, {"users": len(found)}

    def _fn_core_user_get_course_user_profiles(self, params: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        """Each listed user with their roles in the course; users not enrolled there are skipped, as Moodle does."""
        courses = {c.id: c for c in self.world.courses}
        found = []
        for entry in params.get("userlist", []):
            course = courses.get(int(entry["courseid"]))
            uid = int(entry["userid"])
            if course is not None and (uid in course.students or uid in course.teachers):
                found.append(self._user_json(uid, course, None))
        return found, {"users": len(found)}

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
