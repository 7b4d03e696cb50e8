#!/usr/bin/env python
"""An older build of brickwork against the current one, interleaved in one run.

Usage:
    python bench/compare.py --old 225d481                # bench/run.py's workloads, 3 rounds
    python bench/compare.py --old 225d481 --quick --rounds 5 --only quickstart,fused

The old revision is built once into ``.bench/<commit>/`` (a git worktree and a wheel
installed with ``pip install --target``; a few minutes on two cores) and reused after.
Both sides run the *current* ``bench/run.py`` in a fresh Python process per workload and
round, one after the other, the order swapped every round: old, new, new, old, ... so
that a machine that gets busier or quieter during the run favours neither side. The old
side puts its build first on ``PYTHONPATH``; the new side imports the build installed
in this environment. Each child reports brickwork's best time of ``--repeat`` runs.

The table has each side's median over the rounds, new / old (below 1: the new build is
faster), and the spread of each side (its slowest round over its fastest: the noise of
this machine). A row is called a regression only when new / old exceeds 1 by more than
the larger of 10 % and both sides' spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def build_old(rev: str) -> Path:
    """The site directory holding the build of ``rev`` (built on first use)."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    home = ROOT / ".bench" / commit[:12]
    site = home / "site"
    if (site / "brickwork").is_dir():
        return site
    source = home / "source"
    if not source.is_dir():
        home.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(source), commit)
    print(f"building brickwork at {commit[:12]} into {site} (once) ...", file=sys.stderr)
    wheels = home / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        # maturin, the build backend, runs from this environment's bin directory.
        env={
            **os.environ,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        },
    )
    wheel = next(wheels.glob("brickwork-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
    )
    return site


def run_side(site: Path | None, workload: str, quick: bool, repeat: int) -> float:
    """brickwork's best time for ``workload`` in a fresh process (the old build when
    ``site`` is given)."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(RUN),
            "--only",
            workload,
            "--repeat",
            str(repeat),
            "--json",
            str(out),
        ]
        if quick:
            cmd.append("--quick")
        subprocess.run(cmd, check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
        return float(json.loads(out.read_text())["results"][0]["brickwork"])


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(RUN.parent))
    from run import WORKLOADS  # the workload names of bench/run.py

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, help="the older revision (commit, tag, branch)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side per workload")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs inside each child")
    parser.add_argument("--quick", action="store_true", help="bench/run.py's small sizes")
    parser.add_argument("--only", default=None, help=f"subset of {', '.join(WORKLOADS)}")
    args = parser.parse_args(argv)
    names = list(WORKLOADS) if args.only is None else args.only.split(",")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")

    site = build_old(args.old)
    new_rev = git("rev-parse", "--short=12", "HEAD")
    dirty = (
        " (with uncommitted changes)"
        if git("status", "--porcelain", "--untracked-files=no")
        else ""
    )
    print(
        f"old: {args.old} ({site.parent.name}), new: {new_rev}{dirty}; {args.rounds} rounds, "
        f"best of {args.repeat} per child{', --quick sizes' if args.quick else ''}\n"
    )

    rows = []
    for name in names:
        times: dict[str, list[float]] = {"old": [], "new": []}
        for r in range(args.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for side in order:
                print(f"{name}: round {r + 1}, {side}", file=sys.stderr, flush=True)
                t = run_side(site if side == "old" else None, name, args.quick, args.repeat)
                times[side].append(t)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        spread = max(max(v) / min(v) - 1 for v in times.values())
        ratio = new / old
        verdict = (
            "regression"
            if ratio - 1 > max(0.10, spread)
            else ("faster" if 1 - ratio > max(0.10, spread) else "same (within noise)")
        )
        rows.append([name, fmt(old), fmt(new), f"{ratio:.2f}", f"{spread * 100:.0f} %", verdict])

    header = ["workload", "old", "new", "new / old", "spread", "verdict"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    return 1 if any(row[-1] == "regression" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
