"""Storing results into existing arrays, ``.npy`` files and Zarr stores, and reading
``.npy`` files and Zarr stores.

A writer never destroys what its own computation reads:

- ``to_npy`` writes a new file next to the target (unnamed while it is written, where
  the filesystem allows) and renames it over the target only once it is complete, so
  arrays over the old file, including the computation's own sources, keep reading the
  old contents (a memory map holds the old file), and a failed computation leaves the
  old file as it was.
- ``store`` into a NumPy array that a source of the computation also reads (the same
  memory, or a memory map of the same file, whatever its name: symbolic and hard links
  are resolved to the file) computes that result aside first and then copies it in, as
  NumPy does for an ``out=`` argument that overlaps an input.
- ``to_zarr(..., overwrite=True)`` refuses to replace an array (or a group holding one)
  that the computation reads, with a ValueError naming both.

Every writer also checks, before anything runs, that the ``.npy`` files the computation
reads through ``from_npy`` still hold the bytes they were mapped with (``store`` into a
memory map checks every memory-mapped file its sources read): another program truncating
a file under a memory map would otherwise make reading it kill the process (SIGBUS); an
OSError names the file instead. ``check_mapped_sources`` is that check for any
computation. A file truncated while a computation runs is not caught.
"""

from __future__ import annotations

import bisect
import errno
import io
import mmap
import os
import secrets
import stat
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds

from brickwork import _core, config
from brickwork._runner import ProgressArg, _num_threads, _progress_callback, add_check, run
from brickwork.array._dispatch import array_method
from brickwork.array.core import Array
from brickwork.array.creation import from_array

__all__ = ["check_mapped_sources", "from_npy", "from_zarr", "store", "to_npy", "to_zarr"]


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Mapping:
    """One line of ``/proc/self/maps`` that maps a file."""

    start: int
    end: int
    offset: int
    device: str
    inode: int
    path: str


@dataclass(frozen=True)
class _FileRange:
    """The bytes ``[low, high)`` of a mapped file, and the mapping they start in."""

    device: str
    inode: int
    path: str
    low: int
    high: int
    mapping: _Mapping


@dataclass(frozen=True)
class _Region:
    """Memory a computation reads or writes: addresses ``[low, high)`` and, when it is a
    memory map of a file, the file's bytes."""

    low: int
    high: int
    file: _FileRange | None


class _Maps:
    """The file mappings of this process (``/proc/self/maps``; none where there is no
    ``/proc``), for finding which file and bytes an address range maps."""

    def __init__(self) -> None:
        self.mappings: list[_Mapping] = []
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError:
            return
        for line in text.splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) < 5 or parts[4] == "0":
                continue  # anonymous memory
            start, end = (int(v, 16) for v in parts[0].split("-"))
            path = parts[5] if len(parts) > 5 else ""
            self.mappings.append(
                _Mapping(start, end, int(parts[2], 16), parts[3], int(parts[4]), path)
            )
        self.starts = [m.start for m in self.mappings]

    def region(self, low: int, high: int) -> _Region:
        """The memory ``[low, high)``, with the file it maps if it maps one."""
        if high <= low or not self.mappings:
            return _Region(low, high, None)
        i = bisect.bisect_right(self.starts, low) - 1
        if i < 0 or low >= self.mappings[i].end:
            return _Region(low, high, None)
        first = self.mappings[i]
        start = first.offset + (low - first.start)
        return _Region(
            low,
            high,
            _FileRange(first.device, first.inode, first.path, start, start + high - low, first),
        )


def _memory_region(array: np.ndarray) -> _Region:
    low, high = byte_bounds(array)
    return _Region(low, high, None)


def _maps_a_file(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is a memory map (its bases hold an ``mmap``)."""
    base: Any = array
    while base is not None:
        if isinstance(base, mmap.mmap | np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


def _plan_inputs(exprs: Sequence[_core.Expr]) -> list[dict[str, Any]]:
    """The arrays the optimized plan of ``exprs`` reads from outside (NumPy memory and
    stores), each once."""
    inputs: dict[str, dict[str, Any]] = {}
    for stage in _core.plan(list(exprs))["stages"]:
        for item in stage["inputs"]:
            inputs.setdefault(item["key"], item)
    return list(inputs.values())


def _source_regions(inputs: list[dict[str, Any]]) -> list[_Region]:
    """The memory the NumPy sources among ``inputs`` read (addresses only)."""
    regions = []
    for item in inputs:
        if item["kind"] != "memory":
            continue
        low = int(item["key"].split()[-1], 16)
        high = low + int(item["size"]) * np.dtype(item["dtype"]).itemsize
        regions.append(_Region(low, high, None))
    return regions


def _overlap(a: _Region, b: _Region) -> bool:
    """Whether two regions share memory, or map overlapping bytes of one file."""
    if a.low < b.high and b.low < a.high:
        return True
    if a.file is None or b.file is None:
        return False
    fa, fb = a.file, b.file
    same = (fa.device, fa.inode) == (fb.device, fb.inode)
    return same and fa.low < fb.high and fb.low < fa.high


def _file_size(file: _FileRange) -> int | None:
    """The current size of a mapped file, or None if it cannot be found out."""
    m = file.mapping
    try:  # the mapped file itself, even if it was renamed or removed since
        return os.stat(f"/proc/self/map_files/{m.start:x}-{m.end:x}").st_size
    except OSError:
        pass
    try:
        st = os.stat(file.path)
    except OSError:
        return None
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    return st.st_size if (device, st.st_ino) == (file.device, file.inode) else None


def _check_files(regions: list[_Region]) -> None:
    """Raise OSError if a region maps bytes its file no longer has."""
    for region in regions:
        file = region.file
        if file is None:
            continue
        size = _file_size(file)
        if size is not None and size < file.high:
            raise OSError(errno.EIO, _truncated(file.path, file.low, file.high, size))


@dataclass(frozen=True)
class _NpyMap:
    """A memory map ``from_npy`` made: its memory, and the file and the size it needs."""

    array: weakref.ref[np.memmap]
    low: int
    high: int
    path: str
    identity: tuple[int, int]
    start: int
    needed: int


# The memory maps of the from_npy arrays still in use, by id.
_NPY_MAPS: dict[int, _NpyMap] = {}


def _check_npy_files(regions: list[_Region]) -> None:
    """Raise OSError if one of ``regions`` reads a ``from_npy`` memory map whose file has
    become shorter than the map (the file is found again by its path and inode)."""
    for entry in list(_NPY_MAPS.values()):
        if entry.array() is None or not any(
            r.low < entry.high and entry.low < r.high for r in regions
        ):
            continue
        try:
            st = os.stat(entry.path)
        except OSError:
            continue  # removed or renamed: nobody truncates it through this path
        if (st.st_dev, st.st_ino) == entry.identity and st.st_size < entry.needed:
            raise OSError(
                errno.EIO,
                _truncated(entry.path, entry.start, entry.needed, st.st_size),
            )


def _truncated(path: str, low: int, high: int, size: int) -> str:
    return (
        f"the file {path} is read through a memory map (from_npy, np.memmap) as bytes "
        f"{low}..{high}, but it now holds {size} bytes: it was truncated or rewritten in "
        "place after the array over it was made, and reading the missing bytes would kill "
        "the process (SIGBUS). Open the file again (from_npy) to read its new contents"
    )


def check_mapped_sources(exprs: Sequence[_core.Expr]) -> None:
    """Raise OSError if computing ``exprs`` would read bytes of a ``.npy`` file mapped
    by ``from_npy`` that the file no longer holds, because another program truncated or
    rewrote it in place after the array was made: reading them would kill the process
    with SIGBUS. Free when no ``from_npy`` array is alive (nothing is planned then).

    Every computation makes this check before it starts (``_runner.add_check``), and
    the writers (``store``, ``to_npy``, ``to_zarr``) too. A file truncated while a
    computation runs is not caught.

    Raises
    ------
    OSError
        Naming the file, the bytes read and the file's size now.
    """
    if not _NPY_MAPS:
        return
    _check_npy_files(_source_regions(_plan_inputs(exprs)))


add_check(check_mapped_sources)  # every compute, not only the writers


# --------------------------------------------------------------------------- store


def store(
    sources: Array | Sequence[Array],
    targets: np.ndarray | Sequence[np.ndarray],
    progress: ProgressArg = None,
) -> None:
    """Compute ``sources`` and write them into ``targets``, as ``dask.array.store``.

    All sources are computed in one pass over their shared inputs, and each result is
    written straight into its target (no intermediate copy of the result): targets are
    writable, C-contiguous NumPy arrays of the sources' shapes and dtypes, such as
    memory-mapped files, so a result larger than memory streams to disk.

    A target that the computation also reads — the memory of a source array, or a
    memory map of a file a source maps (``from_npy`` of the same file, under any name) —
    is written only after the whole result is computed (aside, in memory, then copied
    in), as NumPy does for an overlapping ``out=``: writing it block by block would
    change data that later blocks still read.

    Raises
    ------
    ValueError
        If the counts, shapes or dtypes differ, a target is not writable and
        C-contiguous, or two targets share memory.
    OSError
        If a memory-mapped file a source reads was truncated since it was mapped.
    """
    single = isinstance(sources, Array)
    srcs = [sources] if single else list(sources)
    tgts = [targets] if isinstance(targets, np.ndarray) else list(targets)
    if len(srcs) != len(tgts):
        raise ValueError(f"{len(srcs)} sources but {len(tgts)} targets")
    for i, (s, t) in enumerate(zip(srcs, tgts)):
        if not isinstance(s, Array):
            raise TypeError(f"source {i} is a {type(s).__name__}, not a brickwork array")
        if not isinstance(t, np.ndarray):
            raise TypeError(f"target {i} is a {type(t).__name__}; store writes into NumPy arrays")
        if t.shape != s.shape or t.dtype != s.dtype:
            raise ValueError(
                f"target {i} has shape {t.shape} and dtype {t.dtype}, but source {i} has "
                f"shape {s.shape} and dtype {s.dtype}"
            )
    _store([s._expr for s in srcs], tgts, progress, fresh=False)


def _store(
    exprs: list[_core.Expr], tgts: list[np.ndarray], progress: ProgressArg, fresh: bool
) -> None:
    """``store`` of checked arguments; ``fresh`` targets are memory nobody else reads
    (``to_npy``'s new file), so they need no overlap test."""
    regions = _source_regions(_plan_inputs(exprs))
    _check_npy_files(regions)
    if fresh:
        run(exprs, progress=progress, into=tgts)
        return
    written = [_memory_region(t) for t in tgts]
    if any(_maps_a_file(t) for t in tgts):
        # Compare files too: a map of a file a source maps, at another address.
        maps = _Maps()
        regions = [maps.region(r.low, r.high) for r in regions]
        written = [maps.region(r.low, r.high) for r in written]
        _check_files(regions)
    for i, a in enumerate(written):
        for j in range(i):
            if _overlap(a, written[j]):
                raise ValueError(
                    f"targets {j} and {i} share memory (or map the same bytes of a file): "
                    "each result needs its own target"
                )
    aside = {i for i, a in enumerate(written) if any(_overlap(a, r) for r in regions)}
    if not aside:
        run(exprs, progress=progress, into=tgts)
        return
    results = run(
        exprs, progress=progress, into=[None if i in aside else t for i, t in enumerate(tgts)]
    )
    for i in sorted(aside):
        np.copyto(tgts[i], results[i])


# --------------------------------------------------------------------------- .npy files


class _NewFile:
    """A file written in ``directory`` that takes its final name only when complete.

    It is unnamed while it is written (``O_TMPFILE``), so nothing is left behind
    whatever ends the process; where the filesystem cannot do that, it is a hidden
    file named after the target, removed if writing fails.
    """

    def __init__(self, directory: str, name: str) -> None:
        self.directory = directory
        self.name = name
        self.temp: str | None = None
        flags = os.O_RDWR | os.O_CLOEXEC
        unnamed = getattr(os, "O_TMPFILE", 0)
        self.fd = -1
        if unnamed and os.path.isdir("/proc/self/fd"):
            try:
                self.fd = os.open(directory, flags | unnamed, 0o666)
            except OSError as e:
                # Filesystems (and old kernels) without O_TMPFILE.
                if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise self._error(e) from None
        if self.fd < 0:
            self.temp = self._fresh_name()
            try:
                self.fd = os.open(self.temp, flags | os.O_CREAT | os.O_EXCL, 0o666)
            except OSError as e:
                raise self._error(e) from None

    def _error(self, e: OSError) -> OSError:
        return OSError(
            e.errno,
            f"cannot create a file in {self.directory} to write {self.name} into "
            f"(to_npy writes a new file and renames it over the old one): {e.strerror}",
        )

    def _fresh_name(self) -> str:
        return os.path.join(self.directory, f".{self.name}.{secrets.token_hex(6)}.tmp")

    def commit(self, target: str) -> None:
        """Give the complete file the name ``target`` (atomically replacing a file there)."""
        if self.temp is None:
            self._link(target)
            if self.temp is None:
                return
        os.replace(self.temp, target)
        self.temp = None

    def _link(self, target: str) -> None:
        """Name the unnamed file ``target`` if nothing has that name, else a fresh
        temporary name (``self.temp``) to rename over it."""
        # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N names the open file; os.link
        # calls linkat only when given a directory descriptor (plain link() would link
        # the /proc symbolic link itself and fail with EXDEV).
        proc = f"/proc/self/fd/{self.fd}"
        here = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                os.link(proc, target, src_dir_fd=here, dst_dir_fd=here, follow_symlinks=True)
                return
            except FileExistsError:
                pass
            temp = self._fresh_name()
            os.link(proc, temp, src_dir_fd=here, dst_dir_fd=here, follow_symlinks=True)
            self.temp = temp
        finally:
            os.close(here)

    def close(self) -> None:
        """Close the file; an uncommitted one disappears."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.temp is not None:
            try:
                os.remove(self.temp)
            except FileNotFoundError:
                pass
            self.temp = None


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """The header of a C-order ``.npy`` file (format 1.0, or 2.0 if it does not fit)."""
    fields = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": shape,
    }
    out = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(out, fields)
    except ValueError:
        out = io.BytesIO()
        np.lib.format.write_array_header_2_0(out, fields)
    return out.getvalue()


def to_npy(arr: Array, path: str | os.PathLike[str], progress: ProgressArg = None) -> None:
    """Compute ``arr`` into a ``.npy`` file, streaming the result through a memory map
    (the whole result never needs to fit in memory).

    The result is written into a new file in the target's directory, which replaces the
    target (``os.replace``) only once it is complete. So the target may be a source of
    ``arr`` (``to_npy(from_npy(p) + 1, p)``), arrays over the old file keep reading the
    old contents, and if the computation fails or is interrupted the old file (or no
    file) is left as it was and nothing else remains. A symbolic link is followed (the
    file it points to is replaced); a hard link of the old file keeps the old contents;
    the new file keeps the old file's permission bits. The disk needs room for the old
    and the new file while it is written.

    The file's blocks are reserved before anything runs, so a disk without room raises
    OSError (ENOSPC) at once rather than failing inside the memory map. As with
    ``to_zarr``, the data is left to the kernel's write-back: call ``os.sync()``
    afterwards if it must survive a power cut.

    Raises
    ------
    OSError
        If the file cannot be created or written (the message names the directory), or
        a memory-mapped file a source reads was truncated since it was mapped.
    """
    if not isinstance(arr, Array):
        raise TypeError(f"to_npy needs a brickwork array, got {type(arr).__name__}")
    target = os.path.realpath(os.fspath(path))
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "to_npy needs a file path, not a directory", target)
    directory, name = os.path.split(target)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    header = _npy_header(arr.dtype, arr.shape)
    size = len(header) + arr.nbytes
    new = _NewFile(directory, name)
    try:
        if mode is not None:
            os.fchmod(new.fd, mode)
        os.pwrite(new.fd, header, 0)
        if arr.nbytes:
            os.posix_fallocate(new.fd, 0, size)
            _compute_into_file(arr, new.fd, size, len(header), progress)
        new.commit(target)
    finally:
        new.close()


def _compute_into_file(arr: Array, fd: int, size: int, offset: int, progress: ProgressArg) -> None:
    """Compute ``arr`` into the file ``fd`` of ``size`` bytes, at ``offset``."""
    mapping = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        out = np.ndarray(arr.shape, dtype=arr.dtype, buffer=mapping, offset=offset)
        _store([arr._expr], [out], progress, fresh=True)
        del out
        mapping.flush()
    finally:
        try:
            mapping.close()
        except BufferError:  # still exported (a traceback holds the array): freed later
            pass


def _forget_map(key: int) -> None:
    _NPY_MAPS.pop(key, None)


def from_npy(path: str | os.PathLike[str], chunks: Any = "auto") -> Array:
    """An array over a ``.npy`` file, memory-mapped read-only: nothing is read until a
    computation needs it, and then only the blocks it needs.

    ``to_npy`` to the same path later writes a new file, so this array keeps reading
    the contents it was made with. Another program that truncates or rewrites the file
    in place makes the mapping shorter than the array: the writers (``store``,
    ``to_npy``, ``to_zarr``) and ``check_mapped_sources`` then raise OSError instead of
    reading it (which would kill the process with SIGBUS).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid ``.npy`` file.
    """
    data = np.load(os.fspath(path), mmap_mode="r")
    if isinstance(data, np.memmap) and data.filename:
        st = os.stat(data.filename)
        low, high = byte_bounds(data)
        key = id(data)
        _NPY_MAPS[key] = _NpyMap(
            weakref.ref(data, lambda _, key=key: _forget_map(key)),
            low,
            high,
            data.filename,
            (st.st_dev, st.st_ino),
            int(data.offset),
            int(data.offset) + data.nbytes,
        )
    return from_array(data, chunks=chunks)


# --------------------------------------------------------------------------- Zarr


def _regular(arr: Array) -> Array:
    """``arr`` with regular chunks (all equal but maybe the last), as Zarr needs; a rechunk
    is a view, so this moves no data."""
    regular = all(len(set(c[:-1])) <= 1 and (len(c) < 2 or c[-1] <= c[0]) for c in arr.chunks)
    return arr if regular else arr.rechunk(arr.chunksize)


def from_zarr(
    url: str | os.PathLike[str], component: str | None = None, chunks: Any = None
) -> Array:
    """An array over a Zarr array (format 2 or 3) in a directory store, read lazily chunk
    by chunk (through the zarrs crate), as ``dask.array.from_zarr``.

    ``chunks`` defaults to the store's chunks. Nothing is read until a computation needs
    a region, and then only the chunks it touches.

    Raises
    ------
    FileNotFoundError
        If there is no store or no array at ``component``.
    TypeError
        If the array's data type is not one brickwork supports.
    """
    expr = _core.from_zarr(os.fspath(url), component, chunks, config.get("chunk_size"))
    return Array(expr, "from_zarr")


_ZARR_NAME = "ZarrArray("


def _zarr_sources(inputs: list[dict[str, Any]]) -> list[str]:
    """The directories of the Zarr arrays among ``inputs`` (the plan names a stored
    leaf ``ZarrArray(<its directory>)``)."""
    return [
        item["name"][len(_ZARR_NAME) : -1]
        for item in inputs
        if item["kind"] == "storage"
        and item["name"].startswith(_ZARR_NAME)
        and item["name"].endswith(")")
    ]


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _within(path: str, directory: tuple[int, int]) -> bool:
    """Whether ``path`` is the directory ``directory`` (device, inode) or inside it,
    symbolic links resolved."""
    current = os.path.realpath(path)
    while True:
        if _identity(current) == directory:
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


def _check_zarr_target(inputs: list[dict[str, Any]], url: str, component: str | None) -> None:
    """Raise ValueError if replacing the node at ``component`` of the store ``url``
    (which ``overwrite`` removes first) would remove an array the computation reads."""
    node = os.path.abspath(url)
    if component and component.strip("/"):
        node = os.path.join(node, component.strip("/"))
    target = _identity(node)
    if target is None:
        return  # nothing there to replace
    for source in _zarr_sources(inputs):
        if _within(source, target):
            raise ValueError(
                f"to_zarr would replace {node}, but the computation reads the Zarr array "
                f"{source} there: overwrite=True removes it before writing. Write to "
                "another path or component, or compute the result first (persist())"
            )


@array_method()
def to_zarr(
    arr: Array,
    url: str | os.PathLike[str],
    component: str | None = None,
    overwrite: bool = False,
    progress: ProgressArg = None,
) -> None:
    """Compute ``arr`` into a new Zarr (format 3, zstd) array, one chunk per block,
    streaming: the result never needs to fit in memory. As ``dask.array.to_zarr``.

    Irregular chunks are first made regular (a free rechunk). Refuses to replace an
    existing array unless ``overwrite``, and even then refuses (ValueError) to replace
    an array the computation reads, or a group holding one: overwriting removes the old
    array before the new one is written.

    If a write fails (a full disk, a read-only directory, an error in the computation),
    other arrays of the store, written before, are untouched. The failed array is left
    as follows: its metadata is complete; the chunks written before the failure hold
    their data; the chunk whose write failed may be incomplete, and reading it raises an
    OSError naming it; the chunks not yet written read as the fill value 0. Write it
    again with ``overwrite=True``.

    As with zarr-python, chunks are left to the kernel's write-back rather than synced
    one by one; call ``os.sync()`` afterwards if the data must survive a power cut.

    Raises
    ------
    ValueError
        If an array exists at the path and ``overwrite`` is False, or the computation
        reads the array (or an array of the group) that ``overwrite`` would replace.
    OSError
        If the store cannot be written (the message names the store and the chunk), or
        a memory-mapped file a source reads was truncated since it was mapped.
    """
    if not isinstance(arr, Array):
        raise TypeError(f"to_zarr needs a brickwork array, got {type(arr).__name__}")
    x = _regular(arr)
    path = os.fspath(url)
    inputs = _plan_inputs([x._expr])
    _check_npy_files(_source_regions(inputs))
    if overwrite:
        _check_zarr_target(inputs, path, component)
    callback, bar = _progress_callback(progress)
    try:
        _core.to_zarr(
            x._expr,
            path,
            component,
            overwrite,
            _num_threads(None),
            callback,
            config.get("memory_limit"),
            config.get("temporary_directory"),
            config.get("executor"),
        )
    finally:
        if bar is not None:
            bar.close()
