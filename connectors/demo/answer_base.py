"""What every answer builder of the stand-in Moodle shares: its fault, its World and the course lookup."""

from __future__ import annotations

from typing import Any

from connectors.demo.world import Course, World


class MoodleFault(Exception):
    """Raised inside a handler: becomes Moodle's HTTP-200 exception body."""

    def __init__(self, exception: str, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.body = {"exception": exception, "errorcode": errorcode, "message": message}


class AnswerBase:
    """The World the answers are built from, the site's URL and the course a request names."""

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
