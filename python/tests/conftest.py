"""pytest configuration for the brickwork suite.

``--tiny-chunks`` runs the whole session inside
``brickwork.config.set(chunk_size=TINY_CHUNK_SIZE)``: every "auto" or default chunking
then cuts arrays into chunks of a few elements, which is a cheap way to reach every
chunk-boundary code path (CI runs the suite once normally and once with this flag).

Hypothesis profiles: ``brickwork`` (the default: modest example counts so the suite runs
in a few minutes on two cores), ``thorough`` (many more examples) and ``quick``; pick
one with ``--hypothesis-profile=NAME``. scripts/test.sh (and so CI) passes
``--hypothesis-seed=0`` so that a run is reproducible; plain ``pytest`` draws new
examples each time. A failure prints a ``@reproduce_failure`` blob to replay it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

import brickwork

TINY_CHUNK_SIZE = "64B"
TINY_CHUNK_BYTES = 64

_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("brickwork", max_examples=30, **_COMMON)
settings.register_profile("thorough", max_examples=500, **_COMMON)
settings.register_profile("quick", max_examples=5, **_COMMON)
settings.load_profile("brickwork")


def pytest_addoption(parser):
    parser.addoption(
        "--executor",
        choices=("local", "loopback"),
        default="local",
        help="run the session with brickwork.config.set(executor=...): 'loopback' runs "
        "every task as a remote worker would, through bytes",
    )
    parser.addoption(
        "--tiny-chunks",
        action="store_true",
        default=False,
        help=f"run the session with brickwork.config.set(chunk_size={TINY_CHUNK_SIZE!r}) "
        "so that every 'auto'/default chunking is tiny",
    )


def pytest_report_header(config):
    if config.getoption("--tiny-chunks"):
        return f"brickwork: tiny default chunks ({TINY_CHUNK_SIZE})"
    return "brickwork: default chunk size"


@pytest.fixture(scope="session")
def tiny_chunks(request) -> bool:
    """True when the session runs with tiny default chunks."""
    return bool(request.config.getoption("--tiny-chunks"))


@pytest.fixture(scope="session", autouse=True)
def _session_executor(request):
    with brickwork.config.set(executor=request.config.getoption("--executor")):
        yield


@pytest.fixture(scope="session", autouse=True)
def _session_chunk_size(tiny_chunks):
    if tiny_chunks:
        with brickwork.config.set(chunk_size=TINY_CHUNK_SIZE):
            yield
    else:
        yield
