"""Helpers about user callables, shared by every module that names tasks after them."""

from __future__ import annotations

from typing import Any

__all__ = ["funcname"]


def funcname(func: Any) -> str:
    """The name of a callable for labels and task keys, as ``dask.utils.funcname``:
    ``functools.partial`` objects are unwrapped, a lambda is ``"lambda"``, and an object
    without ``__name__`` gives its type's name."""
    while not hasattr(func, "__name__") and hasattr(func, "func"):  # functools.partial
        func = func.func
    name = str(getattr(func, "__name__", type(func).__name__))
    return "lambda" if name == "<lambda>" else name
