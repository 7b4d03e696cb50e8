//! Fusion: an elementwise expression (with its views) becomes one program whose leaves
//! are sources, generators and materialized stage outputs.

use crate::expr::{Expr, Op};
use crate::taskgraph::{Leaf, LeafKind};
use crate::view::View;
use brickwork_core::Result;
use brickwork_kernels::program::Reg;
use brickwork_kernels::{Instr, Program};
use std::collections::HashMap;

/// Builds one fused program; `materialize` is called for every reduction node the
/// program reads, and returns the stage producing it and its grid.
#[derive(Default)]
pub struct Fuser {
    /// The program being built.
    pub program: Program,
    /// Its leaves.
    pub leaves: Vec<Leaf>,
    regs: HashMap<(usize, View), Reg>,
    leaf_ids: HashMap<(usize, View), u16>,
}

/// Materializes reduction nodes and gives canonical ids, for a [`Fuser`].
pub trait Materialize {
    /// The canonical (CSE) id of `e`.
    fn canon_id(&mut self, e: &Expr) -> usize;
    /// Plan the stages that write `e` (a reduction or a concatenation) into an
    /// intermediate array; returns its target number and writers.
    fn materialize(&mut self, e: &Expr) -> Result<(usize, std::sync::Arc<crate::Writers>)>;
}

impl Fuser {
    fn leaf(&mut self, key: (usize, View), kind: LeafKind, dtype: brickwork_core::DType) -> Reg {
        let input = match self.leaf_ids.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.leaves.len() as u16;
                self.leaves.push(Leaf {
                    kind,
                    view: key.1.clone(),
                });
                self.leaf_ids.insert(key, i);
                i
            }
        };
        self.program.push(dtype, |dst| Instr::Load { input, dst })
    }

    /// The register holding `e` seen through `view` (iteration coordinates to `e`'s
    /// coordinates), emitting what is not emitted yet.
    pub fn emit(&mut self, e: &Expr, view: &View, m: &mut dyn Materialize) -> Result<Reg> {
        let key = (m.canon_id(e), view.clone());
        if let Some(&r) = self.regs.get(&key) {
            return Ok(r);
        }
        let n = e.node();
        let dtype = n.dtype;
        let reg = match &n.op {
            Op::Source(s) => self.leaf(key.clone(), LeafKind::Source(s.clone()), dtype),
            Op::Generate(g) => self.leaf(key.clone(), LeafKind::Generated(g.clone()), dtype),
            Op::Stored(src) => self.leaf(key.clone(), LeafKind::Stored(src.clone()), dtype),
            Op::Full(value) => {
                let value = *value;
                self.program.push(dtype, |dst| Instr::Const { value, dst })
            }
            Op::Reduce(_)
            | Op::Concat { .. }
            | Op::MapBlocks(_)
            | Op::Scan { .. }
            | Op::Take { .. }
            | Op::MatMul => {
                let (target, writers) = m.materialize(e)?;
                let kind = LeafKind::Buffer {
                    target,
                    writers,
                    reshaped: None,
                };
                self.leaf(key.clone(), kind, dtype)
            }
            Op::Reshape => {
                let input = &n.inputs[0];
                let shape = n.chunks.shape();
                let kind = match &input.node().op {
                    // A C-contiguous source is read in place with the new shape.
                    Op::Source(s) if s.strides == brickwork_core::c_strides(&input.shape()) => {
                        LeafKind::Source(crate::expr::Source {
                            buffer: s.buffer.clone(),
                            offset: s.offset,
                            strides: brickwork_core::c_strides(&shape),
                        })
                    }
                    _ => {
                        let (target, writers) = m.materialize(input)?;
                        LeafKind::Buffer {
                            target,
                            writers,
                            reshaped: Some(shape),
                        }
                    }
                };
                self.leaf(key.clone(), kind, dtype)
            }
            Op::View(inner) => {
                let composed = view.then(inner);
                self.emit(&n.inputs[0], &composed, m)?
            }
            Op::Cast => {
                let src = self.emit(&n.inputs[0], view, m)?;
                self.program.push(dtype, |dst| Instr::Cast { src, dst })
            }
            Op::Unary(op) => {
                let op = *op;
                let src = self.emit(&n.inputs[0], view, m)?;
                self.program
                    .push(dtype, |dst| Instr::Unary { op, src, dst })
            }
            Op::Binary(op) => {
                let op = *op;
                let a = self.emit(&n.inputs[0], view, m)?;
                let b = self.emit(&n.inputs[1], view, m)?;
                self.program
                    .push(dtype, |dst| Instr::Binary { op, a, b, dst })
            }
            Op::Where => {
                let cond = self.emit(&n.inputs[0], view, m)?;
                let a = self.emit(&n.inputs[1], view, m)?;
                let b = self.emit(&n.inputs[2], view, m)?;
                self.program
                    .push(dtype, |dst| Instr::Where { cond, a, b, dst })
            }
        };
        self.regs.insert(key, reg);
        Ok(reg)
    }
}
