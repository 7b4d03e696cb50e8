//! The frames exchanged between the supervisor and a worker over a Unix stream socket,
//! with file descriptors passed alongside (SCM_RIGHTS).
//!
//! A frame is a 24-byte header — body length (u32), kind (u8), number of attached file
//! descriptors (u8, 0 or 1), number of spans (u16), id (u64), key (u64), little endian
//! — then the spans (offset, length as two u64 each), then the body. A descriptor is
//! sent with the first byte of its frame; the kernel never hands a reader descriptors
//! ahead of that byte, so the reader keeps received descriptors in arrival order and
//! gives each frame the ones it announces.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// Length of a frame header in bytes.
pub const HEADER: usize = 24;
const SPAN: usize = 16;
/// The largest body a frame may carry (large buffers travel in shared memory instead).
pub const MAX_BODY: usize = u32::MAX as usize;
/// The most spans a frame may carry.
pub const MAX_SPANS: usize = u16::MAX as usize;

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Worker → supervisor, first frame: `id` is the worker's pid.
    Hello = 1,
    /// Supervisor → worker: the function `key` is `body` (sent once per worker).
    Define = 2,
    /// Supervisor → worker: run task `id` with function `key` on `body`, reading the
    /// spans from the shared arena.
    Task = 3,
    /// Worker → supervisor: task `id` finished with status `key`; its spans lie in the
    /// attached memory file, if any.
    Result = 4,
    /// Supervisor → worker: skip the tasks whose ids the body lists (u64 each) if they
    /// have not started; each is answered with status [`SKIPPED`].
    Cancel = 5,
}

/// The status of a task a worker skipped because it was cancelled.
pub const SKIPPED: u64 = u64::MAX;

/// The status of a task whose result does not fit in one frame (a body over
/// [`MAX_BODY`] bytes or more than [`MAX_SPANS`] buffers); the body says so in words.
pub const TOO_LARGE: u64 = u64::MAX - 1;

impl Kind {
    fn from_u8(byte: u8) -> io::Result<Kind> {
        Ok(match byte {
            1 => Kind::Hello,
            2 => Kind::Define,
            3 => Kind::Task,
            4 => Kind::Result,
            5 => Kind::Cancel,
            other => return Err(protocol(format!("unknown frame kind {other}"))),
        })
    }
}

/// A byte range: in the parent's arena for a task, in the attached file for a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Start in bytes.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// A decoded frame.
#[derive(Debug)]
pub struct Frame {
    /// What the frame is.
    pub kind: Kind,
    /// Task id, or the worker's pid for [`Kind::Hello`].
    pub id: u64,
    /// Function key, or the status of a result.
    pub key: u64,
    /// Out-of-band buffers.
    pub spans: Vec<Span>,
    /// The payload.
    pub body: Vec<u8>,
    /// The memory file holding a result's spans.
    pub fd: Option<OwnedFd>,
}

/// Appends the encoding of a frame to `out`.
pub fn encode(
    out: &mut Vec<u8>,
    kind: Kind,
    id: u64,
    key: u64,
    spans: &[Span],
    has_fd: bool,
    body: &[u8],
) {
    out.reserve(HEADER + SPAN * spans.len() + body.len());
    encode_head(out, kind, id, key, spans, has_fd, body.len());
    out.extend_from_slice(body);
}

/// Appends the header and spans of a frame whose `body_len` bytes of body the caller
/// sends right after them (see [`Conn::send_all_parts`]).
pub fn encode_head(
    out: &mut Vec<u8>,
    kind: Kind,
    id: u64,
    key: u64,
    spans: &[Span],
    has_fd: bool,
    body_len: usize,
) {
    let body_len = u32::try_from(body_len).expect("frame bodies are limited to 4 GiB");
    let spans_len = u16::try_from(spans.len()).expect("frames carry at most 65535 spans");
    out.extend_from_slice(&body_len.to_le_bytes());
    out.push(kind as u8);
    out.push(u8::from(has_fd));
    out.extend_from_slice(&spans_len.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&key.to_le_bytes());
    for span in spans {
        out.extend_from_slice(&span.offset.to_le_bytes());
        out.extend_from_slice(&span.len.to_le_bytes());
    }
}

fn protocol(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Bodies at least this large are received straight into their own buffer (one
/// allocation of the exact size, no copy out of the input buffer).
const DIRECT_BODY: usize = 64 * 1024;
/// The least room a read is offered in the input buffer.
const MIN_READ: usize = 64 * 1024;
/// Written output is dropped from the front of the buffer once this much has been sent
/// (and it is at least half of the buffer), so a partly written buffer is not moved on
/// every write.
const COMPACT_OUTPUT: usize = 1 << 20;

/// A frame whose header has arrived and whose large body is being received in place.
struct Partial {
    kind: Kind,
    id: u64,
    key: u64,
    spans: Vec<Span>,
    fd: Option<OwnedFd>,
    body: Vec<u8>,
    filled: usize,
}

/// One end of a connection: buffered reads that keep passed descriptors in order, and
/// a buffer of bytes not yet written.
///
/// Every byte is copied a bounded number of times however large a frame is: reads go
/// to the unused tail of the input buffer (which is zeroed once, when it grows, not on
/// every read), a large body is read directly into its own buffer, and writes advance
/// a cursor instead of moving the unwritten rest to the front.
pub struct Conn {
    sock: OwnedFd,
    /// Received bytes are `input[start..end]`; `input[end..]` is room for more.
    input: Vec<u8>,
    start: usize,
    end: usize,
    partial: Option<Partial>,
    fds: VecDeque<OwnedFd>,
    /// Encoded frames; `output[sent..]` is not written yet.
    output: Vec<u8>,
    sent: usize,
}

impl Conn {
    /// Wraps a connected stream socket.
    pub fn new(sock: OwnedFd) -> Conn {
        Conn {
            sock,
            input: Vec::new(),
            start: 0,
            end: 0,
            partial: None,
            fds: VecDeque::new(),
            output: Vec::new(),
            sent: 0,
        }
    }

    /// The socket, for `poll`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// The buffer of frames to write: append encoded frames to it ([`encode`]), then
    /// call [`Conn::flush_nonblocking`]. Only append: its front may be written already.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// Whether some output is not written yet.
    pub fn has_output(&self) -> bool {
        self.sent < self.output.len()
    }

    /// Makes room for at least `room` more bytes after the received ones: moves the
    /// unread bytes to the front, then grows the buffer (geometrically, so that the
    /// zeroing of new room costs a bounded amount per byte received).
    fn make_room(&mut self, room: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.input.len() - self.end >= room {
            return;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let need = self.end + room;
        if self.input.len() < need {
            self.input.resize(need.max(2 * self.input.len()), 0);
        }
    }

    /// Reads what is available (waiting for at least one byte unless `nonblocking`).
    /// Returns the number of bytes read: 0 means the peer closed the connection, and
    /// `Err(WouldBlock)` that nothing was available.
    pub fn fill(&mut self, nonblocking: bool) -> io::Result<usize> {
        // Bytes go to the body being received in place until it is complete; after
        // that they belong to the next frame.
        let into_partial = self
            .partial
            .as_ref()
            .is_some_and(|p| p.filled < p.body.len());
        if !into_partial {
            self.make_room(MIN_READ);
        }
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut flags = RecvFlags::CMSG_CLOEXEC;
        if nonblocking {
            flags |= RecvFlags::DONTWAIT;
        }
        let target = match &mut self.partial {
            Some(partial) if into_partial => &mut partial.body[partial.filled..],
            _ => &mut self.input[self.end..],
        };
        let result = loop {
            let mut iov = [IoSliceMut::new(&mut *target)];
            match recvmsg(&self.sock, &mut iov, &mut control, flags) {
                Err(Errno::INTR) => continue,
                other => break other,
            }
        };
        let read = result?.bytes;
        match &mut self.partial {
            Some(partial) if into_partial => partial.filled += read,
            _ => self.end += read,
        }
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                self.fds.extend(fds);
            }
        }
        Ok(read)
    }

    /// The next complete frame in the input buffer, if there is one.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if let Some(partial) = &self.partial {
            if partial.filled < partial.body.len() {
                return Ok(None);
            }
            let partial = self.partial.take().expect("a partial frame");
            return Ok(Some(Frame {
                kind: partial.kind,
                id: partial.id,
                key: partial.key,
                spans: partial.spans,
                body: partial.body,
                fd: partial.fd,
            }));
        }
        let bytes = &self.input[self.start..self.end];
        if bytes.len() < HEADER {
            return Ok(None);
        }
        let body_len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
        let kind = Kind::from_u8(bytes[4])?;
        let has_fd = bytes[5] != 0;
        let n_spans = u16::from_le_bytes(bytes[6..8].try_into().expect("2 bytes")) as usize;
        let head = HEADER + SPAN * n_spans;
        let total = head + body_len;
        let direct = body_len >= DIRECT_BODY;
        let have = bytes.len();
        if have < total && (!direct || have < head) {
            // Wait for the rest (for a large body, only for the header and spans).
            let want = if direct { head } else { total };
            self.make_room(want - have);
            return Ok(None);
        }
        let spans = (0..n_spans)
            .map(|i| Span {
                offset: u64_at(bytes, HEADER + SPAN * i),
                len: u64_at(bytes, HEADER + SPAN * i + 8),
            })
            .collect();
        let fd = if has_fd {
            Some(self.fds.pop_front().ok_or_else(|| {
                protocol("a frame announced a descriptor that did not arrive".into())
            })?)
        } else {
            None
        };
        let (id, key) = (u64_at(bytes, 8), u64_at(bytes, 16));
        if have < total {
            // A large body that has not fully arrived: the rest is read into its own
            // buffer, which becomes the frame's body.
            let mut body = vec![0u8; body_len];
            let filled = have - head;
            body[..filled].copy_from_slice(&bytes[head..]);
            self.start = self.end;
            self.partial = Some(Partial {
                kind,
                id,
                key,
                spans,
                fd,
                body,
                filled,
            });
            return Ok(None);
        }
        let frame = Frame {
            kind,
            id,
            key,
            spans,
            body: bytes[head..total].to_vec(),
            fd,
        };
        self.start += total;
        Ok(Some(frame))
    }

    /// Writes as much of the output as the socket takes without blocking; returns
    /// whether everything was written.
    pub fn flush_nonblocking(&mut self) -> io::Result<bool> {
        while self.sent < self.output.len() {
            match rustix::net::send(
                &self.sock,
                &self.output[self.sent..],
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            ) {
                Ok(n) => self.sent += n,
                Err(Errno::AGAIN) => {
                    if self.sent >= COMPACT_OUTPUT && 2 * self.sent >= self.output.len() {
                        self.output.drain(..self.sent);
                        self.sent = 0;
                    }
                    return Ok(false);
                }
                Err(Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        self.output.clear();
        self.sent = 0;
        Ok(true)
    }

    /// Takes the next `n` raw bytes of input, if that many have arrived.
    pub fn take(&mut self, n: usize) -> Option<&[u8]> {
        let start = self.start;
        (self.end - start >= n).then(|| {
            self.start += n;
            &self.input[start..start + n]
        })
    }

    /// The oldest received descriptor not yet claimed by a frame.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fds.pop_front()
    }

    /// Writes `bytes` completely, blocking, with `fds` (at most two) attached to the
    /// first byte.
    pub fn send_all(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.send_all_parts(&[bytes], fds)
    }

    /// Writes `parts` one after the other completely, blocking (gathered: a part is
    /// never copied), with `fds` (at most two) attached to the first byte.
    pub fn send_all_parts(&self, parts: &[&[u8]], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        /// Parts handed to one `sendmsg` (the kernel takes at most 1024).
        const GATHER: usize = 256;
        let mut at = 0; // the first part not completely sent...
        let mut within = 0; // ...and how much of it was
        let mut first = true;
        loop {
            while at < parts.len() && within == parts[at].len() {
                at += 1;
                within = 0;
            }
            if at == parts.len() {
                return Ok(());
            }
            let slices: Vec<IoSlice<'_>> = std::iter::once(&parts[at][within..])
                .chain(parts[at + 1..].iter().copied())
                .take(GATHER)
                .map(IoSlice::new)
                .collect();
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            if first && !fds.is_empty() {
                control.push(SendAncillaryMessage::ScmRights(fds));
            }
            match sendmsg(&self.sock, &slices, &mut control, SendFlags::NOSIGNAL) {
                Ok(mut n) => {
                    first = false;
                    while n > 0 {
                        let step = n.min(parts[at].len() - within);
                        within += step;
                        n -= step;
                        if within == parts[at].len() {
                            at += 1;
                            within = 0;
                        }
                    }
                }
                Err(Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{memfd_create, MemfdFlags};
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

    fn pair() -> (Conn, Conn) {
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        (Conn::new(a), Conn::new(b))
    }

    #[test]
    fn frames_round_trip_with_descriptors_in_order() {
        let (a, mut b) = pair();
        let spans = [Span {
            offset: 4096,
            len: 10,
        }];
        let mut bytes = Vec::new();
        encode(&mut bytes, Kind::Task, 7, 3, &spans, false, b"hello");
        encode(&mut bytes, Kind::Define, 0, 3, &[], false, b"f");
        a.send_all(&bytes, &[]).unwrap();
        let file = memfd_create("t", MemfdFlags::CLOEXEC).unwrap();
        let mut with_fd = Vec::new();
        encode(&mut with_fd, Kind::Result, 7, 0, &[], true, &[1; 100_000]);
        a.send_all(&with_fd, &[file.as_fd()]).unwrap();
        drop(a);
        let mut frames = Vec::new();
        loop {
            while let Some(frame) = b.next_frame().unwrap() {
                frames.push(frame);
            }
            if b.fill(false).unwrap() == 0 {
                break;
            }
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(
            (frames[0].kind, frames[0].id, frames[0].key),
            (Kind::Task, 7, 3)
        );
        assert_eq!(
            (frames[0].spans.as_slice(), frames[0].body.as_slice()),
            (&spans[..], &b"hello"[..])
        );
        assert_eq!(frames[1].kind, Kind::Define);
        assert!(frames[1].fd.is_none());
        assert_eq!(frames[2].body.len(), 100_000);
        assert!(frames[2].fd.is_some());
    }

    #[test]
    fn large_frames_cross_whole_with_nonblocking_writes() {
        let (mut a, mut b) = pair();
        let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        let file = memfd_create("t", MemfdFlags::CLOEXEC).unwrap();
        encode(a.output(), Kind::Task, 1, 0, &[], false, b"small");
        encode(a.output(), Kind::Result, 2, 0, &[], true, &big);
        encode(a.output(), Kind::Task, 3, 0, &[], false, &big[..70_000]);
        encode(a.output(), Kind::Define, 4, 0, &[], false, b"f");
        let expected = big.clone();
        let reader = std::thread::spawn(move || {
            let mut frames = Vec::new();
            loop {
                while let Some(frame) = b.next_frame().unwrap() {
                    frames.push(frame);
                }
                if b.fill(false).unwrap() == 0 {
                    break;
                }
            }
            frames
        });
        // The descriptor goes with the first byte of its frame: send what precedes it,
        // then the rest with the descriptor attached.
        let first = HEADER + 5;
        a.send_all(&a.output[..first], &[]).unwrap();
        a.sent = first;
        let rest = a.output[first..first + 1].to_vec();
        a.send_all(&rest, &[file.as_fd()]).unwrap();
        a.sent += 1;
        while !a.flush_nonblocking().unwrap() {
            let mut fds = [rustix::event::PollFd::new(
                &a.sock,
                rustix::event::PollFlags::OUT,
            )];
            rustix::event::poll(&mut fds, None).unwrap();
        }
        assert!(!a.has_output());
        drop(a);
        let frames = reader.join().unwrap();
        let ids: Vec<u64> = frames.iter().map(|f| f.id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert_eq!(frames[0].body, b"small");
        assert!(frames[1].body == expected && frames[1].fd.is_some());
        assert_eq!(frames[2].body, &expected[..70_000]);
        assert_eq!(frames[3].body, b"f");
    }

    #[test]
    fn gathered_parts_arrive_as_one_frame() {
        let (a, mut b) = pair();
        let parts: Vec<Vec<u8>> = (0..600u32)
            .map(|i| vec![(i % 256) as u8; 1 + (i as usize * 37) % 9000])
            .collect();
        let body: Vec<u8> = parts.concat();
        let mut head = Vec::new();
        encode_head(&mut head, Kind::Result, 9, 0, &[], false, body.len());
        let writer = std::thread::spawn(move || {
            let mut all: Vec<&[u8]> = vec![&head, &[]];
            all.extend(parts.iter().map(Vec::as_slice));
            a.send_all_parts(&all, &[]).unwrap();
        });
        let frame = loop {
            if let Some(frame) = b.next_frame().unwrap() {
                break frame;
            }
            assert!(b.fill(false).unwrap() > 0);
        };
        writer.join().unwrap();
        assert_eq!((frame.id, frame.body.len()), (9, body.len()));
        assert!(frame.body == body);
    }

    #[test]
    fn unknown_kinds_are_protocol_errors() {
        let (a, mut b) = pair();
        let mut bytes = vec![0u8; HEADER];
        bytes[4] = 99;
        a.send_all(&bytes, &[]).unwrap();
        b.fill(false).unwrap();
        assert_eq!(
            b.next_frame().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
