"""compute(progress=True) draws a progress bar on stderr that ends at the task total."""

from __future__ import annotations

import re

import numpy as np

import brickwork
import brickwork.array as da


def _final_counts(stderr):
    """(done, total) from the last state of the bar (it may redraw with carriage returns)."""
    frames = [f for f in re.split(r"[\r\n]+", stderr) if f.strip()]
    assert frames, "no progress output on stderr"
    pairs = re.findall(r"(\d+)\s*/\s*(\d+)", frames[-1])
    assert pairs, f"no 'done/total' in the final progress line: {frames[-1]!r}"
    done, total = pairs[-1]
    return int(done), int(total)


def test_progress_bar_goes_to_stderr_and_ends_with_the_total(capfd):
    data = np.arange(10_000.0)
    x = da.from_array(data, chunks=100)
    result = (x + 1).sum().compute(progress=True)
    assert float(result) == float((data + 1).sum())
    captured = capfd.readouterr()
    done, total = _final_counts(captured.err)
    assert done == total
    assert total >= x.npartitions
    assert "/" not in captured.out


def test_no_progress_output_by_default(capfd):
    x = da.from_array(np.arange(1000.0), chunks=10)
    x.sum().compute()
    assert capfd.readouterr().err == ""


def test_progress_config_switch_and_brickwork_compute(capfd):
    x = da.from_array(np.arange(1000.0), chunks=10)
    with brickwork.config.set(progress=True):
        x.sum().compute()
    done, total = _final_counts(capfd.readouterr().err)
    assert done == total >= 100
    a, b = brickwork.compute(x.sum(), x.max(), progress=True)
    assert float(a) == float(np.arange(1000.0).sum()) and float(b) == 999.0
    done, total = _final_counts(capfd.readouterr().err)
    assert done == total >= 100
    x.sum().compute()
    assert capfd.readouterr().err == ""
