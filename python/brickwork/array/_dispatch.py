"""The registries that let ``core`` reach the functions of the modules built on it.

- ``HANDLED_FUNCTIONS`` and ``HANDLED_UFUNCS``: behind ``Array.__array_function__`` and
  ``Array.__array_ufunc__`` (NEP 18 / 13).
- ``ARRAY_METHODS``: behind the ``Array`` methods whose work lives in a family module
  (``x.reshape`` in ``shape``, ``x[...]`` in ``advanced``, ``x.mean`` in ``reductions``,
  ``x @ y`` in ``linalg`` ...).

The family modules fill them at import time (importing ``brickwork.array`` imports every
family); ``core`` only reads them, so it imports none of the modules above it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "ARRAY_METHODS",
    "HANDLED_FUNCTIONS",
    "HANDLED_UFUNCS",
    "array_method",
    "implements",
    "implements_ufunc",
]

F = TypeVar("F", bound=Callable[..., Any])

#: NumPy function -> the brickwork implementation that accepts NumPy's arguments.
HANDLED_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}
#: NumPy ufunc -> the brickwork elementwise function.
HANDLED_UFUNCS: dict[np.ufunc, Callable[..., Any]] = {}
#: ``Array`` method name -> the function (or class) of a family module that does its work.
ARRAY_METHODS: dict[str, Callable[..., Any]] = {}


def _numpy_adapter(np_func: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``func`` with arguments given in ``np_func``'s signature.

    Arguments are bound to NumPy's signature (so positional arguments land where NumPy
    puts them) and passed to ``func`` by name, except the first, passed by position.
    An argument ``func`` does not take is dropped when it is None (``out=None``) or
    NumPy's default, and otherwise raises TypeError naming it.
    """
    np_sig = inspect.signature(np_func)
    accepted = inspect.signature(func).parameters

    def handler(*args: Any, **kwargs: Any) -> Any:
        bound = np_sig.bind(*args, **kwargs)
        items = iter(bound.arguments.items())
        _, first = next(items)
        call_kwargs = {}
        for name, value in items:
            default = np_sig.parameters[name].default
            if name in accepted:
                call_kwargs[name] = value
            elif isinstance(value, bool | int | float | str) and value == default:
                continue
            elif np_sig.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                if value:
                    unsupported = ", ".join(map(repr, value))
                    raise TypeError(
                        f"{np_func.__name__}() arguments {unsupported} are not supported for "
                        "brickwork arrays"
                    )
            elif value is not None:
                raise TypeError(
                    f"{np_func.__name__}() argument {name!r} is not supported for brickwork arrays"
                )
        return func(first, **call_kwargs)

    handler.__name__ = getattr(func, "__name__", "handler")
    handler.__doc__ = func.__doc__
    return handler


def implements(*np_funcs: Callable[..., Any], adapt: bool = True) -> Callable[[F], F]:
    """Register the decorated function for ``np_funcs`` in ``HANDLED_FUNCTIONS``.

    With ``adapt=True`` NumPy's call is re-bound to the function's own parameters;
    with ``adapt=False`` the function is called with NumPy's arguments unchanged.
    """

    def decorator(func: F) -> F:
        for np_func in np_funcs:
            HANDLED_FUNCTIONS[np_func] = _numpy_adapter(np_func, func) if adapt else func
        return func

    return decorator


def implements_ufunc(ufunc: np.ufunc, func: Callable[..., Any]) -> None:
    """Register ``func`` as the lazy implementation of ``ufunc``."""
    HANDLED_UFUNCS[ufunc] = func


def array_method(*names: str) -> Callable[[F], F]:
    """Register the decorated function (or class) in ``ARRAY_METHODS`` as the work of the
    ``Array`` methods ``names`` (default: the function's own name).

    The ``Array`` method checks and reshapes its arguments and calls the function with
    the array first, as the module-level function is called (``x.reshape(2, 3)`` calls
    ``reshape(x, (2, 3))``).
    """

    def decorator(func: F) -> F:
        for name in names or (func.__name__,):
            ARRAY_METHODS[name] = func
        return func

    return decorator
