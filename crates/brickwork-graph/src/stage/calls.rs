//! Calls: task `i` calls a function with its number once the tasks it names have run.
//! Work that is not an array — `brickwork.delayed` — on the same executor as arrays,
//! with the same progress, memory admission, Ctrl-C and error handling.

use super::{Stage, StageKind, StageOp, Task, TaskEnv};
use crate::optimize::tasks::generate;
use crate::taskgraph::{Leaf, TaskGraph};
use brickwork_core::{Chunks, DType, Error, Result};
use brickwork_kernels::program::Scratch;
use std::sync::Arc;

/// A function of a task's number (its values live with the caller: a Python
/// `delayed` graph keeps them in a dict).
pub trait TaskFn: std::fmt::Debug + Send + Sync {
    /// Run call `i`.
    fn call(&self, i: usize) -> Result<()>;

    /// What the calls are, for `explain` and error messages.
    fn name(&self) -> &str;
}

/// `ntasks` calls of `func`; call `i` waits for calls `deps[deps_start[i]..deps_start[i + 1]]`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Calls {
    /// The function called with each task's number.
    #[serde(with = "super::remote::task_fn")]
    pub func: Arc<dyn TaskFn>,
    /// CSR offsets into `deps`, one more than the calls.
    pub deps_start: Vec<u32>,
    /// The calls each call waits for.
    pub deps: Vec<u32>,
}

impl Calls {
    /// The task graph of `func` called once per entry of `deps` (the calls each waits
    /// for, by number), in an order where every call comes after what it waits for.
    pub fn graph(func: Arc<dyn TaskFn>, deps: &[Vec<usize>]) -> Result<TaskGraph> {
        let mut deps_start = vec![0u32];
        let mut flat = Vec::new();
        for (i, d) in deps.iter().enumerate() {
            if let Some(&bad) = d.iter().find(|&&j| j >= i) {
                return Err(Error::Value(format!(
                    "call {i} waits for call {bad}, which does not come before it"
                )));
            }
            flat.extend(d.iter().map(|&j| j as u32));
            deps_start.push(flat.len() as u32);
        }
        let stage = Stage {
            ntasks: deps.len(),
            kind: StageKind::Calls(Calls {
                func,
                deps_start,
                deps: flat,
            }),
            first: 0,
        };
        Ok(generate(vec![stage], Vec::new(), 0))
    }
}

impl StageOp for Calls {
    fn name(&self) -> &'static str {
        "calls"
    }

    fn grid(&self) -> Option<&Chunks> {
        None
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        Vec::new()
    }

    fn writes(&self) -> Vec<usize> {
        Vec::new()
    }

    fn is_root(&self, _noutputs: usize) -> bool {
        true
    }

    fn deps(&self, t: usize, first: usize, _stages: &[Stage], out: &mut Vec<u32>) {
        let range = self.deps_start[t] as usize..self.deps_start[t + 1] as usize;
        out.extend(self.deps[range].iter().map(|&d| first as u32 + d));
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        // What a call allocates is measured while running (memory admission).
        (0, format!("a call of {}", self.func.name()))
    }

    fn summary(&self, _g: &TaskGraph) -> String {
        format!("calls of {}", self.func.name())
    }

    fn run(&self, task: Task<'_>, _env: &dyn TaskEnv, _scratch: &mut Scratch) -> Result<()> {
        self.func.call(task.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Record(Mutex<Vec<usize>>);

    impl TaskFn for Record {
        fn call(&self, i: usize) -> Result<()> {
            self.0.lock().unwrap().push(i);
            Ok(())
        }

        fn name(&self) -> &str {
            "record"
        }
    }

    #[test]
    fn calls_wait_for_what_they_name() {
        let deps = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let g = Calls::graph(Arc::new(Record::default()), &deps).unwrap();
        assert_eq!(g.ntasks(), 4);
        assert_eq!(g.deps_of(3), &[1, 2]);
        assert_eq!(g.deps_of(0), &[] as &[u32]);
        let e = Calls::graph(Arc::new(Record::default()), &[vec![0]]).unwrap_err();
        assert!(e.to_string().contains("call 0 waits for call 0"), "{e}");
    }
}
