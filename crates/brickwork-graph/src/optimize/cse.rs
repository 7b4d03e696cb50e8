//! Common-subexpression elimination: the structural [`Key`] of a node.
//!
//! Nodes are compared and hashed structurally, never through their `Debug` text: a
//! gather's coordinates and an irregular grid hash in O(runs) and O(1). The IR
//! ([`super::ir`]) hash-conses every node by this key when it is built, so structurally
//! equal subexpressions become one node there, once; the planner then only numbers the
//! expressions it is given ([`Canon`]).

use crate::expr::{Expr, Op};
use brickwork_core::scalar::ScalarValue;
use brickwork_core::{Chunks, DType};
use std::collections::HashMap;

/// What makes two nodes compute the same array: the operation and its parameters, the
/// dtype, the grid and the canonical ids of the inputs.
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct Key {
    op: OpKey,
    dtype: DType,
    chunks: Chunks,
    inputs: Vec<u32>,
}

impl Key {
    /// The key of a node computing `op` of `inputs` (their canonical numbers).
    pub(crate) fn new(op: &Op, dtype: DType, chunks: &Chunks, inputs: Vec<u32>) -> Key {
        Key {
            op: OpKey::of(op),
            dtype,
            chunks: chunks.clone(),
            inputs,
        }
    }
}

/// An operation's parameters in comparable form. Memory is identified by its address,
/// trait objects (user functions, stores) by their allocation, floats by their bits (so
/// `0.0` and `-0.0` differ, and NaN equals itself).
#[derive(PartialEq, Eq, Hash)]
enum OpKey {
    Source {
        address: usize,
        dtype: DType,
        offset: isize,
        strides: Vec<isize>,
    },
    Object(usize),
    Text(String),
    Full {
        dtype: DType,
        value: (bool, u128),
    },
    Plain(std::mem::Discriminant<Op>, Vec<i64>),
    View(crate::View),
    Reduce(crate::ReduceSpec),
    Take(usize, std::sync::Arc<crate::Indices>),
}

impl OpKey {
    fn of(op: &Op) -> OpKey {
        let plain = |params: Vec<i64>| OpKey::Plain(std::mem::discriminant(op), params);
        match op {
            Op::Source(s) => OpKey::Source {
                address: s.buffer.as_ptr() as usize,
                dtype: s.buffer.dtype(),
                offset: s.offset,
                strides: s.strides.clone(),
            },
            // The store's Debug text names its directory (the same array opened twice is
            // one source); it is short.
            Op::Stored(src) => OpKey::Text(format!("{src:?}")),
            Op::Generate(brickwork_kernels::program::Generator::Random(spec)) => {
                OpKey::Object(std::sync::Arc::as_ptr(spec) as usize)
            }
            Op::Generate(g) => OpKey::Text(format!("{g:?}")),
            Op::Full(s) => OpKey::Full {
                dtype: s.dtype,
                value: match s.value {
                    ScalarValue::Int(i) => (false, i as u128),
                    ScalarValue::Float(f) => (true, f.to_bits() as u128),
                },
            },
            Op::Unary(u) => plain(vec![*u as i64]),
            Op::Binary(b) => plain(vec![*b as i64]),
            Op::Where | Op::Cast | Op::Reshape | Op::MatMul => plain(Vec::new()),
            Op::View(v) => OpKey::View(v.clone()),
            Op::Reduce(r) => OpKey::Reduce(r.clone()),
            Op::Scan { op: s, axis } => plain(vec![*s as i64, *axis as i64]),
            Op::Take { axis, indices } => OpKey::Take(*axis, indices.clone()),
            Op::MapBlocks(f) => OpKey::Object(std::sync::Arc::as_ptr(f) as *const u8 as usize),
            Op::Concat { axis } => plain(vec![*axis as i64]),
        }
    }
}

/// Numbers the expressions the planner meets, densely and once each. Its input comes
/// from [`super::ir::Ir::to_exprs`], where structurally equal nodes are already one
/// `Expr`, so the number of a node is that of its `Expr`: no key is computed twice.
#[derive(Default)]
pub struct Canon {
    by_node: HashMap<u64, usize>,
}

impl Canon {
    /// The canonical id of `e`.
    pub fn id(&mut self, e: &Expr) -> usize {
        let next = self.by_node.len();
        *self.by_node.entry(e.id()).or_insert(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwork_core::ScalarKind;

    #[test]
    fn canon_numbers_each_expr_once_densely() {
        let one = ScalarKind::Float(1.0).to_scalar(DType::F64).unwrap();
        let a = crate::build::full(one, Chunks::single(&[4]));
        let b = crate::build::full(one, Chunks::single(&[4]));
        let mut canon = Canon::default();
        assert_eq!(canon.id(&a), 0);
        assert_eq!(canon.id(&b), 1, "structural merging is the IR's job");
        assert_eq!(canon.id(&a.clone()), 0);
    }

    #[test]
    fn keys_compare_parameters_as_data() {
        let zero = |v: f64| ScalarKind::Float(v).to_scalar(DType::F64).unwrap();
        let key = |v: f64| {
            Key::new(
                &Op::Full(zero(v)),
                DType::F64,
                &Chunks::single(&[4]),
                vec![],
            )
        };
        assert!(key(0.0) == key(0.0));
        assert!(key(0.0) != key(-0.0));
        assert!(key(f64::NAN) == key(f64::NAN));
    }
}
