//! NumPy's standard normal sampler for doubles (`random_standard_normal`): Marsaglia and
//! Tsang's ziggurat with 256 layers over one 64-bit draw per try, as in NumPy's
//! `distributions.c`. The tables are built on first use by the construction NumPy
//! documents for them (tail start `R`, layer area `V`, the edges by the recursion
//! `x ← pdf⁻¹(pdf(x) + V / x)` in doubles); tests check the values drawn against
//! NumPy's bit for bit (`python/tests/test_random.py`, and recorded NumPy values below).
//!
//! The recursion is ill-conditioned near the top (`log` of a number near 1), and NumPy's
//! tables were computed with a `log` / `exp` that round differently from this
//! machine's: its 37 top edges are 1 to 76 ulps below ours (the other 219 are
//! identical). [`EDGE_ULPS`] holds those differences, measured from NumPy's draws
//! (`README.md` beside this file has the script): every fast-path value is
//! `rabs * w[layer]`, so a few thousand draws per layer pin each width to one double.
//!
//! Layer 0 is the base strip with the tail, layer 255 the widest rectangle and layer 1
//! the top one. For layer `i > 0` with right edge `x[i]` (ascending, `x[0] = 0`,
//! `x[255] = R`): `w[i] = x[i] / 2**52`, `k[i] = round(x[i-1] / x[i] * 2**52)` (the
//! part of the rectangle under the curve is accepted at once) and `f[i] = pdf(x[i])`;
//! the base strip has the pseudo-width `V / pdf(R)`.

use super::pcg64::{to_unit_f64, Pcg64};
use std::sync::OnceLock;

/// Where the tail starts (NumPy's `ziggurat_nor_r`).
const R: f64 = 3.654_152_885_361_009;
/// `1 / R` (NumPy's `ziggurat_nor_inv_r`).
const INV_R: f64 = 0.273_661_237_329_758_3;
/// The area of each layer.
const V: f64 = 0.004_928_673_233_974_652;
const LAYERS: usize = 256;
const SCALE: f64 = 4_503_599_627_370_496.0; // 2**52

/// NumPy's right edges of layers 0, 1, 2, … minus ours, in ulps (0 for every later
/// layer); measured from NumPy's draws (see the module docs).
const EDGE_ULPS: [i64; 38] = [
    0, -76, -22, -19, -18, -15, -15, -10, -9, -5, -4, -5, -4, -4, -4, -4, -3, -4, -4, -4, -4, -3,
    -3, -4, -2, -2, -2, -1, -2, -2, -2, -2, -2, -2, -2, -2, -2, -2,
];

/// The unnormalised density `exp(-x²/2)`.
fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

/// The ziggurat's tables.
pub(super) struct Tables {
    k: [u64; LAYERS],
    w: [f64; LAYERS],
    f: [f64; LAYERS],
}

impl Tables {
    fn build() -> Tables {
        // Right edges from the tail inwards: x_{j+1} = pdf⁻¹(pdf(x_j) + V / x_j).
        let mut x = [0.0f64; LAYERS];
        x[LAYERS - 1] = R;
        for i in (1..LAYERS - 1).rev() {
            let last = x[i + 1];
            x[i] = (-2.0 * (pdf(last) + V / last).ln()).sqrt();
        }
        for (e, d) in x.iter_mut().zip(EDGE_ULPS).skip(1) {
            *e = f64::from_bits(e.to_bits().wrapping_add_signed(d));
        }
        let mut t = Tables {
            k: [0; LAYERS],
            w: [0.0; LAYERS],
            f: [0.0; LAYERS],
        };
        t.k[0] = (R * pdf(R) / V * SCALE).round_ties_even() as u64;
        t.w[0] = V / pdf(R) / SCALE;
        t.f[0] = 1.0;
        for i in 1..LAYERS {
            t.k[i] = (x[i - 1] / x[i] * SCALE).round_ties_even() as u64;
            t.w[i] = x[i] / SCALE;
            t.f[i] = pdf(x[i]);
        }
        t
    }
}

/// The tables, built on first use.
pub(super) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::build)
}

/// Draws buffered at a time (a run's draws are made four streams abreast).
const BUFFER: usize = 256;

/// Draws `skip + out.len()` standard normal values from `g`, in the stream's order, and
/// writes `f(value)` for all but the first `skip`; `g` ends just after the last draw
/// taken.
#[inline(always)]
pub(super) fn standard_normals<T>(g: &mut Pcg64, skip: usize, out: &mut [T], f: impl Fn(f64) -> T) {
    let t = tables();
    let mut buf = [0u64; BUFFER];
    let total = skip + out.len();
    let mut done = 0;
    while done < total {
        // At least one draw per value: a buffer of at most the values left is never
        // drawn in vain.
        let n = (total - done).min(BUFFER);
        let start = *g;
        g.fill_u64(&mut buf[..n]);
        let mut at = 0;
        while at < n && done < total {
            let r = buf[at];
            at += 1;
            let idx = (r & 0xff) as usize;
            let r = r >> 8;
            let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff;
            // The sign bit flipped without a branch (it is a coin toss: a branch would
            // be mispredicted half the time); the same as NumPy's `x = -x`.
            let x = f64::from_bits((rabs as f64 * t.w[idx]).to_bits() ^ (r & 1) << 63);
            let v = if rabs < t.k[idx] {
                x
            } else {
                let mut rest = Rest {
                    buf: &buf[..n],
                    at: &mut at,
                    g,
                };
                match slow_path(t, &mut rest, idx, rabs, x) {
                    Some(v) => v,
                    None => continue,
                }
            };
            if done >= skip {
                out[done - skip] = f(v);
            }
            done += 1;
        }
        if at < n {
            // Draws left in the buffer: the stream stops after the last one taken.
            *g = start;
            g.advance(at as u128);
        }
    }
}

/// The draws after the fast path's: the rest of the buffer, then the generator (which
/// stands after the buffer).
struct Rest<'a> {
    buf: &'a [u64],
    at: &'a mut usize,
    g: &'a mut Pcg64,
}

impl Rest<'_> {
    fn next_f64(&mut self) -> f64 {
        let u = match self.buf.get(*self.at) {
            Some(&u) => {
                *self.at += 1;
                u
            }
            None => self.g.next_u64(),
        };
        to_unit_f64(u)
    }
}

/// The tail (layer 0) or a wedge test; `None` rejects the try.
#[cold]
#[inline(never)]
fn slow_path(t: &Tables, src: &mut Rest<'_>, idx: usize, rabs: u64, x: f64) -> Option<f64> {
    if idx == 0 {
        loop {
            // 1 - U avoids log(0), as NumPy.
            let xx = -INV_R * (-src.next_f64()).ln_1p();
            let yy = -(-src.next_f64()).ln_1p();
            if yy + yy > xx * xx {
                return Some(if (rabs >> 8) & 1 == 1 {
                    -(R + xx)
                } else {
                    R + xx
                });
            }
        }
    }
    let y = (t.f[idx - 1] - t.f[idx]) * src.next_f64() + t.f[idx];
    (y < (-0.5 * x * x).exp()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::super::pcg64::seed_state;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tables_are_a_ziggurat_of_equal_areas() {
        let t = tables();
        // x ascends, every k is the ratio of neighbouring edges and below 2**52, and
        // every layer's area is V (to rounding).
        for i in 2..LAYERS {
            assert!(t.w[i] > t.w[i - 1] && t.f[i] < t.f[i - 1]);
            assert!(t.k[i] < 1 << 52);
            let area = t.w[i] * SCALE * (t.f[i - 1] - t.f[i]);
            assert!((area - V).abs() < 1e-12 * V.max(area), "layer {i}: {area}");
        }
        assert_eq!(t.k[1], 0);
        assert_eq!(t.w[LAYERS - 1] * SCALE, R);
    }

    fn numpy_normals(seed: u64, n: usize) -> Vec<f64> {
        let mut g = Pcg64::new(seed_state(&[seed as u32], 4));
        let mut out = vec![0.0; n];
        standard_normals(&mut g, 0, &mut out, |z| z);
        out
    }

    #[test]
    fn draws_match_numpy() {
        // Generator(PCG64(SeedSequence(0))).standard_normal(4), as float.hex().
        let want = [
            "0x1.017ed89db8441p-3",
            "-0x1.0e8cfe9bd45ccp-3",
            "0x1.47e57a468b06dp-1",
            "0x1.adabbec84d4f0p-4",
        ];
        let got = numpy_normals(0, 4);
        for (g, w) in got.iter().zip(want) {
            assert_eq!(hex(*g), w);
        }
        // The same stream's largest values (from the tail: |x| > R) in 10**6 draws, at
        // NumPy's indices 36758, 693920, 915710, and the wrapping sum of all the values'
        // bits (every layer, wedge and tail path is taken thousands of times: a table
        // entry off by one ulp changes it), `v.view(uint64).sum(dtype=uint64)`.
        let got = numpy_normals(0, 1_000_000);
        assert_eq!(hex(got[36758]), "0x1.2ed8650fafb3cp2");
        assert_eq!(hex(got[693_920]), "-0x1.2b8275b9254dfp2");
        assert_eq!(hex(got[915_710]), "0x1.2a06989ef411cp2");
        let bits = got.iter().fold(0u64, |a, v| a.wrapping_add(v.to_bits()));
        assert_eq!(bits, 0xcd92_849b_8590_efc2);
    }

    proptest! {
        /// Drawing in pieces (with skips) gives the values of one run, and leaves the
        /// generator where the run leaves it.
        #[test]
        fn pieces_and_skips_continue_the_stream(
            seed in any::<u64>(),
            pieces in prop::collection::vec((0usize..40, 0usize..700), 1..8),
        ) {
            let total: usize = pieces.iter().map(|(s, n)| s + n).sum();
            let mut whole = Pcg64::new(seed_state(&[seed as u32, (seed >> 32) as u32], 4));
            let mut want = vec![0.0; total];
            standard_normals(&mut whole, 0, &mut want, |z| z);
            let mut g = Pcg64::new(seed_state(&[seed as u32, (seed >> 32) as u32], 4));
            let mut at = 0;
            for (skip, n) in pieces {
                let mut got = vec![0.0; n];
                standard_normals(&mut g, skip, &mut got, |z| z);
                at += skip;
                for (a, b) in got.iter().zip(&want[at..at + n]) {
                    prop_assert_eq!(a.to_bits(), b.to_bits());
                }
                at += n;
            }
            prop_assert_eq!(g, whole);
        }
    }

    /// `float.hex` of a finite double.
    fn hex(v: f64) -> String {
        let bits = v.to_bits();
        let sign = if bits >> 63 == 1 { "-" } else { "" };
        let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
        format!("{sign}0x1.{:013x}p{exp}", bits & ((1 << 52) - 1))
    }
}
