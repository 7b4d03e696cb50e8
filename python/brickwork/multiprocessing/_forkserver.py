"""A fork server: a fresh, single-threaded CPython process that forks children on request.

A process that runs threads must never fork (a lock held by another thread stays held
forever in the child), and a brickwork parent always may run threads (the Rust scheduler,
the pool's result thread). So workers come from a *fork server*: a new interpreter started
with ``subprocess`` (fork + exec, which is safe), which imports what the children need,
never starts a thread, and forks a child for every request of its parent.

Protocol (the Rust pool speaks it as well)
------------------------------------------
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
    descriptors attached as ``SCM_RIGHTS``:

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
    ``OPENBLAS_NUM_THREADS=1``; it restores the parent's environment once the preload
    modules are imported, and every child sets OpenBLAS back to the thread count the
    parent's environment asks for (as a freshly spawned interpreter would have it).
"""

from __future__ import annotations

import collections
import ctypes
import errno
import importlib
import json
import os
import pickle
import select
import selectors
import signal
import site
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import Any, NoReturn

__all__ = [
    "DEFAULT_PRELOAD",
    "EXITED",
    "KIND_POOL_WORKER",
    "KIND_PROCESS",
    "READY",
    "STARTED",
    "ForkServerHandle",
    "close_shared_server",
    "get_shared_server",
    "main",
    "recv_frame",
    "send_frame",
    "start_server",
]

READY = 0
"""Record kind: the server is ready; ``pid`` is the server's."""
STARTED = 1
"""Record kind: a child was forked for the oldest unanswered request (``pid`` -1: failed)."""
EXITED = 2
"""Record kind: child ``pid`` was reaped with return code ``value``."""

KIND_POOL_WORKER = 1
"""Request kind: a pool worker; fds ``[worker_socket, arena]``."""
KIND_PROCESS = 2
"""Request kind: a ``Process``; fds ``[process_socket]``."""

RECORD = struct.Struct("<iiq")
"""A server-to-parent record: ``(kind, pid, value)``, 16 bytes."""
REQUEST_HEADER = struct.Struct("<II")
"""A request's header: ``(kind, payload length)``."""
FRAME_LENGTH = struct.Struct("<Q")
"""The length prefix of a frame (the startup message, a Process's data)."""

DEFAULT_PRELOAD: tuple[str, ...] = ("numpy",)
"""Modules a fork server imports by default, so that children start with them loaded."""

STARTUP_TIMEOUT_S = 60.0
"""Seconds :func:`start_server` waits for READY by default."""
MAX_FDS = 4
"""The most file descriptors one request may carry."""

# Always imported by the server, after the caller's preload list, so that a Process child
# starts without importing anything.
_SERVER_MODULES = ("brickwork.multiprocessing.process",)

# Environment variables the server is started with, and their parent values to restore.
_SAVED_ENV_VAR = "_BRICKWORK_FORKSERVER_SAVED_ENV"
_BLAS_THREADS_VAR = "OPENBLAS_NUM_THREADS"
_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
_BLAS_SETTERS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
)
_PR_SET_PDEATHSIG = 1
_MSG_CMSG_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


# --------------------------------------------------------------------------------------
# Framing shared by both sides
# --------------------------------------------------------------------------------------


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


def _send_with_fds(sock: socket.socket, message: bytes, fds: Sequence[int]) -> None:
    """Send all of ``message``; ``fds`` travel as SCM_RIGHTS with its first bytes."""
    sent = socket.send_fds(sock, [message], list(fds)) if fds else 0
    if sent < len(message):
        sock.sendall(memoryview(message)[sent:])


def _close_fds(fds: Iterable[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _recv_with_fds(sock: socket.socket, size: int, maxfds: int) -> tuple[bytes, list[int]]:
    """Read exactly ``size`` bytes and the file descriptors sent with them."""
    if maxfds == 0:
        return recv_exact(sock, size), []
    data, fds, flags, _ = socket.recv_fds(sock, size, maxfds, _MSG_CMSG_CLOEXEC)
    if flags & socket.MSG_CTRUNC:
        _close_fds(fds)
        raise OSError(errno.EPROTO, f"more than {maxfds} file descriptors in one message")
    try:
        if not data:
            raise EOFError("connection closed")
        if len(data) < size:
            data += recv_exact(sock, size - len(data))
    except BaseException:
        _close_fds(fds)
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
    _send_with_fds(sock, FRAME_LENGTH.pack(len(data)) + data, fds)


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
    header, fds = _recv_with_fds(sock, FRAME_LENGTH.size, maxfds)
    try:
        (size,) = FRAME_LENGTH.unpack(header)
        return recv_exact(sock, size), fds
    except BaseException:
        _close_fds(fds)
        raise


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _system_exit_code(exc: SystemExit) -> int:
    """The exit code of a ``SystemExit``, as ``multiprocessing`` computes it."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(str(exc.code) + "\n")
    return 1


# --------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """SIGCHLD handler: the wake-up fd does the work, the handler only has to exist."""


def _pop_saved_environment() -> dict[str, str | None]:
    saved = os.environ.pop(_SAVED_ENV_VAR, None)
    return json.loads(saved) if saved else {}


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _prepare(startup: dict[str, Any]) -> None:
    """Apply the startup message: sys.path, working directory, preload imports."""
    sys.path[:] = list(startup.get("sys_path", sys.path))
    cwd = startup.get("cwd")
    if isinstance(cwd, str):
        try:
            os.chdir(cwd)
        except OSError:
            pass
    for name in [*startup.get("preload", ()), *_SERVER_MODULES]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _check_single_threaded() -> None:
    count = _thread_count()
    if count != 1:
        raise RuntimeError(
            f"the fork server runs {count} threads after importing its preload modules; "
            "it must stay single-threaded to fork safely (remove the module that starts "
            "threads from the preload list)"
        )


def _wanted_blas_threads() -> int:
    """The OpenBLAS thread count the (restored) environment asks for."""
    for name in _BLAS_THREAD_VARS:
        try:
            value = int(os.environ.get(name, ""))
        except ValueError:
            continue
        if value > 0:
            return value
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _loaded_openblas_paths() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    paths = {parts[5] for parts in (line.split(None, 5) for line in lines) if len(parts) == 6}
    return sorted(p for p in paths if "openblas" in os.path.basename(p) and ".so" in p)


def _blas_thread_setter(path: str) -> Callable[[int], None] | None:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for name in _BLAS_SETTERS:
        try:
            setter = getattr(lib, name)
        except AttributeError:
            continue
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        return setter
    return None


def _blas_restorers() -> list[Callable[[], None]]:
    """Callables a child runs to give OpenBLAS back the parent's thread count."""
    wanted = _wanted_blas_threads()
    if wanted <= 1:
        return []
    setters = [_blas_thread_setter(path) for path in _loaded_openblas_paths()]
    return [lambda s=s: s(wanted) for s in setters if s is not None]


class _Server:
    """The fork server's state and loop; lives only in the server process."""

    def __init__(self, sock: socket.socket, blas_restorers: list[Callable[[], None]]) -> None:
        self.sock = sock
        self.pid = os.getpid()
        self.live: set[int] = set()
        self.blas_restorers = blas_restorers
        self.prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.signal(signal.SIGCHLD, _ignore_signal)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)

    def send(self, kind: int, pid: int, value: int) -> None:
        self.sock.sendall(RECORD.pack(kind, pid, value))

    def serve_forever(self) -> None:
        try:
            while self._step():
                pass
        except (OSError, EOFError):
            pass
        self.shutdown()

    def _step(self) -> bool:
        """Handle what is ready; False once the parent is gone."""
        for key, _ in self.selector.select():
            if key.fileobj is self.sock:
                if not self.handle_request():
                    return False
            else:
                self._drain_wakeup()
                self.reap()
        return True

    def _drain_wakeup(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.live.discard(pid)
            self.send(EXITED, pid, os.waitstatus_to_exitcode(status))

    def handle_request(self) -> bool:
        """Fork one child for the next request; False at end of file."""
        try:
            header, fds = _recv_with_fds(self.sock, REQUEST_HEADER.size, MAX_FDS)
        except EOFError:
            return False
        try:
            kind, size = REQUEST_HEADER.unpack(header)
            payload = recv_exact(self.sock, size) if size else b""
            pid, error = self._fork(kind, fds, payload)
        finally:
            _close_fds(fds)
        self.send(STARTED, pid, error)
        return True

    def _fork(self, kind: int, fds: list[int], payload: bytes) -> tuple[int, int]:
        if kind not in _CHILD_RUNNERS:
            return -1, errno.EINVAL
        try:
            pid = os.fork()
        except OSError as exc:
            return -1, exc.errno or errno.EAGAIN
        if pid == 0:
            self._child(kind, fds, payload)
        self.live.add(pid)
        return pid, 0

    def _child(self, kind: int, fds: list[int], payload: bytes) -> NoReturn:
        code = 1
        try:
            self._leave_server()
            code = _CHILD_RUNNERS[kind](fds, payload)
        except SystemExit as exc:
            code = _system_exit_code(exc)
        except BaseException:
            traceback.print_exc()
        finally:
            _flush_std_streams()
            os._exit(code % 256)

    def _leave_server(self) -> None:
        """In a fresh child: drop everything of the server's, die with the server."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.sock.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        if self.prctl is not None:
            zero = ctypes.c_ulong(0)
            kill = ctypes.c_ulong(signal.SIGKILL)
            self.prctl(ctypes.c_int(_PR_SET_PDEATHSIG), kill, zero, zero, zero)
        if os.getppid() != self.pid:
            os._exit(1)
        for restore in self.blas_restorers:
            restore()

    def shutdown(self) -> None:
        """Kill and reap every live child."""
        for pid in self.live:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.live:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.live.clear()


def _expect_fds(fds: list[int], count: int) -> list[int]:
    if len(fds) < count:
        raise RuntimeError(f"the request carried {len(fds)} file descriptors, not {count}")
    _close_fds(fds[count:])
    return fds[:count]


def _run_pool_worker(fds: list[int], payload: bytes) -> int:
    worker_fd, arena_fd = _expect_fds(fds, 2)
    from brickwork.multiprocessing._worker import pool_main

    pool_main(worker_fd, arena_fd)
    return 0


def _run_process(fds: list[int], payload: bytes) -> int:
    (process_fd,) = _expect_fds(fds, 1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from brickwork.multiprocessing.process import _child_main

    return _child_main(process_fd)


_CHILD_RUNNERS: dict[int, Callable[[list[int], bytes], int]] = {
    KIND_POOL_WORKER: _run_pool_worker,
    KIND_PROCESS: _run_process,
}


def main(fd: int) -> None:
    """Run the fork server on the control socket ``fd``; never returns.

    Parameters
    ----------
    fd : int
        The server's end of the control socket, inherited from the parent.

    Notes
    -----
    Started by :func:`start_server` as
    ``python -c "from brickwork.multiprocessing._forkserver import main; main(fd)"``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=fd)
    saved_environment = _pop_saved_environment()
    try:
        startup, _ = recv_frame(sock)
    except (EOFError, OSError):
        os._exit(1)
    _prepare(pickle.loads(startup))
    _restore_environment(saved_environment)
    _check_single_threaded()
    server = _Server(sock, _blas_restorers())
    try:
        server.send(READY, server.pid, 0)
    except OSError:
        os._exit(1)
    server.serve_forever()
    _flush_std_streams()
    os._exit(0)


# --------------------------------------------------------------------------------------
# The parent's side
# --------------------------------------------------------------------------------------


class _PendingStart:
    """The answer to one request: a pid, or the error that replaced it."""

    __slots__ = ("done", "error", "pid")

    def __init__(self) -> None:
        self.done = False
        self.pid = -1
        self.error: BaseException | None = None


def _poll_readable(sock: socket.socket, timeout: float | None) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1)))


def _pid_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


_HANDLES: weakref.WeakSet[ForkServerHandle] = weakref.WeakSet()


class ForkServerHandle:
    """The parent's handle on a running fork server.

    Created by :func:`start_server`. Thread-safe: any thread may :meth:`request`
    children and :meth:`wait_exit` for them. Records are read either by whichever
    caller is waiting (the default) or by a background thread (:meth:`start_reader`).

    Parameters
    ----------
    popen : subprocess.Popen
        The server process.
    sock : socket.socket
        The parent's end of the control socket, past the READY record.

    Attributes
    ----------
    pid : int
        The server's process id.
    popen : subprocess.Popen
        The server process.
    """

    def __init__(self, popen: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._sock: socket.socket | None = sock
        self._send_lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._pending: collections.deque[_PendingStart] = collections.deque()
        self._exits: dict[int, int] = {}
        self._live: set[int] = set()
        self._reading = False
        self._eof = False
        self._abandoned = False
        self._detached = False
        self._reader: threading.Thread | None = None
        _HANDLES.add(self)

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else ("dead" if self._eof else "running")
        return f"<ForkServerHandle pid={self.pid} {state} children={len(self._live)}>"

    def __enter__(self) -> ForkServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """bool : Whether this handle no longer owns the control socket."""
        return self._sock is None

    @property
    def usable(self) -> bool:
        """bool : Whether requests can still be sent (open, and the server is alive)."""
        return self._sock is not None and not self._eof

    def fileno(self) -> int:
        """Return the control socket's file descriptor (still owned by the handle).

        Returns
        -------
        int
            The parent's end of the control socket.
        """
        return self._require_socket().fileno()

    def _require_socket(self) -> socket.socket:
        sock = self._sock
        if sock is None:
            raise ValueError("the fork server handle is closed")
        return sock

    # ---- requests ----------------------------------------------------------------

    def request(self, kind: int, fds: Sequence[int], payload: bytes = b"") -> int:
        """Ask the server to fork a child and return the child's pid.

        Parameters
        ----------
        kind : int
            :data:`KIND_POOL_WORKER` or :data:`KIND_PROCESS`.
        fds : sequence of int
            File descriptors for the child (see the module docstring); the caller keeps
            and should close its own copies.
        payload : bytes, optional
            Extra bytes sent with the request.

        Returns
        -------
        int
            The pid of the forked child.

        Raises
        ------
        RuntimeError
            If the server is gone.
        OSError
            If the server could not fork (the server's errno).
        """
        pending = _PendingStart()
        message = REQUEST_HEADER.pack(kind, len(payload)) + payload
        with self._send_lock:
            sock = self._require_socket()
            with self._cond:
                if self._eof:
                    raise RuntimeError(f"the fork server (pid {self.pid}) has exited")
                self._pending.append(pending)
            try:
                _send_with_fds(sock, message, fds)
            except OSError as exc:
                with self._cond:
                    self._mark_eof()
                raise RuntimeError(f"the fork server (pid {self.pid}) has exited") from exc
        self._pump(lambda: pending.done, None)
        if pending.error is not None:
            raise pending.error
        return pending.pid

    def wait_exit(self, pid: int, timeout: float | None = None) -> int | None:
        """Wait until the child ``pid`` has exited and return its return code.

        Parameters
        ----------
        pid : int
            A pid returned by :meth:`request`.
        timeout : float, optional
            Seconds to wait; ``None`` waits as long as needed, 0 only polls.

        Returns
        -------
        int or None
            The return code (``-signal`` if a signal killed the child), or ``None`` if
            it still runs when the timeout expires. Should the server die, its children
            die with it (SIGKILL): their return code is then -9 once they are gone.

        Raises
        ------
        ValueError
            If ``pid`` is not a child of this server.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if pid not in self._live and pid not in self._exits:
                raise ValueError(f"process {pid} is not a child of this fork server")
        if self._pump(lambda: pid in self._exits, deadline):
            return self._exits[pid]
        if self._eof:
            return self._wait_orphan(pid, deadline)
        return None

    def forget(self, pid: int) -> None:
        """Drop the stored return code of ``pid`` (once the caller has kept it).

        Parameters
        ----------
        pid : int
            A child whose :meth:`wait_exit` result is no longer needed.
        """
        with self._cond:
            self._exits.pop(pid, None)

    def _wait_orphan(self, pid: int, deadline: float | None) -> int | None:
        """A child of a dead server: wait until it is gone, then report -SIGKILL."""
        while not _pid_gone(pid):
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
        with self._cond:
            self._live.discard(pid)
            return self._exits.setdefault(pid, -signal.SIGKILL)

    # ---- reading records ---------------------------------------------------------

    def _pump(self, done: Callable[[], bool], deadline: float | None) -> bool:
        """Wait until ``done()``, reading records while no other thread does."""
        with self._cond:
            while not done():
                if self._eof:
                    return False
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if self._reading:
                    if remaining == 0:
                        return False
                    self._cond.wait(remaining)
                elif not self._read_one(remaining) and remaining == 0:
                    return False
            return True

    def _read_one(self, timeout: float | None) -> bool:
        """Read and dispatch one record, False if none came within ``timeout``.

        Called holding ``_cond``, which it releases while it reads.
        """
        self._reading = True
        self._cond.release()
        record: tuple[int, int, int] | None = None
        eof = False
        try:
            record = self._read_record(timeout)
        except EOFError:
            eof = True
        finally:
            self._cond.acquire()
            self._reading = False
            self._cond.notify_all()
        if eof:
            self._mark_eof()
        elif record is not None:
            self._dispatch(*record)
        return eof or record is not None

    def _read_record(self, timeout: float | None) -> tuple[int, int, int] | None:
        """The next record, ``None`` on timeout; EOFError once the server is gone."""
        sock = self._sock
        if sock is None:
            raise EOFError("handle closed")
        try:
            if timeout is not None and not _poll_readable(sock, timeout):
                return None
            kind, pid, value = RECORD.unpack(recv_exact(sock, RECORD.size))
        except (OSError, ValueError) as exc:
            raise EOFError(str(exc)) from exc
        return kind, pid, value

    def _dispatch(self, kind: int, pid: int, value: int) -> None:
        """Apply one record; called holding ``_cond``."""
        if kind == STARTED and self._pending:
            pending = self._pending.popleft()
            if pid > 0:
                pending.pid = pid
                self._live.add(pid)
            else:
                pending.error = OSError(value, f"fork server could not fork: {os.strerror(value)}")
            pending.done = True
        elif kind == EXITED:
            self._live.discard(pid)
            self._exits[pid] = value
        self._cond.notify_all()

    def _mark_eof(self) -> None:
        """The server is gone; fail pending requests. Called holding ``_cond``."""
        self._eof = True
        while self._pending:
            pending = self._pending.popleft()
            pending.error = RuntimeError(f"the fork server (pid {self.pid}) has exited")
            pending.done = True
        self._cond.notify_all()

    def start_reader(self) -> None:
        """Read records in a background daemon thread from now on.

        Waiting callers then only wait. Idempotent. A handle with a reader cannot be
        :meth:`detach`-ed.
        """
        with self._cond:
            if self._reader is not None:
                return
            while self._reading:
                self._cond.wait()
            self._reading = True
            self._reader = threading.Thread(
                target=self._reader_loop, name=f"brickwork-forkserver-{self.pid}", daemon=True
            )
            self._reader.start()

    def _reader_loop(self) -> None:
        try:
            while True:
                try:
                    record = self._read_record(None)
                except EOFError:
                    return
                if record is not None:
                    with self._cond:
                        self._dispatch(*record)
        finally:
            with self._cond:
                self._mark_eof()
            self._reap_server()

    def _reap_server(self) -> None:
        """After end of file the server is exiting: collect its exit status."""
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass

    # ---- end of life -------------------------------------------------------------

    def detach(self) -> int:
        """Give up the control socket and return its file descriptor.

        The caller (the Rust pool) then owns the socket and speaks the protocol itself;
        closing it ends the server. The handle keeps :attr:`pid` and :attr:`popen`
        (``popen.wait()`` reaps the server once it has exited); :meth:`close` then
        leaves the server alone.

        Returns
        -------
        int
            The parent's end of the control socket.

        Raises
        ------
        RuntimeError
            If records are being read (a reader thread, or a waiting caller).
        """
        with self._send_lock, self._cond:
            if self._reader is not None or self._reading or self._pending:
                raise RuntimeError("cannot detach a fork server handle that reads records")
            sock = self._require_socket()
            self._sock = None
            self._eof = True
            self._detached = True
        _HANDLES.discard(self)
        return sock.detach()

    def close(self, timeout: float = 5.0) -> None:
        """Close the control socket and wait for the server to exit.

        The server kills any child still running. Idempotent. After :meth:`detach`
        the socket belongs to someone else: nothing is closed or waited for.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the server before it is killed.
        """
        with self._send_lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)
        with self._cond:
            self._mark_eof()
        if not (self._abandoned or self._detached):
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def _abandon_after_fork(self) -> None:
        """In a child forked from the parent: close this copy of the socket, forget all."""
        self._send_lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._abandoned = True
        self._eof = True
        self._reading = False
        self._reader = None
        self._pending.clear()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


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
    env[_SAVED_ENV_VAR] = json.dumps(saved)
    return env


def _server_command(fd: int) -> list[str]:
    code = f"from brickwork.multiprocessing._forkserver import main; main({fd})"
    return [sys.executable, *subprocess._args_from_interpreter_flags(), "-c", code]


def _wait_ready(sock: socket.socket, popen: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for the READY record; RuntimeError if the server dies or is too slow."""
    deadline = time.monotonic() + timeout
    while not _poll_readable(sock, min(0.1, max(0.0, deadline - time.monotonic()))):
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
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()
    for handle in list(_HANDLES):
        handle._abandon_after_fork()
    _HANDLES.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
