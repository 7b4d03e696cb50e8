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
//! task seen lately. A task with no dependencies (one that brings new data in) starts
//! only if the growth (measured, or expected of the running tasks if that is more) plus
//! its own expected growth fits the room the plan leaves; otherwise it waits for running
//! tasks to finish. Before refusing, the allocators are asked to return their free pages
//! (glibc's `malloc_trim`, and the global allocator's hook, see [`on_release_memory`]),
//! and a measured growth per task counts for one to two windows of 0.5 s, so memory an
//! allocator kept once does not hold work back for the rest of the computation. Tasks
//! that consume results always run, and a task is always admitted when nothing else
//! runs, so a computation never stalls.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// How often the resident size is read at most (a read costs about 25 µs).
const MEASURE_EVERY_NANOS: u64 = 2_000_000;
/// How long a measured growth per task counts: between one and two of these.
const WINDOW_NANOS: u64 = 500_000_000;
/// How often the allocator is asked at most to give free memory back.
const TRIM_EVERY_NANOS: u64 = 10_000_000;

/// The admission state of one computation.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Bytes the unplanned growth may reach.
    room: usize,
    /// Resident bytes before the computation: at the start, lowered whenever a
    /// measurement is below (memory released then was not the computation's).
    before: AtomicUsize,
    /// The bytes of the arrays the plan holds in memory.
    planned: usize,
    /// The largest growth per running task measured in this window and the one before
    /// (windows of [`WINDOW_NANOS`]: memory an allocator kept once is forgotten).
    per_task: AtomicUsize,
    per_task_before: AtomicUsize,
    window: AtomicU64,
    /// Tasks running now.
    running: AtomicUsize,
    /// The last measured unplanned growth, and when (nanoseconds after `start`).
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
            before: AtomicUsize::new(now),
            planned,
            per_task: AtomicUsize::new(0),
            per_task_before: AtomicUsize::new(0),
            window: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            measured: AtomicUsize::new(0),
            stamp: AtomicU64::new(0),
            trimmed: AtomicU64::new(0),
            start: Instant::now(),
        })
    }

    /// The unplanned growth now (measured at most every 2 ms), and whether it was
    /// measured by this call.
    fn growth(&self) -> (usize, bool) {
        let now = self.start.elapsed().as_nanos() as u64;
        let last = self.stamp.load(Ordering::Acquire);
        if now.saturating_sub(last) >= MEASURE_EVERY_NANOS
            && self
                .stamp
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let growth = self.growth_of(resident_bytes().unwrap_or(0));
            self.measured.store(growth, Ordering::Release);
            (growth, true)
        } else {
            (self.measured.load(Ordering::Acquire), false)
        }
    }

    /// The unplanned growth when `bytes` are resident.
    fn growth_of(&self, bytes: usize) -> usize {
        let before = self.before.fetch_min(bytes, Ordering::AcqRel).min(bytes);
        bytes.saturating_sub(before.saturating_add(self.planned))
    }

    /// Record `per_task` as measured now, starting a new window when the current one
    /// is over.
    fn record(&self, per_task: usize) {
        let now = self.start.elapsed().as_nanos() as u64;
        let window = self.window.load(Ordering::Acquire);
        if now.saturating_sub(window) >= WINDOW_NANOS
            && self
                .window
                .compare_exchange(window, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let last = self.per_task.swap(0, Ordering::AcqRel);
            self.per_task_before.store(last, Ordering::Release);
        }
        self.per_task.fetch_max(per_task, Ordering::AcqRel);
    }

    /// The expected growth of one task: the largest measured in the last window or two.
    fn expected(&self) -> usize {
        self.per_task
            .load(Ordering::Acquire)
            .max(self.per_task_before.load(Ordering::Acquire))
    }

    /// Record the growth per task with `running` tasks running.
    fn observe(&self, running: usize) -> usize {
        let (growth, fresh) = self.growth();
        if let Some(per_task) = growth.checked_div(running).filter(|_| fresh) {
            self.record(per_task);
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
        let per_task = self.expected();
        growth.max(running * per_task) + per_task <= self.room
    }

    /// Return the allocators' free memory to the system (at most every 10 ms) and
    /// measure again; false when it was done too recently.
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
        release_free_memory();
        let growth = self.growth_of(resident_bytes().unwrap_or(0));
        self.measured.store(growth, Ordering::Release);
        self.stamp
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Release);
        true
    }

    /// Measure now (not throttled) and record the growth per running task.
    pub(crate) fn sample(&self) {
        let growth = self.growth_of(resident_bytes().unwrap_or(0));
        self.measured.store(growth, Ordering::Release);
        self.stamp
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Release);
        let running = self.running.load(Ordering::Acquire);
        if let Some(per_task) = growth.checked_div(running) {
            self.record(per_task);
        }
    }

    /// Start a task that consumes results (always admitted).
    pub(crate) fn start(&self) {
        self.running.fetch_add(1, Ordering::AcqRel);
    }

    /// A task has finished (what tasks hold is measured by `sample` and admission).
    pub(crate) fn finish(&self) {
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
