//! Common-subexpression elimination: a canonical id per structurally distinct node.

use crate::expr::Expr;
use std::collections::HashMap;

/// Assigns canonical ids: two nodes with the same operation, parameters, dtype, chunks
/// and canonical inputs get the same id (the same source array read twice included).
#[derive(Default)]
pub struct Canon {
    by_node: HashMap<u64, usize>,
    by_key: HashMap<String, usize>,
}

impl Canon {
    /// The canonical id of `e`.
    pub fn id(&mut self, e: &Expr) -> usize {
        if let Some(&c) = self.by_node.get(&e.id()) {
            return c;
        }
        let inputs: Vec<usize> = e.node().inputs.iter().map(|i| self.id(i)).collect();
        let n = e.node();
        let key = format!("{:?}|{}|{:?}|{:?}", n.op, n.dtype, n.chunks, inputs);
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

    #[test]
    fn equal_expressions_share_an_id() {
        let x = crate::build::full(
            ScalarKind::Float(1.0)
                .to_scalar(brickwork_core::DType::F64)
                .unwrap(),
            Chunks::single(&[4]),
        );
        let a = binary(
            BinaryOp::Add,
            &Operand::Array(x.clone()),
            &Operand::Scalar(ScalarKind::Int(2)),
        )
        .unwrap();
        let b = binary(
            BinaryOp::Add,
            &Operand::Array(x.clone()),
            &Operand::Scalar(ScalarKind::Int(2)),
        )
        .unwrap();
        let c = binary(
            BinaryOp::Add,
            &Operand::Array(x),
            &Operand::Scalar(ScalarKind::Int(3)),
        )
        .unwrap();
        let mut canon = Canon::default();
        assert_eq!(canon.id(&a), canon.id(&b));
        assert_ne!(canon.id(&a), canon.id(&c));
    }
}
