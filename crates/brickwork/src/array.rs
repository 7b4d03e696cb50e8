//! The Rust user API: [`Array`], a lazy chunked array.

use crate::ComputeOptions;
use brickwork_core::{Buffer, ChunkSpec, Chunks, DType, Element, Error, Result, ScalarKind};
use brickwork_exec::{OutputBuffer, Progress};
use brickwork_graph::{self as graph, Expr, Operand};
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::{BinaryOp, UnaryOp};
use ndarray::{ArrayD, IxDyn};

/// A lazy N-d array cut into chunks. Cheap to clone; does nothing until computed.
#[derive(Debug, Clone)]
#[must_use = "an Array does nothing until it is computed"]
pub struct Array {
    expr: Expr,
}

fn chunks_for(shape: &[usize], chunks: &[usize], itemsize: usize) -> Result<Chunks> {
    let specs: Vec<ChunkSpec> = if chunks.len() == 1 && shape.len() != 1 {
        vec![ChunkSpec::Size(chunks[0]); shape.len()]
    } else {
        chunks.iter().map(|&c| ChunkSpec::Size(c)).collect()
    };
    Chunks::from_specs(&specs, shape, itemsize, brickwork_core::DEFAULT_CHUNK_BYTES)
}

impl Array {
    /// Wrap an expression.
    pub fn from_expr(expr: Expr) -> Array {
        Array { expr }
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// An array over `data` (taken without a copy when it is in standard layout),
    /// cut into chunks of `chunks` elements per axis (one entry: every axis).
    pub fn from_ndarray<T: Element>(data: ArrayD<T>, chunks: &[usize]) -> Result<Array> {
        let shape = data.shape().to_vec();
        let data = if data.is_standard_layout() {
            data
        } else {
            data.as_standard_layout().into_owned()
        };
        let (vec, offset) = data.into_raw_vec_and_offset();
        let grid = chunks_for(&shape, chunks, T::DTYPE.itemsize())?;
        let strides = brickwork_core::c_strides(&shape);
        let expr = graph::from_buffer(
            Buffer::from_vec(vec),
            &shape,
            &strides,
            offset.unwrap_or(0) as isize,
            grid,
        )?;
        Ok(Array { expr })
    }

    /// An array of `shape` filled with `value` (a Python-like scalar) as `dtype`.
    pub fn full(
        shape: &[usize],
        value: ScalarKind,
        dtype: DType,
        chunks: &[usize],
    ) -> Result<Array> {
        let grid = chunks_for(shape, chunks, dtype.itemsize())?;
        Ok(Array {
            expr: graph::full(value.to_scalar(dtype)?, grid),
        })
    }

    /// Zeros of `dtype`.
    pub fn zeros(shape: &[usize], dtype: DType, chunks: &[usize]) -> Result<Array> {
        Array::full(shape, ScalarKind::Int(0), dtype, chunks)
    }

    /// `0, 1, ..., n - 1` as int64.
    pub fn arange(n: usize, chunks: usize) -> Result<Array> {
        let grid = chunks_for(&[n], &[chunks], 8)?;
        let expr = graph::arange(ScalarKind::Int(0), ScalarKind::Int(1), n, DType::I64, grid)?;
        Ok(Array { expr })
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.expr.shape()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.expr.dtype()
    }

    /// The chunk grid.
    pub fn chunks(&self) -> &Chunks {
        self.expr.chunks()
    }

    /// An elementwise function.
    pub fn unary(&self, op: UnaryOp) -> Result<Array> {
        Ok(Array {
            expr: graph::unary(op, &self.expr)?,
        })
    }

    /// An elementwise function of two arrays (NumPy broadcasting and promotion).
    pub fn binary(&self, op: BinaryOp, other: &Array) -> Result<Array> {
        let e = graph::binary(
            op,
            &Operand::Array(self.expr.clone()),
            &Operand::Array(other.expr.clone()),
        )?;
        Ok(Array { expr: e })
    }

    /// An elementwise function of the array and a scalar on the right.
    pub fn binary_scalar(&self, op: BinaryOp, value: ScalarKind) -> Result<Array> {
        let e = graph::binary(
            op,
            &Operand::Array(self.expr.clone()),
            &Operand::Scalar(value),
        )?;
        Ok(Array { expr: e })
    }

    /// `self + other`.
    pub fn add(&self, other: &Array) -> Result<Array> {
        self.binary(BinaryOp::Add, other)
    }

    /// `self * other`.
    pub fn mul(&self, other: &Array) -> Result<Array> {
        self.binary(BinaryOp::Multiply, other)
    }

    /// Square root.
    pub fn sqrt(&self) -> Result<Array> {
        self.unary(UnaryOp::Sqrt)
    }

    /// A reduction over `axes` (None: all), dropping the reduced axes.
    pub fn reduce(&self, reducer: Reducer, axes: Option<&[i64]>) -> Result<Array> {
        Ok(Array {
            expr: graph::reduce(&self.expr, reducer, axes, false, None, None)?,
        })
    }

    /// The sum over `axes`.
    pub fn sum(&self, axes: Option<&[i64]>) -> Result<Array> {
        self.reduce(Reducer::Sum, axes)
    }

    /// The mean over `axes`.
    pub fn mean(&self, axes: Option<&[i64]>) -> Result<Array> {
        self.reduce(Reducer::Mean, axes)
    }

    /// Compute with [`ComputeOptions::default`] (all cores, a budget of three quarters
    /// of the physical memory) and return the result as an `ndarray` of `T` (which
    /// must be the array's dtype).
    pub fn compute<T: Element>(&self) -> Result<ArrayD<T>> {
        let out = compute_many(
            std::slice::from_ref(self),
            &ComputeOptions::default(),
            &mut |_| {},
        )?;
        into_ndarray(out.into_iter().next().expect("one output"))
    }
}

/// Compute several arrays in one task graph (shared work runs once) with `options`
/// (budget checked and held, intermediates spilled when they do not fit), reporting
/// progress to `progress`.
pub fn compute_many(
    arrays: &[Array],
    options: &ComputeOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<OutputBuffer>> {
    let exprs: Vec<Expr> = arrays.iter().map(|a| a.expr.clone()).collect();
    crate::compute::compute(&exprs, options, Vec::new(), &mut |p| {
        progress(p);
        false
    })
}

fn into_ndarray<T: Element>(out: OutputBuffer) -> Result<ArrayD<T>> {
    let dtype = out.data.dtype();
    let vec: Vec<T> = brickwork_kernels::with_tile!(out.data, v => {
        let any: Box<dyn std::any::Any> = Box::new(v);
        *any.downcast::<Vec<T>>().map_err(|_| Error::Type(format!(
            "the array has dtype {dtype}, not {}", T::DTYPE)))?
    });
    ArrayD::from_shape_vec(IxDyn(&out.shape), vec).map_err(|e| Error::Internal(e.to_string()))
}
