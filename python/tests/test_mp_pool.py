"""brickwork.multiprocessing.Pool against the standard library.

Results are compared with the builtin ``map`` (and ``itertools.starmap``) over
Hypothesis-generated inputs; API semantics (callbacks, ``AsyncResult``, misuse errors)
are compared with the standard library's pool, whose logic ``multiprocessing.pool.
ThreadPool`` shares and runs without starting processes. brickwork's additions
(crash isolation, task timeouts, retries, shared-memory arrays, Ctrl-C, progress bars)
are checked against their documented behaviour, with processes observed through
``/proc`` (psutil).

Most tests share one module-scoped two-process pool; tests that need options, or
that end a pool, make their own.
"""

from __future__ import annotations

import builtins
import ctypes
import functools
import itertools
import multiprocessing
import multiprocessing.pool
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from brickwork import _core
from brickwork.multiprocessing import (
    Pool,
    PoolError,
    RemoteTraceback,
    TimeoutError,
    WorkerLostError,
)

# ---- task functions (module level: workers import this module) -----------------------


def _tag(x):
    return ("tag", x)


def _swap(*args):
    return args[::-1]


def _square(x):
    return x * x


def _slow_square(x):
    time.sleep(0.05)
    return x * x


def _raise_value(x):
    raise ValueError(f"bad value {x!r}")


class CustomError(Exception):
    """A picklable exception class of this module, with an extra attribute."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code


def _raise_custom(code):
    raise CustomError(code, "custom failure")


class UnpicklableArgsError(Exception):
    """Pickles, but cannot be rebuilt: ``__init__`` takes two arguments, ``args`` has one."""

    def __init__(self, a, b):
        super().__init__(f"{a}-{b}")


def _raise_unpicklable_args(a, b):
    raise UnpicklableArgsError(a, b)


class LockHoldingError(Exception):
    """Cannot be pickled at all: it holds a lock."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def _raise_lock_holding(message):
    raise LockHoldingError(message)


def _fail_on(x, bad):
    if x in bad:
        raise ValueError(f"bad item {x}")
    return x


def _fail_on_6(x):
    return _fail_on(x, (6,))


def _fail_first_else_sleep(x):
    if x == 0:
        raise ValueError("item 0 failed")
    time.sleep(0.05)
    return x


def _fail_first_else_log(x, log):
    if x == 0:
        raise ValueError("item 0 failed")
    with open(log, "a") as f:
        f.write(f"{x}\n")
    time.sleep(0.05)
    return x


def _slow_before_failure(x):
    # Item 4 is slow and every later item fails at once: while item 4 runs, the other
    # worker's failures arrive.
    time.sleep(0.4 if x == 4 else 0.01)
    if x >= 5:
        raise ValueError(f"item {x} failed")
    return x


def _crash(kind, marker):
    Path(marker).write_text(repr(time.time()))
    if kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "exit":
        os._exit(7)
    elif kind == "segfault":
        ctypes.string_at(0)
    time.sleep(5)
    return "survived"


def _crash_first_time(marker):
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed once")
        os._exit(3)
    return "second attempt"


def _always_crash(log):
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    os._exit(5)


def _pid_and_sleep(path, seconds):
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)


_INIT_VALUE = "not initialized"


def _init(log, value):
    global _INIT_VALUE
    _INIT_VALUE = value
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")


def _init_value(_):
    return os.getpid(), _INIT_VALUE


def _init_value_again(_):
    return os.getpid(), _INIT_VALUE


def _array_sum(a):
    return int(a.sum())


def _writeable(a):
    return bool(a.flags.writeable)


def _sleep_then_sum(a):
    time.sleep(0.3)
    return int(a.sum())


def _array_then_fail(a):
    raise ValueError(f"failed on an array of {a.nbytes} bytes")


def _array_then_exit(a):
    os._exit(9)


def _make_array(n):
    return np.arange(n, dtype=np.int64) * 2


def _make_closure(k):
    def add_k(x):
        return ("closure", k, x)

    return add_k


class Scaler:
    """A callable object with state (pickled by reference to its class)."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor


_LAMBDA = lambda x: ("lambda", x)  # noqa: E731 - a module-level lambda is pickled by value

# ---- helpers --------------------------------------------------------------------------


def _alive(pid):
    """Whether ``pid`` is a running process (a zombie counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_dead(pids, timeout=5.0):
    """Wait until none of ``pids`` runs; return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def _wait_pids(pool, count=None, exclude=(), timeout=5.0):
    """Wait until the pool lists ``count`` workers, none of them in ``exclude``."""
    count = pool._processes if count is None else count
    deadline = time.monotonic() + timeout
    while True:
        pids = pool.pids
        if len(pids) == count and not set(pids) & set(exclude):
            return pids
        if time.monotonic() > deadline:
            raise AssertionError(
                f"pool lists workers {pids}, wanted {count} not in {list(exclude)}"
            )
        time.sleep(0.01)


def _pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def _settle(pool, timeout=10.0):
    """Wait until every worker is idle: a batch of one slow task per worker runs on as
    many distinct workers (a busy worker's tasks would queue behind its work)."""
    n = pool._processes
    deadline = time.monotonic() + timeout
    while len(set(pool.map(_pid_after, [0.1] * n, chunksize=1))) < n:
        assert time.monotonic() < deadline, "the pool's workers stay busy"


def _wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _traceback_line(func, needle):
    """The ``line N, in func`` of the first source line of ``func`` containing ``needle``."""
    import inspect

    lines, first = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if needle in line:
            return f"line {first + offset}, in {func.__name__}"
    raise AssertionError(f"{needle!r} not in {func.__name__}")


def _shm_entries():
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


def _shm_mappings(pid):
    """``/dev/shm`` files that process ``pid`` maps or holds open."""
    found = set()
    try:
        with open(f"/proc/{pid}/maps") as f:
            found.update(line.split(maxsplit=5)[5].strip() for line in f if "/dev/shm/" in line)
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("/dev/shm/"):
                found.add(target)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _run_script(script, timeout=60):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    p = Pool(2)
    yield p
    p.terminate()


@pytest.fixture()
def thread_pool():
    """The standard library's pool logic, without processes: the reference for API semantics."""
    p = multiprocessing.pool.ThreadPool(2)
    yield p
    p.terminate()
    p.join()


# ---- strategies -------------------------------------------------------------------------

_scalars = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=6))
_nested = st.recursive(
    _scalars,
    lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
)
ITEMS = st.one_of(
    st.lists(st.integers(), max_size=40),
    st.lists(st.floats(allow_nan=False), max_size=40),
    st.lists(st.text(max_size=8), max_size=40),
    st.lists(_nested, max_size=20),
)
ARG_TUPLES = st.lists(st.lists(_nested, max_size=3).map(tuple), max_size=25)
CHUNKSIZES = st.sampled_from([None, 1, 2, 7, "larger"])
FUNCTIONS = st.sampled_from(["module", "lambda", "closure"])


def _chunksize(chunk, items):
    return len(items) + 5 if chunk == "larger" else chunk


def _function(kind):
    if kind == "module":
        return _tag
    if kind == "lambda":
        return _LAMBDA
    return _make_closure(42)


def _chunk_kwargs(chunk, items):
    size = _chunksize(chunk, items)
    return {} if size is None else {"chunksize": size}


# ---- results equal builtin map ----------------------------------------------------------


@given(items=ITEMS, chunk=CHUNKSIZES, kind=FUNCTIONS, as_iterator=st.booleans())
@example(items=[], chunk=None, kind="module", as_iterator=False)
@example(items=[], chunk=1, kind="lambda", as_iterator=True)
def test_map_matches_builtin(pool, items, chunk, kind, as_iterator):
    func = _function(kind)
    source = iter(items) if as_iterator else items
    assert pool.map(func, source, **_chunk_kwargs(chunk, items)) == list(map(func, items))


@given(items=ITEMS, chunk=CHUNKSIZES, kind=FUNCTIONS)
@example(items=[], chunk=None, kind="module")
def test_map_async_matches_builtin(pool, items, chunk, kind):
    func = _function(kind)
    result = pool.map_async(func, items, **_chunk_kwargs(chunk, items))
    assert result.get(timeout=30) == list(map(func, items))
    assert result.ready() and result.successful()


@given(items=ITEMS, chunk=CHUNKSIZES, as_iterator=st.booleans(), kind=FUNCTIONS)
@example(items=[], chunk=None, as_iterator=False, kind="module")
@example(items=[], chunk=1, as_iterator=True, kind="module")
def test_imap_matches_builtin_in_order(pool, items, chunk, as_iterator, kind):
    func = _function(kind)
    source = iter(items) if as_iterator else items
    assert list(pool.imap(func, source, **_chunk_kwargs(chunk, items))) == list(map(func, items))


@given(items=ITEMS, chunk=CHUNKSIZES, as_iterator=st.booleans(), kind=FUNCTIONS)
@example(items=[], chunk=None, as_iterator=False, kind="module")
def test_imap_unordered_matches_builtin_as_multiset(pool, items, chunk, as_iterator, kind):
    func = _function(kind)
    source = iter(items) if as_iterator else items
    got = list(pool.imap_unordered(func, source, **_chunk_kwargs(chunk, items)))
    assert Counter(map(repr, got)) == Counter(map(repr, map(func, items)))


@given(args=ARG_TUPLES, chunk=CHUNKSIZES)
@example(args=[], chunk=None)
@example(args=[(), (1,), (1, "a", (2.5, "b"))], chunk=2)
def test_starmap_matches_builtin(pool, args, chunk):
    assert pool.starmap(_swap, args, **_chunk_kwargs(chunk, args)) == list(
        itertools.starmap(_swap, args)
    )
    assert pool.starmap(_swap, iter(args), **_chunk_kwargs(chunk, args)) == list(
        itertools.starmap(_swap, args)
    )


@given(args=ARG_TUPLES, chunk=CHUNKSIZES)
@example(args=[], chunk=None)
def test_starmap_async_matches_builtin(pool, args, chunk):
    result = pool.starmap_async(_swap, args, **_chunk_kwargs(chunk, args))
    assert result.get(timeout=30) == list(itertools.starmap(_swap, args))


@given(items=st.lists(_nested, max_size=8), kind=FUNCTIONS)
@example(items=[], kind="module")
def test_apply_matches_builtin(pool, items, kind):
    func = _function(kind)
    assert [pool.apply(func, (x,)) for x in items] == list(map(func, items))


@given(args=ARG_TUPLES)
@example(args=[])
def test_apply_async_matches_builtin(pool, args):
    results = [pool.apply_async(_swap, a) for a in args]
    assert [r.get(timeout=30) for r in results] == list(itertools.starmap(_swap, args))


def test_apply_passes_keyword_arguments(pool, thread_pool):
    for p in (thread_pool, pool):
        assert p.apply(int, ("ff",), {"base": 16}) == 255
        assert p.apply_async(int, ("11",), {"base": 2}).get(timeout=30) == 3
        assert p.apply(_swap) == ()


def test_closure_capturing_local_state(pool):
    offset = 1000
    table = {i: str(i) for i in range(5)}
    items = list(range(5))
    got = pool.map(lambda x: (table[x], x + offset), items)
    assert got == [(table[x], x + offset) for x in items]


def test_distinct_closures_and_callable_objects(pool):
    items = list(range(6))
    for k in (1, 2, 3):
        f = _make_closure(k)
        assert pool.map(f, items) == list(map(f, items))
    assert pool.map(Scaler(2), items) == list(map(Scaler(2), items))
    assert pool.map(Scaler(5), items) == list(map(Scaler(5), items))


@pytest.mark.parametrize("kind", ["callable object", "closure"])
def test_function_state_changed_between_calls(pool, kind):
    items = list(range(6))
    if kind == "callable object":
        func = Scaler(2)

        def change():
            func.factor = 7

    else:
        state = {"k": 2}
        func = lambda x: x * state["k"]  # noqa: E731

        def change():
            state["k"] = 7

    assert pool.map(func, items) == list(map(func, items))
    change()
    assert pool.map(func, items) == list(map(func, items))


# ---- callbacks and AsyncResult -------------------------------------------------------------


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
def test_callbacks_called_exactly_once(which, pool, thread_pool):
    p = thread_pool if which == "stdlib" else pool
    values, errors = [], []
    ok = p.apply_async(_square, (7,), callback=values.append, error_callback=errors.append)
    mapped = p.map_async(
        _square, range(10), chunksize=3, callback=values.append, error_callback=errors.append
    )
    assert ok.get(timeout=30) == 49
    assert mapped.get(timeout=30) == [x * x for x in range(10)]
    assert _wait_until(lambda: len(values) >= 2)
    time.sleep(0.2)
    assert sorted(values, key=repr) == sorted([49, [x * x for x in range(10)]], key=repr)
    assert errors == []

    values.clear()
    bad = p.apply_async(_raise_value, (1,), callback=values.append, error_callback=errors.append)
    several = functools.partial(_fail_on, bad=(3, 6, 9, 12))
    bad_map = p.map_async(
        several, range(20), 1, callback=values.append, error_callback=errors.append
    )
    with pytest.raises(ValueError, match="bad value 1") as raised:
        bad.get(timeout=30)
    with pytest.raises(ValueError, match=r"bad item (3|6|9|12)") as raised_map:
        bad_map.get(timeout=30)
    assert _wait_until(lambda: len(errors) >= 2)
    time.sleep(0.2)
    assert values == []
    assert len(errors) == 2
    assert any(e is raised.value for e in errors)
    assert any(e is raised_map.value for e in errors)


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
def test_callback_has_run_when_get_returns(which, pool, thread_pool):
    p = thread_pool if which == "stdlib" else pool
    calls = []

    def slow_callback(value):
        time.sleep(0.3)
        calls.append(value)

    assert p.apply_async(_square, (3,), callback=slow_callback).get(timeout=30) == 9
    assert calls == [9]
    errors = []

    def slow_error_callback(error):
        time.sleep(0.3)
        errors.append(error)

    with pytest.raises(ValueError):
        p.apply_async(_raise_value, (2,), error_callback=slow_error_callback).get(timeout=30)
    assert len(errors) == 1


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
def test_async_result_states(which, pool, thread_pool):
    p = thread_pool if which == "stdlib" else pool
    result = p.apply_async(time.sleep, (0.6,))
    assert not result.ready()
    with pytest.raises(ValueError):
        result.successful()
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.05)
    if which == "brickwork":
        with pytest.raises(TimeoutError):  # brickwork's, a builtin TimeoutError as well
            result.get(timeout=0.05)
        with pytest.raises(builtins.TimeoutError):
            result.get(timeout=0.05)
    start = time.monotonic()
    assert result.wait(0.05) is None
    assert time.monotonic() - start < 0.5
    assert not result.ready()
    result.wait()
    assert result.ready()
    assert result.successful()
    assert result.get() is None

    failing = p.apply_async(_raise_value, (5,))
    failing.wait(30)
    assert failing.ready()
    assert not failing.successful()
    with pytest.raises(ValueError, match="bad value 5"):
        failing.get()


def test_timeout_error_classes():
    assert issubclass(TimeoutError, multiprocessing.TimeoutError)
    assert issubclass(TimeoutError, builtins.TimeoutError)


def test_map_async_get_timeout(pool):
    result = pool.map_async(time.sleep, [0.4, 0.4], chunksize=1)
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.05)
    assert result.get(timeout=30) == [None, None]


def test_imap_next_timeout(pool):
    it = pool.imap(time.sleep, [0.4])
    with pytest.raises(multiprocessing.TimeoutError):
        it.next(timeout=0.05)
    assert it.next(timeout=30) is None
    with pytest.raises(StopIteration):
        next(it)


# ---- exceptions ---------------------------------------------------------------------------


def test_exception_type_and_remote_traceback(pool):
    with pytest.raises(ValueError, match=r"bad value 3") as raised:
        pool.apply(_raise_value, (3,))
    cause = raised.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert _traceback_line(_raise_value, "raise ValueError") in cause.text
    assert "ValueError: bad value 3" in cause.text
    assert _traceback_line(_raise_value, "raise ValueError") in str(cause)


@pytest.mark.parametrize("method", ["map", "imap", "imap_unordered", "starmap", "apply_async"])
def test_custom_exception_class_comes_back(pool, method):
    if method == "starmap":
        call = lambda: pool.starmap(_raise_custom, [(9,)])  # noqa: E731
    elif method == "apply_async":
        call = lambda: pool.apply_async(_raise_custom, (9,)).get(timeout=30)  # noqa: E731
    else:
        call = lambda: list(getattr(pool, method)(_raise_custom, [9]))  # noqa: E731
    with pytest.raises(CustomError) as raised:
        call()
    assert type(raised.value) is CustomError
    assert raised.value.code == 9
    assert raised.value.args == (9, "custom failure")
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert _traceback_line(_raise_custom, "raise CustomError") in raised.value.__cause__.text


@pytest.mark.parametrize(
    ("func", "args", "type_name", "message"),
    [
        (_raise_unpicklable_args, ("x", "y"), "UnpicklableArgsError", "x-y"),
        (_raise_lock_holding, ("holding a lock",), "LockHoldingError", "holding a lock"),
    ],
)
def test_unpicklable_exception_is_reported(pool, func, args, type_name, message):
    # No pool can rebuild these in the parent (the standard library's reports a
    # MaybeEncodingError, or loses the result); what must survive is the exception's
    # name and message, its traceback, and the pool.
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type cannot be rebuilt
        pool.apply(func, args)
    assert type_name in str(raised.value)
    assert message in str(raised.value)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert _traceback_line(func, "raise ") in raised.value.__cause__.text
    assert pool.map(_square, range(5)) == [x * x for x in range(5)]


def _return_lock(_):
    return threading.Lock()


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
def test_unpicklable_result_is_reported(which, pool):
    if which == "stdlib":
        with multiprocessing.get_context("spawn").Pool(1) as p:
            with pytest.raises(Exception, match="pickle") as raised:  # noqa: PT011 - MaybeEncodingError
                p.apply(_return_lock, (0,))
        return
    with pytest.raises(Exception, match="pickle") as raised:  # noqa: PT011 - whatever pickle raised
        pool.apply(_return_lock, (0,))
    assert "lock" in str(raised.value)
    with pytest.raises(Exception, match="pickle"):  # noqa: PT011
        pool.map(_return_lock, range(3))
    assert pool.map(_square, range(5)) == [x * x for x in range(5)]


def test_unpicklable_argument_raises_type_error(pool, thread_pool):
    # The standard library's process pool reports a TypeError from get().
    with pytest.raises(TypeError):
        pool.apply(id, (threading.Lock(),))
    with pytest.raises(TypeError):
        pool.map(id, [1, threading.Lock()])
    with pytest.raises(TypeError):
        pool.apply_async(id, (threading.Lock(),)).get(timeout=30)
    assert pool.map(_square, range(5)) == [x * x for x in range(5)]


def test_map_raises_the_failing_items_error(pool):
    with pytest.raises(ValueError, match="bad item 13"):
        pool.starmap(_fail_on, [(x, (13,)) for x in range(30)], 4)
    with pytest.raises(ValueError, match="bad item 6"):
        pool.map(_fail_on_6, range(30))
    # Two failing items: the standard library raises whichever fails first.
    with pytest.raises(ValueError, match=r"bad item (3|17)"):
        pool.starmap(_fail_on, [(x, (3, 17)) for x in range(30)], 1)


def test_map_raises_promptly_at_the_first_error(pool):
    # As in the standard library, the failure of item 0 ends the map without waiting
    # for the other 99 items (50 ms each: 2.5 s on 2 workers).
    _settle(pool)
    start = time.monotonic()
    with pytest.raises(ValueError, match="item 0 failed"):
        pool.map(_fail_first_else_sleep, range(100), chunksize=1)
    assert time.monotonic() - start < 1.0


def test_failed_map_drops_its_remaining_tasks(pool, tmp_path):
    _settle(pool)
    # A history of fast tasks, as after any large map.
    assert pool.map(_square, range(3000), chunksize=1) == [x * x for x in range(3000)]
    log = tmp_path / "ran"
    with pytest.raises(ValueError, match="item 0 failed"):
        pool.map(functools.partial(_fail_first_else_log, log=str(log)), range(100), chunksize=1)
    start = time.monotonic()
    assert pool.apply(_square, (4,)) == 16
    waited = time.monotonic() - start
    time.sleep(0.3)
    ran = len(log.read_text().split()) if log.exists() else 0
    _settle(pool)  # let any leftover work end before the next test
    # Items already running when item 0 failed may finish; the rest must not run.
    assert ran <= 2 * pool._processes, (
        f"{ran} of 99 items ran after the map failed; next task waited {waited:.2f} s"
    )
    assert waited < 0.5, f"the pool answered after {waited:.2f} s"


def test_imap_yields_values_before_the_failing_item(thread_pool):
    # One worker: the results arrive in order. (With several, see the next test.)
    for chunksize in (1, 3, 4):
        expected = []
        with pytest.raises(ValueError, match="bad item 6"):
            for value in thread_pool.imap(_fail_on_6, range(12), chunksize=chunksize):
                expected.append(value)
        with Pool(1) as p:
            got = []
            with pytest.raises(ValueError, match="bad item 6"):
                for value in p.imap(_fail_on_6, range(12), chunksize=chunksize):
                    got.append(value)
        assert got == expected, chunksize
    assert expected == [0, 1, 2, 3]  # chunksize 4: the failing chunk is lost whole


@pytest.mark.parametrize("chunksize", [1, 3])
def test_imap_yields_slow_earlier_item_before_raising(pool, thread_pool, chunksize):
    expected = []
    with pytest.raises(ValueError, match="item 5 failed"):
        for value in thread_pool.imap(_slow_before_failure, range(12), chunksize=chunksize):
            expected.append(value)
    assert expected == ([0, 1, 2, 3, 4] if chunksize == 1 else [0, 1, 2])
    for _ in range(3):
        # Both workers idle, with a history of slow tasks (so the supervisor sends
        # them one task at a time): the slow item 4 and a failing one run side by side.
        _settle(pool)
        got = []
        with pytest.raises(ValueError, match="item 5 failed"):
            for value in pool.imap(_slow_before_failure, range(12), chunksize=chunksize):
                got.append(value)
        assert got == expected


def test_imap_unordered_raises_after_some_values(pool):
    got = []
    with pytest.raises(ValueError, match="bad item 6"):
        for value in pool.imap_unordered(_fail_on_6, range(12)):
            got.append(value)
    assert 6 not in got
    assert set(got) <= set(range(12))


# ---- crashed workers ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "exitcode"), [("sigkill", -9), ("exit", 7), ("segfault", -11)])
def test_crash_fails_only_its_task(pool, tmp_path, kind, exitcode):
    before = _wait_pids(pool)
    marker = tmp_path / "crashed"
    others_before = [pool.apply_async(_slow_square, (x,)) for x in range(4)]
    crashing = pool.apply_async(_crash, (kind, str(marker)))
    others_after = [pool.apply_async(_slow_square, (x,)) for x in range(4, 10)]
    crashing.wait(30)
    reported = time.time()
    assert crashing.ready()
    with pytest.raises(WorkerLostError) as raised:
        crashing.get()
    crashed_at = float(marker.read_text())
    assert reported - crashed_at < 1.0, f"reported {reported - crashed_at:.2f} s after the crash"
    error = raised.value
    assert isinstance(error, multiprocessing.ProcessError)
    assert error.exitcode == exitcode
    assert error.pid in before
    assert isinstance(error.task, str) and error.task
    assert str(error.pid) in str(error)
    # The other tasks of the batch finish.
    assert [r.get(timeout=30) for r in others_before + others_after] == [x * x for x in range(10)]
    # The dead worker is replaced and the pool stays usable.
    after = _wait_pids(pool, exclude=[error.pid])
    assert error.pid not in after
    assert not _alive(error.pid)
    assert pool.map(_tag, range(20), chunksize=3) == list(map(_tag, range(20)))


def test_crash_inside_map_raises_worker_lost(pool, tmp_path):
    marker = tmp_path / "crashed"
    items = [("ok", str(marker))] * 3 + [("exit", str(marker))] + [("ok", str(marker))] * 3
    with pytest.raises(WorkerLostError) as raised:
        pool.starmap(_crash_unless_ok, items, chunksize=1)
    assert raised.value.exitcode == 7
    assert pool.map(_square, range(6)) == [x * x for x in range(6)]


def _crash_unless_ok(kind, marker):
    if kind == "ok":
        return "ok"
    return _crash(kind, marker)


def test_max_retries_reruns_a_crashed_task(tmp_path):
    with Pool(1, max_retries=1) as p:
        assert p.apply(_crash_first_time, (str(tmp_path / "marker"),)) == "second attempt"
        # A task that crashes every time runs 1 + max_retries times, then fails.
        log = tmp_path / "attempts"
        with pytest.raises(WorkerLostError) as raised:
            p.apply(_always_crash, (str(log),))
        assert raised.value.exitcode == 5
        attempts = log.read_text().split()
        assert len(attempts) == 2
        assert len(set(attempts)) == 2
        assert p.map(_square, range(5)) == [x * x for x in range(5)]


def test_without_retries_a_crash_is_final(pool, tmp_path):
    marker = tmp_path / "marker"
    with pytest.raises(WorkerLostError) as raised:
        pool.apply(_crash_first_time, (str(marker),))
    assert raised.value.exitcode == 3
    assert pool.apply(_crash_first_time, (str(marker),)) == "second attempt"


# ---- task timeout --------------------------------------------------------------------------


def test_task_timeout_kills_the_stuck_worker(tmp_path):
    with Pool(1, timeout=0.5) as p:
        assert p.apply(abs, (-3,)) == 3
        marker = tmp_path / "pid"
        start = time.monotonic()
        result = p.apply_async(_pid_and_sleep, (str(marker), 10))
        with pytest.raises(TimeoutError) as raised:
            result.get(timeout=30)
        elapsed = time.monotonic() - start
        assert elapsed < 1.5, f"TimeoutError after {elapsed:.2f} s"
        assert isinstance(raised.value, multiprocessing.TimeoutError)
        assert isinstance(raised.value, builtins.TimeoutError)
        # On a loaded machine the worker can be killed before the task wrote its pid.
        stuck = int(marker.read_text()) if marker.exists() else None
        if stuck is not None:
            assert _wait_dead([stuck], timeout=2.0) == []
        # The pool keeps working, on a fresh worker.
        assert p.map(abs, range(-5, 5)) == list(map(abs, range(-5, 5)))
        assert p.map(lambda x: x + 1, range(5)) == [1, 2, 3, 4, 5]
        if stuck is not None:
            assert stuck not in _wait_pids(p, exclude=[stuck])
        # Tasks shorter than the timeout are unaffected.
        assert p.map(time.sleep, [0.1] * 4, chunksize=1) == [None] * 4


def test_timeout_inside_map(tmp_path):
    with Pool(2, timeout=0.5) as p:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            p.map(time.sleep, [0, 0, 10, 0], chunksize=1)
        assert time.monotonic() - start < 1.5
        assert p.map(abs, [-1, -2]) == [1, 2]


# ---- initializer and maxtasksperchild -------------------------------------------------------


def test_initializer_runs_once_per_worker(tmp_path):
    log = tmp_path / "init"
    with Pool(2, initializer=_init, initargs=(str(log), "initialized")) as p:
        first = p.map(_init_value, range(40), chunksize=1)
        second = p.map(_init_value_again, range(40), chunksize=1)
        third = p.map(lambda x: x, range(5))
    assert third == list(range(5))
    assert {value for _, value in first + second} == {"initialized"}
    initialized = log.read_text().split()
    assert len(initialized) == len(set(initialized)), "an initializer ran twice in a worker"
    assert {str(pid) for pid, _ in first + second} <= set(initialized)
    assert _INIT_VALUE == "not initialized"  # not in the parent


def test_maxtasksperchild_replaces_workers(tmp_path):
    with Pool(2, maxtasksperchild=2) as p:
        pids = p.map(lambda _: os.getpid(), range(12), chunksize=1)
        applied = [p.apply(os.getpid) for _ in range(6)]
    counts = Counter(pids)
    assert max(counts.values()) <= 2, counts
    assert len(counts) >= 6
    assert max(Counter(applied).values()) <= 2
    assert len(set(applied)) >= 3


# ---- lifecycle ---------------------------------------------------------------------------


def test_close_join_ends_the_workers():
    p = Pool(2)
    try:
        assert p.map(_square, range(10)) == [x * x for x in range(10)]
        workers = _wait_pids(p)
        server = p._server.pid
        p.close()
        p.join()
        assert [pid for pid in workers + [server] if _alive(pid)] == []
        assert p.pids == []
    finally:
        p.terminate()


def test_close_ends_the_workers_once_idle():
    p = Pool(2)
    try:
        assert p.map(_square, range(10)) == [x * x for x in range(10)]
        workers = _wait_pids(p)
        server = p._server.pid
        p.close()
        assert _wait_dead(workers + [server], timeout=5.0) == []
        assert _wait_until(lambda: p.pids == [])
    finally:
        p.terminate()


def test_terminate_join():
    p = Pool(2)
    try:
        p.map(_square, range(4))
        workers = _wait_pids(p)
        p.apply_async(time.sleep, (10,))
        p.terminate()
        p.join()
        assert [pid for pid in workers if _alive(pid)] == []
    finally:
        p.terminate()


def test_close_lets_submitted_work_finish(thread_pool):
    items = range(3000)
    expected = list(map(abs, items))
    # The standard library: everything submitted before close() completes.
    reference = thread_pool.map_async(abs, items, chunksize=1)
    reference_unordered = thread_pool.imap_unordered(abs, items)
    thread_pool.close()
    assert reference.get(timeout=30) == expected
    assert sorted(reference_unordered) == expected
    p = Pool(2)
    try:
        small = p.apply_async(_square, (12,))
        result = p.map_async(abs, items, chunksize=1)
        unordered = p.imap_unordered(abs, items)
        p.close()
        assert small.get(timeout=10) == 144
        assert result.get(timeout=10) == expected
        assert sorted(unordered.next(timeout=10) for _ in items) == expected
    finally:
        p.terminate()


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
def test_join_of_a_running_pool_raises_value_error(which):
    p = multiprocessing.pool.ThreadPool(1) if which == "stdlib" else Pool(1)
    try:
        with pytest.raises(ValueError):
            p.join()
        assert p.apply(abs, (-2,)) == 2
    finally:
        p.terminate()


@pytest.mark.parametrize("which", ["stdlib", "brickwork"])
@pytest.mark.parametrize("how", ["close", "terminate"])
def test_ended_pool_rejects_work(which, how):
    p = multiprocessing.pool.ThreadPool(1) if which == "stdlib" else Pool(1)
    try:
        getattr(p, how)()
        for call in (
            lambda: p.apply(abs, (1,)),
            lambda: p.apply_async(abs, (1,)),
            lambda: p.map(abs, [1]),
            lambda: p.map_async(abs, [1]),
            lambda: p.starmap(abs, [(1,)]),
            lambda: p.starmap_async(abs, [(1,)]),
            lambda: p.imap(abs, [1]),
            lambda: p.imap_unordered(abs, [1]),
        ):
            with pytest.raises(ValueError):
                call()
    finally:
        p.terminate()


@pytest.mark.parametrize("processes", [0, -1])
def test_pool_needs_a_process(processes):
    with pytest.raises(ValueError):
        multiprocessing.pool.ThreadPool(processes)
    with pytest.raises(ValueError):
        Pool(processes)


def test_context_manager_terminates(tmp_path):
    with Pool(2) as p:
        assert p.map(_square, range(4)) == [0, 1, 4, 9]
        workers = _wait_pids(p)
        running = p.apply_async(time.sleep, (10,))
    with pytest.raises(ValueError):
        p.map(_square, [1])
    with pytest.raises(PoolError):
        running.get(timeout=5)
    assert _wait_dead(workers, timeout=5.0) == []


# ---- shared memory ----------------------------------------------------------------------


def test_large_arrays_round_trip_through_shared_memory(pool):
    shm_before = _shm_entries()
    # (The standard library's pools used by other tests map /dev/shm semaphores here.)
    parent_shm_before = _shm_mappings(os.getpid())
    a = np.arange(10 * 2**20 // 8, dtype=np.int64)  # 10 MiB
    assert _core.arena_contains(a)
    plain = np.frombuffer(bytearray(a.tobytes()), dtype=np.int64)  # not in the arena
    assert not _core.arena_contains(plain)
    arrays = [a, plain, a.reshape(1024, -1).T, a[::3], a[: 2**14]]
    used_before = _core.arena_used()

    assert pool.apply(_array_sum, (a,)) == int(a.sum())
    assert pool.map(_array_sum, arrays, chunksize=1) == list(map(_array_sum, arrays))
    assert pool.map(_writeable, [a, plain]) == [False, False]
    assert pool.apply(_writeable, (a.copy(),)) is False

    n = 3 * 2**20 // 8
    back = pool.apply(_make_array, (n,))
    assert isinstance(back, np.ndarray)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, np.arange(n, dtype=np.int64) * 2)
    many = pool.map(_make_array, [n, 10, 2**17], chunksize=1)
    for got, size in zip(many, [n, 10, 2**17]):
        np.testing.assert_array_equal(got, _make_array(size))

    assert _wait_until(lambda: _core.arena_used() == used_before, timeout=2.0), (
        f"arena holds {_core.arena_used() - used_before} more bytes after the tasks"
    )
    new_entries = _shm_entries() - shm_before
    assert new_entries == set()
    assert _shm_mappings(os.getpid()) <= parent_shm_before
    for pid in pool.pids:
        assert _shm_mappings(pid) == set()
    del back, many


def test_no_arena_leak_when_tasks_fail(pool, tmp_path):
    plain = np.frombuffer(bytearray(2**21), dtype=np.uint8)  # copied into the arena per task
    used_before = _core.arena_used()
    with pytest.raises(ValueError, match="failed on an array"):
        pool.apply(_array_then_fail, (plain,))
    with pytest.raises(WorkerLostError):
        pool.apply(_array_then_exit, (plain,))
    with pytest.raises(ValueError):
        pool.map(_array_then_fail, [plain] * 20, chunksize=1)
    with pytest.raises(ValueError):
        list(pool.imap(_array_then_fail, [plain] * 20))
    _settle(pool)
    assert _wait_until(lambda: _core.arena_used() == used_before, timeout=2.0), (
        f"arena holds {_core.arena_used() - used_before} more bytes after failed tasks"
    )


def test_argument_stays_valid_when_the_caller_drops_it(pool):
    n = 2**20
    expected = n * (n - 1) // 2
    result = pool.apply_async(_sleep_then_sum, (np.arange(n, dtype=np.int64),))
    results = pool.map_async(
        _sleep_then_sum, (np.arange(n, dtype=np.int64) for _ in range(2)), chunksize=1
    )
    import gc

    gc.collect()
    # New arrays of the same size may take the arena blocks if they were freed early.
    clobber = [np.full(n, -1, dtype=np.int64) for _ in range(4)]
    assert result.get(timeout=30) == expected
    assert results.get(timeout=30) == [expected, expected]
    del clobber


def test_returned_array_is_writable_like_stdlib(pool):
    back = pool.apply(_make_array, (2**18,))
    assert back.flags.writeable
    back[0] = 1
    assert back[0] == 1 and back[1] == 2


def test_terminated_pool_leaves_no_processes():
    p = Pool(2)
    a = np.ones(2**20)
    assert p.map(np.sum, [a, a]) == [float(2**20)] * 2
    workers = _wait_pids(p)
    server = p._server.pid
    p.apply_async(time.sleep, (10,))
    p.terminate()
    assert _wait_dead(workers + [server], timeout=5.0) == []


# ---- the parent dies ---------------------------------------------------------------------


@pytest.mark.parametrize("busy", [False, True])
def test_killed_parent_takes_its_workers_along(busy):
    script = textwrap.dedent(
        f"""
        import time
        from brickwork.multiprocessing import Pool

        p = Pool(2)
        p.map(abs, range(10))
        while len(p.pids) < 2:
            time.sleep(0.01)
        if {busy}:
            pending = p.map_async(time.sleep, [60, 60], chunksize=1)
            time.sleep(0.3)
        print(*p.pids, p._server.pid, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        pids = [int(x) for x in line.split()]
        assert len(pids) == 3, line
        assert all(_alive(pid) for pid in pids)
        proc.kill()
        proc.wait(10)
        start = time.monotonic()
        alive = _wait_dead(pids, timeout=5.0)
        assert alive == [], f"still running {time.monotonic() - start:.1f} s after the parent died"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


# ---- Ctrl-C -------------------------------------------------------------------------------

_CTRL_C_SCRIPT = """
import signal, sys, time
import psutil
from brickwork.multiprocessing import Pool

# As in an interactive program (a background job may have inherited SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)

def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

p = Pool(2)
assert p.map(abs, range(-3, 3)) == [3, 2, 1, 0, 1, 2]
while len(p.pids) < 2:
    time.sleep(0.01)
old = p.pids
print("READY", flush=True)
start = time.monotonic()
try:
    p.map(time.sleep, [5] * 8, chunksize=1)
except KeyboardInterrupt:
    print("INTERRUPTED %.2f" % (time.monotonic() - start), flush=True)
else:
    print("NOT INTERRUPTED", flush=True)
    sys.exit(3)
# Submitting at once races with the reset: test_ctrl_c_then_submit_at_once covers that.
time.sleep(0.2)
assert p.map(lambda x: x * 3, range(20)) == [x * 3 for x in range(20)]
assert p.starmap(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]
deadline = time.monotonic() + 5
while any(alive(pid) for pid in old) and time.monotonic() < deadline:
    time.sleep(0.02)
assert not any(alive(pid) for pid in old), old
assert not set(old) & set(p.pids), (old, p.pids)
print("OK", flush=True)
p.terminate()
"""


@pytest.mark.parametrize("target", ["process", "process group"])
def test_ctrl_c_interrupts_and_pool_stays_usable(target):
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(1.0)
        if target == "process":
            os.kill(proc.pid, signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, (out, err)
    lines = out.split()
    assert "OK" in lines, (out, err)
    interrupted = re.search(r"INTERRUPTED (\d+\.\d+)", out)
    assert interrupted, out
    assert float(interrupted.group(1)) < 3.0


_CTRL_C_RACE_SCRIPT = """
import os, signal, sys, threading, time
from brickwork.multiprocessing import Pool, TimeoutError

signal.signal(signal.SIGINT, signal.default_int_handler)

p = Pool(2)
assert p.map(abs, range(-3, 3)) == [3, 2, 1, 0, 1, 2]
for i in range(12):
    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        p.map(time.sleep, [5, 5], chunksize=1)
    except KeyboardInterrupt:
        result = p.apply_async(abs, (-i,))  # right after Ctrl-C
    else:
        sys.exit("not interrupted")
    try:
        assert result.get(timeout=2) == i
    except TimeoutError:
        print("LOST", i, flush=True)
        sys.exit(4)
print("OK", flush=True)
p.terminate()
"""


def test_ctrl_c_then_submit_at_once():
    result = _run_script(_CTRL_C_RACE_SCRIPT, timeout=120)
    if result.returncode not in (0, 4):
        pytest.fail(f"the script failed otherwise: {result.stdout} {result.stderr}")
    assert result.returncode == 0, f"a task submitted right after Ctrl-C was lost: {result.stdout}"
    assert result.stdout.split()[-1] == "OK"


# ---- progress bars -----------------------------------------------------------------------


def _bar_states(text):
    return [(int(d), int(t)) for d, t in re.findall(r"(\d+)/(-?\d+) tasks", text)]


@pytest.mark.parametrize("method", ["map", "starmap", "map_async", "imap", "imap_unordered"])
def test_progress_bar_reaches_the_total(pool, capsys, method):
    n = 25
    if method == "starmap":
        got = pool.starmap(_swap, [(x,) for x in range(n)], progress=True)
        assert got == [(x,) for x in range(n)]
    elif method == "map_async":
        assert pool.map_async(_tag, range(n), progress=True).get(timeout=30) == list(
            map(_tag, range(n))
        )
    elif method == "imap":
        assert list(pool.imap(_tag, range(n), progress=True)) == list(map(_tag, range(n)))
    elif method == "imap_unordered":
        assert sorted(pool.imap_unordered(_square, range(n), progress=True)) == sorted(
            map(_square, range(n))
        )
    else:
        assert pool.map(_tag, range(n), progress=True) == list(map(_tag, range(n)))
    assert _wait_until(lambda: False, timeout=0.05) is False  # let a last redraw land
    err = capsys.readouterr().err
    states = _bar_states(err)
    assert states, repr(err)
    assert states[-1] == (n, n), repr(err)
    assert all(t == n and 0 <= d <= n for d, t in states)
    assert [d for d, _ in states] == sorted(d for d, _ in states)
    assert err.rstrip("\n").split("\r")[-1].split("|")[0].rstrip().endswith(f"{n}/{n} tasks")


def test_no_progress_bar_by_default(pool, capsys):
    assert pool.map(_tag, range(10)) == list(map(_tag, range(10)))
    assert capsys.readouterr().err == ""


def test_progress_bar_in_a_subprocess():
    result = _run_script(
        """
        from brickwork.multiprocessing import Pool
        with Pool(2) as p:
            print(p.map(abs, range(-20, 20), progress=True) == list(map(abs, range(-20, 20))))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    states = _bar_states(result.stderr)
    assert states and states[-1] == (40, 40), result.stderr
