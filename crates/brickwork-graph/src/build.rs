//! Building expressions: every constructor validates its operands and computes the
//! result's shape, dtype and chunks, so bad input fails here, before any compute.

use crate::expr::{Expr, Op, ReduceSpec, Source};
use crate::view::{AxisCoord, View};
use brickwork_core::{
    bail, ensure, fmt_shape, normalize_axis, AxisChunks, Buffer, Chunks, DType, Error, Result,
    Scalar, ScalarKind,
};
use brickwork_kernels::program::{check_view, Generator};
use brickwork_kernels::random::{Dist, RandomSpec};
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::{BinaryOp, UnaryOp};

/// The default fan-in of reduction trees.
pub const DEFAULT_SPLIT_EVERY: usize = 16;

/// An operand of an elementwise operation: an array or a weakly typed Python scalar.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A lazy array.
    Array(Expr),
    /// A Python bool / int / float (NEP 50 weak promotion).
    Scalar(ScalarKind),
}

/// One entry of a basic index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Index {
    /// An integer (negative counts from the end); removes the axis.
    Int(i64),
    /// A slice with Python's semantics.
    Slice {
        /// Start (None: from the beginning, or the end for negative steps).
        start: Option<i64>,
        /// Stop (exclusive).
        stop: Option<i64>,
        /// Step (nonzero).
        step: i64,
    },
    /// `None`: a new axis of length 1.
    NewAxis,
}

/// An array read in place from memory: `buffer` with `shape`, element `strides` and the
/// `offset` of element 0, cut into `chunks`.
pub fn from_buffer(
    buffer: Buffer,
    shape: &[usize],
    strides: &[isize],
    offset: isize,
    chunks: Chunks,
) -> Result<Expr> {
    ensure!(
        chunks.shape() == shape,
        Chunks,
        "chunks of shape {} do not match the array shape {}",
        fmt_shape(&chunks.shape()),
        fmt_shape(shape)
    );
    ensure!(
        strides.len() == shape.len(),
        Value,
        "{} strides for {} axes",
        strides.len(),
        shape.len()
    );
    check_view(offset, strides, shape, buffer.len())?;
    let dtype = buffer.dtype();
    let source = Source {
        buffer,
        offset,
        strides: strides.to_vec(),
    };
    Ok(Expr::new(Op::Source(source), vec![], dtype, chunks))
}

/// An array on storage (e.g. a Zarr array) cut into `chunks`; nothing is read until a
/// task needs a region.
pub fn from_source(
    source: std::sync::Arc<dyn brickwork_kernels::io::BlockSource>,
    chunks: Chunks,
) -> Result<Expr> {
    ensure!(
        chunks.shape() == source.shape(),
        Chunks,
        "chunks of shape {} do not match the stored array's shape {}",
        fmt_shape(&chunks.shape()),
        fmt_shape(&source.shape())
    );
    let dtype = source.dtype();
    Ok(Expr::new(Op::Stored(source), vec![], dtype, chunks))
}

/// An array of `chunks.shape()` with every element `value`.
pub fn full(value: Scalar, chunks: Chunks) -> Expr {
    Expr::new(Op::Full(value), vec![], value.dtype, chunks)
}

/// `num` elements `start + i * step` of `dtype` (NumPy's arange after the length is
/// known; the increment is `(start + step) - start` as NumPy computes it).
pub fn arange(
    start: ScalarKind,
    step: ScalarKind,
    num: usize,
    dtype: DType,
    chunks: Chunks,
) -> Result<Expr> {
    ensure!(
        chunks.shape() == [num],
        Chunks,
        "arange of {num} elements with chunks of shape {}",
        fmt_shape(&chunks.shape())
    );
    let (start, step) = if dtype.is_float() {
        let s = kind_f64(start);
        let d = (s + kind_f64(step)) - s;
        (
            Scalar {
                dtype,
                value: brickwork_core::scalar::ScalarValue::Float(s),
            },
            Scalar {
                dtype,
                value: brickwork_core::scalar::ScalarValue::Float(d),
            },
        )
    } else {
        let as_int = |k: ScalarKind| match k {
            ScalarKind::Bool(b) => Ok(b as i128),
            ScalarKind::Int(i) => Ok(i),
            ScalarKind::Float(f) if f.fract() == 0.0 => Ok(f as i128),
            ScalarKind::Float(f) => Err(Error::Type(format!(
                "arange with a non-integer value {f} for dtype {dtype}"
            ))),
        };
        (
            Scalar {
                dtype,
                value: brickwork_core::scalar::ScalarValue::Int(as_int(start)?),
            },
            Scalar {
                dtype,
                value: brickwork_core::scalar::ScalarValue::Int(as_int(step)?),
            },
        )
    };
    Ok(Expr::new(
        Op::Generate(Generator::Arange { start, step }),
        vec![],
        dtype,
        chunks,
    ))
}

fn kind_f64(k: ScalarKind) -> f64 {
    match k {
        ScalarKind::Bool(b) => b as u8 as f64,
        ScalarKind::Int(i) => i as f64,
        ScalarKind::Float(f) => f,
    }
}

/// A random array of `chunks` whose block `i` (C order of the block grid) is drawn by
/// NumPy's `Generator(PCG64(SeedSequence(entropy, spawn_key + (i,), pool_size)))`;
/// `entropy` holds the call's assembled words (see [`RandomSpec`]). float32 for
/// [`Dist::Random32`], else float64.
pub fn random(entropy: Vec<u32>, pool_size: usize, dist: Dist, chunks: Chunks) -> Result<Expr> {
    let shape = chunks.shape();
    let bounds = chunks
        .0
        .iter()
        .map(|axis| {
            let mut b = vec![0];
            for s in axis.sizes() {
                b.push(b.last().copied().unwrap_or(0) + s);
            }
            b
        })
        .collect();
    let spec = RandomSpec::new(entropy, pool_size, shape, bounds, dist)?;
    let dtype = if dist == Dist::Random32 {
        DType::F32
    } else {
        DType::F64
    };
    Ok(Expr::new(
        Op::Generate(Generator::Random(std::sync::Arc::new(spec))),
        vec![],
        dtype,
        chunks,
    ))
}

/// NumPy's `linspace(start, stop, num, endpoint)` in `dtype`.
pub fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    dtype: DType,
    chunks: Chunks,
) -> Result<Expr> {
    ensure!(
        chunks.shape() == [num],
        Chunks,
        "linspace of {num} elements with chunks of shape {}",
        fmt_shape(&chunks.shape())
    );
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let step = if div > 0 {
        (stop - start) / div as f64
    } else {
        f64::NAN
    };
    Ok(Expr::new(
        Op::Generate(Generator::Linspace {
            start,
            step: if div > 0 { step } else { 0.0 },
            stop,
            num,
            endpoint,
        }),
        vec![],
        dtype,
        chunks,
    ))
}

/// `x` converted to `dtype` (NumPy's unsafe casting).
pub fn astype(x: &Expr, dtype: DType) -> Expr {
    if x.dtype() == dtype {
        return x.clone();
    }
    Expr::new(Op::Cast, vec![x.clone()], dtype, x.chunks().clone())
}

/// An elementwise function of one array.
pub fn unary(op: UnaryOp, x: &Expr) -> Result<Expr> {
    let (compute, out) = op.signature(x.dtype())?;
    let input = astype(x, compute);
    Ok(Expr::new(
        Op::Unary(op),
        vec![input],
        out,
        x.chunks().clone(),
    ))
}

/// NumPy's broadcast shape of several shapes.
pub fn broadcast_shapes(shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
    let ndim = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; ndim];
    for s in shapes {
        for (i, &n) in s.iter().enumerate() {
            let o = &mut out[ndim - s.len() + i];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                let list: Vec<String> = shapes.iter().map(|s| fmt_shape(s)).collect();
                bail!(
                    ShapeMismatch,
                    "operands could not be broadcast together with shapes {}",
                    list.join(" ")
                );
            }
        }
    }
    Ok(out)
}

/// The chunks of a broadcast result: on each axis, the common refinement of the chunks
/// of the operands that are not broadcast along it.
fn broadcast_chunks(arrays: &[&Expr], shape: &[usize]) -> Chunks {
    let ndim = shape.len();
    let axes = (0..ndim)
        .map(|k| {
            let mut acc: Option<AxisChunks> = None;
            for x in arrays {
                let off = ndim - x.ndim();
                if k < off || x.shape()[k - off] != shape[k] {
                    continue;
                }
                let c = &x.chunks().0[k - off];
                acc = Some(match acc {
                    None => c.clone(),
                    Some(a) => a.refine(c),
                });
            }
            acc.unwrap_or_else(|| AxisChunks::regular(shape[k], shape[k]))
        })
        .collect();
    Chunks(axes)
}

/// `x` viewed with `shape` and `chunks` (NumPy broadcasting; `chunks` must refine x's).
fn broadcast_view(x: &Expr, shape: &[usize], chunks: &Chunks) -> Expr {
    if x.shape() == shape && x.chunks() == chunks {
        return x.clone();
    }
    let off = shape.len() - x.ndim();
    let coords = x
        .shape()
        .iter()
        .enumerate()
        .map(|(a, &n)| {
            if n == 1 && shape[a + off] != 1 {
                AxisCoord {
                    from: None,
                    start: 0,
                    step: 0,
                }
            } else {
                AxisCoord {
                    from: Some(a + off),
                    start: 0,
                    step: 1,
                }
            }
        })
        .collect();
    Expr::new(
        Op::View(View { coords }),
        vec![x.clone()],
        x.dtype(),
        chunks.clone(),
    )
}

/// `x` broadcast to `shape` as `numpy.broadcast_to`.
pub fn broadcast_to(x: &Expr, shape: &[usize]) -> Result<Expr> {
    let xs = x.shape();
    let ok = xs.len() <= shape.len()
        && xs
            .iter()
            .enumerate()
            .all(|(a, &n)| n == 1 || n == shape[shape.len() - xs.len() + a]);
    ensure!(
        ok,
        ShapeMismatch,
        "cannot broadcast an array of shape {} to shape {}",
        fmt_shape(&xs),
        fmt_shape(shape)
    );
    let chunks = broadcast_chunks(&[x], shape);
    Ok(broadcast_view(x, shape, &chunks))
}

fn operand_dtypes(ops: &[&Operand]) -> Result<DType> {
    let arrays: Vec<DType> = ops
        .iter()
        .filter_map(|o| match o {
            Operand::Array(e) => Some(e.dtype()),
            _ => None,
        })
        .collect();
    let mut d = match arrays.split_first() {
        Some((&first, rest)) => rest.iter().fold(first, |a, &b| DType::promote(a, b)),
        None => bail!(Type, "at least one operand must be an array"),
    };
    for o in ops {
        if let Operand::Scalar(k) = o {
            d = k.promote_with(d);
        }
    }
    Ok(d)
}

/// Turn operands into arrays of `dtype` with a common shape and chunking.
fn align(ops: &[&Operand], dtype: DType) -> Result<Vec<Expr>> {
    let arrays: Vec<&Expr> = ops
        .iter()
        .filter_map(|o| match o {
            Operand::Array(e) => Some(e),
            _ => None,
        })
        .collect();
    let shape = broadcast_shapes(&arrays.iter().map(|e| e.shape()).collect::<Vec<_>>())?;
    let chunks = broadcast_chunks(&arrays, &shape);
    ops.iter()
        .map(|o| {
            Ok(match o {
                Operand::Array(e) => broadcast_view(&astype(e, dtype), &shape, &chunks),
                Operand::Scalar(k) => {
                    let s = k.to_scalar(dtype)?;
                    full(s, chunks.clone())
                }
            })
        })
        .collect()
}

fn check_scalar_fits(ops: &[&Operand], common: DType) -> Result<()> {
    for o in ops {
        if let Operand::Scalar(k) = o {
            k.to_scalar(common)?;
        }
    }
    Ok(())
}

/// NumPy's fast paths for a float array to a scalar power: `x ** 2` is `square(x)`,
/// `x ** 0.5` is `sqrt(x)`, `x ** 1` is `x` and `x ** -1` is `reciprocal(x)`.
fn scalar_power(a: &Operand, b: &Operand) -> Result<Option<Expr>> {
    let (Operand::Array(x), Operand::Scalar(k)) = (a, b) else {
        return Ok(None);
    };
    let d = k.promote_with(x.dtype());
    if !d.is_float() {
        return Ok(None);
    }
    let e = match k {
        ScalarKind::Int(i) => *i as f64,
        ScalarKind::Float(f) => *f,
        ScalarKind::Bool(_) => return Ok(None),
    };
    let x = astype(x, d);
    Ok(match e {
        2.0 => Some(unary(UnaryOp::Square, &x)?),
        0.5 => Some(unary(UnaryOp::Sqrt, &x)?),
        1.0 => Some(x),
        -1.0 => Some(unary(UnaryOp::Reciprocal, &x)?),
        _ => None,
    })
}

/// A comparison of an integer array with a Python int outside its dtype's range has
/// the same answer for every element (NumPy compares exactly): that constant array.
fn out_of_range_comparison(op: BinaryOp, a: &Operand, b: &Operand, common: DType) -> Option<Expr> {
    use BinaryOp::*;
    if !op.is_comparison() || !common.is_int() {
        return None;
    }
    let (array, value, scalar_first) = match (a, b) {
        (Operand::Array(x), Operand::Scalar(ScalarKind::Int(i))) => (x, *i, false),
        (Operand::Scalar(ScalarKind::Int(i)), Operand::Array(x)) => (x, *i, true),
        _ => return None,
    };
    if !array.dtype().is_int() {
        return None; // a bool array meets the int in int64: NumPy's OverflowError stands
    }
    let (lo, hi) = brickwork_core::scalar::int_range(common);
    if (lo..=hi).contains(&value) {
        return None;
    }
    // Does `element OP value` hold, for every element, when the value lies above the range?
    let above = value > hi;
    let element_first = match op {
        Less | LessEqual => above,
        Greater | GreaterEqual => !above,
        Equal => false,
        _ => true, // NotEqual
    };
    let answer = if scalar_first && !matches!(op, Equal | NotEqual) {
        !element_first
    } else {
        element_first
    };
    let scalar = ScalarKind::Bool(answer).to_scalar(DType::Bool).ok()?;
    Some(full(scalar, array.chunks().clone()))
}

/// An elementwise function of two operands, with NumPy's promotion and broadcasting.
pub fn binary(op: BinaryOp, a: &Operand, b: &Operand) -> Result<Expr> {
    if op == BinaryOp::Power {
        if let Some(e) = scalar_power(a, b)? {
            return Ok(e);
        }
    }
    let mut common = operand_dtypes(&[a, b])?;
    // A Python int must fit the dtype of the loop it is cast to, not the promoted
    // dtype: `uint8 / 300` runs the float64 loop and is fine, as in NumPy 2. A bool
    // loop (logical_and, ...) takes any int that fits int64 (uint64 beside a uint64
    // array).
    let loop_dtype = op.signature(common)?.0;
    if loop_dtype == DType::Bool {
        let wide = if common == DType::U64 {
            DType::U64
        } else {
            DType::I64
        };
        let (lo, hi) = brickwork_core::scalar::int_range(wide);
        for o in [a, b] {
            if let Operand::Scalar(ScalarKind::Int(i)) = o {
                ensure!(
                    (lo..=hi).contains(i),
                    Overflow,
                    "Python int {i} too large to convert to C long"
                );
            }
        }
    }
    if let Err(e) = check_scalar_fits(&[a, b], loop_dtype) {
        // NumPy compares integers with out-of-range Python ints exactly.
        return out_of_range_comparison(op, a, b, common).ok_or(e);
    }
    if matches!(op, BinaryOp::Arctan2 | BinaryOp::Hypot | BinaryOp::Copysign) {
        // NumPy picks the smallest float loop both operands cast to safely.
        let floats: Vec<DType> = [a, b]
            .iter()
            .filter_map(|o| match o {
                Operand::Array(e) => Some(e.dtype().float_compute()),
                _ => None,
            })
            .collect();
        let mut f = floats.iter().fold(floats[0], |x, &y| DType::promote(x, y));
        if [a, b].iter().any(|o| matches!(o, Operand::Scalar(_))) {
            // A weak scalar first meets the array dtype (bool + int is int64).
            f = DType::promote(f, common.float_compute());
        }
        common = f;
    }
    let (compute, out) = op.signature(common)?;
    let v = align(&[a, b], compute)?;
    let chunks = v[0].chunks().clone();
    Ok(Expr::new(Op::Binary(op), v, out, chunks))
}

/// `i` wrapped into the integer dtype `d` (two's complement, as a C cast).
fn wrap_int(i: i128, d: DType) -> i128 {
    let bits = 8 * d.itemsize() as u32;
    let m = i.rem_euclid(1i128 << bits);
    if d.is_signed_int() && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

/// `where(cond, a, b)`.
pub fn where_(cond: &Operand, a: &Operand, b: &Operand) -> Result<Expr> {
    let common = operand_dtypes(&[a, b]).or_else(|_| {
        // Both branches scalars: NumPy's default dtypes of the Python values.
        let da = match a {
            Operand::Scalar(k) => k.default_dtype(),
            Operand::Array(e) => e.dtype(),
        };
        let db = match b {
            Operand::Scalar(k) => k.default_dtype(),
            Operand::Array(e) => e.dtype(),
        };
        Ok::<DType, Error>(DType::promote(da, db))
    })?;
    let ensure_array = |o: &Operand, d: DType| -> Result<Operand> {
        Ok(match o {
            Operand::Scalar(k) => {
                // NumPy casts a Python int out of the integer dtype's range unsafely.
                let s = match (k, k.to_scalar(d)) {
                    (ScalarKind::Int(i), Err(Error::Overflow(_)))
                        if d.is_int() && (i64::MIN as i128..=u64::MAX as i128).contains(i) =>
                    {
                        ScalarKind::Int(wrap_int(*i, d)).to_scalar(d)?
                    }
                    (_, s) => s?,
                };
                Operand::Array(full(s, Chunks(vec![])))
            }
            Operand::Array(e) => Operand::Array(e.clone()),
        })
    };
    let (a, b) = (ensure_array(a, common)?, ensure_array(b, common)?);
    let c = match cond {
        Operand::Array(e) => Operand::Array(astype(e, DType::Bool)),
        Operand::Scalar(k) => Operand::Array(full(
            k.to_scalar(DType::Bool).unwrap_or(Scalar {
                dtype: DType::Bool,
                value: brickwork_core::scalar::ScalarValue::Int(1),
            }),
            Chunks(vec![]),
        )),
    };
    let arrays = [&c, &a, &b];
    let shapes: Vec<Vec<usize>> = arrays
        .iter()
        .map(|o| match o {
            Operand::Array(e) => e.shape(),
            _ => vec![],
        })
        .collect();
    let shape = broadcast_shapes(&shapes)?;
    let exprs: Vec<&Expr> = arrays
        .iter()
        .map(|o| match o {
            Operand::Array(e) => e,
            _ => unreachable!(),
        })
        .collect();
    let chunks = broadcast_chunks(&exprs, &shape);
    let inputs = vec![
        broadcast_view(exprs[0], &shape, &chunks),
        broadcast_view(&astype(exprs[1], common), &shape, &chunks),
        broadcast_view(&astype(exprs[2], common), &shape, &chunks),
    ];
    Ok(Expr::new(Op::Where, inputs, common, chunks))
}

/// A reduction of `x` over `axes` (None: all axes).
pub fn reduce(
    x: &Expr,
    reducer: Reducer,
    axes: Option<&[i64]>,
    keepdims: bool,
    dtype: Option<DType>,
    split_every: Option<usize>,
) -> Result<Expr> {
    let ndim = x.ndim();
    let mut red: Vec<usize> = match axes {
        None => (0..ndim).collect(),
        Some(list) => list
            .iter()
            .map(|&a| normalize_axis(a, ndim))
            .collect::<Result<_>>()?,
    };
    red.sort_unstable();
    if red.windows(2).any(|w| w[0] == w[1]) {
        bail!(
            Value,
            "duplicate value in 'axis': {:?}",
            axes.unwrap_or(&[])
        );
    }
    if reducer.is_arg() && axes.is_some() && red.len() != 1 {
        bail!(
            Value,
            "{} takes a single axis or None, got {:?}",
            reducer.name(),
            axes.unwrap_or(&[])
        );
    }
    let split_every = split_every.unwrap_or(DEFAULT_SPLIT_EVERY);
    ensure!(
        split_every >= 2,
        Value,
        "split_every must be at least 2, got {split_every}"
    );
    let (acc, out) = reducer.signature(x.dtype(), dtype)?;
    let shape = x.shape();
    let reduced: usize = red.iter().map(|&a| shape[a]).product();
    if reducer.needs_elements() && reduced == 0 {
        bail!(
            Value,
            "zero-size array to reduction operation {} which has no identity",
            reducer.name()
        );
    }
    let mut axes_out = Vec::new();
    for (a, c) in x.chunks().0.iter().enumerate() {
        if !red.contains(&a) {
            axes_out.push(c.clone());
        } else if keepdims {
            axes_out.push(AxisChunks::regular(1, 1));
        }
    }
    // Argmin over all axes of an N-d array reports flat indices: reduce the flattened
    // order, which the kernel does by indexing in C order over the whole array.
    let spec = ReduceSpec {
        reducer,
        axes: red,
        keepdims,
        acc,
        split_every,
    };
    Ok(Expr::new(
        Op::Reduce(spec),
        vec![astype(x, acc)],
        out,
        Chunks(axes_out),
    ))
}

fn axis_chunks_of_slice(c: &AxisChunks, start: i64, step: i64, len: usize) -> AxisChunks {
    if len == 0 {
        return AxisChunks::regular(1, 0);
    }
    if step == 1 {
        if let AxisChunks::Regular { size, .. } = c {
            if start as usize % size == 0 {
                return AxisChunks::regular(*size, len);
            }
        }
    }
    // Count the selected elements in each input chunk, in output order.
    let mut sizes: Vec<usize> = Vec::new();
    let mut k = 0usize;
    while k < len {
        let coord = (start + step * k as i64) as usize;
        let b = c.block_of(coord);
        let (lo, hi) = (c.offset(b) as i64, (c.offset(b) + c.size(b)) as i64 - 1);
        // Elements of this block reached from k on.
        let cur = start + step * k as i64;
        let n = if step > 0 {
            (hi - cur) / step + 1
        } else {
            (cur - lo) / (-step) + 1
        };
        let n = (n as usize).min(len - k);
        sizes.push(n);
        k += n;
    }
    AxisChunks::from_sizes(&sizes)
}

/// The arrays joined along `axis` (`numpy.concatenate`): dtypes promote, the other axes
/// must match, their chunks are unified and the joined axis keeps every input's chunks.
pub fn concatenate(xs: &[Expr], axis: i64) -> Result<Expr> {
    let Some(first) = xs.first() else {
        bail!(Value, "need at least one array to concatenate");
    };
    let ndim = first.ndim();
    ensure!(
        ndim > 0,
        Value,
        "zero-dimensional arrays cannot be concatenated"
    );
    let axis = normalize_axis(axis, ndim)?;
    let dtypes: Vec<DType> = xs.iter().map(|x| x.dtype()).collect();
    let dtype = DType::promote_all(&dtypes).expect("at least one array");
    for (i, x) in xs.iter().enumerate() {
        ensure!(
            x.ndim() == ndim,
            Value,
            "all the input arrays must have same number of dimensions, but the array at \
             index 0 has {ndim} dimension(s) and the array at index {i} has {} dimension(s)",
            x.ndim()
        );
        for a in (0..ndim).filter(|&a| a != axis) {
            ensure!(
                x.shape()[a] == first.shape()[a],
                ShapeMismatch,
                "all the input array dimensions except for the concatenation axis must match \
                 exactly, but along dimension {a}, the array at index 0 has size {} and the \
                 array at index {i} has size {}",
                first.shape()[a],
                x.shape()[a]
            );
        }
    }
    if xs.len() == 1 {
        return Ok(astype(first, dtype));
    }
    let mut axes: Vec<AxisChunks> = Vec::with_capacity(ndim);
    for a in 0..ndim {
        if a == axis {
            let sizes: Vec<usize> = xs
                .iter()
                .flat_map(|x| x.chunks().0[a].sizes())
                .filter(|&s| s > 0)
                .collect();
            axes.push(AxisChunks::from_sizes(&sizes));
        } else {
            let c = xs.iter().skip(1).fold(first.chunks().0[a].clone(), |c, x| {
                c.refine(&x.chunks().0[a])
            });
            axes.push(c);
        }
    }
    let inputs = xs
        .iter()
        .map(|x| {
            let mut grid = axes.clone();
            grid[axis] = x.chunks().0[axis].clone();
            broadcast_view(&astype(x, dtype), &x.shape(), &Chunks(grid))
        })
        .collect();
    Ok(Expr::new(Op::Concat { axis }, inputs, dtype, Chunks(axes)))
}

/// The arrays joined along a new axis (`numpy.stack`).
pub fn stack(xs: &[Expr], axis: i64) -> Result<Expr> {
    let Some(first) = xs.first() else {
        bail!(Value, "need at least one array to stack");
    };
    let ndim = first.ndim() + 1;
    let a = normalize_axis(axis, ndim)?;
    for x in xs {
        ensure!(
            x.shape() == first.shape(),
            ShapeMismatch,
            "all input arrays must have the same shape, got {} and {}",
            fmt_shape(&first.shape()),
            fmt_shape(&x.shape())
        );
    }
    let expanded = xs
        .iter()
        .map(|x| {
            let mut index: Vec<Index> = (0..x.ndim())
                .map(|_| Index::Slice {
                    start: None,
                    stop: None,
                    step: 1,
                })
                .collect();
            index.insert(a, Index::NewAxis);
            getitem(x, &index)
        })
        .collect::<Result<Vec<_>>>()?;
    concatenate(&expanded, a as i64)
}

/// `x` with a new shape, elements in C order (`numpy.reshape`); one entry of `shape`
/// may be -1. The result's chunks hold about as many bytes as `x`'s largest chunk.
pub fn reshape(x: &Expr, shape: &[i64]) -> Result<Expr> {
    let size = x.size();
    let unknown: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] == -1).collect();
    ensure!(
        unknown.len() <= 1,
        Value,
        "can only specify one unknown dimension"
    );
    if let Some(bad) = shape.iter().find(|&&n| n < -1) {
        bail!(Value, "negative dimensions not allowed, got {bad}");
    }
    // Checked: a product past usize is no shape of this array (and must not wrap).
    let known = shape
        .iter()
        .filter(|&&n| n >= 0)
        .try_fold(1usize, |acc, &n| acc.checked_mul(n as usize))
        .unwrap_or(usize::MAX);
    let mut out: Vec<usize> = shape.iter().map(|&n| n.max(0) as usize).collect();
    if let Some(&u) = unknown.first() {
        ensure!(
            known > 0 && size % known == 0,
            Value,
            "cannot reshape array of size {size} into shape {}",
            fmt_index_shape(shape)
        );
        out[u] = size / known;
    }
    ensure!(
        out.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n)) == Some(size),
        Value,
        "cannot reshape array of size {size} into shape {}",
        fmt_index_shape(shape)
    );
    if out == x.shape() {
        return Ok(x.clone());
    }
    let item = x.dtype().itemsize();
    let chunk_bytes = x.chunks().chunksize().iter().product::<usize>().max(1) * item;
    let specs = vec![brickwork_core::ChunkSpec::Auto; out.len()];
    let chunks = Chunks::from_specs(&specs, &out, item, chunk_bytes)?;
    Ok(Expr::new(Op::Reshape, vec![x.clone()], x.dtype(), chunks))
}

fn fmt_index_shape(shape: &[i64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `func` applied to matching blocks of `inputs` (`dask.array.map_blocks`). The inputs
/// are broadcast against each other and their chunks unified, as for elementwise
/// operations; the result has `chunks` (default: the unified chunks), which must have
/// the same number of blocks per axis.
pub fn map_blocks(
    func: std::sync::Arc<dyn brickwork_kernels::callback::BlockFn>,
    inputs: &[Expr],
    dtype: DType,
    chunks: Option<Chunks>,
) -> Result<Expr> {
    ensure!(
        !inputs.is_empty(),
        Value,
        "map_blocks needs at least one array"
    );
    let shape = broadcast_shapes(&inputs.iter().map(|e| e.shape()).collect::<Vec<_>>())?;
    let refs: Vec<&Expr> = inputs.iter().collect();
    let grid = broadcast_chunks(&refs, &shape);
    let aligned: Vec<Expr> = inputs
        .iter()
        .map(|e| broadcast_view(e, &shape, &grid))
        .collect();
    let out = match chunks {
        None => grid.clone(),
        Some(c) => {
            ensure!(
                c.numblocks() == grid.numblocks(),
                Chunks,
                "map_blocks chunks have {:?} blocks per axis but the inputs have {:?}: \
                 output block i is computed from input block i",
                c.numblocks(),
                grid.numblocks()
            );
            c
        }
    };
    Ok(Expr::new(Op::MapBlocks(func), aligned, dtype, out))
}

/// The cumulative sum or product along `axis` (`numpy.cumsum` / `cumprod`; `None`
/// scans the flattened array), accumulated in `dtype` or NumPy's default for the input
/// (int64 for bool and signed integers, uint64 for unsigned ones).
pub fn cumulative(
    x: &Expr,
    op: brickwork_kernels::scan::ScanOp,
    axis: Option<i64>,
    dtype: Option<DType>,
) -> Result<Expr> {
    let (x, axis) = match axis {
        None => (reshape(x, &[-1])?, 0),
        Some(a) => (x.clone(), normalize_axis(a, x.ndim())?),
    };
    let (_, out) = Reducer::Sum.signature(x.dtype(), dtype)?;
    let input = astype(&x, out);
    let chunks = input.chunks().clone();
    Ok(Expr::new(Op::Scan { op, axis }, vec![input], out, chunks))
}

/// `x` indexed along `axis` by integer `indices` (negative count from the end), as
/// `numpy.take`; the result's chunks along the axis are the input's chunk size.
pub fn take(x: &Expr, indices: &[i64], axis: i64) -> Result<Expr> {
    ensure!(
        x.ndim() > 0,
        Index,
        "cannot index a 0-dimensional array with an integer array"
    );
    let axis = normalize_axis(axis, x.ndim())?;
    let n = x.shape()[axis] as i64;
    let resolved = indices
        .iter()
        .map(|&i| {
            ensure!(
                i >= -n && i < n,
                Index,
                "index {i} is out of bounds for axis {axis} with size {n}"
            );
            Ok(if i < 0 { i + n } else { i } as usize)
        })
        .collect::<Result<Vec<usize>>>()?;
    gather(x, axis, crate::Indices::from_positions(&resolved), None)
}

/// `x` indexed along `axis` by runs of coordinates `(start, step, len)`: the same as
/// [`take`] of the runs' coordinates, built and planned in O(runs) (overlap halos).
/// `chunks`, when given, are the output's chunk sizes along `axis` (else regular).
pub fn take_runs(
    x: &Expr,
    runs: &[(usize, isize, usize)],
    axis: i64,
    chunks: Option<&[usize]>,
) -> Result<Expr> {
    ensure!(
        x.ndim() > 0,
        Index,
        "cannot index a 0-dimensional array with an integer array"
    );
    let axis = normalize_axis(axis, x.ndim())?;
    let n = x.shape()[axis];
    for &(start, step, len) in runs {
        let last = start as i128 + (len.max(1) as i128 - 1) * step as i128;
        ensure!(
            len == 0 || (start < n && (0..n as i128).contains(&last)),
            Index,
            "the run of {len} coordinates from {start} by {step} leaves axis {axis} of size {n}"
        );
    }
    let runs = runs
        .iter()
        .map(|&(start, step, len)| crate::Run { start, step, len });
    let indices = crate::Indices::from_runs(runs);
    if let Some(sizes) = chunks {
        let total: usize = sizes.iter().sum();
        ensure!(
            total == indices.len(),
            Chunks,
            "chunks {sizes:?} add up to {total}, not to the {} coordinates taken",
            indices.len()
        );
    }
    gather(x, axis, indices, chunks)
}

fn gather(
    x: &Expr,
    axis: usize,
    indices: crate::Indices,
    chunks: Option<&[usize]>,
) -> Result<Expr> {
    let mut axes = x.chunks().0.clone();
    let size = axes[axis].max_size().max(1);
    axes[axis] = match chunks {
        Some(sizes) => AxisChunks::from_sizes(sizes),
        None => AxisChunks::regular(size, indices.len()),
    };
    Ok(Expr::new(
        Op::Take {
            axis,
            indices: std::sync::Arc::new(indices),
        },
        vec![x.clone()],
        x.dtype(),
        Chunks(axes),
    ))
}

/// The matrix product of two 2-d float arrays (`numpy.matmul`). The contracted axis's
/// chunks are unified (a free view); the result has `a`'s row chunks and `b`'s column
/// chunks.
pub fn matmul(a: &Expr, b: &Expr) -> Result<Expr> {
    ensure!(
        a.ndim() == 2 && b.ndim() == 2,
        Value,
        "matmul of arrays of {} and {} dimensions is not supported yet (2-d only)",
        a.ndim(),
        b.ndim()
    );
    let (sa, sb) = (a.shape(), b.shape());
    ensure!(
        sa[1] == sb[0],
        ShapeMismatch,
        "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc \
         signature (n?,k),(k,m?)->(n?,m?) (size {} is different from {})",
        sb[0],
        sa[1]
    );
    let dtype = DType::promote(a.dtype(), b.dtype());
    ensure!(
        dtype.is_float(),
        Type,
        "matrix products of {dtype} are not supported yet (float32 and float64 are)"
    );
    let k = a.chunks().0[1].refine(&b.chunks().0[0]);
    let ga = Chunks(vec![a.chunks().0[0].clone(), k.clone()]);
    let gb = Chunks(vec![k, b.chunks().0[1].clone()]);
    let a = broadcast_view(&astype(a, dtype), &sa, &ga);
    let b = broadcast_view(&astype(b, dtype), &sb, &gb);
    let chunks = Chunks(vec![ga.0[0].clone(), gb.0[1].clone()]);
    Ok(Expr::new(Op::MatMul, vec![a, b], dtype, chunks))
}

/// `x` with new chunks (`Array.rechunk`). Every kernel reads its inputs through global
/// views, so a rechunk only changes how the work is cut into tasks: it costs no copy.
pub fn rechunk(x: &Expr, chunks: Chunks) -> Result<Expr> {
    ensure!(
        chunks.shape() == x.shape(),
        Chunks,
        "chunks of shape {} do not match the array shape {}",
        fmt_shape(&chunks.shape()),
        fmt_shape(&x.shape())
    );
    if &chunks == x.chunks() {
        return Ok(x.clone());
    }
    // A stored array decodes whole chunks: when the new blocks would decode each stored
    // chunk several times (rows to columns, say), copy it once, chunk by chunk, into an
    // intermediate array (spilled to disk if the budget requires) and cut that instead.
    let input = match x.node().op {
        Op::Stored(_) if read_amplification(x.chunks(), &chunks) >= REREAD_LIMIT => Expr::new(
            Op::Concat { axis: 0 },
            vec![x.clone()],
            x.dtype(),
            x.chunks().clone(),
        ),
        _ => x.clone(),
    };
    Ok(Expr::new(
        Op::View(View::identity(x.ndim())),
        vec![input],
        x.dtype(),
        chunks,
    ))
}

/// A rechunk of a stored array goes through an intermediate copy when its blocks would
/// decode the stored chunks this many times over.
const REREAD_LIMIT: f64 = 4.0;

/// How many times reading `new`'s blocks decodes each element of `old`'s chunks
/// (every block decodes the whole chunks it touches).
fn read_amplification(old: &Chunks, new: &Chunks) -> f64 {
    old.0
        .iter()
        .zip(&new.0)
        .map(|(o, n)| {
            if o.is_empty() {
                return 1.0;
            }
            let (old_sizes, new_sizes) = (o.sizes(), n.sizes());
            let mut decoded = 0usize;
            for (b, &size) in new_sizes.iter().enumerate().filter(|(_, &s)| s > 0) {
                let start = n.offset(b);
                let (first, last) = (o.block_of(start), o.block_of(start + size - 1));
                decoded += old_sizes[first..=last].iter().sum::<usize>();
            }
            decoded as f64 / o.len() as f64
        })
        .product()
}

/// Basic indexing with ints, slices and new axes; `index` has one entry per axis of
/// `x` plus one per new axis.
pub fn getitem(x: &Expr, index: &[Index]) -> Result<Expr> {
    let shape = x.shape();
    let consumed = index
        .iter()
        .filter(|i| !matches!(i, Index::NewAxis))
        .count();
    ensure!(
        consumed == shape.len(),
        Index,
        "too many indices for array: array is {}-dimensional, but {} were indexed",
        shape.len(),
        consumed
    );
    let mut coords = Vec::with_capacity(shape.len());
    let mut out_axes = Vec::new();
    let mut axis = 0usize;
    for ix in index {
        match *ix {
            Index::NewAxis => out_axes.push(AxisChunks::regular(1, 1)),
            Index::Int(i) => {
                let n = shape[axis] as i64;
                ensure!(
                    i >= -n && i < n,
                    Index,
                    "index {i} is out of bounds for axis {axis} with size {n}"
                );
                let i = if i < 0 { i + n } else { i };
                coords.push(AxisCoord {
                    from: None,
                    start: i,
                    step: 0,
                });
                axis += 1;
            }
            Index::Slice { start, stop, step } => {
                ensure!(step != 0, Value, "slice step cannot be zero");
                let n = shape[axis] as i64;
                let (s, len) = slice_indices(start, stop, step, n);
                let out_axis = out_axes.len();
                out_axes.push(axis_chunks_of_slice(&x.chunks().0[axis], s, step, len));
                coords.push(AxisCoord {
                    from: Some(out_axis),
                    start: s,
                    step,
                });
                axis += 1;
            }
        }
    }
    let view = View { coords };
    let chunks = Chunks(out_axes);
    if view.is_identity() && chunks == *x.chunks() {
        return Ok(x.clone());
    }
    Ok(Expr::new(
        Op::View(view),
        vec![x.clone()],
        x.dtype(),
        chunks,
    ))
}

/// Python's `slice.indices`: the first index and the number of elements.
fn slice_indices(start: Option<i64>, stop: Option<i64>, step: i64, n: i64) -> (i64, usize) {
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let norm = |v: i64| {
        if v < 0 {
            clamp(v + n, lo, hi)
        } else {
            clamp(v, lo, hi)
        }
    };
    let s = start.map(norm).unwrap_or(if step > 0 { 0 } else { n - 1 });
    let e = stop.map(norm).unwrap_or(if step > 0 { n } else { -1 });
    let len = if step > 0 {
        if e > s {
            (e - s + step - 1) / step
        } else {
            0
        }
    } else if s > e {
        (s - e + (-step) - 1) / (-step)
    } else {
        0
    };
    (s, len as usize)
}

/// Permute the axes (`None`: reverse them).
pub fn transpose(x: &Expr, axes: Option<&[i64]>) -> Result<Expr> {
    let ndim = x.ndim();
    let perm: Vec<usize> = match axes {
        None => (0..ndim).rev().collect(),
        Some(list) => {
            ensure!(
                list.len() == ndim,
                Value,
                "axes {list:?} don't match array of {ndim} dimensions"
            );
            list.iter()
                .map(|&a| normalize_axis(a, ndim))
                .collect::<Result<_>>()?
        }
    };
    let mut seen = vec![false; ndim];
    for &p in &perm {
        ensure!(
            !seen[p],
            Value,
            "repeated axis in transpose: {:?}",
            axes.unwrap_or(&[])
        );
        seen[p] = true;
    }
    let mut coords = vec![
        AxisCoord {
            from: None,
            start: 0,
            step: 1
        };
        ndim
    ];
    for (k, &p) in perm.iter().enumerate() {
        coords[p] = AxisCoord {
            from: Some(k),
            start: 0,
            step: 1,
        };
    }
    let chunks = Chunks(perm.iter().map(|&p| x.chunks().0[p].clone()).collect());
    let view = View { coords };
    if view.is_identity() {
        return Ok(x.clone());
    }
    Ok(Expr::new(
        Op::View(view),
        vec![x.clone()],
        x.dtype(),
        chunks,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_amplification_counts_whole_chunks_decoded() {
        let rows = Chunks(vec![
            AxisChunks::regular(2000, 20000),
            AxisChunks::regular(2500, 25000),
        ]);
        let cols = Chunks(vec![
            AxisChunks::regular(20000, 20000),
            AxisChunks::regular(250, 25000),
        ]);
        assert_eq!(read_amplification(&rows, &rows), 1.0);
        // Every 250-column band decodes the 2500-column chunks it crosses: 10 times.
        assert_eq!(read_amplification(&rows, &cols), 10.0);
        let merged = Chunks(vec![
            AxisChunks::regular(4000, 20000),
            AxisChunks::regular(5000, 25000),
        ]);
        assert_eq!(read_amplification(&rows, &merged), 1.0);
    }

    #[test]
    fn slice_indices_match_python() {
        assert_eq!(slice_indices(None, None, 1, 10), (0, 10));
        assert_eq!(slice_indices(Some(-3), None, 1, 10), (7, 3));
        assert_eq!(slice_indices(None, None, -1, 10), (9, 10));
        assert_eq!(slice_indices(Some(8), Some(2), -3, 10), (8, 2));
        assert_eq!(slice_indices(Some(20), None, 1, 10), (10, 0));
        assert_eq!(slice_indices(None, Some(-20), -1, 10), (9, 10));
    }

    #[test]
    fn slice_chunks_follow_input_chunks() {
        let c = AxisChunks::regular(4, 10);
        assert_eq!(axis_chunks_of_slice(&c, 1, 1, 9).sizes(), vec![3, 4, 2]);
        assert_eq!(axis_chunks_of_slice(&c, 9, -1, 10).sizes(), vec![2, 4, 4]);
        assert_eq!(axis_chunks_of_slice(&c, 0, 3, 4).sizes(), vec![2, 1, 1]);
    }

    #[test]
    fn broadcast_errors_name_the_shapes() {
        let e = broadcast_shapes(&[vec![3, 4], vec![5]]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "operands could not be broadcast together with shapes (3, 4) (5,)"
        );
    }
}
