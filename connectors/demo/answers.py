"""The stand-in Moodle's answers: each web-service function's JSON, built from the World as Moodle 4.5 writes it.

`StandinMoodle` (connectors.demo.standin) serves these over HTTP; this module knows nothing of the wire.
"""

from __future__ import annotations

from typing import Any

from connectors.demo.activity_answers import ActivityAnswers
from connectors.demo.answer_base import MoodleFault
from connectors.demo.world import Course

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


class MoodleAnswers(ActivityAnswers):
    """The `_fn_<wsfunction>` answer builders: each takes the request's parameters, returns (body, cost units).

    The site, course, group and user functions are here; the activity ones come from `ActivityAnswers`.
    """

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
