"""Every user-facing public name of the installed ``dask.array`` and ``dask.array.Array``
exists in ``brickwork.array`` / ``brickwork.array.Array``, or is listed below with the
reason it is left out (issue 12, item 1)."""

from __future__ import annotations

import types

import numpy as np

import pytest

import brickwork.array as da

dask_array = pytest.importorskip("dask.array")

_COMPLEX = "needs complex dtypes: issue 12 item 2"

#: dask.array names brickwork does not have, each with its reason.
EXCLUDED: dict[str, str] = {
    # Dask internals: modules and machinery, not array functions.
    "ARRAY_EXPR_ENABLED": "a Dask internal: the flag of its array-expression backend",
    "array_expr_enabled": "a Dask internal: the flag of its array-expression backend",
    "annotations": "a Dask internal: `from __future__ import annotations` leaking out",
    "backends": "a Dask internal: the backend entry points (NumPy / CuPy)",
    "builtins": "a Dask internal: the builtins module imported by dask.array",
    "chunk": "a Dask internal: the per-chunk kernels of its graph tasks",
    "chunk_types": "a Dask internal: the registry of chunk array types",
    "register_chunk_type": "a Dask internal: the registry of chunk array types",
    "dispatch": "a Dask internal: the backend dispatch registry",
    "einsumfuncs": "a Dask internal: the module behind einsum (da.einsum exists)",
    "importlib": "a Dask internal: the importlib module imported by dask.array",
    "warnings": "a Dask internal: the warnings module imported by dask.array",
    "numpy_compat": "a Dask internal: shims over NumPy versions",
    "optimization": "a Dask internal: its task-graph optimizer module",
    "optimize": "a Dask internal: task-graph optimization (brickwork plans at compute)",
    "routines": "a Dask internal: the module its routines are defined in",
    "slicing": "a Dask internal: the graph-building module behind x[...]",
    "ufunc": "a Dask internal: the module its ufunc wrappers are defined in",
    "utils": "a Dask internal: its test and meta helpers",
    "assert_eq": "Dask's test helper (dask.array.utils.assert_eq), not an array function",
    "wrap": "a Dask internal: the module behind ones / zeros / full",
    "tiledb_io": "a Dask internal: the module behind from_tiledb / to_tiledb",
    "PerformanceWarning": "Dask's warning about large task graphs; brickwork never emits it",
    "atop": "a deprecated Dask alias of blockwise (da.blockwise exists)",
    # Not yet: each needs work beyond composing what exists.
    "complex64": _COMPLEX,
    "complex128": _COMPLEX,
    "fft": _COMPLEX,
    "ma": "not yet: masked arrays, issue 12 item 4",
    "lib": "not yet: lib.stride_tricks.sliding_window_view needs overlap.py (another change)",
    "from_delayed": "not yet: needs a delayed source expression in the engine",
    "from_npy_stack": "not yet: issue 12 item 5 (storage); da.from_npy exists",
    "to_npy_stack": "not yet: issue 12 item 5 (storage); da.to_npy exists",
    "to_hdf5": "not yet: issue 12 item 5 (h5py targets)",
    "from_tiledb": "not yet: issue 12 item 5 (array-like sources)",
    "to_tiledb": "not yet: issue 12 item 5 (setitem targets)",
    "frompyfunc": "not yet: object dtype, issue 12 item 3",
    "shuffle": "not yet: Dask's shuffle along an axis by groups of indexers",
    "reshape_blockwise": "not yet: Dask's block-local reshape with explicit chunks",
    "gradient": "not yet: needs map_overlap boundary handling (overlap.py, another change)",
    "cov": "not yet: issue 12 item 1, statistics part",
    "corrcoef": "not yet: issue 12 item 1, statistics part",
    "moment": "not yet: issue 12 item 1, statistics part",
    "histogram2d": "not yet: counting.py is being changed by another change",
    "histogramdd": "not yet: counting.py is being changed by another change",
}

#: dask.array.Array attributes brickwork's Array does not have, each with its reason.
EXCLUDED_METHODS: dict[str, str] = {
    "dask": "a Dask internal: the task graph (brickwork has no __dask_graph__ by design)",
    "to_backend": "a Dask internal: switching the chunk backend (NumPy / CuPy)",
    "to_dask_dataframe": "needs dask.dataframe: a Dask collection, not an array",
    "to_delayed": "not yet: issue 12 item 6 (Dask's collection protocol)",
    "to_svg": "not yet: brickwork draws plans (visualize), not chunk diagrams",
    "to_tiledb": "not yet: issue 12 item 5 (setitem targets)",
    "to_hdf5": "not yet: issue 12 item 5 (h5py targets)",
    "store": "not yet: issue 12 item 5 (da.store exists as a function)",
    "shuffle": "not yet: Dask's shuffle along an axis by groups of indexers",
    "moment": "not yet: issue 12 item 1, statistics part",
    "view": "not yet: reinterpreting bytes needs a cast without conversion in the engine",
}


def _public(names):
    return sorted(n for n in names if not n.startswith("_"))


def test_every_dask_array_name_exists_or_is_excluded_with_a_reason():
    missing = [n for n in _public(dir(dask_array)) if not hasattr(da, n) and n not in EXCLUDED]
    assert missing == [], f"{len(missing)} dask.array names missing: {missing}"


def test_every_dask_array_method_exists_or_is_excluded_with_a_reason():
    names = _public(dir(dask_array.Array))
    missing = [n for n in names if not hasattr(da.Array, n) and n not in EXCLUDED_METHODS]
    assert missing == [], f"{len(missing)} dask.array.Array attributes missing: {missing}"


def test_exclusions_are_still_missing_and_still_in_dask():
    """An excluded name that brickwork now has, or that Dask dropped, leaves the list."""
    stale = [n for n in EXCLUDED if hasattr(da, n) or not hasattr(dask_array, n)]
    stale += [n for n in EXCLUDED_METHODS if hasattr(da.Array, n)]
    stale += [n for n in EXCLUDED_METHODS if not hasattr(dask_array.Array, n)]
    assert stale == []


def test_excluded_modules_are_dask_internals_or_not_yet_done():
    for name, reason in EXCLUDED.items():
        if isinstance(getattr(dask_array, name), types.ModuleType):
            assert reason.startswith(("a Dask internal", "not yet", "needs")), name


def test_array_methods_that_call_the_family_functions():
    x = np.arange(12).reshape(3, 4) % 3
    a = da.from_array(x, chunks=(2, 3))
    np.testing.assert_array_equal(a.trace(offset=1).compute(), x.trace(offset=1))
    for got, want in zip(a.nonzero(), x.nonzero(), strict=True):
        np.testing.assert_array_equal(got.compute(), want)
    c = [np.full((3, 4), 10), np.full((3, 4), 20), np.full((3, 4), 30)]
    np.testing.assert_array_equal(a.choose(c).compute(), x.choose(c))
    assert a.A is a
    np.testing.assert_array_equal(a.partitions[1].compute(), a.blocks[1].compute())
    assert isinstance(a.name, str) and a.name != (a + 0).name
