"""The garbage collector during a sync (issue 17): off while batches are built, cycles collected between them."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

from intensive_tracker.sync import engine as sync_engine
from intensive_tracker.sync.collector import after_batch, collect_between_batches
from tests.synckit import demo_world, standin, sync_in_process, write_config


class _Node:
    other: Any = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_collector_is_off_in_the_block_and_back_on_after_it_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collect_between_batches():
        assert not gc.isenabled()
        raise RuntimeError("a failed run")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collect_between_batches():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_left_by_a_batch_goes_after_the_batch() -> None:
    with collect_between_batches():
        left = _cycle()
        assert left() is not None  # no automatic collection within the block
        after_batch()
        assert left() is None


def test_a_sync_collects_after_every_written_batch(tmp_path: Path, db_url: str, monkeypatch: Any) -> None:
    """Each committed cohort is followed by a young collection while automatic collection is off."""
    states: list[bool] = []
    monkeypatch.setattr(sync_engine, "after_batch", lambda: states.append(gc.isenabled()))
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        report = sync_in_process(config)
    assert report.status == "ok" and states == [False] * report.cohorts_ok
    assert gc.isenabled()
