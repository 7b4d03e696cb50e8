"""Process objects run by brickwork's fork server: a drop-in for ``multiprocessing.Process``.

>>> from brickwork.multiprocessing.process import Process
>>> p = Process(target=print, args=("hello from a child",))
>>> p.start()
>>> p.join()
>>> p.exitcode
0

A child is forked by the shared fork server (see ``_forkserver``), never by this
process, which may run threads. The parent sends the child, over a socket pair, its
``sys.path``, ``sys.argv``, working directory, environment, standard output and error, and
the Process object pickled with cloudpickle (so lambdas, closures and functions of
``__main__`` are valid targets). Exit codes follow the standard library: 0 on success,
``n`` for ``sys.exit(n)``, 1 for an uncaught exception (its traceback is printed after
``Process <name>:``), ``-signal`` when a signal killed the child.

Differences from the standard library: a child's ``os.getppid()`` is the fork server, not
this process (``parent_process().pid`` is this process); and every child is killed if
this process dies, even by SIGKILL.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import select
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import cloudpickle

from brickwork.multiprocessing import _client, _forkserver, _protocol, _server

__all__ = [
    "BaseProcess",
    "Process",
    "active_children",
    "cpu_count",
    "current_process",
    "parent_process",
]

_STDIO_FDS = (1, 2)


def _require(condition: bool, message: str) -> None:
    """``assert`` that survives ``python -O`` (the standard library raises AssertionError)."""
    if not condition:
        raise AssertionError(message)


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _readable(fd: int, timeout: float | None) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))


class _ServerPopen:
    """A started child seen from its parent (the standard library's ``Popen`` role).

    Parameters
    ----------
    handle : ForkServerHandle
        The fork server that forked the child.
    pid : int
        The child's pid.
    sock : socket.socket
        The parent's end of the process socket; it becomes readable (end of file)
        when the child exits, so its descriptor is the sentinel.
    """

    def __init__(self, handle: _client.ForkServerHandle, pid: int, sock: socket.socket):
        self.handle = handle
        self.pid = pid
        self.sock = sock
        self.sentinel = sock.fileno()
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The return code, or ``None`` while the child runs."""
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds; the return code or ``None``."""
        if self.returncode is None:
            code = self.handle.wait_exit(self.pid, timeout)
            if code is not None:
                self.returncode = code
                self.handle.forget(self.pid)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the child unless it has exited."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Close the sentinel."""
        self.sock.close()

    def __del__(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.close()


class BaseProcess:
    """Process objects represent activity run in a separate process.

    The API is the standard library's ``multiprocessing.Process`` (itself modelled on
    ``threading.Thread``): pass a ``target``, or subclass and override :meth:`run`.

    Parameters
    ----------
    group : None
        Always ``None``; kept for compatibility with ``threading.Thread``.
    target : callable, optional
        Called by :meth:`run` in the child as ``target(*args, **kwargs)``.
    name : str, optional
        The process name; by default ``"Process-N"`` (``"Process-N:M"`` in a child).
    args : iterable, optional
        Positional arguments for ``target``.
    kwargs : mapping, optional
        Keyword arguments for ``target``.
    daemon : bool, optional
        Whether the process is a daemon: terminated, not joined, when the parent
        exits, and not allowed to start children of its own.
    """

    _popen: _ServerPopen | None

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        _require(group is None, "group argument must be None for now")
        count = next(_process_counter)
        self._identity: tuple[int, ...] = _current_process._identity + (count,)
        self._config: dict[str, Any] = dict(_current_process._config)
        self._parent_pid: int | None = os.getpid()
        self._parent_name = _current_process.name
        self._popen = None
        self._closed = False
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._name = name or type(self).__name__ + "-" + ":".join(map(str, self._identity))
        if daemon is not None:
            self.daemon = daemon

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_popen"] = None
        state.pop("_sentinel", None)
        return state

    def _check_closed(self) -> None:
        if self._closed:
            raise ValueError("process object is closed")

    def run(self) -> None:
        """Run the process's activity: call ``target``; override in a subclass."""
        if self._target:
            self._target(*self._args, **self._kwargs)

    def start(self) -> None:
        """Start the child process; at most once per Process object.

        Raises
        ------
        ValueError
            If the Process object is closed.
        AssertionError
            If it was started already, was created by another process, or the
            current process is a daemon.
        """
        self._check_closed()
        _require(self._popen is None, "cannot start a process twice")
        _require(
            self._parent_pid == os.getpid(),
            "can only start a process object created by current process",
        )
        _require(
            not _current_process._config.get("daemon"),
            "daemonic processes are not allowed to have children",
        )
        _cleanup()
        self._popen = _launch(self)
        self._sentinel = self._popen.sentinel
        # Like the standard library: no reference cycle through the target.
        del self._target, self._args, self._kwargs
        _children.add(self)

    def terminate(self) -> None:
        """Send SIGTERM to the process."""
        self._check_closed()
        self._started_popen().send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the process."""
        self._check_closed()
        self._started_popen().send_signal(signal.SIGKILL)

    def _started_popen(self) -> _ServerPopen:
        popen = self._popen
        if popen is None:
            # The standard library fails with AttributeError too (on its ``None`` Popen).
            raise AttributeError("cannot signal a process that was not started")
        return popen

    def join(self, timeout: float | None = None) -> None:
        """Wait until the process terminates, or ``timeout`` seconds pass.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; ``None`` waits until the process ends. Check
            :meth:`is_alive` or :attr:`exitcode` afterwards to tell which happened.
        """
        self._check_closed()
        _require(self._parent_pid == os.getpid(), "can only join a child process")
        popen = self._popen
        _require(popen is not None, "can only join a started process")
        if popen is not None and popen.wait(timeout) is not None:
            _children.discard(self)

    def is_alive(self) -> bool:
        """Whether the process runs (started and not yet exited).

        Returns
        -------
        bool
            True from :meth:`start` until the process exits.
        """
        self._check_closed()
        if self is _current_process:
            return True
        _require(self._parent_pid == os.getpid(), "can only test a child process")
        if self._popen is None:
            return False
        if self._popen.poll() is None:
            return True
        _children.discard(self)
        return False

    def close(self) -> None:
        """Release the resources of a finished process object.

        Afterwards most methods and attributes raise ValueError.

        Raises
        ------
        ValueError
            If the process still runs.
        """
        if self._popen is not None:
            if self._popen.poll() is None:
                raise ValueError(
                    "Cannot close a process while it is still running. "
                    "You should first call join() or terminate()."
                )
            self._popen.close()
            self._popen = None
            del self._sentinel
            _children.discard(self)
        self._closed = True

    @property
    def name(self) -> str:
        """str : The process name (only used for identification and messages)."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        _require(isinstance(name, str), "name must be a string")
        self._name = name

    @property
    def daemon(self) -> bool:
        """bool : Whether the process is a daemon; settable before :meth:`start`."""
        return bool(self._config.get("daemon", False))

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        _require(self._popen is None, "process has already started")
        self._config["daemon"] = daemonic

    @property
    def authkey(self) -> bytes:
        """bytes : The authentication key, inherited from the parent process."""
        return bytes(self._config["authkey"])

    @authkey.setter
    def authkey(self, authkey: bytes) -> None:
        self._config["authkey"] = bytes(authkey)

    @property
    def exitcode(self) -> int | None:
        """int or None : The exit code; ``None`` before it exits, ``-N`` if killed by signal N."""
        self._check_closed()
        if self._popen is None:
            return None
        return self._popen.poll()

    @property
    def ident(self) -> int | None:
        """int or None : The process id, ``None`` before :meth:`start`."""
        self._check_closed()
        if self is _current_process:
            return os.getpid()
        return self._popen.pid if self._popen is not None else None

    pid = ident

    @property
    def sentinel(self) -> int:
        """int : A file descriptor that becomes readable when the process ends.

        Raises
        ------
        ValueError
            If the process was not started.
        """
        self._check_closed()
        try:
            return self._sentinel
        except AttributeError:
            raise ValueError("process not started") from None

    def __repr__(self) -> str:
        exitcode = None
        if self is _current_process:
            status = "started"
        elif self._closed:
            status = "closed"
        elif self._parent_pid != os.getpid():
            status = "unknown"
        elif self._popen is None:
            status = "initial"
        else:
            exitcode = self._popen.poll()
            status = "started" if exitcode is None else "stopped"
        info = [type(self).__name__, f"name={self._name!r}"]
        if self._popen is not None:
            info.append(f"pid={self._popen.pid}")
        info.append(f"parent={self._parent_pid}")
        info.append(status)
        if exitcode is not None:
            info.append(f"exitcode={_exitcode_to_name.get(exitcode, exitcode)}")
        if self.daemon:
            info.append("daemon")
        return "<" + " ".join(info) + ">"

    def _bootstrap(self, parent_sentinel: int) -> int:
        """Run in the child: become the current process, run, return the exit code."""
        global _current_process, _parent_process, _process_counter, _children
        exitcode = 1
        try:
            _process_counter = itertools.count(1)
            _children = set()
            _current_process = self
            _parent_process = _ParentProcess(
                self._parent_name, self._parent_pid, parent_sentinel
            )
            try:
                self.run()
                exitcode = 0
            finally:
                _exit_function()
        except SystemExit as exc:
            exitcode = _server.system_exit_code(exc)
        except BaseException:
            exitcode = 1
            sys.stderr.write(f"Process {self.name}:\n")
            traceback.print_exc()
        finally:
            shutdown = getattr(threading, "_shutdown", None)
            if shutdown is not None:
                shutdown()
            _server.flush_std_streams()
        return exitcode


class Process(BaseProcess):
    """A process started by brickwork's fork server; see :class:`BaseProcess`.

    Examples
    --------
    >>> p = Process(target=lambda x: print(x * 2), args=(21,))
    >>> p.start(); p.join()
    >>> p.exitcode
    0
    """

    _start_method = None


class _ParentProcess(BaseProcess):
    """The parent as seen from a child: name, pid, and whether it is alive."""

    def __init__(self, name: str, pid: int | None, sentinel: int) -> None:
        self._identity = ()
        self._name = name
        self._pid = pid
        self._parent_pid = None
        self._popen = None
        self._closed = False
        self._sentinel = sentinel
        self._config = {}

    def is_alive(self) -> bool:
        """Whether the parent still runs (its end of the process socket is open)."""
        return not _readable(self._sentinel, 0)

    @property
    def ident(self) -> int | None:
        """int : The parent's process id."""
        return self._pid

    pid = ident

    def join(self, timeout: float | None = None) -> None:
        """Wait until the parent terminates, or ``timeout`` seconds pass."""
        _readable(self._sentinel, timeout)


class _MainProcess(BaseProcess):
    """The process that was not started by :class:`Process`: ``"MainProcess"``."""

    def __init__(self) -> None:
        self._identity = ()
        self._name = "MainProcess"
        self._parent_pid = None
        self._popen = None
        self._closed = False
        self._config = {"authkey": os.urandom(32)}

    def close(self) -> None:
        """Do nothing: the main process cannot be closed."""


_parent_process: BaseProcess | None = None
_current_process: BaseProcess = _MainProcess()
_process_counter = itertools.count(1)
_children: set[BaseProcess] = set()
_exitcode_to_name = {
    -signum: f"-{name}"
    for name, signum in signal.__dict__.items()
    if name.startswith("SIG") and "_" not in name and isinstance(signum, int)
}


def current_process() -> BaseProcess:
    """Return the object representing the current process.

    Returns
    -------
    BaseProcess
        The running Process object in a child, a ``"MainProcess"`` object otherwise.
    """
    return _current_process


def parent_process() -> BaseProcess | None:
    """Return the object representing the parent process.

    Returns
    -------
    BaseProcess or None
        The parent (its name, pid, ``is_alive()`` and ``join()``) in a child; ``None``
        in the main process.
    """
    return _parent_process


def active_children() -> list[BaseProcess]:
    """Return the started children that still run.

    Returns
    -------
    list of BaseProcess
        Every started, not yet exited child (finished ones are forgotten).
    """
    _cleanup()
    return list(_children)


def cpu_count() -> int:
    """Return the number of CPUs in the system.

    Returns
    -------
    int
        ``os.cpu_count()``.

    Raises
    ------
    NotImplementedError
        If the number cannot be determined.
    """
    count = os.cpu_count()
    if count is None:
        raise NotImplementedError("cannot determine number of cpus")
    return count


def _cleanup() -> None:
    """Forget children that have exited."""
    for process in list(_children):
        popen = process._popen
        if popen is not None and popen.poll() is not None:
            _children.discard(process)


def _preparation_data() -> dict[str, Any]:
    """What a child needs before it can unpickle its Process object."""
    return {
        "sys_path": list(sys.path),
        "sys_argv": list(sys.argv),
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "stdio": [fd for fd in _STDIO_FDS if _fd_is_open(fd)],
    }


def _launch(process: BaseProcess) -> _ServerPopen:
    """Fork a child for ``process`` and send it everything it needs."""
    preparation = _preparation_data()
    prep_bytes = pickle.dumps(preparation, protocol=pickle.HIGHEST_PROTOCOL)
    process_bytes = cloudpickle.dumps(process, protocol=pickle.HIGHEST_PROTOCOL)
    _server.flush_std_streams()
    handle = _forkserver.get_shared_server()
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with child_end:
            pid = handle.request(_protocol.KIND_PROCESS, [child_end.fileno()])
    except BaseException:
        parent_end.close()
        raise
    popen = _ServerPopen(handle, pid, parent_end)
    try:
        _protocol.send_frame(parent_end, prep_bytes, fds=preparation["stdio"])
        _protocol.send_frame(parent_end, process_bytes)
    except OSError:
        pass  # the child died before reading; its exit code tells why
    return popen


def _apply_preparation(preparation: dict[str, Any], fds: list[int]) -> None:
    """In the child: take the parent's stdio, paths, directory and environment."""
    _server.flush_std_streams()
    for target, fd in zip(preparation["stdio"], fds, strict=False):
        os.dup2(fd, target)
    for fd in fds:
        os.close(fd)
    sys.path[:] = preparation["sys_path"]
    sys.argv[:] = preparation["sys_argv"]
    try:
        os.chdir(preparation["cwd"])
    except OSError:
        pass
    os.environ.clear()
    os.environ.update(preparation["environ"])


# The child's end of its process socket; kept open (as the parent's sentinel) until exit.
_parent_socket: socket.socket | None = None


def _child_main(fd: int) -> int:
    """Run a Process in a child forked by the fork server.

    Parameters
    ----------
    fd : int
        The child's end of the process socket.

    Returns
    -------
    int
        The exit code (standard library semantics).
    """
    global _parent_socket
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(False)
    _parent_socket = sock
    try:
        prep_bytes, fds = _protocol.recv_frame(sock, maxfds=len(_STDIO_FDS))
        _apply_preparation(pickle.loads(prep_bytes), fds)
        process_bytes, _ = _protocol.recv_frame(sock)
        process = pickle.loads(process_bytes)
    except EOFError:
        return 1  # the parent gave up before sending the process
    except BaseException:
        sys.stderr.write("brickwork: could not receive the Process object:\n")
        traceback.print_exc()
        _server.flush_std_streams()
        return 1
    return process._bootstrap(parent_sentinel=sock.fileno())


def _exit_function() -> None:
    """At exit: terminate daemonic children, join the others, stop the fork server."""
    for process in active_children():
        if process.daemon and process._popen is not None:
            process._popen.send_signal(signal.SIGTERM)
    for process in active_children():
        process.join()
    _forkserver.close_shared_server()


def _after_fork_in_child() -> None:
    """In a child forked from this process: its parent's children are not its own."""
    global _children
    _children = set()


atexit.register(_exit_function)
os.register_at_fork(after_in_child=_after_fork_in_child)
