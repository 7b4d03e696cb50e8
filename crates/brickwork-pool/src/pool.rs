//! The process pool for Rust programs: run registered functions with serde
//! arguments in worker processes, with the crash isolation and timeouts of the
//! [`Supervisor`], and byte buffers through shared memory.
//!
//! ```no_run
//! use brickwork_pool::pool::{serve_if_worker, Pool, Registry};
//!
//! fn registry() -> Registry {
//!     Registry::new().register("square", |x: u64| x * x)
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     serve_if_worker(&registry()); // first thing: worker processes stop here
//!     let pool = Pool::new(2)?;
//!     let squares: Vec<u64> = pool.map("square", 0..10u64).into_iter().collect::<Result<_, _>>().unwrap();
//!     assert_eq!(squares[3], 9);
//!     Ok(())
//! }
//! ```
//!
//! Workers are forked by a fork server, which is the program itself started again
//! with an environment variable set; [`serve_if_worker`] turns that process into the
//! server, so it must run first in `main`, before any thread is started. Arguments and
//! results travel as JSON (serde_json); byte buffers travel through shared memory
//! ([`Pool::map_with_buffers`]): a [`SharedBuf`] is read by the worker in place, other
//! input bytes are copied into shared memory once, and output buffers come back as
//! [`ResultBuf`]s mapped from the file the worker wrote.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::io::{fcntl_setfd, FdFlags};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::arena::Arena;
use crate::server::{self, SERVER_ENV};
pub use crate::shared::{ResultBuf, SharedBuf};
use crate::supervisor::{Options, Outcome, Supervisor, Task};
use crate::wire::Span;
use crate::worker::{Handler, Reply};

/// A registered function: argument bytes and input buffers in, result bytes out (its
/// output buffers pushed onto the reply).
type Function = Box<dyn Fn(&[u8], &[&[u8]], &mut Reply) -> Result<Vec<u8>, String> + Send + Sync>;

/// The functions a program's workers can run, by name.
#[derive(Default)]
pub struct Registry {
    functions: HashMap<String, Function>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `function` under `name`: its argument and result are serde types.
    pub fn register<A, R, F>(self, name: &str, function: F) -> Registry
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.register_with_buffers(name, move |arg: A, _: &[&[u8]]| (function(arg), Vec::new()))
    }

    /// Registers a function that also reads byte buffers and returns some: the inputs
    /// are read in place from shared memory, the outputs travel back through a shared
    /// memory file (see [`Pool::map_with_buffers`]).
    pub fn register_with_buffers<A, R, F>(mut self, name: &str, function: F) -> Registry
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A, &[&[u8]]) -> (R, Vec<Vec<u8>>) + Send + Sync + 'static,
    {
        let wrapped =
            move |body: &[u8], inputs: &[&[u8]], reply: &mut Reply| -> Result<Vec<u8>, String> {
                let arg: A = serde_json::from_slice(body)
                    .map_err(|e| format!("cannot decode the argument: {e}"))?;
                let (result, outputs) = function(arg, inputs);
                for output in &outputs {
                    reply
                        .push_buffer(output)
                        .map_err(|e| format!("cannot write an output buffer: {e}"))?;
                }
                serde_json::to_vec(&result).map_err(|e| format!("cannot encode the result: {e}"))
            };
        self.functions.insert(name.to_owned(), Box::new(wrapped));
        self
    }

    pub(crate) fn handler(&self) -> RegistryHandler<'_> {
        RegistryHandler {
            registry: self,
            names: HashMap::new(),
        }
    }
}

/// A worker's handler: function keys name registered functions.
pub(crate) struct RegistryHandler<'a> {
    registry: &'a Registry,
    names: HashMap<u64, String>,
}

impl Handler for RegistryHandler<'_> {
    fn define(&mut self, key: u64, body: &[u8]) {
        self.names
            .insert(key, String::from_utf8_lossy(body).into_owned());
    }

    fn call(&mut self, key: u64, body: &[u8], buffers: &[&[u8]], reply: &mut Reply) {
        let name = self.names.get(&key).map_or("", String::as_str);
        let result = match self.registry.functions.get(name) {
            None => Err(format!(
                "no function named {name:?} is registered in the worker"
            )),
            Some(function) => catch_unwind(AssertUnwindSafe(|| function(body, buffers, reply)))
                .unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    Err(format!("the task panicked: {message}"))
                }),
        };
        match result {
            Ok(bytes) => reply.body = bytes,
            Err(message) => {
                reply.status = 1;
                reply.body = message.into_bytes();
            }
        }
    }
}

/// If this process was started as a pool's fork server, serve and exit; otherwise
/// return at once. Call it first thing in `main`, with the same registry every time.
pub fn serve_if_worker(registry: &Registry) {
    let Ok(fd) = std::env::var(SERVER_ENV) else {
        return;
    };
    let code = match fd.parse::<i32>() {
        Ok(fd) => i32::from(server::run(fd, registry).is_err()),
        Err(_) => 2,
    };
    std::process::exit(code);
}

/// Why a task did not return a value.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskError {
    /// The function panicked or its argument or result could not be (de)serialized.
    Failed(String),
    /// The worker process died while running the task.
    WorkerLost {
        /// The worker's pid.
        pid: u32,
        /// Its return code (exit status, or minus the signal), when known.
        returncode: Option<i32>,
    },
    /// The task ran past the pool's timeout; its worker was killed.
    TimedOut(Duration),
    /// The pool cannot run tasks.
    Pool(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(message) => write!(f, "{message}"),
            TaskError::WorkerLost {
                pid,
                returncode: Some(code),
            } if *code < 0 => {
                write!(f, "worker process {pid} was killed by signal {}", -code)
            }
            TaskError::WorkerLost {
                pid,
                returncode: Some(code),
            } => {
                write!(f, "worker process {pid} exited with code {code}")
            }
            TaskError::WorkerLost {
                pid,
                returncode: None,
            } => write!(f, "worker process {pid} died"),
            TaskError::TimedOut(limit) => {
                write!(f, "the task ran longer than the timeout of {limit:?}")
            }
            TaskError::Pool(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A task's outcome in [`Pool::map_with_buffers`]: the value and its output buffers.
pub type BufferResult<R> = Result<(R, Vec<ResultBuf>), TaskError>;

/// An input buffer of [`Pool::map_with_buffers`].
pub enum Input<'a> {
    /// A block of the pool's arena: the worker reads it in place.
    Shared(&'a SharedBuf),
    /// Any bytes: copied into the arena once.
    Bytes(&'a [u8]),
}

impl<'a> From<&'a SharedBuf> for Input<'a> {
    fn from(buf: &'a SharedBuf) -> Input<'a> {
        Input::Shared(buf)
    }
}

impl<'a> From<&'a [u8]> for Input<'a> {
    fn from(bytes: &'a [u8]) -> Input<'a> {
        Input::Bytes(bytes)
    }
}

/// A pool of worker processes running the functions of a [`Registry`].
pub struct Pool {
    supervisor: Supervisor,
    arena: Arc<Arena>,
    server: Mutex<Child>,
    keys: Mutex<HashMap<String, u64>>,
    next_job: AtomicU64,
    /// Serializes `map` calls: each waits for its own events.
    running: Mutex<()>,
}

impl Pool {
    /// A pool of `processes` workers with default options.
    pub fn new(processes: usize) -> io::Result<Pool> {
        Pool::with_options(Options {
            processes,
            timeout: None,
            max_retries: 0,
            max_tasks_per_child: None,
        })
    }

    /// A pool with the given options (timeout, retries, worker recycling).
    pub fn with_options(options: Options) -> io::Result<Pool> {
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let fd = theirs.as_raw_fd();
        let mut command = Command::new(std::env::current_exe()?);
        command.env(SERVER_ENV, fd.to_string());
        // SAFETY: between fork and exec the closure only clears a descriptor flag, an
        // async-signal-safe system call.
        unsafe {
            command.pre_exec(move || {
                // SAFETY: `fd` stays open in the parent until the spawn returns.
                let borrowed = std::os::fd::BorrowedFd::borrow_raw(fd);
                fcntl_setfd(borrowed, FdFlags::empty()).map_err(io::Error::from)
            });
        }
        let server = command.spawn()?;
        drop(theirs);
        let arena = Arc::new(Arena::create()?);
        let supervisor = Supervisor::start(ours, arena.clone(), options)?;
        Ok(Pool {
            supervisor,
            arena,
            server: Mutex::new(server),
            keys: Mutex::new(HashMap::new()),
            next_job: AtomicU64::new(0),
            running: Mutex::new(()),
        })
    }

    /// A zeroed buffer of `len` bytes in shared memory, to fill and pass to
    /// [`Pool::map_with_buffers`] without a copy.
    pub fn shared(&self, len: usize) -> io::Result<SharedBuf> {
        SharedBuf::new(self.arena.clone(), len)
    }

    fn key(&self, name: &str) -> u64 {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let next = keys.len() as u64;
        *keys.entry(name.to_owned()).or_insert_with(|| {
            self.supervisor.define(next, name.as_bytes().to_vec());
            next
        })
    }

    /// Runs the function `name` on each argument in the workers and returns the
    /// results in order; a task that fails (panic, dead worker, timeout) fails alone.
    /// In a child made by `fork()` the pool's workers are the parent's: every task
    /// fails at once with [`TaskError::Pool`] saying so.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, TaskError>> {
        let items = args.into_iter().map(|arg| (arg, Vec::<Input<'_>>::new()));
        self.map_with_buffers(name, items)
            .into_iter()
            .map(|r| r.map(|(value, _)| value))
            .collect()
    }

    /// Like [`Pool::map`] for functions registered with
    /// [`Registry::register_with_buffers`]: each item is an argument and its input
    /// buffers; each result is the value and the output buffers.
    pub fn map_with_buffers<'a, A: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        items: impl IntoIterator<Item = (A, Vec<Input<'a>>)>,
    ) -> Vec<BufferResult<R>> {
        if self.supervisor.forked() {
            let message = forked_message(self.supervisor.owner_pid());
            return items
                .into_iter()
                .map(|_| Err(TaskError::Pool(message.clone())))
                .collect();
        }
        let _running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.key(name);
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let mut results: Vec<Option<BufferResult<R>>> = Vec::new();
        let mut tasks = Vec::new();
        for (index, (arg, inputs)) in items.into_iter().enumerate() {
            results.push(None);
            match self.task(job, index as u64, key, &arg, &inputs) {
                Ok(task) => tasks.push(task),
                Err(err) => results[index] = Some(Err(err)),
            }
        }
        let mut pending = tasks.len();
        self.supervisor.submit(tasks);
        while pending > 0 {
            for event in self.supervisor.wait_events(Duration::from_millis(100)) {
                if event.job == u64::MAX {
                    if let Outcome::Failed(message) = event.outcome {
                        fail_pending(&mut results, &message);
                        pending = 0;
                    }
                    continue;
                }
                if let Some(slot) = results
                    .get_mut(event.index as usize)
                    .filter(|s| event.job == job && s.is_none())
                {
                    *slot = Some(decode(event.outcome));
                    pending -= 1;
                }
            }
            if pending > 0 && self.supervisor.finished() {
                fail_pending(&mut results, "the pool stopped");
                pending = 0;
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every task answered"))
            .collect()
    }

    /// Encodes one task, placing its input buffers in the arena.
    fn task<A: Serialize>(
        &self,
        job: u64,
        index: u64,
        key: u64,
        arg: &A,
        inputs: &[Input<'_>],
    ) -> Result<Task, TaskError> {
        let body = serde_json::to_vec(arg)
            .map_err(|e| TaskError::Failed(format!("cannot encode the argument: {e}")))?;
        let mut task = Task {
            job,
            index,
            key,
            body,
            spans: Vec::new(),
            owned: Vec::new(),
        };
        for input in inputs {
            match input {
                Input::Shared(buf) => task.spans.push(buf.span()),
                Input::Bytes(bytes) => {
                    let Some(block) = self.arena.alloc_unzeroed(bytes.len()) else {
                        task.owned
                            .iter()
                            .for_each(|&o| self.arena.free_at(o as usize));
                        return Err(TaskError::Failed(format!(
                            "the arena has no room for {} bytes",
                            bytes.len()
                        )));
                    };
                    // SAFETY: a fresh block of at least `bytes.len()` bytes that nothing
                    // else references.
                    unsafe {
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), block.as_ptr(), bytes.len())
                    };
                    let offset = self
                        .arena
                        .offset_of(block.as_ptr())
                        .expect("an arena block") as u64;
                    task.spans.push(Span {
                        offset,
                        len: bytes.len() as u64,
                    });
                    task.owned.push(offset);
                }
            }
        }
        if let Some(why) = Supervisor::refuse(&task) {
            task.owned
                .iter()
                .for_each(|&o| self.arena.free_at(o as usize));
            return Err(TaskError::Failed(why));
        }
        Ok(task)
    }

    /// Runs the function `name` on one argument in a worker.
    pub fn call<A: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        arg: A,
    ) -> Result<R, TaskError> {
        self.map(name, [arg]).pop().expect("one result")
    }

    /// The pids of the live workers.
    pub fn pids(&self) -> Vec<u32> {
        self.supervisor.pids()
    }
}

/// Why a pool cannot run tasks in a child made by `fork()`.
fn forked_message(owner: u32) -> String {
    format!(
        "this pool was created in process {owner}; a forked child (process {}) cannot use \
         it: create a new pool in the child",
        std::process::id()
    )
}

fn fail_pending<T>(results: &mut [Option<Result<T, TaskError>>], message: &str) {
    for slot in results.iter_mut().filter(|s| s.is_none()) {
        *slot = Some(Err(TaskError::Pool(message.to_owned())));
    }
}

fn decode<R: DeserializeOwned>(outcome: Outcome) -> BufferResult<R> {
    match outcome {
        Outcome::Done {
            status: 0,
            body,
            spans,
            file,
        } => {
            let value = serde_json::from_slice(&body)
                .map_err(|e| TaskError::Failed(format!("cannot decode the result: {e}")))?;
            let buffers = match file {
                Some(file) => ResultBuf::map(file, &spans).map_err(|e| {
                    TaskError::Failed(format!("cannot map the output buffers: {e}"))
                })?,
                None => Vec::new(),
            };
            Ok((value, buffers))
        }
        Outcome::Done { body, .. } => Err(TaskError::Failed(
            String::from_utf8_lossy(&body).into_owned(),
        )),
        Outcome::Lost { pid, returncode } => Err(TaskError::WorkerLost { pid, returncode }),
        Outcome::TimedOut { timeout, .. } => Err(TaskError::TimedOut(timeout)),
        Outcome::Failed(message) => Err(TaskError::Pool(message)),
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.supervisor.forked() {
            // The workers and the fork server are the parent's: leave them alone.
            return;
        }
        self.supervisor.close();
        self.supervisor.join();
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let _ = server.wait();
    }
}
