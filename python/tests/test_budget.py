"""The memory budget: refused before any work starts, with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

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
