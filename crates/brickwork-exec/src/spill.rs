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

use brickwork_core::{Chunks, DType, Error, Result};
use brickwork_kernels::{with_tile, Tile};
use rustix::fs::{ftruncate, open, unlinkat, AtFlags, Mode, OFlags, CWD};
use rustix::mm::{madvise, mmap, munmap, Advice, MapFlags, ProtFlags};

/// A temporary file of a fixed size, mapped shared and writable.
pub(crate) struct SpillFile {
    ptr: NonNull<u8>,
    len: usize,
    file: OwnedFd,
    /// The blocks the array is laid out in, if not in C order as a whole.
    layout: Option<Layout>,
}

/// A block layout: the blocks of `grid` one after another in the grid's C order, each
/// block in C order, so that reading or writing a whole block is one contiguous range.
struct Layout {
    grid: Chunks,
    /// The element offset of each block.
    starts: Vec<usize>,
}

impl Layout {
    fn new(grid: Chunks) -> Layout {
        let mut starts = Vec::with_capacity(grid.nblocks() + 1);
        let mut at = 0;
        let mut coords = vec![0; grid.ndim()];
        for b in 0..grid.nblocks() {
            starts.push(at);
            grid.block_coords(b, &mut coords);
            at += grid.block_shape(&coords).iter().product::<usize>();
        }
        Layout { grid, starts }
    }
}

// SAFETY: the mapping is plain memory; tasks write disjoint blocks and read what their
// dependencies wrote (the executor's ordering), as for in-memory intermediates.
unsafe impl Send for SpillFile {}
// SAFETY: as above.
unsafe impl Sync for SpillFile {}

impl SpillFile {
    /// A zero-filled file of `len` bytes (at least 1) in `dir`, mapped. With a `layout`
    /// grid the array is stored block after block (see [`Layout`]): only region reads
    /// and writes may then be used, not the mapping.
    pub(crate) fn create(dir: &Path, len: usize, layout: Option<Chunks>) -> Result<SpillFile> {
        let fail = |what: &str, e: rustix::io::Errno| {
            Error::io(
                format!(
                    "cannot {what} a {len}-byte spill file in {}: {e} (set brickwork.config \
                     temporary_directory to a directory with room)",
                    dir.display()
                ),
                std::io::Error::from(e),
            )
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
            layout: layout.map(Layout::new),
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
        let item = dtype.itemsize();
        self.runs(shape, start, size, |at, offset, run| {
            self.read_at(
                &mut out[at * item..(at + run) * item],
                (offset * item) as u64,
            )
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
        self.runs(shape, start, size, |at, offset, run| {
            self.write_at(&data[at * item..(at + run) * item], (offset * item) as u64)
        })
    }

    /// Calls `f(element in the region, element in the file, run length)` for the
    /// contiguous runs that make up the region at `start` of `size` of the array of
    /// `shape`: one piece for the whole array in C order, or one per block it overlaps.
    fn runs(
        &self,
        shape: &[usize],
        start: &[usize],
        size: &[usize],
        mut f: impl FnMut(usize, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let Some(layout) = &self.layout else {
            let zeros = vec![0; size.len()];
            return box_runs(shape, start, size, &zeros, size, &mut f);
        };
        if size.contains(&0) {
            return Ok(());
        }
        let grid = &layout.grid;
        let ndim = size.len();
        let first: Vec<usize> = (0..ndim).map(|a| grid.0[a].block_of(start[a])).collect();
        let last: Vec<usize> = (0..ndim)
            .map(|a| grid.0[a].block_of(start[a] + size[a] - 1))
            .collect();
        let numblocks = grid.numblocks();
        let mut coords = first.clone();
        loop {
            let mut block = 0;
            let (mut origin, mut bshape) = (vec![0; ndim], vec![0; ndim]);
            let (mut local, mut in_region, mut piece) =
                (vec![0; ndim], vec![0; ndim], vec![0; ndim]);
            for a in 0..ndim {
                block = block * numblocks[a] + coords[a];
                origin[a] = grid.0[a].offset(coords[a]);
                bshape[a] = grid.0[a].size(coords[a]);
                let lo = start[a].max(origin[a]);
                let hi = (start[a] + size[a]).min(origin[a] + bshape[a]);
                (local[a], in_region[a], piece[a]) = (lo - origin[a], lo - start[a], hi - lo);
            }
            let base = layout.starts[block];
            box_runs(
                &bshape,
                &local,
                size,
                &in_region,
                &piece,
                &mut |at, offset, run| f(at, base + offset, run),
            )?;
            // The next block of the overlapped range, in C order.
            let mut a = ndim;
            loop {
                if a == 0 {
                    return Ok(());
                }
                a -= 1;
                coords[a] += 1;
                if coords[a] <= last[a] {
                    break;
                }
                coords[a] = first[a];
            }
        }
    }

    /// `pread` into `buf` at byte `offset`, completely.
    fn read_at(&self, mut buf: &mut [u8], mut offset: u64) -> Result<()> {
        while !buf.is_empty() {
            match rustix::io::pread(&self.file, &mut *buf, offset) {
                Ok(0) => return Err(Error::io_message("a spill file ended early")),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot read a spill file: {e}"),
                        std::io::Error::from(e),
                    ))
                }
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
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot write a spill file: {e}"),
                        std::io::Error::from(e),
                    ))
                }
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

/// Calls `f(element in the destination, element in the source, run length)` for the
/// contiguous runs that copy a box of `size` from `src_start` of a C-order array of
/// `src_shape` to `dst_start` of a C-order array of `dst_shape`, in C order.
fn box_runs(
    src_shape: &[usize],
    src_start: &[usize],
    dst_shape: &[usize],
    dst_start: &[usize],
    size: &[usize],
    f: &mut impl FnMut(usize, usize, usize) -> Result<()>,
) -> Result<()> {
    let ndim = size.len();
    if ndim == 0 {
        return f(0, 0, 1);
    }
    if size.contains(&0) {
        return Ok(());
    }
    // Trailing axes copied whole on both sides join the run.
    let mut j = ndim - 1;
    while j > 0 && size[j] == src_shape[j] && size[j] == dst_shape[j] {
        j -= 1;
    }
    let run = size[j..].iter().product::<usize>();
    let (src, dst) = (c_strides(src_shape), c_strides(dst_shape));
    let mut index = vec![0usize; j];
    loop {
        let (mut s, mut d) = (src_start[j] * src[j], dst_start[j] * dst[j]);
        for a in 0..j {
            s += (src_start[a] + index[a]) * src[a];
            d += (dst_start[a] + index[a]) * dst[a];
        }
        f(d, s, run)?;
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

/// Element strides of a C-order array of `shape`.
fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    strides
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
        let file = SpillFile::create(&dir, 1 << 20, None).unwrap();
        // SAFETY: the mapping is 1 MiB long and owned by this test.
        unsafe { file.ptr().add(12345).write(42) };
        file.release();
        // SAFETY: as above.
        assert_eq!(unsafe { file.ptr().add(12345).read() }, 42);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before);
        assert!(SpillFile::create(Path::new("/nonexistent/dir"), 10, None).is_err());
    }

    #[test]
    fn regions_read_back_as_written() {
        let (shape, n) = ([3usize, 4, 5], 60);
        let file = SpillFile::create(&std::env::temp_dir(), n * 8, None).unwrap();
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

    #[test]
    fn a_block_layout_reads_back_any_region_as_written() {
        use brickwork_core::AxisChunks;
        let shape = [7usize, 9, 4];
        let grid = Chunks(vec![
            AxisChunks::from_sizes(&[3, 4]),
            AxisChunks::from_sizes(&[2, 2, 5]),
            AxisChunks::regular(4, 4),
        ]);
        let n: usize = shape.iter().product();
        let file = SpillFile::create(&std::env::temp_dir(), n * 8, Some(grid)).unwrap();
        // Write the array as a few boxes that cut across the blocks.
        let value = |i: usize, j: usize, k: usize| (i * 100 + j * 10 + k) as f64;
        for (start, size) in [
            ([0, 0, 0], [5, 9, 4]),
            ([5, 0, 0], [2, 6, 4]),
            ([5, 6, 0], [2, 3, 4]),
        ] {
            let mut v = Vec::new();
            for i in start[0]..start[0] + size[0] {
                for j in start[1]..start[1] + size[1] {
                    for k in start[2]..start[2] + size[2] {
                        v.push(value(i, j, k));
                    }
                }
            }
            file.write_region(&shape, &Tile::F64(v), &start, &size)
                .unwrap();
        }
        // Block (1, 2) of the layout is one contiguous range: rows 3..7, columns 4..9.
        for (start, size) in [
            ([0, 0, 0], shape),
            ([3, 4, 0], [4, 5, 4]),
            ([1, 1, 1], [5, 7, 2]),
        ] {
            let Tile::F64(got) = file.read_region(&shape, DType::F64, &start, &size).unwrap()
            else {
                panic!()
            };
            let mut at = 0;
            for i in start[0]..start[0] + size[0] {
                for j in start[1]..start[1] + size[1] {
                    for k in start[2]..start[2] + size[2] {
                        assert_eq!(got[at], value(i, j, k), "({i}, {j}, {k})");
                        at += 1;
                    }
                }
            }
        }
    }
}
