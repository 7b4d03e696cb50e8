//! The fork server for Rust programs: the program itself, started again with
//! [`SERVER_ENV`] set, answering the protocol of [`crate::forkserver`].
//!
//! [`crate::pool::serve_if_worker`] runs it. It forks one child per request; the
//! child serves tasks with the program's [`crate::pool::Registry`] and exits when the
//! pool closes its socket. Exit statuses are reaped every few milliseconds and
//! reported; when the pool's side of the control socket closes (the pool ended or its
//! process died) every child is killed.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{getpid, kill_process, waitpid, Pid, Signal, WaitOptions};

use crate::arena::ArenaView;
use crate::forkserver::{
    decode_request_header, encode_record, EXITED, KIND_POOL_WORKER, READY, REQUEST_HEADER_SIZE,
    STARTED,
};
use crate::pool::Registry;
use crate::wire::Conn;
use crate::worker::serve;

/// The environment variable that makes a program a fork server (its value: the
/// control socket's descriptor).
pub const SERVER_ENV: &str = "BRICKWORK_POOL_FORKSERVER";

fn record(conn: &Conn, kind: i32, pid: i32, value: i64) -> io::Result<()> {
    conn.send_all(&encode_record(kind, pid, value), &[])
}

/// Runs the fork server on the control socket `fd` until the pool goes away.
pub fn run(fd: i32, registry: &Registry) -> io::Result<()> {
    // SAFETY: the descriptor was inherited for this purpose (named by SERVER_ENV) and
    // nothing else in the process owns it.
    let mut ctl = Conn::new(unsafe { OwnedFd::from_raw_fd(fd) });
    record(&ctl, READY, getpid().as_raw_nonzero().get(), 0)?;
    let mut children: Vec<Pid> = Vec::new();
    loop {
        reap(&ctl, &mut children)?;
        let mut fds = [PollFd::from_borrowed_fd(ctl.fd(), PollFlags::IN)];
        let tick = Timespec::try_from(Duration::from_millis(5)).expect("a small duration");
        match poll(&mut fds, Some(&tick)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(err) => return Err(err.into()),
        }
        match ctl.fill(true) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
        while let Some(header) = ctl.take(REQUEST_HEADER_SIZE) {
            let (kind, payload) = decode_request_header(header);
            let _ = ctl.take(payload as usize);
            let (sock, arena) = (ctl.take_fd(), ctl.take_fd());
            match (kind, sock, arena) {
                (KIND_POOL_WORKER, Some(sock), Some(arena)) => {
                    match fork_worker(&ctl, sock, arena, registry) {
                        Ok(pid) => {
                            children.push(pid);
                            record(&ctl, STARTED, pid.as_raw_nonzero().get(), 0)?;
                        }
                        Err(err) => record(
                            &ctl,
                            STARTED,
                            -1,
                            i64::from(err.raw_os_error().unwrap_or(0)),
                        )?,
                    }
                }
                _ => record(
                    &ctl,
                    STARTED,
                    -1,
                    i64::from(rustix::io::Errno::INVAL.raw_os_error()),
                )?,
            }
        }
    }
    for &pid in &children {
        let _ = kill_process(pid, Signal::KILL);
    }
    for pid in children {
        let _ = waitpid(Some(pid), WaitOptions::empty());
    }
    Ok(())
}

/// Reports and forgets the children that have exited.
fn reap(ctl: &Conn, children: &mut Vec<Pid>) -> io::Result<()> {
    while let Some((pid, status)) = waitpid(None, WaitOptions::NOHANG).unwrap_or(None) {
        children.retain(|&c| c != pid);
        let code = match (status.exit_status(), status.terminating_signal()) {
            (Some(code), _) => code,
            (None, Some(signal)) => -signal,
            (None, None) => continue,
        };
        record(ctl, EXITED, pid.as_raw_nonzero().get(), i64::from(code))?;
    }
    Ok(())
}

fn fork_worker(ctl: &Conn, sock: OwnedFd, arena: OwnedFd, registry: &Registry) -> io::Result<Pid> {
    // SAFETY: the fork server is single-threaded (it is started fresh and
    // `serve_if_worker` runs first in `main`), so the child may run arbitrary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(Pid::from_raw(pid).expect("a positive pid"));
    }
    // The child: serve, then exit without running the server's destructors.
    let code = match ArenaView::open(arena) {
        Ok(view) => {
            // SAFETY: the child's copy of the control socket is never used again; it is
            // closed so that only the server holds the socket open.
            unsafe { libc::close(ctl.fd().as_raw_fd()) };
            match serve(sock, &view, &mut registry.handler()) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(_) => 1,
    };
    // SAFETY: _exit ends the child immediately, as a forked child must.
    unsafe { libc::_exit(code) }
}
