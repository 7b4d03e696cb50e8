"""brickwork.multiprocessing.futures.ProcessPoolExecutor against concurrent.futures.

Results are compared with the builtin ``map`` and with the standard library's
``ProcessPoolExecutor`` (spawn context) on the same functions; the executor's own
guarantees (a killed worker fails only its future, ``timeout=``, ``max_retries=``,
cancellation withdrawing queued calls) are checked directly. The last tests pin Pool
behaviour the executor relies on.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import operator
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brickwork.multiprocessing import Pool, RemoteTraceback, WorkerLostError
from brickwork.multiprocessing import TimeoutError as PoolTimeoutError
from brickwork.multiprocessing.futures import ProcessPoolExecutor

SPAWN = multiprocessing.get_context("spawn")
WAIT_S = 30.0


# ---- task functions (module level, so that the spawned stdlib workers can import them)


def _square(x: int) -> int:
    return x * x


def _affine(a: int, b: int, c: int = 1) -> int:
    return a * c + b


def _divide(a: float, b: float) -> float:
    return a / b


def _raise_value_error(message: str) -> None:
    raise ValueError(message)


def _getpid(_: object = None) -> int:
    return os.getpid()


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _kill_self(_: object = None) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _sleep_then_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


def _touch(path: str) -> str:
    Path(path).touch()
    return path


def _kill_self_once(marker: str) -> str:
    """Die the first time (leaving ``marker``), succeed the next."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "second attempt"


def _sleep_then_touch(path: str) -> str:
    time.sleep(0.3)
    Path(path).touch()
    return path


def _write_pid_then_sleep(path: str, seconds: float) -> float:
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


def _sum(array: np.ndarray) -> float:
    return float(array.sum())


_initialized: object = None


def _initializer(value: object) -> None:
    global _initialized
    _initialized = value


def _read_initialized() -> object:
    return _initialized


def _identity(x: object) -> object:
    return x


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executor():
    with ProcessPoolExecutor(max_workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def stdlib_executor():
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=SPAWN) as ex:
        yield ex


# ---- results equal the builtin map and the standard library's executor -------------------


@settings(max_examples=25)
@given(xs=st.lists(st.integers(-(10**6), 10**6), max_size=60), chunksize=st.integers(1, 8))
def test_map_equals_builtin_and_stdlib(executor, stdlib_executor, xs, chunksize):
    expected = list(map(_square, xs))
    assert list(executor.map(_square, xs, chunksize=chunksize)) == expected
    assert list(stdlib_executor.map(_square, xs, chunksize=chunksize)) == expected


@settings(max_examples=25)
@given(
    a=st.lists(st.integers(-1000, 1000), max_size=30),
    b=st.lists(st.integers(-1000, 1000), max_size=30),
    chunksize=st.integers(1, 5),
)
def test_map_several_iterables_stops_at_the_shortest(executor, a, b, chunksize):
    # Like zip: the shortest iterable decides the length.
    assert list(executor.map(_affine, a, iter(b), chunksize=chunksize)) == list(map(_affine, a, b))


@settings(max_examples=25)
@given(
    calls=st.lists(
        st.tuples(st.integers(-100, 100), st.integers(-100, 100), st.integers(-5, 5)), max_size=20
    )
)
def test_submit_equals_direct_calls(executor, stdlib_executor, calls):
    ours = [executor.submit(_affine, a, b, c=c) for a, b, c in calls]
    theirs = [stdlib_executor.submit(_affine, a, b, c=c) for a, b, c in calls]
    expected = [_affine(a, b, c=c) for a, b, c in calls]
    assert [f.result(WAIT_S) for f in ours] == expected
    assert [f.result(WAIT_S) for f in theirs] == expected


@settings(max_examples=15)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.floats(allow_nan=False),
            st.text(max_size=20),
            st.binary(max_size=20),
            st.tuples(st.integers(), st.text(max_size=5)),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=4),
        ),
        max_size=10,
    )
)
def test_values_round_trip(executor, values):
    assert list(executor.map(_identity, values)) == values


def test_lambdas_closures_and_operators(executor):
    offset = 7
    assert executor.submit(lambda x: x + offset, 1).result(WAIT_S) == 8
    assert list(executor.map(operator.add, [1, 2], [10, 20])) == [11, 22]
    assert list(executor.map(lambda x: -x, range(5), chunksize=2)) == [0, -1, -2, -3, -4]


def test_objects_of_main_are_sent_by_value(executor, monkeypatch):
    # A class that plain pickle finds in the parent's __main__ (as in a script or a
    # notebook) does not exist in the workers' __main__: the executor sends it by value.
    main = sys.modules["__main__"]
    Point = type("Point", (), {"__module__": "__main__", "__qualname__": "Point"})
    Point.__init__ = lambda self, x: setattr(self, "x", x)
    monkeypatch.setattr(main, "Point", Point, raising=False)

    def double(point):
        return point.x * 2

    assert executor.submit(double, Point(21)).result(WAIT_S) == 42
    assert list(executor.map(double, [Point(1), Point(2)], chunksize=2)) == [2, 4]


def test_large_array_argument(executor):
    array = np.arange(1_000_000, dtype=np.float64)
    assert executor.submit(_sum, array).result(WAIT_S) == float(array.sum())


# ---- exceptions -------------------------------------------------------------------------


def test_exception_type_message_and_remote_traceback(executor, stdlib_executor):
    ours = executor.submit(_raise_value_error, "bad value")
    theirs = stdlib_executor.submit(_raise_value_error, "bad value")
    for future in (ours, theirs):
        with pytest.raises(ValueError, match="bad value"):
            future.result(WAIT_S)
    error = ours.exception()
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "_raise_value_error" in error.__cause__.text


def test_map_raises_at_the_failing_position(executor, stdlib_executor):
    for ex in (executor, stdlib_executor):
        results = ex.map(_divide, [1, 2, 3, 4], [1, 1, 0, 1])
        assert next(results) == 1.0
        assert next(results) == 2.0
        with pytest.raises(ZeroDivisionError):
            next(results)


def test_unpicklable_argument_fails_the_future_like_the_stdlib(executor, stdlib_executor):
    lock = threading.Lock()
    ours = executor.submit(_identity, lock)
    theirs = stdlib_executor.submit(_identity, lock)
    assert type(ours.exception(WAIT_S)) is type(theirs.exception(WAIT_S)) is TypeError
    assert executor.submit(_square, 3).result(WAIT_S) == 9


def test_non_callable_fails_the_future(executor):
    assert isinstance(executor.submit(42).exception(WAIT_S), TypeError)


def test_done_callbacks_and_wait_helpers(executor):
    seen = []
    futures = [executor.submit(_square, i) for i in range(10)]
    for future in futures:
        future.add_done_callback(lambda f: seen.append(f.result()))
    done, not_done = cf.wait(futures, timeout=WAIT_S)
    assert not not_done and len(done) == 10
    assert sorted(f.result() for f in cf.as_completed(futures, timeout=WAIT_S)) == [
        i * i for i in range(10)
    ]
    deadline = time.monotonic() + WAIT_S
    while len(seen) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(seen) == [i * i for i in range(10)]


# ---- cancellation ---------------------------------------------------------------------------


def test_cancel_withdraws_a_queued_call(tmp_path):
    marker = tmp_path / "ran"
    with ProcessPoolExecutor(max_workers=1) as ex:
        blocker = ex.submit(_sleep, 0.5)
        queued = ex.submit(_touch, str(marker))
        assert queued.cancel()
        assert queued.cancelled() and queued.done()
        with pytest.raises(cf.CancelledError):
            queued.result()
        # wait() and as_completed() count it as done at once.
        done, _ = cf.wait([queued], timeout=1)
        assert done == {queued}
        assert blocker.result(WAIT_S) == 0.5
        assert not blocker.cancel()
    assert not marker.exists()


def test_cancel_futures_on_shutdown(tmp_path):
    # Every future without a result is cancelled -- also the one its worker is running
    # (brickwork cannot tell it apart; it runs to the end, its result discarded) --
    # and the queued calls never run.
    markers = [tmp_path / f"ran-{i}" for i in range(4)]
    ex = ProcessPoolExecutor(max_workers=1)
    first = ex.submit(_sleep, 0.3)
    rest = [ex.submit(_touch, str(m)) for m in markers]
    ex.shutdown(wait=True, cancel_futures=True)
    assert first.cancelled() and all(f.cancelled() for f in rest)
    assert not any(m.exists() for m in markers)


def test_closing_map_early_cancels_the_rest(tmp_path):
    markers = [tmp_path / f"ran-{i}" for i in range(6)]
    with ProcessPoolExecutor(max_workers=1) as ex:
        results = ex.map(_sleep_then_touch, [str(m) for m in markers])
        assert next(results) == str(markers[0])
        results.close()
    # Only the call already handed to the worker may still have run.
    assert sum(m.exists() for m in markers[1:]) <= 1


# ---- shutdown ---------------------------------------------------------------------------------


def test_submit_and_map_after_shutdown_raise():
    ex = ProcessPoolExecutor(max_workers=1)
    assert ex.submit(_square, 2).result(WAIT_S) == 4
    ex.shutdown()
    ex.shutdown()  # again: harmless
    for candidate in (ex, cf.ProcessPoolExecutor(max_workers=1, mp_context=SPAWN)):
        candidate.shutdown()
        with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
            candidate.submit(_square, 2)
        with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
            candidate.map(_square, [1])


def test_shutdown_wait_finishes_the_work_and_the_workers():
    ex = ProcessPoolExecutor(max_workers=2)
    futures = [ex.submit(_sleep_then_square, i) for i in range(6)]
    futures[0].result(WAIT_S)
    pids = ex.pids
    ex.shutdown(wait=True)
    assert all(f.done() for f in futures)
    assert [f.result() for f in futures] == [i * i for i in range(6)]
    assert pids and not any(_alive(pid) for pid in pids)


def test_shutdown_without_wait_lets_pending_calls_finish():
    ex = ProcessPoolExecutor(max_workers=1)
    futures = [ex.submit(_sleep_then_square, i) for i in range(4)]
    ex.shutdown(wait=False)
    del ex
    assert [f.result(WAIT_S) for f in futures] == [0, 1, 4, 9]


def test_context_manager_and_lazy_start():
    with ProcessPoolExecutor(max_workers=1) as ex:
        assert ex.pids == []  # no worker before the first call
        assert ex.submit(_square, 5).result(WAIT_S) == 25
        assert len(ex.pids) == 1
    with pytest.raises(RuntimeError):
        ex.submit(_square, 1)


def test_argument_validation():
    with pytest.raises(ValueError):
        ProcessPoolExecutor(max_workers=0)
    with pytest.raises(TypeError):
        ProcessPoolExecutor(initializer=42)
    with pytest.raises(ValueError):
        ProcessPoolExecutor(max_tasks_per_child=0)
    with pytest.raises(ValueError):
        ProcessPoolExecutor(timeout=0)
    with pytest.raises(ValueError):
        ProcessPoolExecutor(max_retries=-1)
    ex = ProcessPoolExecutor(max_workers=1)
    with pytest.raises(ValueError, match="chunksize"):
        ex.map(_square, [1], chunksize=0)
    ex.shutdown()


# ---- timeouts -----------------------------------------------------------------------------


def test_map_timeout_counts_from_the_call():
    ex = ProcessPoolExecutor(max_workers=2)
    try:
        ex.submit(_square, 1).result(WAIT_S)  # workers up: only the calls are timed
        start = time.monotonic()
        results = ex.map(_sleep, [0.0, 30.0], timeout=1.5)
        assert next(results) == 0.0
        with pytest.raises(cf.TimeoutError):
            next(results)
        assert 1.5 <= time.monotonic() - start < 10
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def test_future_result_timeout(executor):
    future = executor.submit(_sleep, 0.5)
    with pytest.raises(cf.TimeoutError):
        future.result(timeout=0.05)
    assert future.result(WAIT_S) == 0.5


def test_task_timeout_kills_only_the_stuck_call():
    with ProcessPoolExecutor(max_workers=1, timeout=0.5) as ex:
        stuck = ex.submit(_sleep, 30)
        error = stuck.exception(WAIT_S)
        assert isinstance(error, PoolTimeoutError) and isinstance(error, cf.TimeoutError)
        assert ex.submit(_square, 6).result(WAIT_S) == 36


# ---- dead workers -----------------------------------------------------------------------------


def test_killed_worker_fails_only_its_future():
    with ProcessPoolExecutor(max_workers=2) as ex:
        others = [ex.submit(_sleep_then_square, i) for i in range(6)]
        doomed = ex.submit(_kill_self)
        more = [ex.submit(_sleep_then_square, i) for i in range(6, 10)]
        error = doomed.exception(WAIT_S)
        assert isinstance(error, WorkerLostError)
        assert error.exitcode == -signal.SIGKILL
        assert [f.result(WAIT_S) for f in others + more] == [i * i for i in range(10)]
        # The executor keeps working, with a replacement worker.
        assert list(ex.map(_square, range(5))) == [0, 1, 4, 9, 16]
        assert error.pid not in ex.pids


def test_worker_killed_from_outside(tmp_path):
    pid_file = tmp_path / "pid"
    with ProcessPoolExecutor(max_workers=2) as ex:
        victim = ex.submit(_write_pid_then_sleep, str(pid_file), 30.0)
        bystander = ex.submit(_sleep, 0.5)
        assert _wait_for(pid_file.exists)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        error = victim.exception(WAIT_S)
        assert isinstance(error, WorkerLostError)
        assert (error.pid, error.exitcode) == (pid, -signal.SIGKILL)
        assert bystander.result(WAIT_S) == 0.5
        assert ex.submit(_square, 4).result(WAIT_S) == 16


def _wait_for(predicate, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_stdlib_executor_breaks_instead():
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=SPAWN) as ex:
        assert ex.submit(_square, 2).result(WAIT_S) == 4
        doomed = ex.submit(_kill_self)
        with pytest.raises(BrokenProcessPool):
            doomed.result(WAIT_S)
        with pytest.raises(BrokenProcessPool):
            ex.submit(_square, 2)


def test_killed_worker_in_map_fails_at_its_place():
    with ProcessPoolExecutor(max_workers=2) as ex:
        results = ex.map(_identity_or_die, [1, 2, "die", 4])
        assert next(results) == 1
        assert next(results) == 2
        with pytest.raises(WorkerLostError):
            next(results)
        assert ex.submit(_square, 3).result(WAIT_S) == 9


def _identity_or_die(x: object) -> object:
    if x == "die":
        _kill_self()
    return x


def test_max_retries_runs_a_lost_call_again(tmp_path):
    with ProcessPoolExecutor(max_workers=1, max_retries=1) as ex:
        future = ex.submit(_kill_self_once, str(tmp_path / "died-once"))
        assert future.result(WAIT_S) == "second attempt"


def test_initializer_and_max_tasks_per_child():
    with ProcessPoolExecutor(
        max_workers=1, initializer=_initializer, initargs=("ready",), max_tasks_per_child=2
    ) as ex:
        assert ex.submit(_read_initialized).result(WAIT_S) == "ready"
        pids = [ex.submit(_getpid).result(WAIT_S) for _ in range(4)]
        assert len(set(pids)) >= 2  # replaced after two tasks
        assert ex.submit(_read_initialized).result(WAIT_S) == "ready"


# ---- Pool behaviour the executor relies on ---------------------------------------------


def test_pool_join_after_close():
    pool = Pool(1)
    assert pool.apply(_square, (3,)) == 9
    pool.close()
    try:
        pool.join()
    finally:
        pool.terminate()


def test_pool_argument_of_main_class(monkeypatch):
    main = sys.modules["__main__"]
    Thing = type("Thing", (), {"__module__": "__main__", "__qualname__": "Thing"})
    monkeypatch.setattr(main, "Thing", Thing, raising=False)
    with Pool(1) as pool:
        assert type(pool.apply(_identity, (Thing(),))).__name__ == "Thing"


def test_pool_imap_unpicklable_item_late():
    pool = Pool(1)
    try:
        items = [*range(200), threading.Lock(), 0]
        iterator = pool.imap(_identity, items)
        with pytest.raises(TypeError):
            for _ in items:
                iterator.next(timeout=3)
    finally:
        pool.terminate()
