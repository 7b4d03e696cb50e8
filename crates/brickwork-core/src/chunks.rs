//! Chunk grids: how each axis of an array is cut into blocks, with Dask's chunk specs.
//!
//! A regular axis (all chunks equal but maybe the last) is stored as two numbers, so an
//! array of a million chunks is described in O(1); irregular axes keep their sizes and
//! cumulative offsets for O(log n) lookups.

use crate::{fmt_shape, Error, Result};
use std::sync::Arc;

/// The default byte target of `"auto"` chunks: 128 MiB, as Dask's `array.chunk-size`.
pub const DEFAULT_CHUNK_BYTES: usize = 128 << 20;

/// How one axis is cut into chunks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum AxisChunks {
    /// Chunks of `size` elements, the last one possibly shorter; an empty axis has a
    /// single chunk of length 0.
    Regular {
        /// The size of every chunk but the last.
        size: usize,
        /// The length of the axis.
        len: usize,
    },
    /// Irregular chunks.
    Explicit {
        /// The chunk sizes.
        sizes: Arc<[usize]>,
        /// `offsets[i]` is where chunk `i` starts; one more entry holds the length.
        offsets: Arc<[usize]>,
    },
}

/// A per-axis chunk request before it meets a shape (one axis of a Dask chunk spec).
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// `"auto"`: sized so that a chunk holds about the byte target.
    Auto,
    /// `-1` or `None`: the whole axis in one chunk.
    Full,
    /// An int: chunks of this many elements.
    Size(usize),
    /// A tuple of explicit chunk sizes that must add up to the axis length.
    Explicit(Vec<usize>),
}

impl AxisChunks {
    /// Regular chunks of `size` over an axis of `len`.
    pub fn regular(size: usize, len: usize) -> AxisChunks {
        AxisChunks::Regular {
            size: size.clamp(1, len.max(1)),
            len,
        }
    }

    /// Chunks from explicit sizes, stored regularly when they are regular.
    pub fn from_sizes(sizes: &[usize]) -> AxisChunks {
        let len: usize = sizes.iter().sum();
        if sizes.is_empty() {
            return AxisChunks::regular(1, 0);
        }
        let first = sizes[0];
        let n = sizes.len();
        let regular = first > 0
            && sizes[..n - 1].iter().all(|&s| s == first)
            && sizes[n - 1] <= first
            && sizes[n - 1] > 0;
        if regular || (n == 1) {
            return AxisChunks::regular(first.max(1), len);
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut acc = 0;
        for &s in sizes {
            offsets.push(acc);
            acc += s;
        }
        offsets.push(acc);
        AxisChunks::Explicit {
            sizes: sizes.into(),
            offsets: offsets.into(),
        }
    }

    /// The length of the axis.
    pub fn len(&self) -> usize {
        match self {
            AxisChunks::Regular { len, .. } => *len,
            AxisChunks::Explicit { offsets, .. } => offsets[offsets.len() - 1],
        }
    }

    /// True if the axis has length 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of chunks along the axis (1 for an empty axis).
    pub fn nblocks(&self) -> usize {
        match self {
            AxisChunks::Regular { size, len } => len.div_ceil(*size).max(1),
            AxisChunks::Explicit { sizes, .. } => sizes.len(),
        }
    }

    /// The size of chunk `i`.
    pub fn size(&self, i: usize) -> usize {
        match self {
            AxisChunks::Regular { size, len } => (*len - (i * size).min(*len)).min(*size),
            AxisChunks::Explicit { sizes, .. } => sizes[i],
        }
    }

    /// Where chunk `i` starts.
    pub fn offset(&self, i: usize) -> usize {
        match self {
            AxisChunks::Regular { size, .. } => i * size,
            AxisChunks::Explicit { offsets, .. } => offsets[i],
        }
    }

    /// The chunk holding coordinate `coord` (`coord < len`).
    pub fn block_of(&self, coord: usize) -> usize {
        match self {
            AxisChunks::Regular { size, .. } => coord / size,
            AxisChunks::Explicit { offsets, .. } => {
                offsets.partition_point(|&o| o <= coord).saturating_sub(1)
            }
        }
    }

    /// The largest chunk.
    pub fn max_size(&self) -> usize {
        match self {
            AxisChunks::Regular { size, len } => (*size).min(*len),
            AxisChunks::Explicit { sizes, .. } => sizes.iter().copied().max().unwrap_or(0),
        }
    }

    /// All chunk sizes (O(chunks)).
    pub fn sizes(&self) -> Vec<usize> {
        (0..self.nblocks()).map(|i| self.size(i)).collect()
    }

    /// The coarsest chunks whose boundaries include both `self`'s and `other`'s (the
    /// common refinement); both must have the same length.
    pub fn refine(&self, other: &AxisChunks) -> AxisChunks {
        if self == other {
            return self.clone();
        }
        let len = self.len();
        let mut cuts = Vec::with_capacity(self.nblocks() + other.nblocks());
        let (mut i, mut j) = (1, 1);
        let (na, nb) = (self.nblocks(), other.nblocks());
        loop {
            let a = if i < na { self.offset(i) } else { len };
            let b = if j < nb { other.offset(j) } else { len };
            let next = a.min(b);
            if next >= len {
                break;
            }
            cuts.push(next);
            if a == next {
                i += 1;
            }
            if b == next {
                j += 1;
            }
        }
        let mut sizes = Vec::with_capacity(cuts.len() + 1);
        let mut prev = 0;
        for c in cuts {
            sizes.push(c - prev);
            prev = c;
        }
        sizes.push(len - prev);
        AxisChunks::from_sizes(&sizes)
    }
}

impl Eq for AxisChunks {}

/// Consistent with `==` (which compares sizes, however stored): the length and the
/// number of chunks, O(1).
impl std::hash::Hash for AxisChunks {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        self.nblocks().hash(state);
    }
}

impl PartialEq for AxisChunks {
    fn eq(&self, other: &AxisChunks) -> bool {
        match (self, other) {
            (AxisChunks::Regular { size: a, len: n }, AxisChunks::Regular { size: b, len: m }) => {
                n == m && (a == b || (*n <= *a.min(b)))
            }
            _ => self.len() == other.len() && self.sizes() == other.sizes(),
        }
    }
}

/// The chunk grid of an array: one [`AxisChunks`] per axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Chunks(pub Vec<AxisChunks>);

impl Chunks {
    /// One chunk covering the whole array.
    pub fn single(shape: &[usize]) -> Chunks {
        Chunks(shape.iter().map(|&n| AxisChunks::regular(n, n)).collect())
    }

    /// Normalise per-axis specs against a shape, as `dask.array.core.normalize_chunks`
    /// does without previous chunks. `limit` is the byte target of `"auto"` axes.
    pub fn from_specs(
        specs: &[ChunkSpec],
        shape: &[usize],
        itemsize: usize,
        limit: usize,
    ) -> Result<Chunks> {
        if specs.len() != shape.len() {
            return Err(Error::Chunks(format!(
                "chunks {specs:?} have {} entries but the array has {} dimensions (shape {})",
                specs.len(),
                shape.len(),
                fmt_shape(shape)
            )));
        }
        if shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .and_then(|n| n.checked_mul(itemsize.max(1)))
            .is_none()
        {
            return Err(Error::Value(format!(
                "array is too big: shape {} of {itemsize}-byte elements exceeds the address space",
                fmt_shape(shape)
            )));
        }
        let mut out: Vec<Option<AxisChunks>> = vec![None; shape.len()];
        let mut autos = Vec::new();
        for (axis, (spec, &n)) in specs.iter().zip(shape).enumerate() {
            out[axis] = match spec {
                ChunkSpec::Auto => {
                    autos.push(axis);
                    None
                }
                ChunkSpec::Full => Some(AxisChunks::regular(n, n)),
                ChunkSpec::Size(0) => {
                    return Err(Error::Chunks(format!(
                        "chunk size 0 on axis {axis} (length {n}): chunk sizes must be \
                         positive, -1 or None for the whole axis, or \"auto\""
                    )))
                }
                ChunkSpec::Size(s) => Some(AxisChunks::regular(*s, n)),
                ChunkSpec::Explicit(sizes) => {
                    let total: usize = sizes.iter().sum();
                    if total != n || (sizes.is_empty() && n != 0) {
                        return Err(Error::Chunks(format!(
                            "chunks {} on axis {axis} add up to {total}, but the axis \
                             has length {n} (shape {})",
                            fmt_shape(sizes),
                            fmt_shape(shape)
                        )));
                    }
                    Some(AxisChunks::from_sizes(sizes))
                }
            };
        }
        // Dask sizes "auto" axes against the other axes' chunk sizes as given (an int
        // larger than the axis counts in full).
        let given: usize = specs
            .iter()
            .zip(shape)
            .map(|(spec, &n)| match spec {
                ChunkSpec::Auto => 1,
                ChunkSpec::Full => n,
                ChunkSpec::Size(s) => *s,
                ChunkSpec::Explicit(sizes) => sizes.iter().copied().max().unwrap_or(0),
            })
            .product();
        auto_fill(&mut out, &mut autos, shape, itemsize, limit, given.max(1));
        Ok(Chunks(
            out.into_iter()
                .map(|c| c.expect("every axis set"))
                .collect(),
        ))
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.0.len()
    }

    /// The array's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.0.iter().map(|c| c.len()).collect()
    }

    /// The number of chunks along each axis.
    pub fn numblocks(&self) -> Vec<usize> {
        self.0.iter().map(|c| c.nblocks()).collect()
    }

    /// The total number of chunks.
    pub fn nblocks(&self) -> usize {
        self.0.iter().map(|c| c.nblocks()).product()
    }

    /// The largest chunk along each axis.
    pub fn chunksize(&self) -> Vec<usize> {
        self.0.iter().map(|c| c.max_size()).collect()
    }

    /// The grid coordinates of the block with row-major index `linear`.
    pub fn block_coords(&self, mut linear: usize, out: &mut [usize]) {
        for (axis, c) in self.0.iter().enumerate().rev() {
            let n = c.nblocks();
            out[axis] = linear % n;
            linear /= n;
        }
    }

    /// The shape of the block at grid coordinates `coords`.
    pub fn block_shape(&self, coords: &[usize]) -> Vec<usize> {
        self.0.iter().zip(coords).map(|(c, &i)| c.size(i)).collect()
    }
}

/// Dask's `auto_chunks` without previous chunks: axes shorter than the ideal size take
/// the whole axis, the others `max(1, int(size))` elements.
fn auto_fill(
    out: &mut [Option<AxisChunks>],
    autos: &mut Vec<usize>,
    shape: &[usize],
    itemsize: usize,
    limit: usize,
    mut largest_block: usize,
) {
    while !autos.is_empty() {
        let limit = limit.max(1) as f64;
        let size = (limit / itemsize as f64 / largest_block as f64).powf(1.0 / autos.len() as f64);
        let small: Vec<usize> = autos
            .iter()
            .copied()
            .filter(|&a| (shape[a] as f64) < size)
            .collect();
        if small.is_empty() {
            for &a in autos.iter() {
                out[a] = Some(AxisChunks::regular((size as usize).max(1), shape[a]));
            }
            return;
        }
        for a in small {
            out[a] = Some(AxisChunks::regular(shape[a], shape[a]));
            largest_block = largest_block.saturating_mul(shape[a].max(1));
            autos.retain(|&x| x != a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_chunks_have_a_short_last_block() {
        let c = AxisChunks::regular(4, 10);
        assert_eq!(c.sizes(), vec![4, 4, 2]);
        assert_eq!(c.nblocks(), 3);
        assert_eq!(c.block_of(9), 2);
        assert_eq!(c.offset(2), 8);
    }

    #[test]
    fn empty_axis_has_one_empty_chunk() {
        let c = AxisChunks::regular(4, 0);
        assert_eq!(c.sizes(), vec![0]);
    }

    #[test]
    fn explicit_sizes_lookup_and_regular_detection() {
        let c = AxisChunks::from_sizes(&[3, 1, 4]);
        assert!(matches!(c, AxisChunks::Explicit { .. }));
        assert_eq!(c.block_of(3), 1);
        assert_eq!(c.block_of(4), 2);
        assert!(matches!(
            AxisChunks::from_sizes(&[2, 2, 1]),
            AxisChunks::Regular { .. }
        ));
    }

    #[test]
    fn refinement_merges_boundaries() {
        let a = AxisChunks::regular(4, 10);
        let b = AxisChunks::from_sizes(&[3, 7]);
        assert_eq!(a.refine(&b).sizes(), vec![3, 1, 4, 2]);
        assert_eq!(a.refine(&a).sizes(), vec![4, 4, 2]);
    }

    #[test]
    fn auto_matches_dask() {
        // dask.array.core.normalize_chunks("auto", (10000, 10000), limit=128 MiB, float64)
        // == ((4096, 4096, 1808),) * 2
        let c = Chunks::from_specs(
            &[ChunkSpec::Auto, ChunkSpec::Auto],
            &[10000, 10000],
            8,
            128 << 20,
        )
        .unwrap();
        assert_eq!(c.0[0].max_size(), 4096);
        // A short axis takes the whole axis; the rest share the budget.
        let c = Chunks::from_specs(
            &[ChunkSpec::Auto, ChunkSpec::Auto],
            &[3, 1 << 30],
            8,
            1 << 20,
        )
        .unwrap();
        assert_eq!(c.chunksize(), vec![3, 43690]);
    }

    #[test]
    fn shapes_past_the_address_space_are_refused() {
        let e = Chunks::from_specs(
            &[ChunkSpec::Auto, ChunkSpec::Auto],
            &[1 << 40, 1 << 40],
            8,
            1 << 20,
        );
        assert!(matches!(e, Err(Error::Value(m)) if m.contains("too big")));
    }

    #[test]
    fn explicit_chunks_must_add_up() {
        let e = Chunks::from_specs(&[ChunkSpec::Explicit(vec![2, 2])], &[5], 8, 1 << 20);
        assert!(matches!(e, Err(Error::Chunks(_))));
    }
}
