//! Run-time admission: source tasks start only while the measured memory allows.
//!
//! The plan (`brickwork_graph::optimize::budget`) fits the arrays a computation holds
//! and one working set per thread into the budget before anything runs. What the plan
//! cannot see — the temporaries of a user's block function, codec buffers — is measured
//! while the computation runs: the process's resident anonymous and shared-memory bytes
//! (`/proc/self/status`: RssAnon + RssShmem; pages of mapped files are left out, the
//! kernel can drop them) above what they were at the start, less the arrays the plan
//! holds in memory, read when workers ask for admission and every 10 ms by the calling
//! thread. Each task is expected to grow it by the largest growth per running
//! task seen so far. A task with no dependencies (one that brings new data in) starts
//! only if the growth (measured, or expected of the running tasks if that is more) plus
//! its own expected growth fits the room the plan leaves; otherwise it waits for running
//! tasks to finish. Before refusing, the allocators are asked to return their free pages
//! (glibc's `malloc_trim`, and the global allocator's hook, see [`on_release_memory`]);
//! what they give back was held by no task and comes off the per-task estimate. Tasks
//! that consume results always run, and a task is always admitted when nothing else
//! runs, so a computation never stalls.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// How often the resident size is read at most (a read costs about 25 µs).
const MEASURE_EVERY_NANOS: u64 = 2_000_000;
/// How often the allocator is asked at most to give free memory back.
const TRIM_EVERY_NANOS: u64 = 10_000_000;

/// The admission state of one computation.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Bytes the unplanned growth may reach.
    room: usize,
    /// Resident bytes at the start plus the arrays the plan holds in memory.
    base: usize,
    /// The largest growth per running task measured so far.
    per_task: AtomicUsize,
    /// Tasks running now.
    running: AtomicUsize,
    /// The last measured resident bytes, and when (nanoseconds after `start`).
    measured: AtomicUsize,
    stamp: AtomicU64,
    /// When the allocator last gave its free memory back.
    trimmed: AtomicU64,
    start: Instant,
}

impl Admission {
    /// Admission for a budget of `limit` bytes of which the plan holds `planned` bytes of
    /// arrays in memory; None when the resident size cannot be read.
    pub(crate) fn new(limit: usize, planned: usize) -> Option<Admission> {
        let now = resident_bytes()?;
        Some(Admission {
            room: limit.saturating_sub(planned),
            base: now.saturating_add(planned),
            per_task: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            measured: AtomicUsize::new(now),
            stamp: AtomicU64::new(0),
            trimmed: AtomicU64::new(0),
            start: Instant::now(),
        })
    }

    /// The unplanned growth now (measured at most every 2 ms).
    fn growth(&self) -> usize {
        let now = self.start.elapsed().as_nanos() as u64;
        let last = self.stamp.load(Ordering::Acquire);
        let bytes = if now.saturating_sub(last) >= MEASURE_EVERY_NANOS
            && self
                .stamp
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let b = resident_bytes().unwrap_or(0);
            self.measured.store(b, Ordering::Release);
            b
        } else {
            self.measured.load(Ordering::Acquire)
        };
        bytes.saturating_sub(self.base)
    }

    /// Record the growth per task with `running` tasks running.
    fn observe(&self, running: usize) -> usize {
        let growth = self.growth();
        if let Some(per_task) = growth.checked_div(running) {
            self.per_task.fetch_max(per_task, Ordering::AcqRel);
        }
        growth
    }

    /// Try to start a task with no dependencies; false when it must wait.
    pub(crate) fn admit_source(&self) -> bool {
        let mut running = self.running.load(Ordering::Acquire);
        loop {
            if running > 0 && !self.fits(running) {
                // Memory freed by finished tasks may still be held by the allocator:
                // hand it back to the system and measure again before refusing.
                if !self.trim() || !self.fits(running) {
                    return false;
                }
            }
            match self.running.compare_exchange_weak(
                running,
                running + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => running = now,
            }
        }
    }

    /// Whether one more task fits next to `running` ones. Running tasks may not have
    /// reached their size yet: each counts at the largest size seen per task, or the
    /// measured growth counts if that is more.
    fn fits(&self, running: usize) -> bool {
        let growth = self.observe(running);
        let per_task = self.per_task.load(Ordering::Acquire);
        growth.max(running * per_task) + per_task <= self.room
    }

    /// Return the allocators' free memory to the system (at most every 10 ms), measure
    /// again and take what was returned off the per-task estimate; false when it was
    /// done too recently.
    fn trim(&self) -> bool {
        let now = self.start.elapsed().as_nanos() as u64;
        let last = self.trimmed.load(Ordering::Acquire);
        if now.saturating_sub(last) < TRIM_EVERY_NANOS
            || self
                .trimmed
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        let before = resident_bytes().unwrap_or(0);
        release_free_memory();
        let b = resident_bytes().unwrap_or(0);
        // What the allocators gave back of the growth was held for no task: take it off
        // the estimate (not what they kept from before the computation started).
        let given_back = before
            .saturating_sub(self.base)
            .saturating_sub(b.saturating_sub(self.base));
        let released = given_back / self.running.load(Ordering::Acquire).max(1);
        let _ = self
            .per_task
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(released))
            });
        self.measured.store(b, Ordering::Release);
        self.stamp
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Release);
        true
    }

    /// Measure now (not throttled) and record the growth per running task.
    pub(crate) fn sample(&self) {
        let b = resident_bytes().unwrap_or(0);
        self.measured.store(b, Ordering::Release);
        self.stamp
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Release);
        let running = self.running.load(Ordering::Acquire);
        if let Some(per_task) = b.saturating_sub(self.base).checked_div(running) {
            self.per_task.fetch_max(per_task, Ordering::AcqRel);
        }
    }

    /// Start a task that consumes results (always admitted).
    pub(crate) fn start(&self) {
        self.running.fetch_add(1, Ordering::AcqRel);
    }

    /// A task has finished; what it held is measured before it leaves.
    pub(crate) fn finish(&self) {
        self.observe(self.running.load(Ordering::Acquire));
        self.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How the program's global allocator returns its free memory, when it is not the C
/// library's (see [`on_release_memory`]).
static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Register how the program's global allocator hands free memory back to the system
/// (mimalloc: `mi_collect(true)`), so that run-time admission does not count memory the
/// allocator keeps after tasks freed it. The first registration wins.
pub fn on_release_memory(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Ask the allocators to return their free memory to the system: glibc's `malloc_trim`
/// and the registered global allocator's hook.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointers and may be called from any
        // thread at any time; it only releases free pages of the malloc arenas.
        unsafe {
            malloc_trim(0);
        }
    }
    if let Some(release) = RELEASE.get() {
        release();
    }
}

/// Resident anonymous plus shared-memory bytes of this process (RssAnon + RssShmem in
/// `/proc/self/status`), None where that file is not there.
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mut total = 0usize;
    let mut found = false;
    for line in status.lines() {
        let Some(rest) = line
            .strip_prefix("RssAnon:")
            .or_else(|| line.strip_prefix("RssShmem:"))
        else {
            continue;
        };
        let kib: usize = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        total += kib * 1024;
        found = true;
    }
    found.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: a second test allocating in parallel would disturb the measurements.
    #[test]
    fn measures_and_holds_sources_back_while_a_task_holds_more_than_the_room() {
        let before = resident_bytes().unwrap();
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = resident_bytes().unwrap();
        assert!(after >= before + (60 << 20), "{before} -> {after}");
        drop(block);

        let admission = Admission::new(32 << 20, 0).unwrap();
        assert!(admission.admit_source(), "nothing runs: always admitted");
        let held = std::hint::black_box(vec![1u8; 64 << 20]);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(!admission.admit_source(), "64 MiB held, 32 MiB of room");
        admission.start();
        admission.finish();
        drop(held);
        admission.finish();
        assert!(admission.admit_source(), "nothing runs again");
    }
}
