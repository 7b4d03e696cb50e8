"""The contract between the Python and the Rust halves of the process pool.

- The fork server's protocol constants are defined once, in Rust
  (``crates/brickwork-pool/src/forkserver.rs``), and exported as
  ``brickwork._core.FORKSERVER_CONSTANTS``; ``_protocol`` must bind exactly those.
- The binding's errors go through the engine's one error mapping (``errors.rs``) and
  keep the exception types and messages they always had.
"""

from __future__ import annotations

import errno
import os
import socket

import pytest

from brickwork import _core
from brickwork.multiprocessing import _forkserver, _protocol

# The protocol as documented (module docstring of ``_protocol``, ARCHITECTURE.md).
DOCUMENTED = {
    "READY": 0,
    "STARTED": 1,
    "EXITED": 2,
    "KIND_POOL_WORKER": 1,
    "KIND_PROCESS": 2,
    "RECORD_SIZE": 16,  # struct "<iiq"
    "REQUEST_HEADER_SIZE": 8,  # struct "<II"
    "MAX_FDS": 4,
}


def test_forkserver_constants_exported_by_rust_are_the_documented_protocol():
    assert dict(_core.FORKSERVER_CONSTANTS) == DOCUMENTED


def test_forkserver_python_protocol_binds_every_rust_constant():
    sizes = {
        "RECORD_SIZE": _protocol.RECORD.size,
        "REQUEST_HEADER_SIZE": _protocol.REQUEST_HEADER.size,
    }
    for name, value in _core.FORKSERVER_CONSTANTS.items():
        bound = sizes[name] if name in sizes else getattr(_protocol, name)
        assert bound == value, name


def test_forkserver_constants_table_cannot_be_changed_through_python():
    _protocol._CONSTANTS["READY"] = 99  # a copy: neither _core nor _protocol move
    try:
        assert _core.FORKSERVER_CONSTANTS["READY"] == 0
        assert _protocol.READY == 0
    finally:
        _protocol._CONSTANTS["READY"] = 0


def test_forkserver_python_server_answers_with_the_shared_record_kinds():
    with _forkserver.start_server(preload=[]) as handle:
        sock = socket.socket(fileno=os.dup(handle.fileno()))
        try:
            header = _protocol.REQUEST_HEADER.pack(_protocol.KIND_PROCESS + 100, 0)
            sock.sendall(header)
            record = _protocol.RECORD.unpack(_protocol.recv_exact(sock, _protocol.RECORD.size))
        finally:
            sock.close()
    assert record == (_protocol.STARTED, -1, errno.EINVAL)


def _socket_fd() -> int:
    ours, theirs = socket.socketpair()
    ours.close()
    return theirs.detach()


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_pool_binding_rejects_a_negative_descriptor_with_value_error():
    with pytest.raises(ValueError, match="^expected a file descriptor, got -1$"):
        _core.PoolSupervisor(-1, 1)
    with pytest.raises(ValueError, match="^expected a file descriptor, got -3$"):
        _core.pool_worker_serve(-3, -1, print, print)


def test_pool_binding_rejects_a_negative_timeout_and_closes_the_socket():
    fd = _socket_fd()
    with pytest.raises(ValueError, match="^timeout must be a positive number of seconds, got -1$"):
        _core.PoolSupervisor(fd, 1, timeout=-1.0)
    assert not _is_open(fd)


def test_pool_binding_reports_a_pool_that_cannot_start_as_os_error():
    fd = _socket_fd()
    with pytest.raises(OSError) as info:
        _core.PoolSupervisor(fd, 0)
    assert type(info.value) is OSError
    assert info.value.errno is None
    assert str(info.value) == "cannot start the pool: a pool needs at least one process"
    assert not _is_open(fd)


def test_pool_binding_refuses_strided_out_of_band_buffers_with_value_error():
    server = _forkserver.start_server(preload=["brickwork._core"])
    supervisor = _core.PoolSupervisor(server.detach(), 1)
    try:
        strided = memoryview(bytearray(64))[::2]
        for buffers in ([strided], [[b"piece", strided]]):
            with pytest.raises(ValueError, match="^out-of-band buffers must be C-contiguous$"):
                supervisor.submit(0, 0, [(0, b"body", buffers)])
    finally:
        supervisor.terminate()
        supervisor.join()
        server.popen.wait(10)
