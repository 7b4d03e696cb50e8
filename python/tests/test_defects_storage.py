"""Writing a result onto its own source (issue 10, D6), and the class: every writer
(``to_npy``, ``store``, ``to_zarr`` / ``Array.to_zarr``) against every reader
(``from_npy``, memory maps, NumPy memory, ``from_zarr``), through symbolic links, hard
links and components of one store, and source files another program truncates.

Before: ``to_npy(from_npy(p) + 1, p)`` truncated the file it read (all 1.0), a reduction
onto its own source died of SIGBUS, and ``to_zarr(from_zarr(s) + 1, s, overwrite=True)``
removed the array before reading it (all 1.0). Nothing may be lost and nothing may kill
the process: scenarios that could crash run in a child process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import brickwork
import brickwork.array as da
from brickwork.array.storage import check_mapped_sources

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    zarr = pytest.importorskip("zarr")


def _run_child(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a SIGBUS there fails the test, not pytest)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


# --------------------------------------------------------------------------- the repro


def test_to_npy_onto_its_own_source(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(10.0))
    a = da.from_npy(path, chunks=3)
    da.to_npy(a + 1, path)
    np.testing.assert_array_equal(np.load(path), np.arange(10.0) + 1)
    # The array made before keeps reading the contents it was made with.
    np.testing.assert_array_equal(a.compute(), np.arange(10.0))
    assert _leftovers(tmp_path, "s.npy") == []


def test_a_reduction_onto_its_own_source_does_not_kill_the_process(tmp_path):
    done = _run_child(
        """
        import numpy as np, brickwork.array as da
        np.save("s.npy", np.ones((2000, 1000)))
        a = da.from_npy("s.npy", chunks=(100, 1000))
        da.to_npy(a.sum(axis=0), "s.npy")
        got = np.load("s.npy")
        assert got.shape == (1000,) and (got == 2000).all(), got
        assert a.sum().compute() == 2_000_000   # the old file, still mapped
        print("ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr)


def test_to_zarr_overwriting_its_own_source_is_refused_and_loses_nothing(tmp_path):
    path = tmp_path / "s.zarr"
    da.to_zarr(da.from_array(np.arange(10.0), chunks=3), path)
    a = da.from_zarr(path)
    with pytest.raises(ValueError, match=r"s\.zarr.*reads the Zarr array"):
        da.to_zarr(a + 1, path, overwrite=True)
    with pytest.raises(ValueError, match="reads the Zarr array"):
        (a + 1).to_zarr(path, overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(path).compute(), np.arange(10.0))
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], np.arange(10.0))
    # Computed first, the result no longer reads the store: replacing it is fine.
    da.to_zarr((a + 1).persist(), path, overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(path).compute(), np.arange(10.0) + 1)


# --------------------------------------------------------------------------- to_npy


def test_to_npy_through_a_symbolic_link_replaces_the_file_it_points_to(tmp_path):
    real, link = tmp_path / "real.npy", tmp_path / "link.npy"
    np.save(real, np.arange(6.0))
    link.symlink_to(real)
    da.to_npy(da.from_npy(real) * 2, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(np.load(real), np.arange(6.0) * 2)
    da.to_npy(da.from_npy(link) + 1, real)
    np.testing.assert_array_equal(np.load(link), np.arange(6.0) * 2 + 1)
    assert _leftovers(tmp_path, "real.npy", "link.npy") == []


def test_to_npy_onto_a_hard_link_of_its_source(tmp_path):
    source, other = tmp_path / "s.npy", tmp_path / "h.npy"
    np.save(source, np.arange(8.0))
    os.link(source, other)
    a = da.from_npy(source, chunks=3)
    da.to_npy(a[::-1] * 10, other)
    np.testing.assert_array_equal(np.load(other), np.arange(8.0)[::-1] * 10)
    np.testing.assert_array_equal(np.load(source), np.arange(8.0))  # the other name
    np.testing.assert_array_equal(a.compute(), np.arange(8.0))


def test_a_failed_to_npy_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(4.0))
    bad = da.ones((4,), chunks=2).map_blocks(lambda b: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        da.to_npy(bad, path)
    np.testing.assert_array_equal(np.load(path), np.arange(4.0))
    with pytest.raises(ZeroDivisionError):
        da.to_npy(bad, tmp_path / "new.npy")
    assert _leftovers(tmp_path, "s.npy") == []


def test_to_npy_without_unnamed_files_uses_a_hidden_one(tmp_path, monkeypatch):
    """Filesystems without O_TMPFILE: a hidden temporary name, removed on failure."""
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    path = tmp_path / "s.npy"
    np.save(path, np.arange(5.0))
    da.to_npy(da.from_npy(path) * 3, path)
    np.testing.assert_array_equal(np.load(path), np.arange(5.0) * 3)
    with pytest.raises(ZeroDivisionError):
        da.to_npy(da.ones(4, chunks=2).map_blocks(lambda b: 1 / 0), path)
    np.testing.assert_array_equal(np.load(path), np.arange(5.0) * 3)
    da.to_npy(da.arange(3), tmp_path / "new.npy")
    assert _leftovers(tmp_path, "s.npy", "new.npy") == []


def test_to_npy_keeps_the_permission_bits_and_writes_any_shape(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(3))
    path.chmod(0o640)
    da.to_npy(da.from_npy(path) + 1, path)
    assert (path.stat().st_mode & 0o777) == 0o640
    # A new file gets the mode np.save gives one (0o666 less the umask).
    np.save(tmp_path / "saved.npy", np.arange(3))
    da.to_npy(da.arange(3), tmp_path / "made.npy")
    assert (tmp_path / "made.npy").stat().st_mode == (tmp_path / "saved.npy").stat().st_mode
    for x in (np.zeros((0, 3)), np.array(5.0), np.arange(7, dtype=np.uint8), np.ones((2, 3), bool)):
        da.to_npy(da.from_array(x), path)
        got = np.load(path)
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_array_equal(got, x)


def test_to_npy_errors_name_the_path(tmp_path):
    with pytest.raises(IsADirectoryError):
        da.to_npy(da.ones(3), tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        da.to_npy(da.ones(3), tmp_path / "missing" / "x.npy")
    with pytest.raises(TypeError, match="brickwork array"):
        da.to_npy(np.ones(3), tmp_path / "x.npy")


def test_arrays_over_a_file_that_to_npy_replaces_keep_working(tmp_path):
    """A live from_npy array over a file that a later to_npy shrinks: the old code
    truncated the mapped file in place, and computing the old array then died of
    SIGBUS."""
    done = _run_child(
        """
        import numpy as np, brickwork.array as da
        np.save("s.npy", np.ones((512, 1024)))
        old = da.from_npy("s.npy", chunks=(64, 1024))
        da.to_npy(da.zeros(3, chunks=1), "s.npy")
        assert old.sum().compute() == 512 * 1024
        assert np.load("s.npy").shape == (3,)
        print("ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr)


# --------------------------------------------------------------------------- store


def test_store_into_the_memory_a_source_reads_computes_aside_first():
    x = np.arange(16.0).reshape(4, 4)
    original = x.copy()
    da.store(da.from_array(x, chunks=1).T + 0, x)
    np.testing.assert_array_equal(x, original.T)
    y = np.arange(10.0)
    da.store(da.from_array(y, chunks=3)[::-1] * 2, y)
    np.testing.assert_array_equal(y, np.arange(10.0)[::-1] * 2)


def test_store_of_several_results_one_overlapping_its_source():
    x = np.arange(12.0).reshape(3, 4)
    original = x.copy()
    a = da.from_array(x, chunks=(1, 2))
    sums = np.empty(4)
    da.store([a.sum(axis=0), a[::-1, ::-1] - 1], [sums, x])
    np.testing.assert_array_equal(sums, original.sum(axis=0))
    np.testing.assert_array_equal(x, original[::-1, ::-1] - 1)


def test_store_into_a_memory_map_of_a_file_a_source_maps(tmp_path):
    source, hard, link = tmp_path / "s.npy", tmp_path / "h.npy", tmp_path / "l.npy"
    x = np.arange(12.0).reshape(3, 4)
    np.save(source, x)
    os.link(source, hard)
    link.symlink_to(source)
    a = da.from_npy(link, chunks=1)
    for target_path in (source, hard, link):
        target = np.lib.format.open_memmap(target_path, mode="r+")
        before = np.array(target)
        da.store(a[::-1] + 0, target)
        target.flush()
        np.testing.assert_array_equal(np.load(source), before[::-1])
        del target


def test_store_refuses_targets_that_share_memory():
    y = np.zeros(10)
    with pytest.raises(ValueError, match="targets 0 and 1 share memory"):
        da.store([da.ones(5, chunks=2), da.ones(5, chunks=2)], [y[:5], y[3:8]])
    da.store([da.ones(5, chunks=2), da.ones(5, chunks=2) * 2], [y[:5], y[5:]])
    np.testing.assert_array_equal(y, [1] * 5 + [2] * 5)


@given(
    data=st.data(),
    op=st.sampled_from(["flip", "T", "roll", "sum", "cumsum", "sort", "shift"]),
)
def test_store_onto_its_source_matches_numpy_out_semantics(data, op):
    n = data.draw(st.integers(1, 7), label="n")
    x = np.arange(n * n, dtype=np.float64).reshape(n, n) % 5
    chunks = data.draw(st.integers(1, n), label="chunks")
    a = da.from_array(x, chunks=chunks)
    funcs = {
        "flip": (lambda v: v[::-1], lambda v: v[::-1]),
        "T": (lambda v: v.T, lambda v: v.T),
        "roll": (lambda v: da.roll(v, 1, axis=1), lambda v: np.roll(v, 1, axis=1)),
        "sum": (lambda v: v.sum(axis=0) + v, lambda v: v.sum(axis=0) + v),
        "cumsum": (lambda v: v.cumsum(axis=0), lambda v: v.cumsum(axis=0)),
        "sort": (lambda v: da.sort(v[::-1], axis=0), lambda v: np.sort(v[::-1], axis=0)),
        "shift": (
            lambda v: da.concatenate([v[1:], v[:1]]),
            lambda v: np.concatenate([v[1:], v[:1]]),
        ),
    }
    lazy, eager = funcs[op]
    expected = eager(x.copy())
    da.store(lazy(a) + 0, x)
    np.testing.assert_array_equal(x, expected)


# --------------------------------------------------------------------------- Zarr


def _write(path, component=None, values=np.arange(6.0)):
    da.to_zarr(da.from_array(values, chunks=4), path, component=component)


def test_to_zarr_components_of_one_store(tmp_path):
    store = tmp_path / "s.zarr"
    _write(store, "g/a")
    _write(store, "g/b", np.ones(6))
    a = da.from_zarr(store, component="g/a")
    # Another array of the same store: fine.
    da.to_zarr(a * 3, store, component="g/b", overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(store, "g/b").compute(), np.arange(6.0) * 3)
    da.to_zarr(a * 3, store, component="g/c")
    # The source itself, or a group above it: refused, whatever the spelling.
    for component in ("g/a", "/g/a/", "g", "", None):
        with pytest.raises(ValueError, match="reads the Zarr array"):
            da.to_zarr(a + 1, store, component=component, overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(store, "g/a").compute(), np.arange(6.0))
    np.testing.assert_array_equal(da.from_zarr(store, "g/c").compute(), np.arange(6.0) * 3)


def test_to_zarr_sees_its_source_through_links_and_relative_paths(tmp_path, monkeypatch):
    real = tmp_path / "real.zarr"
    _write(real, "x")
    link = tmp_path / "link.zarr"
    link.symlink_to(real)
    monkeypatch.chdir(tmp_path)
    a = da.from_zarr("real.zarr", component="x")  # relative to the directory now
    monkeypatch.chdir(tmp_path.parent)
    for url, component in ((link, "x"), (real / ".." / "link.zarr", "x"), (link, None)):
        with pytest.raises(ValueError, match="reads the Zarr array"):
            da.to_zarr(a * 2, url, component=component, overwrite=True)
    np.testing.assert_array_equal(a.compute(), np.arange(6.0))
    # The source as one of several inputs, read through a slice and a rechunk.
    b = da.from_zarr(link, component="x")
    mixed = da.from_array(np.ones(6), chunks=2) + b[::-1].rechunk(3)
    with pytest.raises(ValueError, match="reads the Zarr array"):
        da.to_zarr(mixed, real, component="x", overwrite=True)
    with pytest.raises(ValueError, match="already exists"):
        da.to_zarr(mixed, real, component="x")
    np.testing.assert_array_equal(b.compute(), np.arange(6.0))


def test_zarr_and_npy_feed_each_other(tmp_path):
    npy, store = tmp_path / "s.npy", tmp_path / "s.zarr"
    np.save(npy, np.arange(5.0))
    da.to_zarr(da.from_npy(npy) * 2, store)
    da.to_npy(da.from_zarr(store) + da.from_npy(npy), npy)
    np.testing.assert_array_equal(np.load(npy), np.arange(5.0) * 3)


# --------------------------------------------------------------------------- truncated sources


def test_a_source_file_truncated_by_another_program_raises_os_error(tmp_path):
    done = _run_child(
        """
        import numpy as np, brickwork.array as da
        from brickwork.array.storage import check_mapped_sources
        np.save("s.npy", np.ones((2000, 1000)))
        a = da.from_npy("s.npy", chunks=(100, 1000))
        with open("s.npy", "r+b") as f:   # another program truncates it in place
            f.truncate(4096)
        calls = {
            "to_npy": lambda: da.to_npy(a + 1, "t.npy"),
            "store": lambda: da.store(a.sum(axis=0), np.empty(1000)),
            "to_zarr": lambda: da.to_zarr(a, "t.zarr"),
            "check": lambda: check_mapped_sources([a.sum()._expr]),
        }
        for name, call in calls.items():
            try:
                call()
            except OSError as e:
                assert "s.npy" in str(e) and "4096" in str(e), str(e)
            else:
                raise AssertionError(f"{name}: no OSError")
        import os
        assert not os.path.exists("t.npy") and not os.path.exists("t.zarr")
        # Rewritten in place with a smaller array (np.save truncates): the same.
        np.save("s.npy", np.zeros(3))
        try:
            da.to_npy(a[:5], "t.npy")
        except OSError as e:
            assert "truncated or rewritten" in str(e)
        else:
            raise AssertionError("no OSError")
        # Arrays that do not read the file are not affected.
        da.to_npy(da.arange(4), "t.npy")
        check_mapped_sources([da.ones(3)._expr])
        # Opened again, the file reads its new contents.
        assert da.from_npy("s.npy").sum().compute() == 0
        print("ok")
        """,
        tmp_path,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr)


def test_a_source_file_replaced_by_rename_is_not_an_error(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(4.0))
    a = da.from_npy(path)
    np.save(tmp_path / "new.npy", np.zeros(1))
    os.replace(tmp_path / "new.npy", path)  # the mapped file lives on, unnamed
    check_mapped_sources([a._expr])
    out = np.empty(4)
    da.store(a, out)
    np.testing.assert_array_equal(out, np.arange(4.0))


def test_compute_with_several_outputs_reads_sources_unchanged(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.arange(6.0))
    a = da.from_npy(path, chunks=2)
    total, flipped = brickwork.compute(a.sum(), a[::-1])
    assert total == 15
    da.to_npy(da.from_array(flipped), path)  # a NumPy result now, not the file
    np.testing.assert_array_equal(np.load(path), np.arange(6.0)[::-1])


OPERATIONS = {
    "rechunk": lambda a: a.rechunk((16, 1)),
    "map_blocks": lambda a: a.map_blocks(lambda b: b * 2),
    "take": lambda a: da.take(a, [3, 1], axis=0),
    "matmul": lambda a: a @ a,
    "cumsum": lambda a: a.cumsum(axis=0),
    "sort": lambda a: da.sort(a, axis=0),
    "mean": lambda a: a.mean(axis=1),
    "concatenate": lambda a: da.concatenate([a, a]),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_kind_of_stage_reading_the_source_is_seen(tmp_path, name):
    """The stores a computation reads are found in every kind of stage (map, gather,
    scan, matmul, callback, reduction, the copy of a rechunk against the chunks)."""
    x = np.arange(256.0).reshape(16, 16)
    store_path, npy_path = tmp_path / "s.zarr", tmp_path / "s.npy"
    da.to_zarr(da.from_array(x, chunks=(1, 16)), store_path)
    np.save(npy_path, x)
    op = OPERATIONS[name]
    with pytest.raises(ValueError, match="reads the Zarr array"):
        da.to_zarr(op(da.from_zarr(store_path)), store_path, overwrite=True)
    np.testing.assert_array_equal(da.from_zarr(store_path).compute(), x)
    expected = op(da.from_array(x)).compute()
    da.to_npy(op(da.from_npy(npy_path, chunks=(4, 8))), npy_path)
    np.testing.assert_allclose(np.load(npy_path), expected)


def test_plain_compute_of_a_truncated_npy_source_raises_oserror(tmp_path):
    """Another program truncates the file after from_npy: compute() raises OSError
    naming the file instead of dying of SIGBUS (run in a child to be safe)."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "s.npy"
    code = textwrap.dedent(
        f"""
        import numpy as np, brickwork.array as da
        np.save({str(path)!r}, np.ones((2000, 1000)))
        a = da.from_npy({str(path)!r}, chunks=(100, 1000))
        with open({str(path)!r}, "r+b") as f:
            f.truncate(4096)
        try:
            a.sum().compute()
        except OSError as e:
            assert "s.npy" in str(e), e
            print("OSError")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OSError"
