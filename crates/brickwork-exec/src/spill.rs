//! Spilled intermediate arrays: an unnamed temporary file.
//!
//! The file is created with `O_TMPFILE` (or created and unlinked at once), so it has no
//! name and disappears when the computation ends, however it ends — success, error,
//! Ctrl-C or `kill -9`. Tasks write their blocks with `pwrite` and read regions with
//! `pread`: the data lives in the page cache, which the kernel writes back and evicts
//! under pressure, and the process holds only the blocks its tasks work on. The file is
//! also mapped, for the reads that need the array as memory (a reshaped view); the
//! executor hands that mapping's pages back after every task.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use brickwork_core::{DType, Error, Result};
use brickwork_kernels::{with_tile, Tile};
use rustix::fs::{ftruncate, open, unlinkat, AtFlags, Mode, OFlags, CWD};
use rustix::mm::{madvise, mmap, munmap, Advice, MapFlags, ProtFlags};

/// A temporary file of a fixed size, mapped shared and writable.
pub(crate) struct SpillFile {
    ptr: NonNull<u8>,
    len: usize,
    file: OwnedFd,
}

// SAFETY: the mapping is plain memory; tasks write disjoint blocks and read what their
// dependencies wrote (the executor's ordering), as for in-memory intermediates.
unsafe impl Send for SpillFile {}
// SAFETY: as above.
unsafe impl Sync for SpillFile {}

impl SpillFile {
    /// A zero-filled file of `len` bytes (at least 1) in `dir`, mapped.
    pub(crate) fn create(dir: &Path, len: usize) -> Result<SpillFile> {
        let fail = |what: &str, e: rustix::io::Errno| {
            Error::Io(format!(
                "cannot {what} a {len}-byte spill file in {}: {e} (set brickwork.config \
                 temporary_directory to a directory with room)",
                dir.display()
            ))
        };
        let len = len.max(1);
        let flags = OFlags::RDWR | OFlags::CLOEXEC;
        let file = match open(
            dir,
            flags | OFlags::TMPFILE,
            Mode::from_bits_truncate(0o600),
        ) {
            Ok(file) => file,
            Err(_) => {
                // No O_TMPFILE on this filesystem: a named file, unlinked at once.
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = dir.join(format!("brickwork-spill-{}-{n}", std::process::id()));
                let file = open(
                    &path,
                    flags | OFlags::CREATE | OFlags::EXCL,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| fail("create", e))?;
                unlinkat(CWD, &path, AtFlags::empty()).map_err(|e| fail("unlink", e))?;
                file
            }
        };
        ftruncate(&file, len as u64).map_err(|e| fail("size", e))?;
        // SAFETY: a fresh shared mapping of our own file, at an address the kernel picks.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &file,
                0,
            )
        }
        .map_err(|e| fail("map", e))?;
        Ok(SpillFile {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns null"),
            len,
            file,
        })
    }

    /// The start of the mapping.
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Reads the region at `start` of `size` of the C-order array of `shape` and `dtype`
    /// the file holds, into a new tile, with `pread` (mapping the pages would map their
    /// neighbours too: the kernel's fault-around and large folios).
    pub(crate) fn read_region(
        &self,
        shape: &[usize],
        dtype: DType,
        start: &[usize],
        size: &[usize],
    ) -> Result<Tile> {
        let mut tile = Tile::new(dtype, size.iter().product());
        #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
        let (ptr, bytes) =
            with_tile!(&mut tile, v => (v.as_mut_ptr() as *mut u8, v.len() * dtype.itemsize()));
        // SAFETY: the tile owns `bytes` bytes at `ptr`, borrowed mutably here only.
        let out = unsafe { std::slice::from_raw_parts_mut(ptr, bytes) };
        for_runs(shape, dtype.itemsize(), start, size, |at, offset, run| {
            self.read_at(&mut out[at..at + run], offset)
        })?;
        Ok(tile)
    }

    /// Writes the C-contiguous `values` of `size` at `start` of the C-order array of
    /// `shape` the file holds, with `pwrite`.
    pub(crate) fn write_region(
        &self,
        shape: &[usize],
        values: &Tile,
        start: &[usize],
        size: &[usize],
    ) -> Result<()> {
        let item = values.dtype().itemsize();
        #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
        let (ptr, bytes) = with_tile!(values, v => (v.as_ptr() as *const u8, v.len() * item));
        // SAFETY: the tile holds `bytes` bytes at `ptr` and is only read here.
        let data = unsafe { std::slice::from_raw_parts(ptr, bytes) };
        for_runs(shape, item, start, size, |at, offset, run| {
            self.write_at(&data[at..at + run], offset)
        })
    }

    /// `pread` into `buf` at byte `offset`, completely.
    fn read_at(&self, mut buf: &mut [u8], mut offset: u64) -> Result<()> {
        while !buf.is_empty() {
            match rustix::io::pread(&self.file, &mut *buf, offset) {
                Ok(0) => return Err(Error::Io("a spill file ended early".into())),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Error::Io(format!("cannot read a spill file: {e}"))),
            }
        }
        Ok(())
    }

    /// `pwrite` all of `buf` at byte `offset`.
    fn write_at(&self, mut buf: &[u8], mut offset: u64) -> Result<()> {
        while !buf.is_empty() {
            match rustix::io::pwrite(&self.file, buf, offset) {
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Error::Io(format!("cannot write a spill file: {e}"))),
            }
        }
        Ok(())
    }

    /// Hands the mapped pages back: the data stays in the file.
    pub(crate) fn release(&self) {
        // SAFETY: for a shared file mapping MADV_DONTNEED only unmaps pages (dirty ones
        // stay dirty in the page cache); later accesses fault them back in with the same
        // contents, so concurrent tasks are unaffected.
        let _ = unsafe { madvise(self.ptr.as_ptr().cast(), self.len, Advice::LinuxDontNeed) };
    }
}

/// Calls `f(position in the region's bytes, byte offset in the file, length)` for each
/// contiguous run of the region at `start` of `size` of a C-order array of `shape` with
/// `item`-byte elements, in C order.
fn for_runs(
    shape: &[usize],
    item: usize,
    start: &[usize],
    size: &[usize],
    mut f: impl FnMut(usize, u64, usize) -> Result<()>,
) -> Result<()> {
    if size.contains(&0) || shape.is_empty() {
        return if shape.is_empty() {
            f(0, 0, item)
        } else {
            Ok(())
        };
    }
    // Axes after `j` are whole, so each run covers `size[j..]` in one piece.
    let ndim = shape.len();
    let j = (0..ndim).rev().find(|&a| size[a] != shape[a]).unwrap_or(0);
    let run = size[j..].iter().product::<usize>() * item;
    let strides = brickwork_core::c_strides(shape);
    let mut index = vec![0usize; j];
    let mut at = 0;
    loop {
        let mut element = start[j] as isize * strides[j];
        for a in 0..j {
            element += (start[a] + index[a]) as isize * strides[a];
        }
        f(at, element as u64 * item as u64, run)?;
        at += run;
        // The next index over the axes before `j`, in C order.
        let mut a = j;
        loop {
            if a == 0 {
                return Ok(());
            }
            a -= 1;
            index[a] += 1;
            if index[a] < size[a] {
                break;
            }
            index[a] = 0;
        }
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`; the buffers reading it hold this value
        // through an Arc, so nothing uses it any more.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spill_file_keeps_its_data_after_release_and_has_no_name() {
        let dir = std::env::temp_dir();
        let before = std::fs::read_dir(&dir).unwrap().count();
        let file = SpillFile::create(&dir, 1 << 20).unwrap();
        // SAFETY: the mapping is 1 MiB long and owned by this test.
        unsafe { file.ptr().add(12345).write(42) };
        file.release();
        // SAFETY: as above.
        assert_eq!(unsafe { file.ptr().add(12345).read() }, 42);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before);
        assert!(SpillFile::create(Path::new("/nonexistent/dir"), 10).is_err());
    }

    #[test]
    fn regions_read_back_as_written() {
        let (shape, n) = ([3usize, 4, 5], 60);
        let file = SpillFile::create(&std::env::temp_dir(), n * 8).unwrap();
        for i in 0..n {
            // SAFETY: the mapping holds 60 f64.
            unsafe { (file.ptr() as *mut f64).add(i).write(i as f64) };
        }
        let tile = file
            .read_region(&shape, DType::F64, &[1, 1, 2], &[2, 2, 3])
            .unwrap();
        let Tile::F64(v) = tile else { panic!() };
        let expected: Vec<f64> = [(1, 1), (1, 2), (2, 1), (2, 2)]
            .iter()
            .flat_map(|&(a, b)| (2..5).map(move |c| (a * 20 + b * 5 + c) as f64))
            .collect();
        assert_eq!(v, expected);
        let Tile::F64(whole) = file
            .read_region(&shape, DType::F64, &[0, 0, 0], &shape)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(whole.len(), 60);
        assert_eq!(whole[59], 59.0);
    }
}
