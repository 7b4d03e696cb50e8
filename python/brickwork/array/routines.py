"""The old home of ``broadcast_to`` and ``rechunk``, kept only for ``random``, which still
imports them from here. They live in ``shape``: import them from there, and delete this
module once ``random`` does."""

from brickwork.array.shape import broadcast_to, rechunk

__all__ = ["broadcast_to", "rechunk"]
