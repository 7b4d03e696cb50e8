"""Starting fork servers: :func:`start_server`, and the shared server of ``Process``.

A process that runs threads must never fork (a lock held by another thread stays held
forever in the child), and a brickwork parent always may run threads (the Rust scheduler,
the pool's result thread). So workers come from a *fork server*: a new interpreter started
with ``subprocess`` (fork + exec, which is safe), which imports what the children need,
never starts a thread, and forks a child for every request of its parent.

The pieces:

- ``_protocol``: message kinds, record layouts and framing, shared by both sides (the
  constants come from ``brickwork._core``, defined once in Rust).
- ``_server``: the server process (:func:`brickwork.multiprocessing._server.main`) and
  the children it forks.
- ``_client``: the parent's :class:`ForkServerHandle`.
- this module: starting a server (its environment, its command line, waiting for it to
  be ready) and the process's shared server used by ``Process`` objects.
"""

from __future__ import annotations

import json
import os
import pickle
import site
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from brickwork.multiprocessing._client import ForkServerHandle
from brickwork.multiprocessing._protocol import (
    READY,
    RECORD,
    SAVED_ENV_VAR,
    poll_readable,
    recv_exact,
    send_frame,
)

__all__ = [
    "DEFAULT_PRELOAD",
    "ForkServerHandle",
    "close_shared_server",
    "get_shared_server",
    "start_server",
]

DEFAULT_PRELOAD: tuple[str, ...] = ("numpy",)
"""Modules a fork server imports by default, so that children start with them loaded."""

STARTUP_TIMEOUT_S = 60.0
"""Seconds :func:`start_server` waits for READY by default."""

_BLAS_THREADS_VAR = "OPENBLAS_NUM_THREADS"


def _package_root() -> str:
    """The directory holding the ``brickwork`` package."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _site_directories() -> set[str]:
    dirs = set(getattr(site, "getsitepackages", list)())
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        dirs.add(user)
    return {os.path.abspath(d) for d in dirs}


def _server_environment() -> dict[str, str]:
    """The server's environment: single-threaded BLAS, brickwork importable."""
    env = dict(os.environ)
    saved: dict[str, str | None] = {}

    def override(name: str, value: str) -> None:
        saved[name] = os.environ.get(name)
        env[name] = value

    override(_BLAS_THREADS_VAR, "1")
    # Workers read arguments from the parent's arena; they need no arena of their own.
    override("BRICKWORK_SHARED_ARRAYS", "0")
    root = _package_root()
    if root not in _site_directories():
        override("PYTHONPATH", os.pathsep.join(filter(None, [env.get("PYTHONPATH"), root])))
    env[SAVED_ENV_VAR] = json.dumps(saved)
    return env


def _server_command(fd: int) -> list[str]:
    code = f"from brickwork.multiprocessing._server import main; main({fd})"
    return [sys.executable, *subprocess._args_from_interpreter_flags(), "-c", code]


def _wait_ready(sock: socket.socket, popen: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for the READY record; RuntimeError if the server dies or is too slow."""
    deadline = time.monotonic() + timeout
    while not poll_readable(sock, min(0.1, max(0.0, deadline - time.monotonic()))):
        if popen.poll() is not None:
            break
        if time.monotonic() >= deadline:
            raise RuntimeError(f"the fork server did not start within {timeout:g} s")
    try:
        kind, pid, _ = RECORD.unpack(recv_exact(sock, RECORD.size))
    except (EOFError, OSError):
        try:
            code = popen.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        raise RuntimeError(
            f"the fork server exited with code {code} before it was ready"
        ) from None
    if kind != READY or pid != popen.pid:
        raise RuntimeError(f"the fork server sent record kind {kind}, pid {pid} for READY")


def start_server(
    preload: Sequence[str] = DEFAULT_PRELOAD, *, timeout: float = STARTUP_TIMEOUT_S
) -> ForkServerHandle:
    """Start a fork server and wait until it is ready.

    Parameters
    ----------
    preload : sequence of str, optional
        Modules the server imports before it forks anything (missing ones are
        skipped); children then start with them loaded. They must not start threads.
    timeout : float, optional
        Seconds to wait for the server to be ready.

    Returns
    -------
    ForkServerHandle
        The handle on the ready server.

    Raises
    ------
    RuntimeError
        If the server exits (the message holds its exit code) or is not ready in time.
    """
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    popen: subprocess.Popen[bytes] | None = None
    try:
        with child_sock:
            fd = child_sock.fileno()
            popen = subprocess.Popen(
                _server_command(fd),
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                env=_server_environment(),
            )
        startup = {"sys_path": list(sys.path), "cwd": os.getcwd(), "preload": list(preload)}
        try:
            send_frame(parent_sock, pickle.dumps(startup, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # the server died already; _wait_ready reports its exit code
        _wait_ready(parent_sock, popen, timeout)
    except BaseException:
        parent_sock.close()
        if popen is not None and popen.poll() is None:
            popen.kill()
            popen.wait()
        raise
    return ForkServerHandle(popen, parent_sock)


# --------------------------------------------------------------------------------------
# The shared server used by Process objects
# --------------------------------------------------------------------------------------

_shared: ForkServerHandle | None = None
_shared_lock = threading.Lock()


def get_shared_server() -> ForkServerHandle:
    """Return this process's shared fork server, starting it if needed.

    The shared server (default preload) has a reader thread, and is replaced by a new
    one if it died. A child forked from this process starts its own.

    Returns
    -------
    ForkServerHandle
        The running shared server.
    """
    global _shared
    with _shared_lock:
        handle = _shared
        if handle is None or not handle.usable:
            if handle is not None:
                handle.close()  # it died: release its socket, reap it
            handle = start_server()
            handle.start_reader()
            _shared = handle
        return handle


def close_shared_server() -> None:
    """Close the shared fork server, if one runs (its live children are killed)."""
    global _shared
    with _shared_lock:
        handle, _shared = _shared, None
    if handle is not None:
        handle.close()


def _after_fork_in_child() -> None:
    """In a child made by ``os.fork()``: the parent's shared server is not this one's (the
    handle itself is abandoned by ``_client``)."""
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
