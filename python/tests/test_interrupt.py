"""Ctrl-C during compute raises KeyboardInterrupt within about a second and leaves the
interpreter usable (checked in a subprocess)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

CHILD = textwrap.dedent(
    """
    import time
    import brickwork.array as da

    # About 10**12 sines: hours of work, so only an interrupt can end it.
    work = da.sin(da.arange(10**12, chunks=10**6, dtype="float64")).sum()
    print("READY", flush=True)
    try:
        work.compute()
        print("FINISHED", flush=True)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    small = (da.arange(10, chunks=3) + 1).sum().compute()
    print("SMALL", int(small), flush=True)
    """
)

INTERRUPT_LIMIT_S = 2.0


def _reader(stream, lines):
    for line in stream:
        lines.put((time.monotonic(), line.strip()))
    lines.put((time.monotonic(), None))


def _expect(lines, wanted, timeout):
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {wanted!r}")
        stamp, line = lines.get(timeout=remaining)
        if line is None:
            raise AssertionError(f"child exited before printing {wanted!r}")
        if line.startswith(wanted):
            return stamp, line
        if line == "FINISHED":
            raise AssertionError("the long computation finished; it should have been interrupted")


def _interrupt(child: str, small: str) -> None:
    """Run ``child``, send it SIGINT once it is busy, and check it raised
    KeyboardInterrupt in time and then printed ``small``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        _expect(lines, "READY", timeout=120)
        time.sleep(1.0)  # let the computation get going
        assert proc.poll() is None, proc.stderr.read()
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        stamp, _ = _expect(lines, "INTERRUPTED", timeout=30)
        assert stamp - sent < INTERRUPT_LIMIT_S, f"KeyboardInterrupt after {stamp - sent:.2f} s"
        _, line = _expect(lines, "SMALL", timeout=60)
        assert line == small
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_compute_and_leaves_interpreter_usable():
    _interrupt(CHILD, "SMALL 55")


DELAYED_CHILD = textwrap.dedent(
    """
    import time
    import brickwork

    # 4000 calls of 50 ms on 2 threads: minutes of work, so only an interrupt ends it.
    nap = brickwork.delayed(lambda i: time.sleep(0.05) or i)
    work = brickwork.delayed(sum)([nap(i) for i in range(4000)])
    print("READY", flush=True)
    try:
        work.compute(num_threads=2)
        print("FINISHED", flush=True)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    print("SMALL", brickwork.delayed(sum)([1, 2, 3]).compute(), flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_delayed_calls():
    _interrupt(DELAYED_CHILD, "SMALL 6")
