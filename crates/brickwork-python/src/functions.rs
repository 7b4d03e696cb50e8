//! The module's functions: creation, operations, compute.

use crate::convert;
use crate::errors::{guard, to_py};
use crate::expr::PyExpr;
use brickwork::layers::graph::{self as graph, optimize, Expr, Operand};
use brickwork::{BinaryOp, UnaryOp};
use brickwork::{Buffer, Chunks, ComputeOptions, DType, Error, Progress, Reducer, ScalarKind};
use ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::Arc;

fn wrap(expr: Expr) -> PyExpr {
    PyExpr { expr }
}

fn grid(
    chunks: &Bound<'_, PyAny>,
    shape: &[usize],
    dtype: DType,
    limit: usize,
) -> PyResult<Chunks> {
    let specs = convert::chunk_specs(chunks, shape)?;
    Chunks::from_specs(&specs, shape, dtype.itemsize(), limit).map_err(|e| to_py(chunks.py(), e))
}

fn numpy_dtype(descr: &Bound<'_, numpy::PyArrayDescr>) -> PyResult<DType> {
    let name: String = descr.getattr("name")?.extract()?;
    let d = DType::from_name(&name).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    if descr.is_native_byteorder() == Some(false) {
        return Err(PyValueError::new_err(format!(
            "dtype {} is not in native byte order",
            descr.repr()?
        )));
    }
    Ok(d)
}

/// An expression reading a NumPy array in place (no copy; the array is kept alive).
#[pyfunction]
fn from_numpy(
    py: Python<'_>,
    arr: &Bound<'_, PyUntypedArray>,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
) -> PyResult<PyExpr> {
    let dtype = numpy_dtype(&arr.dtype())?;
    if !arr.is_aligned() {
        return Err(PyValueError::new_err(
            "the array is not aligned: copy it first",
        ));
    }
    let item = dtype.itemsize() as isize;
    let shape = arr.shape().to_vec();
    let mut strides = Vec::with_capacity(shape.len());
    for &s in arr.strides() {
        if s % item != 0 {
            return Err(PyValueError::new_err(format!(
                "stride {s} is not a multiple of the itemsize {item}: copy the array first"
            )));
        }
        strides.push(s / item);
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&n, &s) in shape.iter().zip(&strides) {
        let span = s * (n as isize - 1).max(0);
        if span < 0 {
            lo += span
        } else {
            hi += span
        }
    }
    let empty = shape.contains(&0);
    let len = if empty { 0 } else { (hi - lo + 1) as usize };
    // SAFETY: `data` is the address of element 0 of a live NumPy array.
    let data = unsafe { (*arr.as_array_ptr()).fields.data } as *const u8;
    let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(arr.clone().unbind().into_any());
    // SAFETY: every element of the array lies in [data + lo, data + hi] (in elements),
    // which is what `len` covers from `base`; the array is aligned for its dtype (checked
    // above) and `owner` keeps it alive. Mutation during compute is the caller's
    // responsibility (documented: sources are read in place).
    let buffer = unsafe {
        let base = if empty { data } else { data.offset(lo * item) };
        Buffer::from_raw(base, len, dtype, owner)
    };
    let g = grid(chunks, &shape, dtype, limit)?;
    let offset = if empty { 0 } else { -lo };
    guard(py, || {
        graph::from_buffer(buffer, &shape, &strides, offset, g)
    })
    .map(wrap)
}

/// A random array in `chunks` whose block `i` is drawn by NumPy's
/// `Generator(PCG64(SeedSequence(entropy, spawn_key + (i,), pool_size)))`: `entropy`
/// is the call's assembled words; `dist` is "random" (float64 or float32 by `dtype`),
/// "uniform" (`low + range * random()`, float64), "standard_normal" (float64) or
/// "normal" (`low + range * standard_normal()`: `loc` and `scale`, float64).
#[pyfunction]
#[pyo3(signature = (shape, entropy, pool_size, dist, dtype, chunks, limit, low=0.0, range=1.0))]
#[allow(clippy::too_many_arguments)]
fn random(
    py: Python<'_>,
    shape: Vec<usize>,
    entropy: Vec<u32>,
    pool_size: usize,
    dist: &str,
    dtype: &str,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
    low: f64,
    range: f64,
) -> PyResult<PyExpr> {
    use brickwork::layers::kernels::random::Dist;
    let dist = match (dist, dtype) {
        ("random", "float64") => Dist::Random64,
        ("random", "float32") => Dist::Random32,
        ("uniform", "float64") => Dist::Uniform { low, range },
        ("standard_normal", "float64") => Dist::StandardNormal,
        ("normal", "float64") => Dist::Normal {
            loc: low,
            scale: range,
        },
        _ => {
            return Err(PyValueError::new_err(format!(
                "no Rust generator for {dist} of dtype {dtype}"
            )))
        }
    };
    let d = if dist == Dist::Random32 {
        DType::F32
    } else {
        DType::F64
    };
    let g = grid(chunks, &shape, d, limit)?;
    guard(py, || graph::random(entropy, pool_size, dist, g)).map(wrap)
}

/// An array of `shape` filled with `value`.
#[pyfunction]
#[pyo3(signature = (shape, value, dtype, chunks, limit))]
fn full(
    py: Python<'_>,
    shape: Vec<usize>,
    value: &Bound<'_, PyAny>,
    dtype: Option<&str>,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
) -> PyResult<PyExpr> {
    let k = convert::scalar(value)?.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "fill value must be a bool, int or float, got {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let d = convert::dtype(dtype)?.unwrap_or(k.default_dtype());
    let g = grid(chunks, &shape, d, limit)?;
    let s = match (k, d.is_float()) {
        (ScalarKind::Float(f), false) => ScalarKind::Int(f as i128).to_scalar(d),
        _ => k.to_scalar(d),
    };
    guard(py, || Ok(graph::full(s?, g))).map(wrap)
}

/// `num` elements `start + i * step` of `dtype`.
#[pyfunction]
fn arange(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    step: &Bound<'_, PyAny>,
    num: usize,
    dtype: &str,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
) -> PyResult<PyExpr> {
    let d = convert::dtype(Some(dtype))?.expect("a dtype");
    let s = convert::scalar(start)?
        .ok_or_else(|| PyTypeError::new_err("arange start must be a number"))?;
    let t = convert::scalar(step)?
        .ok_or_else(|| PyTypeError::new_err("arange step must be a number"))?;
    let g = grid(chunks, &[num], d, limit)?;
    guard(py, || graph::arange(s, t, num, d, g)).map(wrap)
}

/// NumPy's linspace.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn linspace(
    py: Python<'_>,
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    dtype: &str,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
) -> PyResult<PyExpr> {
    let d = convert::dtype(Some(dtype))?.expect("a dtype");
    let g = grid(chunks, &[num], d, limit)?;
    guard(py, || graph::linspace(start, stop, num, endpoint, d, g)).map(wrap)
}

/// The chunks a spec gives for `shape` and `dtype`, as a tuple of tuples.
#[pyfunction]
fn normalize_chunks<'py>(
    py: Python<'py>,
    chunks: &Bound<'py, PyAny>,
    shape: Vec<usize>,
    dtype: &str,
    limit: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let d = convert::dtype(Some(dtype))?.expect("a dtype");
    let g = grid(chunks, &shape, d, limit)?;
    let axes =
        g.0.iter()
            .map(|c| PyTuple::new(py, c.sizes()))
            .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, axes)
}

#[pyfunction]
fn unary(py: Python<'_>, op: &str, x: &PyExpr) -> PyResult<PyExpr> {
    guard(py, || graph::unary(UnaryOp::from_name(op)?, &x.expr)).map(wrap)
}

#[pyfunction]
fn binary(
    py: Python<'_>,
    op: &str,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<PyExpr> {
    let (a, b) = (convert::operand(a)?, convert::operand(b)?);
    guard(py, || graph::binary(BinaryOp::from_name(op)?, &a, &b)).map(wrap)
}

#[pyfunction(name = "where")]
fn where_(
    py: Python<'_>,
    cond: &Bound<'_, PyAny>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
) -> PyResult<PyExpr> {
    let (c, a, b) = (
        convert::operand(cond)?,
        convert::operand(a)?,
        convert::operand(b)?,
    );
    if !matches!(
        (&c, &a, &b),
        (Operand::Array(_), _, _) | (_, Operand::Array(_), _) | (_, _, Operand::Array(_))
    ) {
        return Err(PyTypeError::new_err(
            "where needs at least one array operand",
        ));
    }
    guard(py, || graph::where_(&c, &a, &b)).map(wrap)
}

#[pyfunction]
fn astype(x: &PyExpr, dtype: &str) -> PyResult<PyExpr> {
    let d = convert::dtype(Some(dtype))?.expect("a dtype");
    Ok(wrap(graph::astype(&x.expr, d)))
}

#[pyfunction]
#[pyo3(signature = (op, x, axis, keepdims, dtype, split_every, ddof))]
#[allow(clippy::too_many_arguments)]
fn reduce(
    py: Python<'_>,
    op: &str,
    x: &PyExpr,
    axis: Option<Vec<i64>>,
    keepdims: bool,
    dtype: Option<&str>,
    split_every: Option<usize>,
    ddof: i64,
) -> PyResult<PyExpr> {
    let d = convert::dtype(dtype)?;
    if ddof < 0 {
        return Err(PyValueError::new_err(format!(
            "ddof must be a non-negative int, got {ddof}"
        )));
    }
    guard(py, || {
        let r = Reducer::from_name(op, ddof as u32)?;
        graph::reduce(&x.expr, r, axis.as_deref(), keepdims, d, split_every)
    })
    .map(wrap)
}

#[pyfunction]
fn getitem(py: Python<'_>, x: &PyExpr, index: &Bound<'_, PyTuple>) -> PyResult<PyExpr> {
    let ix = convert::index(index)?;
    guard(py, || graph::getitem(&x.expr, &ix)).map(wrap)
}

#[pyfunction]
#[pyo3(signature = (x, axes=None))]
fn transpose(py: Python<'_>, x: &PyExpr, axes: Option<Vec<i64>>) -> PyResult<PyExpr> {
    guard(py, || graph::transpose(&x.expr, axes.as_deref())).map(wrap)
}

#[pyfunction]
fn broadcast_to(py: Python<'_>, x: &PyExpr, shape: Vec<usize>) -> PyResult<PyExpr> {
    guard(py, || graph::broadcast_to(&x.expr, &shape)).map(wrap)
}

/// The arrays joined along an existing axis.
#[pyfunction]
fn concatenate(py: Python<'_>, xs: Vec<PyRef<'_, PyExpr>>, axis: i64) -> PyResult<PyExpr> {
    let xs: Vec<Expr> = xs.iter().map(|e| e.expr.clone()).collect();
    guard(py, || graph::concatenate(&xs, axis)).map(wrap)
}

/// The arrays joined along a new axis.
#[pyfunction]
fn stack(py: Python<'_>, xs: Vec<PyRef<'_, PyExpr>>, axis: i64) -> PyResult<PyExpr> {
    let xs: Vec<Expr> = xs.iter().map(|e| e.expr.clone()).collect();
    guard(py, || graph::stack(&xs, axis)).map(wrap)
}

/// The cumulative sum or product (`op` "cumsum" or "cumprod") along `axis` (None:
/// flattened), accumulated in `dtype` (None: NumPy's default).
#[pyfunction]
#[pyo3(signature = (op, x, axis, dtype))]
fn cumulative(
    py: Python<'_>,
    op: &str,
    x: &PyExpr,
    axis: Option<i64>,
    dtype: Option<&str>,
) -> PyResult<PyExpr> {
    use brickwork::layers::kernels::scan::ScanOp;
    let op = match op {
        "cumsum" => ScanOp::Sum,
        "cumprod" => ScanOp::Prod,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown scan {other:?}: expected cumsum or cumprod"
            )))
        }
    };
    let d = convert::dtype(dtype)?;
    guard(py, || graph::cumulative(&x.expr, op, axis, d)).map(wrap)
}

/// The matrix product of two 2-d float arrays.
#[pyfunction]
fn matmul(py: Python<'_>, a: &PyExpr, b: &PyExpr) -> PyResult<PyExpr> {
    guard(py, || graph::matmul(&a.expr, &b.expr)).map(wrap)
}

/// `x` indexed along `axis` by integer positions (`numpy.take`).
#[pyfunction]
fn take(py: Python<'_>, x: &PyExpr, indices: Vec<i64>, axis: i64) -> PyResult<PyExpr> {
    guard(py, || graph::take(&x.expr, &indices, axis)).map(wrap)
}

/// `x` indexed along `axis` by runs of coordinates `(start, step, len)` (built in
/// O(runs): overlap halos), in `chunks` along `axis` when given.
#[pyfunction]
#[pyo3(signature = (x, runs, axis, chunks=None))]
fn take_runs(
    py: Python<'_>,
    x: &PyExpr,
    runs: Vec<(usize, isize, usize)>,
    axis: i64,
    chunks: Option<Vec<usize>>,
) -> PyResult<PyExpr> {
    guard(py, || {
        graph::take_runs(&x.expr, &runs, axis, chunks.as_deref())
    })
    .map(wrap)
}

/// `x` with a new shape (C order; one entry may be -1).
#[pyfunction]
fn reshape(py: Python<'_>, x: &PyExpr, shape: Vec<i64>) -> PyResult<PyExpr> {
    guard(py, || graph::reshape(&x.expr, &shape)).map(wrap)
}

/// `x` cut into new chunks (a Dask chunk spec; `limit` is the "auto" byte target).
#[pyfunction]
fn rechunk(
    py: Python<'_>,
    x: &PyExpr,
    chunks: &Bound<'_, PyAny>,
    limit: usize,
) -> PyResult<PyExpr> {
    let g = grid(chunks, &x.expr.shape(), x.expr.dtype(), limit)?;
    guard(py, || graph::rechunk(&x.expr, g)).map(wrap)
}

/// The optimized plan of these expressions as text (stages, task counts, fused
/// programs).
#[pyfunction]
fn explain(py: Python<'_>, exprs: Vec<PyRef<'_, PyExpr>>) -> PyResult<String> {
    let exprs: Vec<Expr> = exprs.iter().map(|e| e.expr.clone()).collect();
    guard(py, || {
        let g = optimize::task_graph(&exprs)?;
        let report = optimize::rewrite(&exprs).1;
        Ok(format!("{}{report}\n", optimize::explain::explain(&g)))
    })
}

/// The number of tasks computing these expressions runs.
#[pyfunction]
fn ntasks(py: Python<'_>, exprs: Vec<PyRef<'_, PyExpr>>) -> PyResult<usize> {
    let exprs: Vec<Expr> = exprs.iter().map(|e| e.expr.clone()).collect();
    guard(py, || optimize::ntasks(&exprs))
}

/// A C-ordered tile of `shape` as a NumPy array, without a copy.
pub fn tile_to_numpy(
    py: Python<'_>,
    data: brickwork::layers::kernels::Tile,
    shape: &[usize],
) -> PyResult<Py<PyAny>> {
    let shape = IxDyn(shape);
    macro_rules! arr {
        ($v:expr) => {
            ArrayD::from_shape_vec(shape, $v)
                .map_err(|e| PyValueError::new_err(e.to_string()))?
                .into_pyarray(py)
                .into_any()
                .unbind()
        };
    }
    use brickwork::layers::kernels::Tile;
    Ok(match data {
        Tile::Bool(v) => arr!(v),
        Tile::I8(v) => arr!(v),
        Tile::I16(v) => arr!(v),
        Tile::I32(v) => arr!(v),
        Tile::I64(v) => arr!(v),
        Tile::U8(v) => arr!(v),
        Tile::U16(v) => arr!(v),
        Tile::U32(v) => arr!(v),
        Tile::U64(v) => arr!(v),
        Tile::F32(v) => arr!(v),
        Tile::F64(v) => arr!(v),
    })
}

fn to_numpy(py: Python<'_>, out: brickwork::OutputBuffer) -> PyResult<Py<PyAny>> {
    tile_to_numpy(py, out.data, &out.shape)
}

/// `func(block_id, *blocks)` over matching blocks of `inputs` (`map_blocks`); `func`
/// must return a C-contiguous array of `dtype` and the output block's shape.
#[pyfunction]
#[pyo3(signature = (func, name, inputs, dtype, chunks, limit))]
fn map_blocks(
    py: Python<'_>,
    func: Py<PyAny>,
    name: String,
    inputs: Vec<PyRef<'_, PyExpr>>,
    dtype: &str,
    chunks: Option<&Bound<'_, PyAny>>,
    limit: usize,
) -> PyResult<PyExpr> {
    let d = convert::dtype(Some(dtype))?.expect("a dtype");
    let exprs: Vec<Expr> = inputs.iter().map(|e| e.expr.clone()).collect();
    let grid = match chunks {
        None => None,
        Some(c) => {
            let shape =
                graph::broadcast_shapes(&exprs.iter().map(|e| e.shape()).collect::<Vec<_>>())
                    .map_err(|e| to_py(py, e))?;
            let shape = if let Ok(t) = c.cast::<PyTuple>() {
                // Explicit tuples of tuples give the output shape themselves.
                match t
                    .iter()
                    .map(|a| a.extract::<Vec<usize>>())
                    .collect::<PyResult<Vec<_>>>()
                {
                    Ok(axes) => axes.iter().map(|a| a.iter().sum()).collect(),
                    Err(_) => shape,
                }
            } else {
                shape
            };
            Some(grid(c, &shape, d, limit)?)
        }
    };
    let f = std::sync::Arc::new(crate::callback::PyBlockFn {
        func,
        name,
        dtype: d,
    });
    guard(py, || graph::map_blocks(f, &exprs, d, grid)).map(wrap)
}

/// Run `job` (the engine's pipeline: plan, fit the budget, execute) with the GIL
/// released, polling for Ctrl-C and progress. Engine errors and panics become Python
/// exceptions; a failing Python block function's exception is re-raised as it was.
fn run_detached<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    job: impl FnOnce(&mut dyn FnMut(Progress) -> bool) -> brickwork::Result<T> + Send,
) -> PyResult<T> {
    let mut failure: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut poll = |p: Progress| -> bool {
            Python::attach(|py| {
                if let Err(e) = py.check_signals() {
                    failure = Some(e);
                    return true;
                }
                if let Some(cb) = &progress {
                    if let Err(e) = cb.call1(py, (p.done, p.total)) {
                        failure = Some(e);
                        return true;
                    }
                }
                false
            })
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut poll)))
    });
    if let Some(e) = failure {
        return Err(e);
    }
    match result {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(to_py(py, e)),
        Err(_) => Err(crate::errors::PanicError::new_err(
            "brickwork panicked while planning or running the computation",
        )),
    }
}

/// A block function that panics: for the test that a panic inside a task becomes a
/// Python exception and leaves the process usable.
#[derive(Debug)]
struct PanicFn;

impl brickwork::layers::kernels::callback::BlockFn for PanicFn {
    fn call(
        &self,
        _: &[usize],
        _: &[brickwork::layers::kernels::callback::BlockArg],
        _: &[usize],
    ) -> brickwork::Result<brickwork::layers::kernels::Tile> {
        panic!("a deliberate panic inside a task (brickwork._core._panic_in_task)")
    }

    fn name(&self) -> &str {
        "panic"
    }
}

/// Run a small computation whose task panics (tests only): raises PanicError.
#[pyfunction]
fn _panic_in_task(py: Python<'_>) -> PyResult<()> {
    let grid = Chunks::single(&[4]);
    let x = guard(py, || {
        let ones = graph::full(ScalarKind::Float(1.0).to_scalar(DType::F64)?, grid.clone());
        graph::map_blocks(std::sync::Arc::new(PanicFn), &[ones], DType::F64, None)
    })?;
    let options = ComputeOptions {
        num_threads: 2,
        memory_limit: None,
        spill_dir: None,
        context: None,
        executor: brickwork::ExecutorKind::Local,
    };
    run_detached(py, None, |poll| {
        brickwork::compute::compute(&[x], &options, Vec::new(), poll)
    })
    .map(|_| ())
}

/// An array over the Zarr array at `component` of the store at `path`, in `chunks`
/// (None: the store's own chunks).
#[pyfunction]
#[pyo3(signature = (path, component, chunks, limit))]
fn from_zarr(
    py: Python<'_>,
    path: std::path::PathBuf,
    component: Option<String>,
    chunks: Option<&Bound<'_, PyAny>>,
    limit: usize,
) -> PyResult<PyExpr> {
    let z = guard(py, || {
        brickwork::ZarrArray::open(&path, component.as_deref())
    })?;
    let shape = brickwork::layers::kernels::io::BlockSource::shape(&z);
    let dtype = brickwork::layers::kernels::io::BlockSource::dtype(&z);
    let g = match chunks {
        Some(c) => grid(c, &shape, dtype, limit)?,
        None => {
            let specs: Vec<brickwork::ChunkSpec> = z
                .chunk_shape()
                .into_iter()
                .map(brickwork::ChunkSpec::Size)
                .collect();
            Chunks::from_specs(&specs, &shape, dtype.itemsize(), limit).map_err(|e| to_py(py, e))?
        }
    };
    guard(py, || graph::from_source(std::sync::Arc::new(z), g)).map(wrap)
}

/// Compute `x` into a new Zarr array at `component` of the store at `path`, in chunks
/// of `x`'s largest chunk (x must be regularly chunked: the Python layer rechunks).
#[pyfunction]
#[pyo3(signature = (x, path, component, overwrite, num_threads, progress=None, memory_limit=None, temporary_directory=None, executor="local"))]
#[allow(clippy::too_many_arguments)]
fn to_zarr(
    py: Python<'_>,
    x: &PyExpr,
    path: std::path::PathBuf,
    component: Option<String>,
    overwrite: bool,
    num_threads: usize,
    progress: Option<Py<PyAny>>,
    memory_limit: Option<usize>,
    temporary_directory: Option<std::path::PathBuf>,
    executor: &str,
) -> PyResult<()> {
    let e = x.expr.clone();
    let chunk = e.chunks().chunksize();
    let sink = guard(py, || {
        brickwork::ZarrArray::create(
            &path,
            component.as_deref(),
            &e.shape(),
            e.dtype(),
            &chunk,
            overwrite,
        )
    })?;
    let sink: std::sync::Arc<dyn brickwork::layers::kernels::io::BlockSink> =
        std::sync::Arc::new(sink);
    let options = ComputeOptions {
        num_threads: num_threads.max(1),
        memory_limit,
        spill_dir: temporary_directory,
        context: None,
        executor: executor_kind(executor)?,
    };
    run_detached(py, progress, |poll| {
        brickwork::compute::store(&[(e, sink)], &options, poll)
    })
}

/// The executor named `name` ("local" or "loopback").
fn executor_kind(name: &str) -> PyResult<brickwork::ExecutorKind> {
    match name {
        "local" => Ok(brickwork::ExecutorKind::Local),
        "loopback" => Ok(brickwork::ExecutorKind::Loopback),
        other => Err(PyValueError::new_err(format!(
            "executor must be 'local' or 'loopback', got {other:?}"
        ))),
    }
}

/// A Python callable `f(i)` as the calls of a task graph (`brickwork.delayed`).
struct PyTaskFn {
    func: Py<PyAny>,
    name: String,
}

impl std::fmt::Debug for PyTaskFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyTaskFn({})", self.name)
    }
}

impl graph::stage::TaskFn for PyTaskFn {
    fn call(&self, i: usize) -> brickwork::Result<()> {
        Python::attach(|py| {
            // The exception travels with this computation's result and is re-raised
            // unchanged, as a block function's.
            self.func
                .call1(py, (i,))
                .map(|_| ())
                .map_err(|e| Error::External {
                    message: format!("{} raised {e}", self.name),
                    source: Arc::new(e),
                })
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Call `func(i)` for every `i` in `range(len(deps))` on the engine's executor, call
/// `i` once the calls `deps[i]` (all smaller numbers) have returned, with the GIL
/// released between calls; progress, Ctrl-C, memory admission and errors as
/// [`compute`]. `pool` as for [`compute`].
#[pyfunction]
#[pyo3(signature = (func, name, deps, num_threads, progress=None, memory_limit=None, pool=None, executor="local"))]
#[allow(clippy::too_many_arguments)]
fn run_calls(
    py: Python<'_>,
    func: Py<PyAny>,
    name: String,
    deps: Vec<Vec<usize>>,
    num_threads: usize,
    progress: Option<Py<PyAny>>,
    memory_limit: Option<usize>,
    pool: Option<Py<PyAny>>,
    executor: &str,
) -> PyResult<()> {
    let f = Arc::new(PyTaskFn { func, name });
    let g = guard(py, || graph::stage::Calls::graph(f, &deps))?;
    let options = ComputeOptions {
        num_threads: num_threads.max(1),
        memory_limit,
        spill_dir: None,
        context: pool.map(|p| Arc::new(crate::callback::PoolContext(p)) as _),
        executor: executor_kind(executor)?,
    };
    run_detached(py, progress, |poll| {
        brickwork::compute::execute(&g, &options, poll)
    })
}

/// A writable, aligned, C-contiguous NumPy array as memory to compute into.
fn external(arr: &Bound<'_, PyUntypedArray>) -> PyResult<brickwork::ExternalArray> {
    let dtype = numpy_dtype(&arr.dtype())?;
    let writeable: bool = arr.getattr("flags")?.getattr("writeable")?.extract()?;
    if !arr.is_c_contiguous() || !arr.is_aligned() || !writeable {
        return Err(PyValueError::new_err(
            "the array to store into must be writeable, aligned and C-contiguous",
        ));
    }
    // SAFETY: `arr` is a live NumPy array.
    let ptr = unsafe { (*arr.as_array_ptr()).fields.data } as *mut u8;
    // SAFETY: the array is writeable, aligned and C-contiguous with this shape and
    // dtype, and the caller (`compute`) keeps it alive until the computation returns.
    // Other Python threads touching it meanwhile is the caller's responsibility, as for
    // any NumPy `out=` argument.
    Ok(unsafe { brickwork::ExternalArray::new(ptr, dtype, arr.shape().to_vec()) })
}

/// Compute expressions in one task graph with the GIL released; Ctrl-C raises
/// KeyboardInterrupt within a second.
///
/// `into`, when given, holds one writable NumPy array (or None) per expression: that
/// output is written straight into it (a memory-mapped `.npy` file streams to disk) and
/// its entry in the returned list is the array itself. `pool`, when given, is the
/// process pool that this computation's block functions run in (`scheduler=
/// "processes"`; they read it with `compute_pool()`).
#[pyfunction]
#[pyo3(signature = (exprs, num_threads, progress=None, into=None, memory_limit=None, temporary_directory=None, pool=None, executor="local"))]
// The Python signature's keywords, one argument each.
#[allow(clippy::too_many_arguments)]
fn compute<'py>(
    py: Python<'py>,
    exprs: Vec<PyRef<'py, PyExpr>>,
    num_threads: usize,
    progress: Option<Py<PyAny>>,
    into: Option<Vec<Option<Bound<'py, PyUntypedArray>>>>,
    memory_limit: Option<usize>,
    temporary_directory: Option<std::path::PathBuf>,
    pool: Option<Py<PyAny>>,
    executor: &str,
) -> PyResult<Bound<'py, PyList>> {
    if num_threads == 0 {
        return Err(PyValueError::new_err("num_threads must be at least 1"));
    }
    let exprs: Vec<Expr> = exprs.iter().map(|e| e.expr.clone()).collect();
    let into = into.unwrap_or_default();
    if into.len() > exprs.len() {
        return Err(PyValueError::new_err(format!(
            "{} arrays to store into for {} expressions",
            into.len(),
            exprs.len()
        )));
    }
    let mut externals = Vec::with_capacity(into.len());
    for arr in &into {
        externals.push(match arr {
            None => None,
            Some(a) => Some(external(a)?),
        });
    }
    let options = ComputeOptions {
        num_threads,
        memory_limit,
        spill_dir: temporary_directory,
        context: pool.map(|p| Arc::new(crate::callback::PoolContext(p)) as _),
        executor: executor_kind(executor)?,
    };
    let outputs = run_detached(py, progress, |poll| {
        brickwork::compute::compute(&exprs, &options, externals, poll)
    })?;
    let arrays = outputs
        .into_iter()
        .enumerate()
        .map(|(i, o)| match into.get(i) {
            Some(Some(a)) => Ok(a.clone().into_any().unbind()),
            _ => to_numpy(py, o),
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, arrays)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(random, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(linspace, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_chunks, m)?)?;
    m.add_function(wrap_pyfunction!(unary, m)?)?;
    m.add_function(wrap_pyfunction!(binary, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(astype, m)?)?;
    m.add_function(wrap_pyfunction!(reduce, m)?)?;
    m.add_function(wrap_pyfunction!(getitem, m)?)?;
    m.add_function(wrap_pyfunction!(transpose, m)?)?;
    m.add_function(wrap_pyfunction!(broadcast_to, m)?)?;
    m.add_function(wrap_pyfunction!(ntasks, m)?)?;
    m.add_function(wrap_pyfunction!(concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(rechunk, m)?)?;
    m.add_function(wrap_pyfunction!(reshape, m)?)?;
    m.add_function(wrap_pyfunction!(map_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(cumulative, m)?)?;
    m.add_function(wrap_pyfunction!(take, m)?)?;
    m.add_function(wrap_pyfunction!(take_runs, m)?)?;
    m.add_function(wrap_pyfunction!(run_calls, m)?)?;
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_in_task, m)?)?;
    m.add_function(wrap_pyfunction!(from_zarr, m)?)?;
    m.add_function(wrap_pyfunction!(to_zarr, m)?)?;
    m.add_function(wrap_pyfunction!(compute, m)?)?;
    m.add_function(wrap_pyfunction!(crate::callback::compute_pool, m)?)?;
    Ok(())
}
