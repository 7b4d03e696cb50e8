//! Random arrays as generated leaves: block `i` of the array (C order of the block grid)
//! is the stream of NumPy's `Generator(PCG64(SeedSequence(entropy, spawn_key + (i,),
//! pool_size)))`, drawn in the block's C order. The values equal NumPy's for the same
//! seeds, and a random array is never materialized: `random(...).mean()` reads nothing
//! and holds no block in memory, with the GIL released.
//!
//! - Uniform draws take one draw (float64) or half of one (float32) per element, so any
//!   region is drawn on its own: a row of a block is one jump ahead in that block's
//!   stream (PCG's O(log n) advance), then a run of draws.
//! - Normal draws (NumPy's ziggurat, [`ziggurat`]) take a variable number of draws per
//!   value, so a block's values are drawn in stream order: a task reading rows in order
//!   continues the stream tile after tile, and a backward or strided read (a reversed or
//!   transposed view) draws the block whole once per thread ([`streams`]).
//!
//! [`pcg64`] holds NumPy's SeedSequence hash and PCG64; runs are drawn as interleaved
//! sub-streams of the same stream, eight abreast on AVX-512 IFMA (`ifma.rs`: about
//! 0.35 ns a draw), else four abreast in scalar 128-bit arithmetic.

#[cfg(target_arch = "x86_64")]
mod ifma;
mod pcg64;
mod streams;
mod ziggurat;

use crate::cast::Num;
use brickwork_core::{Error, Result};
use pcg64::{seed_state, Pcg64};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use streams::{StreamKey, Streams};

/// A distribution drawn element by element from a block's stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    /// `Generator.random(dtype=float64)`: one 64-bit draw per element.
    Random64,
    /// `Generator.random(dtype=float32)`: one 32-bit half of a draw per element (the
    /// low half first).
    Random32,
    /// `Generator.uniform(low, high)`: `low + range * random()`, float64.
    Uniform {
        /// The lower bound.
        low: f64,
        /// `high - low`.
        range: f64,
    },
    /// `Generator.standard_normal(dtype=float64)`: NumPy's ziggurat for doubles.
    StandardNormal,
    /// `Generator.normal(loc, scale)`: `loc + scale * standard_normal()`, float64.
    Normal {
        /// The mean.
        loc: f64,
        /// The standard deviation.
        scale: f64,
    },
}

/// How a distribution consumes its stream (distributions that consume it alike share
/// stream positions and whole blocks).
#[derive(Debug, Clone, Copy, Hash)]
enum Consumption {
    /// One draw per element.
    Draw,
    /// Half a draw per element.
    HalfDraw,
    /// One ziggurat normal per element.
    Normal,
}

impl Dist {
    fn consumption(self) -> Consumption {
        match self {
            Dist::Random64 | Dist::Uniform { .. } => Consumption::Draw,
            Dist::Random32 => Consumption::HalfDraw,
            Dist::StandardNormal | Dist::Normal { .. } => Consumption::Normal,
        }
    }

    /// The element made of a standard normal value `z`.
    #[inline(always)]
    fn of_normal<T: Num>(self, z: f64) -> T {
        match self {
            Dist::Normal { loc, scale } => T::from_f64(loc + scale * z),
            _ => T::from_f64(z),
        }
    }
}

/// A random array: its seeds, shape, chunk grid (the blocks that own streams) and
/// distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomSpec {
    /// The call's assembled entropy words: its entropy (zero-padded to the pool size)
    /// followed by its spawn key; the block's index is appended per block.
    pub entropy: Vec<u32>,
    /// The SeedSequence pool size (NumPy's default: 4).
    pub pool_size: usize,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Per axis, the block boundaries `0, c0, c0 + c1, …, n`.
    pub bounds: Vec<Vec<usize>>,
    /// The distribution.
    pub dist: Dist,
}

impl RandomSpec {
    /// A spec after checking that `bounds` fit `shape`.
    pub fn new(
        entropy: Vec<u32>,
        pool_size: usize,
        shape: Vec<usize>,
        bounds: Vec<Vec<usize>>,
        dist: Dist,
    ) -> Result<RandomSpec> {
        let ok = bounds.len() == shape.len()
            && bounds.iter().zip(&shape).all(|(b, &n)| {
                b.first() == Some(&0) && b.last() == Some(&n) && b.windows(2).all(|w| w[0] <= w[1])
            });
        if !ok || pool_size == 0 {
            return Err(Error::Value(format!(
                "random block bounds {bounds:?} do not fit shape {shape:?} (pool size {pool_size})"
            )));
        }
        Ok(RandomSpec {
            entropy,
            pool_size,
            shape,
            bounds,
            dist,
        })
    }

    /// Element strides of the array in C order (the generator's addresses).
    pub fn strides(&self) -> Vec<isize> {
        let mut s = vec![1isize; self.shape.len()];
        for a in (0..self.shape.len().saturating_sub(1)).rev() {
            s[a] = s[a + 1] * self.shape[a + 1] as isize;
        }
        s
    }

    /// The stream of block `index` (C order of the block grid).
    fn stream(&self, index: usize) -> Pcg64 {
        let mut words = self.entropy.clone();
        // NumPy's int-to-words coercion of the spawn key's last entry.
        words.push(index as u32);
        if (index as u64) >> 32 != 0 {
            words.push(((index as u64) >> 32) as u32);
        }
        Pcg64::new(seed_state(&words, self.pool_size))
    }

    /// What identifies this array's streams in a thread's [`Streams`]: its seed words and
    /// how its distribution consumes them.
    fn streams_key(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.entropy, self.pool_size, self.dist.consumption()).hash(&mut h);
        h.finish()
    }

    /// Fills `out[k]` with the element at address `base + k * step` (C order of the
    /// whole array).
    pub fn fill<T: Num>(&self, base: isize, step: isize, out: &mut [T]) {
        let ndim = self.shape.len();
        let strides = self.strides();
        let last = ndim.saturating_sub(1);
        let hash = self.streams_key();
        let mut k = 0;
        let mut coords = vec![0usize; ndim];
        streams::with(|cache| {
            while k < out.len() {
                let mut rest = (base + k as isize * step) as usize;
                for (c, &s) in coords.iter_mut().zip(&strides) {
                    *c = rest / s as usize;
                    rest %= s as usize;
                }
                // The block holding the element, the element's place in its stream and
                // the block's length.
                let (mut index, mut offset, mut row_end, mut size) = (0, 0, usize::MAX, 1);
                for (a, (b, &c)) in self.bounds.iter().zip(&coords).enumerate() {
                    let i = b.partition_point(|&x| x <= c) - 1;
                    index = index * (b.len() - 1) + i;
                    offset = offset * (b[i + 1] - b[i]) + (c - b[i]);
                    size *= b[i + 1] - b[i];
                    if a == last {
                        row_end = b[i + 1] - c;
                    }
                }
                // A run along the block's row when the addresses count up; else one
                // element.
                let len = if step == 1 {
                    row_end.min(out.len() - k)
                } else {
                    1
                };
                let piece = Piece {
                    key: (hash, index),
                    index,
                    offset,
                    size,
                    in_order: step == 1,
                };
                self.draw(cache, &piece, &mut out[k..k + len]);
                k += len;
            }
        });
    }

    /// Elements `piece.offset..piece.offset + out.len()` of a block's stream.
    fn draw<T: Num>(&self, cache: &mut Streams, piece: &Piece, out: &mut [T]) {
        let seed = || self.stream(piece.index);
        match self.dist.consumption() {
            Consumption::Draw => {
                let cur = cache.cursor(piece.key, seed);
                if piece.offset >= cur.pos {
                    cur.g.advance((piece.offset - cur.pos) as u128);
                } else {
                    cur.g = cur.seed;
                    cur.g.advance(piece.offset as u128);
                }
                let (low, range) = match self.dist {
                    Dist::Uniform { low, range } => (low, range),
                    _ => (0.0, 1.0),
                };
                let mut unit = [0.0; 256];
                for chunk in out.chunks_mut(unit.len()) {
                    let unit = &mut unit[..chunk.len()];
                    cur.g.fill_unit(unit);
                    if low == 0.0 && range == 1.0 {
                        chunk
                            .iter_mut()
                            .zip(&*unit)
                            .for_each(|(o, &u)| *o = T::from_f64(u));
                    } else {
                        for (o, &u) in chunk.iter_mut().zip(&*unit) {
                            *o = T::from_f64(low + range * u);
                        }
                    }
                }
                cur.pos = piece.offset + out.len();
            }
            Consumption::HalfDraw => {
                let cur = cache.cursor(piece.key, seed);
                let t = piece.offset;
                if t != cur.pos {
                    if t > cur.pos {
                        cur.g.advance((t / 2 - cur.pos.div_ceil(2)) as u128);
                    } else {
                        cur.g = cur.seed;
                        cur.g.advance((t / 2) as u128);
                    }
                    cur.pending = (t % 2 == 1).then(|| (cur.g.next_u64() >> 32) as u32);
                }
                for o in out.iter_mut() {
                    let word = match cur.pending.take() {
                        Some(h) => h,
                        None => {
                            let u = cur.g.next_u64();
                            cur.pending = Some((u >> 32) as u32);
                            u as u32
                        }
                    };
                    *o = T::from_f64(((word >> 8) as f32 * (1.0 / 16_777_216.0)) as f64);
                }
                cur.pos = t + out.len();
            }
            Consumption::Normal => self.draw_normal(cache, piece, out),
        }
    }

    /// Normal values: continued from the thread's position in the block's stream when
    /// the piece lies ahead of it in order, else copied from the whole block.
    fn draw_normal<T: Num>(&self, cache: &mut Streams, piece: &Piece, out: &mut [T]) {
        let (offset, end) = (piece.offset, piece.offset + out.len());
        let dist = self.dist;
        if cache.whole(piece.key, end).is_none() && piece.in_order {
            let cur = cache.cursor(piece.key, || self.stream(piece.index));
            if cur.pos <= offset {
                ziggurat::standard_normals(&mut cur.g, offset - cur.pos, out, |z| {
                    dist.of_normal(z)
                });
                cur.pos = end;
                return;
            }
        }
        let values = match cache.whole(piece.key, end) {
            Some(values) => values,
            None => {
                let mut values = vec![0.0; piece.size];
                ziggurat::standard_normals(&mut self.stream(piece.index), 0, &mut values, |z| z);
                cache.keep_whole(piece.key, values)
            }
        };
        for (o, &z) in out.iter_mut().zip(&values[offset..end]) {
            *o = dist.of_normal(z);
        }
    }
}

/// A run of elements of one block's stream that a tile asks for.
struct Piece {
    key: StreamKey,
    /// The block (C order of the grid).
    index: usize,
    /// The run's first element in the block's stream.
    offset: usize,
    /// The block's number of elements.
    size: usize,
    /// Whether the tile's addresses count up (a run along a row, possibly of one).
    in_order: bool,
}

#[cfg(test)]
mod tests {
    use super::pcg64::to_unit_f64;
    use super::*;
    use proptest::prelude::*;

    fn spec(shape: &[usize], chunks: &[usize], dist: Dist) -> RandomSpec {
        let bounds = shape
            .iter()
            .zip(chunks)
            .map(|(&n, &c)| {
                let mut b: Vec<usize> = (0..n).step_by(c.max(1)).collect();
                b.push(n);
                b
            })
            .collect();
        RandomSpec::new(vec![9, 0, 0, 0, 1], 4, shape.to_vec(), bounds, dist).unwrap()
    }

    /// Block `index`'s first `n` values, drawn one by one from its stream.
    fn block_values(s: &RandomSpec, index: usize, n: usize) -> Vec<f64> {
        let mut g = s.stream(index);
        match s.dist {
            Dist::StandardNormal => (0..n)
                .map(|_| {
                    let mut one = [0.0];
                    ziggurat::standard_normals(&mut g, 0, &mut one, |z| z);
                    one[0]
                })
                .collect(),
            _ => (0..n).map(|_| to_unit_f64(g.next_u64())).collect(),
        }
    }

    proptest! {
        /// Any order of reads (forward, backward, strided, repeated) gives each block's
        /// stream values, for the 1-d array of `n` elements in chunks of `c`.
        #[test]
        fn reads_in_any_order_give_the_block_streams(
            n in 1usize..300,
            c in 1usize..80,
            normal in any::<bool>(),
            reads in prop::collection::vec((0usize..300, 1usize..40, -3isize..4), 1..12),
        ) {
            let dist = if normal { Dist::StandardNormal } else { Dist::Random64 };
            let s = spec(&[n], &[c], dist);
            let want: Vec<f64> = (0..n.div_ceil(c))
                .flat_map(|b| block_values(&s, b, c.min(n - b * c)))
                .collect();
            for (start, len, step) in reads {
                let start = start % n;
                let step = if step == 0 { 1 } else { step };
                let count = if step > 0 {
                    len.min((n - 1 - start) / step as usize + 1)
                } else {
                    len.min(start / (-step) as usize + 1)
                };
                let mut got = vec![0.0f64; count];
                s.fill(start as isize, step, &mut got);
                for (k, g) in got.iter().enumerate() {
                    let at = (start as isize + k as isize * step) as usize;
                    prop_assert_eq!(g.to_bits(), want[at].to_bits());
                }
            }
        }
    }
}
