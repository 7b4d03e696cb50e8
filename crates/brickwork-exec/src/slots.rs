//! Finished task results, each freed as soon as its last consumer has run.

use brickwork_graph::Part;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// What a task leaves for its consumers: one part per output of its stage.
pub(crate) type Slot = Vec<Part>;

/// One result cell per task, with the number of consumers still to read it.
pub(crate) struct Slots {
    cells: Vec<Mutex<Option<Arc<Slot>>>>,
    readers: Vec<AtomicU32>,
}

impl Slots {
    /// Cells for `n` tasks, with the consumer counts of each.
    pub(crate) fn new(readers: Vec<u32>) -> Slots {
        Slots {
            cells: (0..readers.len()).map(|_| Mutex::new(None)).collect(),
            readers: readers.into_iter().map(AtomicU32::new).collect(),
        }
    }

    /// Store task `t`'s result (dropped at once if nobody reads it).
    pub(crate) fn put(&self, t: usize, slot: Slot) {
        if self.readers[t].load(Ordering::Acquire) > 0 {
            *self.cells[t].lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(slot));
        }
    }

    /// A shared handle to task `t`'s result.
    pub(crate) fn get(&self, t: usize) -> Option<Arc<Slot>> {
        self.cells[t]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Record that one consumer of task `t` is done; frees the result after the last.
    pub(crate) fn release(&self, t: usize) {
        if self.readers[t].fetch_sub(1, Ordering::AcqRel) == 1 {
            self.cells[t]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }
    }
}
