"""visualize(): the DOT drawing of the optimized plan, checked against the plan that
``explain`` prints and against the shape of Dask's task graph for the same reduction;
PNG / SVG / PDF rendering (when Graphviz's ``dot`` is installed)."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import dask.array
import numpy as np
import pytest
from _support import explicit_chunks
from hypothesis import given
from hypothesis import strategies as st

import brickwork
import brickwork.array as da

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")

NODE = re.compile(r"^  (\w+) \[(.*)\];$")
EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[label="(\d+)"\])?;$')


def _dot(*arrays, **kwargs):
    """(nodes {name: attributes text}, edges {(a, b): label or None}, title) of the DOT
    drawing of ``arrays``."""
    text = da.visualize(*arrays, filename=None, format="dot", **kwargs).decode()
    assert text.startswith("digraph brickwork {\n") and text.endswith("}\n")
    nodes, edges = {}, {}
    for line in text.splitlines()[1:-1]:
        if m := EDGE.match(line):
            assert (m[1], m[2]) not in edges, line  # one arrow per pair
            edges[m[1], m[2]] = None if m[3] is None else int(m[3])
        elif m := NODE.match(line):
            nodes[m[1]] = m[2]
        else:
            raise AssertionError(f"unexpected DOT line {line!r}")
    title = re.search(r'label="([^"]*)"', nodes.pop("graph"))[1]
    del nodes["node"], nodes["edge"]
    return nodes, edges, title


def _tooltip(attributes):
    return re.search(r'tooltip="((?:[^"\\]|\\.)*)"', attributes)[1].replace("\\n", "\n")


def _explained(text):
    """explain's text as (first line, [(stage line without "stage i: ", program)]); its
    last line, the rewrite rules that fired, is not a stage's."""
    lines = text.splitlines()
    assert lines[-1].startswith("rewrites: ")
    stages = []
    for line in lines[1:-1]:
        if line.startswith("  stage "):
            stages.append([line.split(": ", 1)[1], []])
        else:
            stages[-1][1].append(line.strip())
    return lines[0], stages


def _check_against_explain(*arrays):
    nodes, edges, title = _dot(*arrays)
    first, stages = _explained(brickwork.explain(*arrays))
    assert title == first
    stage_nodes = sorted((n for n in nodes if n.startswith("stage")), key=lambda n: int(n[5:]))
    assert stage_nodes == [f"stage{i}" for i in range(len(stages))]
    for i, (header, program) in enumerate(stages):
        tooltip = _tooltip(nodes[f"stage{i}"]).split("\n")
        assert tooltip[0] == header and tooltip[len(tooltip) - len(program) :] == program
        tasks = re.search(r"(\d+) tasks", header)[1]
        assert f"\\n{tasks} tasks" in nodes[f"stage{i}"]
    # The task counts on the arrows add up to the tasks' dependencies: every task of a
    # combine stage reads a fan-in group of the stage before it.
    for i, (header, _) in enumerate(stages):
        if m := re.match(r"combine \w+ of stage (\d+)", header):
            before = int(re.search(r"(\d+) tasks", stages[int(m[1])][0])[1])
            assert edges[f"stage{m[1]}", f"stage{i}"] == before
    return nodes, edges


@given(
    data=st.data(),
    split_every=st.integers(2, 5),
    axis=st.sampled_from([0, 1, None]),
)
def test_dot_draws_the_plan_explain_prints(data, split_every, axis):
    rows = data.draw(st.integers(1, 30), label="rows")
    chunks = (data.draw(explicit_chunks(rows), label="chunks"), 2)
    x = da.from_array(np.arange(rows * 3.0).reshape(rows, 3), chunks=chunks)
    y = (x * 2).sum(axis=axis, split_every=split_every)
    nodes, edges = _check_against_explain(y, x + 1, y[:1] if y.ndim else y)
    assert sum(n.startswith("input") for n in nodes) == 1  # x is read in place, once
    assert {n for n in nodes if n.startswith("output")} == {"output0", "output1", "output2"}


@pytest.mark.parametrize("split_every", [2, 3, 4, 16])
@pytest.mark.parametrize("n", [17, 40])
def test_reduction_tree_has_dask_s_levels_and_dependencies(n, split_every):
    data = np.arange(n * 5.0)
    dx = dask.array.from_array(data, chunks=5)
    dy = dx.sum(split_every=split_every)
    graph = dy.__dask_graph__()
    # Dask's layers after the array and its per-chunk sums (which brickwork fuses into
    # its partial stage), and the task dependencies between consecutive layers.
    layers = [name for name in graph.layers if name.startswith("sum-")]
    deps = graph.get_all_dependencies()
    expected_tasks = [len(graph.layers[name]) for name in layers]
    expected_edges = [sum(len(deps[key]) for key in graph.layers[after]) for after in layers[1:]]

    y = da.from_array(data, chunks=5).sum(split_every=split_every)
    nodes, edges = _check_against_explain(y)
    tasks = [int(re.search(r"\\n(\d+) tasks", nodes[f"stage{i}"])[1]) for i in range(len(layers))]
    assert tasks == expected_tasks
    assert [edges[f"stage{i}", f"stage{i + 1}"] for i in range(len(layers) - 1)] == expected_edges
    assert edges[f"stage{len(layers) - 1}", "output0"] is None
    blocks = f"array ({data.size},) in ({dx.numblocks[0]},) blocks of up to ({dx.chunksize[0]},)"
    assert _tooltip(nodes["stage0"]).split("\n")[1] == blocks
    assert np.isclose(y.compute(), dy.compute())


def test_culled_tasks_and_shared_work_are_drawn():
    x = da.from_array(np.ones((1000, 10)), chunks=(10, 10))
    head = x.sum(axis=1)[:5]
    nodes, _ = _check_against_explain(head)
    assert "(99 culled)" in _tooltip(nodes["stage0"])
    nodes, _ = _check_against_explain(x.mean(), x.std())
    assert sum(n.startswith("input") for n in nodes) == 1
    # A result written twice into one output: one arrow (the parser checks it).
    _, edges = _check_against_explain(da.concatenate([x.sum(axis=0), x.sum(axis=0)]))
    assert sum(b == "output0" for _, b in edges) == 1


def test_every_kind_of_stage_is_drawn(tmp_path):
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=(12, 4), chunks=(3, 4), dtype="f8")
    z[:] = np.arange(48.0).reshape(12, 4)
    stored = da.from_zarr(str(tmp_path / "a.zarr"))
    x = da.from_array(np.arange(48.0).reshape(12, 4), chunks=(3, 2))
    arrays = [
        stored.map_blocks(np.negative),
        da.take(x, [5, 1, 1], axis=0) @ da.ones((4, 2), chunks=2),
        x.cumsum(axis=0, method="blelloch"),
        da.concatenate([x, x * 2], axis=1),
    ]
    nodes, edges = _check_against_explain(*arrays)
    kinds = " ".join(_tooltip(a).split("\n")[0] for n, a in nodes.items() if n.startswith("stage"))
    for kind in ("map_blocks", "take", "matmul", "cumsum along axis 0", "map ->", "partial"):
        assert kind in kinds
    storage = [a for n, a in nodes.items() if n.startswith("input") and "ZarrArray" in a]
    assert len(storage) == 1 and "float64 (12, 4)" in storage[0]
    # Every stage that reads data has an arrow in (from an input or another stage) and
    # every stage has an arrow out (to a stage or an output): nothing is left hanging.
    for name in (n for n in nodes if n.startswith("stage")):
        tooltip = _tooltip(nodes[name])
        if re.search(
            r"load (source|intermediate|ZarrArray)|^(combine|take|matmul|map_blocks)", tooltip
        ):
            assert any(b == name for _, b in edges), tooltip
        assert any(a == name for a, _ in edges), tooltip
    for t in range(len(arrays)):
        assert any(b == f"output{t}" for _, b in edges)


def test_verbose_puts_the_program_in_the_box():
    x = da.from_array(np.ones(10), chunks=5)
    label = re.compile(r'label="((?:[^"\\]|\\.)*)"')
    quiet, _, _ = _dot(da.sqrt(x) + 1)
    loud, _, _ = _dot(da.sqrt(x) + 1, verbose=True)
    assert "sqrt" not in label.search(quiet["stage0"])[1]
    assert "r1 = sqrt(r0)\\l" in label.search(loud["stage0"])[1]  # left-aligned lines


def test_file_names_and_formats(tmp_path):
    y = da.ones(10, chunks=5).sum()
    assert y.visualize(tmp_path / "plan", format="dot") == str(tmp_path / "plan.dot")
    assert da.visualize(y, filename=str(tmp_path / "p.dot")) == str(tmp_path / "p.dot")
    text = (tmp_path / "p.dot").read_text()
    assert text == da.visualize(y, filename=None, format="dot").decode()
    assert "rankdir=LR" in da.visualize(y, filename=None, format="DOT", rankdir="LR").decode()


def test_errors_and_missing_graphviz(tmp_path, monkeypatch):
    y = da.ones(10, chunks=5).sum()
    with pytest.raises(TypeError, match="brickwork array"):
        da.visualize(np.ones(3))
    with pytest.raises(ValueError, match="'gif'"):
        y.visualize(tmp_path / "plan", format="gif")
    with pytest.raises(ValueError, match="rankdir"):
        y.visualize(tmp_path / "plan", format="dot", rankdir="up")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="install Graphviz"):
        y.visualize(tmp_path / "plan.png")
    assert not (tmp_path / "plan.png").exists()
    assert y.visualize(tmp_path / "plan.dot") == str(tmp_path / "plan.dot")


@needs_dot
def test_svg_has_a_node_per_stage_and_an_edge_per_dependency(tmp_path):
    x = da.from_array(np.ones((40, 4)), chunks=(5, 2))
    y = (x * 2).mean(axis=0, split_every=3)
    nodes, edges, _ = _dot(y)
    path = y.visualize(tmp_path / "plan.svg")
    root = ET.parse(path).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    titles = [
        (g.get("class"), g.find("svg:title", ns).text)
        for g in root.iterfind(".//svg:g[@class]", ns)
        if g.get("class") in ("node", "edge")
    ]
    assert sorted(t for c, t in titles if c == "node") == sorted(nodes)
    assert sorted(t.replace("&#45;", "-") for c, t in titles if c == "edge") == sorted(
        f"{a}->{b}" for a, b in edges
    )


@needs_dot
@pytest.mark.parametrize(
    ("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("jpeg", b"\xff\xd8")]
)
def test_images_are_rendered(tmp_path, fmt, magic):
    y = da.ones((10, 10), chunks=5).sum(axis=0)
    path = y.visualize(tmp_path / "plan", format=fmt)
    assert path == str(tmp_path / f"plan.{fmt}")
    with open(path, "rb") as f:
        assert f.read(len(magic)) == magic
    assert da.visualize(y, filename=None, format=fmt).startswith(magic)
