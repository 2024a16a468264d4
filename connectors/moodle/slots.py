"""A first-come, first-served limit on requests in flight."""

from __future__ import annotations

import threading
from collections import deque


class FairSlots:
    """At most `n` holders at once, admitted in arrival order.

    A plain semaphore lets the thread that just released a slot take it straight back, so a
    cohort waiting for its first request can starve until the others finish and then trail
    alone (issue 9: that tail made a sync a third slower than its fetch floor).
    """

    def __init__(self, n: int) -> None:
        self._free = n
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    def __enter__(self) -> FairSlots:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while self._queue[0] is not ticket or self._free == 0:
                self._cond.wait()
            self._queue.popleft()
            self._free -= 1
            self._cond.notify_all()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()
