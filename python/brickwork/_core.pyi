"""Type stubs of ``brickwork._core``, the Rust extension module (PyO3).

The contract is crates/brickwork-python/README.md; keep both in step.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, final

import numpy as np
import numpy.typing as npt

DTypeName: TypeAlias = Literal[
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
]
Scalar: TypeAlias = bool | int | float
Operand: TypeAlias = Expr | bool | int | float

# One axis of a chunk spec: a size, -1 / None (whole axis), "auto", or explicit sizes.
AxisChunks: TypeAlias = int | None | Literal["auto"] | tuple[int, ...]
ChunkSpec: TypeAlias = (
    int | None | Literal["auto"] | tuple[AxisChunks, ...] | Mapping[int, AxisChunks]
)
Chunks: TypeAlias = tuple[tuple[int, ...], ...]
IndexEntry: TypeAlias = int | slice | None
ProgressCallback: TypeAlias = Callable[[int, int], object]

UnaryOp: TypeAlias = Literal[
    "negative",
    "positive",
    "absolute",
    "sqrt",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "log2",
    "log10",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "floor",
    "ceil",
    "trunc",
    "rint",
    "sign",
    "square",
    "reciprocal",
    "isnan",
    "isinf",
    "isfinite",
    "signbit",
    "logical_not",
    "invert",
    "deg2rad",
    "rad2deg",
    "cbrt",
]
BinaryOp: TypeAlias = Literal[
    "add",
    "subtract",
    "multiply",
    "true_divide",
    "floor_divide",
    "remainder",
    "power",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "arctan2",
    "hypot",
    "copysign",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "left_shift",
    "right_shift",
]
ReduceOp: TypeAlias = Literal[
    "sum",
    "prod",
    "mean",
    "min",
    "max",
    "var",
    "std",
    "any",
    "all",
    "argmin",
    "argmax",
    "nansum",
    "nanprod",
    "nanmean",
    "nanmin",
    "nanmax",
    "nanvar",
    "nanstd",
]

@final
class Expr:
    """An immutable node of the lazy expression graph (one array operation)."""

    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> DTypeName: ...
    @property
    def ndim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def chunks(self) -> Chunks: ...
    @property
    def chunksize(self) -> tuple[int, ...]: ...
    @property
    def numblocks(self) -> tuple[int, ...]: ...
    @property
    def npartitions(self) -> int: ...
    @property
    def key(self) -> int: ...
    def ntasks(self) -> int: ...

class PanicError(RuntimeError):
    """A panic inside Rust, turned into a Python exception."""

class MemoryBudgetError(MemoryError):
    """A computation would not fit the memory budget; raised before any work starts."""

def from_numpy(arr: npt.NDArray[Any], chunks: ChunkSpec, limit: int) -> Expr: ...
def full(
    shape: tuple[int, ...],
    value: Scalar,
    dtype: DTypeName | None,
    chunks: ChunkSpec,
    limit: int,
) -> Expr: ...
def arange(
    start: Scalar,
    step: Scalar,
    num: int,
    dtype: DTypeName,
    chunks: ChunkSpec,
    limit: int,
) -> Expr: ...
def linspace(
    start: Scalar,
    stop: Scalar,
    num: int,
    endpoint: bool,
    dtype: DTypeName,
    chunks: ChunkSpec,
    limit: int,
) -> Expr: ...
def normalize_chunks(
    chunks: ChunkSpec,
    shape: tuple[int, ...],
    dtype: DTypeName,
    limit: int,
) -> Chunks: ...
def unary(op: UnaryOp, x: Expr) -> Expr: ...
def binary(op: BinaryOp, a: Operand, b: Operand) -> Expr: ...
def where(cond: Operand, a: Operand, b: Operand) -> Expr: ...
def astype(x: Expr, dtype: DTypeName) -> Expr: ...
def reduce(
    op: ReduceOp,
    x: Expr,
    axis: tuple[int, ...] | None,
    keepdims: bool,
    dtype: DTypeName | None,
    split_every: int | None,
    ddof: int,
) -> Expr: ...
def getitem(x: Expr, index: tuple[IndexEntry, ...]) -> Expr: ...
def transpose(x: Expr, axes: tuple[int, ...] | None) -> Expr: ...
def broadcast_to(x: Expr, shape: tuple[int, ...]) -> Expr: ...
def concatenate(xs: Sequence[Expr], axis: int) -> Expr: ...
def stack(xs: Sequence[Expr], axis: int) -> Expr: ...
def rechunk(x: Expr, chunks: ChunkSpec, limit: int) -> Expr: ...
def reshape(x: Expr, shape: Sequence[int]) -> Expr: ...
def map_blocks(
    func: Callable[..., Any],
    name: str,
    inputs: Sequence[Expr],
    dtype: str,
    chunks: ChunkSpec | None,
    limit: int,
) -> Expr: ...
def compute(
    exprs: Sequence[Expr],
    num_threads: int,
    progress: ProgressCallback | None = None,
    into: Sequence[npt.NDArray[Any] | None] | None = None,
    memory_limit: int | None = None,
    temporary_directory: str | None = None,
    pool: Any = None,
) -> list[np.ndarray[Any, np.dtype[Any]]]: ...
def compute_pool() -> Any: ...
def random(
    shape: Sequence[int],
    entropy: Sequence[int],
    pool_size: int,
    dist: str,
    dtype: str,
    chunks: ChunkSpec,
    limit: int,
    low: float = 0.0,
    range: float = 1.0,
) -> Expr: ...
def ntasks(exprs: Sequence[Expr]) -> int: ...
def explain(exprs: Sequence[Expr]) -> str: ...
def plan(exprs: Sequence[Expr]) -> dict[str, Any]: ...
def take(x: Expr, indices: Sequence[int], axis: int) -> Expr: ...
def take_runs(
    x: Expr, runs: Sequence[tuple[int, int, int]], axis: int, chunks: Sequence[int] | None = None
) -> Expr: ...
def _panic_in_task() -> None: ...
def matmul(a: Expr, b: Expr) -> Expr: ...
def from_zarr(path: str, component: str | None, chunks: ChunkSpec | None, limit: int) -> Expr: ...
def to_zarr(
    x: Expr,
    path: str,
    component: str | None,
    overwrite: bool,
    num_threads: int,
    progress: ProgressCallback | None = None,
    memory_limit: int | None = None,
) -> None: ...
def cumulative(op: str, x: Expr, axis: int | None, dtype: DTypeName | None) -> Expr: ...
