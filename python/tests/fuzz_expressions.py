"""Differential fuzzing of brickwork against NumPy (issue 10). A helper module: no tests.

``programs()`` is a hypothesis strategy of random expression trees. A program starts from
NumPy arrays of every dtype brickwork supports (with extreme values: ``iinfo`` limits,
``2**63 + 1`` in uint64, ``2**53 + 1`` in int64, NaN / inf / -0.0 / subnormals in
floats), each given to brickwork with a random chunking (regular, irregular, chunks of
one element, empty chunks such as ``(0, 2, 0, 3)``, one chunk, "auto"), 0-d and empty
shapes included. Each further node applies one operation to earlier nodes: elementwise
ufuncs and operators (with arrays of other shapes and chunkings, Python and NumPy
scalars, NumPy arrays and lists), ``where`` / ``clip`` / ``astype`` / ``round``,
reductions and scans with their arguments, basic and advanced indexing, assignment,
and shape operations. A node is source text, rendered for both libraries
(``da.sqrt(a1)`` and ``np.sqrt(x1)``): what runs is exactly what a repro prints.

While a program is drawn, NumPy evaluates every node, so that the next operation's
arguments fit its operands (axes, indices, broadcastable shapes); where NumPy raises,
the node is a leaf of the tree: brickwork must raise the same class of exception
(``_support.numpy_error_class``), when built or when computed.

``run_program`` builds the brickwork arrays, computes them all in one
``brickwork.compute`` (then one by one where that fails, to name the node at fault)
and checks each node against NumPy applied to *brickwork's own values of the node's
inputs*: every operation is checked on its own, so the rounding of one node (a
transcendental function, a sum in another order) is never amplified by the nodes
after it. Checks: the exception class, shape, dtype, consistent chunks, values, that
the NumPy inputs were not modified, and that computing everything together gives what
computing each node alone gives.

Values: integers and booleans exactly; floats exactly (NaN equal to NaN, and the sign
of zero) for correctly rounded operations (arithmetic, sqrt, comparisons, indexing,
casts, ...); with ``_support.default_rtol`` for transcendental functions; and with a
bound derived from the inputs for float reductions and scans, whose summation order
differs from NumPy's (where an intermediate overflow or underflow can depend on that
order, only the finite results are compared, lane by lane).

Not compared, on purpose (documented in brickwork, or undefined or inconsistent in
NumPy itself):

- float16: where NumPy answers in float16, the reference is NumPy on float32 inputs
  (brickwork computes in float32, see ``_support``); complex is not produced;
- elements whose value NumPy leaves undefined (a C cast of a float NaN / inf /
  out-of-range value to an integer): ``astype``, assignment, ``mean(dtype=<int>)`` of
  an empty lane or with a quotient out of range, NumPy's float64 path of an integer
  ``round(x, decimals < 0)`` (out of range, or beyond 2**53); an integer
  ``reciprocal(0)`` (documented: brickwork gives 0); refusing such a cast with
  OverflowError is accepted;
- ``clip`` where min > max (NumPy documents max, but answers min when max is a Python
  int out of range); ``power(-inf, 0.5)`` (NumPy: NaN on short arrays, inf on long);
- a variance with ``ddof >= N`` may be inf or NaN (NumPy's choice depends on the last
  bit of a zero numerator): any non-finite value is accepted there;
- the sign of a zero result of maximum / minimum / fmax / fmin / clip and of
  reductions (NumPy's own choice depends on the SIMD path).

Not drawn: axis 0 / -1 for a 0-d array in reductions and scans (NumPy's sum / cumsum /
argmin accept them, a legacy quirk; mean, var and Dask do not), ``None`` in an
assignment key (documented unsupported), a list or an array assigned into one element
(NumPy raises TypeError or ValueError, or accepts it, by dtype), an empty value into an
empty region of another shape (NumPy does not check it).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork
import brickwork.array as da
from _support import DTYPES, default_rtol, expected_dtype, explicit_chunks, numpy_error_class

__all__ = [
    "FuzzFailure",
    "Program",
    "programs",
    "run_program",
]

ERRORS = (OverflowError, TypeError, IndexError, ValueError)
INT_KINDS = "iu"

# ---------------------------------------------------------------------------- literals


def float_literal(v: float) -> str:
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "-float('inf')"
    return repr(float(v))


def literal(v: Any) -> str:
    """Python source that evaluates to ``v`` exactly (constants of the programs)."""
    if v is None:
        return "None"
    if v is Ellipsis:
        return "..."
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        return float_literal(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, np.ndarray):
        return array_literal(v)
    if isinstance(v, np.bool_):
        return f"np.bool_({bool(v)})"
    if isinstance(v, np.generic):
        return f"np.{v.dtype.name}({literal(v.item())})"
    if isinstance(v, np.dtype):
        return f"np.{v.name}"
    if isinstance(v, slice):
        return f"slice({literal(v.start)}, {literal(v.stop)}, {literal(v.step)})"
    if isinstance(v, list):
        return "[" + ", ".join(literal(i) for i in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(literal(i) for i in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(i)}" for k, i in v.items()) + "}"
    raise TypeError(f"no literal for {type(v)}")


def _nested(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(i) for i in v) + "]"
    return literal(v)


def array_literal(x: np.ndarray) -> str:
    dt = f"np.{x.dtype.name}"
    if x.size == 0:
        return f"np.zeros({literal(tuple(x.shape))}, dtype={dt})"
    return f"np.array({_nested(x.tolist())}, dtype={dt})"


def operand_literal(v: Any) -> str:
    """A literal that can stand next to an operator (negative numbers in parentheses)."""
    s = literal(v)
    return f"({s})" if s.startswith("-") else s


def key_literal(key: Any) -> str:
    """The text between the brackets of ``x[...]`` for an index key."""

    def item(k: Any) -> str:
        if isinstance(k, slice):
            a = "" if k.start is None else literal(k.start)
            b = "" if k.stop is None else literal(k.stop)
            return f"{a}:{b}" if k.step is None else f"{a}:{b}:{literal(k.step)}"
        return literal(k)

    if isinstance(key, tuple):
        if not key:
            return "()"
        if len(key) == 1:
            return item(key[0]) + ","
        return ", ".join(item(k) for k in key)
    return item(key)


# ----------------------------------------------------------------------- the program


@dataclass
class Node:
    """One operation. ``bw`` / ``np`` are source templates: ``@0``, ``@1``, … stand for
    the names of the parents (``a3`` for brickwork, ``x3`` for NumPy). A setitem node's
    templates are the assignment statement, with ``@T`` for the target."""

    index: int
    op: str
    parents: tuple[int, ...]
    bw: str
    np: str
    check: str = "exact"  # exact | ulp | reduce | scan | shape-only
    zero_sign: bool = True
    undefined: str | None = None  # NumPy source of a mask of undefined elements
    setitem: bool = False
    leaf_value: np.ndarray | None = None  # the NumPy array of a from_array leaf
    unknown_shape: bool = False
    terminal: bool = False
    widen: bool = False  # a ufunc: NumPy's float16 answer is redone on float32 inputs
    params: dict[str, Any] = field(default_factory=dict)
    # filled while drawing
    value: np.ndarray | None = None
    error: type | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and not self.terminal and self.value is not None

    def _fill(self, template: str, prefix: str) -> str:
        return re.sub(r"@(\d+)", lambda m: f"{prefix}{self.parents[int(m.group(1))]}", template)

    def bw_lines(self, target: str, nodes: list[Node], fresh: bool = False) -> list[str]:
        """Statements making ``target``. ``fresh``: a new Array object (``.copy()``), as
        the base of an assignment: an operation may return its input itself (as Dask's
        ``x[:]``), and assigning into the result would then modify the input too."""
        if self.setitem:
            base = nodes[self.parents[0]]
            assign = self._fill(self.bw, "a").replace("@T", target)
            return base.bw_lines(target, nodes, fresh=True) + [assign]
        if fresh:
            return [f"{target} = ({self._fill(self.bw, 'a')}).copy()"]
        return [f"{target} = {self._fill(self.bw, 'a')}"]

    def np_lines(self, target: str) -> list[str]:
        if self.leaf_value is not None:
            return [f"{target} = {self.np}"]
        if self.setitem:
            base = f"x{self.parents[0]}"
            return [f"{target} = np.array({base})", self._fill(self.np, "x").replace("@T", target)]
        return [f"{target} = {self._fill(self.np, 'x')}"]

    def undefined_lines(self, target: str) -> list[str]:
        return [f"{target} = {self._fill(self.undefined, 'x')}"] if self.undefined else []


@dataclass
class Program:
    nodes: list[Node] = field(default_factory=list)

    def ancestors(self, index: int) -> list[int]:
        seen: set[int] = set()
        stack = [index]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            stack.extend(self.nodes[i].parents)
        return sorted(seen)

    def source(self, indices: list[int] | None = None, outputs: list[int] | None = None) -> str:
        """The program (or the part of it computing ``indices``) as a runnable script."""
        indices = list(range(len(self.nodes))) if indices is None else indices
        outputs = [indices[-1]] if outputs is None else outputs
        lines = ["import numpy as np", "import brickwork", "import brickwork.array as da", ""]
        for i in indices:
            node = self.nodes[i]
            if node.leaf_value is not None:
                lines += node.np_lines(f"x{i}")
        lines.append("# brickwork")
        for i in indices:
            lines += self.nodes[i].bw_lines(f"a{i}", self.nodes)
        if len(outputs) == 1:
            lines.append(f"print(repr(a{outputs[0]}.compute()))")
        else:
            lines.append(f"print(brickwork.compute({', '.join(f'a{i}' for i in outputs)}))")
        lines.append("# NumPy")
        for i in indices:
            node = self.nodes[i]
            if node.leaf_value is None:
                lines += node.np_lines(f"x{i}")
        lines.append(f"print(repr({', '.join(f'x{i}' for i in outputs)}))")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Program:\n" + self.source()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis' printer
        printer.text(repr(self))


# ------------------------------------------------------------------ NumPy evaluation

_CODE_CACHE: dict[str, Any] = {}


def _exec(lines: list[str], env: dict[str, Any]) -> None:
    text = "\n".join(lines)
    code = _CODE_CACHE.get(text)
    if code is None:
        code = compile(text, "<fuzz>", "exec")
        if len(_CODE_CACHE) > 20000:
            _CODE_CACHE.clear()
        _CODE_CACHE[text] = code
    exec(code, env)  # noqa: S102 - the fuzzer's own generated source


def _widen(v: Any) -> Any:
    if isinstance(v, np.ndarray | np.generic) and v.dtype.kind in "biu" and v.dtype.itemsize == 1:
        return np.asarray(v, dtype=np.float32)
    return v


def undefined_cast(value: Any, dtype: Any) -> np.ndarray:
    """Where casting ``value`` to ``dtype`` is undefined in NumPy (C): a float that is
    NaN, infinite or out of the integer range after truncation."""
    value = np.asarray(value)
    dtype = np.dtype(dtype)
    if dtype.kind not in INT_KINDS or value.dtype.kind != "f":
        return np.zeros(value.shape, bool)
    info = np.iinfo(dtype)
    with np.errstate(all="ignore"):
        t = np.trunc(value.astype(np.float64))
        ok = np.isfinite(t) & (t >= float(info.min)) & (t < float(info.max) + 1.0)
    return ~ok


def undefined_assign(base: Any, key: Any, value: Any) -> np.ndarray:
    """Where ``base[key] = value`` writes an undefined value (see ``undefined_cast``)."""
    base = np.asarray(base)
    mask = np.zeros(base.shape, bool)
    mask[key] = undefined_cast(value, base.dtype)
    return mask


def clip_undefined(lo: Any, hi: Any) -> np.ndarray:
    """Where ``clip``'s bounds cross (``lo > hi``)."""
    try:
        return np.asarray(np.greater(lo, hi), dtype=bool)
    except (OverflowError, TypeError, ValueError):
        return np.asarray(False)


def round_undefined(x: Any, decimals: int) -> np.ndarray:
    """Where NumPy's integer ``round(x, decimals < 0)`` is not an integer rounding: it
    computes in float64 and casts back, so a result out of the dtype's range is an
    undefined cast, and beyond 2**53 the float rounds first."""
    x = np.asarray(x)
    if x.dtype.kind not in INT_KINDS or decimals >= 0:
        return np.asarray(False)
    f = 10.0 ** (-decimals)
    info = np.iinfo(x.dtype)
    with np.errstate(all="ignore"):
        r = np.rint(x.astype(np.float64) / f) * f
        ok = (r >= float(info.min)) & (r < float(info.max) + 1.0)
        ok &= np.abs(x.astype(np.float64)) < 2.0**53
    return ~ok


def mean_undefined(x: Any, axis: Any, keepdims: bool, dtype: Any) -> np.ndarray:
    """Where NumPy's ``mean(x, dtype=<int>)`` casts a NaN or out-of-range quotient."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)
        count = np.sum(np.ones(np.shape(x)), axis=axis, keepdims=keepdims)
        quotient = np.asarray(total, dtype=np.float64) / count
    info = np.iinfo(dtype)
    return ~((quotient >= float(info.min)) & (quotient < float(info.max) + 1.0))


def power_undefined(base: Any, exponent: Any) -> np.ndarray:
    """Where NumPy's own float ``power`` depends on the length of the array."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(np.isneginf(np.asarray(base, dtype=np.float64))
                              & (np.asarray(exponent, dtype=np.float64) == 0.5), dtype=bool)
    except (TypeError, ValueError, OverflowError):
        return np.asarray(False)


HELPERS = {
    "np": np,
    "_undefined_cast": undefined_cast,
    "_undefined_assign": undefined_assign,
    "_clip_undefined": clip_undefined,
    "_round_undefined": round_undefined,
    "_power_undefined": power_undefined,
    "_mean_undefined": mean_undefined,
}


class Unverifiable(Exception):
    """NumPy itself failed in a way that says nothing about brickwork."""


@dataclass
class NumpyRaised:
    cls: type
    exc: BaseException


def numpy_eval(node: Node, values: dict[int, np.ndarray]) -> np.ndarray | NumpyRaised:
    """The node's NumPy result on the given values of its parents."""
    if node.leaf_value is not None:
        return node.leaf_value
    target = f"x{node.index}"
    env: dict[str, Any] = dict(HELPERS)
    for p in node.parents:
        env[f"x{p}"] = values[p]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _exec(node.np_lines(target), env)
            result = np.asarray(env[target])
            if node.widen and result.dtype == np.float16:
                for p in node.parents:
                    env[f"x{p}"] = _widen(values[p])
                _exec(node.np_lines(target), env)
                result = np.asarray(env[target])
        except ERRORS as exc:
            return NumpyRaised(numpy_error_class(exc), exc)
        except Exception as exc:  # noqa: BLE001 - anything else: NumPy's own limits
            raise Unverifiable(repr(exc)) from exc
    if result.dtype.name not in DTYPES and result.dtype != np.float16:
        raise Unverifiable(f"NumPy result dtype {result.dtype}")
    return result


def numpy_undefined(node: Node, values: dict[int, np.ndarray]) -> np.ndarray | None:
    if not node.undefined:
        return None
    env: dict[str, Any] = dict(HELPERS)
    for p in node.parents:
        env[f"x{p}"] = values[p]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _exec(node.undefined_lines("u"), env)
    return np.asarray(env["u"], dtype=bool)


# ------------------------------------------------------------------------ leaf values


def special_values(dtype: Any) -> list[Any]:
    """Extreme and awkward values of a dtype, as Python scalars."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return [False, True]
    if dt.kind in INT_KINDS:
        info = np.iinfo(dt)
        lo, hi = int(info.min), int(info.max)
        vals = {lo, lo + 1, 0, 1, 2, 3, hi - 1, hi, hi // 2 + 1, -1, -2, 7}
        if dt == np.int64:
            vals |= {2**53 + 1, -(2**53 + 1), 2**62}
        if dt == np.uint64:
            vals |= {2**63 + 1, 2**63, 2**53 + 1}
        return sorted(v for v in vals if lo <= v <= hi)
    fi = np.finfo(dt)
    vals = [
        0.0, -0.0, math.nan, math.inf, -math.inf, float(fi.max), -float(fi.max),
        float(fi.tiny), -float(fi.tiny), float(fi.smallest_subnormal), float(fi.eps),
        0.5, -0.5, 1.0, -1.0, 1.5, -2.5, 2.5, 3.0, 2.0**24 + 1, 2.0**53 + 1, 2.0**63,
        -(2.0**63), 2.0**64, 1e10, 255.0, 256.0, -129.0, 0.1, 100.0,
    ]
    return [float(dt.type(v)) for v in vals]


def fuzz_elements(dtype: Any) -> st.SearchStrategy:
    dt = np.dtype(dtype)
    specials = st.sampled_from(special_values(dt))
    if dt.kind == "b":
        return st.booleans()
    if dt.kind in INT_KINDS:
        info = np.iinfo(dt)
        small = st.integers(max(int(info.min), -5), min(int(info.max), 9))
        full = st.integers(int(info.min), int(info.max))
        return st.one_of(small, specials, full)
    width = dt.itemsize * 8
    moderate = st.floats(min_value=-1e3, max_value=1e3, width=width)
    small_ints = st.integers(-5, 9).map(float)
    nonfinite = st.sampled_from([math.nan, math.inf, -math.inf, -0.0])
    return st.one_of(small_ints, moderate, specials, nonfinite)


# Shapes of up to 3 axes of up to 5 elements; sampled so that 0-d arrays and empty axes
# come up often but not most of the time (hypothesis favours its simplest choices).
_NDIMS = st.sampled_from([2, 1, 3, 0, 1, 2])
_SIDES = st.sampled_from([3, 1, 2, 4, 5, 0, 2, 3, 1])
FUZZ_SHAPES = _NDIMS.flatmap(lambda n: st.tuples(*[_SIDES] * n))


@st.composite
def axis_chunk_spec(draw: Any, n: int) -> Any:
    return draw(
        st.one_of(
            st.just(-1),
            st.just(1),
            st.integers(1, max(n, 1) + 1),
            explicit_chunks(n),
            explicit_chunks(n, allow_empty_chunks=True),
            st.just(None),
        )
    )


@st.composite
def chunk_spec(draw: Any, shape: tuple[int, ...]) -> Any:
    """A chunks argument for ``shape``: per-axis tuples (with empty chunks), one int, -1,
    "auto", or a dict."""
    per_axis = st.tuples(*(axis_chunk_spec(n) for n in shape))
    options = [per_axis, per_axis, per_axis, st.just(-1), st.just(1), st.integers(1, 6)]
    options.append(st.just("auto"))
    if shape:
        options.append(
            st.integers(0, len(shape) - 1).flatmap(
                lambda ax: axis_chunk_spec(shape[ax]).map(lambda c: {ax: c})
            )
        )
    spec = draw(st.one_of(options))
    if isinstance(spec, tuple) and not shape:
        return ()
    return spec


# ----------------------------------------------------------------------- op catalogue

UNARY_EXACT = (
    "sqrt", "negative", "positive", "absolute", "fabs", "square", "reciprocal", "floor",
    "ceil", "trunc", "rint", "sign", "signbit", "isnan", "isinf", "isfinite",
    "logical_not", "invert",
)
UNARY_ULP = (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "cbrt",
    "deg2rad", "rad2deg",
)
UNARY_OPERATORS = {"negative": "-", "positive": "+", "invert": "~"}

BINARY_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "floor_divide": "//",
    "remainder": "%", "power": "**", "bitwise_and": "&", "bitwise_or": "|",
    "bitwise_xor": "^", "left_shift": "<<", "right_shift": ">>", "equal": "==",
    "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=",
}
BINARY_FUNCS = (
    "maximum", "minimum", "fmax", "fmin", "arctan2", "hypot", "copysign", "logical_and",
    "logical_or", "logical_xor",
)
BINARY_ULP = ("power", "arctan2", "hypot")
NO_ZERO_SIGN = ("maximum", "minimum", "fmax", "fmin", "clip")
# the reflected operator of a comparison (``3 < a`` is ``a > 3``)

REDUCTIONS = (
    "sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax", "any", "all",
    "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nanargmin",
    "nanargmax",
)
REDUCTION_METHODS = {"sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax",
                     "any", "all"}
MOMENTS = ("var", "std", "nanvar", "nanstd")
ARG_REDUCTIONS = ("argmin", "argmax", "nanargmin", "nanargmax")
SCANS = ("cumsum", "cumprod", "nancumsum", "nancumprod")


def reduction_dtypes(name: str, kind: str) -> list[str | None]:
    if name in ("sum", "prod", "nansum", "nanprod"):
        if kind == "f":
            return [None, "float32", "float64"]
        return [None, "int64", "uint64", "int32", "float32", "float64"]
    if name in ("mean", "nanmean"):
        return [None, "float32", "float64"] + ([] if kind == "f" else ["int64"])
    if name in MOMENTS:
        return [None, "float32", "float64"]
    return [None]


# --------------------------------------------------------------------------- drawing


class Builder:
    """Draws a program node by node, NumPy evaluating each node as it is drawn."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.program = Program()

    @property
    def nodes(self) -> list[Node]:
        return self.program.nodes

    def rare(self, k: int, label: str = "rare") -> bool:
        """True about once in k + 1 draws (hypothesis favours its simplest choice, the
        first one: False)."""
        return self.draw(st.sampled_from([False] * k + [True]), label=label)

    def pick(self, pred: Any = None, label: str = "operand") -> Node | None:
        cands = [n for n in self.nodes if n.usable and (pred is None or pred(n))]
        if not cands:
            return None
        k = self.draw(st.integers(0, len(cands) - 1), label=label)
        return cands[-1 - k]

    def add(self, node: Node) -> Node | None:
        values = {p: self.nodes[p].value for p in node.parents}
        try:
            result = numpy_eval(node, values)
        except Unverifiable:
            return None
        if isinstance(result, NumpyRaised):
            node.error = result.cls
        else:
            if result.dtype == np.float16:
                return None  # a float16 NumPy could not redo in float32 (not expected)
            node.value = result
        self.nodes.append(node)
        return node

    def new(self, op: str, parents: tuple[int, ...], bw: str, np_: str, **kw: Any) -> Node:
        return Node(index=len(self.nodes), op=op, parents=parents, bw=bw, np=np_, **kw)

    # ---------------------------------------------------------------- leaves

    def leaf(self, shape: tuple[int, ...] | None = None, dtype: Any = None) -> Node:
        draw = self.draw
        dtype = draw(st.sampled_from(DTYPES), label="leaf dtype") if dtype is None else dtype
        shape = draw(FUZZ_SHAPES, label="leaf shape") if shape is None else tuple(shape)
        x = draw(hnp.arrays(np.dtype(dtype), shape, elements=fuzz_elements(dtype)), label="x")
        layout = draw(st.sampled_from(["c"] * 8 + ["f", "readonly", "reversed"]), label="layout")
        src = array_literal(x)
        if layout == "f" and x.ndim >= 2:
            x = np.asfortranarray(x)
            src = f"np.asfortranarray({src})"
        elif layout == "readonly":
            x.setflags(write=False)
        elif layout == "reversed" and x.ndim >= 1:
            x = np.ascontiguousarray(x[::-1])[::-1]
            src = f"np.ascontiguousarray({src}[::-1])[::-1]"
        form = draw(st.sampled_from(["chunks"] * 10 + ["default", "asarray"]), label="leaf form")
        index = len(self.nodes)
        if form == "chunks":
            chunks = draw(chunk_spec(shape), label="chunks")
            bw = f"da.from_array(x{index}, chunks={literal(chunks)})"
        elif form == "default":
            bw = f"da.from_array(x{index})"
        else:
            bw = f"da.asarray(x{index})"
        node = self.new("from_array", (), bw, src, leaf_value=x)
        node.value = x
        self.nodes.append(node)
        return node

    def creation(self) -> Node | None:
        draw = self.draw
        kind = draw(st.sampled_from(["arange", "full", "zeros", "ones"]), label="creation")
        dtype = draw(st.sampled_from(DTYPES), label="dtype")
        if kind == "arange":
            start = draw(st.integers(-5, 5))
            stop = draw(st.integers(-5, 12))
            step = draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
            n = len(range(start, stop, step))
            chunks = draw(axis_chunk_spec(n), label="chunks")
            use_dtype = draw(st.sampled_from([None, "int64", "float64", "float32", "int16"]))
            dt = "" if use_dtype is None else f", dtype={literal(use_dtype)}"
            bw = f"da.arange({start}, {stop}, {step}{dt}, chunks={literal((chunks,))})"
            np_ = f"np.arange({start}, {stop}, {step}{dt})"
        else:
            shape = draw(FUZZ_SHAPES, label="shape")
            chunks = draw(chunk_spec(shape), label="chunks")
            if kind == "full":
                v = draw(st.sampled_from(special_values(dtype)), label="fill")
                bw = f"da.full({literal(shape)}, {literal(v)}, dtype={literal(dtype)}, " \
                     f"chunks={literal(chunks)})"
                np_ = f"np.full({literal(shape)}, {literal(v)}, dtype={literal(dtype)})"
            else:
                bw = f"da.{kind}({literal(shape)}, dtype={literal(dtype)}, chunks={literal(chunks)})"
                np_ = f"np.{kind}({literal(shape)}, dtype={literal(dtype)})"
        return self.add(self.new(kind, (), bw, np_))

    def fresh_like(self, shape: tuple[int, ...], broadcast: bool = True) -> Node:
        """A new leaf whose shape broadcasts against ``shape`` (or is ``shape``)."""
        if broadcast:
            shape = self.draw(
                hnp.broadcastable_shapes(shape, min_dims=0, max_dims=min(len(shape) + 1, 4),
                                         min_side=0, max_side=5),
                label="broadcast shape",
            )
        return self.leaf(shape=shape)

    # ---------------------------------------------------------------- scalars / operands

    def python_scalar(self, dtype: Any = None) -> Any:
        draw = self.draw
        options: list[Any] = [
            st.integers(-3, 9),
            st.booleans(),
            st.sampled_from([0.5, -2.5, 3.0, -0.0, 0.0, math.nan, math.inf, -math.inf, 1e300,
                             1.0e-320, 255.0, 2.0**63, 1e10]),
            st.sampled_from([300, -1, 2**63, 2**64, -(2**63) - 1, 2**31, 128, -129, 65536,
                             2**63 - 1, 2**53 + 1]),
        ]
        if dtype is not None and np.dtype(dtype).kind in INT_KINDS:
            info = np.iinfo(dtype)
            options.append(st.sampled_from([int(info.min), int(info.max), int(info.max) + 1,
                                            int(info.min) - 1]))
        return draw(st.one_of(options), label="python scalar")

    def numpy_scalar(self) -> Any:
        dtype = self.draw(st.sampled_from(DTYPES), label="scalar dtype")
        v = self.draw(st.sampled_from(special_values(dtype) + [1, 2] if dtype != "bool"
                                      else [True, False]), label="scalar value")
        return np.dtype(dtype).type(v)

    def operand(self, base: Node, allow_node: bool = True) -> tuple[str, list[int]]:
        """Source for a second operand next to ``base`` (``@k`` for new parents)."""
        draw = self.draw
        kinds = ["fresh", "fresh", "python", "python", "numpy_scalar", "numpy_array", "list"]
        if allow_node:
            kinds += ["node", "node"]
        kind = draw(st.sampled_from(kinds), label="operand kind")
        shape = base.value.shape
        if kind == "node":
            other = self.pick(label="other node")
            if other is not None:
                return "@", [other.index]
            kind = "fresh"
        if kind == "fresh":
            return "@", [self.fresh_like(shape).index]
        if kind == "python":
            return operand_literal(self.python_scalar(base.value.dtype)), []
        if kind == "numpy_scalar":
            return literal(self.numpy_scalar()), []
        if kind == "numpy_array":
            bshape = draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=max(len(shape), 1),
                                                   max_side=4), label="array shape")
            dtype = draw(st.sampled_from(DTYPES), label="array dtype")
            arr = draw(hnp.arrays(np.dtype(dtype), bshape, elements=fuzz_elements(dtype)))
            return array_literal(arr), []
        n = shape[-1] if shape else 1
        n = draw(st.sampled_from([n, 1]), label="list length")
        vals = draw(st.lists(st.one_of(st.integers(-3, 9), st.sampled_from([0.5, -1.5, 2.0])),
                             min_size=n, max_size=n), label="list")
        return literal(vals), []

    # ---------------------------------------------------------------- elementwise

    def unary(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        name = draw(st.sampled_from(UNARY_EXACT + UNARY_ULP), label="ufunc")
        forms = ["da", "np"] + (["op"] if name in UNARY_OPERATORS else [])
        forms += ["abs"] if name == "absolute" else []
        form = draw(st.sampled_from(forms), label="form")
        if form == "op":
            bw = np_ = f"{UNARY_OPERATORS[name]}@0"
        elif form == "abs":
            bw = np_ = "abs(@0)"
        else:
            bw, np_ = f"{form}.{name}(@0)", f"np.{name}(@0)"
        undefined = None
        if name == "reciprocal" and base.value.dtype.kind in INT_KINDS:
            undefined = "@0 == 0"  # documented: brickwork gives 0, NumPy an undefined value
        check = "ulp" if name in UNARY_ULP else "exact"
        return self.add(self.new(name, (base.index,), bw, np_, check=check, undefined=undefined,
                                 widen=True))

    def binary(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        name = draw(st.sampled_from(tuple(BINARY_OPERATORS) + BINARY_FUNCS), label="binary")
        text, new_parents = self.operand(base)
        parents = [base.index] + new_parents
        other = "@1" if new_parents else text
        swap = draw(st.booleans(), label="swap")
        left, right = (other, "@0") if swap else ("@0", other)
        forms = ["da", "np"] + (["op", "op"] if name in BINARY_OPERATORS else [])
        form = draw(st.sampled_from(forms), label="form")
        if form == "op":
            bw = np_ = f"{left} {BINARY_OPERATORS[name]} {right}"
        else:
            bw, np_ = f"{form}.{name}({left}, {right})", f"np.{name}({left}, {right})"
        check = "ulp" if name in BINARY_ULP else "exact"
        undefined = None
        if name == "power":
            # NumPy's power(-inf, 0.5) is NaN on short arrays (a sqrt path) and inf on
            # long ones (C's pow): not compared
            undefined = f"_power_undefined({left}, {right})"
        return self.add(self.new(name, tuple(parents), bw, np_, check=check,
                                 zero_sign=name not in NO_ZERO_SIGN, widen=True,
                                 undefined=undefined))

    def where(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        parents = [base.index]
        texts = []
        for role in ("x", "y"):
            text, new = self.operand(base)
            if new:
                texts.append(f"@{len(parents)}")
                parents += new
            else:
                texts.append(text)
        cond_kind = draw(st.sampled_from(["base", "base", "compare", "python"]), label="cond")
        if cond_kind == "python":
            cond = literal(draw(st.booleans()))
            texts = ["@0", texts[1]]
        elif cond_kind == "compare":
            cond = f"@0 > {operand_literal(draw(st.sampled_from([0, 1, 0.5, -1])))}"
        else:
            cond = "@0"
        form = draw(st.sampled_from(["da", "np"]), label="form")
        bw = f"{form}.where({cond}, {texts[0]}, {texts[1]})"
        np_ = f"np.where({cond}, {texts[0]}, {texts[1]})"
        return self.add(self.new("where", tuple(parents), bw, np_))

    def clip(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        parents = [base.index]
        bounds = []
        for role in ("lo", "hi"):
            if self.rare(3, f"{role} none"):
                bounds.append("None")
                continue
            text, new = self.operand(base)
            if new:
                bounds.append(f"@{len(parents)}")
                parents += new
            else:
                bounds.append(text)
        form = draw(st.sampled_from(["da", "np", "method"]), label="form")
        if form == "method":
            bw = f"@0.clip({bounds[0]}, {bounds[1]})"
        else:
            bw = f"{form}.clip(@0, {bounds[0]}, {bounds[1]})"
        np_ = f"np.clip(@0, {bounds[0]}, {bounds[1]})"
        undefined = None
        if "None" not in bounds:
            # min > max: NumPy documents max there, but answers min when max is a Python
            # int out of the input's range (it drops that bound): not compared
            undefined = f"_clip_undefined({bounds[0]}, {bounds[1]})"
        return self.add(self.new("clip", tuple(parents), bw, np_, zero_sign=False, widen=True,
                                 undefined=undefined))

    def astype(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        dtype = draw(st.sampled_from(DTYPES), label="astype")
        spelled = draw(st.sampled_from([literal(dtype), f"np.{dtype}", f"np.dtype({dtype!r})"]))
        casting = draw(st.sampled_from([None] * 6 + ["safe", "same_kind"]), label="casting")
        args = spelled + ("" if casting is None else f", casting={casting!r}")
        node = self.new("astype", (base.index,), f"@0.astype({args})", f"@0.astype({args})",
                        undefined=f"_undefined_cast(@0, {dtype!r})")
        return self.add(node)

    def round(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        decimals = draw(st.integers(-2, 3), label="decimals")
        form = draw(st.sampled_from(["da", "np", "method"]), label="form")
        bw = f"@0.round({decimals})" if form == "method" else f"{form}.round(@0, {decimals})"
        check = "exact" if decimals == 0 else "ulp"
        return self.add(self.new("round", (base.index,), bw, f"np.round(@0, {decimals})",
                                 check=check, undefined=f"_round_undefined(@0, {decimals})"))

    # ---------------------------------------------------------------- reductions / scans

    def axis(self, ndim: int, single: bool = False) -> Any:
        draw = self.draw
        options: list[Any] = [st.none()]
        if ndim:
            options += [st.integers(-ndim, ndim - 1)] * 2
            if not single:
                options.append(
                    st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
                        lambda axs: st.tuples(*(st.sampled_from([a, a - ndim]) for a in axs))
                    )
                )
        # NumPy's reductions and scans accept axis 0 / -1 on a 0-d array (a legacy quirk,
        # mean / var / std do not, Dask neither): not drawn
        bad = [st.sampled_from([ndim, -ndim - 1] if ndim else [1, -2])]
        if ndim and not single:
            bad.append(st.integers(0, ndim - 1).map(lambda a: (a, a)))
        if self.rare(15, "bad axis"):
            return draw(st.one_of(bad), label="axis")
        return draw(st.one_of(options), label="axis")

    def reduction(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        x = base.value
        name = draw(st.sampled_from(REDUCTIONS), label="reduction")
        axis = self.axis(x.ndim, single=name in ARG_REDUCTIONS)
        kwargs: dict[str, Any] = {}
        if axis is not None or draw(st.booleans()):
            kwargs["axis"] = axis
        if draw(st.booleans(), label="keepdims"):
            kwargs["keepdims"] = draw(st.booleans())
        dtype = draw(st.sampled_from(reduction_dtypes(name, x.dtype.kind)), label="dtype=")
        if dtype is not None:
            kwargs["dtype"] = dtype
        if name in MOMENTS:
            ddof = draw(st.sampled_from([0, 0, 1, 1, 2, 5]), label="ddof")
            if ddof:
                kwargs["ddof"] = ddof
        args = ", ".join(f"{k}={literal(v)}" for k, v in kwargs.items())
        bw_args = args
        if self.rare(3, "split_every"):
            split_every = draw(st.sampled_from([2, 3]))
            bw_args = ", ".join(a for a in (args, f"split_every={split_every}") if a)
        forms = ["da", "np"] + (["method"] if name in REDUCTION_METHODS else [])
        form = draw(st.sampled_from(forms), label="form")
        if form == "method":
            bw = f"@0.{name}({bw_args})"
        else:
            bw = f"{form}.{name}(@0{', ' if bw_args else ''}{bw_args})"
            if form == "np":
                bw = f"{form}.{name}(@0{', ' if args else ''}{args})"
        np_ = f"np.{name}(@0{', ' if args else ''}{args})"
        if name in ("nanvar", "nanstd") and x.dtype.kind == "f" and dtype is not None:
            wide = np.promote_types(x.dtype, dtype)
            if wide != x.dtype:
                # NumPy's nanvar keeps the deviations in the input dtype whatever dtype=
                # says; brickwork computes them in dtype=: NumPy on the widened input
                np_ = f"np.{name}(@0.astype({literal(wide.name)}), {args})"
        check = "reduce"
        if name in ("min", "max", "nanmin", "nanmax", "any", "all") + ARG_REDUCTIONS:
            check = "exact"
        undefined = None
        if name in ("mean", "nanmean") and dtype is not None and np.dtype(dtype).kind != "f":
            # NumPy divides the integer sum in float64 and casts the quotient back: an
            # empty lane (NaN) or a quotient out of range is an undefined cast
            undefined = f"_mean_undefined(@0, {axis!r}, {kwargs.get('keepdims', False)!r}, " \
                        f"{dtype!r})"
        node = self.new(name, (base.index,), bw, np_, check=check, zero_sign=False,
                        undefined=undefined,
                        params={"axis": axis, "ddof": kwargs.get("ddof", 0), "name": name,
                                "keepdims": bool(kwargs.get("keepdims", False))})
        return self.add(node)

    def scan(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        x = base.value
        name = draw(st.sampled_from(SCANS), label="scan")
        axis = self.axis(x.ndim, single=True)
        kwargs: dict[str, Any] = {}
        if axis is not None or draw(st.booleans()):
            kwargs["axis"] = axis
        options: list[Any] = [None, "float64", "float32"]
        if x.dtype.kind != "f":
            options += ["int64", "uint64", "int32", "int8"]
        dtype = draw(st.sampled_from(options), label="dtype=")
        if dtype is not None:
            kwargs["dtype"] = dtype
        args = ", ".join(f"{k}={literal(v)}" for k, v in kwargs.items())
        method = draw(st.sampled_from([None, None, "sequential", "blelloch"]), label="method")
        bw_args = ", ".join(a for a in (args, f"method={method!r}" if method else "") if a)
        forms = ["da", "np"] + (["method"] if name in ("cumsum", "cumprod") else [])
        form = draw(st.sampled_from(forms), label="form")
        if form == "method":
            bw = f"@0.{name}({bw_args})"
        elif form == "da":
            bw = f"da.{name}(@0{', ' if bw_args else ''}{bw_args})"
        else:
            bw = f"np.{name}(@0{', ' if args else ''}{args})"
        np_ = f"np.{name}(@0{', ' if args else ''}{args})"
        check = "scan" if name in SCANS else "exact"
        node = self.new(name, (base.index,), bw, np_, check=check, zero_sign=False,
                        params={"axis": axis, "name": name})
        return self.add(node)

    # ---------------------------------------------------------------- indexing

    def basic_item(self, n: int) -> Any:
        draw = self.draw
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"]), label="item")
        if kind == "int":
            if n and draw(st.integers(0, 9)) > 0:
                return draw(st.integers(-n, n - 1), label="int")
            return draw(st.sampled_from([n, -n - 1, n + 3]), label="bad int")
        if kind == "full":
            return slice(None)
        bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
        step = draw(st.sampled_from([None, None, 1, 2, 3, -1, -2, -3] + [0] * (
            self.rare(20))), label="step")
        return slice(draw(bound, label="start"), draw(bound, label="stop"), step)

    def basic_key(self, shape: tuple[int, ...], allow_none: bool = True) -> Any:
        draw = self.draw
        ndim = len(shape)
        k = draw(st.integers(0, ndim + self.rare(15)), label="consumed")
        ellipsis_at = draw(st.one_of(st.none(), st.integers(0, k)), label="ellipsis")
        items = []
        for j in range(k):
            axis = j if ellipsis_at is None or j < ellipsis_at else ndim - (k - j)
            n = shape[axis] if 0 <= axis < ndim else 1
            items.append(self.basic_item(n))
        if ellipsis_at is not None:
            items.insert(ellipsis_at, Ellipsis)
        extras = [None, None] if allow_none else []
        extras += [True, False]
        for _ in range(draw(st.integers(0, 2), label="new axes")):
            where_ = draw(st.integers(0, len(items)))
            items.insert(where_, draw(st.sampled_from(extras)))
        if len(items) == 1 and draw(st.booleans()):
            return items[0]
        return tuple(items)

    def int_array_index(self, n: int, unique: bool = False) -> Any:
        draw = self.draw
        length = draw(st.integers(0, 4), label="length")
        if n == 0:
            values = [] if draw(st.integers(0, 3)) else [0]
        else:
            good = st.integers(-n, n - 1)
            bad = st.sampled_from([n, -n - 1])
            elem = st.one_of(good, good, good, good, good, good, bad) if not unique else good
            values = draw(st.lists(elem, min_size=length, max_size=length), label="positions")
            if unique:
                seen: dict[int, int] = {}
                for v in values:
                    seen.setdefault(v % n, v)
                values = list(seen.values())
        form = draw(st.sampled_from(["list", "list", "array", "array2d"]), label="index form")
        if form == "list":
            return values
        dtype = draw(st.sampled_from(["int64", "int32", "uint8", "int8", "uint64", "intp"]))
        if np.dtype(dtype).kind == "u" and any(v < 0 for v in values):
            dtype = "int64"
        if np.dtype(dtype).kind in INT_KINDS:
            info = np.iinfo(dtype)
            if any(v < info.min or v > info.max for v in values):
                dtype = "int64"
        arr = np.array(values, dtype=dtype)
        if form == "array2d" and len(values) in (2, 4) and not unique:
            arr = arr.reshape(2, -1)
        return arr

    def bool_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        draw = self.draw
        if self.rare(12, "bad mask") and shape:
            axis = draw(st.integers(0, len(shape) - 1), label="bad axis")
            n = max(shape[axis] + draw(st.sampled_from([1, -1])), 0)
            if n == shape[axis]:
                n += 1
            shape = shape[:axis] + (n,) + shape[axis + 1:]
        return draw(hnp.arrays(np.bool_, shape), label="mask")

    def advanced_key(self, shape: tuple[int, ...], unique: bool = False) -> Any:
        draw = self.draw
        ndim = len(shape)
        family = draw(st.sampled_from(["one", "mask", "mask_axis", "several", "mixed",
                                       "bool_list"]), label="advanced")
        if ndim == 0:
            family = draw(st.sampled_from(["mask", "one"]))
        if family == "one":
            return self.int_array_index(shape[0] if ndim else 0, unique)
        if family == "mask":
            return self.bool_mask(shape)
        if family == "mask_axis":
            axis = draw(st.integers(0, ndim - 1))
            return (slice(None),) * axis + (self.bool_mask((shape[axis],)),)
        if family == "bool_list":
            return list(draw(hnp.arrays(np.bool_, (shape[0],))).tolist())
        if family == "several" and not unique:
            k = draw(st.integers(1, ndim))
            items: list[Any] = []
            for axis in range(k):
                items.append(self.int_array_index(shape[axis]))
            if k >= 2 and draw(st.booleans()):
                items.insert(1, slice(None))  # advanced indices apart: their axes go first
            return tuple(items)
        # mixed: an int / slice / None before or after one index array
        axis = draw(st.integers(0, ndim - 1))
        items = [self.basic_item(shape[a]) if a != axis else None for a in range(axis + 1)]
        items[axis] = self.int_array_index(shape[axis], unique)
        if draw(st.booleans()) and not unique:
            items.insert(0, None)
        return tuple(items)

    def getitem(self) -> Node | None:
        base = self.pick()
        if base is None:
            return None
        shape = base.value.shape
        if self.draw(st.sampled_from([False, False, True]), label="advanced?"):
            key = self.advanced_key(shape)
        else:
            key = self.basic_key(shape)
        text = f"@0[{key_literal(key)}]"
        return self.add(self.new("getitem", (base.index,), text, text))

    def lazy_mask_getitem(self) -> Node | None:
        """``x[x > 0]``: a brickwork array as the mask (unknown chunk sizes)."""
        draw = self.draw
        base = self.pick(lambda n: n.value.ndim >= 1)
        if base is None:
            return None
        threshold = operand_literal(draw(st.sampled_from([0, 1, 0.5, -1])))
        sized = draw(st.booleans(), label="compute_chunk_sizes")
        bw = f"@0[@0 > {threshold}]" + (".compute_chunk_sizes()" if sized else "")
        np_ = f"@0[@0 > {threshold}]"
        return self.add(self.new("getitem_lazy_mask", (base.index,), bw, np_,
                                 unknown_shape=not sized, terminal=not sized))

    def value_shape(self, region: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts to ``region`` (NumPy's rule for assigned values: extra
        leading axes of length 1 only; an empty value into an empty region of another
        shape is not checked by NumPy, so not drawn)."""
        if not region:
            # one element: NumPy takes a (1,)-shaped value when the dtypes match and
            # refuses it (ValueError) otherwise: not drawn
            return ()
        shape = self.draw(hnp.broadcastable_shapes(region, min_dims=0, max_dims=len(region),
                                                   max_side=4), label="value shape")
        if self.rare(6, "leading ones"):
            shape = (1,) + shape
        return shape

    def setitem(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        shape, dtype = base.value.shape, base.value.dtype
        parents = [base.index]
        family = draw(st.sampled_from(["basic", "basic", "advanced", "lazy_mask"]), label="key")
        key_bw = key_np = None
        if family == "lazy_mask":
            threshold = operand_literal(draw(st.sampled_from([0, 1, -1])))
            key_bw, key_np = f"@0 > {threshold}", f"@0 > {threshold}"
            region = (int((base.value > 0).sum()),)  # only its rank matters here
        else:
            # None (np.newaxis) in an assignment key is documented as unsupported
            key = (self.basic_key(shape, allow_none=False) if family == "basic"
                   else self.advanced_key(shape, unique=True))
            key_bw = key_np = key_literal(key)
            try:
                region = np.empty(shape, bool)[key].shape
            except (IndexError, ValueError, TypeError):
                region = ()
        kinds = ["python", "python", "numpy_scalar", "fresh", "numpy_array"]
        if family != "lazy_mask" and region:
            # a brickwork mask takes a scalar or an array of x's shape (Dask's rule); a
            # list into one element is a NumPy quirk (TypeError for ints, ValueError for
            # floats)
            kinds.append("list")
        kind = draw(st.sampled_from(kinds), label="value kind")
        if kind == "python":
            value = operand_literal(self.python_scalar(dtype))
        elif kind == "numpy_scalar":
            value = literal(self.numpy_scalar())
        elif kind == "fresh":
            if family == "lazy_mask" and draw(st.booleans()):
                # Dask's rule: a value of the array's shape is read where the mask is True
                node = self.leaf(shape=shape)
                parents.append(node.index)
                value_bw, value_np = "@1", f"@1[{key_np}]"
                node_value = True
            else:
                node = self.leaf(shape=self.value_shape(region) if family != "lazy_mask"
                                 else ())
                parents.append(node.index)
                value_bw = value_np = "@1"
                node_value = True
        elif kind == "numpy_array":
            vshape = self.value_shape(region) if family != "lazy_mask" else ()
            vdtype = draw(st.sampled_from(DTYPES), label="value dtype")
            value = array_literal(draw(hnp.arrays(np.dtype(vdtype), vshape,
                                                  elements=fuzz_elements(vdtype))))
        else:
            n = region[-1] if region else 1
            n = draw(st.sampled_from([n, 1]), label="list length")
            vals = draw(st.lists(st.one_of(st.integers(-3, 9), st.sampled_from([1.5, -2.5])),
                                 min_size=n, max_size=n), label="list")
            value = literal(vals)
        if kind != "fresh":
            value_bw = value_np = value
            node_value = False
        bw = f"@T[{key_bw}] = {value_bw}"
        np_ = f"@T[{key_np}] = {value_np}"
        undefined = None
        if dtype.kind in INT_KINDS:
            src = value_np if node_value else value
            undefined = f"_undefined_assign(@0, np.s_[{key_np}], {src})"
        node = self.new("setitem", tuple(parents), bw, np_, setitem=True, undefined=undefined)
        return self.add(node)

    # ---------------------------------------------------------------- shape ops

    def new_shape(self, size: int, ndim_hint: int) -> tuple[int, ...]:
        draw = self.draw
        if self.rare(12, "bad shape"):
            return (size + 1,)
        if size == 0:
            dims = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3), label="zero shape")
            if 0 not in dims:
                dims[0] = 0
            return tuple(dims)
        dims = []
        rest = size
        for _ in range(draw(st.integers(0, 3), label="ndim")):
            divisors = [d for d in range(1, rest + 1) if rest % d == 0]
            d = draw(st.sampled_from(divisors), label="factor")
            dims.append(d)
            rest //= d
        dims.append(rest)
        if draw(st.booleans(), label="shuffle"):
            dims = draw(st.permutations(dims))
        return tuple(dims)

    def shape_op(self) -> Node | None:
        draw = self.draw
        base = self.pick()
        if base is None:
            return None
        x = base.value
        ndim = x.ndim
        op = draw(st.sampled_from(["reshape", "reshape", "transpose", "rechunk", "rechunk",
                                   "concatenate", "stack", "squeeze", "expand_dims", "flip",
                                   "broadcast_to", "ravel", "swapaxes", "moveaxis", "persist",
                                   "T"]), label="shape op")
        parents = [base.index]
        if op == "reshape":
            shape = self.new_shape(x.size, ndim)
            if shape and draw(st.booleans(), label="-1"):
                i = draw(st.integers(0, len(shape) - 1))
                shape = shape[:i] + (-1,) + shape[i + 1:]
            form = draw(st.sampled_from(["method", "varargs", "da", "np"]), label="form")
            np_ = f"np.reshape(@0, {literal(shape)})"
            bw = {"method": f"@0.reshape({literal(shape)})",
                  "varargs": f"@0.reshape({', '.join(map(str, shape))})" if shape
                  else f"@0.reshape({literal(shape)})",
                  "da": f"da.reshape(@0, {literal(shape)})", "np": np_}[form]
        elif op == "transpose":
            axes = None
            if ndim and draw(st.booleans()):
                axes = tuple(draw(st.permutations(range(ndim))))
                axes = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
            if self.rare(15):
                axes = tuple(range(ndim + 1))
            form = draw(st.sampled_from(["method", "da", "np"]), label="form")
            a = "" if axes is None else literal(axes)
            np_ = f"np.transpose(@0{', ' if a else ''}{a})"
            bw = {"method": f"@0.transpose({a})",
                  "da": f"da.transpose(@0{', ' if a else ''}{a})", "np": np_}[form]
        elif op == "T":
            bw = np_ = "@0.T"
        elif op == "rechunk":
            chunks = draw(chunk_spec(x.shape), label="chunks")
            form = draw(st.sampled_from(["method", "da"]), label="form")
            bw = (f"@0.rechunk({literal(chunks)})" if form == "method"
                  else f"da.rechunk(@0, {literal(chunks)})")
            np_ = "@0"
        elif op == "persist":
            bw, np_ = "@0.persist()", "@0"
        elif op in ("concatenate", "stack"):
            count = draw(st.integers(1, 2), label="count")
            if op == "concatenate":
                axis = draw(st.integers(-max(ndim, 1), max(ndim - 1, 0)), label="axis")
                if self.rare(12):
                    axis = draw(st.sampled_from([None, ndim]))
            else:
                axis = draw(st.integers(-ndim - 1, ndim), label="axis")
            names = ["@0"]
            for j in range(count):
                if self.rare(5, "existing"):
                    other = self.pick(label="other node")
                    if other is not None:
                        parents.append(other.index)
                        names.append(f"@{len(parents) - 1}")
                        continue
                shape = list(x.shape)
                if op == "concatenate" and isinstance(axis, int) and -ndim <= axis < ndim:
                    shape[axis] = draw(st.integers(0, 3), label="length")
                parents.append(self.leaf(shape=tuple(shape)).index)
                names.append(f"@{len(parents) - 1}")
            if draw(st.booleans(), label="order"):
                names = names[1:] + names[:1]
            seq = "[" + ", ".join(names) + "]"
            form = draw(st.sampled_from(["da", "np"]), label="form")
            bw = f"{form}.{op}({seq}, axis={literal(axis)})"
            np_ = f"np.{op}({seq}, axis={literal(axis)})"
        elif op == "squeeze":
            ones = [i for i, n in enumerate(x.shape) if n == 1]
            axis = None
            if ndim and draw(st.booleans()):
                axis = draw(st.sampled_from(ones + [draw(st.integers(-ndim, ndim - 1))]))
            form = draw(st.sampled_from(["method", "da", "np"]), label="form")
            np_ = f"np.squeeze(@0, axis={literal(axis)})"
            bw = {"method": f"@0.squeeze(axis={literal(axis)})",
                  "da": f"da.squeeze(@0, axis={literal(axis)})", "np": np_}[form]
        elif op == "expand_dims":
            axis = draw(st.integers(-ndim - 1, ndim), label="axis")
            form = draw(st.sampled_from(["da", "np"]), label="form")
            bw = f"{form}.expand_dims(@0, {axis})"
            np_ = f"np.expand_dims(@0, {axis})"
        elif op == "flip":
            axis = None if not ndim or draw(st.booleans()) else draw(st.integers(-ndim, ndim - 1))
            form = draw(st.sampled_from(["da", "np"]), label="form")
            bw = f"{form}.flip(@0, axis={literal(axis)})"
            np_ = f"np.flip(@0, axis={literal(axis)})"
        elif op == "broadcast_to":
            lead = draw(st.lists(st.integers(0, 3), max_size=2), label="lead")
            target = tuple(lead) + tuple(
                draw(st.integers(0, 3)) if n == 1 else n for n in x.shape
            )
            form = draw(st.sampled_from(["da", "np"]), label="form")
            bw = f"{form}.broadcast_to(@0, {literal(target)})"
            np_ = f"np.broadcast_to(@0, {literal(target)})"
        elif op == "ravel":
            form = draw(st.sampled_from(["method", "da", "np"]), label="form")
            bw = {"method": "@0.ravel()", "da": "da.ravel(@0)", "np": "np.ravel(@0)"}[form]
            np_ = "np.ravel(@0)"
        elif op == "swapaxes":
            if not ndim:
                return None
            a, b = draw(st.integers(-ndim, ndim - 1)), draw(st.integers(-ndim, ndim - 1))
            bw, np_ = f"da.swapaxes(@0, {a}, {b})", f"np.swapaxes(@0, {a}, {b})"
        else:  # moveaxis
            if not ndim:
                return None
            a, b = draw(st.integers(-ndim, ndim - 1)), draw(st.integers(-ndim, ndim - 1))
            bw, np_ = f"da.moveaxis(@0, {a}, {b})", f"np.moveaxis(@0, {a}, {b})"
        return self.add(self.new(op, tuple(parents), bw, np_))


OPS = (
    ["binary"] * 6
    + ["unary"] * 4
    + ["where", "clip", "astype", "astype", "round"]
    + ["reduction"] * 4
    + ["scan"] * 2
    + ["getitem"] * 3
    + ["setitem"] * 3
    + ["lazy_mask_getitem"]
    + ["shape_op"] * 3
    + ["creation"]
)


@st.composite
def programs(draw: Any, max_ops: int = 7, max_leaves: int = 2) -> Program:
    """A random program (see the module docstring)."""
    b = Builder(draw)
    for _ in range(draw(st.integers(1, max_leaves), label="leaves")):
        b.leaf()
    for _ in range(draw(st.integers(1, max_ops), label="ops")):
        kind = draw(st.sampled_from(OPS), label="op")
        getattr(b, kind)()
    return b.program


# --------------------------------------------------------------------------- checking


class FuzzFailure(AssertionError):
    """brickwork differs from NumPy. ``key`` is the failure class: (op, kind)."""

    def __init__(self, op: str, kind: str, detail: str, repro: str, program: str = "",
                 code: str = "") -> None:
        self.op, self.kind, self.detail, self.repro = op, kind, detail, repro
        self.program = program  # the whole program the failure came from
        self.code = code  # the brickwork statement(s) of the node that differs
        super().__init__(f"{op}: {kind}\n{detail}\n\nrepro:\n{repro}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.op, self.kind)


def _short(v: Any) -> str:
    with np.printoptions(threshold=60, edgeitems=4, precision=17):
        return repr(v)


def _finite_abs_max(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(x), initial=0.0, where=np.isfinite(x)))


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axes)


@dataclass
class Tolerance:
    """Per element of the result: |got - ref| <= atol + rtol * |ref| where both are
    finite; where ``free``, anything goes (an overflow or underflow that depends on the
    order of the operations); where ``alike``, a non-finite NumPy result needs a
    non-finite brickwork result (inf and NaN alike); elsewhere non-finite results are
    equal."""

    rtol: Any = 0.0
    atol: Any = 0.0
    free: Any = False
    alike: Any = False


def _lane_max(values: np.ndarray, **kw: Any) -> np.ndarray:
    return np.max(values, initial=0.0, **kw)


def _lanes(node: Node, x: np.ndarray, values: np.ndarray, func: Any) -> np.ndarray:
    """``func`` (np.max / np.sum) of ``values`` (shaped as ``x``) over each lane the node
    reduces, shaped as the node's result (a scan: broadcast along its axis)."""
    axis = node.params.get("axis")
    if node.check == "scan":
        if axis is None:
            return np.broadcast_to(func(values), (values.size,))
        return np.broadcast_to(func(values, axis=axis, keepdims=True), values.shape)
    return np.asarray(func(values, axis=axis, keepdims=node.params.get("keepdims", False)))


def tolerance(node: Node, x: np.ndarray, result_dtype: np.dtype) -> Tolerance:
    """The tolerance of a float reduction or scan of ``x`` with NumPy's result dtype,
    lane by lane: bounds of the rounding of another summation order, scaled by the
    largest element of the lane (and the spread of a variance)."""
    name = node.params["name"]
    base = name[3:] if name.startswith("nan") else name
    base = base[3:] if base.startswith("cum") else base  # cumsum -> sum, cumprod -> prod
    axis = node.params.get("axis")
    info = np.finfo(result_dtype)
    eps, fmax, tiny = np.float64(info.eps), np.float64(info.max), np.float64(info.tiny)
    if node.check == "scan":
        n = x.size if axis is None else (x.shape[axis] if x.ndim else 1)
    else:
        n = _reduced_count(x.shape, axis)
    n = np.float64(max(n, 1))
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finite = np.isfinite(x64)
        big = _lanes(node, x, np.where(finite, np.abs(x64), 0.0), _lane_max)
        tol = Tolerance()
        if base in ("sum", "mean"):
            tol.rtol, tol.atol = 8 * eps, 8 * n * eps * big + 4 * tiny
            tol.free = n * big >= fmax / 4
        elif base == "prod":
            logs = np.where(finite & (x64 != 0), np.log2(np.abs(x64)), 0.0)
            up = _lanes(node, x, np.maximum(logs, 0.0), np.sum)
            down = _lanes(node, x, np.minimum(logs, 0.0), np.sum)
            tol.rtol = 8 * n * eps
            tol.free = (up >= np.log2(fmax) - 2) | (down <= np.log2(tiny) - np.log2(eps) + 2)
        elif base in ("var", "std"):
            xf = np.where(finite, x64, np.nan)
            mean = np.nanmean(xf, axis=axis, keepdims=True) if xf.size else 0.0
            dev2 = np.where(np.isfinite(xf - mean), (xf - mean) ** 2, 0.0)
            spread = _lanes(node, x, dev2, _lane_max)
            var_atol = 16 * n * eps * spread + 100 * n * (eps * big) ** 2 + 10 * tiny
            tol.rtol = 8 * eps
            tol.atol = np.sqrt(var_atol) if base == "std" else var_atol
            tol.free = (big * big * n >= fmax / 16) | (spread * n >= fmax / 16)
            tol.alike = True  # ddof >= N divides by zero: inf or NaN
    return tol


def compare_values(node: Node, got: np.ndarray, ref: np.ndarray, parent: np.ndarray | None,
                   undefined: np.ndarray | None) -> str | None:
    """None if ``got`` matches ``ref``, else a description of the difference."""
    got = np.array(got, copy=True)
    ref = np.asarray(ref)
    if undefined is not None and undefined.any():
        undefined = np.broadcast_to(undefined, ref.shape)
        got[undefined] = ref[undefined]
    if ref.dtype.kind in "biu":
        if np.array_equal(got, ref):
            return None
        return "values differ"
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    gf, rf = np.isfinite(g), np.isfinite(r)
    if node.check in ("reduce", "scan") and parent is not None:
        tol = tolerance(node, parent, ref.dtype)
        shape = r.shape
        free = np.broadcast_to(tol.free, shape)
        alike = np.broadcast_to(tol.alike, shape)
        atol = np.broadcast_to(tol.atol, shape)
        both = gf & rf
        bad = np.zeros(shape, bool)
        with np.errstate(all="ignore"):
            bad[both] = np.abs(g[both] - r[both]) > atol[both] + tol.rtol * np.abs(r[both])
        same = (np.isnan(g) & np.isnan(r)) | (g == r)
        nonfinite = ~both
        bad |= nonfinite & ~same & ~alike
        bad |= nonfinite & alike & (gf != rf)
        bad &= ~free
        return "values differ (beyond the reduction tolerance)" if bad.any() else None
    if node.check == "ulp":
        rtol = default_rtol(ref.dtype)
        atol = 16 * float(np.finfo(ref.dtype).tiny)
        with np.errstate(all="ignore"):
            close = np.isclose(g, r, rtol=rtol, atol=atol, equal_nan=True)
        return None if close.all() else "values differ (beyond rtol)"
    same = (g == r) | (np.isnan(g) & np.isnan(r))
    if not same.all():
        return "values differ"
    if node.zero_sign:
        zeros = (r == 0) & (g == 0)
        if (np.signbit(g[zeros]) != np.signbit(r[zeros])).any():
            return "sign of zero differs"
    return None


CAUGHT = (Exception,)


def _exc_name(exc: BaseException) -> str:
    return type(exc).__name__


def run_program(program: Program, known: Any = None) -> list[FuzzFailure]:
    """Run ``program`` with brickwork and check each node against NumPy.

    Raises ``FuzzFailure`` for the first node (in program order) that differs, unless
    ``known(failure)`` is true: such a node (a known defect) and the nodes computed from
    it are skipped, and the known failures are returned.
    """
    nodes = program.nodes
    env: dict[str, Any] = {"np": np, "da": da, "brickwork": brickwork}
    pristine: dict[int, np.ndarray] = {}
    for node in nodes:
        if node.leaf_value is not None:
            env[f"x{node.index}"] = node.leaf_value
            pristine[node.index] = node.leaf_value.copy()

    def failure(node: Node, kind: str, detail: str,
                outputs: list[int] | None = None) -> FuzzFailure:
        if outputs is None:
            source = program.source(program.ancestors(node.index))
        else:
            source = program.source(outputs=outputs)
        code = "\n".join(node.bw_lines(f"a{node.index}", nodes))
        return FuzzFailure(node.op, kind, detail, source, program.source(), code)

    # build
    built: dict[int, Any] = {}
    raised: dict[int, BaseException] = {}
    for node in nodes:
        if any(p not in built for p in node.parents):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _exec(node.bw_lines(f"a{node.index}", nodes), env)
        except CAUGHT as exc:
            raised[node.index] = exc
        else:
            built[node.index] = env[f"a{node.index}"]

    # compute together everything NumPy computed
    joint_ids = [n.index for n in nodes if n.index in built and n.error is None]
    joint: dict[int, np.ndarray] = {}
    joint_exc: BaseException | None = None
    if joint_ids:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results = brickwork.compute(*[built[i] for i in joint_ids])
            joint = {i: np.asarray(r) for i, r in zip(joint_ids, results, strict=True)}
        except CAUGHT as exc:
            joint_exc = exc

    got: dict[int, np.ndarray] = {}
    known_failures: list[FuzzFailure] = []
    for node in nodes:
        if any(p not in got for p in node.parents):
            continue
        try:
            value = _check_node(node, built, raised, joint, joint_ids, got, failure)
        except FuzzFailure as f:
            if known is not None and known(f):
                known_failures.append(f)
                continue
            raise
        if value is not None:
            got[node.index] = value

    # A joint compute may fail for a node that raises alone too (as NumPy does on
    # brickwork's values: a division by zero gives inf or NaN, nanargmin then raises):
    # only a joint failure while every node computed alone is an inconsistency.
    if joint_exc is not None and all(i in got for i in joint_ids):
        raise failure(nodes[joint_ids[-1]], f"brickwork.compute of several outputs raises "
                      f"{_exc_name(joint_exc)}", repr(joint_exc), outputs=joint_ids)
    for i, before in pristine.items():
        if not np.array_equal(nodes[i].leaf_value, before, equal_nan=True):
            raise failure(nodes[i], "the NumPy input was modified",
                          f"now {_short(nodes[i].leaf_value)}")
    return known_failures


def _compute_alone(arr: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(arr.compute())


def _check_node(node: Node, built: dict[int, Any], raised: dict[int, BaseException],
                joint: dict[int, np.ndarray], joint_ids: list[int], got: dict[int, np.ndarray],
                failure: Any) -> np.ndarray | None:
    """Check one node; its brickwork value (None if NumPy raised or cannot tell)."""
    i = node.index
    try:
        ref = numpy_eval(node, {p: got[p] for p in node.parents})
    except Unverifiable:
        return None
    if isinstance(ref, NumpyRaised):
        want = ref.cls.__name__
        if i in raised:
            if not isinstance(raised[i], ref.cls):
                raise failure(node, f"raises {_exc_name(raised[i])} where NumPy raises {want}",
                              f"brickwork: {raised[i]!r}\nNumPy: {ref.exc!r}")
            return None
        if i not in built:
            return None
        try:
            value = _compute_alone(built[i])
        except CAUGHT as exc:
            if not isinstance(exc, ref.cls):
                raise failure(node, f"raises {_exc_name(exc)} where NumPy raises {want}",
                              f"brickwork (compute): {exc!r}\nNumPy: {ref.exc!r}") from None
            return None
        raise failure(node, f"no error where NumPy raises {want}",
                      f"brickwork gives {_short(value)}\nNumPy: {ref.exc!r}")
    parent_values = {p: got[p] for p in node.parents}
    undefined = numpy_undefined(node, parent_values)
    if i in raised:
        exc = raised[i]
        if isinstance(exc, OverflowError) and undefined is not None and undefined.any():
            return None  # refusing a cast NumPy leaves undefined
        raise failure(node, f"raises {_exc_name(exc)} (NumPy does not)",
                      f"brickwork: {exc!r}\nNumPy gives {_short(ref)}")
    if i not in built:
        return None
    arr = built[i]
    want_dtype = expected_dtype(ref.dtype)
    if not isinstance(arr, ARRAY_TYPE):
        raise failure(node, f"returns {type(arr).__name__}, not a lazy brickwork array",
                      f"brickwork gives {_short(arr)}")
    if np.dtype(arr.dtype) != want_dtype:
        raise failure(node, "dtype differs", f"brickwork: {arr.dtype}, NumPy: {want_dtype}")
    if not node.unknown_shape:
        if tuple(arr.shape) != ref.shape:
            raise failure(node, "shape differs", f"brickwork: {arr.shape}, NumPy: {ref.shape}")
        chunks = arr.chunks
        if (len(chunks) != arr.ndim
                or tuple(sum(c) for c in chunks) != tuple(arr.shape)
                or tuple(arr.numblocks) != tuple(len(c) for c in chunks)):
            raise failure(node, "chunks inconsistent with the shape",
                          f"chunks {chunks}, shape {arr.shape}, numblocks {arr.numblocks}")
    from_joint = i in joint
    if from_joint:
        value = joint[i]
    else:
        try:
            value = _compute_alone(arr)
        except CAUGHT as exc:
            raise failure(node, f"compute raises {_exc_name(exc)} (NumPy does not)",
                          f"brickwork: {exc!r}\nNumPy gives {_short(ref)}") from None
    parent = got[node.parents[0]] if node.parents else None
    expected = ref.astype(want_dtype)

    def differs(v: np.ndarray) -> str | None:
        if v.dtype != want_dtype:
            return f"computed dtype {v.dtype} differs from NumPy's {want_dtype}"
        if v.shape != ref.shape:
            return f"computed shape {v.shape} differs from NumPy's {ref.shape}"
        return compare_values(node, v, expected, parent, undefined)

    problem = differs(value)
    if problem and from_joint:
        try:
            alone = _compute_alone(arr)
        except CAUGHT as exc:
            raise failure(node, f"compute raises {_exc_name(exc)} (NumPy does not)",
                          f"brickwork: {exc!r}\nNumPy gives {_short(ref)}") from None
        if differs(alone) is None:
            raise failure(node, "brickwork.compute of several outputs differs from compute()",
                          f"together: {_short(value)}\nalone: {_short(alone)}",
                          outputs=joint_ids)
        value = alone
    if problem:
        raise failure(node, problem,
                      f"brickwork gives {_short(value)}\nNumPy gives     {_short(ref)}")
    return value


ARRAY_TYPE = type(da.zeros((1,), chunks=1))
