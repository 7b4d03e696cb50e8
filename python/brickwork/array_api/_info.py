"""Devices and the inspection object ``__array_namespace_info__`` of the Array API.

brickwork arrays have one device, ``"cpu"``: chunks live in host memory and
``compute`` returns NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["API_VERSIONS", "DEVICE", "__array_namespace_info__", "check_device"]

#: The one device of brickwork arrays (host memory).
DEVICE = "cpu"

#: The versions of the standard ``Array.__array_namespace__(api_version=...)`` accepts
#: (the namespace implements the newest; the older ones are subsets of it, as in NumPy).
API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

_SIGNED = ("int8", "int16", "int32", "int64")
_UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
_FLOATS = ("float32", "float64")
_KINDS: dict[str, tuple[str, ...]] = {
    "bool": ("bool",),
    "signed integer": _SIGNED,
    "unsigned integer": _UNSIGNED,
    "integral": _SIGNED + _UNSIGNED,
    "real floating": _FLOATS,
    "complex floating": (),
    "numeric": _SIGNED + _UNSIGNED + _FLOATS,
}


def check_device(device: Any) -> None:
    """Raise ValueError unless ``device`` is None or ``"cpu"``, brickwork's device."""
    if device is not None and not (isinstance(device, str) and device == DEVICE):
        raise ValueError(f"device {device!r} is not supported: brickwork arrays live on {DEVICE!r}")


class __array_namespace_info__:  # noqa: N801 - the standard's name
    """The inspection utilities of the namespace, as the Array API standard defines them.

    >>> info = brickwork.array_api.__array_namespace_info__()
    >>> info.default_dtypes()["integral"]
    dtype('int64')
    """

    def capabilities(self) -> dict[str, Any]:
        """What the library supports.

        ``"boolean indexing"`` is True: ``x[mask]`` with a brickwork mask is lazy, with
        unknown (NaN, as in Dask) lengths until computed. ``"data-dependent shapes"`` is
        True: ``unique_*``, ``nonzero`` and ``repeat`` with an array of repeats compute
        their input when called. ``"max dimensions"`` is NumPy's limit (results are
        NumPy arrays).
        """
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> str:
        """The default (and only) device, ``"cpu"``."""
        return DEVICE

    def devices(self) -> list[str]:
        """The supported devices: ``["cpu"]``."""
        return [DEVICE]

    def default_dtypes(self, *, device: Any = None) -> dict[str, np.dtype]:
        """The default dtypes: float64 (real floating), int64 (integral and indexing).

        There is no ``"complex floating"`` entry: brickwork has no complex dtypes.

        Raises
        ------
        ValueError
            For a device other than ``"cpu"``.
        """
        check_device(device)
        return {
            "real floating": np.dtype("float64"),
            "integral": np.dtype("int64"),
            "indexing": np.dtype("int64"),
        }

    def dtypes(self, *, device: Any = None, kind: str | tuple[str, ...] | None = None) -> dict:
        """The supported dtypes by name, all of them or those of ``kind``.

        Parameters
        ----------
        device : "cpu" or None
        kind : str or tuple of str, optional
            ``"bool"``, ``"signed integer"``, ``"unsigned integer"``, ``"integral"``,
            ``"real floating"``, ``"complex floating"`` (none here) or ``"numeric"``,
            or a tuple of them (their union).

        Raises
        ------
        ValueError
            For an unknown kind or another device.
        """
        check_device(device)
        if kind is None:
            names: tuple[str, ...] = _KINDS["bool"] + _KINDS["numeric"]
        else:
            kinds = kind if isinstance(kind, tuple) else (kind,)
            unknown = [k for k in kinds if k not in _KINDS]
            if unknown:
                raise ValueError(
                    f"unknown dtype kind {unknown[0]!r}; expected one of {', '.join(_KINDS)}"
                )
            names = tuple(n for k in kinds for n in _KINDS[k])
        return {name: np.dtype(name) for name in dict.fromkeys(names)}
