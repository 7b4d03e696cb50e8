//! A shared-memory arena: one anonymous memory file (memfd) mapped once, carved into
//! page-aligned blocks.
//!
//! The parent owns the [`Arena`] and allocates blocks in it (NumPy's data allocator and
//! task arguments); worker processes map the same file read-only as an [`ArenaView`]
//! and address blocks by offset, so an argument crosses the process boundary without a
//! copy. The file is anonymous: when the last process holding it exits — normally or by
//! `kill -9` — the kernel frees it, so no segment is ever left behind.
//!
//! A freed block gives its pages back to the system (a hole is punched in the file),
//! except the most recently freed small blocks ([`RETAIN_BLOCK`], up to
//! [`RETAIN_BYTES`] in all): they keep their pages, mapped in the parent and in the
//! workers, for the next block of the same length. Writing a fresh page costs a page
//! fault and zeroing in the parent and another fault in each worker that reads it:
//! several times the copy itself, for a task argument sent again and again.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rustix::fs::{fallocate, fstat, ftruncate, memfd_create, FallocateFlags, MemfdFlags};
use rustix::mm::{mmap, MapFlags, ProtFlags};

/// Blocks are multiples of this many bytes and start on such a boundary.
pub const PAGE: usize = 4096;

/// The largest arena tried first: 1 TiB of address space, backed only where written.
const MAX_SIZE: usize = 1 << 40;
/// The smallest arena worth creating when the address space is limited.
const MIN_SIZE: usize = 1 << 30;
/// Freed blocks up to this long keep their pages for reuse...
pub const RETAIN_BLOCK: usize = 4 << 20;
/// ...up to this many bytes in all...
pub const RETAIN_BYTES: usize = 32 << 20;
/// ...and this many blocks (the oldest gives its pages back first).
const RETAIN_BLOCKS: usize = 64;

/// The free space of an arena: free blocks by offset and by size, the live blocks,
/// the top of the bump region, and freed blocks that kept their pages.
#[derive(Default)]
struct FreeList {
    by_offset: BTreeMap<usize, usize>,
    by_size: BTreeSet<(usize, usize)>,
    live: HashMap<usize, usize>,
    top: usize,
    /// Freed blocks whose pages are kept (offset, length), oldest first; they are
    /// neither live nor free.
    retained: VecDeque<(usize, usize)>,
    retained_bytes: usize,
}

impl FreeList {
    /// A retained block of exactly `len` bytes made live again (the most recently
    /// freed one), if there is one.
    fn take_retained(&mut self, len: usize) -> Option<usize> {
        let at = self.retained.iter().rposition(|&(_, l)| l == len)?;
        let (offset, _) = self.retained.remove(at).expect("a retained block");
        self.retained_bytes -= len;
        self.live.insert(offset, len);
        Some(offset)
    }

    /// Frees the live block at `offset`, keeping its pages if it is small; returns the
    /// blocks (offset, length) that went back to the free space and whose pages must be
    /// given back. Nothing happens if no live block starts at `offset`.
    fn release(&mut self, offset: usize) -> Vec<(usize, usize)> {
        let Some(len) = self.live.remove(&offset) else {
            return Vec::new();
        };
        let mut dropped = Vec::new();
        if len <= RETAIN_BLOCK {
            self.retained.push_back((offset, len));
            self.retained_bytes += len;
            while self.retained_bytes > RETAIN_BYTES || self.retained.len() > RETAIN_BLOCKS {
                let (o, l) = self.retained.pop_front().expect("retained blocks");
                self.retained_bytes -= l;
                dropped.push((o, l));
            }
        } else {
            dropped.push((offset, len));
        }
        for &(o, l) in &dropped {
            self.merge(o, l);
        }
        dropped
    }

    fn insert_free(&mut self, offset: usize, len: usize) {
        self.by_offset.insert(offset, len);
        self.by_size.insert((len, offset));
    }

    fn remove_free(&mut self, offset: usize, len: usize) {
        self.by_offset.remove(&offset);
        self.by_size.remove(&(len, offset));
    }

    /// Best fit from the free blocks, else from the top; `None` when the arena is full.
    fn alloc(&mut self, len: usize, size: usize) -> Option<usize> {
        let offset = if let Some(&(free_len, offset)) = self.by_size.range((len, 0)..).next() {
            self.remove_free(offset, free_len);
            if free_len > len {
                self.insert_free(offset + len, free_len - len);
            }
            offset
        } else {
            if size - self.top < len {
                return None;
            }
            self.top += len;
            self.top - len
        };
        self.live.insert(offset, len);
        Some(offset)
    }

    /// Returns the block at `offset` to the free space, merged with its neighbours;
    /// the length of the freed block, or `None` if no live block starts there.
    #[cfg(test)]
    fn free(&mut self, offset: usize) -> Option<usize> {
        let len = self.live.remove(&offset)?;
        self.merge(offset, len);
        Some(len)
    }

    /// Returns the block `offset..offset + len` to the free space, merged with its
    /// neighbours.
    fn merge(&mut self, offset: usize, len: usize) {
        let (mut start, mut end) = (offset, offset + len);
        if let Some((&prev, &prev_len)) = self.by_offset.range(..start).next_back() {
            if prev + prev_len == start {
                self.remove_free(prev, prev_len);
                start = prev;
            }
        }
        if let Some(&next_len) = self.by_offset.get(&end) {
            self.remove_free(end, next_len);
            end += next_len;
        }
        if end == self.top {
            self.top = start;
        } else {
            self.insert_free(start, end - start);
        }
    }
}

/// The parent's side of the shared-memory arena: allocates and frees blocks.
pub struct Arena {
    fd: OwnedFd,
    base: NonNull<u8>,
    size: usize,
    free: Mutex<FreeList>,
    /// Set in a child forked from the parent: the mapping became private and the
    /// arena hands out no more blocks (a child must never punch holes in the
    /// parent's memory).
    detached: AtomicBool,
}

// SAFETY: the mapping is shared memory addressed through raw pointers; the free list
// is behind a mutex and the rest is immutable after creation.
unsafe impl Send for Arena {}
// SAFETY: as above; every method takes `&self` and synchronizes through the mutex.
unsafe impl Sync for Arena {}

impl Arena {
    /// Creates an arena as large as the address space allows (1 TiB down to 1 GiB).
    /// Memory is only used where blocks are written.
    pub fn create() -> io::Result<Arena> {
        let fd = memfd_create("brickwork-arena", MemfdFlags::CLOEXEC)?;
        let mut size = MAX_SIZE;
        loop {
            ftruncate(&fd, size as u64)?;
            match map(fd.as_fd(), size, ProtFlags::READ | ProtFlags::WRITE) {
                Ok(base) => {
                    return Ok(Arena {
                        fd,
                        base,
                        size,
                        free: Mutex::new(FreeList::default()),
                        detached: AtomicBool::new(false),
                    })
                }
                Err(err) if size / 2 >= MIN_SIZE => {
                    let _ = err;
                    size /= 2;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The memory file, to hand to worker processes.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Allocates a zeroed block of at least `len` bytes (rounded up to whole pages);
    /// returns its address, or `None` when the arena is full or detached.
    pub fn alloc(&self, len: usize) -> Option<NonNull<u8>> {
        let (ptr, len, reused) = self.alloc_block(len)?;
        if reused {
            // SAFETY: the block is `len` bytes of the writable mapping, live and owned
            // by the caller alone from now on.
            unsafe { ptr.as_ptr().write_bytes(0, len) };
        }
        Some(ptr)
    }

    /// Allocates a block of at least `len` bytes, like [`Arena::alloc`], whose
    /// contents are unspecified (a block freed earlier is reused as it is): for a
    /// block the caller fills at once.
    pub fn alloc_unzeroed(&self, len: usize) -> Option<NonNull<u8>> {
        self.alloc_block(len).map(|(ptr, _, _)| ptr)
    }

    /// A block of `len` bytes rounded up to whole pages: its address, its length, and
    /// whether it is a retained block (holding old bytes) rather than zeroed pages.
    fn alloc_block(&self, len: usize) -> Option<(NonNull<u8>, usize, bool)> {
        if self.detached.load(Ordering::Acquire) {
            return None;
        }
        let len = len.max(1).checked_next_multiple_of(PAGE)?;
        let mut free = self.free.lock().ok()?;
        let (offset, reused) = match free.take_retained(len) {
            Some(offset) => (offset, true),
            None => (free.alloc(len, self.size)?, false),
        };
        // SAFETY: `offset + len <= size`, so the pointer stays inside the mapping.
        Some((unsafe { self.base.add(offset) }, len, reused))
    }

    /// Frees the block starting at `ptr`: a small one keeps its pages for the next
    /// block of its length, a large one returns them to the system (see the module
    /// documentation). A pointer that is not the start of a live block is ignored, as
    /// are frees in a forked child.
    pub fn free(&self, ptr: NonNull<u8>) {
        if let Some(offset) = self.offset_of(ptr.as_ptr()) {
            self.free_at(offset);
        }
    }

    /// Frees the block starting at `offset` (see [`Arena::free`]).
    pub fn free_at(&self, offset: usize) {
        if self.detached.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        for (offset, len) in free.release(offset) {
            // Punching a hole gives the pages back and makes them read as zero, so a
            // block later carved from the free space starts zeroed (NumPy's calloc
            // relies on it). On failure the pages stay in use but the block is still
            // reusable.
            let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
            let _ = fallocate(&self.fd, mode, offset as u64, len as u64);
        }
    }

    /// The offset of `ptr` in the arena if it points into it.
    pub fn offset_of(&self, ptr: *const u8) -> Option<usize> {
        let offset = (ptr as usize).checked_sub(self.base.as_ptr() as usize)?;
        (offset < self.size).then_some(offset)
    }

    /// The length of the live block starting at `ptr`, if there is one.
    pub fn block_len(&self, ptr: *const u8) -> Option<usize> {
        let offset = self.offset_of(ptr)?;
        self.free.lock().ok()?.live.get(&offset).copied()
    }

    /// Bytes held by live blocks.
    pub fn used(&self) -> usize {
        self.free.lock().map(|f| f.live.values().sum()).unwrap_or(0)
    }

    /// Called in a child right after `fork()`: remaps the arena copy-on-write, so the
    /// child keeps reading the data it inherited but can neither change nor free the
    /// parent's blocks, and stops allocating from it.
    pub fn detach_after_fork(&self) {
        self.detached.store(true, Ordering::Release);
        let flags = MapFlags::PRIVATE | MapFlags::NORESERVE | MapFlags::FIXED;
        // SAFETY: MAP_FIXED replaces exactly our own mapping (same address and length)
        // with a private mapping of the same file, so every pointer into it stays valid
        // and sees the same bytes.
        let _ = unsafe {
            mmap(
                self.base.as_ptr().cast(),
                self.size,
                ProtFlags::READ | ProtFlags::WRITE,
                flags,
                &self.fd,
                0,
            )
        };
    }
}

/// A worker's read-only view of the parent's arena.
pub struct ArenaView {
    base: NonNull<u8>,
    size: usize,
    _fd: OwnedFd,
}

impl ArenaView {
    /// Maps the arena file received from the parent, read-only.
    pub fn open(fd: OwnedFd) -> io::Result<ArenaView> {
        let size = usize::try_from(fstat(&fd)?.st_size).map_err(|_| io::ErrorKind::InvalidData)?;
        let base = map(fd.as_fd(), size, ProtFlags::READ)?;
        Ok(ArenaView {
            base,
            size,
            _fd: fd,
        })
    }

    /// The bytes at `offset..offset + len`, or an error naming the span when it falls
    /// outside the arena.
    pub fn slice(&self, offset: u64, len: u64) -> io::Result<&[u8]> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.size as u64);
        if end.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "span {offset}+{len} lies outside the {}-byte arena",
                    self.size
                ),
            ));
        }
        // SAFETY: the span lies inside the read-only mapping, which lives as long as
        // `self`; the parent only writes a block before sending its offset.
        let bytes = unsafe {
            std::slice::from_raw_parts(self.base.as_ptr().add(offset as usize), len as usize)
        };
        if bytes.len() >= POPULATE_FROM {
            populate(bytes);
        }
        Ok(bytes)
    }
}

/// Spans at least this long are mapped in one call before use.
const POPULATE_FROM: usize = 1 << 20;

/// Maps the pages of `bytes` in one system call (MADV_POPULATE_READ) instead of one
/// page fault per 4 KiB page as they are first read: several times faster for large
/// arguments. Best effort (older kernels ignore it).
fn populate(bytes: &[u8]) {
    let start = (bytes.as_ptr() as usize) & !(PAGE - 1);
    let end = bytes.as_ptr() as usize + bytes.len();
    // SAFETY: the advice only maps pages of our own read-only mapping; it changes no
    // memory contents.
    let _ = unsafe {
        rustix::mm::madvise(
            start as *mut _,
            end - start,
            rustix::mm::Advice::LinuxPopulateRead,
        )
    };
}

/// Maps `size` bytes of `fd` shared, reserving no swap.
fn map(fd: BorrowedFd<'_>, size: usize, prot: ProtFlags) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh mapping chosen by the kernel aliases no Rust object.
    let ptr = unsafe {
        mmap(
            std::ptr::null_mut(),
            size,
            prot,
            MapFlags::SHARED | MapFlags::NORESERVE,
            fd,
            0,
        )
    }?;
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned a null pointer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_list_reuses_and_merges() {
        let mut f = FreeList::default();
        let a = f.alloc(PAGE, 10 * PAGE).unwrap();
        let b = f.alloc(2 * PAGE, 10 * PAGE).unwrap();
        let c = f.alloc(PAGE, 10 * PAGE).unwrap();
        assert_eq!((a, b, c), (0, PAGE, 3 * PAGE));
        assert_eq!(f.free(b), Some(2 * PAGE));
        assert_eq!(f.alloc(PAGE, 10 * PAGE), Some(PAGE));
        assert_eq!(f.free(a), Some(PAGE));
        assert_eq!(f.free(PAGE), Some(PAGE));
        // a, b's first page and b's free second page merged into one block.
        assert_eq!(f.by_offset.get(&0), Some(&(3 * PAGE)));
        assert_eq!(f.free(c), Some(PAGE));
        assert_eq!((f.top, f.by_offset.len()), (0, 0));
        assert_eq!(f.alloc(11 * PAGE, 10 * PAGE), None);
        assert_eq!(f.free(123), None);
    }

    #[test]
    fn arena_blocks_are_shared_zeroed_and_reused() {
        let arena = Arena::create().unwrap();
        let p = arena.alloc(10_000).unwrap();
        assert_eq!(arena.block_len(p.as_ptr()), Some(3 * PAGE));
        // SAFETY: the block is 12 KiB long and owned by this test.
        unsafe { p.as_ptr().write_bytes(7, 10_000) };
        let view = ArenaView::open(arena.fd.try_clone().unwrap()).unwrap();
        let off = arena.offset_of(p.as_ptr()).unwrap() as u64;
        assert!(view.slice(off, 10_000).unwrap().iter().all(|&b| b == 7));
        arena.free(p);
        // A small freed block keeps its pages: reused as it is for a block of the same
        // length that will be filled, zeroed again for one that must start zeroed.
        let q = arena.alloc_unzeroed(3 * PAGE).unwrap();
        assert_eq!(q, p);
        assert!(view.slice(off, 10_000).unwrap().iter().all(|&b| b == 7));
        arena.free(q);
        let r = arena.alloc(3 * PAGE).unwrap();
        assert_eq!(r, p);
        assert!(view
            .slice(off, 3 * PAGE as u64)
            .unwrap()
            .iter()
            .all(|&b| b == 0));
        assert!(view.slice(u64::MAX, 2).is_err());
        assert_eq!(arena.used(), 3 * PAGE);
    }

    #[test]
    fn large_and_surplus_freed_blocks_give_their_pages_back() {
        let arena = Arena::create().unwrap();
        let view = ArenaView::open(arena.fd.try_clone().unwrap()).unwrap();
        let big = RETAIN_BLOCK + PAGE;
        let p = arena.alloc(big).unwrap();
        // SAFETY: the block is `big` bytes long and owned by this test.
        unsafe { p.as_ptr().write_bytes(7, big) };
        arena.free(p);
        let off = arena.offset_of(p.as_ptr()).unwrap() as u64;
        // Punched: the pages read as zero, and the space is free again.
        assert!(view.slice(off, big as u64).unwrap().iter().all(|&b| b == 0));
        assert_eq!(arena.alloc_unzeroed(big), Some(p));
        arena.free(p);
        // More small blocks than are kept: the oldest give their pages back.
        let blocks: Vec<_> = (0..RETAIN_BLOCKS + 3)
            .map(|_| arena.alloc(PAGE).unwrap())
            .collect();
        for &b in &blocks {
            // SAFETY: each block is one page owned by this test.
            unsafe { b.as_ptr().write_bytes(9, PAGE) };
            arena.free(b);
        }
        let free = arena.free.lock().unwrap();
        assert_eq!(free.retained.len(), RETAIN_BLOCKS);
        assert_eq!(free.retained_bytes, RETAIN_BLOCKS * PAGE);
        drop(free);
        let first = arena.offset_of(blocks[0].as_ptr()).unwrap() as u64;
        assert!(view
            .slice(first, PAGE as u64)
            .unwrap()
            .iter()
            .all(|&b| b == 0));
        let last = arena.offset_of(blocks[RETAIN_BLOCKS + 2].as_ptr()).unwrap() as u64;
        assert!(view
            .slice(last, PAGE as u64)
            .unwrap()
            .iter()
            .all(|&b| b == 9));
        assert_eq!(arena.used(), 0);
    }
}
