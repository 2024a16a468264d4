"""The garbage collector during a sync: automatic collection off, one young collection after each batch.

A cohort batch is hundreds of thousands of small objects (marks, people, rows) alive until it is written.
The automatic collector traversed each of them several times as they moved through its generations, and the
fetch threads paid it while holding the GIL (issue 17, factor 1 on SQLite: 2.0 s of a 7.3 s no-op sync, 1.9 s
of a 10.6 s full one). Objects freed by reference counting go at once either way; only reference cycles
wait, until the collection of the young generation after their batch, or the automatic collections again
once the run ends. No full collection is forced: it would traverse the whole heap of a long-lived process
(the daemon's, the benchmark's), which cost more than the sync's own young objects (5 M other objects: +1.6 s).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collect_between_batches() -> Iterator[None]:
    """Automatic collection off within the block (unless already off), on again when it ends."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def after_batch() -> None:
    """The young generation collected: the cycles a batch left behind go now, not at the end of the run."""
    gc.collect(0)
