"""Byte quantities: parse ``"128MiB"``-style strings and format byte counts."""

from __future__ import annotations

import re

__all__ = ["format_bytes", "parse_bytes"]

_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "p": 10**15,
    "pb": 10**15,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
    "pi": 2**50,
    "pib": 2**50,
}

_PATTERN = re.compile(
    r"^\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*$"
)


def parse_bytes(value: int | str) -> int:
    """Parse a byte count given as an int or a string such as ``"64MiB"`` or ``"1GB"``.

    Units follow Dask's ``parse_bytes``: ``kB``/``MB``/``GB``/``TB``/``PB`` are powers of
    1000, ``KiB``/``MiB``/``GiB``/``TiB``/``PiB`` powers of 1024; case does not matter and
    the trailing ``B`` is optional.

    Parameters
    ----------
    value : int or str
        A positive number of bytes.

    Returns
    -------
    int
        The number of bytes.

    Raises
    ------
    TypeError
        If ``value`` is neither an int nor a str.
    ValueError
        If the string cannot be parsed or the result is not positive.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"a byte count must be an int or a string like '128MiB', "
            f"got {type(value).__name__} {value!r}"
        )
    if isinstance(value, int):
        n = value
    else:
        match = _PATTERN.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"could not parse {value!r} as a byte count; expected a number with an "
                f"optional unit such as '100kB', '64MiB' or '1GB'"
            )
        n = int(float(match.group(1)) * _UNITS[unit])
    if n <= 0:
        raise ValueError(f"a byte count must be positive, got {value!r}")
    return n


def format_bytes(n: int) -> str:
    """Format a byte count for people, as Dask does: ``format_bytes(2**30) == "1.00 GiB"``.

    Parameters
    ----------
    n : int
        A number of bytes.

    Returns
    -------
    str
        The count with a binary prefix (``kiB`` … ``PiB``) and two decimals, or
        ``"N B"`` below 0.9 kiB.
    """
    for prefix, k in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("ki", 2**10)):
        if n >= k * 0.9:
            return f"{n / k:.2f} {prefix}B"
    return f"{n} B"
