"""Float64 sums are at least as accurate as NumPy's pairwise summation (issue 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork.array as da

N = 10**6


def _wide_range_data(seed):
    """10**6 float64 values spanning 16 orders of magnitude, of both signs."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(N) * 10.0 ** rng.uniform(-8, 8, N)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("chunks", ["auto", 1000, 65_539, 7])
def test_float64_sum_error_is_at_most_numpys(seed, chunks):
    x = _wide_range_data(seed)
    exact = math.fsum(x)
    tiny = 4 * float(np.spacing(abs(exact)))
    numpy_error = abs(float(np.sum(x)) - exact)
    ours = float(da.from_array(x, chunks=chunks).sum().compute())
    assert abs(ours - exact) <= numpy_error + tiny, (ours, exact, numpy_error)


@pytest.mark.parametrize("chunks", ["auto", 1000])
def test_float64_mean_error_is_at_most_numpys(chunks):
    x = _wide_range_data(3)
    exact = math.fsum(x) / N
    tiny = 4 * float(np.spacing(abs(exact)))
    numpy_error = abs(float(np.mean(x)) - exact)
    ours = float(da.from_array(x, chunks=chunks).mean().compute())
    assert abs(ours - exact) <= numpy_error + tiny, (ours, exact, numpy_error)


def test_sum_of_many_small_values_onto_a_large_one():
    # Naive left-to-right summation loses every 1.0 added to 2**53.
    x = np.ones(N)
    x[0] = 2.0**53
    exact = math.fsum(x)
    numpy_error = abs(float(np.sum(x)) - exact)
    for chunks in ("auto", 4096):
        ours = float(da.from_array(x, chunks=chunks).sum().compute())
        assert abs(ours - exact) <= numpy_error + 4, (chunks, ours, exact)
