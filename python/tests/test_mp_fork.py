"""A pool used from a child made by ``os.fork()`` (issue 10, D7).

The standard library's pool hangs there (its worker and result threads exist only in
the parent), and its ``terminate`` signals the parent's workers. brickwork's pool
raises ``PoolError`` at once from every call that would run or wait for tasks, and
``close`` / ``terminate`` / ``join`` return at once without touching the parent's
workers, which keep serving the parent.

Each scenario runs in a real forked child that reports what every call did through a
pipe; the child is killed by ``SIGALRM`` if anything hangs, and the parent waits for
it with a deadline, so no test can hang.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import select
import signal
import time
import traceback

import pytest

from brickwork import _core
from brickwork.multiprocessing import Pool, PoolError, ProcessPoolExecutor, _forkserver

CHILD_ALARM = 20  # seconds before a hung child is killed by SIGALRM
PARENT_DEADLINE = 30  # seconds the parent waits for the child's report


def _square(x):
    return x * x


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _in_child(body):
    """Run ``body()`` in a forked child; return ``(report, how the child ended)``.

    ``body`` returns a dict of JSON values. The child writes it to a pipe and leaves
    with ``os._exit``; it is killed by SIGALRM after ``CHILD_ALARM`` seconds.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CHILD_ALARM)
            try:
                report = body()
            except BaseException:  # noqa: BLE001 - reported to the parent
                report = {"crash": traceback.format_exc()}
                code = 3
            with os.fdopen(write_end, "w") as out:
                json.dump(report, out)
        finally:
            os._exit(code)
    os.close(write_end)
    data = b""
    deadline = time.monotonic() + PARENT_DEADLINE
    with os.fdopen(read_end, "rb") as pipe:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            data += chunk
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish in time")
    if os.WIFSIGNALED(status):
        how = f"killed by signal {os.WTERMSIG(status)}"
    else:
        how = f"exit {os.WEXITSTATUS(status)}"
    return (json.loads(data) if data else None), how


def _outcome(call):
    """What a call did: "ok: <value>" or "<exception type>: <message>", within a time."""
    start = time.monotonic()
    try:
        value = call()
        text = f"ok: {value!r}"
    except Exception as exc:  # noqa: BLE001 - the outcome is the point
        text = f"{type(exc).__name__}: {exc}"
    return {"outcome": text, "seconds": time.monotonic() - start}


def _raised_fork_error(outcome, parent_pid):
    text = outcome["outcome"]
    return (
        text.startswith(f"{PoolError.__name__}: ")
        and f"created in process {parent_pid}" in text
        and "create a new Pool in the child" in text
        and outcome["seconds"] < 1.0
    )


def test_every_entry_point_of_a_parents_pool_raises_in_a_forked_child():
    parent = os.getpid()
    with Pool(2) as pool:
        assert pool.map(_square, range(10)) == [x * x for x in range(10)]
        workers = sorted(pool.pids)
        finished = pool.apply_async(_square, (7,))
        finished.get(timeout=10)
        pending = pool.apply_async(_sleep, (3,))  # still running at the fork
        pending_iter = pool.imap(_sleep, [3])

        def child():
            calls = {
                "map": lambda: pool.map(_square, range(4)),
                "map_async": lambda: pool.map_async(_square, range(4)).get(5),
                "starmap": lambda: pool.starmap(pow, [(2, 3)]),
                "starmap_async": lambda: pool.starmap_async(pow, [(2, 3)]).get(5),
                "apply": lambda: pool.apply(_square, (3,)),
                "apply_async": lambda: pool.apply_async(_square, (3,)).get(5),
                "imap": lambda: next(pool.imap(_square, range(4))),
                "imap_unordered": lambda: list(pool.imap_unordered(_square, range(4))),
                "with": lambda: pool.__enter__(),
                "pending get": lambda: pending.get(),
                "pending wait": lambda: pending.wait(),
                "pending imap next": lambda: next(pending_iter),
            }
            report = {name: _outcome(call) for name, call in calls.items()}
            report["finished get"] = _outcome(lambda: finished.get())
            report["pids"] = _outcome(lambda: pool.pids)
            report["join while running"] = _outcome(pool.join)
            report["close"] = _outcome(pool.close)
            report["join"] = _outcome(pool.join)
            report["terminate"] = _outcome(pool.terminate)
            report["join after terminate"] = _outcome(pool.join)
            # A new pool in the child works.
            with Pool(1) as own:
                report["new pool"] = _outcome(lambda: own.map(_square, range(4)))
            return report

        report, how = _in_child(child)
        assert how == "exit 0", (how, report)
        for name in (
            "map",
            "map_async",
            "starmap",
            "starmap_async",
            "apply",
            "apply_async",
            "imap",
            "imap_unordered",
            "with",
            "pending get",
            "pending wait",
            "pending imap next",
        ):
            assert _raised_fork_error(report[name], parent), (name, report[name])
        assert report["finished get"]["outcome"] == "ok: 49"
        assert report["pids"]["outcome"] == "ok: []"
        # As the standard library: join needs close or terminate first.
        assert report["join while running"]["outcome"] == "ValueError: Pool is still running"
        for name in ("close", "join", "terminate", "join after terminate"):
            assert report[name]["outcome"] == "ok: None", (name, report[name])
            assert report[name]["seconds"] < 1.0
        assert report["new pool"]["outcome"] == "ok: [0, 1, 4, 9]"

        # The parent's pool and its workers are untouched.
        assert pending.get(timeout=10) == 3
        assert next(pending_iter) == 3
        assert sorted(pool.pids) == workers
        assert pool.map(_square, range(10)) == [x * x for x in range(10)]


def test_a_forked_child_can_drop_the_parents_pool_without_hanging():
    # The pool's supervisor, dropped in the child, must neither join the parent's
    # supervisor thread (its handle is a copy: that would wait forever) nor tell it
    # anything. A Pool's supervisor is also held by the pool's result thread, which
    # never runs again in the child, so drop a bare supervisor as well.
    server = _forkserver.start_server(preload=["brickwork._core"])
    supervisor = _core.PoolSupervisor(server.detach(), 1)
    try:
        with Pool(2) as pool:
            pool.map(_square, range(4))
            workers = sorted(pool.pids)

            def child():
                nonlocal pool, supervisor
                start = time.monotonic()
                report = {
                    "finished": supervisor.finished,
                    "pids": supervisor.pids,
                    "events": supervisor.events(0.5),
                }
                supervisor.close()
                supervisor.terminate()
                supervisor.reset()
                supervisor.join()
                del pool, supervisor
                gc.collect()
                report["seconds"] = time.monotonic() - start
                return report

            report, how = _in_child(child)
            assert how == "exit 0", (how, report)
            assert report["seconds"] < 1.0
            assert (report["finished"], report["pids"], report["events"]) == (True, [], [])
            assert sorted(pool.pids) == workers
            assert pool.map(_square, range(4)) == [0, 1, 4, 9]
            assert not supervisor.finished and len(supervisor.pids) <= 1
    finally:
        supervisor.terminate()
        supervisor.join()
        server.popen.wait(timeout=10)


def test_the_executor_of_a_parent_raises_in_a_forked_child():
    with ProcessPoolExecutor(2) as executor:
        assert executor.submit(_square, 5).result(timeout=10) == 25
        pending = executor.submit(_sleep, 3)

        def child():
            return {
                "submit": _outcome(lambda: executor.submit(_square, 2).result(5)),
                "map": _outcome(lambda: list(executor.map(_square, range(3)))),
                "pending result": _outcome(lambda: pending.result()),
                "pending exception": _outcome(lambda: pending.exception()),
                "shutdown": _outcome(lambda: executor.shutdown(wait=True)),
            }

        report, how = _in_child(child)
        assert how == "exit 0", (how, report)
        for name in ("submit", "map", "pending result", "pending exception"):
            assert _raised_fork_error(report[name], os.getpid()), (name, report[name])
        assert report["shutdown"]["outcome"] == "ok: None"
        assert report["shutdown"]["seconds"] < 1.0
        assert pending.result(timeout=10) == 3
        assert executor.submit(_square, 6).result(timeout=10) == 36


def test_the_stdlib_pool_hangs_where_brickwork_raises():
    """The behaviour brickwork improves on: the standard library's map never returns
    in a forked child (its task and result threads are gone)."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_square, range(4))
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.alarm(CHILD_ALARM)
                os.close(read_end)
                pool.map(_square, range(4))
                os.write(write_end, b"returned")
            finally:
                os._exit(0)
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], 2.0)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        assert not ready, "the standard library's map returned in a forked child"


def test_the_joblib_backend_starts_its_own_pool_in_a_forked_child():
    joblib = pytest.importorskip("joblib")
    from brickwork.multiprocessing import joblib_backend

    def run():
        with joblib.parallel_config(backend="brickwork"):
            return joblib.Parallel(n_jobs=2)(joblib.delayed(_square)(x) for x in range(6))

    try:
        assert run() == [x * x for x in range(6)]
        parents = joblib_backend._keeper.pool

        def child():
            report = {"parallel": _outcome(run)}
            ours = joblib_backend._keeper.pool
            report["new pool"] = ours is not None and ours is not parents and not ours._forked()
            joblib_backend.shutdown_pool()
            return report

        report, how = _in_child(child)
        assert how == "exit 0", (how, report)
        assert report["parallel"]["outcome"] == f"ok: {[x * x for x in range(6)]!r}"
        assert report["new pool"] is True
        # The parent's cached pool is untouched.
        assert joblib_backend._keeper.pool is parents and parents._state == "running"
        assert run() == [x * x for x in range(6)]
    finally:
        joblib_backend.shutdown_pool()


def test_processes_scheduler_in_a_forked_child_starts_its_own_pool():
    """A compute with scheduler="processes" in a child of os.fork() makes a new pool
    (the parent's is unusable there) and gets the right answer."""
    import brickwork.array as da

    x = da.arange(8, chunks=2).map_blocks(lambda b: b * 2)
    assert list(x.compute(scheduler="processes")) == [0, 2, 4, 6, 8, 10, 12, 14]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, always exit
        try:
            signal.alarm(20)
            got = x.compute(scheduler="processes")
            os.write(write, b"ok" if list(got) == [0, 2, 4, 6, 8, 10, 12, 14] else b"bad")
        except BaseException as e:  # noqa: BLE001 - any failure is reported
            os.write(write, repr(e).encode()[:200])
        finally:
            os._exit(0)
    os.close(write)
    try:
        _, status = os.waitpid(pid, 0)
        answer = os.read(read, 256)
    finally:
        os.close(read)
    assert answer == b"ok", answer
    assert os.WIFEXITED(status)
