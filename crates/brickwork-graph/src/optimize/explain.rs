//! The optimized plan as text: one line per stage with its task count, and the fused
//! program of each kernel, so a user can see what was fused, shared and culled.

use crate::taskgraph::{LeafKind, StageKind, TaskGraph};
use brickwork_core::fmt_shape;
use brickwork_kernels::{Instr, Program};
use std::fmt::Write;

fn program_text(p: &Program, leaves: &[String], out: &mut String) {
    for instr in &p.instrs {
        let line = match instr {
            Instr::Load { input, dst } => format!("r{dst} = load {}", leaves[*input as usize]),
            Instr::Const { value, dst } => format!("r{dst} = {} {}", value.dtype, value.as_f64()),
            Instr::Cast { src, dst } => format!("r{dst} = r{src} as {}", p.regs[*dst as usize]),
            Instr::Unary { op, src, dst } => format!("r{dst} = {}(r{src})", op.name()),
            Instr::Binary { op, a, b, dst } => format!("r{dst} = {}(r{a}, r{b})", op.name()),
            Instr::Where { cond, a, b, dst } => format!("r{dst} = where(r{cond}, r{a}, r{b})"),
        };
        let _ = writeln!(out, "      {line}");
    }
    let outs: Vec<String> = p.outputs.iter().map(|r| format!("r{r}")).collect();
    let _ = writeln!(out, "      -> {}", outs.join(", "));
}

fn leaf_names(leaves: &[crate::taskgraph::Leaf]) -> Vec<String> {
    leaves
        .iter()
        .map(|l| match &l.kind {
            LeafKind::Source(s) => format!("source {:?} (in place)", s.strides),
            LeafKind::Generated(_) => "generated values".into(),
            LeafKind::Buffer { target, .. } => format!("intermediate #{target}"),
            LeafKind::Stored(src) => format!("{src:?} (read per block)"),
        })
        .collect()
}

fn target_name(g: &TaskGraph, t: usize) -> String {
    if t < g.noutputs {
        format!("output {t}")
    } else {
        format!("intermediate #{t}")
    }
}

/// The plan of `g` as text.
pub fn explain(g: &TaskGraph) -> String {
    let mut counts = vec![0usize; g.stages.len()];
    for &s in &g.stage_of {
        counts[s as usize] += 1;
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} tasks in {} stages", g.ntasks(), g.stages.len());
    for (i, s) in g.stages.iter().enumerate() {
        let culled = if counts[i] < s.ntasks {
            format!(" ({} culled)", s.ntasks - counts[i])
        } else {
            String::new()
        };
        let tasks = format!("{} tasks{culled}", counts[i]);
        match &s.kind {
            StageKind::Map {
                program,
                leaves,
                grid,
                target,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  stage {i}: map -> {}, blocks {}, {tasks}",
                    target_name(g, *target),
                    fmt_shape(&grid.chunksize())
                );
                program_text(program, &leaf_names(leaves), &mut out);
            }
            StageKind::Partial {
                program,
                leaves,
                grid,
                axes,
                outputs,
                ..
            } => {
                let names: Vec<&str> = outputs.iter().map(|o| o.reducer.name()).collect();
                let _ = writeln!(
                    out,
                    "  stage {i}: partial {} over axes {axes:?}, blocks {}, {tasks}",
                    names.join(" + "),
                    fmt_shape(&grid.chunksize())
                );
                program_text(program, &leaf_names(leaves), &mut out);
            }
            StageKind::Combine {
                reducer,
                prev,
                fan_in,
                finish,
                ..
            } => {
                let to = match finish {
                    Some(f) => {
                        let t: Vec<String> =
                            f.targets.iter().map(|(t, _)| target_name(g, *t)).collect();
                        format!(" -> {}", t.join(", "))
                    }
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "  stage {i}: combine {} of stage {prev} (fan-in {fan_in}){to}, {tasks}",
                    reducer.name()
                );
            }
            StageKind::Scan {
                program,
                leaves,
                grid,
                axis,
                op,
                target,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  stage {i}: {} along axis {axis} -> {}, blocks {}, {tasks}",
                    op.name(),
                    target_name(g, *target),
                    fmt_shape(&grid.chunksize())
                );
                program_text(program, &leaf_names(leaves), &mut out);
            }
            StageKind::Store {
                program,
                leaves,
                grid,
                sink,
            } => {
                let _ = writeln!(
                    out,
                    "  stage {i}: store -> {}, blocks {}, {tasks}",
                    sink.name(),
                    fmt_shape(&grid.chunksize())
                );
                program_text(program, &leaf_names(leaves), &mut out);
            }
            StageKind::Gather {
                axis,
                indices,
                grid,
                target,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  stage {i}: take {} indices along axis {axis} -> {}, blocks {}, {tasks}",
                    indices.len(),
                    target_name(g, *target),
                    fmt_shape(&grid.chunksize())
                );
            }
            StageKind::Contract {
                a,
                b,
                per_out,
                grid,
                ..
            } => {
                let names = leaf_names(&[a.clone(), b.clone()]);
                let _ = writeln!(
                    out,
                    "  stage {i}: matmul {} @ {} ({per_out} block products per output block), blocks {}, {tasks}",
                    names[0],
                    names[1],
                    fmt_shape(&grid.chunksize())
                );
            }
            StageKind::Callback {
                func, grid, target, ..
            } => {
                let _ = writeln!(
                    out,
                    "  stage {i}: map_blocks {} -> {}, blocks {}, {tasks}",
                    func.name(),
                    target_name(g, *target),
                    fmt_shape(&grid.chunksize())
                );
            }
        }
    }
    out
}
