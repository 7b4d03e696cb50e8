"""The fork server's wire protocol: message kinds, record layouts and framing.

Both sides of the control socket use this module: the server (``_server.py``) and the
parent's handle (``_client.py``). The Rust pool speaks the same protocol: its
constants are defined once, in ``crates/brickwork-pool/src/forkserver.rs``, and read
here from ``brickwork._core.FORKSERVER_CONSTANTS``.

Protocol
--------
The parent and the server share one ``AF_UNIX``/``SOCK_STREAM`` socket pair, the
*control socket*.

Startup (parent to server)
    One frame: ``struct.pack("<Q", len(data)) + data`` where ``data`` is the pickle of
    ``{"sys_path": list[str], "cwd": str, "preload": list[str]}``. The server sets
    ``sys.path``, changes directory, imports every preload module (an ``ImportError`` is
    ignored: those modules are optional) and answers with a READY record.

Records (server to parent)
    Always 16 bytes, ``struct.pack("<iiq", kind, pid, value)``:

    - kind 0, READY: ``pid`` is the server's pid.
    - kind 1, STARTED: one per request, in request order; ``pid`` is the new child's pid.
      If the server could not fork (or the request kind is unknown), ``pid`` is -1 and
      ``value`` an ``errno`` number.
    - kind 2, EXITED: ``(pid, returncode)`` when a child is reaped; ``returncode``
      follows ``subprocess.Popen``: the exit status, or ``-signal`` if a signal killed it.

Requests (parent to server)
    ``sendmsg`` of ``struct.pack("<II", kind, len(payload)) + payload`` with the file
    descriptors attached as ``SCM_RIGHTS`` (at most :data:`MAX_FDS`):

    - kind 1, pool worker: fds ``[worker_socket, arena]``; the child runs
      ``brickwork.multiprocessing._worker.pool_main(worker_socket, arena)``, keeps
      ``SIGINT`` ignored, and exits 0 (1 with a printed traceback on an exception).
    - kind 2, process: fds ``[process_socket]``; the child restores Python's ``SIGINT``
      handler and exits with ``brickwork.multiprocessing.process._child_main(process_socket)``.

    The server closes its copies of the fds as soon as the child is forked.

End of life
    When the control socket reaches end of file (the parent closed it, or died, even by
    ``kill -9``) the server SIGKILLs every live child, reaps them and exits. Every child
    also asks the kernel for SIGKILL should the server die (``PR_SET_PDEATHSIG``), so no
    child outlives the server.

BLAS threads
    OpenBLAS starts its thread pool while it loads, which would make the server
    multi-threaded as soon as NumPy is imported. The server is therefore started with
    ``OPENBLAS_NUM_THREADS=1``; it restores the parent's environment (saved in
    :data:`SAVED_ENV_VAR`) once the preload modules are imported, and every child sets
    OpenBLAS back to the thread count the parent's environment asks for (as a freshly
    spawned interpreter would have it).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
from collections.abc import Iterable, Sequence

from brickwork import _core

__all__ = [
    "EXITED",
    "FRAME_LENGTH",
    "KIND_POOL_WORKER",
    "KIND_PROCESS",
    "MAX_FDS",
    "READY",
    "RECORD",
    "REQUEST_HEADER",
    "SAVED_ENV_VAR",
    "STARTED",
    "close_fds",
    "poll_readable",
    "recv_exact",
    "recv_frame",
    "recv_with_fds",
    "send_frame",
    "send_with_fds",
]

_CONSTANTS: dict[str, int] = dict(_core.FORKSERVER_CONSTANTS)

READY: int = _CONSTANTS["READY"]
"""Record kind: the server is ready; ``pid`` is the server's."""
STARTED: int = _CONSTANTS["STARTED"]
"""Record kind: a child was forked for the oldest unanswered request (``pid`` -1: failed)."""
EXITED: int = _CONSTANTS["EXITED"]
"""Record kind: child ``pid`` was reaped with return code ``value``."""

KIND_POOL_WORKER: int = _CONSTANTS["KIND_POOL_WORKER"]
"""Request kind: a pool worker; fds ``[worker_socket, arena]``."""
KIND_PROCESS: int = _CONSTANTS["KIND_PROCESS"]
"""Request kind: a ``Process``; fds ``[process_socket]``."""

MAX_FDS: int = _CONSTANTS["MAX_FDS"]
"""The most file descriptors one request may carry."""

RECORD = struct.Struct("<iiq")
"""A server-to-parent record: ``(kind, pid, value)``, ``RECORD_SIZE`` (16) bytes."""
REQUEST_HEADER = struct.Struct("<II")
"""A request's header: ``(kind, payload length)``, ``REQUEST_HEADER_SIZE`` (8) bytes."""
FRAME_LENGTH = struct.Struct("<Q")
"""The length prefix of a frame (the startup message, a Process's data)."""

SAVED_ENV_VAR = "_BRICKWORK_FORKSERVER_SAVED_ENV"
"""The environment variable carrying (as JSON) the parent's values of the variables the
server is started with, for the server to restore once it has imported its modules."""

_MSG_CMSG_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes from a stream socket.

    Parameters
    ----------
    sock : socket.socket
        A connected stream socket.
    size : int
        Number of bytes to read.

    Returns
    -------
    bytes
        The ``size`` bytes read.

    Raises
    ------
    EOFError
        If the peer closes the connection first.
    """
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {size} bytes")
        buf += chunk
    return bytes(buf)


def send_with_fds(sock: socket.socket, message: bytes, fds: Sequence[int]) -> None:
    """Send all of ``message``; ``fds`` travel as SCM_RIGHTS with its first bytes."""
    sent = socket.send_fds(sock, [message], list(fds)) if fds else 0
    if sent < len(message):
        sock.sendall(memoryview(message)[sent:])


def close_fds(fds: Iterable[int]) -> None:
    """Close every descriptor of ``fds``, ignoring errors."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def recv_with_fds(sock: socket.socket, size: int, maxfds: int) -> tuple[bytes, list[int]]:
    """Read exactly ``size`` bytes and the file descriptors sent with them."""
    if maxfds == 0:
        return recv_exact(sock, size), []
    data, fds, flags, _ = socket.recv_fds(sock, size, maxfds, _MSG_CMSG_CLOEXEC)
    if flags & socket.MSG_CTRUNC:
        close_fds(fds)
        raise OSError(errno.EPROTO, f"more than {maxfds} file descriptors in one message")
    try:
        if not data:
            raise EOFError("connection closed")
        if len(data) < size:
            data += recv_exact(sock, size - len(data))
    except BaseException:
        close_fds(fds)
        raise
    return data, fds


def send_frame(sock: socket.socket, data: bytes, fds: Sequence[int] = ()) -> None:
    """Send one length-prefixed frame, optionally with file descriptors.

    Parameters
    ----------
    sock : socket.socket
        A connected ``AF_UNIX`` stream socket.
    data : bytes
        The frame's content; it is preceded by its length as ``struct`` ``"<Q"``.
    fds : sequence of int, optional
        File descriptors to pass (``SCM_RIGHTS``) with the frame; the caller keeps its
        own copies.
    """
    send_with_fds(sock, FRAME_LENGTH.pack(len(data)) + data, fds)


def recv_frame(sock: socket.socket, maxfds: int = 0) -> tuple[bytes, list[int]]:
    """Receive one frame written by :func:`send_frame`.

    Parameters
    ----------
    sock : socket.socket
        A connected ``AF_UNIX`` stream socket.
    maxfds : int, optional
        How many file descriptors the frame may carry; 0 (the default) receives none.

    Returns
    -------
    data : bytes
        The frame's content.
    fds : list of int
        The received file descriptors (close-on-exec), owned by the caller.

    Raises
    ------
    EOFError
        If the peer closes the connection before a whole frame arrived.
    """
    header, fds = recv_with_fds(sock, FRAME_LENGTH.size, maxfds)
    try:
        (size,) = FRAME_LENGTH.unpack(header)
        return recv_exact(sock, size), fds
    except BaseException:
        close_fds(fds)
        raise


def poll_readable(sock: socket.socket, timeout: float | None) -> bool:
    """Whether ``sock`` becomes readable within ``timeout`` seconds (``None``: wait)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1)))
