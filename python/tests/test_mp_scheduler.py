"""compute(scheduler="processes"): map_blocks functions run in pool worker processes,
compared with NumPy applied to the whole array."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _support import arrays, chunk_specs
from hypothesis import given, settings
from hypothesis import strategies as st

import brickwork
import brickwork.array as da

shapes = st.lists(st.integers(0, 6), min_size=1, max_size=2).map(tuple)


def _pid_block(block: np.ndarray) -> np.ndarray:
    return np.full(block.shape, os.getpid(), dtype=np.int64)


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_processes_scheduler_matches_numpy(data):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    got = da.from_array(x, chunks=chunks).map_blocks(lambda b: b * 2 + 1).compute(scheduler="processes")
    np.testing.assert_array_equal(got, x * 2 + 1, strict=True)


def test_blocks_run_in_other_processes_and_large_blocks_cross_intact():
    x = np.arange(4_000_000, dtype=np.float64).reshape(2000, 2000)
    a = da.from_array(x, chunks=(500, 2000))
    pids = a.map_blocks(_pid_block, dtype=np.int64).compute(scheduler="processes")
    assert os.getpid() not in set(np.unique(pids))
    total = a.map_blocks(np.sqrt).sum().compute(scheduler="processes")
    assert total == pytest.approx(np.sqrt(x).sum(), rel=1e-12)


def test_scheduler_setting_and_bad_values():
    x = np.ones((4, 4))
    with brickwork.config.set(scheduler="processes"):
        pids = da.from_array(x, chunks=2).map_blocks(_pid_block, dtype=np.int64).compute()
    assert os.getpid() not in set(np.unique(pids))
    with pytest.raises(ValueError, match="scheduler"):
        da.from_array(x).compute(scheduler="cluster")
    with pytest.raises(ValueError, match="scheduler"):
        brickwork.config.set(scheduler="gpu")


def test_a_failing_block_raises_its_exception_with_the_remote_traceback():
    def bad(block):
        raise ValueError("no such block")

    with pytest.raises(ValueError, match="no such block") as info:
        da.from_array(np.ones(4), chunks=2).map_blocks(bad, dtype=float).compute(scheduler="processes")
    assert "no such block" in str(info.value.__cause__)
