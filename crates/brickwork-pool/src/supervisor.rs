//! The supervisor: one thread that owns the worker processes of a pool, hands them
//! tasks, collects results and survives their deaths.
//!
//! Tasks wait in one FIFO queue. Each worker has a short pipeline of tasks in flight,
//! sized so that it holds about [`PIPELINE`] of work (one task when tasks are slow,
//! up to [`MAX_IN_FLIGHT`] when they take microseconds); the worker runs them in
//! order, so the head of its pipeline is the task it is running. When a worker's
//! socket closes the worker is gone: its running task fails with [`Outcome::Lost`]
//! (or is retried), the rest of its pipeline goes back to the front of the queue, and
//! a new worker is forked. A task running longer than the timeout has its worker
//! killed and fails with [`Outcome::TimedOut`]. The thread never runs user code.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use rustix::process::{kill_process, Pid, Signal};

use crate::arena::Arena;
use crate::forkserver::{ForkServer, Record};
use crate::wire::{encode, Conn, Frame, Kind, Span, MAX_BODY, MAX_SPANS, SKIPPED, TOO_LARGE};

/// How much work a worker's pipeline holds.
pub const PIPELINE: Duration = Duration::from_millis(2);
/// The most tasks in flight on one worker.
pub const MAX_IN_FLIGHT: usize = 64;
/// How long a lost task waits for its worker's exit status before it is reported.
const EXIT_STATUS_WAIT: Duration = Duration::from_millis(500);
/// How long a closing pool waits for its workers to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// Workers that die before saying hello this many times in a row stop the pool.
const STARTUP_FAILURES: u32 = 3;

/// How a pool behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of worker processes.
    pub processes: usize,
    /// A task running longer than this has its worker killed.
    pub timeout: Option<Duration>,
    /// How many times a task whose worker died is run again before it fails.
    pub max_retries: u32,
    /// A worker is replaced after this many tasks.
    pub max_tasks_per_child: Option<u64>,
}

/// A unit of work: which job and item it is, the function key and the payload.
#[derive(Debug)]
pub struct Task {
    /// The job the task belongs to.
    pub job: u64,
    /// Its index within the job.
    pub index: u64,
    /// The function to run (sent to each worker once with [`Supervisor::define`]).
    pub key: u64,
    /// The serialized arguments.
    pub body: Vec<u8>,
    /// Out-of-band buffers in the arena.
    pub spans: Vec<Span>,
    /// Arena blocks (offsets) the supervisor frees when the task ends.
    pub owned: Vec<u64>,
}

/// How a task ended.
#[derive(Debug)]
pub enum Outcome {
    /// The worker answered: a status chosen by the worker's handler, the body, and
    /// buffers as spans of `file`.
    Done {
        /// The handler's status (for Python: 0 value, 1 exception).
        status: u64,
        /// The serialized result.
        body: Vec<u8>,
        /// Out-of-band buffers in `file`.
        spans: Vec<Span>,
        /// The memory file holding the buffers.
        file: Option<OwnedFd>,
    },
    /// The worker died while running the task.
    Lost {
        /// The worker's pid.
        pid: u32,
        /// Its return code (exit status, or minus the signal) when known.
        returncode: Option<i32>,
    },
    /// The task ran past the timeout; its worker was killed.
    TimedOut {
        /// The worker's pid.
        pid: u32,
        /// The timeout.
        timeout: Duration,
    },
    /// The task failed for a reason given in words: the pool failed as a whole (job
    /// `u64::MAX`: workers cannot start), the task was too large to send, or its result
    /// too large to answer.
    Failed(String),
}

/// A finished task.
#[derive(Debug)]
pub struct Event {
    /// The task's job.
    pub job: u64,
    /// The task's index in the job.
    pub index: u64,
    /// How it ended.
    pub outcome: Outcome,
}

#[derive(Default)]
struct Inbox {
    tasks: Vec<Task>,
    /// Tasks submitted before a reset or terminate: dropped, not run.
    dropped: Vec<Task>,
    defines: Vec<(u64, Arc<[u8]>)>,
    cancels: Vec<u64>,
    close: bool,
    terminate: bool,
    reset: bool,
}

#[derive(Default)]
struct Outbox {
    events: VecDeque<Event>,
    finished: bool,
    pids: Vec<u32>,
}

struct Shared {
    inbox: Mutex<Inbox>,
    wake: OwnedFd,
    outbox: Mutex<Outbox>,
    ready: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn notify(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    fn emit(&self, events: impl IntoIterator<Item = Event>) {
        let mut outbox = lock(&self.outbox);
        let before = outbox.events.len();
        outbox.events.extend(events);
        if outbox.events.len() > before {
            self.ready.notify_all();
        }
    }
}

/// A pool of worker processes run by a supervisor thread.
///
/// The thread and the workers belong to the process that started the supervisor. In
/// a child made by `fork()` (which has no copy of the thread, and whose copies of the
/// supervisor's locks may have been taken mid-update by it) every method does nothing
/// and touches no lock: check [`Supervisor::forked`] and refuse work there.
pub struct Supervisor {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The process that started the supervisor.
    owner: u32,
}

/// The calling process's id.
fn current_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

impl Supervisor {
    /// Starts the supervisor thread over a fork server's control socket; workers map
    /// `arena`. Workers are forked at once.
    pub fn start(ctl: OwnedFd, arena: Arc<Arena>, options: Options) -> io::Result<Supervisor> {
        if options.processes == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a pool needs at least one process",
            ));
        }
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            wake: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
            outbox: Mutex::new(Outbox::default()),
            ready: Condvar::new(),
        });
        let mut state = State::new(ForkServer::new(ctl), arena, options, shared.clone());
        let thread = std::thread::Builder::new()
            .name("brickwork-pool".into())
            .spawn(move || state.run())?;
        Ok(Supervisor {
            shared,
            thread: Mutex::new(Some(thread)),
            owner: current_pid(),
        })
    }

    /// The id of the process that started the supervisor (and owns its workers).
    pub fn owner_pid(&self) -> u32 {
        self.owner
    }

    /// Whether this is a child made by `fork()` from the process that started the
    /// supervisor: then the supervisor cannot run tasks here, and its methods do
    /// nothing (`finished` is true, `pids` and `wait_events` are empty).
    pub fn forked(&self) -> bool {
        current_pid() != self.owner
    }

    /// Makes function `key` known to the workers (each worker receives it once,
    /// before its first task that needs it).
    pub fn define(&self, key: u64, body: Vec<u8>) {
        if self.forked() {
            return;
        }
        lock(&self.shared.inbox).defines.push((key, body.into()));
        self.shared.notify();
    }

    /// Queues tasks; they run in the order given.
    pub fn submit(&self, tasks: Vec<Task>) {
        if self.forked() {
            return;
        }
        lock(&self.shared.inbox).tasks.extend(tasks);
        self.shared.notify();
    }

    /// Why `task` cannot be sent to a worker (a frame holds at most 4 GiB of body and
    /// 65,535 buffers), if it cannot.
    pub fn refuse(task: &Task) -> Option<String> {
        if task.body.len() > MAX_BODY {
            return Some(format!(
                "a task's serialized arguments take {} bytes; at most {MAX_BODY} fit in one task \
                 (pass large data as arrays or buffers, which travel through shared memory)",
                task.body.len()
            ));
        }
        (task.spans.len() > MAX_SPANS).then(|| {
            format!(
                "a task has {} out-of-band buffers; at most {MAX_SPANS} fit in one task",
                task.spans.len()
            )
        })
    }

    /// Drops the queued tasks of `job`; its running tasks finish but are not reported.
    pub fn cancel(&self, job: u64) {
        if self.forked() {
            return;
        }
        lock(&self.shared.inbox).cancels.push(job);
        self.shared.notify();
    }

    /// Waits up to `timeout` for finished tasks and returns all that are ready.
    pub fn wait_events(&self, timeout: Duration) -> Vec<Event> {
        if self.forked() {
            return Vec::new();
        }
        let mut outbox = lock(&self.shared.outbox);
        if outbox.events.is_empty() && !outbox.finished {
            outbox = self
                .shared
                .ready
                .wait_timeout(outbox, timeout)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        outbox.events.drain(..).collect()
    }

    /// Whether the supervisor thread has ended (after `close` or `terminate`).
    pub fn finished(&self) -> bool {
        if self.forked() {
            return true;
        }
        lock(&self.shared.outbox).finished
    }

    /// The pids of the live workers.
    pub fn pids(&self) -> Vec<u32> {
        if self.forked() {
            return Vec::new();
        }
        lock(&self.shared.outbox).pids.clone()
    }

    /// No more tasks: the workers exit once the queue is empty.
    pub fn close(&self) {
        if self.forked() {
            return;
        }
        lock(&self.shared.inbox).close = true;
        self.shared.notify();
    }

    /// Kills every worker now and drops every task; the supervisor ends.
    pub fn terminate(&self) {
        if self.forked() {
            return;
        }
        let mut inbox = lock(&self.shared.inbox);
        let tasks = std::mem::take(&mut inbox.tasks);
        inbox.dropped.extend(tasks);
        inbox.terminate = true;
        drop(inbox);
        self.shared.notify();
    }

    /// Kills every worker now and drops every task, then forks fresh workers: the pool
    /// stays usable (this is what an interrupted `map` does).
    pub fn reset(&self) {
        if self.forked() {
            return;
        }
        // Tasks submitted before the reset are dropped; those submitted after it run.
        let mut inbox = lock(&self.shared.inbox);
        let tasks = std::mem::take(&mut inbox.tasks);
        inbox.dropped.extend(tasks);
        inbox.reset = true;
        drop(inbox);
        self.shared.notify();
    }

    /// Waits for the supervisor thread to end (call `close` or `terminate` first).
    pub fn join(&self) {
        if self.forked() {
            return;
        }
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if self.forked() {
            // The thread is the parent's: joining its copied handle would wait forever.
            let thread = self
                .thread
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            std::mem::forget(thread);
            return;
        }
        self.terminate();
        self.join();
    }
}

struct Queued {
    task: Task,
    attempts: u32,
    /// The id it was sent to a worker with.
    id: u64,
}

struct Worker {
    id: u64,
    pid: Option<u32>,
    conn: Conn,
    in_flight: VecDeque<Queued>,
    /// When the head of `in_flight` started.
    head_since: Instant,
    defined: HashSet<u64>,
    dispatched: u64,
    /// Smoothed seconds per task, for each function.
    per_task: HashMap<u64, f64>,
    said_hello: bool,
}

impl Worker {
    /// How many tasks of function `key` this worker's pipeline may hold: one until the
    /// function has been timed on it.
    fn capacity(&self, key: u64) -> usize {
        match self.per_task.get(&key).copied() {
            None => 1,
            Some(seconds) => ((PIPELINE.as_secs_f64() / seconds.max(1e-9)).ceil() as usize)
                .clamp(1, MAX_IN_FLIGHT),
        }
    }
}

/// A task whose worker died, waiting for the worker's exit status.
struct Loss {
    queued: Queued,
    worker: u64,
    pid: Option<u32>,
    since: Instant,
}

struct State {
    server: ForkServer,
    arena: Arc<Arena>,
    options: Options,
    shared: Arc<Shared>,
    workers: Vec<Worker>,
    /// Workers whose STARTED record has not arrived, oldest first.
    launching: VecDeque<u64>,
    next_worker: u64,
    queue: VecDeque<Queued>,
    defines: HashMap<u64, Arc<[u8]>>,
    exits: HashMap<u32, i32>,
    losses: Vec<Loss>,
    /// Task ids (sent to workers) are a running count.
    next_id: u64,
    closing: bool,
    /// Set when the pool failed as a whole; the supervisor stops.
    failed: bool,
    startup_failures: u32,
}

impl State {
    fn new(server: ForkServer, arena: Arc<Arena>, options: Options, shared: Arc<Shared>) -> State {
        State {
            server,
            arena,
            options,
            shared,
            workers: Vec::new(),
            launching: VecDeque::new(),
            next_worker: 0,
            queue: VecDeque::new(),
            defines: HashMap::new(),
            exits: HashMap::new(),
            losses: Vec::new(),
            next_id: 0,
            closing: false,
            failed: false,
            startup_failures: 0,
        }
    }

    fn run(&mut self) {
        if let Err(err) = self.serve() {
            self.fail(format!("the worker pool stopped: {err}"));
        }
        for worker in &self.workers {
            if let Some(pid) = worker.pid {
                kill(pid);
            }
        }
        self.workers.clear();
        let mut outbox = lock(&self.shared.outbox);
        outbox.finished = true;
        outbox.pids.clear();
        self.shared.ready.notify_all();
    }

    fn serve(&mut self) -> io::Result<()> {
        let mut exiting: Option<(Instant, HashSet<u32>)> = None;
        loop {
            if self.take_inbox() || self.failed {
                return Ok(());
            }
            if !self.closing || !self.queue.is_empty() {
                self.launch_missing()?;
            }
            self.dispatch();
            self.flush();
            if self.closing && self.idle() {
                // Closing the sockets tells the workers to exit; wait for their exit
                // records so that `join` returns once they are gone.
                let (since, pids) = exiting.get_or_insert_with(|| (Instant::now(), HashSet::new()));
                pids.extend(self.workers.drain(..).filter_map(|w| w.pid));
                pids.retain(|pid| !self.exits.contains_key(pid));
                if pids.is_empty() && self.launching.is_empty() || since.elapsed() > EXIT_WAIT {
                    return Ok(());
                }
            }
            self.publish_pids();
            self.wait()?;
            self.check_timeouts();
            self.resolve_losses();
        }
    }

    fn idle(&self) -> bool {
        self.queue.is_empty()
            && self.losses.is_empty()
            && self.workers.iter().all(|w| w.in_flight.is_empty())
    }

    /// Applies what the pool's users asked for; true when the supervisor must stop.
    fn take_inbox(&mut self) -> bool {
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(&self.shared.wake, &mut buf);
        let inbox = std::mem::take(&mut *lock(&self.shared.inbox));
        for (key, body) in inbox.defines {
            self.defines.insert(key, body);
        }
        inbox
            .dropped
            .into_iter()
            .for_each(|task| self.release(task));
        if inbox.terminate || inbox.reset {
            self.kill_everything();
            if inbox.terminate {
                inbox.tasks.into_iter().for_each(|task| self.release(task));
                return true;
            }
        }
        self.queue
            .extend(inbox.tasks.into_iter().map(|task| Queued {
                task,
                attempts: 0,
                id: 0,
            }));
        if !inbox.cancels.is_empty() {
            let cancelled: HashSet<u64> = inbox.cancels.into_iter().collect();
            let (drop, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queue)
                .into_iter()
                .partition(|q| cancelled.contains(&q.task.job));
            self.queue = keep.into();
            drop.into_iter().for_each(|q| self.release(q.task));
            let losses = std::mem::take(&mut self.losses);
            for loss in losses {
                if cancelled.contains(&loss.queued.task.job) {
                    self.release(loss.queued.task);
                } else {
                    self.losses.push(loss);
                }
            }
            // Tasks already sent: the worker skips those it has not started.
            for worker in &mut self.workers {
                let ids: Vec<u8> = worker
                    .in_flight
                    .iter()
                    .filter(|q| cancelled.contains(&q.task.job))
                    .flat_map(|q| q.id.to_le_bytes())
                    .collect();
                if !ids.is_empty() {
                    encode(worker.conn.output(), Kind::Cancel, 0, 0, &[], false, &ids);
                }
            }
        }
        if inbox.close {
            self.closing = true;
        }
        false
    }

    /// Kills every worker and drops every task (running ones are not reported).
    fn kill_everything(&mut self) {
        for worker in std::mem::take(&mut self.workers) {
            if let Some(pid) = worker.pid {
                kill(pid);
            }
            worker
                .in_flight
                .into_iter()
                .for_each(|q| self.release(q.task));
        }
        std::mem::take(&mut self.queue)
            .into_iter()
            .for_each(|q| self.release(q.task));
        std::mem::take(&mut self.losses)
            .into_iter()
            .for_each(|l| self.release(l.queued.task));
    }

    /// Frees a finished task's arena blocks.
    fn release(&self, task: Task) {
        for offset in task.owned {
            self.arena.free_at(offset as usize);
        }
    }

    fn launch_missing(&mut self) -> io::Result<()> {
        while self.workers.len() < self.options.processes {
            let (ours, theirs) = socketpair(
                AddressFamily::UNIX,
                SocketType::STREAM,
                SocketFlags::CLOEXEC,
                None,
            )?;
            self.server
                .request_worker(theirs.as_fd(), self.arena.fd())?;
            let id = self.next_worker;
            self.next_worker += 1;
            self.launching.push_back(id);
            self.workers.push(Worker {
                id,
                pid: None,
                conn: Conn::new(ours),
                in_flight: VecDeque::new(),
                head_since: Instant::now(),
                defined: HashSet::new(),
                dispatched: 0,
                per_task: HashMap::new(),
                said_hello: false,
            });
        }
        Ok(())
    }

    /// Moves queued tasks into the pipelines of the least loaded workers.
    fn dispatch(&mut self) {
        while let Some(key) = self.queue.front().map(|q| q.task.key) {
            let limit = self.options.max_tasks_per_child;
            let Some(worker) = self
                .workers
                .iter_mut()
                .filter(|w| {
                    w.in_flight.len() < w.capacity(key) && limit.is_none_or(|n| w.dispatched < n)
                })
                .min_by_key(|w| w.in_flight.len())
            else {
                return;
            };
            let mut queued = self.queue.pop_front().expect("queue is not empty");
            queued.id = self.next_id;
            let task = &queued.task;
            if worker.defined.insert(task.key) {
                let body = self.defines.get(&task.key).map_or(&[][..], |b| &b[..]);
                encode(
                    worker.conn.output(),
                    Kind::Define,
                    0,
                    task.key,
                    &[],
                    false,
                    body,
                );
            }
            encode(
                worker.conn.output(),
                Kind::Task,
                self.next_id,
                task.key,
                &task.spans,
                false,
                &task.body,
            );
            self.next_id += 1;
            if worker.in_flight.is_empty() {
                worker.head_since = Instant::now();
            }
            worker.dispatched += 1;
            worker.in_flight.push_back(queued);
        }
    }

    fn flush(&mut self) {
        let mut dead = Vec::new();
        for worker in &mut self.workers {
            if worker.conn.flush_nonblocking().is_err() {
                dead.push(worker.id);
            }
        }
        dead.into_iter().for_each(|id| self.worker_died(id));
    }

    fn publish_pids(&self) {
        let pids = self.workers.iter().filter_map(|w| w.pid).collect();
        lock(&self.shared.outbox).pids = pids;
    }

    /// Polls the wake-up event, the fork server and the workers, and handles what
    /// arrived.
    fn wait(&mut self) -> io::Result<()> {
        let timeout = self.poll_timeout();
        let mut readable = Vec::new();
        let server_ready = {
            let mut fds = vec![
                PollFd::new(&self.shared.wake, PollFlags::IN),
                PollFd::from_borrowed_fd(self.server.fd(), PollFlags::IN),
            ];
            for worker in &self.workers {
                let mut flags = PollFlags::IN;
                if worker.conn.has_output() {
                    flags |= PollFlags::OUT;
                }
                fds.push(PollFd::from_borrowed_fd(worker.conn.fd(), flags));
            }
            let timespec = timeout.map(|t| {
                Timespec::try_from(t).unwrap_or(Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                })
            });
            match poll(&mut fds, timespec.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
            for (worker, fd) in self.workers.iter().zip(&fds[2..]) {
                if !(fd.revents() & (PollFlags::IN | PollFlags::HUP | PollFlags::ERR)).is_empty() {
                    readable.push(worker.id);
                }
            }
            !fds[1].revents().is_empty()
        };
        if server_ready {
            for record in self.server.read_records()? {
                self.on_record(record);
            }
        }
        for id in readable {
            self.read_worker(id);
        }
        Ok(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let mut timeout = Duration::from_secs(1);
        if let Some(limit) = self.options.timeout {
            for worker in self.workers.iter().filter(|w| !w.in_flight.is_empty()) {
                timeout = timeout.min(
                    limit.saturating_sub(worker.head_since.elapsed()) + Duration::from_millis(1),
                );
            }
        }
        if !self.losses.is_empty() || self.closing {
            timeout = timeout.min(Duration::from_millis(20));
        }
        Some(timeout)
    }

    fn on_record(&mut self, record: Record) {
        match record {
            Record::Ready(_) => {}
            Record::Started(pid) => {
                if let Some(id) = self.launching.pop_front() {
                    if let Some(worker) = self.workers.iter_mut().find(|w| w.id == id) {
                        worker.pid = Some(pid);
                    }
                    for loss in self.losses.iter_mut().filter(|l| l.worker == id) {
                        loss.pid = Some(pid);
                    }
                }
            }
            Record::NotStarted(errno) => {
                if let Some(id) = self.launching.pop_front() {
                    self.startup_failures += 1;
                    if self.startup_failures >= STARTUP_FAILURES {
                        self.fail(format!(
                            "the fork server cannot fork workers (errno {errno})"
                        ));
                    } else if let Some(at) = self.workers.iter().position(|w| w.id == id) {
                        let mut worker = self.workers.remove(at);
                        for queued in worker.in_flight.drain(..).rev() {
                            self.queue.push_front(queued);
                        }
                    }
                }
            }
            Record::Exited(pid, code) => {
                self.exits.insert(pid, code);
            }
        }
    }

    fn read_worker(&mut self, id: u64) {
        let Some(at) = self.workers.iter().position(|w| w.id == id) else {
            return;
        };
        let mut events = Vec::new();
        let mut alive = true;
        loop {
            match self.workers[at].conn.fill(true) {
                Ok(0) => {
                    alive = false;
                    break;
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    alive = false;
                    break;
                }
            }
            loop {
                match self.workers[at].conn.next_frame() {
                    Ok(Some(frame)) => {
                        if let Some(event) = self.on_frame(at, frame) {
                            events.push(event);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        alive = false;
                        break;
                    }
                }
            }
            if !alive {
                break;
            }
        }
        self.shared.emit(events);
        let worker = &self.workers[at];
        let retire = self
            .options
            .max_tasks_per_child
            .is_some_and(|n| worker.dispatched >= n)
            && worker.in_flight.is_empty();
        if !alive {
            self.worker_died(id);
        } else if retire {
            // Dropping our end of the socket makes the worker exit; a fresh one
            // replaces it.
            self.workers.remove(at);
        }
    }

    fn on_frame(&mut self, at: usize, frame: Frame) -> Option<Event> {
        let worker = &mut self.workers[at];
        match frame.kind {
            Kind::Hello => {
                worker.said_hello = true;
                worker.pid.get_or_insert(frame.id as u32);
                self.startup_failures = 0;
                None
            }
            Kind::Result => {
                let queued = worker.in_flight.pop_front()?;
                let now = Instant::now();
                let seconds = now.duration_since(worker.head_since).as_secs_f64();
                worker.head_since = now;
                if frame.key == SKIPPED {
                    self.release(queued.task);
                    return None;
                }
                let estimate = worker.per_task.entry(queued.task.key).or_insert(seconds);
                *estimate = 0.8 * *estimate + 0.2 * seconds;
                let outcome = if frame.key == TOO_LARGE {
                    Outcome::Failed(String::from_utf8_lossy(&frame.body).into_owned())
                } else {
                    Outcome::Done {
                        status: frame.key,
                        body: frame.body,
                        spans: frame.spans,
                        file: frame.fd,
                    }
                };
                let event = Event {
                    job: queued.task.job,
                    index: queued.task.index,
                    outcome,
                };
                self.release(queued.task);
                Some(event)
            }
            Kind::Define | Kind::Task | Kind::Cancel => None,
        }
    }

    /// A worker's connection closed: its running task is lost (or retried) and the
    /// rest of its pipeline goes back to the front of the queue.
    fn worker_died(&mut self, id: u64) {
        let Some(at) = self.workers.iter().position(|w| w.id == id) else {
            return;
        };
        let mut worker = self.workers.remove(at);
        if !worker.said_hello {
            self.startup_failures += 1;
        }
        if let Some(pid) = worker.pid {
            kill(pid);
        }
        let head = worker.in_flight.pop_front();
        for queued in worker.in_flight.into_iter().rev() {
            self.queue.push_front(queued);
        }
        if let Some(mut queued) = head {
            if queued.attempts < self.options.max_retries {
                queued.attempts += 1;
                self.queue.push_front(queued);
            } else {
                self.losses.push(Loss {
                    queued,
                    worker: id,
                    pid: worker.pid,
                    since: Instant::now(),
                });
            }
        }
        if self.startup_failures >= STARTUP_FAILURES {
            let code = worker
                .pid
                .and_then(|pid| self.exits.get(&pid))
                .map_or("unknown".into(), |c| c.to_string());
            self.fail(format!(
                "worker processes exit as they start ({STARTUP_FAILURES} in a row, last return code {code}); \
                 see their output above"
            ));
        }
    }

    /// Reports lost tasks whose worker's exit status is known or overdue.
    fn resolve_losses(&mut self) {
        let losses = std::mem::take(&mut self.losses);
        let mut events = Vec::new();
        for loss in losses {
            let code = loss.pid.and_then(|pid| self.exits.get(&pid).copied());
            if code.is_some() || loss.since.elapsed() > EXIT_STATUS_WAIT {
                events.push(Event {
                    job: loss.queued.task.job,
                    index: loss.queued.task.index,
                    outcome: Outcome::Lost {
                        pid: loss.pid.unwrap_or(0),
                        returncode: code,
                    },
                });
                self.release(loss.queued.task);
            } else {
                self.losses.push(loss);
            }
        }
        self.shared.emit(events);
    }

    /// Kills workers whose running task is past the timeout.
    fn check_timeouts(&mut self) {
        let Some(limit) = self.options.timeout else {
            return;
        };
        let overdue: Vec<u64> = self
            .workers
            .iter()
            .filter(|w| !w.in_flight.is_empty() && w.head_since.elapsed() > limit)
            .map(|w| w.id)
            .collect();
        for id in overdue {
            let at = self
                .workers
                .iter()
                .position(|w| w.id == id)
                .expect("worker exists");
            let mut worker = self.workers.remove(at);
            if let Some(pid) = worker.pid {
                kill(pid);
            }
            let head = worker.in_flight.pop_front().expect("a running task");
            for queued in worker.in_flight.into_iter().rev() {
                self.queue.push_front(queued);
            }
            let event = Event {
                job: head.task.job,
                index: head.task.index,
                outcome: Outcome::TimedOut {
                    pid: worker.pid.unwrap_or(0),
                    timeout: limit,
                },
            };
            self.release(head.task);
            self.shared.emit([event]);
        }
    }

    /// Fails every queued and running task with `message` and stops forking workers.
    fn fail(&mut self, message: String) {
        let mut events = Vec::new();
        let mut tasks: Vec<Task> = std::mem::take(&mut self.queue)
            .into_iter()
            .map(|q| q.task)
            .collect();
        for worker in std::mem::take(&mut self.workers) {
            if let Some(pid) = worker.pid {
                kill(pid);
            }
            tasks.extend(worker.in_flight.into_iter().map(|q| q.task));
        }
        tasks.extend(
            std::mem::take(&mut self.losses)
                .into_iter()
                .map(|l| l.queued.task),
        );
        for task in tasks {
            events.push(Event {
                job: task.job,
                index: task.index,
                outcome: Outcome::Failed(message.clone()),
            });
            self.release(task);
        }
        events.push(Event {
            job: u64::MAX,
            index: 0,
            outcome: Outcome::Failed(message),
        });
        self.shared.emit(events);
        self.failed = true;
    }
}

/// Sends SIGKILL to one process (never to a group: `pid` must be positive).
fn kill(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .and_then(Pid::from_raw)
    {
        let _ = kill_process(pid, Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_a_frame_cannot_hold_are_refused_with_a_reason() {
        let task = |spans: usize| Task {
            job: 0,
            index: 0,
            key: 0,
            body: vec![0; 8],
            spans: vec![Span { offset: 0, len: 1 }; spans],
            owned: Vec::new(),
        };
        assert_eq!(Supervisor::refuse(&task(3)), None);
        let why = Supervisor::refuse(&task(MAX_SPANS + 1)).expect("refused");
        assert!(why.contains("out-of-band buffers"), "{why}");
    }
}
