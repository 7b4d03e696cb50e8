#!/usr/bin/env python
"""Issue 3's memory benchmarks: Zarr workloads larger than a memory budget, brickwork
against Dask + zarr-python in the same run, each run in a fresh process whose peak RSS is
measured from outside.

Usage:
    python bench/memory.py                        # all, full size: ~7 min (+2 min once)
    python bench/memory.py --size small           # 5000x6250: a check of under a minute
    python bench/memory.py --workloads mean,to_zarr --repeat 3 --json results.json
    python bench/memory.py --data /big/disk/bench --timeout 300
    python bench/memory.py --workloads to_zarr --out /dev/shm   # writes without the disk

The input is a 20000x25000 float64 Zarr v3 store (zstd, chunks 2000x2500, 4 GB of array
data) of uniform random values, written once by brickwork into ``--data`` (default
/tmp/brickwork-bench-data) and reused while its shape, chunks and seed match. Reference
results (column means and standard deviations) are computed with NumPy from the same
generator, block by block, and cached beside it; the store is checked against the
generator with zarr-python when it is written.

Workloads (``--workloads``, comma-separated):

    mean         x.mean(axis=0).compute()
    to_zarr      (x + 1).to_zarr(new store)          a computed 4 GB array written out
    anomaly      (x - x.mean(axis=0)).to_zarr(new store)
    anomaly_std  (x - x.mean(axis=0)).std(axis=0).compute()
    rechunk      x.rechunk((20000, 250)).to_zarr(new store)   row chunks to column chunks

Tools: ``brickwork`` (its default memory_limit, 75 % of RAM), ``brickwork-budget``
(``brickwork.config.set(memory_limit="512MiB")``, the store being 8x that) and ``dask``
(``scheduler="threads", num_workers=2``). Every run is a new Python process
(``python bench/memory.py --child WORKLOAD TOOL ...``) timed from inside (from opening the
store to the result, imports excluded). A small runner process started first polls the
RSS of the child and its children every 10 ms and takes the kernel's ``ru_maxrss`` from
``os.wait4``; the table reports the larger (and, when the child's file-backed pages pass
64 MiB, how much of the peak they were), with the child's CPU seconds. A run past
``--timeout`` seconds is killed and reported as timed out; a MemoryBudgetError is
reported with its message. Results are checked against the reference
(``np.testing.assert_allclose``, rtol 1e-9; output stores are read back with zarr-python,
``--check``), ``os.sync()`` runs before each run, and output stores are deleted after it.

The table gives the time, the throughput (array bytes / time), the peak RSS, Dask's time
divided by the tool's time (a throughput ratio: above 1 is faster than Dask) and issue 3's
goal where one applies (judged at full size only). Times are wall-clock times of single
runs on a shared machine: use ``--repeat`` (best time, highest RSS) and read the CPU
seconds beside them. The header names the commit and the build of brickwork's extension
each child loaded, in case the tree is rebuilt during a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field

import numpy as np

SEED = 20260303
GENERATOR = "uniform-pcg64-per-block-v1"  # bump when block_values changes
FULL_SHAPE = (20_000, 25_000)
SMALL_SHAPE = (5_000, 6_250)
FULL_LIMIT = "512MiB"
RSS_SLACK = 1.5  # issue 3: peak RSS at most 768 MiB with a 512 MiB budget
MIB = 1 << 20

WORKLOADS = ["mean", "to_zarr", "anomaly", "anomaly_std", "rechunk"]
TOOLS = {
    "mean": ["brickwork", "brickwork-budget", "dask"],
    "to_zarr": ["brickwork", "brickwork-budget", "dask"],
    "anomaly": ["brickwork", "brickwork-budget", "dask"],
    "anomaly_std": ["brickwork", "brickwork-budget", "dask"],
    "rechunk": ["brickwork", "brickwork-budget", "dask"],
}
WRITES = {"to_zarr", "anomaly", "rechunk"}
DESCRIPTION = {
    "mean": "x.mean(axis=0).compute()",
    "to_zarr": "(x + 1).to_zarr(out)",
    "anomaly": "(x - x.mean(axis=0)).to_zarr(out)",
    "anomaly_std": "(x - x.mean(axis=0)).std(axis=0).compute()",
    "rechunk": "x.rechunk((rows, cols // 100)).to_zarr(out)",
}


# ------------------------------------------------------------------------------ sizes


@dataclass
class Size:
    rows: int
    cols: int
    limit: str  # brickwork-budget's memory_limit
    full: bool  # issue 3's goals are judged at full size only

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def chunks(self) -> tuple[int, int]:
        return (max(1, self.rows // 10), max(1, self.cols // 10))

    @property
    def column_chunks(self) -> tuple[int, int]:
        return (self.rows, max(1, self.cols // 100))

    @property
    def nbytes(self) -> int:
        return self.rows * self.cols * 8

    @property
    def limit_bytes(self) -> int:
        return parse_mib(self.limit)


def parse_mib(text: str) -> int:
    text = text.strip()
    for unit, scale in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1 << 10)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    return int(text)


def parse_size(text: str, limit: str | None) -> Size:
    if text == "full":
        rows, cols = FULL_SHAPE
    elif text == "small":
        rows, cols = SMALL_SHAPE
    else:
        try:
            rows, cols = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise SystemExit(f"--size: 'full', 'small' or ROWSxCOLS, got {text!r}") from None
    full = (rows, cols) == FULL_SHAPE
    if limit is None:
        # The full store is 8x the 512 MiB budget; other sizes keep that proportion.
        limit = FULL_LIMIT if full else f"{max(1, rows * cols * 8 // 8 // MIB)}MiB"
    return Size(rows, cols, limit, full)


# ---------------------------------------------------------------------- the input data


def block_values(block_id: tuple[int, int], shape: tuple[int, ...]) -> np.ndarray:
    """Block ``block_id`` of the input: uniform [0, 1) doubles from its own stream."""
    rng = np.random.default_rng([SEED, block_id[0], block_id[1]])
    return rng.random(shape)


def _gen_block(block: np.ndarray, block_id: tuple[int, int]) -> np.ndarray:
    return block_values(block_id, block.shape)


def store_path(data: str, size: Size) -> str:
    return os.path.join(data, f"x-{size.rows}x{size.cols}.zarr")


def reference_path(data: str, size: Size) -> str:
    return os.path.join(data, f"x-{size.rows}x{size.cols}.reference.npz")


def marker(size: Size) -> dict:
    return {
        "generator": GENERATOR,
        "seed": SEED,
        "shape": list(size.shape),
        "chunks": list(size.chunks),
    }


def blocks(size: Size):
    """(block_id, row slice, column slice) of every block of the input, in C order."""
    (rows, cols), (cr, cc) = size.shape, size.chunks
    for i, r in enumerate(range(0, rows, cr)):
        for j, c in enumerate(range(0, cols, cc)):
            yield (i, j), slice(r, min(r + cr, rows)), slice(c, min(c + cc, cols))


def compute_reference(size: Size) -> dict[str, np.ndarray]:
    """Column means and standard deviations, two passes over the generated blocks."""
    total = np.zeros(size.cols)
    for bid, rs, cs in blocks(size):
        total[cs] += block_values(bid, (rs.stop - rs.start, cs.stop - cs.start)).sum(axis=0)
    mean = total / size.rows
    squares = np.zeros(size.cols)
    for bid, rs, cs in blocks(size):
        dev = block_values(bid, (rs.stop - rs.start, cs.stop - cs.start)) - mean[cs]
        squares[cs] += np.einsum("ij,ij->j", dev, dev)
    return {"mean": mean, "std": np.sqrt(squares / size.rows)}


def store_is_current(data: str, size: Size) -> bool:
    path = store_path(data, size)
    meta = os.path.join(path, "bench.json")
    if not (os.path.exists(meta) and os.path.exists(reference_path(data, size))):
        return False
    try:
        import zarr

        with open(meta) as f:
            found = json.load(f)
        z = zarr.open_array(path, mode="r")
        return (
            found == marker(size)
            and tuple(z.shape) == size.shape
            and tuple(z.chunks) == size.chunks
            and z.dtype == np.float64
        )
    except Exception:  # noqa: BLE001 - anything unreadable is rewritten
        return False


def prepare_data(data: str, size: Size) -> dict[str, np.ndarray]:
    """The input store (written by brickwork unless a matching one exists) and the
    reference results."""
    path = store_path(data, size)
    if store_is_current(data, size):
        print(f"reusing {path}", file=sys.stderr)
    else:
        import zarr

        import brickwork.array as bda

        os.makedirs(data, exist_ok=True)
        shutil.rmtree(path, ignore_errors=True)
        print(f"writing {path} ({size.nbytes / 1e9:.1f} GB) with brickwork...", file=sys.stderr)
        start = time.perf_counter()
        base = bda.zeros(size.shape, chunks=size.chunks)
        bda.map_blocks(_gen_block, base, dtype=np.float64, name="uniform").to_zarr(path)
        print(f"  written in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        z = zarr.open_array(path, mode="r")
        if tuple(z.shape) != size.shape or tuple(z.chunks) != size.chunks:
            raise SystemExit(f"{path}: shape {z.shape} chunks {z.chunks}, expected {size}")
        print("  checking it with zarr-python...", file=sys.stderr)
        cr = size.chunks[0]
        for r in range(0, size.rows, cr):
            band = z[r : r + cr]
            for (i, j), rs, cs in blocks(size):
                if rs.start == r:
                    np.testing.assert_array_equal(
                        band[:, cs], block_values((i, j), band[:, cs].shape)
                    )
        print("  computing the reference with NumPy...", file=sys.stderr)
        np.savez(reference_path(data, size), **compute_reference(size))
        with open(os.path.join(path, "bench.json"), "w") as f:
            json.dump(marker(size), f)
    with np.load(reference_path(data, size)) as ref:
        return {k: ref[k] for k in ref.files}


def warm_page_cache(path: str) -> None:
    """Read the store's files once so that the first run does not pay for the disk."""
    buf = bytearray(16 * MIB)
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass


def dir_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


# ---------------------------------------------------------------------------- a child


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def hwm_now() -> int | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def build_id() -> str:
    """When brickwork's extension was built (its file's mtime): the tree may be rebuilt
    while a benchmark runs."""
    from brickwork import _core

    stamp = os.stat(_core.__file__).st_mtime
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def child(workload: str, tool: str, src: str, out_dir: str, size: Size) -> None:
    """Run one workload with one tool in this (fresh) process; write result.json, and
    result.npy for reductions, into out_dir."""
    out = os.path.join(out_dir, "out.zarr")
    report: dict = {}
    result = None
    try:
        if tool.startswith("brickwork"):
            import brickwork
            import brickwork.array as xa

            if tool == "brickwork-budget":
                brickwork.config.set(memory_limit=size.limit)
            report["memory_limit"] = brickwork.config.get("memory_limit")
            report["build"] = build_id()

            def compute(arr):
                return arr.compute()

            def to_zarr(arr, path):
                arr.to_zarr(path, overwrite=True)

            budget_error: type[BaseException] = brickwork.MemoryBudgetError
        elif tool == "dask":
            import dask
            import dask.array as xa

            dask.config.set(scheduler="threads", num_workers=2)

            def compute(arr):
                return dask.compute(arr, scheduler="threads", num_workers=2)[0]

            def to_zarr(arr, path):
                arr.to_zarr(path, overwrite=True)

            budget_error = MemoryError
        else:
            raise SystemExit(f"unknown tool {tool!r}")
        report["baseline_rss"] = rss_now()
        try:
            start = time.perf_counter()
            x = xa.from_zarr(src)
            if workload == "mean":
                result = compute(x.mean(axis=0))
            elif workload == "to_zarr":
                to_zarr(x + 1, out)
            elif workload == "anomaly":
                to_zarr(x - x.mean(axis=0), out)
            elif workload == "anomaly_std":
                result = compute((x - x.mean(axis=0)).std(axis=0))
            elif workload == "rechunk":
                to_zarr(x.rechunk(size.column_chunks), out)
            else:
                raise SystemExit(f"unknown workload {workload!r}")
            report["seconds"] = time.perf_counter() - start
        except budget_error as err:
            report["error"] = f"{type(err).__name__}: {err}"
        if result is not None:
            np.save(os.path.join(out_dir, "result.npy"), np.asarray(result))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, then re-raised
        report["error"] = f"{type(err).__name__}: {err}"
        traceback.print_exc()
        raise
    finally:
        report["hwm_rss"] = hwm_now()
        with open(os.path.join(out_dir, "result.json"), "w") as f:
            json.dump(report, f)


# ------------------------------------------------------------------ running and checking


@dataclass
class Run:
    workload: str
    tool: str
    seconds: float | None = None
    peak_rss: int | None = None  # max of the polled RSS and ru_maxrss, bytes
    polled_rss: int | None = None
    ru_maxrss: int | None = None
    baseline_rss: int | None = None  # the child's RSS after imports, before the workload
    hwm_rss: int | None = None  # the child's own VmHWM at its end, a cross-check
    cpu_seconds: float | None = None  # user + system time of the whole child
    build: str | None = None  # brickwork's extension build (mtime) the child loaded
    anon_rss: int | None = None  # the peaks of the child's anonymous and file-backed RSS
    file_rss: int | None = None
    status: str = "ok"  # ok, timed out, MemoryBudgetError, failed, wrong result
    error: str = ""
    out_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    goal: str = "-"
    met: bool | None = None


def rss_parts(pid: int) -> tuple[int, int]:
    """(anonymous, file-backed + shared) resident bytes of a process, or (0, 0)."""
    anon = files = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1]) * 1024
                elif line.startswith(("RssFile:", "RssShmem:")):
                    files += int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return anon, files


def kids_rss(kids: list) -> int:
    import psutil

    total = 0
    for p in kids:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def monitor(cmd: list[str], run_dir: str, timeout: float) -> dict:
    """Run cmd in its own session, poll the RSS of it and its children every 10 ms until
    it ends (or kill it after timeout seconds), and return what was measured."""
    import psutil

    with (
        open(os.path.join(run_dir, "stdout"), "w") as out,
        open(os.path.join(run_dir, "stderr"), "w") as err,
    ):
        popen = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
    proc = psutil.Process(popen.pid)
    kids: list = []
    peak = peak_anon = peak_files = 0
    deadline = time.monotonic() + timeout
    next_kids = 0.0
    timed_out = False
    while True:
        pid, status, usage = os.wait4(popen.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if now >= next_kids:  # scanning /proc for children is slower than reading an RSS
            try:
                kids = proc.children(recursive=True)
            except psutil.NoSuchProcess:
                kids = []
            next_kids = now + 0.5
        anon, files = rss_parts(popen.pid)
        peak = max(peak, anon + files + (kids_rss(kids) if kids else 0))
        peak_anon, peak_files = max(peak_anon, anon), max(peak_files, files)
        if now > deadline and not timed_out:
            timed_out = True
            os.killpg(popen.pid, signal.SIGKILL)  # the child's own session
        time.sleep(0.01)
    popen.returncode = os.waitstatus_to_exitcode(status)
    return {
        "polled_rss": peak,
        "anon_rss": peak_anon,  # the child's own RSS split: anonymous memory...
        "file_rss": peak_files,  # ...and file-backed / shared pages (mapped files, shm)
        "ru_maxrss": usage.ru_maxrss * 1024,  # KiB on Linux
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # imports included
        "returncode": popen.returncode,
        "timed_out": timed_out,
    }


def runner() -> None:
    """Serve monitor() requests, one JSON line each on stdin, answering on stdout.

    The children are started from this small process rather than from the main one:
    Linux carries the RSS high-water mark of the process that execs into the new
    program's ru_maxrss (with vfork, the parent's), so a child of the main process, which
    holds reference arrays and read-back bands, would report the main process's size.
    """
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps(monitor(req["cmd"], req["run_dir"], req["timeout"])), flush=True)


def start_runner() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--runner"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run_child(args, runner_proc, size: Size, workload: str, tool: str, run_dir: str) -> Run:
    """Run one workload in a new process through the runner and read its report."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        workload,
        tool,
        "--data",
        args.data,
        "--size",
        f"{size.rows}x{size.cols}",
        "--memory-limit",
        size.limit,
        "--run-dir",
        run_dir,
    ]
    request = {"cmd": cmd, "run_dir": run_dir, "timeout": args.timeout}
    runner_proc.stdin.write(json.dumps(request) + "\n")
    runner_proc.stdin.flush()
    measured = json.loads(runner_proc.stdout.readline())
    run = Run(workload, tool)
    run.polled_rss = measured["polled_rss"]
    run.ru_maxrss = measured["ru_maxrss"]
    run.peak_rss = max(run.polled_rss, run.ru_maxrss)
    run.cpu_seconds = measured["cpu_seconds"]
    run.anon_rss, run.file_rss = measured["anon_rss"], measured["file_rss"]
    report = {}
    try:
        with open(os.path.join(run_dir, "result.json")) as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    run.baseline_rss = report.get("baseline_rss")
    run.hwm_rss = report.get("hwm_rss")
    run.build = report.get("build")
    if measured["timed_out"]:
        run.status = "timed out"
        run.error = f"killed after {args.timeout:g} s"
    elif "error" in report:
        run.error = report["error"]
        run.status = (
            "MemoryBudgetError" if report["error"].startswith("MemoryBudgetError") else "failed"
        )
    elif measured["returncode"] != 0 or "seconds" not in report:
        run.status = "failed"
        with open(os.path.join(run_dir, "stderr")) as f:
            lines = [line.strip() for line in f if line.strip()]
        run.error = f"exit code {measured['returncode']}: " + (lines[-1] if lines else "no output")
    else:
        run.seconds = report["seconds"]
    return run


def check_store(out: str, src: str, size: Size, ref: dict, workload: str, full: bool) -> str:
    """Compare an output store with what it should hold, column band by column band
    (every band, or the first, middle and last with full=False). Returns a note."""
    import zarr

    z = zarr.open_array(out, mode="r")
    x = zarr.open_array(src, mode="r")
    if tuple(z.shape) != size.shape or z.dtype != np.float64:
        raise AssertionError(f"output has shape {z.shape} and dtype {z.dtype}")
    note = ""
    expected_chunks = size.column_chunks if workload == "rechunk" else size.chunks
    if tuple(z.chunks) != expected_chunks:
        note = f"output chunks {tuple(z.chunks)}"
    width = size.chunks[1]
    starts = list(range(0, size.cols, width))
    if not full:
        starts = sorted({starts[0], starts[len(starts) // 2], starts[-1]})
    for c in starts:
        cs = slice(c, min(c + width, size.cols))
        got, base = z[:, cs], x[:, cs]
        if workload == "to_zarr":
            np.testing.assert_allclose(got, base + 1, rtol=1e-9)
        elif workload == "anomaly":
            # x - mean cancels near the mean: an absolute tolerance at 1e-12 of the data's
            # scale (values in [0, 1)) covers the mean's last-bit differences.
            np.testing.assert_allclose(got, base - ref["mean"][cs], rtol=1e-9, atol=1e-12)
        else:
            np.testing.assert_allclose(got, base, rtol=1e-9)
    return note


def check_run(run: Run, run_dir: str, src: str, size: Size, ref: dict, full: bool) -> None:
    out = os.path.join(run_dir, "out.zarr")
    try:
        if run.workload in WRITES:
            run.out_bytes = dir_bytes(out)
            note = check_store(out, src, size, ref, run.workload, full)
            if note:
                run.notes.append(note)
        else:
            got = np.load(os.path.join(run_dir, "result.npy"))
            want = ref["mean"] if run.workload == "mean" else ref["std"]
            np.testing.assert_allclose(got, want, rtol=1e-9)
    except (AssertionError, OSError, ValueError, KeyError) as err:
        run.status = "wrong result"
        first = str(err).strip().splitlines()
        run.error = f"{type(err).__name__}: " + " ".join(line.strip() for line in first[:6])


def judge(runs: list[Run], size: Size) -> None:
    """Issue 3's goals, where one applies to the run."""
    dask = {r.workload: r.seconds for r in runs if r.tool == "dask" and r.status == "ok"}
    cap = int(size.limit_bytes * RSS_SLACK)
    for r in runs:
        if r.tool == "dask":
            continue
        if r.tool == "brickwork" and r.workload == "mean":
            r.goal = ">= 5x Dask's GB/s"
            speedup = 5
        elif r.tool == "brickwork" and r.workload == "to_zarr":
            r.goal = ">= 3x Dask's GB/s"
            speedup = 3
        elif r.tool == "brickwork-budget":
            r.goal = f"completes, RSS <= {cap / MIB:.0f} MiB"
            speedup = 0
        else:
            continue
        if not size.full:
            continue
        ok = r.status == "ok"
        if speedup:
            base = dask.get(r.workload)
            r.met = None if base is None or not ok else r.seconds * speedup <= base
        else:
            r.met = ok and r.peak_rss is not None and r.peak_rss <= cap


# ------------------------------------------------------------------------------ output


def tool_label(tool: str, size: Size) -> str:
    if tool == "brickwork-budget":
        return f'brickwork, memory_limit="{size.limit}"'
    if tool == "dask":
        return "Dask threads (2 workers)"
    return "brickwork (default limit)"


def fmt_seconds(s: float | None) -> str:
    return "-" if s is None else f"{s:.2f} s"


def print_table(runs: list[Run], size: Size) -> None:
    dask = {r.workload: r.seconds for r in runs if r.tool == "dask" and r.status == "ok"}
    print("| workload | tool | time | GB/s | peak RSS (MiB) | ratio vs Dask | goal met? | note |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for r in runs:
        ok = r.status == "ok" and r.seconds
        gbs = f"{size.nbytes / r.seconds / 1e9:.2f}" if ok else "-"
        rss = "-" if r.peak_rss is None else f"{r.peak_rss / MIB:,.0f}"
        base = dask.get(r.workload)
        ratio = f"{base / r.seconds:.2f}x" if ok and base and r.tool != "dask" else "-"
        met = {True: "yes", False: "**NO**", None: "-"}[r.met]
        if r.goal != "-":
            met = f"{met} ({r.goal})"
        notes = list(r.notes)
        if r.status != "ok":
            notes.insert(0, f"**{r.status}**: {r.error}" if r.error else f"**{r.status}**")
        if r.file_rss and r.file_rss > 64 * MIB:
            notes.append(
                f"of which file-backed up to {r.file_rss / MIB:,.0f} MiB "
                f"(anonymous up to {r.anon_rss / MIB:,.0f} MiB)"
            )
        if r.cpu_seconds is not None and r.status == "ok":
            notes.append(f"CPU {r.cpu_seconds:.1f} s")
        if r.out_bytes:
            notes.append(f"store {r.out_bytes / 1e9:.2f} GB")
        if r.baseline_rss:
            notes.append(f"RSS before the workload {r.baseline_rss / MIB:.0f} MiB")
        note = "; ".join(notes).replace("|", "\\|").replace("\n", " ")
        print(
            f"| {r.workload} | {tool_label(r.tool, size)} | {fmt_seconds(r.seconds)} | {gbs} "
            f"| {rss} | {ratio} | {met} | {note} |"
        )


def environment() -> dict:
    versions = {}
    for name in ("brickwork", "dask", "zarr", "numpy", "psutil"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        **versions,
    }


# -------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    parser.add_argument(
        "--tools", default="brickwork,brickwork-budget,dask", help="comma-separated"
    )
    parser.add_argument("--size", default="full", help="full, small, or ROWSxCOLS")
    parser.add_argument("--data", default="/tmp/brickwork-bench-data", help="the input cache")
    parser.add_argument(
        "--out",
        default=None,
        help="where runs write their output stores (default: DATA/runs; /dev/shm takes\n"
        "the disk out of the write workloads)",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help='brickwork-budget\'s limit ("512MiB" at full size, store bytes / 8 otherwise)',
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per workload and tool")
    parser.add_argument(
        "--check",
        choices=["full", "sample", "none"],
        default="full",
        help="how much of each output store to read back (full, 3 column bands, none)",
    )
    parser.add_argument("--json", help="also write the runs to this file")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "TOOL"), help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    parser.add_argument("--runner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runner:
        runner()
        return
    size = parse_size(args.size, args.memory_limit)
    if args.child:
        child(*args.child, store_path(args.data, size), args.run_dir, size)
        return

    workloads = [w for w in args.workloads.split(",") if w]
    tools = [t for t in args.tools.split(",") if t]
    for w in workloads:
        if w not in WORKLOADS:
            parser.error(f"unknown workload {w!r} (choose from {', '.join(WORKLOADS)})")
    for t in tools:
        if t not in ("brickwork", "brickwork-budget", "dask"):
            parser.error(f"unknown tool {t!r}")

    runner_proc = start_runner()  # while this process is small: see runner()
    ref = prepare_data(args.data, size)
    src = store_path(args.data, size)
    print(f"warming the page cache with {src}...", file=sys.stderr)
    warm_page_cache(src)

    out_root = args.out or os.path.join(args.data, "runs")
    env_start = environment()
    runs: list[Run] = []
    for w in workloads:
        for t in TOOLS[w]:
            if t not in tools:
                continue
            best: Run | None = None
            for i in range(args.repeat):
                run_dir = os.path.join(out_root, f"bench-{os.getpid()}-{w}-{t}-{i}")
                shutil.rmtree(run_dir, ignore_errors=True)
                os.makedirs(run_dir)
                os.sync()  # no writeback of earlier runs during this one
                try:
                    run = run_child(args, runner_proc, size, w, t, run_dir)
                    if run.status == "ok" and args.check != "none":
                        check_run(run, run_dir, src, size, ref, args.check == "full")
                finally:
                    shutil.rmtree(run_dir, ignore_errors=True)
                print(
                    f"{w:12} {t:17} {run.status:10} {fmt_seconds(run.seconds):>9} "
                    f"peak RSS {(run.peak_rss or 0) / MIB:7,.0f} MiB {run.error[:200]}",
                    file=sys.stderr,
                )
                if best is None:
                    best = run
                else:  # the fastest good run, and the highest RSS of all
                    rss = max(best.peak_rss or 0, run.peak_rss or 0)
                    if run.status == "ok" and (
                        best.status != "ok" or run.seconds < (best.seconds or 0)
                    ):
                        best = run
                    best.peak_rss = rss
            runs.append(best)
    if args.out is None:
        shutil.rmtree(out_root, ignore_errors=True)
    runner_proc.stdin.close()
    runner_proc.wait()

    judge(runs, size)
    env = environment()
    builds = sorted({r.build for r in runs if r.build})
    env["builds"] = builds
    if len(builds) > 1:  # say which rows ran which build
        for r in runs:
            if r.build:
                r.notes.append(f"brickwork build {r.build}")
    if env["commit"] != env_start["commit"]:
        env["commit"] = f"{env_start['commit']} at the start, {env['commit']} at the end"
    print()
    print(
        f"{size.rows}x{size.cols} float64 zstd Zarr v3 store, chunks "
        f"{size.chunks[0]}x{size.chunks[1]}, {size.nbytes / 1e9:.1f} GB of array data; "
        f"outputs in {out_root}; memory_limit {size.limit}; best of {args.repeat}; "
        f"{env['cores']} cores; commit {env['commit']}; brickwork {env['brickwork']} "
        f"(extension built {' and '.join(builds) or '-'}), "
        f"Dask {env['dask']}, zarr {env['zarr']}, NumPy {env['numpy']}"
    )
    print()
    print_table(runs, size)
    print()
    for w in workloads:
        print(f"- `{w}`: {DESCRIPTION[w]}")
    print(
        "- GB/s: array bytes / time. Peak RSS: the larger of the child's polled RSS "
        "(10 ms) and its ru_maxrss. Ratio: Dask's time / this time (above 1 is faster). "
        "CPU: user + system seconds of the whole child process, imports included."
    )
    if not size.full:
        print("- goals are issue 3's, judged at full size only")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"environment": env, "size": asdict(size), "runs": [asdict(r) for r in runs]},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
