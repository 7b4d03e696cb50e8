//! The optimized plan as text: one line per stage with its task count, and the fused
//! program of each kernel, so a user can see what was fused, shared and culled.

use crate::stage::leaf_name;
use crate::taskgraph::TaskGraph;
use brickwork_kernels::{Instr, Program};
use std::fmt::Write;

fn program_lines(p: &Program, leaves: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = p
        .instrs
        .iter()
        .map(|instr| match instr {
            Instr::Load { input, dst } => format!("r{dst} = load {}", leaves[*input as usize]),
            Instr::Const { value, dst } => format!("r{dst} = {} {}", value.dtype, value.as_f64()),
            Instr::Cast { src, dst } => format!("r{dst} = r{src} as {}", p.regs[*dst as usize]),
            Instr::Unary { op, src, dst } => format!("r{dst} = {}(r{src})", op.name()),
            Instr::Binary { op, a, b, dst } => format!("r{dst} = {}(r{a}, r{b})", op.name()),
            Instr::Where { cond, a, b, dst } => format!("r{dst} = where(r{cond}, r{a}, r{b})"),
        })
        .collect();
    let outs: Vec<String> = p.outputs.iter().map(|r| format!("r{r}")).collect();
    lines.push(format!("-> {}", outs.join(", ")));
    lines
}

/// Each stage of `g` as `explain` shows it: its line (what it does, its blocks and its
/// tasks after culling) and the lines of its fused program (none without one).
pub fn stage_lines(g: &TaskGraph) -> Vec<(String, Vec<String>)> {
    let mut counts = vec![0usize; g.stages.len()];
    for &s in &g.stage_of {
        counts[s as usize] += 1;
    }
    g.stages
        .iter()
        .zip(counts)
        .map(|(s, count)| {
            let culled = if count < s.ntasks {
                format!(" ({} culled)", s.ntasks - count)
            } else {
                String::new()
            };
            let op = s.kind.op();
            let program = op.program().map_or_else(Vec::new, |(program, leaves)| {
                let names: Vec<String> = leaves.iter().map(leaf_name).collect();
                program_lines(program, &names)
            });
            (format!("{}, {count} tasks{culled}", op.summary(g)), program)
        })
        .collect()
}

/// The plan of `g` as text.
pub fn explain(g: &TaskGraph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} tasks in {} stages", g.ntasks(), g.stages.len());
    for (i, (line, program)) in stage_lines(g).into_iter().enumerate() {
        let _ = writeln!(out, "  stage {i}: {line}");
        for p in program {
            let _ = writeln!(out, "      {p}");
        }
    }
    out
}
