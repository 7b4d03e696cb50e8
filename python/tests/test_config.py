"""brickwork.config.set as a context manager and globally."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from dask.array.core import normalize_chunks

import brickwork
import brickwork.array as da
from _support import assert_matches


def _auto_chunks(n=4096, dtype="uint8"):
    return da.ones(n, dtype=dtype).chunks


def test_context_manager_sets_chunk_size_and_restores_it():
    before = _auto_chunks()
    with brickwork.config.set(chunk_size=1024):
        assert _auto_chunks() == ((1024,) * 4,)
        with brickwork.config.set(chunk_size="2KiB"):
            assert _auto_chunks() == ((2048,) * 2,)
        assert _auto_chunks() == ((1024,) * 4,)
    assert _auto_chunks() == before


def test_context_manager_restores_after_an_exception():
    before = _auto_chunks()
    with pytest.raises(RuntimeError):
        with brickwork.config.set(chunk_size=512):
            assert _auto_chunks() == ((512,) * 8,)
            raise RuntimeError("boom")
    assert _auto_chunks() == before


@pytest.mark.parametrize("size", [1000, "1000B", "1kB", "1 kB"])
def test_chunk_size_accepts_bytes_and_strings(size):
    with brickwork.config.set(chunk_size=size):
        expected = normalize_chunks("auto", (10_000,), limit=1000, dtype=np.dtype("uint8"))
        assert _auto_chunks(10_000) == expected


def test_num_threads_one_gives_numpys_result_deterministically():
    rng = np.random.default_rng(42)
    data = rng.standard_normal((300, 200))
    ints = rng.integers(-1000, 1000, size=(300, 200))
    x = da.from_array(data, chunks=(7, 11))
    i = da.from_array(ints, chunks=(7, 11))
    with brickwork.config.set(num_threads=1):
        one_float = x.sum().compute()
        one_rows = assert_matches(x.mean(axis=1), data.mean(axis=1))
        assert_matches(i.sum(axis=0), ints.sum(axis=0))
    many_float = x.sum().compute()
    many_rows = assert_matches(x.mean(axis=1), data.mean(axis=1))
    np.testing.assert_allclose(one_float, data.sum(), rtol=1e-12)
    # The reduction tree does not depend on the number of threads.
    assert float(one_float) == float(many_float)
    np.testing.assert_array_equal(one_rows, many_rows)


@pytest.mark.parametrize("split_every", [2, 3, 7])
def test_split_every_config_gives_numpys_result(split_every):
    data = np.arange(5000, dtype=np.int64).reshape(50, 100)
    x = da.from_array(data, chunks=(3, 4))
    with brickwork.config.set(split_every=split_every):
        assert_matches(x.sum(), data.sum())
        assert_matches(x.max(axis=1), data.max(axis=1))
        assert_matches(da.argmax(x, axis=0), data.argmax(axis=0))


def test_invalid_config_values_raise():
    with pytest.raises(ValueError):
        brickwork.config.set(num_threads=0)
    with pytest.raises(ValueError):
        brickwork.config.set(chunk_size="lots")
    with pytest.raises(ValueError):
        brickwork.config.set(split_every=1)
    with pytest.raises((TypeError, ValueError), match="no_such_option"):
        brickwork.config.set(no_such_option=3)


def test_global_set_persists_and_default_chunk_size_is_128_mib():
    # In a fresh interpreter: the default, a global change, and a context inside it.
    code = textwrap.dedent(
        """
        import numpy as np
        from dask.array.core import normalize_chunks
        import brickwork
        import brickwork.array as da

        def auto(limit, shape=(3 * 10**8,)):
            return normalize_chunks("auto", shape, limit=limit, dtype=np.dtype("uint8"))

        assert da.ones(3 * 10**8, dtype="uint8").chunks == auto(128 * 2**20)
        brickwork.config.set(chunk_size="1MiB")
        assert da.ones(3 * 10**8, dtype="uint8").chunks == auto(2**20)
        with brickwork.config.set(chunk_size="4MiB"):
            assert da.ones(3 * 10**8, dtype="uint8").chunks == auto(4 * 2**20)
        assert da.ones(3 * 10**8, dtype="uint8").chunks == auto(2**20)
        brickwork.config.set(num_threads=1)
        x = da.from_array(np.arange(100), chunks=7)
        assert int(x.sum().compute()) == 4950
        print("OK")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"
