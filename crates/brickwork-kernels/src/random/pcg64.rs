//! NumPy's `SeedSequence` hash and its `PCG64` bit generator, bit for bit.
//!
//! Runs of known length ([`Pcg64::fill_u64`], [`Pcg64::fill_unit`]) are drawn as
//! interleaved sub-streams (lane `l` steps from draw `l` to draw `l + n` with the LCG's
//! n-step multiplier): eight lanes on AVX-512 IFMA (`ifma.rs`), else four lanes of
//! scalar 128-bit multiplications in flight instead of one chain. The values and their
//! order are the stream's own.

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
pub(super) fn seed_state(entropy: &[u32], pool_size: usize) -> [u64; 4] {
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
/// Sub-streams drawn side by side by [`Pcg64::fill_with`].
const LANES: usize = 4;
/// `PCG_MULT ** LANES`: one step of a lane is `LANES` steps of the stream.
const LANE_MULT: u128 = {
    let m2 = PCG_MULT.wrapping_mul(PCG_MULT);
    m2.wrapping_mul(m2)
};
/// `1 + M + M**2 + M**3`: a lane's increment is the stream's increment times this.
const LANE_INC_FACTOR: u128 = {
    let m2 = PCG_MULT.wrapping_mul(PCG_MULT);
    1u128
        .wrapping_add(PCG_MULT)
        .wrapping_add(m2)
        .wrapping_add(m2.wrapping_mul(PCG_MULT))
};

/// PCG64's XSL-RR output of a state.
#[inline(always)]
fn output(s: u128) -> u64 {
    (((s >> 64) as u64) ^ (s as u64)).rotate_right((s >> 122) as u32)
}

/// `Generator.random()` of a draw: its top 53 bits as a double in [0, 1).
#[inline(always)]
pub(super) fn to_unit_f64(u: u64) -> f64 {
    (u >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// NumPy's PCG64 (XSL-RR output of a 128-bit LCG).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pcg64 {
    state: u128,
    inc: u128,
}

impl Pcg64 {
    /// Seeded as `numpy.random.PCG64(seed_sequence)`.
    pub(super) fn new(seed: [u64; 4]) -> Pcg64 {
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

    /// The next draw (`random_raw()`).
    #[inline(always)]
    pub(super) fn next_u64(&mut self) -> u64 {
        self.step();
        output(self.state)
    }

    /// Skips `delta` draws (Brown's jump ahead for LCGs, O(log delta)).
    pub(super) fn advance(&mut self, mut delta: u128) {
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

    /// The states of the next `N` draws, and the multiplier and increment that step each
    /// of them `N` draws on.
    pub(super) fn lanes<const N: usize>(&self) -> ([u128; N], u128, u128) {
        let (mut mult, mut factor) = (1u128, 0u128);
        for _ in 0..N {
            factor = factor.wrapping_add(mult);
            mult = mult.wrapping_mul(PCG_MULT);
        }
        let mut g = *self;
        let first = std::array::from_fn(|_| {
            g.step();
            g.state
        });
        (first, mult, self.inc.wrapping_mul(factor))
    }

    /// Positions the generator after the draw before the one whose state is `next`.
    pub(super) fn set_after(&mut self, next: u128) {
        self.state = step_back(next, self.inc);
    }

    /// The next `out.len()` draws.
    pub(super) fn fill_u64(&mut self, out: &mut [u64]) {
        let rest = self.fill_simd::<false>(out);
        self.fill_with(rest, |u| u);
    }

    /// `Generator.random()` of the next `out.len()` draws.
    pub(super) fn fill_unit(&mut self, out: &mut [f64]) {
        // SAFETY: f64 and u64 have the same size and alignment, and every bit pattern is
        // a valid f64.
        let bits = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast(), out.len()) };
        let rest = self.fill_simd::<true>(bits);
        let done = out.len() - rest.len();
        self.fill_with(&mut out[done..], to_unit_f64);
    }

    /// Draws the longest prefix of `out` that the SIMD generator takes (none without
    /// AVX-512 IFMA), as raw draws or, with `UNIT`, as `Generator.random()` bits;
    /// returns the rest.
    fn fill_simd<'a, const UNIT: bool>(&mut self, out: &'a mut [u64]) -> &'a mut [u64] {
        #[cfg(target_arch = "x86_64")]
        if out.len() >= 16 && super::ifma::available() {
            let (head, rest) = out.split_at_mut(out.len() / 8 * 8);
            // SAFETY: the CPU has the target features `fill` is compiled for.
            unsafe { super::ifma::fill::<UNIT>(self, head) };
            return rest;
        }
        out
    }

    /// `out[k] = f(draw k)` for the next `out.len()` draws, in the stream's order. Runs
    /// of at least two groups are drawn as [`LANES`] interleaved sub-streams.
    #[inline(always)]
    pub(super) fn fill_with<T>(&mut self, out: &mut [T], f: impl Fn(u64) -> T) {
        let mut rest = out;
        if rest.len() >= 2 * LANES {
            let lane_inc = self.inc.wrapping_mul(LANE_INC_FACTOR);
            let mut lanes = [0u128; LANES];
            for l in lanes.iter_mut() {
                self.step();
                *l = self.state;
            }
            let mut groups = rest.chunks_exact_mut(LANES);
            for group in &mut groups {
                for (o, s) in group.iter_mut().zip(lanes.iter_mut()) {
                    *o = f(output(*s));
                    *s = s.wrapping_mul(LANE_MULT).wrapping_add(lane_inc);
                }
            }
            // The lanes stand one group past the draws taken: the state of the last
            // draw taken is one step before the first lane's.
            self.state = step_back(lanes[0], self.inc);
            rest = groups.into_remainder();
        }
        for o in rest.iter_mut() {
            *o = f(self.next_u64());
        }
    }
}

/// `PCG_MULT`'s inverse modulo 2**128 (Newton's iteration: each step doubles the
/// correct low bits; an odd number is its own inverse modulo 8).
const PCG_MULT_INV: u128 = {
    let mut x = PCG_MULT;
    let mut i = 0;
    while i < 7 {
        x = x.wrapping_mul(2u128.wrapping_sub(PCG_MULT.wrapping_mul(x)));
        i += 1;
    }
    x
};

/// The LCG state one step before `s`.
#[inline]
fn step_back(s: u128, inc: u128) -> u128 {
    s.wrapping_sub(inc).wrapping_mul(PCG_MULT_INV)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn advance_equals_stepping() {
        let mut a = Pcg64::new([1, 2, 3, 4]);
        let mut b = a;
        for _ in 0..1000 {
            a.next_u64();
        }
        b.advance(1000);
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn lane_constants_are_powers_of_the_multiplier() {
        assert_eq!(PCG_MULT.wrapping_mul(PCG_MULT_INV), 1);
        let mut a = Pcg64 { state: 5, inc: 77 };
        let mut b = a;
        for _ in 0..LANES {
            a.step();
        }
        b.state = b
            .state
            .wrapping_mul(LANE_MULT)
            .wrapping_add(b.inc.wrapping_mul(LANE_INC_FACTOR));
        assert_eq!(a, b);
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

    proptest! {
        /// Every way of drawing a run gives the stream's draws in order and leaves the
        /// generator after the last one.
        #[test]
        fn runs_give_the_stream_in_order(seed in any::<[u64; 4]>(), n in 0usize..300) {
            let mut serial = Pcg64::new(seed);
            let want: Vec<u64> = (0..n).map(|_| serial.next_u64()).collect();
            let mut g = Pcg64::new(seed);
            let mut got = vec![0u64; n];
            g.fill_u64(&mut got);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(g, serial);
            let mut g = Pcg64::new(seed);
            let mut unit = vec![0.0; n];
            g.fill_unit(&mut unit);
            for (u, w) in unit.iter().zip(&want) {
                prop_assert_eq!(u.to_bits(), to_unit_f64(*w).to_bits());
            }
            prop_assert_eq!(g, serial);
        }

        #[test]
        fn lanes_give_the_stream_in_order(seed in any::<[u64; 4]>(), n in 0usize..300) {
            let mut serial = Pcg64::new(seed);
            let want: Vec<u64> = (0..n).map(|_| serial.next_u64()).collect();
            let mut laned = Pcg64::new(seed);
            let mut got = vec![0u64; n];
            laned.fill_with(&mut got, |u| u);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(laned, serial);
        }
    }
}
