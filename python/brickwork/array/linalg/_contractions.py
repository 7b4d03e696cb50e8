"""Tensor contractions: ``tensordot`` and ``einsum``.

Both reduce to pairwise contractions of labelled operands. A float contraction of two
operands is a (batched) ``matmul`` after moving the kept and the summed axes together,
so it runs on the engine's GEMM; integer and bool contractions multiply the broadcast
operands elementwise and sum over the contracted axes in one fused reduction (the
product is never stored), with NumPy's wrap-around arithmetic and result dtype.
"""

from __future__ import annotations

import math
import string
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array
from brickwork.array.linalg._products import matmul
from brickwork.array.shape import broadcast_to

__all__ = ["einsum", "tensordot"]

Labels = tuple[Hashable, ...]


# ---------------------------------------------------------------------------------
# labelled operands


def _diagonal(x: Array, labels: Labels, op_index: int) -> tuple[Array, Labels]:
    """Collapse repeated labels of one operand onto their diagonal (``'ii' -> 'i'``)."""
    while len(set(labels)) != len(labels):
        label = next(lab for lab in labels if labels.count(lab) > 1)
        where = [i for i, lab in enumerate(labels) if lab == label]
        sizes = [x.shape[i] for i in where]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(
                f"dimensions in operand {op_index} for collapsing index '{label}' don't "
                f"match ({sizes[0]} != {next(s for s in sizes if s != sizes[0])})"
            )
        rest = [i for i in range(x.ndim) if i not in where]
        x = x.transpose((*rest, *where))
        n, r = sizes[0], len(where)
        flat = x.reshape((*x.shape[: len(rest)], n**r))
        # Element (t, t, ..., t) is at t * (n**(r-1) + ... + n + 1) of the flattened axes.
        step = sum(n**j for j in range(r))
        x = flat[..., ::step]
        labels = (*(labels[i] for i in rest), label)
    return x, labels


def _sum_labels(
    x: Array, labels: Labels, drop: Sequence[Hashable], dtype: np.dtype, split_every: int | None
) -> tuple[Array, Labels]:
    """Sum ``x`` over the axes labelled ``drop`` ("any" for bool)."""
    axes = tuple(i for i, lab in enumerate(labels) if lab in drop)
    if not axes:
        return x, labels
    if dtype == np.bool_:
        out = x.any(axis=axes, split_every=split_every)
    else:
        out = x.sum(axis=axes, dtype=dtype, split_every=split_every)
    return out, tuple(lab for lab in labels if lab not in drop)


def _move(x: Array, labels: Labels, order: Sequence[Hashable]) -> Array:
    """``x`` with its axes in ``order``; labels it lacks become new axes of length one."""
    perm = tuple(labels.index(lab) for lab in order if lab in labels)
    if perm != tuple(range(x.ndim)):
        x = x.transpose(perm)
    if len(perm) == len(order):
        return x
    return x[tuple(slice(None) if lab in labels else None for lab in order)]


def _group(x: Array, nbatch: int, sizes: Sequence[Sequence[int]]) -> Array:
    """Merge the axes after the first ``nbatch`` into groups of the given sizes (one
    axis per group), inserting length-one axes for empty groups."""
    if all(len(g) == 1 for g in sizes):
        return x
    if all(len(g) <= 1 for g in sizes):
        return x[(Ellipsis, *(slice(None) if g else None for g in sizes))]
    return x.reshape((*x.shape[:nbatch], *(math.prod(g) for g in sizes)))


def _ungroup(x: Array, nbatch: int, sizes: Sequence[Sequence[int]]) -> Array:
    """The inverse of ``_group``: split grouped axes back into their own axes."""
    if all(len(g) == 1 for g in sizes):
        return x
    if all(len(g) <= 1 for g in sizes):
        return x[(Ellipsis, *(slice(None) if g else 0 for g in sizes))]
    return x.reshape((*x.shape[:nbatch], *(n for g in sizes for n in g)))


def _pair(
    a: Array,
    la: Labels,
    b: Array,
    lb: Labels,
    keep: set[Hashable],
    dtype: np.dtype,
    split_every: int | None,
) -> tuple[Array, Labels]:
    """Contract two operands over their common labels that are not in ``keep``."""
    batch = [lab for lab in la if lab in lb and lab in keep]
    summed = [lab for lab in la if lab in lb and lab not in keep]
    a_only = [lab for lab in la if lab not in lb]
    b_only = [lab for lab in lb if lab not in la]
    out_labels = (*batch, *a_only, *b_only)
    # A GEMM pays off for a true matrix product (labels of its own on both sides). When
    # one operand's labels hold the other's ('ij,ij->j', 'ij,j->i'), the product is no
    # larger than the bigger operand: a fused multiply-and-sum reads each element once.
    if dtype.kind == "f" and summed and a_only and b_only:
        size = dict(zip(la, a.shape)) | dict(zip(lb, b.shape))
        groups_a = [[size[lab] for lab in a_only], [size[lab] for lab in summed]]
        groups_b = [[size[lab] for lab in summed], [size[lab] for lab in b_only]]
        x = _group(_move(a, la, (*batch, *a_only, *summed)), len(batch), groups_a)
        y = _group(_move(b, lb, (*batch, *summed, *b_only)), len(batch), groups_b)
        out = matmul(
            x.astype(dtype) if x.dtype != dtype else x, y.astype(dtype) if y.dtype != dtype else y
        )
        return _ungroup(out, len(batch), [groups_a[0], groups_b[1]]), out_labels
    # The product in a's axis order (b's own labels after), so that neither operand is
    # read transposed; the result's axes are reordered after the sum.
    order = (*la, *b_only)
    x = _move(a, la, order)
    y = _move(b, lb, order)
    if x.dtype != dtype:
        x = x.astype(dtype)
    if y.dtype != dtype:
        y = y.astype(dtype)
    prod = x & y if dtype == np.bool_ else x * y
    out, labels = _sum_labels(prod, order, summed, dtype, split_every)
    return _move(out, labels, out_labels), out_labels


def _contract(
    operands: Sequence[tuple[Array, Labels]],
    output: Labels,
    dtype: np.dtype,
    split_every: int | None = None,
) -> Array:
    """The Einstein sum of labelled operands (labels unique within ``output``)."""
    ops = [_diagonal(x, labels, i) for i, (x, labels) in enumerate(operands)]
    size: dict[Hashable, int] = {}
    for x, labels in ops:
        for lab, n in zip(labels, x.shape):
            if size.get(lab, 1) == 1:
                size[lab] = n
            elif n not in (1, size[lab]):
                shapes = " ".join(str(x.shape) for x, _ in ops)
                raise ValueError(
                    "operands could not be broadcast together with remapped shapes "
                    f"[original->remapped]: {shapes} (label {lab!r}: {size[lab]} != {n})"
                )
    # Labels of length one in one operand and longer in another are broadcast.
    ops = [(_broadcast(x, tuple(size[lab] for lab in labels)), labels) for x, labels in ops]
    out_set = set(output)

    def needed_after(i: int) -> set[Hashable]:
        later = {lab for _, labels in ops[i + 1 :] for lab in labels}
        return out_set | later

    cur, cur_labels = ops[0]
    cur, cur_labels = _sum_labels(
        cur,
        cur_labels,
        [lab for lab in cur_labels if lab not in needed_after(0)],
        dtype,
        split_every,
    )
    for i in range(1, len(ops)):
        x, labels = ops[i]
        keep = needed_after(i)
        x, labels = _sum_labels(
            x,
            labels,
            [lab for lab in labels if lab not in keep and lab not in cur_labels],
            dtype,
            split_every,
        )
        cur, cur_labels = _pair(cur, cur_labels, x, labels, keep, dtype, split_every)
    if cur.dtype != dtype:
        cur = cur.astype(dtype)
    return _move(cur, cur_labels, output)


def _broadcast(x: Array, shape: tuple[int, ...]) -> Array:
    """``x`` broadcast to ``shape`` (itself when it has that shape already)."""
    return x if x.shape == shape else broadcast_to(x, shape)


# ---------------------------------------------------------------------------------
# tensordot


@implements(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """The sum of products over the given axes, as ``numpy.tensordot``.

    Parameters
    ----------
    a, b : Array or array_like
    axes : int or (sequence of ints, sequence of ints)
        An int ``N`` sums over the last ``N`` axes of ``a`` and the first ``N`` of ``b``;
        a pair lists the axes of ``a`` and of ``b`` to sum over, in matching order.

    Returns
    -------
    Array
        The free axes of ``a`` followed by the free axes of ``b``, of dtype
        ``numpy.result_type(a, b)``. A float contraction is one ``matmul`` (on the
        engine's GEMM) of the operands with the free and the summed axes merged (a
        reshape, which stores a copy when an operand is not a C-contiguous NumPy
        array and more than one axis is merged); integer and bool contractions are a
        fused multiply-and-sum.

    Raises
    ------
    ValueError
        If the summed axes differ in length ("shape-mismatch for sum").
    numpy.exceptions.AxisError
        If an axis is out of range.
    """
    x, y = as_array(a), as_array(b)
    try:
        axes_a, axes_b = axes
    except TypeError:
        n = int(axes)
        axes_a, axes_b = list(range(-n, 0)), list(range(0, n))
    axes_a = [axes_a] if isinstance(axes_a, int | np.integer) else list(axes_a)
    axes_b = [axes_b] if isinstance(axes_b, int | np.integer) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError("shape-mismatch for sum")
    axes_a = [normalize_axis_index(int(i), x.ndim) for i in axes_a]
    axes_b = [normalize_axis_index(int(i), y.ndim) for i in axes_b]
    if any(x.shape[i] != y.shape[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError("shape-mismatch for sum")
    la = tuple(range(x.ndim))
    lb_list: list[Hashable] = [x.ndim + j for j in range(y.ndim)]
    for i, j in zip(axes_a, axes_b):
        lb_list[j] = i
    lb = tuple(lb_list)
    output = (*(i for i in la if i not in axes_a), *(lab for lab in lb if lab not in la))
    dtype = np.result_type(x.dtype, y.dtype)
    return _contract([(x, la), (y, lb)], output, dtype)


# ---------------------------------------------------------------------------------
# einsum

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _interleaved(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])`` as a string."""

    def term(sub: Any) -> str:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int | np.integer) and 0 <= s < len(_LETTERS):
                out.append(_LETTERS[s])
            else:
                raise ValueError("subscript is not within the valid range [0, 52)")
        return "".join(out)

    operands = list(args[0::2])
    subs = [term(s) for s in args[1::2]]
    if len(args) % 2:
        output = term(operands.pop())
        return ",".join(subs) + "->" + output, operands
    return ",".join(subs), operands


def _parse(subscripts: str, ndims: Sequence[int]) -> tuple[list[Labels], Labels]:
    """Labels of each operand and of the output, with NumPy's rules and messages."""
    subscripts = subscripts.replace(" ", "")
    if (
        subscripts.count("->") > 1
        or ("-" in subscripts.replace("->", ""))
        or (">" in subscripts.replace("->", ""))
    ):
        raise ValueError(
            "einstein sum subscript string does not contain proper '->' output specified"
        )
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs, output = subscripts, None
    terms = inputs.split(",")
    if len(terms) < len(ndims):
        raise ValueError(
            "more operands provided to einstein sum function than specified in the "
            "subscripts string"
        )
    if len(terms) > len(ndims):
        raise ValueError(
            "fewer operands provided to einstein sum function than specified in the "
            "subscripts string"
        )
    for t in [*terms, *([output] if output is not None else [])]:
        rest = t.replace("...", "", 1)
        for ch in rest:
            if ch == ".":
                raise ValueError(
                    "einstein sum subscripts string contains a '.' that is not "
                    "part of an ellipsis ('...')"
                )
            if ch not in _LETTERS:
                raise ValueError(
                    f"invalid subscript '{ch}' in einstein sum subscripts string, "
                    "subscripts must be letters"
                )
    used = set(inputs) | set(output or "")
    free = [ch for ch in _LETTERS if ch not in used]
    ell_nd = 0
    for i, (t, nd) in enumerate(zip(terms, ndims)):
        explicit = len(t.replace("...", ""))
        if "..." in t:
            if explicit > nd:
                raise ValueError(
                    f"einstein sum subscripts string contains too many subscripts for operand {i}"
                )
            ell_nd = max(ell_nd, nd - explicit)
        elif explicit != nd:
            if explicit < nd:
                raise ValueError(
                    "operand has more dimensions than subscripts given in einstein sum, "
                    "but no '...' ellipsis provided to broadcast the extra dimensions."
                )
            raise ValueError(
                f"einstein sum subscripts string contains too many subscripts for operand {i}"
            )
    if ell_nd > len(free):
        raise ValueError("too many dimensions in einstein sum for the free subscript letters")
    ell = tuple(free[:ell_nd])
    labels = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            left, right = t.split("...")
            k = nd - len(left) - len(right)
            labels.append((*left, *ell[ell_nd - k :], *right))
        else:
            labels.append(tuple(t))
    if output is None:
        counts: dict[str, int] = {}
        for t in terms:
            for ch in t.replace("...", ""):
                counts[ch] = counts.get(ch, 0) + 1
        out = (*ell, *sorted(ch for ch, c in counts.items() if c == 1))
    else:
        if "..." in output:
            left, right = output.split("...")
            out = (*left, *ell, *right)
        else:
            if ell_nd:
                raise ValueError(
                    "output has more dimensions than subscripts given in einstein sum, but "
                    "no '...' ellipsis provided to broadcast the extra dimensions."
                )
            out = tuple(output)
        seen: set[str] = set()
        in_labels = {lab for lab_tuple in labels for lab in lab_tuple}
        for ch in out:
            if ch in seen:
                raise ValueError(
                    f"einstein sum subscripts string includes output subscript '{ch}' "
                    "multiple times"
                )
            seen.add(ch)
            if ch not in in_labels:
                raise ValueError(
                    f"einstein sum subscripts string included output subscript '{ch}' which "
                    "never appeared in an input"
                )
    return labels, out


@implements(np.einsum, adapt=False)
def einsum(
    *operands: Any,
    dtype: Any = None,
    casting: str = "safe",
    optimize: Any = False,
    split_every: int | None = None,
    out: None = None,
    order: str = "K",
) -> Array:
    """The Einstein summation convention over the operands, as ``numpy.einsum``.

    Supports NumPy's subscripts: implicit output (labels appearing once, in alphabetical
    order, uppercase first) and explicit ``'->'`` output, repeated labels within an
    operand (diagonals and traces such as ``'ii'``, ``'ii->i'``), labels of length one
    broadcast against longer ones, ``'...'`` for broadcast leading axes, outer products,
    batched products (``'bij,bjk->bik'``) and any contraction; also the interleaved form
    ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])``.

    Operands are contracted pairwise from left to right, summing each label out as soon
    as no later operand and not the output needs it. A float pair is one (batched)
    ``matmul`` on the engine's GEMM with the kept and the summed axes merged (each
    block product is a GEMM over one block of the contracted axes, and the partial
    products are summed by a tree, as in Dask's blockwise ``einsum``) when each operand
    has labels of its own; otherwise (``'ij,ij->j'``, ``'ij,j->i'``), and for integer
    and bool pairs, the pair is a fused multiply-and-sum that stores no product array. Diagonals are read
    through a reshape of the operand (a copy unless it is a C-contiguous NumPy array).

    Parameters
    ----------
    subscripts : str
    *operands : Array or array_like
    dtype : dtype-like, optional
        Compute in this dtype; each operand must cast to it under ``casting``.
    casting : {'no', 'equiv', 'safe', 'same_kind', 'unsafe'}
        Only checked against ``dtype``.
    optimize : bool or str
        Ignored (the pairwise order is always left to right).
    split_every : int, optional
        Fan-in of the tree reductions (as Dask).
    out : None
        Not supported.
    order : str
        Ignored.

    Returns
    -------
    Array
        Of ``numpy.result_type`` of the operands (or ``dtype``); integers wrap around and
        bools add as "or", as in NumPy.

    Raises
    ------
    ValueError
        For bad subscripts or operand counts, or mismatched dimensions, with NumPy's
        messages.
    TypeError
        If an operand cannot be cast to ``dtype`` under ``casting``.
    """
    if out is not None:
        raise TypeError("einsum() argument 'out' is not supported for brickwork arrays")
    if not operands:
        raise ValueError("No input operands")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _interleaved(operands)
    arrays = [as_array(a) for a in ops]
    labels, output = _parse(subscripts, [a.ndim for a in arrays])
    if dtype is None:
        result_dtype = np.result_type(*(a.dtype for a in arrays))
    else:
        result_dtype = np.dtype(dtype)
        for a in arrays:
            if not np.can_cast(a.dtype, result_dtype, casting=casting):
                raise TypeError(
                    f"Cannot cast array data from {a.dtype!r} to {result_dtype!r} according "
                    f"to the rule {casting!r}"
                )
    return _contract(list(zip(arrays, labels)), output, result_dtype, split_every)
