"""Storage faults: a full disk, a read-only directory, truncated chunks, unknown codecs.

The full and read-only filesystems are real: small tmpfs mounts (the tests are skipped
where mounting is not permitted). CI runs as root, where ``chmod`` cannot make a
directory read-only, so a read-only mount is the honest test.
"""

from __future__ import annotations

import json
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import brickwork.array as da

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    zarr = pytest.importorskip("zarr")


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB filesystem."""
    target = tmp_path / f"disk-{uuid.uuid4().hex}"
    if not _mount(target, "size=256k"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty read-only filesystem."""
    target = tmp_path / f"ro-{uuid.uuid4().hex}"
    if not _mount(target, "ro,size=1m"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_raises_os_error_and_earlier_arrays_stay_intact(small_disk):
    small = np.arange(16.0).reshape(4, 4)
    da.from_array(small, chunks=2).to_zarr(small_disk / "g.zarr", component="small")
    big = da.from_array(np.random.default_rng(0).random((300, 300)), chunks=50)
    with pytest.raises(OSError) as info:
        big.to_zarr(small_disk / "g.zarr", component="big")
    message = str(info.value)
    assert "g.zarr" in message and "(chunk big/c/" in message
    assert "space" in message.lower() or "28" in message  # ENOSPC
    np.testing.assert_array_equal(da.from_zarr(small_disk / "g.zarr", component="small").compute(), small)
    back = zarr.open_array(small_disk / "g.zarr", path="small", mode="r")
    np.testing.assert_array_equal(back[...], small)


def test_a_full_disk_fails_to_npy_and_leaves_no_partial_file(small_disk):
    big = da.ones((300, 300), chunks=100)
    target = small_disk / "x.npy"
    with pytest.raises(OSError):
        da.to_npy(big, target)
    assert not target.exists()


def test_writing_into_a_read_only_directory_raises_os_error_naming_the_store(read_only_dir):
    with pytest.raises(OSError) as info:
        da.ones((4, 4), chunks=2).to_zarr(read_only_dir / "r.zarr")
    assert "r.zarr" in str(info.value)


def _store(tmp_path: Path) -> tuple[np.ndarray, Path]:
    x = np.arange(36.0).reshape(6, 6)
    path = tmp_path / "t.zarr"
    z = zarr.create_array(path, shape=x.shape, chunks=(3, 3), dtype="f8", fill_value=-1.0)
    z[...] = x
    return x, path


def test_a_truncated_chunk_raises_os_error_naming_the_store(tmp_path):
    _, path = _store(tmp_path)
    chunk = sorted(p for p in (path / "c").rglob("*") if p.is_file())[0]
    chunk.write_bytes(chunk.read_bytes()[:5])
    with pytest.raises(OSError, match=r"t\.zarr \(chunk c/0/0\)"):
        da.from_zarr(path).compute()


def test_an_unknown_codec_raises_value_error_naming_it(tmp_path):
    _, path = _store(tmp_path)
    meta = json.loads((path / "zarr.json").read_text())
    meta["codecs"].append({"name": "no_such_codec", "configuration": {}})
    (path / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="no_such_codec"):
        da.from_zarr(path)


def test_a_v2_dtype_that_is_not_a_dtype_raises_value_error(tmp_path):
    path = tmp_path / "d.zarr"
    z = zarr.create_array(path, shape=(4,), chunks=(2,), dtype="f8", zarr_format=2)
    z[...] = 1.0
    meta = json.loads((path / ".zarray").read_text())
    meta["dtype"] = "<q99"
    (path / ".zarray").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="d.zarr"):
        da.from_zarr(path)
