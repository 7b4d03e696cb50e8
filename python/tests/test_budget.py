"""The memory budget: refused before any work starts, with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest
from _support import explicit_chunks
from hypothesis import given
from hypothesis import strategies as st

import brickwork
import brickwork.array as da


def test_a_result_larger_than_the_budget_raises_before_running():
    huge = da.ones((10**6, 1000), chunks=(10**4, 1000)) * 2  # 7.45 GiB of float64
    with brickwork.config.set(memory_limit="1GiB"):
        with pytest.raises(
            brickwork.MemoryBudgetError, match=r"output 0 of shape \(1000000, 1000\)"
        ):
            huge.compute()
        with pytest.raises(MemoryError, match="to_npy"):
            huge.compute()


def test_a_streaming_reduction_of_the_same_array_fits_a_small_budget():
    x = da.ones((10**5, 1000), chunks=(10**4, 1000))
    with brickwork.config.set(memory_limit="64MiB"):
        np.testing.assert_allclose(x.mean(axis=0).compute(), np.ones(1000))


def test_storing_into_a_memory_map_does_not_count_the_output(tmp_path):
    x = da.ones((2000, 1000), chunks=500) * 3  # 15.3 MiB
    with brickwork.config.set(memory_limit="4MiB"):
        with pytest.raises(brickwork.MemoryBudgetError):
            x.compute()
        da.to_npy(x, tmp_path / "x.npy")
    assert float(np.load(tmp_path / "x.npy", mmap_mode="r")[-1, -1]) == 3.0


def test_memory_limit_setting_is_validated_and_defaults_to_a_fraction_of_ram():
    assert brickwork.config.get("memory_limit") > 0
    with brickwork.config.set(memory_limit=None):
        assert brickwork.config.get("memory_limit") is None
    with brickwork.config.set(memory_limit=0.5):
        assert brickwork.config.get("memory_limit") > 0
    with pytest.raises(ValueError, match="memory_limit"):
        brickwork.config.set(memory_limit=1.5)
    with pytest.raises(ValueError, match="memory_limit"):
        brickwork.config.set(memory_limit="lots")


def _used_twice(x):
    """An expression whose map_blocks result (an intermediate array) is read twice."""
    z = x.map_blocks(lambda b: b * 2 + 1)
    return (z - z.mean(axis=0)).std(axis=0)


def test_intermediates_over_the_budget_are_spilled_and_leave_nothing_behind(tmp_path):
    x = np.random.default_rng(0).random((4000, 1000))  # 30.5 MiB
    expected = (x * 2 + 1).std(axis=0)
    with brickwork.config.set(memory_limit="16MiB", temporary_directory=str(tmp_path)):
        got = _used_twice(da.from_array(x, chunks=(250, 1000))).compute()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert list(tmp_path.iterdir()) == []  # the spill file never had a name


def test_temporary_directory_is_validated(tmp_path):
    with pytest.raises(ValueError, match="temporary_directory"):
        brickwork.config.set(temporary_directory=str(tmp_path / "missing"))


_SPILL_SCRIPT = """
import sys, numpy as np, brickwork, brickwork.array as da
sys.path.insert(0, {tests!r})
from test_budget import _used_twice
x = da.ones((32000, 2000), chunks=(500, 2000)) * np.float64(3)   # 488 MiB
with brickwork.config.set(memory_limit="{limit}"):
    r = _used_twice(x).compute()
assert np.allclose(r, 0.0), r[:4]
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def _peak_mib(limit: str) -> int:
    import os
    import subprocess
    import sys

    tests = os.path.dirname(os.path.abspath(__file__))
    script = _SPILL_SCRIPT.format(tests=tests, limit=limit)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def test_a_spilled_computation_holds_its_budget():
    # The 488 MiB intermediate is read twice: in memory the peak is above it; spilled
    # the process stays far below (peak RSS, VmHWM, counts mapped file pages too).
    spilled = _peak_mib("128MiB")
    in_memory = _peak_mib("8GiB")
    assert in_memory > 488
    assert spilled < 128 + 256, (spilled, in_memory)


def _overlaps(spans):
    """The largest number of (start, end) spans open at one time."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def _holding_calls(limit):
    """Run 6 blocks of a function that holds 96 MiB for 0.15 s, on 2 threads; the spans
    of its calls in order of start."""
    import threading
    import time

    spans = []
    lock = threading.Lock()

    def hold(block):
        start = time.monotonic()
        scratch = np.ones(96 << 17)  # 96 MiB, touched
        time.sleep(0.15)
        out = block + scratch[:1]
        with lock:
            spans.append((start, time.monotonic()))
        return out

    x = da.arange(6, chunks=1).astype("float64")
    with brickwork.config.set(memory_limit=limit, num_threads=2):
        got = da.map_blocks(hold, x, dtype="float64").compute()
        np.testing.assert_array_equal(got, np.arange(6) + 1.0)
    return sorted(spans)


def test_sources_wait_while_measured_memory_is_over_the_budget():
    # Each call holds 96 MiB that the plan cannot see. With a 128 MiB budget, once a
    # call has been measured holding it, no two calls run at once; the first two may
    # start together (nothing had been measured yet).
    spans = _holding_calls("128MiB")
    after_first = [s for s in spans if s[0] >= spans[0][1]]
    assert len(after_first) >= 4
    assert _overlaps(after_first) == 1, spans
    # With room for both, the two threads do run calls at the same time.
    assert _overlaps(_holding_calls("4GiB")) == 2


@given(data=st.data())
def test_spilled_intermediates_read_back_in_any_grid(data, tmp_path_factory):
    # A concatenation is materialized; under a budget smaller than it, it is spilled,
    # laid out in the blocks its reader uses, and read back through another chunking.
    x = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed")).random((90, 70))
    first = data.draw(st.tuples(explicit_chunks(90), explicit_chunks(70)), label="parts")
    second = data.draw(st.tuples(explicit_chunks(180), explicit_chunks(70)), label="read")
    a = da.from_array(x, chunks=first)
    both = da.concatenate([a, a * 2], axis=0).rechunk(second)
    tmp = tmp_path_factory.mktemp("spill")
    with brickwork.config.set(memory_limit="96KiB", temporary_directory=str(tmp), num_threads=2):
        got = (both + 1).sum(axis=0).compute()
    np.testing.assert_allclose(got, (np.concatenate([x, x * 2]) + 1).sum(axis=0), rtol=1e-12)

