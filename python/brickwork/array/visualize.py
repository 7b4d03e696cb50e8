"""``visualize``: the optimized plan drawn as a graph, in Graphviz's DOT language.

The drawing is the plan ``compute`` runs (``_core.plan``, the data behind ``explain``):
one box per stage, the arrays read from memory or storage and the outputs as ellipses,
and an arrow wherever tasks of one stage read the results of another. DOT text is
written by this module; PNG, SVG, PDF and JPEG are rendered by Graphviz's ``dot``
program.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from brickwork import _core
from brickwork.array._dispatch import array_method
from brickwork.array.core import Array

__all__ = ["visualize"]

FORMATS = ("png", "pdf", "dot", "svg", "jpeg", "jpg")
# The fill colour of each kind of stage.
COLOURS = {
    "map": "#D9F2FF",
    "partial": "#D9FFE6",
    "combine": "#D9FFE6",
    "scan": "#FFE9CC",
    "take": "#FFD9F2",
    "matmul": "#E6D9FF",
    "map_blocks": "#FFFACC",
    "store": "#DBDEE5",
}


@array_method()
def visualize(
    *arrays: Any,
    filename: str | os.PathLike[str] | None = "mydask",
    format: str | None = None,
    rankdir: str = "BT",
    verbose: bool = False,
) -> str | bytes:
    """Draw the optimized plan of computing ``arrays`` together, as ``dask.visualize``.

    Each stage of the plan (a line of ``explain``) is a box giving its operation, its
    blocks and its number of tasks, with its fused program as the tooltip (SVG) and, if
    ``verbose``, inside the box. An arrow from one stage to another means tasks of the
    second read results of the first; its label is the number of such task-to-task
    dependencies. Arrays read from memory or storage and the outputs are ellipses.

    Parameters
    ----------
    *arrays : Array
        The arrays (other arguments are ignored).
    filename : str or path-like or None, default "mydask"
        Where to write. ``.{format}`` is appended unless it ends so already; an ending
        among ``FORMATS`` sets the format when ``format`` is None. None writes nothing
        and returns the rendered data.
    format : {"png", "pdf", "dot", "svg", "jpeg", "jpg"}, optional
        Default: the file name's ending, else "png". All but "dot" need Graphviz's
        ``dot`` program on the PATH.
    rankdir : {"BT", "TB", "LR", "RL"}, default "BT"
        The direction of the arrows (Dask's default: from bottom to top).
    verbose : bool, default False
        Write each stage's fused program inside its box.

    Returns
    -------
    str or bytes
        The path written, or the rendered data when ``filename`` is None.

    Raises
    ------
    TypeError
        If no argument is a brickwork array.
    ValueError
        An unknown ``format`` or ``rankdir``.
    RuntimeError
        Rendering needs ``dot`` and it is not installed (or it failed).

    Examples
    --------
    >>> x = brickwork.array.ones((100, 100), chunks=50)
    >>> (x * 2).sum(axis=0).visualize("plan.svg")  # doctest: +SKIP
    'plan.svg'
    """
    exprs = [a._expr for a in arrays if isinstance(a, Array)]
    if not exprs:
        raise TypeError("visualize needs at least one brickwork array")
    name = None if filename is None else os.fspath(filename)
    if format is None:
        root, ending = os.path.splitext(name or "")
        if ending[1:].lower() in FORMATS:
            name, format = root, ending[1:].lower()
        else:
            format = "png"
    format = format.lower()
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if rankdir not in ("BT", "TB", "LR", "RL"):
        raise ValueError(f"rankdir must be 'BT', 'TB', 'LR' or 'RL', got {rankdir!r}")
    data = _render(_dot(_core.plan(exprs), rankdir, verbose), format)
    if name is None:
        return data
    path = name if name.endswith("." + format) else f"{name}.{format}"
    with open(path, "wb") as f:
        f.write(data)
    return path


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _label(lines: Sequence[str], program: Sequence[str] = ()) -> str:
    """A DOT label: ``lines`` centred, then ``program`` left-aligned."""
    text = "\\n".join(_escape(line) for line in lines)
    if program:
        text += "\\n" + "".join(_escape(line) + "\\l" for line in program)
    return f'"{text}"'


def _parts(summary: str) -> list[str]:
    """``summary`` cut at its top-level ", " (not inside brackets such as a shape)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(summary):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and summary.startswith(", ", i):
            parts.append(summary[start:i])
            start = i + 2
    return [*parts, summary[start:]]


def _shape(shape: Any) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def _dot(plan: dict[str, Any], rankdir: str = "BT", verbose: bool = False) -> str:
    """The DOT text of a plan from ``_core.plan``."""
    stages = plan["stages"]
    title = f"{plan['ntasks']} tasks in {len(stages)} stages"
    lines = [
        "digraph brickwork {",
        f'  graph [rankdir={rankdir}, label="{title}", labelloc=t, fontname=helvetica];',
        "  node [shape=box, fontname=helvetica];",
        "  edge [fontname=helvetica];",
    ]
    inputs: dict[str, str] = {}
    for i, stage in enumerate(stages):
        label = _label(
            [f"stage {i}: {_parts(stage['summary'])[0]}", *_parts(stage["summary"])[1:]],
            stage["program"] if verbose else [],
        )
        grid = stage["grid"]
        blocks = (
            []
            if grid is None
            else [
                f"array {_shape(grid['shape'])} in {_shape(grid['numblocks'])} blocks"
                f" of up to {_shape(grid['chunksize'])}"
            ]
        )
        tooltip = _label([stage["summary"], *blocks, *stage["program"]])
        colour = COLOURS[stage["kind"]]
        lines.append(
            f'  stage{i} [label={label}, tooltip={tooltip}, style=filled, fillcolor="{colour}"];'
        )
        read = {}  # one arrow per array, however many views of it the stage reads
        for data in stage["inputs"]:
            if data["key"] not in inputs:
                node = inputs[data["key"]] = f"input{len(inputs)}"
                shape = data["shape"]
                about = f"{data['dtype']} " + (
                    f"{data['size']} elements" if shape is None else _shape(shape)
                )
                lines.append(f"  {node} [shape=ellipse, label={_label([data['name'], about])}];")
            read[inputs[data["key"]]] = None
        lines.extend(f"  {node} -> stage{i};" for node in read)
    for t, target in enumerate(plan["targets"]):
        if target["output"]:
            about = f"{target['dtype']} {_shape(target['shape'])}"
            lines.append(f"  output{t} [shape=ellipse, label={_label([f'output {t}', about])}];")
    for i, stage in enumerate(stages):
        for t in stage["writes"]:
            if plan["targets"][t]["output"]:
                lines.append(f"  stage{i} -> output{t};")
    for a, b, n in plan["edges"]:
        lines.append(f'  stage{a} -> stage{b} [label="{n}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render(source: str, format: str) -> bytes:
    """The DOT text ``source`` as ``format`` (rendered by Graphviz's ``dot``)."""
    if format == "dot":
        return source.encode()
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"visualize needs Graphviz's `dot` program to write {format} files and it is "
            "not on the PATH: install Graphviz (e.g. `apt-get install graphviz`, "
            "`conda install graphviz` or `brew install graphviz`), or write the DOT text "
            "with format='dot'"
        )
    done = subprocess.run([dot, f"-T{format}"], input=source.encode(), capture_output=True)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"Graphviz's dot failed to write {format}: {done.stderr.decode()}")
    return done.stdout
