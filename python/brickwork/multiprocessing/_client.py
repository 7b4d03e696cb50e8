"""The parent's side of a fork server: :class:`ForkServerHandle`.

A handle owns the parent's end of the control socket of a server started by
``_forkserver.start_server``: it sends requests, reads the server's records (in
whichever thread waits, or in a reader thread) and keeps each child's return code.
The protocol is described in ``_protocol``. The Rust pool takes the socket over with
:meth:`ForkServerHandle.detach` and speaks the protocol itself.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from brickwork.multiprocessing._protocol import (
    EXITED,
    RECORD,
    REQUEST_HEADER,
    STARTED,
    poll_readable,
    recv_exact,
    send_with_fds,
)

__all__ = ["ForkServerHandle"]


class _PendingStart:
    """The answer to one request: a pid, or the error that replaced it."""

    __slots__ = ("done", "error", "pid")

    def __init__(self) -> None:
        self.done = False
        self.pid = -1
        self.error: BaseException | None = None


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

    Created by ``_forkserver.start_server``. Thread-safe: any thread may :meth:`request`
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
            ``_protocol.KIND_POOL_WORKER`` or ``_protocol.KIND_PROCESS``.
        fds : sequence of int
            File descriptors for the child (see ``_protocol``); the caller keeps
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
                send_with_fds(sock, message, fds)
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
            if timeout is not None and not poll_readable(sock, timeout):
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


def _after_fork_in_child() -> None:
    """In a child made by ``os.fork()``: the parent's handles are not this process's."""
    for handle in list(_HANDLES):
        handle._abandon_after_fork()
    _HANDLES.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
