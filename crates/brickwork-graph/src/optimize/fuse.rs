//! Fusion: an elementwise expression (with its views) becomes one program whose leaves
//! are sources, generators and materialized stage outputs.
//!
//! A concatenation is not copied when every block the program reads of it lies inside
//! one of its parts (its chunks are its parts' chunks, so elementwise readers always
//! qualify): the leaf then selects the part per block ([`LeafKind::Select`]) and reads
//! it in place. [`read_leaf`] does the same for the stages that read whole blocks
//! (matrix products, block functions).

use crate::expr::{Expr, Op};
use crate::taskgraph::{Leaf, LeafKind, Select};
use crate::view::{AxisCoord, View};
use brickwork_core::{Chunks, Result};
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
    /// The blocks the program is run over (None: unknown, so concatenations are
    /// materialized).
    pub grid: Option<Chunks>,
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
    /// A fuser for a program run over the blocks of `grid`.
    pub fn over(grid: &Chunks) -> Fuser {
        Fuser {
            grid: Some(grid.clone()),
            ..Fuser::default()
        }
    }

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
            Op::Concat { axis } if self.grid.is_some() => {
                let grid = self.grid.clone().expect("a grid");
                let kind = match select(e, *axis, view, &grid, true, m)? {
                    Some(kind) => kind,
                    None => {
                        let (target, writers) = m.materialize(e)?;
                        LeafKind::Buffer {
                            target,
                            writers,
                            reshaped: None,
                        }
                    }
                };
                self.leaf(key.clone(), kind, dtype)
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

/// Whether every block of `grid`, read through `view`, lies inside one part along
/// `axis` of a concatenation whose parts start at `starts`.
fn blocks_within_parts(grid: &Chunks, view: &View, axis: usize, starts: &[usize]) -> bool {
    let c = view.coords[axis];
    let Some(k) = c.from else {
        return true;
    };
    let chunks = &grid.0[k];
    (0..chunks.nblocks()).all(|b| {
        let size = chunks.size(b);
        if size == 0 {
            return true;
        }
        let first = c.start + c.step * chunks.offset(b) as i64;
        let last = first + c.step * (size as i64 - 1);
        let (lo, hi) = (first.min(last), first.max(last));
        let next = starts.partition_point(|&s| s as i64 <= lo);
        starts.get(next).is_none_or(|&s| hi < s as i64)
    })
}

/// The concatenation `e` (along `axis`) read in place through `view` by a reader of
/// the blocks of `grid`, if every block lies inside one part: a [`LeafKind::Select`]
/// whose parts are read by [`read_leaf`].
fn select(
    e: &Expr,
    axis: usize,
    view: &View,
    grid: &Chunks,
    stored: bool,
    m: &mut dyn Materialize,
) -> Result<Option<LeafKind>> {
    // A concatenation of one array is a deliberate copy (`build::rechunk` cuts a
    // stored array read against its chunks from one): keep it.
    if e.node().inputs.len() < 2 {
        return Ok(None);
    }
    let mut starts = Vec::new();
    let mut nonempty = Vec::new();
    let mut at = 0;
    for part in &e.node().inputs {
        let len = part.shape()[axis];
        if len > 0 {
            starts.push(at);
            nonempty.push((at, part));
        }
        at += len;
    }
    if nonempty.is_empty() || !blocks_within_parts(grid, view, axis, &starts) {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(nonempty.len());
    for (start, part) in nonempty {
        // Concatenation coordinates to the part's: shifted back along the axis.
        let shift = View {
            coords: (0..e.ndim())
                .map(|a| AxisCoord {
                    from: Some(a),
                    start: if a == axis { -(start as i64) } else { 0 },
                    step: 1,
                })
                .collect(),
        };
        parts.push(read_leaf(part, &view.then(&shift), grid, stored, m)?);
    }
    Ok(Some(LeafKind::Select(std::sync::Arc::new(Select {
        axis,
        starts,
        parts,
    }))))
}

/// A leaf reading `e` through `view` (iteration coordinates to `e`'s) for a reader of
/// whole blocks of `grid`, copying as little as it can: views are followed down to a
/// NumPy source (or, with `stored`, a stored array: each block decodes only the chunks
/// it reaches), which is read in place; a concatenation whose every block read lies in
/// one part reads that part ([`LeafKind::Select`]); anything else is materialized into
/// an intermediate array (`e` itself, so a view of an elementwise expression computes
/// only what the view shows). Generated values are materialized too: a remote client
/// answers reads with memory.
pub fn read_leaf(
    e: &Expr,
    view: &View,
    grid: &Chunks,
    stored: bool,
    m: &mut dyn Materialize,
) -> Result<Leaf> {
    let mut composed = view.clone();
    let mut bottom = e;
    while let Op::View(inner) = &bottom.node().op {
        composed = composed.then(inner);
        bottom = &bottom.node().inputs[0];
    }
    let kind = match &bottom.node().op {
        Op::Source(s) => Some(LeafKind::Source(s.clone())),
        Op::Stored(src) if stored => Some(LeafKind::Stored(src.clone())),
        Op::Concat { axis } => select(bottom, *axis, &composed, grid, stored, m)?,
        _ => None,
    };
    if let Some(kind) = kind {
        return Ok(Leaf {
            kind,
            view: composed,
        });
    }
    let (target, writers) = m.materialize(e)?;
    Ok(Leaf {
        kind: LeafKind::Buffer {
            target,
            writers,
            reshaped: None,
        },
        view: view.clone(),
    })
}
