//! The fork server's control protocol, and the supervisor's side of it.
//!
//! Workers are forked by a fork server: a process started fresh (never forked from a
//! multi-threaded parent) that forks a child per request. Requests are a `(kind,
//! payload length)` pair of little-endian u32 with descriptors attached; the server
//! answers with 16-byte records `(kind: i32, pid: i32, value: i64)`.
//!
//! The constants below are the protocol's one definition. The Rust server
//! ([`crate::server`]) and [`ForkServer`] use them, and `brickwork._core` exports
//! [`CONSTANTS`] to the Python side of the protocol
//! (`brickwork/multiprocessing/_protocol.py`, which reads them at import).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::wire::Conn;

/// Record kind: the server is ready; `pid` is the server's.
pub const READY: i32 = 0;
/// Record kind: the answer to the oldest unanswered request; `pid` is the new child's,
/// or -1 when no child was forked (then `value` is an `errno` number).
pub const STARTED: i32 = 1;
/// Record kind: child `pid` was reaped with return code `value` (the exit status, or
/// minus the signal that killed it).
pub const EXITED: i32 = 2;

/// Request kind: a pool worker; descriptors `[worker socket, arena file]`.
pub const KIND_POOL_WORKER: u32 = 1;
/// Request kind: a Python `Process`; descriptors `[process socket]` (only the Python
/// server forks these; the Rust server answers them as unknown).
pub const KIND_PROCESS: u32 = 2;

/// Length of a record in bytes.
pub const RECORD_SIZE: usize = 16;
/// Length of a request's header in bytes.
pub const REQUEST_HEADER_SIZE: usize = 8;
/// The most descriptors one request may carry.
pub const MAX_FDS: usize = 4;

/// The protocol's constants by name, exported to Python as
/// `brickwork._core.FORKSERVER_CONSTANTS`.
pub const CONSTANTS: [(&str, i64); 8] = [
    ("READY", READY as i64),
    ("STARTED", STARTED as i64),
    ("EXITED", EXITED as i64),
    ("KIND_POOL_WORKER", KIND_POOL_WORKER as i64),
    ("KIND_PROCESS", KIND_PROCESS as i64),
    ("RECORD_SIZE", RECORD_SIZE as i64),
    ("REQUEST_HEADER_SIZE", REQUEST_HEADER_SIZE as i64),
    ("MAX_FDS", MAX_FDS as i64),
];

/// The bytes of a record.
pub fn encode_record(kind: i32, pid: i32, value: i64) -> [u8; RECORD_SIZE] {
    let mut bytes = [0u8; RECORD_SIZE];
    bytes[0..4].copy_from_slice(&kind.to_le_bytes());
    bytes[4..8].copy_from_slice(&pid.to_le_bytes());
    bytes[8..16].copy_from_slice(&value.to_le_bytes());
    bytes
}

/// A record's `(kind, pid, value)`; `bytes` holds at least [`RECORD_SIZE`] bytes.
pub fn decode_record(bytes: &[u8]) -> (i32, i32, i64) {
    (
        i32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")),
        i32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")),
        i64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")),
    )
}

/// The bytes of a request's header.
pub fn encode_request_header(kind: u32, payload_len: u32) -> [u8; REQUEST_HEADER_SIZE] {
    let mut bytes = [0u8; REQUEST_HEADER_SIZE];
    bytes[0..4].copy_from_slice(&kind.to_le_bytes());
    bytes[4..8].copy_from_slice(&payload_len.to_le_bytes());
    bytes
}

/// A request header's `(kind, payload length)`; `bytes` holds at least
/// [`REQUEST_HEADER_SIZE`] bytes.
pub fn decode_request_header(bytes: &[u8]) -> (u32, u32) {
    (
        u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")),
        u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")),
    )
}

/// What the fork server reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// The server is up (its pid).
    Ready(u32),
    /// A child was forked for the oldest unanswered request.
    Started(u32),
    /// The oldest unanswered request failed (fork failed): the errno.
    NotStarted(i64),
    /// A child ended: its pid and return code (exit status, or minus the signal).
    Exited(u32, i32),
}

/// The control connection to a fork server.
pub struct ForkServer {
    conn: Conn,
}

impl ForkServer {
    /// Takes over a connected control socket.
    pub fn new(ctl: OwnedFd) -> ForkServer {
        ForkServer {
            conn: Conn::new(ctl),
        }
    }

    /// The socket, for `poll`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.conn.fd()
    }

    /// Asks for a pool worker serving `sock`, with the arena file `arena`.
    pub fn request_worker(&self, sock: BorrowedFd<'_>, arena: BorrowedFd<'_>) -> io::Result<()> {
        let header = encode_request_header(KIND_POOL_WORKER, 0);
        self.conn.send_all(&header, &[sock, arena])
    }

    /// Reads the records that have arrived, without blocking. An error, or
    /// `UnexpectedEof` when the server has gone.
    pub fn read_records(&mut self) -> io::Result<Vec<Record>> {
        match self.conn.fill(true) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the fork server exited",
                ))
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
        let mut records = Vec::new();
        while let Some(bytes) = self.conn.take(RECORD_SIZE) {
            let (kind, pid, value) = decode_record(bytes);
            records.push(match kind {
                READY => Record::Ready(pid as u32),
                STARTED if pid > 0 => Record::Started(pid as u32),
                STARTED => Record::NotStarted(value),
                EXITED => Record::Exited(pid as u32, value as i32),
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the fork server sent an unknown record kind {other}"),
                    ))
                }
            });
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_two_i32_and_an_i64_little_endian() {
        // Python's struct.pack("<iiq", 1, -1, 22).
        let expected = [1, 0, 0, 0, 255, 255, 255, 255, 22, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(encode_record(STARTED, -1, 22), expected);
        assert_eq!(decode_record(&expected), (STARTED, -1, 22));
        let exited = encode_record(EXITED, 4242, -9);
        assert_eq!(decode_record(&exited), (EXITED, 4242, -9));
    }

    #[test]
    fn request_headers_are_two_u32_little_endian() {
        // Python's struct.pack("<II", 2, 3).
        let expected = [2, 0, 0, 0, 3, 0, 0, 0];
        assert_eq!(encode_request_header(KIND_PROCESS, 3), expected);
        assert_eq!(decode_request_header(&expected), (KIND_PROCESS, 3));
    }

    #[test]
    fn exported_constants_have_distinct_names() {
        let mut names: Vec<&str> = CONSTANTS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CONSTANTS.len());
    }
}
