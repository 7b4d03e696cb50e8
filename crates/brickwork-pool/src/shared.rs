//! Buffers that cross between a Rust program and its workers through shared memory.
//!
//! [`SharedBuf`] is a block of the parent's arena: written in place by the program and
//! read in place by a worker, with no copy. [`ResultBuf`] is a worker's output buffer,
//! mapped from the memory file the worker wrote it into.

use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::Arc;

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::arena::Arena;
use crate::wire::Span;

/// A zeroed block of the pool's shared-memory arena; a worker reads it without a copy.
pub struct SharedBuf {
    arena: Arc<Arena>,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the block is owned exclusively by this value (the arena hands each block out
// once); access follows Rust's borrow rules through Deref / DerefMut.
unsafe impl Send for SharedBuf {}
// SAFETY: as above; `&SharedBuf` only gives shared reads.
unsafe impl Sync for SharedBuf {}

impl SharedBuf {
    pub(crate) fn new(arena: Arc<Arena>, len: usize) -> io::Result<SharedBuf> {
        let ptr = arena.alloc(len).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("the arena has no room for {len} bytes"),
            )
        })?;
        Ok(SharedBuf { arena, ptr, len })
    }

    /// Where the block lies in the arena.
    pub(crate) fn span(&self) -> Span {
        let offset = self
            .arena
            .offset_of(self.ptr.as_ptr())
            .expect("an arena block") as u64;
        Span {
            offset,
            len: self.len as u64,
        }
    }
}

impl Deref for SharedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the block is `len` bytes of the live arena mapping, owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for SharedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SharedBuf {
    fn drop(&mut self) {
        self.arena.free(self.ptr);
    }
}

/// A worker's memory file, mapped read-only.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a read-only mapping nobody writes to any more.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: the mapping was made by `ResultBuf::map` with this address and length
        // and no slice of it outlives the last `ResultBuf` (they hold the Arc).
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// An output buffer of a task, read in place from the memory file the worker wrote.
#[derive(Clone)]
pub struct ResultBuf {
    mapping: Arc<Mapping>,
    offset: usize,
    len: usize,
}

impl ResultBuf {
    /// Maps `file` and returns one buffer per span.
    pub(crate) fn map(file: OwnedFd, spans: &[Span]) -> io::Result<Vec<ResultBuf>> {
        let len = spans
            .iter()
            .map(|s| (s.offset + s.len) as usize)
            .max()
            .unwrap_or(0);
        if len == 0 {
            return Ok(spans.iter().map(|_| ResultBuf::empty()).collect());
        }
        // SAFETY: a fresh read-only private mapping of the whole file; the kernel
        // chooses the address, so it aliases nothing.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                &file,
                0,
            )
        }?;
        let mapping = Arc::new(Mapping {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null"),
            len,
        });
        Ok(spans
            .iter()
            .map(|s| ResultBuf {
                mapping: mapping.clone(),
                offset: s.offset as usize,
                len: s.len as usize,
            })
            .collect())
    }

    fn empty() -> ResultBuf {
        ResultBuf {
            mapping: Arc::new(Mapping {
                ptr: NonNull::dangling(),
                len: 0,
            }),
            offset: 0,
            len: 0,
        }
    }
}

impl Deref for ResultBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `offset + len` lies inside the mapping (the spans came with the file),
        // which lives as long as the Arc.
        unsafe { std::slice::from_raw_parts(self.mapping.ptr.as_ptr().add(self.offset), self.len) }
    }
}
