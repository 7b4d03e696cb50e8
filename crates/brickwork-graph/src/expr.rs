//! Expression nodes: one per array operation, with shape, dtype and chunks known when
//! the node is built.

use crate::view::View;
use brickwork_core::{Buffer, Chunks, DType, Scalar};
use brickwork_kernels::callback::BlockFn;
use brickwork_kernels::program::Generator;
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::{BinaryOp, UnaryOp};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// An array in memory read in place: element `(i0, i1, ...)` is at
/// `offset + i0 * strides[0] + ...` elements from the buffer's base.
#[derive(Clone)]
pub struct Source {
    /// The memory (kept alive by the buffer).
    pub buffer: Buffer,
    /// The address of element `(0, 0, ...)`.
    pub offset: isize,
    /// The element strides.
    pub strides: Vec<isize>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Source({:p}+{} {:?})",
            self.buffer.as_ptr(),
            self.offset,
            self.strides
        )
    }
}

/// The parameters of a reduction node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReduceSpec {
    /// The operation.
    pub reducer: Reducer,
    /// The reduced axes of the input, sorted.
    pub axes: Vec<usize>,
    /// Whether reduced axes stay as length-1 axes.
    pub keepdims: bool,
    /// The dtype input tiles are cast to before folding.
    pub acc: DType,
    /// The fan-in of the combine tree.
    pub split_every: usize,
}

/// What a node computes.
#[derive(Debug, Clone)]
pub enum Op {
    /// An array in memory.
    Source(Source),
    /// An array on storage (a Zarr array), read region by region as tasks need it.
    Stored(Arc<dyn brickwork_kernels::io::BlockSource>),
    /// A 1-d array computed from the element index (arange, linspace).
    Generate(Generator),
    /// Every element equal to a constant.
    Full(Scalar),
    /// An elementwise function of input 0 (already of the loop's dtype).
    Unary(UnaryOp),
    /// An elementwise function of inputs 0 and 1 (same shape and loop dtype).
    Binary(BinaryOp),
    /// `where(input 0, input 1, input 2)`.
    Where,
    /// Input 0 converted to the node's dtype.
    Cast,
    /// An affine view of input 0 (slicing, transposes, broadcasting, chunk refinement).
    View(View),
    /// A reduction of input 0.
    Reduce(ReduceSpec),
    /// Input 0's elements in C order, seen with the node's shape.
    Reshape,
    /// A cumulative sum or product of input 0 (already of the node's dtype) along an
    /// axis.
    Scan {
        /// The operation.
        op: brickwork_kernels::scan::ScanOp,
        /// The axis.
        axis: usize,
    },
    /// Input 0 indexed along `axis` by a list of coordinates (`numpy.take`).
    Take {
        /// The axis.
        axis: usize,
        /// The coordinates along it, in output order (validated, non-negative).
        indices: Arc<crate::Indices>,
    },
    /// The matrix product of inputs 0 (m x k) and 1 (k x n), whose k chunks match.
    MatMul,
    /// A user function applied block by block: output block `i` is `func` of block `i`
    /// of every input (all inputs have the node's number of blocks per axis).
    MapBlocks(Arc<dyn BlockFn>),
    /// The inputs joined along an axis (all of the node's dtype and, but for that axis,
    /// of its shape and chunks).
    Concat {
        /// The joining axis.
        axis: usize,
    },
}

/// One operation of the expression graph.
#[derive(Debug)]
pub struct Node {
    /// A process-unique id.
    pub id: u64,
    /// What the node computes.
    pub op: Op,
    /// The operands.
    pub inputs: Vec<Expr>,
    /// The element type.
    pub dtype: DType,
    /// The chunk grid (and so the shape).
    pub chunks: Chunks,
}

/// A lazy array: a shared handle to a [`Node`]. Cloning is cheap.
#[derive(Debug, Clone)]
#[must_use = "an Expr does nothing until it is computed"]
pub struct Expr(pub Arc<Node>);

impl Expr {
    /// A new node.
    pub fn new(op: Op, inputs: Vec<Expr>, dtype: DType, chunks: Chunks) -> Expr {
        Expr(Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            op,
            inputs,
            dtype,
            chunks,
        }))
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.0
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.0.chunks.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.0.chunks.ndim()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// The chunk grid.
    pub fn chunks(&self) -> &Chunks {
        &self.0.chunks
    }

    /// The number of elements.
    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }

    /// The node's id.
    pub fn id(&self) -> u64 {
        self.0.id
    }
}
