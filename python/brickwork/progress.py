"""A dependency-free terminal progress bar for ``compute``."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Draw ``[#####.....] 512/1000 tasks | 1.2s elapsed | 420 tasks/s | ETA 1.2s`` on a
    terminal (the estimate of the time left while the work is unfinished).

    An instance is a callable ``progress(done, total)``, as ``brickwork._core.compute``
    expects; each call redraws the line in place with a carriage return. ``close()``
    ends the line. The clock starts when the bar is created.

    Parameters
    ----------
    width : int, default 40
        Number of characters between the brackets.
    stream : file-like, optional
        Where to draw; ``sys.stderr`` (looked up when drawing) if not given.

    Examples
    --------
    >>> with ProgressBar() as bar:
    ...     brickwork.compute(x, progress=bar)
    """

    def __init__(self, width: int = 40, stream: TextIO | None = None) -> None:
        if width < 1:
            raise ValueError(f"width must be at least 1, got {width}")
        self._width = width
        self._stream = stream
        self._start = time.perf_counter()
        self._last: tuple[int, int] | None = None
        self._line_length = 0
        self._closed = False

    def __call__(self, done: int, total: int) -> None:
        """Redraw the bar for ``done`` of ``total`` tasks."""
        if self._closed:
            return
        self._last = (done, total)
        self._draw(done, total, end="")

    def close(self) -> None:
        """Draw the last state once more and end the line (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._last is not None:
            self._draw(*self._last, end="\n")

    def __enter__(self) -> ProgressBar:
        """Return the bar."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the bar."""
        self.close()

    def format(self, done: int, total: int, elapsed: float) -> str:
        """Return the text of the bar (without carriage return) for the given state."""
        fraction = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
        filled = int(fraction * self._width)
        bar = "#" * filled + "." * (self._width - filled)
        rate = done / elapsed if elapsed > 0 else 0.0
        if total < 0:  # unknown total (an iterator of unknown length)
            return f"{done} tasks | {elapsed:.1f}s elapsed | {rate:.0f} tasks/s"
        line = f"[{bar}] {done}/{total} tasks | {elapsed:.1f}s elapsed | {rate:.0f} tasks/s"
        if 0 < done < total and rate > 0:
            line += f" | ETA {(total - done) / rate:.1f}s"
        return line

    def _draw(self, done: int, total: int, end: str) -> None:
        line = self.format(done, total, time.perf_counter() - self._start)
        padding = " " * max(0, self._line_length - len(line))
        self._line_length = len(line)
        stream = self._stream if self._stream is not None else sys.stderr
        try:
            stream.write("\r" + line + padding + end)
            stream.flush()
        except (OSError, ValueError):
            # A closed or broken stream must not abort the computation.
            self._closed = True
