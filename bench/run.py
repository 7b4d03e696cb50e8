#!/usr/bin/env python
"""brickwork's benchmarks, measured against NumPy and Dask in the same run.

Usage:
    python bench/run.py            # the workloads of issue 2 at full size
    python bench/run.py --quick    # smaller sizes, a smoke run of a few seconds
    python bench/run.py --only quickstart,fused --repeat 5 --json results.json

Each workload runs once to warm up, then ``--repeat`` times; the best time is reported.
Dask runs with its threaded scheduler when it is installed. The table prints the times
and the ratios brickwork/NumPy and brickwork/Dask (below 1 means brickwork is faster),
and each workload's target from issue 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

import brickwork
import brickwork.array as bda

try:
    import dask
    import dask.array as dda
except ImportError:  # Dask is an optional peer
    dask = None
    dda = None


@dataclass
class Result:
    name: str
    description: str
    brickwork: float
    numpy: float | None = None
    dask: float | None = None
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)


def best_of(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """The best wall time of fn over repeat runs, after warmup runs."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def dask_compute(arr):
    return arr.compute(scheduler="threads")


def check(label: str, got, expected, rtol: float = 1e-9) -> None:
    got = np.asarray(got)
    expected = np.asarray(expected)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=0):
        raise SystemExit(f"{label}: result differs from NumPy's")


# --------------------------------------------------------------------------- workloads


def quickstart(sizes, repeat: int) -> Result:
    n, block = sizes["quickstart_n"], sizes["quickstart_block"]
    x = np.random.default_rng(0).random((n, n))
    chunks = (block, block)

    def ours():
        return bda.from_array(x, chunks=chunks).mean(axis=0).compute()

    check("quickstart", ours(), x.mean(axis=0))
    result = Result(
        "quickstart",
        f"from_array({n}x{n} float64, chunks={block}x{block}).mean(axis=0).compute()",
        brickwork=best_of(ours, repeat),
        numpy=best_of(lambda: x.mean(axis=0), repeat),
        target="<= 0.5x NumPy",
    )
    if dda is not None:
        result.dask = best_of(
            lambda: dask_compute(dda.from_array(x, chunks=chunks).mean(axis=0)), repeat
        )
        result.notes.append("Dask's from_array hashes the array (default name=None)")
    result.met = result.brickwork <= 0.5 * result.numpy
    return result


def many_tasks(sizes, repeat: int) -> Result:
    n, dask_n = sizes["tasks_n"], sizes["tasks_dask_n"]
    v = np.random.default_rng(1).random(n)

    def ours():
        return (bda.from_array(v, chunks=1) + 1).sum().compute()

    check("many_tasks", ours(), (v + 1).sum())
    result = Result(
        "many_tasks",
        f"(from_array({n:,} elements, chunks=1) + 1).sum().compute()",
        brickwork=best_of(ours, repeat),
        numpy=best_of(lambda: (v + 1).sum(), repeat),
        target="< 2 s" if n == 10**6 else "< 2 s at 10**6 tasks",
    )
    if dda is not None:
        small = v[:dask_n]
        dask_time = best_of(
            lambda: dask_compute((dda.from_array(small, chunks=1) + 1).sum()),
            repeat=min(repeat, 2),
        )
        result.dask = dask_time * (n / dask_n)
        result.notes.append(
            f"Dask ran {dask_n:,} chunks and its time is scaled x{n / dask_n:g} "
            "(a graph of this size takes Dask minutes)"
        )
    result.met = n != 10**6 or result.brickwork < 2.0
    return result


def build_only(sizes, repeat: int) -> Result:
    rows = sizes["build_rows"]
    shape = (rows, 1000)

    def ours():
        return (bda.zeros(shape, chunks=1000) * 2 + 1).mean(axis=1)

    expr = ours()
    assert expr.shape == (rows,) and expr.numblocks == (rows // 1000,)
    result = Result(
        "build_only",
        f"(zeros({rows:.0e} x 1000, chunks=1000) * 2 + 1).mean(axis=1), no compute "
        f"({rows // 1000:,} chunks)",
        brickwork=best_of(ours, max(repeat, 5)),
        target="< 10 ms",
    )
    if dda is not None:
        result.dask = best_of(
            lambda: (dda.zeros(shape, chunks=1000) * 2 + 1).mean(axis=1),
            repeat=min(repeat, 2),
        )
    result.notes.append("NumPy has no lazy expressions")
    result.met = result.brickwork < 0.010
    return result


def fused(sizes, repeat: int) -> Result:
    n, block = sizes["fused_n"], sizes["fused_block"]
    rng = np.random.default_rng(2)
    x = rng.random((n, n))
    y = rng.random((n, n))
    chunks = (block, block)

    def ours():
        bx = bda.from_array(x, chunks=chunks)
        by = bda.from_array(y, chunks=chunks)
        return bda.sqrt(bx**2 + by**2).mean().compute()

    def theirs():
        return np.sqrt(x**2 + y**2).mean()

    check("fused", ours(), theirs())
    result = Result(
        "fused",
        f"sqrt(x**2 + y**2).mean() on two {n}x{n} float64 (chunks={block}x{block})",
        brickwork=best_of(ours, repeat),
        numpy=best_of(theirs, repeat),
        target="<= 0.5x NumPy",
    )
    if dda is not None:

        def dask_run():
            dx = dda.from_array(x, chunks=chunks)
            dy = dda.from_array(y, chunks=chunks)
            return dask_compute(dda.sqrt(dx**2 + dy**2).mean())

        result.dask = best_of(dask_run, repeat)
    result.met = result.brickwork <= 0.5 * result.numpy
    return result


def rechunk(sizes, repeat: int) -> Result:
    """Issue 5's rechunk workload: rows to columns, end to end to a NumPy result."""
    n = sizes["rechunk_n"]
    x = np.random.default_rng(5).random((n, n))
    rows, cols = (n // 100, n), (n, n // 100)

    def ours():
        return bda.from_array(x, chunks=rows).rechunk(cols).compute()

    check("rechunk", ours(), x)
    result = Result(
        "rechunk",
        f"from_array({n}x{n} float64, chunks={rows[0]}x{rows[1]}).rechunk({cols[0]}x{cols[1]})"
        ".compute()",
        brickwork=best_of(ours, repeat),
        numpy=best_of(lambda: x.copy(), repeat),
        target=">= Dask's speed",
    )
    if dda is not None:
        result.dask = best_of(
            lambda: dask_compute(dda.from_array(x, chunks=rows).rechunk(cols)), repeat
        )
        result.met = result.brickwork <= result.dask
    result.notes.append(
        "the whole rechunked array is materialized; NumPy's column is x.copy(). brickwork's "
        "rechunk is a view, so its tasks copy column blocks straight into the result"
    )
    return result


def matmul(sizes, repeat: int) -> Result:
    """Issue 5's matmul workload: a chunked float64 matrix product."""
    n, block = sizes["matmul_n"], sizes["matmul_block"]
    rng = np.random.default_rng(6)
    x, y = rng.random((n, n)), rng.random((n, n))
    chunks = (block, block)

    def ours():
        return (bda.from_array(x, chunks=chunks) @ bda.from_array(y, chunks=chunks)).compute()

    check("matmul", ours(), x @ y)
    result = Result(
        "matmul",
        f"from_array({n}x{n}, chunks={block}x{block}) @ from_array(...), compute",
        brickwork=best_of(ours, repeat),
        numpy=best_of(lambda: x @ y, repeat),
        target="<= 1x NumPy",
    )
    if dda is not None:
        result.dask = best_of(
            lambda: dask_compute(
                dda.from_array(x, chunks=chunks) @ dda.from_array(y, chunks=chunks)
            ),
            repeat,
        )
    result.met = result.brickwork <= result.numpy
    result.notes.append("NumPy uses its bundled OpenBLAS (threads as configured on this machine)")
    return result


def zarr_mean(sizes, repeat: int) -> Result:
    """Issue 3's read workload at a size this machine writes quickly: a zstd Zarr store
    read and reduced with mean(axis=0), throughput in GB/s beside Dask + zarr-python."""
    import shutil
    import tempfile

    rows, cols = sizes["zarr_rows"], sizes["zarr_cols"]
    chunks = (rows // 10, cols // 10)
    tmp = tempfile.mkdtemp(prefix="brickwork-bench-")
    path = os.path.join(tmp, "x.zarr")
    try:
        x = np.random.default_rng(4).random((rows, cols))
        bda.from_array(x, chunks=chunks).to_zarr(path)
        expected = x.mean(axis=0)
        nbytes = x.nbytes
        del x

        def ours():
            return bda.from_zarr(path).mean(axis=0).compute()

        check("zarr_mean", ours(), expected)
        result = Result(
            "zarr_mean",
            f"from_zarr({rows}x{cols} float64, zstd, chunks={chunks[0]}x{chunks[1]})"
            ".mean(axis=0).compute()",
            brickwork=best_of(ours, repeat),
            numpy=None,
            target=">= 5x Dask's throughput",
        )
        result.notes.append(
            f"brickwork reads {nbytes / result.brickwork / 1e9:.2f} GB/s of array data"
        )
        if dda is not None:
            try:
                import zarr  # noqa: F401

                result.dask = best_of(
                    lambda: dask_compute(dda.from_zarr(path).mean(axis=0)), repeat
                )
                result.notes.append(
                    f"Dask + zarr-python reads {nbytes / result.dask / 1e9:.2f} GB/s"
                )
                result.met = result.brickwork * 5 <= result.dask
            except ImportError:
                result.notes.append("zarr-python is not installed: no Dask run")
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


WORKLOADS = {
    "quickstart": quickstart,
    "many_tasks": many_tasks,
    "build_only": build_only,
    "fused": fused,
    "zarr_mean": zarr_mean,
    "rechunk": rechunk,
    "matmul": matmul,
}

FULL = dict(
    quickstart_n=10_000,
    quickstart_block=1000,
    tasks_n=1_000_000,
    tasks_dask_n=100_000,
    build_rows=10**9,
    fused_n=10_000,
    fused_block=1000,
    zarr_rows=8000,
    zarr_cols=10_000,
    rechunk_n=10_000,
    matmul_n=4000,
    matmul_block=1000,
)
QUICK = dict(
    quickstart_n=2000,
    quickstart_block=500,
    tasks_n=100_000,
    tasks_dask_n=10_000,
    build_rows=10**8,
    fused_n=2000,
    fused_block=500,
    zarr_rows=1000,
    zarr_cols=1000,
    rechunk_n=2000,
    matmul_n=800,
    matmul_block=200,
)


# ------------------------------------------------------------------------------ output


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ours: float, theirs: float | None) -> str:
    if theirs is None or theirs == 0:
        return "-"
    ratio = ours / theirs
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def print_table(results: list[Result]) -> None:
    header = ["workload", "brickwork", "NumPy", "Dask", "bw/NumPy", "bw/Dask", "target", "met"]
    rows = [
        [
            r.name,
            fmt_time(r.brickwork),
            fmt_time(r.numpy),
            fmt_time(r.dask),
            fmt_ratio(r.brickwork, r.numpy),
            fmt_ratio(r.brickwork, r.dask),
            r.target,
            {True: "yes", False: "NO", None: "-"}[r.met],
        ]
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print()
    for r in results:
        print(f"{r.name}: {r.description}")
        for note in r.notes:
            print(f"    note: {note}")


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "dask": getattr(dask, "__version__", None),
        "brickwork": getattr(brickwork, "__version__", "unknown"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per workload")
    parser.add_argument(
        "--only", default=None, help=f"comma-separated subset of {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (2 if args.quick else 5)
    names = list(WORKLOADS) if args.only is None else args.only.split(",")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")

    env = environment()
    print(
        "brickwork {brickwork}, NumPy {numpy}, Dask {dask}, Python {python}, "
        "{cores} cores, {platform}".format(**env)
    )
    print(f"best of {repeat} after one warm-up run{' (--quick sizes)' if args.quick else ''}\n")

    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(WORKLOADS[name](sizes, repeat))
    if args.quick:
        for r in results:
            r.met = None  # the targets are stated for the full sizes
    print_table(results)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "environment": env,
                    "quick": args.quick,
                    "repeat": repeat,
                    "results": [asdict(r) for r in results],
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
