//! Common-subexpression elimination: a canonical id per structurally distinct node.
//!
//! Nodes are compared and hashed structurally ([`Key`]), never through their `Debug`
//! text: a gather's coordinates and an irregular grid hash in O(runs) and O(1).

use crate::expr::{Expr, Op};
use brickwork_core::scalar::ScalarValue;
use brickwork_core::{Chunks, DType};
use std::collections::HashMap;

/// What makes two nodes compute the same array: the operation and its parameters, the
/// dtype, the grid and the canonical ids of the inputs.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    op: OpKey,
    dtype: DType,
    chunks: Chunks,
    inputs: Vec<usize>,
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

/// Assigns canonical ids: two nodes with the same operation, parameters, dtype, chunks
/// and canonical inputs get the same id (the same source array read twice included).
#[derive(Default)]
pub struct Canon {
    by_node: HashMap<u64, usize>,
    by_key: HashMap<Key, usize>,
}

impl Canon {
    /// The canonical id of `e`.
    pub fn id(&mut self, e: &Expr) -> usize {
        if let Some(&c) = self.by_node.get(&e.id()) {
            return c;
        }
        let inputs: Vec<usize> = e.node().inputs.iter().map(|i| self.id(i)).collect();
        let n = e.node();
        let key = Key {
            op: OpKey::of(&n.op),
            dtype: n.dtype,
            chunks: n.chunks.clone(),
            inputs,
        };
        let next = self.by_key.len();
        let c = *self.by_key.entry(key).or_insert(next);
        self.by_node.insert(e.id(), c);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{binary, Operand};
    use brickwork_core::{Chunks, ScalarKind};
    use brickwork_kernels::BinaryOp;

    fn ones() -> Expr {
        crate::build::full(
            ScalarKind::Float(1.0)
                .to_scalar(brickwork_core::DType::F64)
                .unwrap(),
            Chunks::single(&[4]),
        )
    }

    #[test]
    fn equal_expressions_share_an_id() {
        let x = ones();
        let plus = |k: i128| {
            binary(
                BinaryOp::Add,
                &Operand::Array(x.clone()),
                &Operand::Scalar(ScalarKind::Int(k)),
            )
            .unwrap()
        };
        let (a, b, c) = (plus(2), plus(2), plus(3));
        let mut canon = Canon::default();
        assert_eq!(canon.id(&a), canon.id(&b));
        assert_ne!(canon.id(&a), canon.id(&c));
    }

    #[test]
    fn signed_zeros_differ_and_gathers_compare_their_coordinates() {
        let zero = |v: f64| {
            crate::build::full(
                ScalarKind::Float(v)
                    .to_scalar(brickwork_core::DType::F64)
                    .unwrap(),
                Chunks::single(&[4]),
            )
        };
        let mut canon = Canon::default();
        assert_ne!(canon.id(&zero(0.0)), canon.id(&zero(-0.0)));
        let x = ones();
        let t1 = crate::build::take(&x, &[3, 2, 1, 0], 0).unwrap();
        let t2 = crate::build::take(&x, &[3, 2, 1, 0], 0).unwrap();
        let t3 = crate::build::take(&x, &[3, 2, 1, 1], 0).unwrap();
        assert_eq!(canon.id(&t1), canon.id(&t2));
        assert_ne!(canon.id(&t1), canon.id(&t3));
    }
}
