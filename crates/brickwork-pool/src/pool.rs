//! The process pool for Rust programs: run registered functions with serde
//! arguments in worker processes, with the crash isolation and timeouts of the
//! [`Supervisor`].
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
//! results travel as JSON (serde_json).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
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
use crate::supervisor::{Options, Outcome, Supervisor, Task};
use crate::worker::{Handler, Reply};

type Function = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync>;

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
    pub fn register<A, R, F>(mut self, name: &str, function: F) -> Registry
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let wrapped = move |body: &[u8]| -> Result<Vec<u8>, String> {
            let arg: A = serde_json::from_slice(body)
                .map_err(|e| format!("cannot decode the argument: {e}"))?;
            serde_json::to_vec(&function(arg)).map_err(|e| format!("cannot encode the result: {e}"))
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

    fn call(&mut self, key: u64, body: &[u8], _buffers: &[&[u8]], reply: &mut Reply) {
        let name = self.names.get(&key).map_or("", String::as_str);
        let result = match self.registry.functions.get(name) {
            None => Err(format!(
                "no function named {name:?} is registered in the worker"
            )),
            Some(function) => {
                catch_unwind(AssertUnwindSafe(|| function(body))).unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    Err(format!("the task panicked: {message}"))
                })
            }
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

/// A pool of worker processes running the functions of a [`Registry`].
pub struct Pool {
    supervisor: Supervisor,
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
        // SAFETY: `ours` is an open socket whose ownership moves to the supervisor.
        let ctl = unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(ours)) };
        let supervisor = Supervisor::start(ctl, arena, options)?;
        Ok(Pool {
            supervisor,
            server: Mutex::new(server),
            keys: Mutex::new(HashMap::new()),
            next_job: AtomicU64::new(0),
            running: Mutex::new(()),
        })
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
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, TaskError>> {
        let _running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.key(name);
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let mut results: Vec<Option<Result<R, TaskError>>> = Vec::new();
        let mut tasks = Vec::new();
        for (index, arg) in args.into_iter().enumerate() {
            match serde_json::to_vec(&arg) {
                Ok(body) => tasks.push(Task {
                    job,
                    index: index as u64,
                    key,
                    body,
                    spans: Vec::new(),
                    owned: Vec::new(),
                }),
                Err(err) => {
                    results.resize_with(index + 1, || None);
                    results[index] = Some(Err(TaskError::Failed(format!(
                        "cannot encode the argument: {err}"
                    ))));
                }
            }
        }
        let total = tasks.len() + results.iter().filter(|r| r.is_some()).count();
        results.resize_with(total, || None);
        let mut pending = tasks.len();
        self.supervisor.submit(tasks);
        while pending > 0 {
            for event in self.supervisor.wait_events(Duration::from_millis(100)) {
                let slot = match results.get_mut(event.index as usize) {
                    Some(slot) if event.job == job && slot.is_none() => slot,
                    _ if matches!(event.outcome, Outcome::Failed(_)) && event.job == u64::MAX => {
                        let Outcome::Failed(message) = event.outcome else {
                            unreachable!()
                        };
                        for slot in results.iter_mut().filter(|s| s.is_none()) {
                            *slot = Some(Err(TaskError::Pool(message.clone())));
                        }
                        pending = 0;
                        continue;
                    }
                    _ => continue,
                };
                *slot = Some(decode(event.outcome));
                pending -= 1;
            }
            if pending > 0 && self.supervisor.finished() {
                for slot in results.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some(Err(TaskError::Pool("the pool stopped".into())));
                }
                pending = 0;
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every task answered"))
            .collect()
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

fn decode<R: DeserializeOwned>(outcome: Outcome) -> Result<R, TaskError> {
    match outcome {
        Outcome::Done {
            status: 0, body, ..
        } => serde_json::from_slice(&body)
            .map_err(|e| TaskError::Failed(format!("cannot decode the result: {e}"))),
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
        self.supervisor.close();
        self.supervisor.join();
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let _ = server.wait();
    }
}
