"""The README quick start at full size, timed beside NumPy (and Dask when installed).

Runs ``from_array(x, chunks=(1000, 1000)).mean(axis=0).compute()`` end to end on a
random float64 array, checks the result against NumPy's ``x.mean(axis=0)`` and prints
the best time of each engine and its speed-up over NumPy.

    python examples/quickstart.py              # 10000 x 10000 (800 MB)
    python examples/quickstart.py --size 4000  # a smaller array
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import brickwork
import brickwork.array as da

CHUNKS = (1000, 1000)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Run ``fn`` once to warm up, then ``repeat`` times; return the best time and a result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def import_dask_array() -> ModuleType | None:
    """``dask.array`` if it is installed, else None."""
    try:
        import dask.array
    except ImportError:
        return None
    return dask.array


def check(name: str, got: Any, expected: np.ndarray) -> None:
    """Exit with an error if ``got`` differs from NumPy's result."""
    if not np.allclose(got, expected):
        raise SystemExit(f"error: {name}'s result differs from NumPy's x.mean(axis=0)")


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, time each engine and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="rows and columns (10000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per engine (5)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeat < 1:
        parser.error("--size and --repeat must be positive")

    n = args.size
    x = np.random.random((n, n))
    print(
        f"quick start: mean(axis=0) of a {n} x {n} float64 array ({x.nbytes / 1e6:.0f} MB), "
        f"chunks {CHUNKS}"
    )
    print(
        f"best of {args.repeat} after one warm-up; brickwork {brickwork.__version__} on "
        f"{brickwork.config.get('num_threads')} threads\n"
    )

    t_numpy, expected = best_of(lambda: x.mean(axis=0), args.repeat)
    rows = [("NumPy", t_numpy)]

    t_bw, got = best_of(lambda: da.from_array(x, chunks=CHUNKS).mean(axis=0).compute(), args.repeat)
    check("brickwork", got, expected)
    rows.append(("brickwork", t_bw))

    dask_array = import_dask_array()
    if dask_array is not None:
        t_dask, got = best_of(
            lambda: dask_array.from_array(x, chunks=CHUNKS).mean(axis=0).compute(), args.repeat
        )
        check("dask", got, expected)
        rows.append(("dask", t_dask))

    print(f"{'engine':<12}{'time':>12}{'speed-up vs NumPy':>20}")
    for name, seconds in rows:
        print(f"{name:<12}{seconds * 1e3:>9.1f} ms{t_numpy / seconds:>19.2f}x")
    print("\nresults agree with NumPy (np.allclose)")


if __name__ == "__main__":
    main()
