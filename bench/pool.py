#!/usr/bin/env python
"""brickwork.multiprocessing's Pool against its peers, measured in the same run.

Usage:
    python bench/pool.py                    # every workload: tiny, arrays, crash, startup, payloads
    python bench/pool.py tiny arrays        # a subset, in this order
    python bench/pool.py arrays --size-mb 8 --repeat 5
    python bench/pool.py --peers brickwork,mp tiny --tasks 200000
    python bench/pool.py --quick            # small sizes, a smoke run
    python bench/pool.py --no-brickwork     # peers only, without importing brickwork
    python bench/pool.py payloads --payload-mib 1,16,256 --payload-kinds bytes,str

Workloads:
    tiny    100,000 tasks ``inc(x) = x + 1`` through ``map(..., chunksize=1)``; the time per
            task. Peers with a high cost per task (ProcessPoolExecutor, loky, mpire, joblib)
            run ``--slow-tasks`` (20,000) tasks and are compared per task. Goal: brickwork
            <= 5 us per task.
    arrays  ``map(total, arrays, chunksize=1)`` over 20 float64 arrays of 80 MB (``--arrays``,
            ``--size-mb``), against the serial ``[total(a) for a in arrays]``. Goal: brickwork
            within 2x of serial.
    crash   40 tasks sleep 10 ms, one SIGKILLs its own worker. Each peer runs twice in a
            subprocess of its own, once through ``map`` and once task by task (apply_async or
            submit, with callbacks): the table says what raises, after how long, what becomes
            of the other tasks and whether the pool still works. Anything still running
            ``--deadline`` (10 s) after the pool was ready is killed and reported as a hang.
            Goal: brickwork's crashed task raises WorkerLostError within 1 s, the others finish.
    payloads
            one large value through ``apply``, for brickwork and multiprocessing.Pool only: as
            the argument (``apply(size_of, (value,))``, the value made in the parent before
            the clock starts) and as the result (``apply(make, (kind, n))``, made in the
            worker, on the clock for both). Kinds (``--payload-kinds``): bytes, bytearray,
            str (ASCII), list (floats, 9 pickled bytes each), numpy (uint8); sizes
            ``--payload-mib`` (1,16,64,256). Both pools stay open and take turns, run by
            run, so that they share the machine's load; fast rows run more than
            ``--repeat`` times, for at least 0.5 s each (50 runs at most). Goal: brickwork
            within 1.5x of multiprocessing everywhere.

Every pool has 2 processes and is started and warmed with a small map before the clock
starts: start-up is never timed. Times are the best of ``--repeat`` (3) runs with
time.perf_counter; the first run's results are checked. Ratios in the tiny table are
brickwork's time per task divided by the peer's (below 1 means brickwork is faster); in the
arrays table every row is divided by the serial time. If brickwork.multiprocessing cannot be
imported or has no Pool, its rows say why and the peers still run.

brickwork.multiprocessing is imported before any array is created, as brickwork may put
arrays created after its import into shared memory. The arrays table notes it when that
import changes how a plain pickle of the arrays looks, as peers would then profit too.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import math
import os
import pickle
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import CancelledError
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np

PROCESSES = 2
PEERS = {
    "brickwork": "brickwork.multiprocessing.Pool(2)",
    "mp": "multiprocessing.Pool(2)",
    "futures": "concurrent.futures.ProcessPoolExecutor(2)",
    "loky": "loky.get_reusable_executor(2)",
    "mpire": "mpire.WorkerPool(2)",
    "joblib": "joblib.Parallel(2, batch_size=1)",
}
FAST_PEERS = ("brickwork", "mp")  # the peers that run --tasks tiny tasks, not --slow-tasks
MARKS_ENV = "BENCH_POOL_MARKS"  # crash workload: the folder where finished tasks leave a mark
CRASH_ENV = "BENCH_POOL_CRASH"  # crash workload: the index of the task that kills its worker

bmp = None  # brickwork.multiprocessing once load_brickwork() has imported it
BRICKWORK_ERROR = "not imported"


def load_brickwork() -> None:
    """Import brickwork.multiprocessing; on failure remember why, for its table rows."""
    global bmp, BRICKWORK_ERROR
    try:
        import brickwork.multiprocessing as module

        if not hasattr(module, "Pool"):
            raise ImportError("brickwork.multiprocessing has no Pool")
        bmp, BRICKWORK_ERROR = module, None
    except Exception as exc:  # any failure: the peers still run
        bmp, BRICKWORK_ERROR = None, f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------- the tasks (module level)


def inc(x):
    return x + 1


def total(a):
    return float(a.sum())


def noop():
    """A process target that does nothing: what remains is the cost of a process."""


PAYLOAD_KINDS = ("bytes", "bytearray", "str", "list", "numpy")


def make_payload(kind: str, nbytes: int):
    """A value of about nbytes bytes of the given kind (a list: of nbytes pickled)."""
    if kind == "bytes":
        return bytes(nbytes)
    if kind == "bytearray":
        return bytearray(nbytes)
    if kind == "str":
        return "x" * nbytes
    if kind == "list":
        return list(map(float, range(nbytes // 9)))  # a float pickles to 9 bytes
    if kind == "numpy":
        return np.ones(nbytes, dtype=np.uint8)
    raise ValueError(f"unknown payload kind {kind!r}")


def size_of(value) -> int:
    return len(value)


def crash_task(i):
    """Sleep 10 ms and leave a mark; the task numbered $BENCH_POOL_CRASH SIGKILLs its worker."""
    if i == int(os.environ.get(CRASH_ENV, -1)):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.01)
    marks = os.environ.get(MARKS_ENV)
    if marks:
        open(os.path.join(marks, str(i)), "w").close()
    return i


# ---------------------------------------------------------------------- the pools, one API


class Unavailable(Exception):
    """The peer's package is missing (or brickwork's Pool is not there)."""


class StdlibPool:
    """multiprocessing.Pool, and brickwork.multiprocessing.Pool, its drop-in."""

    per_task = True

    def __init__(self, pool):
        self.pool = pool

    def map(self, fn, items):
        return self.pool.map(fn, items, chunksize=1)

    def submit(self, fn, args, on_ok, on_err):
        self.pool.apply_async(fn, args, callback=on_ok, error_callback=on_err)


class ExecutorPool:
    """concurrent.futures.ProcessPoolExecutor and loky's executor."""

    per_task = True

    def __init__(self, executor):
        self.executor = executor

    def map(self, fn, items):
        return list(self.executor.map(fn, items, chunksize=1))

    def submit(self, fn, args, on_ok, on_err):
        def done(future):
            exc = CancelledError() if future.cancelled() else future.exception()
            if exc is None:
                on_ok(future.result())
            else:
                on_err(exc)

        self.executor.submit(fn, *args).add_done_callback(done)


class MpirePool:
    per_task = True

    def __init__(self, pool):
        self.pool = pool

    def map(self, fn, items):
        return self.pool.map(fn, items, chunk_size=1)

    def submit(self, fn, args, on_ok, on_err):
        self.pool.apply_async(fn, args, callback=on_ok, error_callback=on_err)


class JoblibPool:
    per_task = False  # Parallel has no call per task

    def __init__(self, parallel):
        self.parallel = parallel

    def map(self, fn, items):
        from joblib import delayed

        return list(self.parallel(delayed(fn)(x) for x in items))


@contextmanager
def open_pool(peer: str) -> Iterator:
    """A started pool of PROCESSES workers of the given peer, shut down on exit."""
    if peer == "brickwork":
        if bmp is None:
            raise Unavailable(BRICKWORK_ERROR)
        with bmp.Pool(processes=PROCESSES) as pool:
            yield StdlibPool(pool)
        return
    if peer == "mp":
        import multiprocessing

        with multiprocessing.Pool(PROCESSES) as pool:
            yield StdlibPool(pool)
        return
    if peer == "futures":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(PROCESSES) as executor:
            yield ExecutorPool(executor)
        return
    try:
        if peer == "loky":
            from loky import get_reusable_executor
        elif peer == "mpire":
            from mpire import WorkerPool
        elif peer == "joblib":
            from joblib import Parallel
        else:
            raise ValueError(f"unknown peer {peer!r}")
    except ImportError as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
    if peer == "loky":
        executor = get_reusable_executor(max_workers=PROCESSES)
        try:
            yield ExecutorPool(executor)
        finally:
            executor.shutdown(wait=True)
    elif peer == "mpire":
        # keep_alive: without it mpire starts and stops its workers on every map
        with WorkerPool(n_jobs=PROCESSES, keep_alive=True) as pool:
            yield MpirePool(pool)
    else:
        with Parallel(n_jobs=PROCESSES, batch_size=1) as parallel:
            yield JoblibPool(parallel)


def versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("numpy", "brickwork", "loky", "mpire", "joblib", "cloudpickle", "psutil"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


# ------------------------------------------------------------------------- measuring


@dataclass
class Row:
    peer: str
    seconds: float | None = None  # best time of one run
    count: int = 0  # tasks (tiny) or arrays (arrays)
    rate: float | None = None  # us per task (tiny) or GB/s (arrays)
    ratio: float | None = None
    note: str = ""


def best_of(fn: Callable[[], object], repeat: int, check: Callable[[object], None]) -> float:
    """The best wall time of fn over repeat runs; check() sees the first run's result."""
    best = math.inf
    for i in range(max(repeat, 1)):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        if i == 0:
            check(result)
        del result
    return best


def best_of_interleaved(
    calls: dict[str, Callable[[], object]],
    repeat: int,
    check: Callable[[object], None],
    seconds: float = 0.5,
) -> dict[str, float]:
    """The best wall time of each call, the calls taking turns (so that they share the
    machine's load): at least ``repeat`` rounds, more while a call has run for less
    than ``seconds`` in all (50 rounds at most). check() sees each call's first result."""
    best = dict.fromkeys(calls, math.inf)
    spent = dict.fromkeys(calls, 0.0)
    rounds = 0
    while rounds < max(repeat, 1) or (min(spent.values()) < seconds and rounds < 50):
        for name, fn in calls.items():
            gc.collect()
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            best[name], spent[name] = min(best[name], elapsed), spent[name] + elapsed
            if rounds == 0:
                check(result)
            del result
        rounds += 1
    return best


def with_pool(peer: str, body: Callable[[object], Row]) -> Row:
    """Run body with a started pool of peer; a missing peer or a failure becomes the note."""
    print(f"  {PEERS[peer]} ...", file=sys.stderr, flush=True)
    try:
        with open_pool(peer) as pool:
            return body(pool)
    except Unavailable as exc:
        return Row(PEERS[peer], note=f"not available ({exc})")
    except Exception as exc:
        return Row(PEERS[peer], note=f"failed: {type(exc).__name__}: {str(exc)[:200]}")


def tiny(args, peers: list[str]) -> tuple[list[Row], str]:
    rows = []
    for peer in peers:
        n = args.tasks if peer in FAST_PEERS else min(args.tasks, args.slow_tasks)
        expected = list(range(1, n + 1))

        def check(got, expected=expected):
            if list(got) != expected:
                raise AssertionError("wrong results")

        def body(pool, peer=peer, n=n, check=check):
            pool.map(inc, range(200))  # warm: every worker up and importing done
            seconds = best_of(lambda: pool.map(inc, range(n)), args.repeat, check)
            note = f"{n:,} tasks"
            if peer not in FAST_PEERS and n < args.tasks:
                note += " (a slow peer: fewer tasks)"
            return Row(PEERS[peer], seconds, n, seconds / n * 1e6, note=note)

        rows.append(with_pool(peer, body))
    ours = next((r.rate for r in rows if r.peer == PEERS["brickwork"]), None)
    for r in rows:
        if ours is not None and r.rate:
            r.ratio = ours / r.rate
    if ours is None:
        goal = "not measured"
    else:
        goal = f"{'met' if ours <= 5 else 'NOT met'} ({ours:.1f} us per task)"
    return rows, f"Goal: brickwork <= 5 us per task: {goal}"


def arrays(args, peers: list[str]) -> tuple[list[Row], str]:
    n = int(args.size_mb * 1e6 / 8)
    print(f"  creating {args.arrays} arrays of {n:,} float64 ...", file=sys.stderr, flush=True)
    data = [np.random.default_rng(i).random(n) for i in range(args.arrays)]
    nbytes = sum(a.nbytes for a in data)
    expected = [total(a) for a in data]
    small = [np.arange(1000.0) + i for i in range(2 * PROCESSES)]

    def check(got):
        if list(got) != expected:
            raise AssertionError("results differ from the serial ones")

    def row(label, seconds, note=""):
        return Row(label, seconds, len(data), nbytes / seconds / 1e9, note=note)

    serial = best_of(lambda: [total(a) for a in data], args.repeat, check)
    rows = [row("serial [total(a) for a in arrays]", serial, "one process")]

    # does importing brickwork change how the arrays pickle (peers would profit too)?
    from multiprocessing.reduction import ForkingPickler

    pickled = min(len(ForkingPickler.dumps(data[0])), len(pickle.dumps(data[0], protocol=5)))
    shared_note = ""
    if pickled < data[0].nbytes // 2:
        shared_note = (
            f"an array pickles to {pickled:,} bytes, not {data[0].nbytes:,}: "
            "peers may ride on brickwork's shared memory"
        )

    for peer in peers:

        def body(pool, peer=peer):
            pool.map(total, small)  # warm
            seconds = best_of(lambda: pool.map(total, data), args.repeat, check)
            notes = []
            if peer == "joblib":
                notes.append("joblib memmaps arrays > 1 MB to files, in /dev/shm if it has room")
            if shared_note and peer != "brickwork":
                notes.append(shared_note)
            return row(PEERS[peer], seconds, "; ".join(notes))

        rows.append(with_pool(peer, body))
    for r in rows:
        if r.seconds is not None:
            r.ratio = r.seconds / serial
    ours = next((r for r in rows if r.peer == PEERS["brickwork"]), None)
    if ours is None or ours.ratio is None:
        goal = "not measured"
    else:
        goal = f"{'met' if ours.ratio <= 2 else 'NOT met'} ({ours.ratio:.2f}x serial)"
    return rows, f"Goal: brickwork within 2x of serial: {goal}"


# ------------------------------------------------------------------------- payloads


@dataclass
class PayloadRow:
    kind: str
    mib: int
    direction: str  # "argument" or "result"
    seconds: dict  # peer -> best time
    ratio: float | None = None  # brickwork / multiprocessing
    note: str = ""


def payloads(args, peers: list[str]) -> tuple[list[PayloadRow], str]:
    peers = [p for p in peers if p in FAST_PEERS]
    kinds = [k for k in args.payload_kinds.split(",") if k]
    unknown = [k for k in kinds if k not in PAYLOAD_KINDS]
    if unknown:
        known = ", ".join(PAYLOAD_KINDS)
        raise SystemExit(f"unknown payload kind(s): {', '.join(unknown)}; known: {known}")
    sizes = [int(m) for m in args.payload_mib.split(",") if m]
    rows = {
        (kind, mib, direction): PayloadRow(kind, mib, direction, {})
        for kind in kinds
        for mib in sizes
        for direction in ("argument", "result")
    }
    with ExitStack() as stack:
        pools = {}
        for peer in peers:
            try:
                pools[peer] = stack.enter_context(open_pool(peer)).pool
                pools[peer].apply(size_of, (b"warm",))
            except Unavailable as exc:
                for row in rows.values():
                    row.note = f"{PEERS[peer]} not available ({exc})"
        for kind in kinds:
            for mib in sizes:
                print(f"  {kind} {mib} MiB ...", file=sys.stderr, flush=True)
                nbytes = mib << 20
                value = make_payload(kind, nbytes)
                expected = len(value)

                def check_size(got, expected=expected):
                    if got != expected:
                        raise AssertionError(f"size {got}, expected {expected}")

                def check_value(got, value=value):
                    if isinstance(value, np.ndarray):
                        same = np.array_equal(got, value)
                    else:
                        same = got == value
                    if type(got) is not type(value) or not same:
                        raise AssertionError("the result differs from the value made here")

                try:
                    rows[kind, mib, "argument"].seconds = best_of_interleaved(
                        {
                            peer: lambda p=pool, v=value: p.apply(size_of, (v,))
                            for peer, pool in pools.items()
                        },
                        args.repeat,
                        check_size,
                    )
                    rows[kind, mib, "result"].seconds = best_of_interleaved(
                        {
                            peer: lambda p=pool, k=kind, n=nbytes: p.apply(make_payload, (k, n))
                            for peer, pool in pools.items()
                        },
                        args.repeat,
                        check_value,
                    )
                except Exception as exc:
                    for direction in ("argument", "result"):
                        rows[kind, mib, direction].note = (
                            f"failed: {type(exc).__name__}: {str(exc)[:120]}"
                        )
                del value, check_value
    worst = None
    for row in rows.values():
        ours, theirs = row.seconds.get("brickwork"), row.seconds.get("mp")
        if ours is not None and theirs:
            row.ratio = ours / theirs
            if worst is None or row.ratio > worst.ratio:
                worst = row
    if worst is None:
        goal = "not measured"
    else:
        met = all(r.ratio is not None and r.ratio <= 1.5 for r in rows.values())
        goal = (
            f"{'met' if met else 'NOT met'} (worst {worst.ratio:.2f}x: {worst.kind} "
            f"{worst.mib} MiB as the {worst.direction})"
        )
    return list(rows.values()), f"Goal: brickwork within 1.5x of multiprocessing.Pool: {goal}"


# --------------------------------------------------------------------------- crash


@dataclass
class CrashRow:
    peer: str
    api: str
    outcome: str
    time_to_error: float | None
    others: str
    afterwards: str
    note: str = ""


def startup(args, peers: list[str]) -> tuple[list[Row], str]:
    """Start and join one Process that does nothing; best of 20 after a warm-up."""
    import multiprocessing

    candidates = [("brickwork.multiprocessing.Process (fork server)", None)]
    candidates += [(f"multiprocessing.Process ({m})", m) for m in ("fork", "forkserver", "spawn")]
    rows = []
    for label, method in candidates:
        if method is None:
            if BRICKWORK_ERROR:
                rows.append(Row(label, note=f"not available ({BRICKWORK_ERROR})"))
                continue
            from brickwork.multiprocessing import Process
        else:
            Process = multiprocessing.get_context(method).Process

        def once(Process=Process):
            p = Process(target=noop)
            p.start()
            p.join()
            return p.exitcode

        def check(code):
            if code != 0:
                raise AssertionError(f"exit code {code}")

        once()  # warm: the fork server, imports
        seconds = best_of(once, 20 if method != "spawn" else 5, check)
        rows.append(Row(label, seconds, 1, seconds * 1e3))
    ours = rows[0].rate
    goal = "not measured" if ours is None else f"{'met' if ours <= 10 else 'NOT met'} ({ours:.1f} ms)"
    return rows, f"Goal: a new brickwork process starts (and ends) in <= 10 ms: {goal}"


def crash_child(spec: str, n: int) -> int:
    """In a subprocess of its own: run one peer's crash workload, print events as JSON lines."""
    peer, api = spec.split(":")
    lock = threading.Lock()
    start = time.perf_counter()

    def emit(event, **fields):
        fields.update(event=event, t=time.perf_counter() - start)
        with lock:
            print("EVENT " + json.dumps(fields), flush=True)

    def error_fields(exc):
        return {"type": type(exc).__name__, "msg": str(exc)[:70]}

    if peer == "brickwork":
        load_brickwork()
    try:
        with open_pool(peer) as pool:
            pool.map(inc, range(20))  # warm: workers up before the clock starts
            if api == "per task" and not pool.per_task:
                emit("unavailable", error="no per-task API")
                return 0
            emit("ready")
            start = time.perf_counter()
            if api == "map":
                try:
                    out = pool.map(crash_task, range(n))
                    emit("map_ok", n=len(out))
                except Exception as exc:
                    emit("map_error", **error_fields(exc))
            else:
                finished = threading.Semaphore(0)

                def on_ok(i, value):
                    emit("result", i=i, ok=True)
                    finished.release()

                def on_err(i, exc):
                    emit("result", i=i, ok=False, **error_fields(exc))
                    finished.release()

                for i in range(n):
                    pool.submit(
                        crash_task,
                        (i,),
                        lambda value, i=i: on_ok(i, value),
                        lambda exc, i=i: on_err(i, exc),
                    )
                for _ in range(n):
                    finished.acquire()
                emit("all_done")
            try:  # does the pool still work?
                got = pool.map(inc, range(10))
                if got == list(range(1, 11)):
                    emit("reuse_ok")
                else:
                    emit("reuse_wrong", got=repr(got)[:60])
            except Exception as exc:
                emit("reuse_error", **error_fields(exc))
            emit("closing")
        emit("closed")
    except Unavailable as exc:
        emit("unavailable", error=str(exc))
    except Exception as exc:
        emit("failed", **error_fields(exc))
    return 0


def run_crash_child(peer: str, api: str, args) -> CrashRow:
    """Run crash_child in a new session; kill its whole process group at the deadline."""
    print(f"  {PEERS[peer]}, {api} ...", file=sys.stderr, flush=True)
    n = args.crash_tasks
    crash_index = n // 4
    with tempfile.TemporaryDirectory(prefix="bench-pool-crash-") as marks:
        cmd = [sys.executable, os.path.abspath(__file__), "--crash-child", f"{peer}:{api}"]
        cmd += ["--crash-tasks", str(n)]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **{MARKS_ENV: marks, CRASH_ENV: str(crash_index)}),
            start_new_session=True,
        )
        events: list[dict] = []
        stderr = collections.deque(maxlen=20)
        ready = threading.Event()

        def read_stdout():
            for line in proc.stdout:
                if line.startswith("EVENT "):
                    event = json.loads(line[6:])
                    events.append(event)
                    if event["event"] in ("ready", "unavailable", "failed"):
                        ready.set()
            ready.set()

        def read_stderr():
            for line in proc.stderr:
                stderr.append(line.rstrip())

        readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
        for reader in readers:
            reader.start()
        killed = stragglers = False
        try:
            ready.wait(args.startup_timeout)  # pool start-up is not on the clock
            try:
                proc.wait(timeout=args.deadline)
            except subprocess.TimeoutExpired:
                killed = True
            else:
                readers[0].join(2.0)  # workers that outlive the child hold the pipe open
                stragglers = readers[0].is_alive()
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            for reader in readers:
                reader.join(5.0)
        ran = {int(name) for name in os.listdir(marks)} - {crash_index}
    return summarize_crash(peer, api, n, crash_index, events, ran, killed, stragglers, stderr, args)


def summarize_crash(peer, api, n, crash_index, events, ran, killed, stragglers, stderr, args):
    label = PEERS[peer]
    kinds = {e["event"]: e for e in events}
    hang = f"hangs (killed after {args.deadline:g} s)"
    if "unavailable" in kinds:
        return CrashRow(
            label, api, f"not available ({kinds['unavailable']['error']})", None, "-", "-"
        )
    if "failed" in kinds and "ready" not in kinds:
        e = kinds["failed"]
        return CrashRow(label, api, f"failed: {e['type']}: {e['msg']}", None, "-", "-")
    if "ready" not in kinds:
        tail = " | ".join(list(stderr)[-3:])
        return CrashRow(label, api, "no pool within the start-up timeout", None, "-", "-", tail)

    others = n - 1
    time_to_error = None
    if api == "map":
        if "map_error" in kinds:
            e = kinds["map_error"]
            outcome, time_to_error = f"map raises {e['type']}", e["t"]
            note = e["msg"]
        elif "map_ok" in kinds:
            outcome, note = f"map returns {kinds['map_ok']['n']} results", ""
        else:
            outcome, note = f"map {hang}", ""
        finished = f"{len(ran)}/{others} ran"
        if "map_error" in kinds:
            finished += ", no results"
    else:
        results = {e["i"]: e for e in events if e["event"] == "result"}
        crashed = results.get(crash_index)
        if crashed is None:
            outcome = "crashed task never resolves"
        elif crashed["ok"]:
            outcome = "crashed task returns a result"
        else:
            outcome, time_to_error = f"crashed task raises {crashed['type']}", crashed["t"]
        if "all_done" not in kinds and killed:
            outcome += f"; {hang}"
        ok = sum(1 for i, e in results.items() if i != crash_index and e["ok"])
        errors = collections.Counter(
            e["type"] for i, e in results.items() if i != crash_index and not e["ok"]
        )
        pending = others - ok - sum(errors.values())
        parts = [f"{ok}/{others} ok"]
        parts += [f"{count} raise {kind}" for kind, count in errors.items()]
        if pending:
            parts.append(f"{pending} pending")
        if ok < others:
            parts.append(f"{len(ran)} ran")
        finished = ", ".join(parts)
        note = crashed.get("msg", "") if crashed and not crashed["ok"] else ""

    if "reuse_ok" in kinds:
        afterwards = "usable"
    elif "reuse_error" in kinds:
        afterwards = f"map raises {kinds['reuse_error']['type']}"
    elif "reuse_wrong" in kinds:
        afterwards = f"map(inc, range(10)) returns {kinds['reuse_wrong']['got']}"
    elif killed and ("all_done" in kinds or "map_error" in kinds or "map_ok" in kinds):
        afterwards = "map hangs"
    else:
        afterwards = "not reached"
    if "closing" in kinds and "closed" not in kinds:
        afterwards += "; shutdown hangs" if killed else "; shutdown fails"
    if stragglers:
        afterwards += "; workers outlive the program"
    return CrashRow(label, api, outcome, time_to_error, finished, afterwards, note)


def crash(args, peers: list[str]) -> tuple[list[CrashRow], str]:
    rows = []
    for peer in peers:
        if peer == "brickwork" and BRICKWORK_ERROR:
            note = f"not available ({BRICKWORK_ERROR})"
            rows.append(CrashRow(PEERS[peer], "-", note, None, "-", "-"))
            continue
        for api in ("map", "per task"):
            row = run_crash_child(peer, api, args)
            if "no per-task API" not in row.outcome:
                rows.append(row)
    ours = next((r for r in rows if r.peer == PEERS["brickwork"] and r.api == "per task"), None)
    others = args.crash_tasks - 1
    if ours is None:
        goal = "not measured"
    else:
        met = (
            ours.outcome == "crashed task raises WorkerLostError"
            and ours.time_to_error is not None
            and ours.time_to_error <= 1.0
            and ours.others.startswith(f"{others}/{others} ok")
        )
        goal = "met" if met else "NOT met"
    return rows, (
        f"Goal: brickwork's crashed task raises WorkerLostError within 1 s and the other "
        f"{others} tasks finish: {goal}"
    )


# ------------------------------------------------------------------------------ output


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join(
        [line(header), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, rows)]
    )


def print_workload(name: str, rows, goal: str) -> None:
    if name == "tiny":
        header = ["peer", "time", "per task", "brickwork / peer", "note"]
        body = [
            [r.peer, fmt_time(r.seconds), "-" if r.rate is None else f"{r.rate:.1f} us"]
            + [fmt_ratio(r.ratio), r.note]
            for r in rows
        ]
    elif name == "startup":
        header = ["how", "start + join", "note"]
        body = [[r.peer, fmt_time(r.seconds), r.note] for r in rows]
    elif name == "payloads":
        header = ["payload", "size", "as", PEERS["brickwork"], PEERS["mp"], "brickwork / mp"]
        header.append("note")
        body = [
            [r.kind, f"{r.mib} MiB", r.direction]
            + [fmt_time(r.seconds.get(p)) for p in ("brickwork", "mp")]
            + [fmt_ratio(r.ratio), r.note]
            for r in rows
        ]
    elif name == "arrays":
        header = ["peer", "time", "GB/s", "time / serial", "note"]
        body = [
            [r.peer, fmt_time(r.seconds), "-" if r.rate is None else f"{r.rate:.2f}"]
            + [fmt_ratio(r.ratio), r.note]
            for r in rows
        ]
    else:
        header = ["peer", "API", "outcome", "time to error", "other tasks", "pool afterwards"]
        header.append("note")
        body = [
            [r.peer, r.api, r.outcome, fmt_time(r.time_to_error), r.others, r.afterwards] + [r.note]
            for r in rows
        ]
    legend = {
        "tiny": "brickwork / peer: brickwork's time per task over the peer's; below 1 is faster. ",
        "arrays": "time / serial: a row's time over the serial loop's. ",
        "payloads": "brickwork / mp: brickwork's time over multiprocessing's; below 1 is faster. ",
    }
    print(markdown(header, body))
    print(f"\n{legend.get(name, '')}{goal}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "workloads", nargs="*", metavar="workload", help=f"any of {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs (default 3)")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument("--tasks", type=int, default=None, help="tiny tasks (default 100,000)")
    parser.add_argument(
        "--slow-tasks", type=int, default=None, help="tiny tasks of the slow peers (20,000)"
    )
    parser.add_argument("--arrays", type=int, default=20, help="arrays in `arrays` (20)")
    parser.add_argument("--size-mb", type=float, default=None, help="MB per array (80)")
    parser.add_argument("--crash-tasks", type=int, default=40, help="tasks in `crash` (40)")
    parser.add_argument(
        "--payload-kinds", default=",".join(PAYLOAD_KINDS), help="kinds in `payloads` (all)"
    )
    parser.add_argument(
        "--payload-mib", default=None, help="MiB sizes in `payloads` (1,16,64,256)"
    )
    parser.add_argument(
        "--deadline", type=float, default=10.0, help="seconds before a crash run is a hang (10)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="seconds for a pool to start (60)"
    )
    parser.add_argument("--no-brickwork", action="store_true", help="peers only, no import")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--crash-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.crash_child:
        return crash_child(args.crash_child, args.crash_tasks)

    names = args.workloads or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    peers = [p for p in args.peers.split(",") if p]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s): {', '.join(unknown)}; known: {', '.join(PEERS)}")
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.tasks = args.tasks or (10_000 if args.quick else 100_000)
    args.slow_tasks = args.slow_tasks or (2_000 if args.quick else 20_000)
    args.size_mb = args.size_mb or (8.0 if args.quick else 80.0)
    args.payload_mib = args.payload_mib or ("1,16" if args.quick else "1,16,64,256")

    if args.no_brickwork:
        global BRICKWORK_ERROR
        BRICKWORK_ERROR = "skipped by --no-brickwork"
    else:
        load_brickwork()  # before any array is created: see the module docstring

    env = versions()
    env.update(cores=os.cpu_count(), platform=platform.platform())
    import multiprocessing

    env["start_method"] = multiprocessing.get_start_method()
    print(", ".join(f"{k} {v}" for k, v in env.items()))
    print(f"{PROCESSES} processes per pool; best of {args.repeat}; pool start-up not timed")
    if BRICKWORK_ERROR:
        print(f"brickwork: not available ({BRICKWORK_ERROR})")
    print()

    results = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows, goal = WORKLOADS[name](args, peers)
        results[name] = {"rows": [asdict(r) for r in rows], "goal": goal}
        print(f"## {name}\n")
        print_workload(name, rows, goal)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "args": vars(args), "results": results}, f, indent=2)
    return 0


WORKLOADS = {
    "tiny": tiny,
    "arrays": arrays,
    "crash": crash,
    "startup": startup,
    "payloads": payloads,
}

if __name__ == "__main__":
    sys.exit(main())
