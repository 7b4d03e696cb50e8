"""Check, before the extension loads, that this CPU runs the instructions it was built for.

On x86_64 Linux the Rust core is compiled for x86-64-v3 (AVX2 + FMA), as Polars' default
wheels are; an older CPU would crash with an illegal instruction instead of an error.
"""

from __future__ import annotations

import platform
import sys

_NEEDED = ("avx2", "fma", "bmi2")


def check_cpu() -> None:
    """Raise ImportError if the CPU lacks the instructions the extension uses."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next(
                (line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None
            )
    except OSError:
        return
    if flags is None:
        return
    missing = [f for f in _NEEDED if f not in flags]
    if missing:
        raise ImportError(
            f"this CPU lacks {', '.join(missing)}, which brickwork's build (x86-64-v3) needs; "
            'rebuild for it with: RUSTFLAGS="-C target-cpu=x86-64" pip install .'
        )
