//! Random arrays as generated leaves: block `i` of the array (C order of the block grid)
//! is the stream of NumPy's `Generator(PCG64(SeedSequence(entropy, spawn_key + (i,),
//! pool_size)))`, drawn in the block's C order. The values equal NumPy's for the same
//! seeds, and any region can be generated on its own: a row of a block is one jump
//! ahead in that block's stream (PCG's O(log n) advance), then a run of draws. So a
//! random array is never materialized: `random(...).mean()` reads nothing and holds no
//! block in memory, with the GIL released.

use crate::cast::Num;
use brickwork_core::{Error, Result};
use serde::{Deserialize, Serialize};

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

/// NumPy's `SeedSequence` hash of one word.
fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

/// NumPy's `SeedSequence(...).generate_state(4, uint64)` for the assembled entropy
/// words (the entropy, zero-padded to the pool size when a spawn key follows, then the
/// spawn key's words).
fn seed_state(entropy: &[u32], pool_size: usize) -> [u64; 4] {
    let mut pool = vec![0u32; pool_size];
    let mut hash_const = INIT_A;
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for src in 0..pool_size {
        for dst in 0..pool_size {
            if src != dst {
                let h = hashmix(pool[src], &mut hash_const);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &word in entropy.iter().skip(pool_size) {
        for p in pool.iter_mut() {
            let h = hashmix(word, &mut hash_const);
            *p = mix(*p, h);
        }
    }
    let mut words = [0u32; 8];
    let mut hash_const = INIT_B;
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % pool_size] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *w = v ^ (v >> XSHIFT);
    }
    std::array::from_fn(|k| words[2 * k] as u64 | (words[2 * k + 1] as u64) << 32)
}

const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// NumPy's PCG64 (XSL-RR output of a 128-bit LCG).
#[derive(Debug, Clone)]
struct Pcg64 {
    state: u128,
    inc: u128,
}

impl Pcg64 {
    /// Seeded as `numpy.random.PCG64(seed_sequence)`.
    fn new(seed: [u64; 4]) -> Pcg64 {
        let init_state = (seed[0] as u128) << 64 | seed[1] as u128;
        let init_seq = (seed[2] as u128) << 64 | seed[3] as u128;
        let mut g = Pcg64 {
            state: 0,
            inc: init_seq << 1 | 1,
        };
        g.step();
        g.state = g.state.wrapping_add(init_state);
        g.step();
        g
    }

    #[inline(always)]
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        (((s >> 64) as u64) ^ (s as u64)).rotate_right((s >> 122) as u32)
    }

    /// Skips `delta` draws (Brown's jump ahead for LCGs, O(log delta)).
    fn advance(&mut self, mut delta: u128) {
        let (mut mult, mut plus) = (PCG_MULT, self.inc);
        let (mut acc_mult, mut acc_plus) = (1u128, 0u128);
        while delta > 0 {
            if delta & 1 == 1 {
                acc_mult = acc_mult.wrapping_mul(mult);
                acc_plus = acc_plus.wrapping_mul(mult).wrapping_add(plus);
            }
            plus = mult.wrapping_add(1).wrapping_mul(plus);
            mult = mult.wrapping_mul(mult);
            delta >>= 1;
        }
        self.state = acc_mult.wrapping_mul(self.state).wrapping_add(acc_plus);
    }
}

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

    /// Fills `out[k]` with the element at address `base + k * step` (C order of the
    /// whole array).
    pub fn fill<T: Num>(&self, base: isize, step: isize, out: &mut [T]) {
        let ndim = self.shape.len();
        let strides = self.strides();
        let last = ndim.saturating_sub(1);
        let mut k = 0;
        let mut coords = vec![0usize; ndim];
        // The last block's seeded stream: the pieces of one tile mostly share a block, so
        // the SeedSequence hash runs once per block, not once per piece.
        let mut seeded: Option<(usize, Pcg64)> = None;
        while k < out.len() {
            let mut rest = (base + k as isize * step) as usize;
            for (c, &s) in coords.iter_mut().zip(&strides) {
                *c = rest / s as usize;
                rest %= s as usize;
            }
            // The block holding the element, and the element's place in its stream.
            let (mut index, mut offset, mut row_end) = (0usize, 0usize, usize::MAX);
            for (a, (b, &c)) in self.bounds.iter().zip(&coords).enumerate() {
                let i = b.partition_point(|&x| x <= c) - 1;
                index = index * (b.len() - 1) + i;
                offset = offset * (b[i + 1] - b[i]) + (c - b[i]);
                if a == last {
                    row_end = b[i + 1] - c;
                }
            }
            // A run along the block's row when the addresses count up; else one element.
            let len = if step == 1 {
                row_end.min(out.len() - k)
            } else {
                1
            };
            let start = match &seeded {
                Some((i, g)) if *i == index => g.clone(),
                _ => {
                    let g = self.stream(index);
                    seeded = Some((index, g.clone()));
                    g
                }
            };
            self.draw(start, offset, &mut out[k..k + len]);
            k += len;
        }
    }

    /// Elements `offset..offset + out.len()` of the stream `g` (a block's, as seeded).
    fn draw<T: Num>(&self, mut g: Pcg64, offset: usize, out: &mut [T]) {
        match self.dist {
            Dist::Random64 | Dist::Uniform { .. } => {
                g.advance(offset as u128);
                let (low, range) = match self.dist {
                    Dist::Uniform { low, range } => (low, range),
                    _ => (0.0, 1.0),
                };
                for o in out.iter_mut() {
                    let u = (g.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
                    *o = T::from_f64(low + range * u);
                }
            }
            Dist::Random32 => {
                g.advance((offset / 2) as u128);
                let mut high: Option<u32> = None;
                if offset % 2 == 1 {
                    high = Some((g.next_u64() >> 32) as u32);
                }
                for o in out.iter_mut() {
                    let word = match high.take() {
                        Some(h) => h,
                        None => {
                            let u = g.next_u64();
                            high = Some((u >> 32) as u32);
                            u as u32
                        }
                    };
                    *o = T::from_f64(((word >> 8) as f32 * (1.0 / 16_777_216.0)) as f64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_equals_stepping() {
        let mut a = Pcg64::new([1, 2, 3, 4]);
        let mut b = a.clone();
        for _ in 0..1000 {
            a.next_u64();
        }
        b.advance(1000);
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn seed_sequence_and_first_draw_match_numpy() {
        // numpy.random.SeedSequence(0).generate_state(4, numpy.uint64)
        let want: [u64; 4] = [
            0xdb2c_d7e7_b0f4_78be,
            0xabf4_641a_2c71_ba49,
            0x20c6_ed6d_9d7b_8d41,
            0x2c40_99de_223c_39d4,
        ];
        assert_eq!(seed_state(&[0], 4), want);
        // PCG64(SeedSequence(0)).random_raw()
        assert_eq!(Pcg64::new(want).next_u64(), 0xa30f_ebcf_d9c2_825f);
        // SeedSequence(7, spawn_key=(0, 3)): entropy padded to the pool, then the key.
        let spawned: [u64; 4] = [
            0xad71_7f53_01df_511f,
            0x9ee2_5c41_71fe_bcdc,
            0x0d33_afe1_7410_8720,
            0x960c_30af_dcbc_b72e,
        ];
        assert_eq!(seed_state(&[7, 0, 0, 0, 0, 3], 4), spawned);
    }
}
