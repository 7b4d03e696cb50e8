"""Run the differential fuzzer against NumPy (python/tests/fuzz_expressions.py) for long.

Usage:
    python scripts/fuzz.py --examples 20000 [--seed N] [--minutes M] [--max-ops K]
                           [--show-known] [--no-shrink] [--timeout S] [--tiny-chunks]

Random programs are drawn in batches with hypothesis. The first failure of each class
(the operation and the kind of difference: an exception NumPy does not raise, a wrong
exception class, a dtype, shape or value mismatch, ...) is shrunk to a minimal program
and printed once, as a runnable repro for brickwork beside the same code for NumPy;
later failures of a class already seen are only counted. Failures explained by a known
defect (``KNOWN_DEFECTS`` in python/tests/test_fuzz.py, each with an xfail regression
test) are counted under that test's name; ``--show-known`` prints their repros too.
The run ends with a summary: the number of examples and, per class, how many failed.

A program that runs longer than ``--timeout`` seconds is reported as a hang. The exit
status is 1 if a failure not explained by a known defect was found, 0 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "python" / "tests"
sys.path.insert(0, str(TESTS))

from hypothesis import HealthCheck, Phase, Verbosity, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402

import fuzz_expressions as fx  # noqa: E402

try:
    from test_fuzz import known_defect  # noqa: E402
except ImportError:  # pytest missing: every failure counts as new

    def known_defect(failure):  # type: ignore[misc]
        return None


class Hang(Exception):
    pass


class Other(Exception):
    """An exception that is not a FuzzFailure (a defect of the fuzzer itself, or a
    brickwork exception escaping the checks), kept with its traceback."""

    def __init__(self, key, text, repro):
        super().__init__(text)
        self.key, self.text, self.repro = key, text, repro


def _on_alarm(signum, frame):
    raise Hang()


def _failure_in(exc):
    """The FuzzFailure / Other inside exc (hypothesis wraps flaky ones in groups)."""
    if isinstance(exc, fx.FuzzFailure | Other):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _failure_in(inner)
        if found is not None:
            return found
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20000, help="programs to run")
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--max-ops", type=int, default=10, help="operations per program")
    parser.add_argument("--batch", type=int, default=500, help="examples per hypothesis run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per program")
    parser.add_argument("--show-known", action="store_true",
                        help="also print the repro of failures explained by known defects")
    parser.add_argument("--no-shrink", action="store_true", help="print failures unshrunk")
    parser.add_argument("--tiny-chunks", action="store_true",
                        help='run with brickwork.config.set(chunk_size="64B"), as the '
                        "test suite's --tiny-chunks")
    args = parser.parse_args(argv)
    if args.tiny_chunks:
        import brickwork

        with brickwork.config.set(chunk_size="64B"):
            return _run(args)
    return _run(args)


def _run(args):

    seed = random.randrange(2**32) if args.seed is None else args.seed
    print(f"fuzz: seed {seed}, {args.examples} examples, up to {args.max_ops} operations each",
          flush=True)
    deadline = None if args.minutes is None else time.monotonic() + 60 * args.minutes
    signal.signal(signal.SIGALRM, _on_alarm)
    warnings.simplefilter("ignore")

    counts: collections.Counter = collections.Counter()  # failure class -> examples
    known_counts: collections.Counter = collections.Counter()  # known test -> examples
    reported: set = set()  # failure classes printed (shrunk)
    first_seen: dict = {}  # failure class -> its first failure (not shrunk)
    state = {"run": 0, "shrinking": False}
    strategy = fx.programs(max_ops=args.max_ops)

    def known(failure):
        k = known_defect(failure)
        if k is not None and not state["shrinking"]:
            known_counts[k.test] += 1
            if args.show_known and ("known", k.test) not in reported:
                reported.add(("known", k.test))
                print(f"\n=== known defect ({k.test}): {failure.op}: {failure.kind}\n"
                      f"{failure.detail}\n{failure.repro}", flush=True)
        return k is not None

    def body(program):
        if deadline is not None and time.monotonic() > deadline:
            return
        if not state["shrinking"]:
            state["run"] += 1
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            fx.run_program(program, known=known)
        except fx.FuzzFailure as exc:
            failure = exc
        except Hang:
            key = ("(program)", f"runs longer than {args.timeout:g} s")
            failure = Other(key, f"hang after {args.timeout:g} s", program.source())
        except Exception as exc:  # noqa: BLE001 - reported, with the traceback
            key = ("(fuzzer)", f"{type(exc).__name__} escaped the checks")
            failure = Other(key, traceback.format_exc(), program.source())
        else:
            return
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        key = failure.key
        if not state["shrinking"]:
            counts[key] += 1
            first_seen.setdefault(key, failure)
        if key in reported:
            return  # a class already printed: counted only
        state["shrinking"] = True
        raise failure

    phases = [Phase.generate] if args.no_shrink else [Phase.generate, Phase.shrink]
    batch = 0
    start = time.monotonic()
    while state["run"] < args.examples:
        if deadline is not None and time.monotonic() > deadline:
            print("\nfuzz: time limit reached", flush=True)
            break
        todo = min(args.batch, args.examples - state["run"])
        before = state["run"]
        test = hypothesis_seed(seed * 100003 + batch)(
            settings(
                max_examples=todo,
                deadline=None,
                database=None,
                phases=phases,
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                print_blob=False,
            )(given(strategy)(body))
        )
        batch += 1
        state["shrinking"] = False
        try:
            test()
        except Exception as exc:  # noqa: BLE001 - what hypothesis raised
            failure = _failure_in(exc)
            state["shrinking"] = False
            if failure is None:
                print(f"\nfuzz: hypothesis raised {exc!r}", flush=True)
                traceback.print_exc()
                continue
            key = failure.key
            flaky = failure is not exc and not isinstance(exc, fx.FuzzFailure | Other)
            reported.add(key)
            counts.setdefault(key, 1)
            print(f"\n=== failure {len([k for k in reported if k[0] != 'known'])}: "
                  f"{key[0]}: {key[1]}" + (" (flaky: did not fail again)" if flaky else ""))
            if isinstance(failure, fx.FuzzFailure):
                print(failure.detail)
            else:
                print(failure.text)
            print("--- repro")
            print(failure.repro, flush=True)
        if state["run"] == before:
            break  # nothing ran: time is up
        elapsed = time.monotonic() - start
        print(f"fuzz: {state['run']} examples, {elapsed:.0f} s, "
              f"{len(counts)} failure classes", flush=True)

    for key, failure in first_seen.items():
        if key not in reported:  # shrinking went to another class: the unshrunk repro
            reported.add(key)
            print(f"\n=== failure (not shrunk): {key[0]}: {key[1]}")
            print(failure.detail if isinstance(failure, fx.FuzzFailure) else failure.text)
            print("--- repro")
            print(failure.repro, flush=True)
    elapsed = time.monotonic() - start
    print(f"\n=== summary: {state['run']} examples in {elapsed:.0f} s (seed {seed})")
    new = {k: c for k, c in counts.items()}
    if new:
        print("failure classes (examples):")
        for (op, kind), c in sorted(new.items(), key=lambda kv: -kv[1]):
            print(f"  {c:6d}  {op}: {kind}")
    if known_counts:
        print("known defects (examples; see python/tests/test_fuzz.py):")
        for test, c in known_counts.most_common():
            print(f"  {c:6d}  {test}")
    if not new:
        print("no new failure")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
