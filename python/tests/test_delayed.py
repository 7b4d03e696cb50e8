"""brickwork.delayed against plain Python evaluation and dask.delayed."""

from __future__ import annotations

import operator
import os
import threading

import dask
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import brickwork
import brickwork.array as da
from brickwork import delayed
from brickwork.delayed import Delayed

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.floordiv,
    operator.mod,
    operator.and_,
    operator.or_,
    operator.xor,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
    operator.eq,
    operator.ne,
]
UNARY = [operator.neg, operator.pos, operator.abs, operator.invert]


@st.composite
def expressions(draw, depth=3):
    """(a Delayed, its value computed eagerly) of random arithmetic on small ints."""
    if depth == 0 or draw(st.booleans()):
        n = draw(st.integers(-20, 20))
        wrap = draw(st.sampled_from(["leaf", "call", "plain"]))
        if wrap == "leaf":
            return delayed(n), n
        if wrap == "call":
            return delayed(int)(n), n
        return n, n
    if draw(st.booleans()):
        op = draw(st.sampled_from(UNARY))
        d, v = draw(expressions(depth - 1))
        if not isinstance(d, Delayed):
            d = delayed(d)
        return op(d), op(v)
    op = draw(st.sampled_from(BINARY))
    (d1, v1), (d2, v2) = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    if op in (operator.floordiv, operator.mod) and v2 == 0:
        d2, v2 = 7, 7
    if not isinstance(d1, Delayed) and not isinstance(d2, Delayed):
        d1 = delayed(d1)
    return op(d1, d2), op(v1, v2)


@given(expr=expressions(), scheduler=st.sampled_from(["threads", "sync"]))
def test_operators_match_python(expr, scheduler):
    d, expected = expr
    assert delayed(d).compute(scheduler=scheduler) == expected


@given(values=st.lists(st.integers(-100, 100), max_size=12), split=st.integers(1, 4))
def test_map_reduce_matches_dask_delayed(values, split):
    def build(wrap):
        square = wrap(lambda v: v * v)
        partial = wrap(sum)
        parts = [partial([square(v) for v in values[i::split]]) for i in range(split)]
        return wrap(max)(parts) if values else wrap(len)(parts)

    assert build(delayed).compute() == build(dask.delayed).compute(scheduler="sync")


def test_attributes_methods_items_and_containers():
    arr = delayed(np.arange)(12)
    assert arr.shape.compute() == (12,)
    assert arr.reshape(3, 4)[1, 2].compute() == 6
    assert arr.sum().compute() == 66
    assert (arr * 2)[5].compute() == 10
    assert delayed([1, delayed(2), (delayed(3), {"k": delayed(4)})]).compute() == [
        1,
        2,
        (3, {"k": 4}),
    ]
    assert delayed({"a": delayed(len)("abc")}).compute() == {"a": 3}
    point = delayed(complex)(3, 4)
    assert point.real.compute() == 3.0
    assert abs(point).compute() == 5.0
    hidden = delayed([delayed(1)], traverse=False).compute()
    assert isinstance(hidden[0], Delayed)


def test_keys_purity_and_shared_work_runs_once():
    calls = []
    lock = threading.Lock()

    @delayed(pure=True)
    def work(v):
        with lock:
            calls.append(v)
        return v * 10

    assert work(1).key == work(1).key
    assert work(1).key != work(2).key
    assert delayed(abs)(1).key != delayed(abs)(1).key  # impure by default
    assert delayed(abs, pure=True)(-1).key == delayed(abs, pure=True)(-1).key
    assert delayed(abs)(-1, dask_key_name="mine").key == "mine"
    shared = work(3)
    total = delayed(sum)([shared, shared + 1, work(3) * 2])
    assert total.compute() == 30 + 31 + 60
    assert calls == [3]
    assert brickwork.compute(work(4), work(4)) == (40, 40)
    assert calls == [3, 4]


def test_nout_iteration_truth_and_immutability():
    q, r = delayed(divmod, nout=2)(17, 5)
    assert (q.compute(), r.compute()) == (3, 2)
    assert len(delayed(divmod, nout=2)(1, 1)) == 2
    single = delayed(abs)(-1)
    with pytest.raises(TypeError, match="not iterable"):
        iter(single)
    with pytest.raises(TypeError, match="no len"):
        len(single)
    with pytest.raises(TypeError, match="Truth"):
        bool(single)
    with pytest.raises(TypeError, match="immutable"):
        single.value = 1
    with pytest.raises(TypeError, match="immutable"):
        single[0] = 1
    with pytest.raises(AttributeError):
        single._hidden  # noqa: B018


def test_independent_calls_run_in_parallel_on_threads():
    barrier = threading.Barrier(3, timeout=10)

    @delayed
    def meet(i):
        barrier.wait()  # only returns if three calls run at the same time
        return i

    assert delayed(sum)([meet(i) for i in range(3)]).compute(num_threads=3) == 3
    main = threading.get_ident()
    where = delayed(lambda: threading.get_ident())().compute(scheduler="sync")
    assert where == main


def test_processes_scheduler_runs_calls_in_workers():
    @delayed
    def pid_and_square(v):
        return os.getpid(), v * v

    results = delayed(list)([pid_and_square(i) for i in range(6)]).compute(
        scheduler="processes", num_threads=2
    )
    assert [sq for _, sq in results] == [i * i for i in range(6)]
    assert os.getpid() not in {pid for pid, _ in results}

    @delayed
    def fail(v):
        raise KeyError(v)

    with pytest.raises(KeyError):
        fail(1).compute(scheduler="processes", num_threads=2)


def test_errors_propagate_and_stop_dependents():
    ran = []

    @delayed
    def fail(v):
        raise ZeroDivisionError("boom")

    @delayed
    def after(v):
        ran.append(v)
        return v

    with pytest.raises(ZeroDivisionError, match="boom"):
        after(fail(1)).compute()
    assert ran == []
    with pytest.raises(ValueError, match="scheduler"):
        delayed(abs)(1).compute(scheduler="cluster")


def test_arrays_in_arguments_are_computed_first_together():
    x = np.arange(12.0).reshape(3, 4)
    a = da.from_array(x, chunks=2)
    calls = []

    def traced(b):
        calls.append(b.shape)
        return b * 2

    doubled = a.map_blocks(traced)
    total = delayed(np.sum)(doubled)
    rows = delayed(lambda m: m.sum(axis=1))(doubled)
    calls.clear()
    got_total, got_rows, plain = brickwork.compute(total, rows, "text")
    assert got_total == (x * 2).sum()
    np.testing.assert_array_equal(got_rows, (x * 2).sum(axis=1))
    assert plain == "text"
    assert len(calls) == a.npartitions  # the array both calls use was computed once
    got_total, got_mean, nested = brickwork.compute(total, doubled.mean(), [{"d": total}, a[0]])
    assert got_total == (x * 2).sum() and got_mean == (x * 2).mean()
    assert nested[0]["d"] == got_total
    np.testing.assert_array_equal(nested[1], x[0])
    assert delayed(a).compute().tolist() == x.tolist()


def test_persist_and_decorator_forms():
    @delayed()
    def plus(a, b=1):
        return a + b

    value = plus(1, b=5).persist()
    assert isinstance(value, Delayed) and value.compute() == 6
    leaf = delayed(plus)
    assert leaf is plus
    assert delayed(None).compute() is None
    assert repr(plus(1)).startswith("Delayed('plus-")


def test_calls_run_on_the_engine_with_progress_and_their_own_errors():
    seen = []

    @delayed
    def inc(v):
        return v + 1

    total = delayed(sum)([inc(i) for i in range(10)])
    assert total.compute(progress=lambda done, n: seen.append((done, n))) == 55
    # 10 calls of inc and one of sum, reported by the executor as tasks.
    assert seen and seen[-1] == (11, 11)
    assert total.compute(scheduler="sync", progress=lambda d, n: seen.append((d, n))) == 55
    assert seen[-1] == (11, 11)

    # Two threads computing at once each get their own exception.
    @delayed
    def fail(kind, v):
        raise kind(v)

    errors = {}

    def run(kind):
        try:
            fail(kind, 1).compute(num_threads=2)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            errors[kind] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in (KeyError, IndexError) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert type(errors[KeyError]) is KeyError
    assert type(errors[IndexError]) is IndexError
