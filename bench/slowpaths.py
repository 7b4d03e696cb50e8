#!/usr/bin/env python
"""Issue 11's slow paths: operations where brickwork was slower than Dask, measured
against Dask (and NumPy for the matrix product) in the same run.

Usage:
    python bench/slowpaths.py                 # every row, full size (about 3 minutes on 2 cores)
    python bench/slowpaths.py --small         # row 1 at 20000x20000 instead of 50000x50000
    python bench/slowpaths.py --only 2,3,9 --repeat 5 --json results.json

Both sides get two threads: ``brickwork.config.set(num_threads=2)`` and Dask's threaded
scheduler with ``num_workers=2``. BLAS (OpenBLAS, through NumPy) is limited to one
thread per scheduler thread with threadpoolctl for the Dask rows, on both sides; the
matrix product against NumPy (row 9) lets NumPy's BLAS use two threads, as brickwork does.

Every row first runs each side once and checks that the results agree (``np.allclose``;
statistically for random numbers, whose streams differ between the libraries); this
run is the warm-up. A row whose results disagree prints FAIL and is not timed. Then the
sides alternate, ``--repeat`` times each (brickwork first in odd repetitions, the peer
first in even ones), and the table shows the median wall-clock time of each side, the
peer's time divided by brickwork's (above 1: brickwork is faster), the row's goal from
issue 11 and whether this run met it. Inputs (``from_array`` of NumPy arrays) are built
before the clock starts; building the expression and computing it are timed.

Row 1 runs every repetition of each side in a fresh Python process
(``python bench/slowpaths.py --child random_mean SIDE N CHUNK``), timed from inside
(imports excluded), and reports the child's peak RSS (the highest over the
repetitions): the kernel's high-water mark of the child's own address space, ``VmHWM``
in ``/proc/self/status``. ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is the same
number on Linux except that it carries the parent's peak over ``fork`` + ``exec``, so a
child of this (large) process would report the parent's memory; it is recorded in
``--json`` as ``maxrss`` and used only where ``/proc`` is missing.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

THREADS = 2
MIB = 1 << 20
GIB = 1 << 30

warnings.filterwarnings("ignore", category=RuntimeWarning)


# ------------------------------------------------------------------------ measuring


@dataclass
class Row:
    num: str
    workload: str
    goal: str
    peer: str = "Dask"
    brickwork: float | None = None  # median seconds
    other: float | None = None  # the peer's median seconds
    bw_times: list[float] = field(default_factory=list)
    peer_times: list[float] = field(default_factory=list)
    bw_cpu: list[float] = field(default_factory=list)  # CPU seconds of the process
    peer_cpu: list[float] = field(default_factory=list)
    bw_rss: int | None = None  # bytes
    peer_rss: int | None = None
    ok: bool = True  # results agree
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.brickwork is None or self.other is None or self.brickwork == 0:
            return None
        return self.other / self.brickwork


def blas_limit(n: int):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


def timed(fn: Callable[[], Any], times: list[float], cpu: list[float]) -> None:
    """Run fn once; append its wall-clock time and the CPU time of this process (all
    threads: a steadier number than the wall clock on a shared machine)."""
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)


def interleave(row: Row, ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int) -> None:
    """Alternate the two sides repeat times each; record the median times."""
    for i in range(repeat):
        if i % 2 == 0:
            timed(ours, row.bw_times, row.bw_cpu)
            timed(theirs, row.peer_times, row.peer_cpu)
        else:
            timed(theirs, row.peer_times, row.peer_cpu)
            timed(ours, row.bw_times, row.bw_cpu)
    row.brickwork = statistics.median(row.bw_times)
    row.other = statistics.median(row.peer_times)


def agree(row: Row, got: Any, expected: Any, what: str = "", **tol: Any) -> bool:
    got, expected = np.asarray(got), np.asarray(expected)
    tol = {"rtol": 1e-9, "atol": 0.0, **tol}
    if got.shape != expected.shape or not np.allclose(got, expected, **tol):
        row.ok = False
        label = f" ({what})" if what else ""
        detail = (
            f"shapes {got.shape} and {expected.shape}"
            if got.shape != expected.shape
            else f"max abs difference {np.max(np.abs(got - expected)):.3g}"
        )
        row.notes.append(f"FAIL: brickwork and {row.peer} disagree{label}: {detail}")
        print(f"FAIL row {row.num}{label}: results disagree, {detail}", file=sys.stderr)
    return row.ok


def run_row(
    row: Row,
    ours: Callable[[], Any],
    theirs: Callable[[], Any],
    check: Callable[[Any, Any], bool],
    repeat: int,
    blas: int = 1,
) -> Row:
    with blas_limit(blas):
        if check(ours(), theirs()):
            interleave(row, ours, theirs, repeat)
    return row


# --------------------------------------------------------------------------- inputs


class Inputs:
    """The NumPy inputs, made once and shared by the rows that use them."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        def make():
            rng = np.random.default_rng(11)
            return rng.random((8000, 8000)), rng.random((8000, 8000))

        return self.get("xy", make)

    def ints(self) -> np.ndarray:
        return self.get("ints", lambda: np.random.default_rng(12).integers(0, 1001, (8000, 8000)))

    def tall(self) -> np.ndarray:
        return self.get("tall", lambda: np.random.default_rng(13).random((200_000, 50)))


def both(lib, arrays: tuple[np.ndarray, ...], chunks) -> list:
    return [lib.from_array(a, chunks=chunks) for a in arrays]


# ----------------------------------------------------------------------------- rows


def row_random_mean(args, inputs: Inputs, bda, dda) -> Row:
    n = 20_000 if args.small else 50_000
    chunk = 5000
    gb = n * n * 8 / 1e9
    row = Row(
        "1",
        f"`random.default_rng(0).random(({n}, {n}), chunks={chunk}).mean()` "
        f"({gb:.1f} GB, a fresh process per run)",
        "≥ 3× Dask and peak RSS < 1 GiB",
    )

    # The agreement check at a small size, in this process, before anything is timed.
    m = 4000
    ours = float(bda.random.default_rng(0).random((m, m), chunks=500).mean().compute())
    theirs = float(dda.random.default_rng(0).random((m, m), chunks=500).mean().compute())
    if not check_uniform_means(row, [ours, theirs], m * m):
        return row

    def child(side: str) -> dict:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "random_mean", side]
        cmd += [str(n), str(chunk)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"row 1 child ({side}) failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    bw_runs, peer_runs = [], []
    for i in range(args.repeat):
        order = ["brickwork", "dask"] if i % 2 == 0 else ["dask", "brickwork"]
        for side in order:
            print(f"  row 1: {side} run {i + 1}/{args.repeat}", file=sys.stderr, flush=True)
            (bw_runs if side == "brickwork" else peer_runs).append(child(side))
    row.bw_times = [r["seconds"] for r in bw_runs]
    row.peer_times = [r["seconds"] for r in peer_runs]
    row.bw_cpu = [r["cpu"] for r in bw_runs]
    row.peer_cpu = [r["cpu"] for r in peer_runs]
    row.brickwork = statistics.median(row.bw_times)
    row.other = statistics.median(row.peer_times)
    row.bw_rss = max(r["peak"] for r in bw_runs)
    row.peer_rss = max(r["peak"] for r in peer_runs)
    base_bw = max(r["baseline"] for r in bw_runs)
    base_dask = max(r["baseline"] for r in peer_runs)
    row.notes.append(
        f"peak RSS after imports, before computing: brickwork {base_bw / MIB:.0f} MiB, "
        f"Dask {base_dask / MIB:.0f} MiB"
    )
    check_uniform_means(row, [r["value"] for r in bw_runs + peer_runs], n * n)
    if row.ok:
        row.met = row.ratio >= 3 and row.bw_rss < GIB
    if args.small:
        row.notes.append("--small: the goal is stated for 50000x50000")
    return row


def check_uniform_means(row: Row, means: list[float], count: int) -> bool:
    """Different streams: every mean within 6 sigma of 0.5."""
    sigma = math.sqrt(1 / 12 / count)
    return agree(row, means, np.full(len(means), 0.5), "means of uniform numbers", atol=6 * sigma)


def child_random_mean(side: str, n: int, chunk: int) -> None:
    """Row 1 in a fresh process: print a JSON line with the time and peak RSS."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    if side == "brickwork":
        import brickwork
        import brickwork.array as lib

        brickwork.config.set(num_threads=THREADS)

        def run():
            return lib.random.default_rng(0).random((n, n), chunks=chunk).mean().compute()

    else:
        import dask
        import dask.array as lib

        dask.config.set(scheduler="threads", num_workers=THREADS)

        def run():
            return lib.random.default_rng(0).random((n, n), chunks=chunk).mean().compute()

    baseline = peak_rss()
    start, start_cpu = time.perf_counter(), time.process_time()
    value = float(run())
    seconds = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            dict(
                seconds=seconds,
                cpu=cpu,
                peak=peak_rss(),
                maxrss=maxrss,
                baseline=baseline,
                value=value,
            )
        )
    )


def peak_rss() -> int:
    """This process's peak RSS in bytes: the kernel's high-water mark of its own address
    space (``VmHWM``). ``ru_maxrss`` is the same number except that Linux carries the
    parent's peak over ``fork`` + ``exec`` (a child of a 1.5 GiB process reports at
    least 1.5 GiB), so it is used only where ``/proc`` is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def row_map_overlap(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("2", '`X.map_overlap(lambda b: b * 2, depth=1, boundary="none").sum()`', "≥ 1.5×")
    x, _ = inputs.xy()
    (bx,), (dx,) = both(bda, (x,), 1000), both(dda, (x,), 1000)

    def f(b):
        return b * 2

    return goal_ratio(
        run_row(
            row,
            lambda: bx.map_overlap(f, depth=1, boundary="none").sum().compute(),
            lambda: dx.map_overlap(f, depth=1, boundary="none").sum().compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_einsum(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("3", '`einsum("ij,ij->j", X, Y)`', "≥ 1.5×")
    x, y = inputs.xy()
    bx, by = both(bda, (x, y), 1000)
    dx, dy = both(dda, (x, y), 1000)
    return goal_ratio(
        run_row(
            row,
            lambda: bda.einsum("ij,ij->j", bx, by).compute(),
            lambda: dda.einsum("ij,ij->j", dx, dy).compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_concat_matvec(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("4", "`concatenate([X, Y]).T @ ones(16000)` (ones with chunks=1000)", "≥ 1.5×")
    x, y = inputs.xy()
    bx, by = both(bda, (x, y), 1000)
    dx, dy = both(dda, (x, y), 1000)
    return goal_ratio(
        run_row(
            row,
            lambda: (bda.concatenate([bx, by]).T @ bda.ones(16000, chunks=1000)).compute(),
            lambda: (dda.concatenate([dx, dy]).T @ dda.ones(16000, chunks=1000)).compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_unique(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("5", "`unique(I)`, I 8000² int64 in [0, 1000], chunks 1000²", "≥ 1.5×")
    ints = inputs.ints()
    (bi,), (di,) = both(bda, (ints,), 1000), both(dda, (ints,), 1000)
    return goal_ratio(
        run_row(
            row,
            lambda: np.asarray(bda.unique(bi)),
            lambda: dda.unique(di).compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_normal_mean(args, inputs: Inputs, bda, dda) -> Row:
    row = Row(
        "6", "`random.default_rng(0).standard_normal((8000, 8000), chunks=1000).mean()`", "≥ 1.5×"
    )
    sigma = 1 / 8000  # of the mean of 8000² standard normal numbers

    def check(a, b):
        return agree(row, [a, b], [0.0, 0.0], "means of normal numbers", atol=6 * sigma)

    return goal_ratio(
        run_row(
            row,
            lambda: float(
                bda.random.default_rng(0)
                .standard_normal((8000, 8000), chunks=1000)
                .mean()
                .compute()
            ),
            lambda: float(
                dda.random.default_rng(0)
                .standard_normal((8000, 8000), chunks=1000)
                .mean()
                .compute()
            ),
            check,
            args.repeat,
        ),
        1.5,
    )


def row_qr(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("7", "`linalg.qr(A)` R only, A 200000×50, chunks (10000, 50) (TSQR)", "≥ 1.5×")
    a = inputs.tall()
    (ba,), (dab,) = both(bda, (a,), (10000, 50)), both(dda, (a,), (10000, 50))

    def check(r1, r2):
        # R is unique up to the sign of each row.
        return agree(row, np.abs(r1), np.abs(r2), "|R|", rtol=1e-7, atol=1e-9)

    return goal_ratio(
        run_row(
            row,
            lambda: bda.linalg.qr(ba)[1].compute(),
            lambda: dda.linalg.qr(dab)[1].compute(),
            check,
            args.repeat,
        ),
        1.5,
    )


def row_median(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("8a", "`median(X, axis=0)`", "≥ 1.5×")
    x, _ = inputs.xy()
    (bx,), (dx,) = both(bda, (x,), 1000), both(dda, (x,), 1000)
    return goal_ratio(
        run_row(
            row,
            lambda: bda.median(bx, axis=0).compute(),
            lambda: dda.median(dx, axis=0).compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_percentile(args, inputs: Inputs, bda, dda) -> Row:
    row = Row("8b", "`percentile(X, [10, 90], axis=0)`", "≥ 1.5×")
    x, _ = inputs.xy()
    (bx,), (dx,) = both(bda, (x,), 1000), both(dda, (x,), 1000)
    return goal_ratio(
        run_row(
            row,
            lambda: bda.percentile(bx, [10, 90], axis=0).compute(),
            lambda: dda.percentile(dx, [10, 90], axis=0).compute(),
            lambda a, b: agree(row, a, b),
            args.repeat,
        ),
        1.5,
    )


def row_svd(args, inputs: Inputs, bda, dda) -> Row:
    import brickwork
    import dask

    row = Row("8c", "`linalg.svd(A)` u, s, v, A 200000×50, chunks (10000, 50)", "≥ 1.5×")
    a = inputs.tall()
    (ba,), (dab,) = both(bda, (a,), (10000, 50)), both(dda, (a,), (10000, 50))

    def check(r1, r2):
        ok = agree(row, r1[1], r2[1], "s", rtol=1e-9)
        # Both sign each singular pair as Dask's svd_flip; compare magnitudes anyway.
        ok = ok and agree(row, np.abs(r1[2]), np.abs(r2[2]), "|v|", rtol=1e-6, atol=1e-9)
        return ok and agree(row, np.abs(r1[0]), np.abs(r2[0]), "|u|", rtol=1e-6, atol=1e-9)

    return goal_ratio(
        run_row(
            row,
            lambda: brickwork.compute(*bda.linalg.svd(ba)),
            lambda: dask.compute(*dda.linalg.svd(dab)),
            check,
            args.repeat,
        ),
        1.5,
    )


def row_matmul(args, inputs: Inputs, bda, dda) -> Row:
    row = Row(
        "9",
        "`A @ B`, 4000² float64, brickwork chunks 1000², computed; NumPy `a @ b`",
        "≥ 1.0× NumPy",
        peer="NumPy",
    )
    rng = np.random.default_rng(14)
    a, b = rng.random((4000, 4000)), rng.random((4000, 4000))
    ba, bb = both(bda, (a, b), 1000)
    run_row(
        row,
        lambda: (ba @ bb).compute(),
        lambda: a @ b,
        lambda r1, r2: agree(row, r1, r2),
        args.repeat,
        blas=THREADS,
    )
    row.notes.append(
        f"NumPy's OpenBLAS with {THREADS} threads; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    return goal_ratio(row, 1.0)


def row_build(args, inputs: Inputs, bda, dda) -> Row:
    row = Row(
        "10",
        '`zeros(10**8, chunks=10**6).map_overlap(f, depth=3, boundary="reflect")`, built, '
        "not computed",
        "brickwork < 1 ms",
    )

    def f(b):
        return b * 2

    def g(b):  # a function that reads its neighbours, for the check
        return b + np.roll(b, 1) - np.roll(b, -2)

    # The check: the same construction, computed at a small size.
    small_ours = bda.arange(10**5, chunks=10**3).map_overlap(g, depth=3, boundary="reflect")
    small_theirs = dda.arange(10**5, chunks=10**3).map_overlap(g, depth=3, boundary="reflect")
    if not agree(row, small_ours.compute(), small_theirs.compute(), "a computed 1e5 version"):
        return row

    def ours():
        return bda.zeros(10**8, chunks=10**6).map_overlap(f, depth=3, boundary="reflect")

    def theirs():
        return dda.zeros(10**8, chunks=10**6).map_overlap(f, depth=3, boundary="reflect")

    big_ours, big_theirs = ours(), theirs()
    if big_ours.shape != big_theirs.shape or big_ours.chunks != big_theirs.chunks:
        row.ok = False
        row.notes.append("FAIL: shapes or chunks differ")
        return row
    # Builds are fast: more repetitions cost little and steady the median.
    interleave(row, ours, theirs, max(args.repeat, 11))
    row.met = row.brickwork < 1e-3
    return row


def goal_ratio(row: Row, goal: float) -> Row:
    if row.ok and row.ratio is not None:
        row.met = row.ratio >= goal
    return row


ROWS: dict[str, Callable[..., Row]] = {
    "1": row_random_mean,
    "2": row_map_overlap,
    "3": row_einsum,
    "4": row_concat_matvec,
    "5": row_unique,
    "6": row_normal_mean,
    "7": row_qr,
    "8a": row_median,
    "8b": row_percentile,
    "8c": row_svd,
    "9": row_matmul,
    "10": row_build,
}


# ---------------------------------------------------------------------------- output


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}×" if ratio < 100 else f"{ratio:,.0f}×"


def fmt_cpu(row: Row) -> str:
    if not row.bw_cpu or not row.peer_cpu:
        return ""
    ours, theirs = statistics.median(row.bw_cpu), statistics.median(row.peer_cpu)
    if max(ours, theirs) < 0.01:
        return f"{ours * 1e3:.2f} / {theirs * 1e3:.2f} ms"
    return f"{ours:.2f} / {theirs:.2f} s"


def fmt_rss(row: Row) -> str:
    if row.bw_rss is None:
        return ""
    return f"{row.bw_rss / MIB:,.0f} MiB / {row.peer_rss / MIB:,.0f} MiB"


def print_table(rows: list[Row]) -> None:
    print(
        "| # | workload | brickwork | peer | peer time | peer / brickwork "
        "| CPU (brickwork / peer) | peak RSS (brickwork / peer) | goal | met |"
    )
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        if not r.ok:
            met = "**FAIL** (results disagree)"
        else:
            met = {True: "yes", False: "**no**", None: "-"}[r.met]
        print(
            f"| {r.num} | {r.workload} | {fmt_time(r.brickwork)} | {r.peer} "
            f"| {fmt_time(r.other)} | {fmt_ratio(r.ratio)} | {fmt_cpu(r)} | {fmt_rss(r)} "
            f"| {r.goal} | {met} |"
        )
    notes = [(r.num, n) for r in rows for n in r.notes]
    if notes:
        print()
        for num, note in notes:
            print(f"- row {num}: {note}")


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (median)")
    parser.add_argument("--small", action="store_true", help="row 1 at 20000x20000")
    parser.add_argument("--only", default=None, help=f"comma-separated rows of {', '.join(ROWS)}")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument(
        "--child", nargs=4, metavar=("ROW", "SIDE", "N", "CHUNK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.child:
        _, side, n, chunk = args.child
        child_random_mean(side, int(n), int(chunk))
        return 0

    names = list(ROWS) if args.only is None else args.only.split(",")
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown row(s): {', '.join(unknown)}")

    import dask
    import dask.array as dda

    import brickwork
    import brickwork.array as bda

    brickwork.config.set(num_threads=THREADS)
    dask.config.set(scheduler="threads", num_workers=THREADS)

    env = dict(
        commit=commit(),
        date=time.strftime("%Y-%m-%d"),
        brickwork=getattr(brickwork, "__version__", "unknown"),
        numpy=np.__version__,
        dask=dask.__version__,
        python=platform.python_version(),
        cores=os.cpu_count(),
        threads=THREADS,
    )
    print(
        "brickwork {brickwork} at {commit}, NumPy {numpy}, Dask {dask}, Python {python}, "
        "{cores} cores, {threads} threads each side, {date}".format(**env)
    )
    print(
        f"median of {args.repeat}, sides interleaved, after a checked warm-up"
        f"{' (--small)' if args.small else ''}; peer / brickwork above 1: brickwork faster\n"
    )

    inputs = Inputs()
    rows = []
    started = time.perf_counter()
    for name in names:
        print(f"row {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rows.append(ROWS[name](args, inputs, bda, dda))
        print(f"row {name} took {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print_table(rows)
    print(f"\n(whole run: {time.perf_counter() - started:.0f} s)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    environment=env,
                    small=args.small,
                    repeat=args.repeat,
                    rows=[asdict(r) for r in rows],
                ),
                f,
                indent=2,
            )
    return 1 if any(not r.ok for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
