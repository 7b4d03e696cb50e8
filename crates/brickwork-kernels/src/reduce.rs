//! Reductions as three steps: fold tiles into a partial [`State`] (per chunk), combine
//! partial states (the tree), finalize a state into the result dtype.
//!
//! Sums are accumulated in int64 / uint64 / float64 whatever the input (float32 sums
//! are more accurate than NumPy's float32 pairwise sums); a row reduced to one value is
//! summed pairwise, and variances use Welford's update within a chunk and Chan's merge
//! between chunks, with the mean kept as a double-double so that data far from zero
//! keeps its small deviations exact.

use crate::cast::Num;
use crate::program::Sink;
use crate::{with_tile, Tile, TileRef};
use brickwork_core::{DType, Error, Result};
use serde::{Deserialize, Serialize};

/// A reduction operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Reducer {
    Sum,
    Prod,
    NanSum,
    NanProd,
    Min,
    Max,
    NanMin,
    NanMax,
    Mean,
    NanMean,
    Var { ddof: u32 },
    NanVar { ddof: u32 },
    Std { ddof: u32 },
    NanStd { ddof: u32 },
    Any,
    All,
    ArgMin,
    ArgMax,
}

impl Reducer {
    /// The reducer named `name` (NumPy's function name); `ddof` is used by var / std.
    pub fn from_name(name: &str, ddof: u32) -> Result<Reducer> {
        use Reducer::*;
        Ok(match name {
            "sum" => Sum,
            "prod" => Prod,
            "nansum" => NanSum,
            "nanprod" => NanProd,
            "min" => Min,
            "max" => Max,
            "nanmin" => NanMin,
            "nanmax" => NanMax,
            "mean" => Mean,
            "nanmean" => NanMean,
            "var" => Var { ddof },
            "nanvar" => NanVar { ddof },
            "std" => Std { ddof },
            "nanstd" => NanStd { ddof },
            "any" => Any,
            "all" => All,
            "argmin" => ArgMin,
            "argmax" => ArgMax,
            _ => {
                return Err(Error::Value(format!(
                    "unknown reduction {name:?}: expected one of sum, prod, mean, min, max, \
                     var, std, any, all, argmin, argmax, nansum, nanprod, nanmean, nanmin, \
                     nanmax, nanvar, nanstd"
                )))
            }
        })
    }

    /// NumPy's function name.
    pub fn name(self) -> &'static str {
        use Reducer::*;
        match self {
            Sum => "sum",
            Prod => "prod",
            NanSum => "nansum",
            NanProd => "nanprod",
            Min => "min",
            Max => "max",
            NanMin => "nanmin",
            NanMax => "nanmax",
            Mean => "mean",
            NanMean => "nanmean",
            Var { .. } => "var",
            NanVar { .. } => "nanvar",
            Std { .. } => "std",
            NanStd { .. } => "nanstd",
            Any => "any",
            All => "all",
            ArgMin => "argmin",
            ArgMax => "argmax",
        }
    }

    /// True for min / max and their nan versions, which have no identity (an empty
    /// reduction is an error).
    pub fn needs_elements(self) -> bool {
        use Reducer::*;
        matches!(self, Min | Max | NanMin | NanMax | ArgMin | ArgMax)
    }

    /// True for argmin / argmax, whose state carries element indices.
    pub fn is_arg(self) -> bool {
        matches!(self, Reducer::ArgMin | Reducer::ArgMax)
    }

    /// NumPy's dtypes for input `input` and an optional `dtype=` argument: (the dtype
    /// input tiles are cast to before folding, the result dtype).
    pub fn signature(self, input: DType, dtype: Option<DType>) -> Result<(DType, DType)> {
        use Reducer::*;
        let acc_of = |d: DType| {
            if d.is_float() {
                DType::F64
            } else if d.is_unsigned_int() {
                DType::U64
            } else {
                DType::I64
            }
        };
        let float_out = |d: DType| {
            if d == DType::F32 {
                DType::F32
            } else {
                DType::F64
            }
        };
        Ok(match self {
            Sum | Prod | NanSum | NanProd => {
                let out = dtype.unwrap_or(match input {
                    DType::Bool => DType::I64,
                    d if d.is_signed_int() => DType::I64,
                    d if d.is_unsigned_int() => DType::U64,
                    d => d,
                });
                (acc_of(out), out)
            }
            Min | Max | NanMin | NanMax | ArgMin | ArgMax => {
                if dtype.is_some() {
                    return Err(Error::Type(format!(
                        "{} does not take a dtype",
                        self.name()
                    )));
                }
                let out = if self.is_arg() { DType::I64 } else { input };
                (input, out)
            }
            Mean | NanMean | Var { .. } | NanVar { .. } | Std { .. } | NanStd { .. } => {
                let out = dtype.unwrap_or_else(|| float_out(input));
                (DType::F64, out)
            }
            Any | All => (DType::Bool, DType::Bool),
        })
    }

    fn skips_nan(self) -> bool {
        use Reducer::*;
        matches!(
            self,
            NanSum | NanProd | NanMin | NanMax | NanMean | NanVar { .. } | NanStd { .. }
        )
    }
}

/// A partial reduction result for `len` output elements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Sums, products, extrema, means (Welford) or flags, in the accumulation dtype.
    pub vals: Tile,
    /// Element counts (nan-mean, var, std).
    pub count: Vec<f64>,
    /// Sums of squared deviations (var, std).
    pub m2: Vec<f64>,
    /// Indices of the extrema (argmin, argmax); -1 before any element.
    pub idx: Vec<i64>,
    /// Neumaier compensation of float sums (sum, nansum, mean), or the low part of the
    /// double-double mean (var, std).
    pub comp: Vec<f64>,
}

/// Accumulation arithmetic of sums and products (int64 / uint64 wrap).
trait AccNum: Num {
    fn plus(self, b: Self) -> Self;
    fn times(self, b: Self) -> Self;
    fn nan(self) -> bool;
}
macro_rules! acc_int {
    ($($t:ty),*) => {$(impl AccNum for $t {
        #[inline(always)] fn plus(self, b: Self) -> Self { self.wrapping_add(b) }
        #[inline(always)] fn times(self, b: Self) -> Self { self.wrapping_mul(b) }
        #[inline(always)] fn nan(self) -> bool { false }
    })*};
}
acc_int!(i64, u64);
impl AccNum for f64 {
    #[inline(always)]
    fn plus(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    fn times(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
}

/// Elements with a total "lowest" and "highest" start value for extrema.
trait Extremum: Num {
    fn lowest() -> Self;
    fn highest() -> Self;
    #[inline(always)]
    fn nan(self) -> bool {
        false
    }
}
macro_rules! ext_int {
    ($($t:ty),*) => {$(impl Extremum for $t {
        fn lowest() -> Self { <$t>::MIN }
        fn highest() -> Self { <$t>::MAX }
    })*};
}
ext_int!(i8, i16, i32, i64, u8, u16, u32, u64);
impl Extremum for bool {
    fn lowest() -> Self {
        false
    }
    fn highest() -> Self {
        true
    }
}
macro_rules! ext_float {
    ($($t:ty),*) => {$(impl Extremum for $t {
        fn lowest() -> Self { <$t>::NEG_INFINITY }
        fn highest() -> Self { <$t>::INFINITY }
        #[inline(always)] fn nan(self) -> bool { self.is_nan() }
    })*};
}
ext_float!(f32, f64);

/// NumPy-style pairwise summation (8 partial sums in blocks of up to 128).
pub fn pairwise_sum(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 8 {
        x.iter().sum()
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        let mut chunks = x.chunks_exact(8);
        for c in &mut chunks {
            for k in 0..8 {
                r[k] += c[k];
            }
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in chunks.remainder() {
            s += v;
        }
        s
    } else {
        let half = (n / 2) / 8 * 8;
        pairwise_sum(&x[..half]) + pairwise_sum(&x[half..])
    }
}

impl State {
    /// An empty state for `len` outputs, folding tiles of `acc` dtype.
    pub fn new(reducer: Reducer, acc: DType, len: usize) -> State {
        use Reducer::*;
        let mut vals = Tile::new(acc, len);
        let ones = |v: &mut Tile| with_tile!(v, v => v.fill(Num::from_i128(1)));
        match reducer {
            Prod | NanProd | All => ones(&mut vals),
            // NaN-ignoring extrema of floats start at NaN, so an all-NaN slice stays NaN.
            NanMin | NanMax if acc.is_float() => {
                with_tile!(&mut vals, v => v.fill(Num::from_f64(f64::NAN)))
            }
            Min | NanMin | ArgMin => fill_extremes(&mut vals, true),
            Max | NanMax | ArgMax => fill_extremes(&mut vals, false),
            _ => {}
        }
        let moments = matches!(
            reducer,
            NanMean | Var { .. } | NanVar { .. } | Std { .. } | NanStd { .. }
        );
        State {
            vals,
            count: if moments { vec![0.0; len] } else { Vec::new() },
            m2: if moments { vec![0.0; len] } else { Vec::new() },
            idx: if reducer.is_arg() {
                vec![-1; len]
            } else {
                Vec::new()
            },
            // Sums: Neumaier's compensation; moments: the low part of the mean.
            comp: if matches!(
                reducer,
                Sum | NanSum | Mean | Var { .. } | NanVar { .. } | Std { .. } | NanStd { .. }
            ) && acc == DType::F64
            {
                vec![0.0; len]
            } else {
                Vec::new()
            },
        }
    }
}

fn fill_extremes(t: &mut Tile, min: bool) {
    macro_rules! arms {
        ($($v:ident),*) => {
            match t {
                $(Tile::$v(v) => v.fill(if min { Extremum::highest() } else { Extremum::lowest() }),)*
            }
        };
    }
    arms!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

/// A sink folding output tile 0 of a program into a [`State`].
///
/// Address vector 0 is the accumulator offset per block axis (0 on reduced axes);
/// for argmin / argmax, vector 1 is the element index used for ties and results.
pub struct ReduceSink<'a> {
    /// The reduction.
    pub reducer: Reducer,
    /// The state folded into.
    pub state: &'a mut State,
    /// Accumulator offset per block axis.
    pub acc_strides: Vec<isize>,
    /// Index per block axis (argmin / argmax only).
    pub index_strides: Vec<isize>,
    /// The index of the block's first element (argmin / argmax only).
    pub index_base: i64,
}

impl Sink for ReduceSink<'_> {
    fn strides(&self) -> Vec<Vec<isize>> {
        if self.reducer.is_arg() {
            vec![self.acc_strides.clone(), self.index_strides.clone()]
        } else {
            vec![self.acc_strides.clone()]
        }
    }

    fn tile(
        &mut self,
        bases: &[isize],
        steps: &[isize],
        tiles: &[TileRef],
        n: usize,
    ) -> Result<()> {
        use Reducer::*;
        let (base, step) = (bases[0] as usize, steps[0]);
        let x = tiles[0];
        let st = &mut *self.state;
        let nan = self.reducer.skips_nan();
        match self.reducer {
            Sum | NanSum | Mean => fold_sum(st, x, base, step, n, nan),
            Prod | NanProd => match (&mut st.vals, x) {
                (Tile::I64(a), TileRef::I64(x)) => fold_prod(a, &x[..n], base, step, nan),
                (Tile::U64(a), TileRef::U64(x)) => fold_prod(a, &x[..n], base, step, nan),
                (Tile::F64(a), TileRef::F64(x)) => fold_prod(a, &x[..n], base, step, nan),
                _ => Err(bad()),
            },
            Min | Max | NanMin | NanMax => {
                fold_extreme(&mut st.vals, x, base, step, n, self.reducer)
            }
            NanMean => {
                let (Tile::F64(sum), TileRef::F64(x)) = (&mut st.vals, x) else {
                    return Err(bad());
                };
                for (k, &v) in x[..n].iter().enumerate() {
                    let j = (base as isize + k as isize * step) as usize;
                    if !v.is_nan() {
                        sum[j] += v;
                        st.count[j] += 1.0;
                    }
                }
                Ok(())
            }
            Var { .. } | NanVar { .. } | Std { .. } | NanStd { .. } => {
                let (Tile::F64(mean), TileRef::F64(x)) = (&mut st.vals, x) else {
                    return Err(bad());
                };
                fold_moments(
                    mean,
                    &mut st.comp,
                    &mut st.count,
                    &mut st.m2,
                    &x[..n],
                    base,
                    step,
                    nan,
                );
                Ok(())
            }
            Any | All => {
                let (Tile::Bool(acc), TileRef::Bool(x)) = (&mut st.vals, x) else {
                    return Err(bad());
                };
                let any = self.reducer == Any;
                if step == 0 {
                    let v = if any {
                        x[..n].iter().any(|&b| b)
                    } else {
                        x[..n].iter().all(|&b| b)
                    };
                    acc[base] = if any { acc[base] | v } else { acc[base] & v };
                } else {
                    for (k, &v) in x[..n].iter().enumerate() {
                        let j = (base as isize + k as isize * step) as usize;
                        acc[j] = if any { acc[j] | v } else { acc[j] & v };
                    }
                }
                Ok(())
            }
            ArgMin | ArgMax => {
                let ibase = self.index_base + bases[1] as i64;
                let istep = steps[1] as i64;
                fold_arg(st, x, base, step, ibase, istep, n, self.reducer == ArgMax)
            }
        }
    }
}

/// Several reductions of the same blocks, output register `k` folded by sink `k`
/// (all sinks share the accumulator and index strides).
pub struct ReduceSinks<'a>(pub Vec<ReduceSink<'a>>);

impl Sink for ReduceSinks<'_> {
    fn strides(&self) -> Vec<Vec<isize>> {
        let first = &self.0[0];
        if self.0.iter().any(|s| s.reducer.is_arg()) {
            vec![first.acc_strides.clone(), first.index_strides.clone()]
        } else {
            vec![first.acc_strides.clone()]
        }
    }

    fn tile(
        &mut self,
        bases: &[isize],
        steps: &[isize],
        tiles: &[TileRef],
        n: usize,
    ) -> Result<()> {
        for (k, sink) in self.0.iter_mut().enumerate() {
            sink.tile(bases, steps, &tiles[k..k + 1], n)?;
        }
        Ok(())
    }
}

fn bad() -> Error {
    Error::Internal("reduction state and tile dtypes differ".into())
}

/// Neumaier's compensated addition of `v` to `(sum, comp)`.
#[inline(always)]
fn two_sum(sum: &mut f64, comp: &mut f64, v: f64) {
    let t = *sum + v;
    if t.is_finite() {
        *comp += if sum.abs() >= v.abs() {
            (*sum - t) + v
        } else {
            (v - t) + *sum
        };
    }
    *sum = t;
}

fn fold_sum(
    st: &mut State,
    x: TileRef,
    base: usize,
    step: isize,
    n: usize,
    nan: bool,
) -> Result<()> {
    match (&mut st.vals, x) {
        (Tile::F64(acc), TileRef::F64(x)) => {
            let x = &x[..n];
            if step == 0 {
                let v = if nan {
                    x.iter().filter(|v| !v.is_nan()).sum::<f64>()
                } else {
                    pairwise_sum(x)
                };
                two_sum(&mut acc[base], &mut st.comp[base], v);
            } else if step == 1 && !nan {
                for (a, &v) in acc[base..base + n].iter_mut().zip(x) {
                    *a += v;
                }
            } else {
                for (k, &v) in x.iter().enumerate() {
                    if !(nan && v.is_nan()) {
                        acc[(base as isize + k as isize * step) as usize] += v;
                    }
                }
            }
            Ok(())
        }
        (Tile::I64(acc), TileRef::I64(x)) => {
            fold_int(acc, &x[..n], base, step);
            Ok(())
        }
        (Tile::U64(acc), TileRef::U64(x)) => {
            fold_int(acc, &x[..n], base, step);
            Ok(())
        }
        _ => Err(bad()),
    }
}

fn fold_int<T: AccNum>(acc: &mut [T], x: &[T], base: usize, step: isize) {
    if step == 0 {
        acc[base] = x.iter().fold(acc[base], |a, &v| a.plus(v));
    } else {
        for (k, &v) in x.iter().enumerate() {
            let j = (base as isize + k as isize * step) as usize;
            acc[j] = acc[j].plus(v);
        }
    }
}

fn fold_prod<T: AccNum>(acc: &mut [T], x: &[T], base: usize, step: isize, nan: bool) -> Result<()> {
    for (k, &v) in x.iter().enumerate() {
        if !(nan && v.nan()) {
            let j = (base as isize + k as isize * step) as usize;
            acc[j] = acc[j].times(v);
        }
    }
    Ok(())
}

fn fold_extreme(
    acc: &mut Tile,
    x: TileRef,
    base: usize,
    step: isize,
    n: usize,
    r: Reducer,
) -> Result<()> {
    macro_rules! arms {
        ($($v:ident),*) => {
            match (acc, x) {
                $((Tile::$v(acc), TileRef::$v(x)) => {
                    extreme(acc, &x[..n], base, step, r);
                    Ok(())
                })*
                _ => Err(bad()),
            }
        };
    }
    arms!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

#[inline(always)]
fn pick<T: Extremum>(a: T, v: T, r: Reducer) -> T {
    use Reducer::*;
    match r {
        // NaN-propagating: once NaN, stays NaN.
        Min => {
            if v.nan() || (!a.nan() && v < a) {
                v
            } else {
                a
            }
        }
        Max => {
            if v.nan() || (!a.nan() && v > a) {
                v
            } else {
                a
            }
        }
        // NaN-ignoring: a NaN start is replaced by the first number.
        NanMin => {
            if !v.nan() && (a.nan() || v < a) {
                v
            } else {
                a
            }
        }
        _ => {
            if !v.nan() && (a.nan() || v > a) {
                v
            } else {
                a
            }
        }
    }
}

fn extreme<T: Extremum>(acc: &mut [T], x: &[T], base: usize, step: isize, r: Reducer) {
    if step == 0 {
        let mut a = acc[base];
        for &v in x {
            a = pick(a, v, r);
        }
        acc[base] = a;
    } else {
        for (k, &v) in x.iter().enumerate() {
            let j = (base as isize + k as isize * step) as usize;
            acc[j] = pick(acc[j], v, r);
        }
    }
}

/// `a + b` as an unevaluated pair `(sum, error)` (Knuth's TwoSum, exact).
#[inline(always)]
fn exact_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Adds `t` to the double-double `(hi, lo)` and renormalizes it.
#[inline(always)]
fn dd_add(hi: &mut f64, lo: &mut f64, t: f64) {
    let (s, e) = exact_sum(*hi, t);
    let l = *lo + e;
    let h = s + l;
    *lo = l - (h - s);
    *hi = h;
}

/// Folds `x` into per-output moments: `mean` (+ `mean_lo`, its low part: the mean is a
/// double-double, so data far from zero, as `1e9 + noise`, keeps its small deviations
/// exact), `count` and `m2` (sums of squared deviations, compensated).
#[allow(clippy::too_many_arguments)]
fn fold_moments(
    mean: &mut [f64],
    mean_lo: &mut [f64],
    count: &mut [f64],
    m2: &mut [f64],
    x: &[f64],
    base: usize,
    step: isize,
    nan: bool,
) {
    if step == 0 {
        // Two passes over the tile (in cache): an exact sum gives the tile's mean as a
        // double-double, then compensated squared deviations, then Chan's merge.
        let (mut c, mut s, mut e) = (0.0, 0.0, 0.0);
        for &v in x {
            if !(nan && v.is_nan()) {
                c += 1.0;
                let (t, err) = exact_sum(s, v);
                s = t;
                e += err;
            }
        }
        if c == 0.0 {
            return;
        }
        let (s, e) = exact_sum(s, e);
        let q1 = s / c;
        // The remainder s + e - q1 * c, exact through the fused multiply-add.
        let r = (-q1).mul_add(c, s) + e;
        let (mt, mt_lo) = exact_sum(q1, r / c);
        let (mut q, mut qc) = (0.0, 0.0);
        for &v in x {
            if !(nan && v.is_nan()) {
                let d = (v - mt) - mt_lo;
                two_sum(&mut q, &mut qc, d * d);
            }
        }
        merge_moments(
            &mut count[base],
            &mut mean[base],
            &mut mean_lo[base],
            &mut m2[base],
            (c, mt, mt_lo, q + qc),
        );
    } else {
        for (k, &v) in x.iter().enumerate() {
            if nan && v.is_nan() {
                continue;
            }
            let j = (base as isize + k as isize * step) as usize;
            count[j] += 1.0;
            let d = (v - mean[j]) - mean_lo[j];
            dd_add(&mut mean[j], &mut mean_lo[j], d / count[j]);
            m2[j] += d * ((v - mean[j]) - mean_lo[j]);
        }
    }
}

/// Chan et al.'s merge of the moments `b = (count, mean, mean_lo, m2)` into
/// `(c, m, m_lo, q)`; the means are double-doubles, so the difference of two means is
/// exact even when both are large.
#[inline]
fn merge_moments(c: &mut f64, m: &mut f64, m_lo: &mut f64, q: &mut f64, b: (f64, f64, f64, f64)) {
    let (cb, mb, mb_lo, qb) = b;
    if cb == 0.0 {
        return;
    }
    if *c == 0.0 {
        (*c, *m, *m_lo, *q) = (cb, mb, mb_lo, qb);
        return;
    }
    let tot = *c + cb;
    let d = (mb - *m) + (mb_lo - *m_lo);
    dd_add(m, m_lo, d * (cb / tot));
    *q += qb + d * d * (*c * cb / tot);
    *c = tot;
}

#[allow(clippy::too_many_arguments)]
fn fold_arg(
    st: &mut State,
    x: TileRef,
    base: usize,
    step: isize,
    ibase: i64,
    istep: i64,
    n: usize,
    max: bool,
) -> Result<()> {
    macro_rules! arms {
        ($($v:ident),*) => {
            match (&mut st.vals, x) {
                $((Tile::$v(acc), TileRef::$v(x)) => {
                    for (k, &v) in x[..n].iter().enumerate() {
                        let j = (base as isize + k as isize * step) as usize;
                        let i = ibase + k as i64 * istep;
                        if arg_better(v, i, acc[j], st.idx[j], max) {
                            acc[j] = v;
                            st.idx[j] = i;
                        }
                    }
                    Ok(())
                })*
                _ => Err(bad()),
            }
        };
    }
    arms!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

/// Whether candidate (v, i) beats the current (a, ai): the first NaN wins, then the
/// extreme value, then the smaller index.
#[inline(always)]
fn arg_better<T: Extremum>(v: T, i: i64, a: T, ai: i64, max: bool) -> bool {
    if ai < 0 {
        return true;
    }
    if i < 0 {
        return false;
    }
    match (v.nan(), a.nan()) {
        (true, true) => i < ai,
        (true, false) => true,
        (false, true) => false,
        _ => {
            let better = if max { v > a } else { v < a };
            better || (v == a && i < ai)
        }
    }
}

/// Merge state `b` into `a` (both for the same outputs).
pub fn combine(reducer: Reducer, a: &mut State, b: &State) -> Result<()> {
    use Reducer::*;
    match reducer {
        Sum | NanSum | Mean | Prod | NanProd => {
            let prod = matches!(reducer, Prod | NanProd);
            fn merge<T: AccNum>(a: &mut [T], b: &[T], prod: bool) {
                for (x, &y) in a.iter_mut().zip(b) {
                    *x = if prod { x.times(y) } else { x.plus(y) };
                }
            }
            match (&mut a.vals, &b.vals) {
                (Tile::I64(x), Tile::I64(y)) => merge(x, y, prod),
                (Tile::U64(x), Tile::U64(y)) => merge(x, y, prod),
                (Tile::F64(x), Tile::F64(y)) if !a.comp.is_empty() => {
                    for j in 0..x.len() {
                        two_sum(&mut x[j], &mut a.comp[j], y[j]);
                        a.comp[j] += b.comp[j];
                    }
                }
                (Tile::F64(x), Tile::F64(y)) => merge(x, y, prod),
                _ => return Err(bad()),
            }
        }
        Min | Max | NanMin | NanMax => {
            let len = b.vals.len();
            fold_extreme(&mut a.vals, b.vals.as_ref(len), 0, 1, len, reducer)?;
        }
        NanMean => {
            let (Tile::F64(s), Tile::F64(t)) = (&mut a.vals, &b.vals) else {
                return Err(bad());
            };
            for j in 0..s.len() {
                s[j] += t[j];
                a.count[j] += b.count[j];
            }
        }
        Var { .. } | NanVar { .. } | Std { .. } | NanStd { .. } => {
            let (Tile::F64(m), Tile::F64(mb)) = (&mut a.vals, &b.vals) else {
                return Err(bad());
            };
            for j in 0..m.len() {
                merge_moments(
                    &mut a.count[j],
                    &mut m[j],
                    &mut a.comp[j],
                    &mut a.m2[j],
                    (b.count[j], mb[j], b.comp[j], b.m2[j]),
                );
            }
        }
        Any | All => {
            let (Tile::Bool(s), Tile::Bool(t)) = (&mut a.vals, &b.vals) else {
                return Err(bad());
            };
            for (x, &y) in s.iter_mut().zip(t) {
                *x = if reducer == Any { *x | y } else { *x & y };
            }
        }
        ArgMin | ArgMax => {
            let max = reducer == ArgMax;
            macro_rules! arms {
                ($($v:ident),*) => {
                    match (&mut a.vals, &b.vals) {
                        $((Tile::$v(x), Tile::$v(y)) => {
                            for j in 0..x.len() {
                                if arg_better(y[j], b.idx[j], x[j], a.idx[j], max) {
                                    x[j] = y[j];
                                    a.idx[j] = b.idx[j];
                                }
                            }
                        })*
                        _ => return Err(bad()),
                    }
                };
            }
            arms!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
        }
    }
    Ok(())
}

/// The result of a state in dtype `out`; `n` is the number of elements reduced into
/// each output (used by mean).
pub fn finalize(reducer: Reducer, state: State, out: DType, n: f64) -> Result<Tile> {
    use Reducer::*;
    let len = state.vals.len();
    let mut state = state;
    if let Tile::F64(v) = &mut state.vals {
        for (x, &c) in v.iter_mut().zip(&state.comp) {
            if x.is_finite() {
                *x += c;
            }
        }
    }
    let mut res = Tile::new(out, len);
    match reducer {
        Sum | Prod | NanSum | NanProd | Min | Max | NanMin | NanMax | Any | All => {
            crate::elementwise::cast(state.vals.as_ref(len), &mut res, len);
        }
        Mean | NanMean => {
            let Tile::F64(s) = &state.vals else {
                return Err(bad());
            };
            let m: Vec<f64> = if reducer == Mean {
                s.iter().map(|&v| v / n).collect()
            } else {
                s.iter().zip(&state.count).map(|(&v, &c)| v / c).collect()
            };
            crate::elementwise::cast(TileRef::F64(&m), &mut res, len);
        }
        Var { ddof } | NanVar { ddof } | Std { ddof } | NanStd { ddof } => {
            let root = matches!(reducer, Std { .. } | NanStd { .. });
            let v: Vec<f64> = state
                .m2
                .iter()
                .zip(&state.count)
                .map(|(&q, &c)| {
                    let dof = c - ddof as f64;
                    // NumPy: var divides by max(dof, 0); nanvar gives NaN when dof <= 0.
                    let var = if dof <= 0.0 && matches!(reducer, NanVar { .. } | NanStd { .. }) {
                        f64::NAN
                    } else {
                        q / dof.max(0.0)
                    };
                    if root {
                        var.sqrt()
                    } else {
                        var
                    }
                })
                .collect();
            crate::elementwise::cast(TileRef::F64(&v), &mut res, len);
        }
        ArgMin | ArgMax => {
            let Tile::I64(r) = &mut res else {
                return Err(bad());
            };
            r.copy_from_slice(&state.idx);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_is_exact_on_integers() {
        let x: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&x), 499500.0);
    }

    #[test]
    fn chan_merge_equals_direct_variance() {
        let xs = [1.0, 2.0, 4.0, 7.0, 11.0];
        let mut a = State::new(Reducer::Var { ddof: 0 }, DType::F64, 1);
        let Tile::F64(m) = &mut a.vals else {
            unreachable!()
        };
        fold_moments(
            m,
            &mut a.comp,
            &mut a.count,
            &mut a.m2,
            &xs[..2],
            0,
            0,
            false,
        );
        // b: Welford's update one element at a time.
        let mut b = State::new(Reducer::Var { ddof: 0 }, DType::F64, 1);
        let Tile::F64(m) = &mut b.vals else {
            unreachable!()
        };
        for &v in &xs[2..] {
            fold_moments(m, &mut b.comp, &mut b.count, &mut b.m2, &[v], 0, 1, false);
        }
        combine(Reducer::Var { ddof: 0 }, &mut a, &b).unwrap();
        let Tile::F64(v) = finalize(Reducer::Var { ddof: 0 }, a, DType::F64, 5.0).unwrap() else {
            unreachable!()
        };
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((v[0] - var).abs() < 1e-12);
    }

    /// Variance of `xs` folded in the given tiles (whole-tile folds, then Chan's merge).
    fn chunked_var(tiles: &[&[f64]], ddof: u32) -> f64 {
        let r = Reducer::Var { ddof };
        let mut total = State::new(r, DType::F64, 1);
        for t in tiles {
            let mut s = State::new(r, DType::F64, 1);
            let Tile::F64(m) = &mut s.vals else {
                unreachable!()
            };
            fold_moments(m, &mut s.comp, &mut s.count, &mut s.m2, t, 0, 0, false);
            combine(r, &mut total, &s).unwrap();
        }
        let Tile::F64(v) = finalize(r, total, DType::F64, 0.0).unwrap() else {
            unreachable!()
        };
        v[0]
    }

    #[test]
    fn variance_of_large_offset_data_is_exact_across_chunks() {
        // int64 [2^31, 2^31, 2^31 + 1, 2^31] in chunks (3, 1): the variance is exactly 0.25.
        let b = 2f64.powi(31);
        assert_eq!(chunked_var(&[&[b, b, b + 1.0], &[b]], 1), 0.25);
        // 1e9 + small deviations: the same variance as the deviations alone.
        let dev: Vec<f64> = (0..3000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let big: Vec<f64> = dev.iter().map(|d| 1e9 + d).collect();
        let tiles: Vec<&[f64]> = big.chunks(7).collect();
        let mean = dev.iter().sum::<f64>() / dev.len() as f64;
        let exact = dev.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / dev.len() as f64;
        let got = chunked_var(&tiles, 0);
        // The deviations themselves carry 1e9's rounding (ulp 1.2e-7): compare to the
        // variance of the values as stored.
        let stored: Vec<f64> = big.iter().map(|v| v - 1e9).collect();
        let sm = stored.iter().sum::<f64>() / stored.len() as f64;
        let want = stored.iter().map(|d| (d - sm).powi(2)).sum::<f64>() / stored.len() as f64;
        assert!(
            (got - want).abs() / want < 1e-14,
            "{got} vs {want} (exact deviations {exact})"
        );
    }

    proptest::proptest! {
        /// Integer data far from zero, cut into arbitrary tiles: the variance is the
        /// exact rational `(n * sum(x^2) - sum(x)^2) / (n * (n - ddof))`, rounded once.
        #[test]
        fn variance_matches_the_exact_rational_value(
            offset in proptest::prop_oneof![
                proptest::strategy::Just(0i64),
                proptest::strategy::Just(1i64 << 31),
                proptest::strategy::Just(-(1i64 << 40)),
                proptest::strategy::Just(1_000_000_007i64),
            ],
            devs in proptest::collection::vec(-1000i64..1000, 2..200),
            cuts in proptest::collection::vec(1usize..17, 1..40),
            ddof in 0u32..2,
        ) {
            let xs: Vec<f64> = devs.iter().map(|d| (offset + d) as f64).collect();
            let mut tiles: Vec<&[f64]> = Vec::new();
            let (mut start, mut k) = (0, 0);
            while start < xs.len() {
                let end = (start + cuts[k % cuts.len()]).min(xs.len());
                tiles.push(&xs[start..end]);
                start = end;
                k += 1;
            }
            let n = devs.len() as i128;
            let s: i128 = devs.iter().map(|&d| d as i128).sum();
            let q: i128 = devs.iter().map(|&d| (d as i128) * (d as i128)).sum();
            let exact = (n * q - s * s) as f64 / (n * (n - ddof as i128)) as f64;
            let got = chunked_var(&tiles, ddof);
            proptest::prop_assert!(
                (got - exact).abs() <= 1e-13 * exact.abs().max(1e-300),
                "{} vs {}", got, exact
            );
        }
    }

    #[test]
    fn argmax_prefers_first_nan_then_first_max() {
        assert!(arg_better(f64::NAN, 5, 3.0, 1, true));
        assert!(!arg_better(3.0, 5, 3.0, 1, true));
        assert!(arg_better(3.0, 0, 3.0, 1, true));
    }
}
