"""brickwork.multiprocessing.process against the standard library's multiprocessing.

Exit codes, stderr messages and misuse errors are compared with
``multiprocessing.get_context("spawn").Process`` running the same targets; the fork
server's own guarantees (one thread, children die with the server and with the parent,
the wire protocol) are checked directly.
"""

from __future__ import annotations

import errno
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from brickwork.multiprocessing import _forkserver, _protocol
from brickwork.multiprocessing.process import (
    Process,
    active_children,
    cpu_count,
    current_process,
    parent_process,
)

SPAWN = multiprocessing.get_context("spawn")
JOIN_TIMEOUT_S = 20.0


# ---- targets (module level, so that spawn can import them) ---------------------------


def _ok() -> None:
    pass


def _exit_3() -> None:
    sys.exit(3)


def _exit_none() -> None:
    sys.exit()


def _exit_message() -> None:
    sys.exit("goodbye-from-child")


def _raise() -> None:
    raise ValueError("boom-from-child")


def _os_exit_7() -> None:
    os._exit(7)


def _sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _write(path: str, text: str) -> None:
    Path(path).write_text(text)


def _announce_and_sleep(path: str, seconds: float) -> None:
    Path(path).write_text("ready")
    time.sleep(seconds)


def _report_identity(path: str) -> None:
    parent = parent_process()
    assert parent is not None
    me = current_process()
    Path(path).write_text(f"{os.getpid()} {me.pid} {me.name} {parent.pid} {parent.name}")


def _report_threads_after_numpy(path: str) -> None:
    import numpy

    numpy.ones(1).sum()
    Path(path).write_text(str(len(os.listdir("/proc/self/task"))))


def _try_start_child(path: str) -> None:
    try:
        Process(target=_ok).start()
    except AssertionError as exc:
        Path(path).write_text(str(exc))


def _start_grandchild(path: str) -> None:
    child = Process(target=_write, args=(path, current_process().name))
    child.start()
    child.join()
    with open(path, "a") as f:
        f.write(f" {child.name} {child.exitcode}")


class _Writer(Process):
    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path = path
        self.text = text

    def run(self) -> None:
        Path(self.path).write_text(self.text * 2)


# ---- helpers -------------------------------------------------------------------------


def _gone(pid: int) -> bool:
    """No such process, or a zombie (exited, waiting for a reaper that is not us)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.02)
    return _gone(pid)


def _wait_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written within {timeout} s")


def _run(process_cls: type, targets: list, args: tuple = ()) -> list:
    processes = [process_cls(target=t, args=args) for t in targets]
    for p in processes:
        p.start()
    return processes


def _join_all(processes: list) -> list[int | None]:
    for p in processes:
        p.join(JOIN_TIMEOUT_S)
    return [p.exitcode for p in processes]


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---- exit codes and messages, compared with the standard library ---------------------

EXIT_CASES = {
    _ok: 0,
    _exit_3: 3,
    _exit_none: 0,
    _exit_message: 1,
    _raise: 1,
    _os_exit_7: 7,
    _sigkill_self: -signal.SIGKILL,
}


def test_exit_codes_match_stdlib(capfd):
    targets = list(EXIT_CASES)
    reference = _run(SPAWN.Process, targets)
    ours = _run(Process, targets)
    expected = list(EXIT_CASES.values())
    assert _join_all(ours) == expected
    assert _join_all(reference) == expected
    err = capfd.readouterr().err
    assert err.count("goodbye-from-child") == 2
    assert err.count("ValueError: boom-from-child") == 2


def test_uncaught_exception_output_matches_stdlib(capfd):
    for cls in (SPAWN.Process, Process):
        p = cls(target=_raise, name="Boomer")
        p.start()
        p.join(JOIN_TIMEOUT_S)
        assert p.exitcode == 1
    lines = [line for line in capfd.readouterr().err.splitlines() if line]
    assert lines.count("Process Boomer:") == 2
    assert lines.count("Traceback (most recent call last):") == 2
    assert lines.count("ValueError: boom-from-child") == 2


def test_keyboard_interrupt_in_child_and_server_ignores_sigint(tmp_path, capfd):
    ready = tmp_path / "ready"
    p = Process(target=_announce_and_sleep, args=(str(ready), 30))
    p.start()
    _wait_file(ready)
    server = _forkserver.get_shared_server()
    os.kill(server.pid, signal.SIGINT)
    os.kill(p.pid, signal.SIGINT)
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 1  # as the standard library: KeyboardInterrupt is an exception
    assert "KeyboardInterrupt" in capfd.readouterr().err
    assert not _gone(server.pid)
    assert _forkserver.get_shared_server() is server
    q = Process(target=_ok)
    q.start()
    q.join(JOIN_TIMEOUT_S)
    assert q.exitcode == 0


# ---- targets, arguments, subclasses --------------------------------------------------


def test_lambda_and_closure_targets(tmp_path):
    lam = tmp_path / "lambda"
    clo = tmp_path / "closure"
    suffix = "-captured"

    def closure() -> None:
        clo.write_text("closure" + suffix)

    p1 = Process(target=lambda: lam.write_text("lambda"))
    p2 = Process(target=closure)
    p1.start()
    p2.start()
    p1.join(JOIN_TIMEOUT_S)
    p2.join(JOIN_TIMEOUT_S)
    assert (p1.exitcode, p2.exitcode) == (0, 0)
    assert lam.read_text() == "lambda"
    assert clo.read_text() == "closure-captured"


def test_args_and_kwargs(tmp_path):
    out = tmp_path / "out"

    def target(a, b, *, c, d=4):
        out.write_text(repr((a, b, c, d)))

    p = Process(target=target, args=[1, "two"], kwargs={"c": [3]})
    p.start()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0
    assert out.read_text() == repr((1, "two", [3], 4))


def test_subclass_with_run(tmp_path):
    module_level = tmp_path / "module_level"
    local = tmp_path / "local"

    class Local(Process):
        def run(self) -> None:
            local.write_text(f"{self.name}:{type(self).__name__}")

    p1 = _Writer(str(module_level), "ab")
    p2 = Local(name="local-one")
    p1.start()
    p2.start()
    p1.join(JOIN_TIMEOUT_S)
    p2.join(JOIN_TIMEOUT_S)
    assert (p1.exitcode, p2.exitcode) == (0, 0)
    assert module_level.read_text() == "abab"
    assert local.read_text() == "local-one:Local"


def test_child_is_another_process_that_knows_its_parent(tmp_path):
    out = tmp_path / "identity"
    p = Process(target=_report_identity, args=(str(out),), name="who")
    assert p.pid is None
    p.start()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0
    getpid, pid, name, parent_pid, parent_name = out.read_text().split()
    assert int(getpid) == int(pid) == p.pid == p.ident
    assert p.pid != os.getpid()
    assert name == "who"
    assert int(parent_pid) == os.getpid()
    assert parent_name == "MainProcess"


def test_child_follows_parent_environment_and_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("BRICKWORK_TEST_VARIABLE", "from-parent")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "env"
    had_blas_setting = os.environ.get("OPENBLAS_NUM_THREADS")

    def target() -> None:
        blas = os.environ.get("OPENBLAS_NUM_THREADS")
        out.write_text(repr((os.environ["BRICKWORK_TEST_VARIABLE"], os.getcwd(), blas)))

    p = Process(target=target)
    p.start()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0
    assert out.read_text() == repr(("from-parent", str(tmp_path), had_blas_setting))


def test_blas_threads_in_child_match_a_spawned_child(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    reference = SPAWN.Process(target=_report_threads_after_numpy, args=(str(theirs),))
    reference.start()
    p = Process(target=_report_threads_after_numpy, args=(str(ours),))
    p.start()
    assert _join_all([p, reference]) == [0, 0]
    assert ours.read_text() == theirs.read_text()


def test_nested_process_names(tmp_path):
    out = tmp_path / "nested"
    p = Process(target=_start_grandchild, args=(str(out),))
    p.start()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0
    assert out.read_text() == f"{p.name} {p.name}:1 0"


# ---- lifecycle -----------------------------------------------------------------------


def test_terminate_kill_and_is_alive(tmp_path):
    procs = [Process(target=time.sleep, args=(30,)) for _ in range(2)]
    assert not procs[0].is_alive()
    for p in procs:
        p.start()
    assert all(p.is_alive() for p in procs)
    assert all(p.exitcode is None for p in procs)
    assert set(procs) <= set(active_children())
    procs[0].terminate()
    procs[1].kill()
    assert _join_all(procs) == [-signal.SIGTERM, -signal.SIGKILL]
    assert not any(p.is_alive() for p in procs)
    assert not set(procs) & set(active_children())
    assert "exitcode=-SIGTERM" in repr(procs[0])
    procs[0].terminate()  # no-op once it exited, as in the standard library


def test_join_timeout_returns_while_alive():
    p = Process(target=time.sleep, args=(30,))
    p.start()
    start = time.monotonic()
    p.join(0.3)
    elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 5
    assert p.is_alive()
    assert p.exitcode is None
    p.join(0)
    assert p.exitcode is None
    p.kill()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == -signal.SIGKILL


def test_sentinel_becomes_ready_when_the_child_ends():
    p = Process(target=time.sleep, args=(0.2,))
    with pytest.raises(ValueError, match="not started"):
        _ = p.sentinel
    p.start()
    assert multiprocessing.connection.wait([p.sentinel], timeout=0) == []
    assert multiprocessing.connection.wait([p.sentinel], timeout=JOIN_TIMEOUT_S) == [p.sentinel]
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0


@pytest.mark.parametrize("cls", [SPAWN.Process, Process], ids=["stdlib", "brickwork"])
def test_misuse_errors_match_stdlib(cls):
    p = cls(target=time.sleep, args=(30,))
    with pytest.raises(AssertionError, match="can only join a started process"):
        p.join()
    p.start()
    with pytest.raises(AssertionError, match="cannot start a process twice"):
        p.start()
    with pytest.raises(AssertionError, match="process has already started"):
        p.daemon = True
    with pytest.raises(ValueError, match="Cannot close a process while it is still running"):
        p.close()
    p.kill()
    p.join(JOIN_TIMEOUT_S)
    p.close()
    p.close()
    for use in (lambda: p.pid, lambda: p.exitcode, p.is_alive, p.start, p.join):
        with pytest.raises(ValueError, match="process object is closed"):
            use()
    assert "closed" in repr(p)


@pytest.mark.parametrize("cls", [SPAWN.Process, Process], ids=["stdlib", "brickwork"])
def test_unpicklable_arguments_fail_in_start(cls):
    p = cls(target=_ok, args=(threading.Lock(),))
    with pytest.raises(TypeError, match="pickle"):
        p.start()
    assert p.pid is None
    assert not p.is_alive()


def test_daemon_flag(tmp_path):
    out = tmp_path / "daemon-child"
    assert Process(target=_ok).daemon is False
    assert Process(target=_ok, daemon=True).daemon is True
    p = Process(target=_try_start_child, args=(str(out),))
    p.daemon = True
    p.start()
    p.join(JOIN_TIMEOUT_S)
    assert p.exitcode == 0
    assert out.read_text() == "daemonic processes are not allowed to have children"


def test_main_process_and_cpu_count():
    main = current_process()
    assert main.name == "MainProcess"
    assert main.pid == os.getpid()
    assert main.is_alive()
    assert parent_process() is None
    assert cpu_count() == os.cpu_count() == multiprocessing.cpu_count()
    assert Process(target=_ok).name.startswith("Process-")


EXIT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from brickwork.multiprocessing.process import Process

    def slow_write(path):
        time.sleep(0.5)
        Path(path).write_text("joined")

    Process(target=slow_write, args=(sys.argv[1],)).start()
    daemon = Process(target=time.sleep, args=(60,), daemon=True)
    daemon.start()
    print(daemon.pid, flush=True)
    """
)


def test_exit_joins_children_and_terminates_daemons(tmp_path):
    out = tmp_path / "joined"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(out)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 15
    assert out.read_text() == "joined"
    assert _wait_gone(int(done.stdout.split()[0]))


# ---- the fork server -----------------------------------------------------------------


def test_fork_server_has_exactly_one_thread():
    p = Process(target=_ok)
    p.start()
    p.join(JOIN_TIMEOUT_S)
    server = _forkserver.get_shared_server()
    assert os.listdir(f"/proc/{server.pid}/task") == [str(server.pid)]
    with _forkserver.start_server(preload=["numpy", "brickwork.array"]) as own:
        assert os.listdir(f"/proc/{own.pid}/task") == [str(own.pid)]


def test_killing_the_server_kills_its_children():
    procs = _run(Process, [time.sleep, time.sleep], args=(30,))
    server = _forkserver.get_shared_server()
    os.kill(server.pid, signal.SIGKILL)
    for p in procs:
        assert _wait_gone(p.pid), f"child {p.pid} outlived its fork server"
    assert _join_all(procs) == [-signal.SIGKILL, -signal.SIGKILL]
    after = Process(target=_ok)
    after.start()
    after.join(JOIN_TIMEOUT_S)
    assert after.exitcode == 0
    assert _forkserver.get_shared_server().pid != server.pid


PARENT_SCRIPT = textwrap.dedent(
    """
    import time
    from brickwork.multiprocessing import _forkserver
    from brickwork.multiprocessing.process import Process

    p = Process(target=time.sleep, args=(60,))
    p.start()
    print(p.pid, _forkserver.get_shared_server().pid, flush=True)
    time.sleep(60)
    """
)


def test_killing_the_parent_kills_server_and_children():
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT], stdout=subprocess.PIPE)
    pids: list[int] = []
    try:
        assert parent.stdout is not None
        pids = [int(x) for x in parent.stdout.readline().split()]
        assert len(pids) == 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        for pid in pids:
            assert _wait_gone(pid), f"process {pid} outlived the parent"
    finally:
        for pid in [parent.pid, *pids]:
            _kill_quietly(pid)
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()


def test_fork_of_the_parent_gets_its_own_server(tmp_path):
    out = tmp_path / "forked"
    server = _forkserver.get_shared_server()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            own = _forkserver.get_shared_server()
            p = Process(target=_ok)
            p.start()
            p.join(JOIN_TIMEOUT_S)
            out.write_text(repr((server.closed, own.pid != server.pid, p.exitcode)))
            _forkserver.close_shared_server()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert out.read_text() == repr((True, True, 0))
    assert not server.closed
    q = Process(target=_ok)
    q.start()
    q.join(JOIN_TIMEOUT_S)
    assert q.exitcode == 0


def test_handle_without_reader_thread(capfd):
    with _forkserver.start_server(preload=["no_such_module_for_brickwork"]) as handle:
        with pytest.raises(OSError) as info:
            handle.request(99, [])
        assert info.value.errno == errno.EINVAL
        with pytest.raises(ValueError, match="not a child"):
            handle.wait_exit(os.getpid(), 0)
        pid = handle.request(_protocol.KIND_PROCESS, [])  # no fd: the child fails
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while (code := handle.wait_exit(pid, 0)) is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling alone must read the records
        assert code == 1
        assert handle.wait_exit(pid, JOIN_TIMEOUT_S) == 1
        second = handle.request(_protocol.KIND_PROCESS, [])
        assert handle.wait_exit(second, JOIN_TIMEOUT_S) == 1
    assert handle.closed
    assert handle.popen.returncode == 0
    assert "carried 0 file descriptors" in capfd.readouterr().err


def test_concurrent_requests_from_threads(tmp_path):
    results: dict[int, int | None] = {}

    def start_one(i: int) -> None:
        p = Process(target=_write, args=(str(tmp_path / str(i)), str(i)))
        p.start()
        p.join(JOIN_TIMEOUT_S)
        results[i] = p.exitcode

    with _forkserver.start_server(preload=[]) as handle:  # no reader thread: callers read
        codes: dict[int, int | None] = {}

        def request_one(i: int) -> None:
            pid = handle.request(_protocol.KIND_PROCESS, [])
            codes[i] = handle.wait_exit(pid, JOIN_TIMEOUT_S)

        threads = [threading.Thread(target=start_one, args=(i,)) for i in range(6)]
        threads += [threading.Thread(target=request_one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN_TIMEOUT_S)
    assert codes == dict.fromkeys(range(6), 1)
    assert results == dict.fromkeys(range(6), 0)
    assert all((tmp_path / str(i)).read_text() == str(i) for i in range(6))


def test_wire_protocol_after_detach():
    handle = _forkserver.start_server(preload=[])
    sock = socket.socket(fileno=handle.detach())
    assert handle.closed
    handle.close()  # the socket belongs to the caller now: the server keeps running
    assert handle.popen.poll() is None
    record = struct.Struct("<iiq")
    try:
        sock.sendall(struct.pack("<II", 7, 3) + b"xyz")
        assert record.unpack(_protocol.recv_exact(sock, 16)) == (1, -1, errno.EINVAL)
        ours, theirs = socket.socketpair()
        with theirs:
            socket.send_fds(sock, [struct.pack("<II", 2, 0)], [theirs.fileno()])
        kind, pid, _ = record.unpack(_protocol.recv_exact(sock, 16))
        assert kind == 1 and pid > 0
        ours.close()  # the child reads end of file instead of its Process: exit code 1
        assert record.unpack(_protocol.recv_exact(sock, 16)) == (2, pid, 1)
    finally:
        sock.close()
    assert handle.popen.wait(10) == 0


def test_startup_failures_are_reported(tmp_path, monkeypatch, capfd):
    (tmp_path / "bw_preload_raises.py").write_text("raise RuntimeError('bad preload')\n")
    (tmp_path / "bw_preload_thread.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="exited with code 1"):
        _forkserver.start_server(preload=["bw_preload_raises"])
    with pytest.raises(RuntimeError, match="exited with code 1"):
        _forkserver.start_server(preload=["bw_preload_thread"])
    err = capfd.readouterr().err
    assert "RuntimeError: bad preload" in err
    assert "must stay single-threaded" in err
