//! Combine: one level of a reduction's tree, merging groups of up to `fan_in` states of
//! the stage before it; the last level finishes the result.

use super::{deliver, final_targets, final_text, Final, Part};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{Leaf, TaskGraph};
use brickwork_core::{Chunks, DType, Error, Result};
use brickwork_kernels::program::Scratch;
use brickwork_kernels::reduce::{combine, Reducer, State};

/// Combine groups of up to `fan_in` states of the previous stage.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Combine {
    /// The reduction.
    pub reducer: Reducer,
    /// The stage combined.
    pub prev: usize,
    /// Which of the previous stage's states (its output number) is combined.
    pub part: usize,
    /// Tasks of `prev` per output block.
    pub prev_per_out: usize,
    /// The tree's fan-in.
    pub fan_in: usize,
    /// Tasks of this stage per output block.
    pub per_out: usize,
    /// Set for the last level.
    pub finish: Option<Final>,
}

fn missing(dep: u32) -> Error {
    Error::Internal(format!("the result of task {dep} is missing"))
}

impl StageOp for Combine {
    fn name(&self) -> &'static str {
        "combine"
    }

    fn grid(&self) -> Option<&Chunks> {
        self.finish.as_ref().map(|f| &f.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        Vec::new()
    }

    fn writes(&self) -> Vec<usize> {
        final_targets(&self.finish)
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        let pf = stages[self.prev].first;
        let (o, grp) = (t / self.per_out, t % self.per_out);
        let lo = grp * self.fan_in;
        let hi = ((grp + 1) * self.fan_in).min(self.prev_per_out);
        out.extend((lo..hi).map(|r| (pf + o * self.prev_per_out + r) as u32));
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        // Bounded by the states of the partial stage; counted there per state.
        (
            self.fan_in * 32,
            format!("a {} combine", self.reducer.name()),
        )
    }

    fn summary(&self, g: &TaskGraph) -> String {
        format!(
            "combine {} of stage {} (fan-in {}){}",
            self.reducer.name(),
            self.prev,
            self.fan_in,
            final_text(g, &self.finish)
        )
    }

    fn finish_mut(&mut self, _part: usize) -> Option<&mut Final> {
        self.finish.as_mut()
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let mut acc: Option<State> = None;
        for &d in task.deps {
            let mut result = Ok(());
            env.with_part(d as usize, self.part, &mut |p| {
                result = match p {
                    Some(Part::State(state)) => match &mut acc {
                        None => {
                            acc = Some(state.clone());
                            Ok(())
                        }
                        Some(a) => combine(self.reducer, a, state),
                    },
                    _ => Err(missing(d)),
                }
            })?;
            result?;
        }
        let state = acc.ok_or_else(|| Error::Internal("a combine task without inputs".into()))?;
        let o = task.index / self.per_out;
        let part = deliver(env, o, self.reducer, &self.finish, state, scratch)?;
        env.put(task.id, vec![part])
    }
}
