"""The joblib backend "brickwork" (brickwork.multiprocessing.joblib_backend).

``joblib.Parallel`` results are compared with serial list comprehensions, and a real
scikit-learn ``GridSearchCV`` under ``joblib.parallel_config(backend="brickwork")`` with
the same search run serially; a scorer that records ``os.getpid()`` proves the work ran
in the backend's brickwork worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib import Parallel, delayed

from brickwork.multiprocessing import WorkerLostError, joblib_backend

WAIT_S = 20.0


# ---- task functions (module level) -------------------------------------------------------


class CustomError(Exception):
    pass


def _square(x: int) -> int:
    return x * x


def _fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise CustomError(f"bad item {x}")
    return x


def _pid_and_flag(_: object = None) -> tuple[int, bool]:
    return os.getpid(), joblib_backend._inside_brickwork_worker()


def _nested(i: int) -> tuple[int, list[int]]:
    inner = Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(4))
    return os.getpid(), inner


def _nested_explicit(i: int) -> tuple[int, list[int], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inner = Parallel(n_jobs=2, backend="brickwork")(delayed(os.getpid)() for _ in range(3))
    return os.getpid(), inner, [str(w.message) for w in caught]


def _kill_self(_: object = None) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_self_once(marker: str) -> str:
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _thread_settings() -> tuple[str | None, list[int]]:
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return os.environ.get("OMP_NUM_THREADS"), blas


def _column_sums(matrix: np.ndarray) -> np.ndarray:
    return matrix.sum(axis=0)


class PidScorer:
    """An accuracy scorer that leaves a file named after the process it runs in."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __call__(self, estimator, X, y) -> float:
        (self.directory / str(os.getpid())).touch()
        return float(np.mean(estimator.predict(X) == y))


def _pids_in(directory: Path) -> set[int]:
    return {int(path.name) for path in directory.iterdir()}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until(predicate, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture(scope="module", autouse=True)
def registered():
    joblib_backend.register()
    yield
    joblib_backend.shutdown_pool()


def _pool_pids() -> list[int]:
    pool = joblib_backend._keeper.pool
    return [] if pool is None else pool.pids


# ---- results ------------------------------------------------------------------------------


@settings(max_examples=20)
@given(
    xs=st.lists(st.integers(-(10**9), 10**9), max_size=50),
    batch_size=st.sampled_from(["auto", 1, 4]),
)
def test_parallel_equals_list_comprehension(xs, batch_size):
    with joblib.parallel_config(backend="brickwork"):
        got = Parallel(n_jobs=2, batch_size=batch_size)(delayed(_square)(x) for x in xs)
    assert got == [x * x for x in xs]


@settings(max_examples=10)
@given(xs=st.lists(st.integers(-1000, 1000), max_size=30))
def test_generators(xs):
    ordered = Parallel(n_jobs=2, backend="brickwork", return_as="generator")(
        delayed(_square)(x) for x in xs
    )
    assert list(ordered) == [x * x for x in xs]
    unordered = Parallel(n_jobs=2, backend="brickwork", return_as="generator_unordered")(
        delayed(_square)(x) for x in xs
    )
    assert sorted(unordered) == sorted(x * x for x in xs)


def test_lambdas_closures_and_arrays():
    offset = 3
    got = Parallel(n_jobs=2, backend="brickwork")(
        delayed(lambda x: x + offset)(i) for i in range(5)
    )
    assert got == [3, 4, 5, 6, 7]
    matrices = [np.full((300, 100), float(i)) for i in range(4)]  # 240 KB each
    sums = Parallel(n_jobs=2, backend="brickwork")(delayed(_column_sums)(m) for m in matrices)
    for i, column_sums in enumerate(sums):
        np.testing.assert_array_equal(column_sums, np.full(100, 300.0 * i))


def test_runs_in_brickwork_workers_and_reuses_the_pool():
    with joblib.parallel_config(backend="brickwork", n_jobs=2):
        first = Parallel()(delayed(_pid_and_flag)(i) for i in range(8))
        pids = _pool_pids()
        second = Parallel()(delayed(_pid_and_flag)(i) for i in range(8))
    assert all(flag for _, flag in first + second)
    workers = {pid for pid, _ in first + second}
    assert os.getpid() not in workers
    assert workers <= set(pids)
    assert _pool_pids() == pids  # the second call ran on the same pool


def test_n_jobs_one_runs_in_this_process():
    got = Parallel(n_jobs=1, backend="brickwork")(delayed(_pid_and_flag)(i) for i in range(3))
    assert got == [(os.getpid(), False)] * 3


def test_exception_propagates_with_its_type():
    with joblib.parallel_config(backend="brickwork"):
        with pytest.raises(CustomError, match="bad item 7"):
            Parallel(n_jobs=2)(delayed(_fail_on)(i, 7) for i in range(40))
        # The backend is usable afterwards.
        assert Parallel(n_jobs=2)(delayed(_square)(i) for i in range(5)) == [0, 1, 4, 9, 16]


def test_nested_parallel_runs_sequentially_in_the_worker():
    results = Parallel(n_jobs=2, backend="brickwork")(delayed(_nested)(i) for i in range(2))
    for outer, inner in results:
        assert inner == [outer] * 4
    results = Parallel(n_jobs=2, backend="brickwork")(
        delayed(_nested_explicit)(i) for i in range(2)
    )
    for outer, inner, messages in results:
        assert inner == [outer] * 3
        assert any("cannot be nested" in m for m in messages)


def _parallel_in_any_brickwork_worker(_: object = None) -> tuple[int, list[int]]:
    joblib_backend.register()  # (brickwork.multiprocessing's __init__ is to do it)
    with joblib.parallel_config(backend="brickwork"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return os.getpid(), Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(3))


def test_backend_inside_another_brickwork_pool_runs_sequentially():
    # Not a worker of the backend's own pool: found by the worker's stack instead.
    from brickwork.multiprocessing.futures import ProcessPoolExecutor

    assert not joblib_backend._inside_brickwork_worker()
    with ProcessPoolExecutor(max_workers=1) as ex:
        assert ex.submit(joblib_backend._inside_brickwork_worker).result(WAIT_S)
        outer, inner = ex.submit(_parallel_in_any_brickwork_worker).result(WAIT_S)
        assert inner == [outer] * 3


# ---- scikit-learn ------------------------------------------------------------------------


def test_grid_search_cv_matches_serial(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    grid = {"max_depth": [1, 2, 3, None], "min_samples_leaf": [1, 3]}
    serial_dir, parallel_dir = tmp_path / "serial", tmp_path / "parallel"
    serial_dir.mkdir()
    parallel_dir.mkdir()

    serial = GridSearchCV(
        DecisionTreeClassifier(random_state=0), grid, scoring=PidScorer(serial_dir), n_jobs=1
    ).fit(X, y)
    with joblib.parallel_config(backend="brickwork"):
        parallel = GridSearchCV(
            DecisionTreeClassifier(random_state=0), grid, scoring=PidScorer(parallel_dir), n_jobs=2
        ).fit(X, y)
        pool_pids = set(_pool_pids())

    assert parallel.best_params_ == serial.best_params_
    assert parallel.cv_results_["params"] == serial.cv_results_["params"]
    for key in ["mean_test_score", "rank_test_score"] + [f"split{k}_test_score" for k in range(5)]:
        np.testing.assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key])

    assert _pids_in(serial_dir) == {os.getpid()}
    workers = _pids_in(parallel_dir)
    assert workers and os.getpid() not in workers
    assert workers <= pool_pids  # the brickwork pool's workers did the scoring


def test_grid_search_logistic_regression_all_cores():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    serial = GridSearchCV(LogisticRegression(max_iter=1000), grid, n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="brickwork"):
        parallel = GridSearchCV(LogisticRegression(max_iter=1000), grid, n_jobs=-1).fit(X, y)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


# ---- failures, timeouts, configuration ------------------------------------------------------


def test_killed_worker_raises_worker_lost_error_then_recovers():
    with joblib.parallel_config(backend="brickwork"):
        with pytest.raises(WorkerLostError):
            Parallel(n_jobs=2)(delayed(_kill_self)(i) for i in range(2))
        assert Parallel(n_jobs=2)(delayed(_square)(i) for i in range(4)) == [0, 1, 4, 9]


def test_max_retries(tmp_path):
    marker = str(tmp_path / "died-once")
    with joblib.parallel_config(backend="brickwork", max_retries=1):
        got = Parallel(n_jobs=2)(delayed(_kill_self_once)(marker) for _ in range(1))
    assert got == ["survived"]


def test_parallel_timeout_kills_the_work_and_recovers():
    with joblib.parallel_config(backend="brickwork"):
        start = time.monotonic()
        with pytest.raises(multiprocessing.TimeoutError):  # what joblib raises, as with loky
            Parallel(n_jobs=2, timeout=0.5)(delayed(_sleep)(s) for s in (0.01, 30.0))
        assert time.monotonic() - start < 10
        assert Parallel(n_jobs=2)(delayed(_square)(i) for i in range(3)) == [0, 1, 4]


def test_inner_max_num_threads():
    with joblib.parallel_config(backend="brickwork", inner_max_num_threads=1):
        settings_seen = Parallel(n_jobs=2)(delayed(_thread_settings)() for _ in range(2))
    for omp, blas in settings_seen:
        assert omp == "1"
        assert all(n == 1 for n in blas)


def test_bad_backend_parameters():
    with pytest.raises(ValueError):
        with joblib.parallel_config(backend="brickwork", max_retries=-1):
            pass
    with pytest.raises(TypeError):
        with joblib.parallel_config(backend="brickwork", no_such_option=1):
            pass


def test_shutdown_pool_and_idle_timeout():
    with joblib.parallel_config(backend="brickwork", n_jobs=2):
        Parallel()(delayed(_square)(i) for i in range(4))
    pids = _pool_pids()
    assert pids
    joblib_backend.shutdown_pool()
    assert joblib_backend._keeper.pool is None
    assert _wait_until(lambda: not any(_alive(pid) for pid in pids))

    with joblib.parallel_config(backend="brickwork", n_jobs=2, idle_worker_timeout=0.2):
        Parallel()(delayed(_square)(i) for i in range(4))
        pids = _pool_pids()
        assert pids
        assert _wait_until(lambda: joblib_backend._keeper.pool is None, timeout=5)
    assert _wait_until(lambda: not any(_alive(pid) for pid in pids))


def test_calls_share_the_pool_and_an_abort_spares_the_other_call():
    keeper = joblib_backend._keeper
    results = {}

    def long_call():
        results["long"] = Parallel(n_jobs=2, backend="brickwork")(
            delayed(_sleep)(0.1) for _ in range(10)
        )

    thread = threading.Thread(target=long_call)
    thread.start()
    try:
        assert _wait_until(lambda: keeper._cached is not None and keeper._cached.users >= 1)
        pool = keeper.pool
        # Same configuration: shares the pool; its failure must not kill the other call.
        with pytest.raises(CustomError):
            Parallel(n_jobs=2, backend="brickwork")(delayed(_fail_on)(i, 0) for i in range(3))
        # Another configuration while the pool is busy: a private pool.
        got = Parallel(n_jobs=3, backend="brickwork")(delayed(_pid_and_flag)(i) for i in range(6))
        assert {pid for pid, _ in got}.isdisjoint(pool.pids)
    finally:
        thread.join(WAIT_S)
    assert results["long"] == [0.1] * 10
    assert keeper.pool is pool  # still the cached pool, never killed


def test_one_idle_timer_thread_at_most():
    for _ in range(10):
        Parallel(n_jobs=2, backend="brickwork")(delayed(_square)(i) for i in range(2))
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    assert len(timers) <= 1


def test_register_on_import_waits_for_joblib():
    code = textwrap.dedent(
        """
        import sys
        import brickwork.multiprocessing.joblib_backend as jb
        jb.register_on_import()
        assert "joblib" not in sys.modules
        import joblib
        assert "brickwork" in joblib.parallel.BACKENDS
        with joblib.parallel_config(backend="brickwork"):
            print(joblib.Parallel(n_jobs=2)(joblib.delayed(abs)(-i) for i in range(3)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[0, 1, 2]"


@pytest.mark.parametrize(
    "first, second",
    [
        ("brickwork.array", "sklearn.utils._show_versions"),
        ("sklearn.utils._show_versions", "brickwork.array"),
    ],
)
def test_brickwork_loads_beside_libraries_that_need_static_tls(first, second):
    # scikit-learn's libgomp needs static TLS; brickwork's extension must not use it up
    # (nor need it itself), in either import order.
    code = f"import {first}; import {second}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
