"""explain(): the optimized plan as text shows fusion, shared work and culling."""

from __future__ import annotations

import numpy as np
import pytest

import brickwork
import brickwork.array as da


def test_a_fused_chain_is_one_partial_stage_with_all_its_operations():
    x = da.from_array(np.ones((100, 100)), chunks=50)
    y = da.from_array(np.ones((100, 100)), chunks=50)
    text = da.sqrt(x**2 + y**2).mean().explain()
    assert text.count("partial mean") == 1
    for op in ("square", "add", "sqrt"):
        assert op in text
    assert "pow" not in text  # x**2 became square


def test_sibling_reductions_share_a_stage_and_culled_tasks_are_counted():
    x = da.from_array(np.ones((1000, 100)), chunks=(10, 100))
    text = brickwork.explain(x.mean(), x.std())
    assert "partial mean + std" in text or "partial std + mean" in text
    head = x.sum(axis=1)[:5]
    assert "culled" in head.explain()


def test_explain_needs_an_array():
    with pytest.raises(TypeError):
        brickwork.explain(np.ones(3))
