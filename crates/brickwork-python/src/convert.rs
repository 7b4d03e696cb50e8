//! Python values to engine types: dtypes, chunk specs, scalars, indices.

use crate::expr::PyExpr;
use brickwork::layers::graph::{Index, Operand};
use brickwork::{ChunkSpec, DType, ScalarKind};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PySlice, PyString, PyTuple};

/// A dtype name (or None) to a dtype.
pub fn dtype(name: Option<&str>) -> PyResult<Option<DType>> {
    name.map(|n| DType::from_name(n).map_err(|e| PyTypeError::new_err(e.to_string())))
        .transpose()
}

/// The chunk spec of `axis` (of length `len`: a chunk size of 0 is accepted for an
/// empty axis, as Dask does).
fn axis_spec(obj: &Bound<'_, PyAny>, axis: usize, len: usize) -> PyResult<ChunkSpec> {
    if obj.is_none() {
        return Ok(ChunkSpec::Full);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_str()? {
            "auto" => Ok(ChunkSpec::Auto),
            other => Err(PyValueError::new_err(format!(
                "chunk spec {other:?} on axis {axis} is not understood: expected \"auto\", an int, -1, None or a tuple of sizes"
            ))),
        };
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let sizes = t
            .iter()
            .map(|v| v.extract::<i64>())
            .collect::<PyResult<Vec<i64>>>()
            .map_err(|_| {
                PyValueError::new_err(format!("chunk sizes {t} on axis {axis} must be ints"))
            })?;
        if let Some(bad) = sizes.iter().find(|&&s| s < 0) {
            return Err(PyValueError::new_err(format!(
                "chunk size {bad} on axis {axis} is negative"
            )));
        }
        return Ok(ChunkSpec::Explicit(
            sizes.into_iter().map(|s| s as usize).collect(),
        ));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        if f.is_nan() {
            return Err(PyValueError::new_err(format!(
                "unknown (nan) chunk size on axis {axis} is not supported"
            )));
        }
        return Err(PyValueError::new_err(format!(
            "chunk size {f} on axis {axis} must be an int"
        )));
    }
    match obj.extract::<i64>() {
        Ok(-1) => Ok(ChunkSpec::Full),
        Ok(0) if len == 0 => Ok(ChunkSpec::Full),
        Ok(n) if n > 0 => Ok(ChunkSpec::Size(n as usize)),
        Ok(n) => Err(PyValueError::new_err(format!(
            "chunk size {n} on axis {axis} is not valid: expected a positive int, -1 or None for the whole axis, or \"auto\""
        ))),
        Err(_) => Err(PyValueError::new_err(format!(
            "chunk spec {} on axis {axis} is not understood: expected \"auto\", an int, -1, None or a tuple of sizes",
            obj.repr()?
        ))),
    }
}

/// A Dask chunk spec (int, tuple, dict, "auto", None, -1, tuples of sizes) to one
/// [`ChunkSpec`] per axis of `shape`.
pub fn chunk_specs(obj: &Bound<'_, PyAny>, shape: &[usize]) -> PyResult<Vec<ChunkSpec>> {
    let ndim = shape.len();
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut specs = vec![ChunkSpec::Full; ndim];
        for (k, v) in d.iter() {
            let a: i64 = k.extract()?;
            let axis = brickwork::layers::core::normalize_axis(a, ndim).map_err(|_| {
                PyValueError::new_err(format!(
                    "chunks dict key {a} is not an axis of an array of {ndim} dimensions"
                ))
            })?;
            specs[axis] = axis_spec(&v, axis, shape[axis])?;
        }
        return Ok(specs);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = t.iter().collect();
        let flat = items.iter().all(|v| v.is_instance_of::<PyInt>());
        if ndim == 1 && items.len() > 1 && flat {
            return Ok(vec![axis_spec(obj, 0, shape[0])?]);
        }
        if items.len() != ndim {
            return Err(PyValueError::new_err(format!(
                "chunks {} have {} entries, but the array has {ndim} dimensions (shape {shape:?})",
                obj.repr()?,
                items.len()
            )));
        }
        return items
            .iter()
            .enumerate()
            .map(|(a, v)| axis_spec(v, a, shape[a]))
            .collect();
    }
    if obj.is_instance_of::<pyo3::types::PyList>() {
        let t = PyTuple::new(obj.py(), obj.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
        return chunk_specs(t.as_any(), shape);
    }
    (0..ndim).map(|a| axis_spec(obj, a, shape[a])).collect()
}

/// A Python bool / int / float to a weak scalar.
pub fn scalar(obj: &Bound<'_, PyAny>) -> PyResult<Option<ScalarKind>> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(Some(ScalarKind::Bool(obj.extract()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<i128>()
            .map(|i| Some(ScalarKind::Int(i)))
            .map_err(|_| {
                PyOverflowError::new_err(format!(
                    "Python integer {} out of bounds for int64 and uint64",
                    obj
                ))
            });
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Some(ScalarKind::Float(obj.extract()?)));
    }
    Ok(None)
}

/// An operand of an elementwise operation.
pub fn operand(obj: &Bound<'_, PyAny>) -> PyResult<Operand> {
    if let Ok(e) = obj.cast::<PyExpr>() {
        return Ok(Operand::Array(e.borrow().expr.clone()));
    }
    match scalar(obj)? {
        Some(k) => Ok(Operand::Scalar(k)),
        None => Err(PyTypeError::new_err(format!(
            "unsupported operand of type {}: expected an array, bool, int or float",
            obj.get_type().name()?
        ))),
    }
}

/// A normalised basic index (a tuple of int, slice, None).
pub fn index(obj: &Bound<'_, PyTuple>) -> PyResult<Vec<Index>> {
    obj.iter()
        .map(|v| {
            if v.is_none() {
                return Ok(Index::NewAxis);
            }
            if let Ok(s) = v.cast::<PySlice>() {
                let get = |name: &str| -> PyResult<Option<i64>> {
                    let a = s.getattr(name)?;
                    if a.is_none() {
                        Ok(None)
                    } else {
                        a.extract::<i64>().map(Some).map_err(|_| {
                            PyTypeError::new_err(format!("slice indices must be integers or None, got {}", a.repr().map(|r| r.to_string()).unwrap_or_default()))
                        })
                    }
                };
                return Ok(Index::Slice { start: get("start")?, stop: get("stop")?, step: get("step")?.unwrap_or(1) });
            }
            if v.is_instance_of::<PyBool>() {
                return Err(PyTypeError::new_err("boolean indices are not supported"));
            }
            v.extract::<i64>().map(Index::Int).map_err(|_| {
                PyTypeError::new_err(format!(
                    "only integers, slices (`:`), ellipsis (`...`) and None are valid indices, got {}",
                    v.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })
        })
        .collect()
}
