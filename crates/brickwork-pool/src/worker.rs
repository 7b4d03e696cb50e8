//! The worker's side: read tasks, run them with a [`Handler`], answer.
//!
//! A worker runs its tasks one at a time in the order they arrive and answers each
//! at once (a result is never held back behind a later task). A task cancelled before
//! it starts is answered as skipped without running. Arguments' buffers are
//! read in place from the parent's arena; a result's buffers are written into one
//! fresh memory file that travels back with the answer, so the parent maps them
//! without another copy.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::{memfd_create, MemfdFlags};

use crate::arena::ArenaView;
use crate::wire::{
    encode, encode_head, Conn, Frame, Kind, Span, MAX_BODY, MAX_SPANS, SKIPPED, TOO_LARGE,
};

/// Buffers in a result's memory file start on multiples of this many bytes.
const ALIGN: u64 = 64;

/// What runs the tasks in a worker.
pub trait Handler {
    /// Function `key` is `body` (called once, before the first task that uses it).
    fn define(&mut self, key: u64, body: &[u8]);
    /// Runs a task of function `key` on `body`, with its out-of-band `buffers`, and
    /// fills `reply`.
    fn call(&mut self, key: u64, body: &[u8], buffers: &[&[u8]], reply: &mut Reply);
}

/// A piece of a reply's body that is sent from where it lies, without a copy.
pub type BodyPart = Box<dyn AsRef<[u8]>>;

/// A task's answer being built: a status, a body and out-of-band buffers.
#[derive(Default)]
pub struct Reply {
    /// The status (for Python: 0 value, 1 exception).
    pub status: u64,
    /// The serialized result (followed by the parts, if any).
    pub body: Vec<u8>,
    parts: Vec<BodyPart>,
    spans: Vec<Span>,
    file: Option<OwnedFd>,
    end: u64,
}

impl Reply {
    /// Appends `part` to the body: it is written to the socket from where it lies
    /// (after `body` and the parts appended before it), not copied into the body.
    pub fn push_body_part(&mut self, part: BodyPart) {
        self.parts.push(part);
    }

    /// The length of the body with its parts.
    fn body_len(&self) -> usize {
        self.body.len()
            + self
                .parts
                .iter()
                .map(|p| (**p).as_ref().len())
                .sum::<usize>()
    }

    /// Replaces a reply too large for one frame by a [`TOO_LARGE`] answer saying why.
    fn fit_frame(&mut self) {
        let body_len = self.body_len();
        let why = if body_len > MAX_BODY {
            format!(
                "the task's result takes {body_len} bytes serialized; at most {MAX_BODY} bytes \
                 fit in one answer: return a smaller result (large NumPy arrays travel in \
                 shared memory and do not count)"
            )
        } else if self.spans.len() > MAX_SPANS {
            format!(
                "the task's result has {} out-of-band buffers; at most {MAX_SPANS} fit in \
                 one answer",
                self.spans.len()
            )
        } else {
            return;
        };
        *self = Reply {
            status: TOO_LARGE,
            body: why.into_bytes(),
            ..Reply::default()
        };
    }

    /// Appends an out-of-band buffer, copying it into the reply's memory file.
    pub fn push_buffer(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.push_joined(&[bytes])
    }

    /// Appends one out-of-band buffer made of `parts` one after the other (the pieces
    /// of a serialized stream), copying them into the reply's memory file.
    pub fn push_joined(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let file = match &self.file {
            Some(file) => file,
            None => self
                .file
                .insert(memfd_create("brickwork-result", MemfdFlags::CLOEXEC)?),
        };
        let offset = self.end.next_multiple_of(ALIGN);
        let mut at = offset;
        for bytes in parts {
            let mut written = 0;
            while written < bytes.len() {
                written += rustix::io::pwrite(file, &bytes[written..], at + written as u64)?;
            }
            at += bytes.len() as u64;
        }
        self.spans.push(Span {
            offset,
            len: at - offset,
        });
        self.end = at;
        Ok(())
    }
}

/// How often a busy worker looks for frames that arrived (cancellations) while it works
/// through tasks it has already received.
const LOOK_EVERY: Duration = Duration::from_micros(100);

/// Serves tasks from the supervisor on `sock` until it closes the connection.
pub fn serve(sock: OwnedFd, arena: &ArenaView, handler: &mut impl Handler) -> io::Result<()> {
    let mut conn = Conn::new(sock);
    let mut out = Vec::new();
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
    encode(&mut out, Kind::Hello, pid, 0, &[], false, &[]);
    conn.send_all(&out, &[])?;
    let mut queue: VecDeque<Frame> = VecDeque::new();
    let mut cancelled: HashSet<u64> = HashSet::new();
    let mut last_look = Instant::now();
    loop {
        // Wait for a frame when there is nothing to do; otherwise take a cheap look now
        // and then, so that a cancellation overtakes the tasks queued before it.
        if queue.is_empty() || last_look.elapsed() > LOOK_EVERY {
            last_look = Instant::now();
            match conn.fill(!queue.is_empty()) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
            while let Some(frame) = conn.next_frame()? {
                match frame.kind {
                    Kind::Cancel => cancelled.extend(
                        frame
                            .body
                            .chunks_exact(8)
                            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))),
                    ),
                    Kind::Define | Kind::Task => queue.push_back(frame),
                    Kind::Hello | Kind::Result => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a worker received a frame meant for the supervisor",
                        ))
                    }
                }
            }
        }
        let Some(frame) = queue.pop_front() else {
            continue;
        };
        if frame.kind == Kind::Define {
            handler.define(frame.key, &frame.body);
            continue;
        }
        let mut reply = Reply::default();
        if cancelled.remove(&frame.id) {
            reply.status = SKIPPED;
        } else {
            let buffers = frame
                .spans
                .iter()
                .map(|s| arena.slice(s.offset, s.len))
                .collect::<io::Result<Vec<_>>>()?;
            handler.call(frame.key, &frame.body, &buffers, &mut reply);
            reply.fit_frame();
        }
        out.clear();
        encode_head(
            &mut out,
            Kind::Result,
            frame.id,
            reply.status,
            &reply.spans,
            reply.file.is_some(),
            reply.body_len(),
        );
        let fds: Vec<_> = reply.file.iter().map(|f| f.as_fd()).collect();
        let mut parts: Vec<&[u8]> = vec![&out, &reply.body];
        parts.extend(reply.parts.iter().map(|p| (**p).as_ref()));
        conn.send_all_parts(&parts, &fds)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_with_too_many_buffers_becomes_a_too_large_answer() {
        let mut reply = Reply::default();
        for _ in 0..=MAX_SPANS {
            reply.push_buffer(&[7]).expect("memory file");
        }
        reply.fit_frame();
        assert_eq!(reply.status, TOO_LARGE);
        assert!(reply.spans.is_empty() && reply.file.is_none());
        let text = String::from_utf8(reply.body).expect("words");
        assert!(text.contains("65536 out-of-band buffers"), "{text}");
    }

    #[test]
    fn a_reply_that_fits_is_left_alone() {
        let mut reply = Reply {
            status: 0,
            body: vec![1, 2, 3],
            ..Reply::default()
        };
        reply.fit_frame();
        assert_eq!((reply.status, reply.body), (0, vec![1, 2, 3]));
    }
}
