"""The stand-in Moodle in a child process, so its work never competes with the sync for the GIL.

The child is forked after the region is generated (it inherits the world) and counts every
request it answers in shared memory: the request counts of the benchmark are the server's.
"""

from __future__ import annotations

import multiprocessing as mp
import secrets
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from connectors.demo.standin import CostModel, StandinMoodle
from connectors.demo.world import World


def _serve(world: World, token: str, cost: CostModel, counter: Synchronized, conn: Any, stop: Any) -> None:
    standin = StandinMoodle(world, token=token, cost=cost)
    handle = standin.handle

    def counted(path: str, fields: list[tuple[str, str]]) -> tuple[int, bytes]:
        with counter.get_lock():
            counter.value += 1
        return handle(path, fields)

    standin.handle = counted  # type: ignore[method-assign]
    with standin:
        conn.send(standin.url)
        stop.wait()


class StandinProcess:
    """`with StandinProcess(world, cost) as server:` → server.url, server.token, server.requests."""

    def __init__(self, world: World, cost: CostModel) -> None:
        self.token = secrets.token_hex(16)
        ctx = mp.get_context("fork")
        self._counter: Synchronized = ctx.Value("q", 0)
        self._stop = ctx.Event()
        parent, child = ctx.Pipe()
        self._conn = parent
        self._process = ctx.Process(
            target=_serve,
            args=(world, self.token, cost, self._counter, child, self._stop),
            name="bench-standin",
            daemon=True,
        )
        self.url = ""

    @property
    def requests(self) -> int:
        return int(self._counter.value)

    def __enter__(self) -> StandinProcess:
        self._process.start()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError("the stand-in Moodle did not start within 60 s")
        self.url = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
