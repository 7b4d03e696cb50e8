//! The supervisor's side of the fork server's control socket.
//!
//! Workers are forked by a fork server: a process started fresh (never forked from a
//! multi-threaded parent) that forks a child per request. Requests are a `(kind,
//! payload length)` pair of little-endian u32 with descriptors attached; the server
//! answers with 16-byte records `(kind: i32, pid: i32, value: i64)`. The Python side of
//! the protocol is `brickwork/multiprocessing/_forkserver.py`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::wire::Conn;

/// Request kind: fork a pool worker, given its socket and the arena file.
const POOL_WORKER: u32 = 1;
const RECORD: usize = 16;

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
        let mut header = Vec::with_capacity(8);
        header.extend_from_slice(&POOL_WORKER.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
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
        while let Some(bytes) = self.conn.take(RECORD) {
            let kind = i32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
            let pid = i32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as u32;
            let value = i64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
            records.push(match kind {
                0 => Record::Ready(pid),
                1 if (pid as i32) > 0 => Record::Started(pid),
                1 => Record::NotStarted(value),
                2 => Record::Exited(pid, value as i32),
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
