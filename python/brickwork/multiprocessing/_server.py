"""The fork server's side: a fresh, single-threaded CPython process that forks children.

A process that runs threads must never fork (a lock held by another thread stays held
forever in the child), and a brickwork parent always may run threads (the Rust scheduler,
the pool's result thread). So workers come from a *fork server*: a new interpreter started
with ``subprocess`` (fork + exec, which is safe; see ``_forkserver.start_server``), which
imports what the children need, never starts a thread, and forks a child for every
request of its parent. The protocol is described in ``_protocol``.

This module runs in the server process (:func:`main`) and in the children it forks;
the parent imports it only for :func:`flush_std_streams` and :func:`system_exit_code`,
which a ``Process`` child shares with the server's children.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import json
import os
import pickle
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from brickwork.multiprocessing._protocol import (
    EXITED,
    KIND_POOL_WORKER,
    KIND_PROCESS,
    MAX_FDS,
    READY,
    RECORD,
    REQUEST_HEADER,
    SAVED_ENV_VAR,
    STARTED,
    close_fds,
    recv_exact,
    recv_frame,
    recv_with_fds,
)

__all__ = ["flush_std_streams", "main", "system_exit_code"]

# Always imported by the server, after the caller's preload list, so that a Process child
# starts without importing anything.
_SERVER_MODULES = ("brickwork.multiprocessing.process",)

_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
_BLAS_SETTERS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
)
_PR_SET_PDEATHSIG = 1


def flush_std_streams() -> None:
    """Flush ``sys.stdout`` and ``sys.stderr`` (before a fork or an exit), ignoring errors."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def system_exit_code(exc: SystemExit) -> int:
    """The exit code of a ``SystemExit``, as ``multiprocessing`` computes it."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(str(exc.code) + "\n")
    return 1


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """SIGCHLD handler: the wake-up fd does the work, the handler only has to exist."""


def _pop_saved_environment() -> dict[str, str | None]:
    saved = os.environ.pop(SAVED_ENV_VAR, None)
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
            header, fds = recv_with_fds(self.sock, REQUEST_HEADER.size, MAX_FDS)
        except EOFError:
            return False
        try:
            kind, size = REQUEST_HEADER.unpack(header)
            payload = recv_exact(self.sock, size) if size else b""
            pid, error = self._fork(kind, fds, payload)
        finally:
            close_fds(fds)
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
            code = system_exit_code(exc)
        except BaseException:
            traceback.print_exc()
        finally:
            flush_std_streams()
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
    close_fds(fds[count:])
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
    Started by :func:`brickwork.multiprocessing._forkserver.start_server` as
    ``python -c "from brickwork.multiprocessing._server import main; main(fd)"``.
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
    flush_std_streams()
    os._exit(0)
