//! The optimizer's intermediate representation: the expression graph in an arena.
//!
//! [`Ir::from_exprs`] copies the nodes the outputs reach into a `Vec`, hash-consed by
//! their structural [`Key`]: two structurally equal nodes — even built separately —
//! become one [`NodeId`]. That is common-subexpression elimination, done once, and
//! every later node ([`Ir::add`]) is hash-consed the same way, so a rewrite that
//! produces an existing node finds it. Rewrite rules ([`super::rules`]) work on this
//! arena; [`Ir::to_exprs`] turns the result back into [`Expr`]s for the planner, one
//! `Expr` per node, reusing the original `Expr` of every node no rule changed.
//!
//! Building, rewriting and converting back are iterative (no recursion over the graph's
//! depth) and cost O(nodes + edges); a node's key costs O(1) in its chunks (O(chunks)
//! for an irregular axis) and O(runs) for a gather, never O(elements).

use super::cse::Key;
use crate::expr::{Expr, Op};
use brickwork_core::{Chunks, DType};
use std::collections::HashMap;
use std::sync::Arc;

/// The position of a node in its [`Ir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The position as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One operation of the arena: an [`Expr`] node with its inputs as [`NodeId`]s.
#[derive(Debug, Clone)]
pub struct IrNode {
    /// What the node computes.
    pub op: Op,
    /// The element type.
    pub dtype: DType,
    /// The chunk grid (and so the shape).
    pub chunks: Chunks,
    /// The operands.
    pub inputs: Vec<NodeId>,
    /// The expression this node was copied from (None for a node a rule made).
    origin: Option<Expr>,
}

impl IrNode {
    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.chunks.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.chunks.ndim()
    }
}

/// An arena of hash-consed nodes and the outputs (`roots`) they compute.
#[derive(Default)]
pub struct Ir {
    nodes: Vec<IrNode>,
    by_key: HashMap<Key, NodeId>,
    /// The outputs, in order (two outputs may be the same node).
    pub roots: Vec<NodeId>,
    /// How many distinct `Expr` nodes were merged into a structurally equal node when
    /// the arena was built.
    pub merged: usize,
}

impl Ir {
    /// The arena of the nodes `outputs` reach, structurally equal nodes merged.
    pub fn from_exprs(outputs: &[Expr]) -> Ir {
        let mut ir = Ir::default();
        // Expr id -> node; a post-order walk with an explicit stack.
        let mut seen: HashMap<u64, NodeId> = HashMap::new();
        let mut stack: Vec<(&Expr, bool)> = outputs.iter().rev().map(|e| (e, false)).collect();
        while let Some((e, expanded)) = stack.pop() {
            if seen.contains_key(&e.id()) {
                continue;
            }
            let n = e.node();
            if !expanded {
                stack.push((e, true));
                for i in n.inputs.iter().rev() {
                    if !seen.contains_key(&i.id()) {
                        stack.push((i, false));
                    }
                }
                continue;
            }
            let inputs = n.inputs.iter().map(|i| seen[&i.id()]).collect();
            let before = ir.nodes.len();
            let id = ir.insert(n.op.clone(), n.dtype, n.chunks.clone(), inputs, Some(e));
            if ir.nodes.len() == before {
                ir.merged += 1;
            }
            seen.insert(e.id(), id);
        }
        ir.roots = outputs.iter().map(|e| seen[&e.id()]).collect();
        ir
    }

    /// The node computing `op` of `inputs` with `dtype` and `chunks`: an existing
    /// structurally equal node, or a new one. The caller vouches that the node is
    /// valid (what `build` would have checked): a rewrite of a valid node is.
    pub fn add(&mut self, op: Op, dtype: DType, chunks: Chunks, inputs: Vec<NodeId>) -> NodeId {
        self.insert(op, dtype, chunks, inputs, None)
    }

    fn insert(
        &mut self,
        op: Op,
        dtype: DType,
        chunks: Chunks,
        inputs: Vec<NodeId>,
        origin: Option<&Expr>,
    ) -> NodeId {
        let key = Key::new(&op, dtype, &chunks, inputs.iter().map(|i| i.0).collect());
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.nodes.push(IrNode {
            op,
            dtype,
            chunks,
            inputs,
            origin: origin.cloned(),
        });
        self.by_key.insert(key, id);
        id
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &IrNode {
        &self.nodes[id.index()]
    }

    /// The number of nodes (reachable or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the arena has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes the roots reach, inputs before the nodes that read them.
    pub fn post_order(&self) -> Vec<NodeId> {
        let mut done = vec![false; self.nodes.len()];
        let mut order = Vec::new();
        let mut stack: Vec<(NodeId, bool)> = self.roots.iter().rev().map(|&r| (r, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if done[id.index()] {
                continue;
            }
            if expanded {
                done[id.index()] = true;
                order.push(id);
                continue;
            }
            stack.push((id, true));
            for &i in self.node(id).inputs.iter().rev() {
                if !done[i.index()] {
                    stack.push((i, false));
                }
            }
        }
        order
    }

    /// Keep only the nodes the roots reach, renumbered in post order; returns how many
    /// were dropped.
    pub fn retain_reachable(&mut self) -> usize {
        let order = self.post_order();
        let dropped = self.nodes.len() - order.len();
        if dropped == 0 {
            return 0;
        }
        let mut new_id = vec![NodeId(u32::MAX); self.nodes.len()];
        for (k, id) in order.iter().enumerate() {
            new_id[id.index()] = NodeId(k as u32);
        }
        let mut old: Vec<Option<IrNode>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.by_key.clear();
        for id in order {
            let mut n = old[id.index()].take().expect("each node once");
            for i in &mut n.inputs {
                *i = new_id[i.index()];
            }
            let key = Key::new(
                &n.op,
                n.dtype,
                &n.chunks,
                n.inputs.iter().map(|i| i.0).collect(),
            );
            self.by_key.insert(key, NodeId(self.nodes.len() as u32));
            self.nodes.push(n);
        }
        for r in &mut self.roots {
            *r = new_id[r.index()];
        }
        dropped
    }

    /// The roots as expressions: one `Expr` per node, the original one when the node
    /// and everything below it are unchanged (same ids), a new one otherwise.
    pub fn to_exprs(&self) -> Vec<Expr> {
        let mut built: Vec<Option<Expr>> = vec![None; self.nodes.len()];
        for id in self.post_order() {
            let n = self.node(id);
            let inputs: Vec<Expr> = n
                .inputs
                .iter()
                .map(|i| built[i.index()].clone().expect("inputs first"))
                .collect();
            let reuse = n.origin.as_ref().filter(|o| {
                let old = &o.node().inputs;
                old.len() == inputs.len()
                    && old
                        .iter()
                        .zip(&inputs)
                        .all(|(a, b)| Arc::ptr_eq(&a.0, &b.0))
            });
            let e = match reuse {
                Some(o) => o.clone(),
                None => Expr::new(n.op.clone(), inputs, n.dtype, n.chunks.clone()),
            };
            built[id.index()] = Some(e);
        }
        self.roots
            .iter()
            .map(|r| built[r.index()].clone().expect("roots built"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{binary, full, take, Operand};
    use brickwork_core::ScalarKind;
    use brickwork_kernels::BinaryOp;

    fn ones(n: usize) -> Expr {
        full(
            ScalarKind::Float(1.0).to_scalar(DType::F64).unwrap(),
            Chunks::single(&[n]),
        )
    }

    fn plus(x: &Expr, k: i128) -> Expr {
        binary(
            BinaryOp::Add,
            &Operand::Array(x.clone()),
            &Operand::Scalar(ScalarKind::Int(k)),
        )
        .unwrap()
    }

    #[test]
    fn structurally_equal_expressions_become_one_node() {
        let x = ones(4);
        let (a, b, c) = (plus(&x, 2), plus(&x, 2), plus(&x, 3));
        let ir = Ir::from_exprs(&[a, b, c]);
        assert_eq!(ir.roots[0], ir.roots[1]);
        assert_ne!(ir.roots[0], ir.roots[2]);
        // ones, the constants 2 and 3, and the two sums.
        assert_eq!(ir.len(), 5);
        assert_eq!(ir.merged, 2, "the second x + 2 and its constant 2");
    }

    #[test]
    fn signed_zeros_differ_and_gathers_compare_their_coordinates() {
        let zero = |v: f64| {
            full(
                ScalarKind::Float(v).to_scalar(DType::F64).unwrap(),
                Chunks::single(&[4]),
            )
        };
        let ir = Ir::from_exprs(&[zero(0.0), zero(-0.0)]);
        assert_ne!(ir.roots[0], ir.roots[1]);
        let x = ones(4);
        let t1 = take(&x, &[3, 2, 1, 0], 0).unwrap();
        let t2 = take(&x, &[3, 2, 1, 0], 0).unwrap();
        let t3 = take(&x, &[3, 2, 1, 1], 0).unwrap();
        let ir = Ir::from_exprs(&[t1, t2, t3]);
        assert_eq!(ir.roots[0], ir.roots[1]);
        assert_ne!(ir.roots[0], ir.roots[2]);
    }

    #[test]
    fn an_unchanged_graph_converts_back_to_the_same_exprs() {
        let x = crate::optimize::rules::testing::source(&[4], &[2]);
        let y = plus(&x, 1);
        let z = plus(&y, 2);
        let back = Ir::from_exprs(&[z.clone(), y.clone()]).to_exprs();
        assert!(Arc::ptr_eq(&back[0].0, &z.0));
        assert!(Arc::ptr_eq(&back[1].0, &y.0));
    }

    #[test]
    fn duplicates_convert_back_to_one_shared_expr() {
        let x = ones(4);
        let (a, b) = (plus(&x, 2), plus(&x, 2));
        let s = binary(BinaryOp::Multiply, &Operand::Array(a), &Operand::Array(b)).unwrap();
        let back = Ir::from_exprs(&[s]).to_exprs();
        let ins = &back[0].node().inputs;
        assert!(Arc::ptr_eq(&ins[0].0, &ins[1].0));
    }

    #[test]
    fn added_nodes_are_hash_consed_and_unreachable_ones_dropped() {
        let x = crate::optimize::rules::testing::source(&[4], &[2]);
        let y = plus(&x, 1);
        let mut ir = Ir::from_exprs(std::slice::from_ref(&y));
        let root = ir.roots[0];
        let n = ir.node(root).clone();
        assert_eq!(ir.add(n.op, n.dtype, n.chunks, n.inputs), root);
        let xid = ir.node(root).inputs[0];
        ir.roots = vec![xid];
        // y and the constant 1 go.
        assert_eq!(ir.retain_reachable(), 2);
        assert_eq!(ir.len(), 1);
        assert_eq!(ir.roots, vec![NodeId(0)]);
        assert!(Arc::ptr_eq(&ir.to_exprs()[0].0, &x.0));
    }

    #[test]
    fn a_deep_chain_builds_without_recursion() {
        let mut e = ones(4);
        for _ in 0..50_000 {
            e = crate::build::astype(
                &e,
                if e.dtype() == DType::F64 {
                    DType::F32
                } else {
                    DType::F64
                },
            );
        }
        let ir = Ir::from_exprs(std::slice::from_ref(&e));
        assert_eq!(ir.len(), 50_001);
        assert!(Arc::ptr_eq(&ir.to_exprs()[0].0, &e.0));
        // Dropping a 50 000-deep Arc chain recurses; leak it in the test.
        std::mem::forget(e);
    }
}
