//! Bindings of the process pool (brickwork-pool): the parent's supervisor, the
//! worker's serve loop, the shared-memory arena as NumPy's data allocator, and the
//! fork server's protocol constants (`FORKSERVER_CONSTANTS`).
//!
//! Pickling stays in Python (`brickwork/multiprocessing/_serialize.py`); this module
//! moves bytes and buffers. Its failures are engine [`Error`]s, raised as Python
//! exceptions by the one mapping in `errors.rs`.

use std::ffi::{c_char, c_void};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use brickwork::layers::pool::forkserver;
use brickwork::layers::pool::worker::{Handler, Reply};
use brickwork::layers::pool::{Arena, ArenaView, Options, Outcome, Span, Supervisor, Task};
use brickwork::Error;
use pyo3::buffer::{PyBuffer, PyUntypedBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyTuple};

use crate::errors::to_py;

static ARENA: OnceLock<Result<Arc<Arena>, String>> = OnceLock::new();

/// The process's shared-memory arena, created on first use.
fn arena(py: Python<'_>) -> PyResult<&'static Arc<Arena>> {
    ARENA
        .get_or_init(|| Arena::create().map(Arc::new).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            let message = format!("cannot create the shared-memory arena: {e}");
            to_py(py, Error::io_message(message))
        })
}

/// The error for a buffer the arena has no room for.
fn no_room(py: Python<'_>, len: usize) -> PyErr {
    let message = format!("the shared-memory arena has no room for a {len}-byte buffer");
    to_py(py, Error::OutOfMemory(message))
}

/// The error for an out-of-band buffer that is not one block of memory.
fn not_contiguous(py: Python<'_>) -> PyErr {
    let message = "out-of-band buffers must be C-contiguous".to_string();
    to_py(py, Error::Value(message))
}

fn owned_fd(py: Python<'_>, fd: i32) -> PyResult<OwnedFd> {
    if fd < 0 {
        let message = format!("expected a file descriptor, got {fd}");
        return Err(to_py(py, Error::Value(message)));
    }
    // SAFETY: the caller hands over ownership of an open descriptor (documented on
    // every function taking one).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The parent's handle on a pool of worker processes.
#[pyclass(name = "PoolSupervisor", module = "brickwork._core")]
pub struct PySupervisor {
    inner: Supervisor,
}

#[pymethods]
impl PySupervisor {
    /// Starts a supervisor over the fork server's control socket `ctl_fd`; ownership
    /// passes here even when this raises (the socket is then closed).
    #[new]
    #[pyo3(signature = (ctl_fd, processes, timeout=None, max_retries=0, max_tasks_per_child=None))]
    fn new(
        py: Python<'_>,
        ctl_fd: i32,
        processes: usize,
        timeout: Option<f64>,
        max_retries: u32,
        max_tasks_per_child: Option<u64>,
    ) -> PyResult<Self> {
        // Owned from the start: on any error below the socket is closed here, once.
        let ctl = owned_fd(py, ctl_fd)?;
        let timeout = timeout
            .map(|t| {
                Duration::try_from_secs_f64(t).map_err(|_| {
                    let message = format!("timeout must be a positive number of seconds, got {t}");
                    to_py(py, Error::Value(message))
                })
            })
            .transpose()?;
        let options = Options {
            processes,
            timeout,
            max_retries,
            max_tasks_per_child,
        };
        let inner = Supervisor::start(ctl, arena(py)?.clone(), options)
            .map_err(|e| to_py(py, Error::io_message(format!("cannot start the pool: {e}"))))?;
        Ok(PySupervisor { inner })
    }

    /// Sends function `key` (its pickled bytes) to each worker once.
    fn define(&self, key: u64, body: &[u8]) {
        self.inner.define(key, body.to_vec());
    }

    /// Queues the tasks `(index, body, buffers)` of `job` for function `key`. A buffer
    /// that lies in the arena is passed by offset; any other is copied into the arena.
    fn submit(
        &self,
        py: Python<'_>,
        job: u64,
        key: u64,
        items: Vec<(u64, Bound<'_, PyBytes>, Vec<Bound<'_, PyAny>>)>,
    ) -> PyResult<()> {
        let arena = arena(py)?;
        let mut tasks = Vec::with_capacity(items.len());
        for (index, body, buffers) in items {
            let mut task = Task {
                job,
                index,
                key,
                body: body.as_bytes().to_vec(),
                spans: Vec::new(),
                owned: Vec::new(),
            };
            for buffer in buffers {
                match place(py, arena, &buffer) {
                    Ok((span, owned)) => {
                        task.spans.push(span);
                        task.owned.extend(owned);
                    }
                    Err(err) => {
                        tasks.push(task);
                        for task in tasks {
                            task.owned.iter().for_each(|&o| arena.free_at(o as usize));
                        }
                        return Err(err);
                    }
                }
            }
            tasks.push(task);
        }
        if let Some(why) = tasks.iter().find_map(Supervisor::refuse) {
            for task in tasks {
                task.owned.iter().for_each(|&o| arena.free_at(o as usize));
            }
            return Err(to_py(py, Error::Value(why)));
        }
        self.inner.submit(tasks);
        Ok(())
    }

    /// Drops the queued tasks of `job`.
    fn cancel(&self, job: u64) {
        self.inner.cancel(job);
    }

    /// Waits up to `timeout` seconds (without the GIL) and returns finished tasks,
    /// consecutive ones of the same job and kind grouped: `(job, kind, items)` where
    /// kind "done" has items `(index, status, body, spans, fd)` with `body` bytes (or
    /// a read-only [`FrameBody`] buffer when large) and `fd` -1 or a memory file the
    /// caller now owns; "lost" `(index, pid, returncode)`; "timeout"
    /// `(index, pid, seconds)`; "failed" `(index, message)`.
    fn events<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let wait = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::from_secs(1));
        let events = py.detach(|| self.inner.wait_events(wait));
        let mut groups: Vec<(u64, &'static str, Vec<Bound<'py, PyTuple>>)> = Vec::new();
        for event in events {
            let (kind, item) = event_item(py, event.index, event.outcome)?;
            match groups.last_mut() {
                Some((job, last, items)) if *job == event.job && *last == kind => items.push(item),
                _ => groups.push((event.job, kind, vec![item])),
            }
        }
        groups
            .into_iter()
            .map(|group| group.into_pyobject(py))
            .collect()
    }

    /// Whether the supervisor has stopped (closed, terminated or failed).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.finished()
    }

    /// The pids of the live workers.
    #[getter]
    fn pids(&self) -> Vec<u32> {
        self.inner.pids()
    }

    /// No more tasks: workers exit once the queue is empty.
    fn close(&self) {
        self.inner.close();
    }

    /// Kills every worker and drops every task; the supervisor stops.
    fn terminate(&self) {
        self.inner.terminate();
    }

    /// Kills every worker and drops every task, then forks fresh workers.
    fn reset(&self) {
        self.inner.reset();
    }

    /// Waits (without the GIL) for the supervisor to stop.
    fn join(&self, py: Python<'_>) {
        py.detach(|| self.inner.join());
    }
}

/// The C-contiguous buffers of a list's items, and their total length.
fn pieces(list: &Bound<'_, PyList>) -> PyResult<(Vec<PyUntypedBuffer>, usize)> {
    let views = list
        .iter()
        .map(|piece| {
            let view = PyUntypedBuffer::get(&piece)?;
            if view.is_c_contiguous() {
                Ok(view)
            } else {
                Err(not_contiguous(list.py()))
            }
        })
        .collect::<PyResult<Vec<_>>>()?;
    let len = views.iter().map(|v| v.len_bytes()).sum();
    Ok((views, len))
}

/// Where a buffer goes: its span in the arena, and the block to free afterwards when
/// it had to be copied in. A list of buffers (the pieces of a pickle stream) is
/// copied into one block, one piece after the other.
fn place(
    py: Python<'_>,
    arena: &Arena,
    buffer: &Bound<'_, PyAny>,
) -> PyResult<(Span, Option<u64>)> {
    if let Ok(list) = buffer.cast::<PyList>() {
        let (views, len) = pieces(list)?;
        let block = arena.alloc_unzeroed(len).ok_or_else(|| no_room(py, len))?;
        let dst = block.as_ptr() as usize;
        py.detach(|| {
            let mut at = 0;
            for view in &views {
                let n = view.len_bytes();
                // SAFETY: each piece is its exporter's C-contiguous buffer of `n` bytes,
                // kept alive by `view`; the pieces fill the fresh arena block of at
                // least `len` bytes one after the other, so every copy stays inside it
                // and overlaps nothing.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        view.buf_ptr() as *const u8,
                        (dst + at) as *mut u8,
                        n,
                    )
                };
                at += n;
            }
        });
        let offset = arena.offset_of(block.as_ptr()).expect("an arena block") as u64;
        return Ok((
            Span {
                offset,
                len: len as u64,
            },
            Some(offset),
        ));
    }
    let view = PyBuffer::<u8>::get(buffer)?;
    if !view.is_c_contiguous() {
        return Err(not_contiguous(py));
    }
    let (ptr, len) = (view.buf_ptr() as *const u8, view.len_bytes());
    if let Some(offset) = arena.offset_of(ptr) {
        if arena
            .offset_of(ptr.wrapping_add(len.saturating_sub(1)))
            .is_some()
        {
            return Ok((
                Span {
                    offset: offset as u64,
                    len: len as u64,
                },
                None,
            ));
        }
    }
    let block = arena.alloc_unzeroed(len).ok_or_else(|| no_room(py, len))?;
    let dst = block.as_ptr() as usize;
    let src = ptr as usize;
    py.detach(|| {
        // SAFETY: `src` is the exporter's buffer of `len` bytes, kept alive by `view`;
        // `dst` is a fresh arena block of at least `len` bytes; they cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, len) }
    });
    let offset = arena.offset_of(block.as_ptr()).expect("an arena block") as u64;
    Ok((
        Span {
            offset,
            len: len as u64,
        },
        Some(offset),
    ))
}

/// Bodies at least this large reach Python as a [`FrameBody`] (no copy), smaller ones
/// as `bytes`.
const FRAME_BODY_FROM: usize = 64 * 1024;

/// A task's answer as it was received (a large pickle stream), read by Python through
/// the buffer protocol (read-only) without a copy.
#[pyclass(frozen, module = "brickwork._core")]
pub struct FrameBody {
    data: Vec<u8>,
}

#[pymethods]
impl FrameBody {
    /// Exports the bytes read-only.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: std::ffi::c_int,
    ) -> PyResult<()> {
        let data = &slf.get().data;
        // SAFETY: `view` is the caller's Py_buffer to fill; the bytes live in the frozen
        // object, which the view keeps alive (FillInfo takes a reference to `slf`), and
        // are exported read-only (a writable request is refused with BufferError).
        let filled = unsafe {
            pyo3::ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                data.as_ptr() as *mut c_void,
                data.len() as isize,
                1,
                flags,
            )
        };
        if filled < 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    /// Nothing to release: the bytes never move.
    unsafe fn __releasebuffer__(&self, _view: *mut pyo3::ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.data.len()
    }
}

fn event_item<'py>(
    py: Python<'py>,
    index: u64,
    outcome: Outcome,
) -> PyResult<(&'static str, Bound<'py, PyTuple>)> {
    Ok(match outcome {
        Outcome::Done {
            status,
            body,
            spans,
            file,
        } => {
            let spans: Vec<(u64, u64)> = spans.iter().map(|s| (s.offset, s.len)).collect();
            let fd = file.map_or(-1, |f| f.into_raw_fd());
            let body = if body.len() >= FRAME_BODY_FROM {
                Bound::new(py, FrameBody { data: body })?.into_any()
            } else {
                PyBytes::new(py, &body).into_any()
            };
            ("done", (index, status, body, spans, fd).into_pyobject(py)?)
        }
        Outcome::Lost { pid, returncode } => ("lost", (index, pid, returncode).into_pyobject(py)?),
        Outcome::TimedOut { pid, timeout } => (
            "timeout",
            (index, pid, timeout.as_secs_f64()).into_pyobject(py)?,
        ),
        Outcome::Failed(message) => ("failed", (index, message).into_pyobject(py)?),
    })
}

/// A worker's handler: Python's `define(key, body)` and `call(key, body, buffers)
/// -> (status, body, buffers)`.
struct PyHandler<'py> {
    py: Python<'py>,
    define: Bound<'py, PyAny>,
    call: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

impl Handler for PyHandler<'_> {
    fn define(&mut self, key: u64, body: &[u8]) {
        if let Err(err) = self.define.call1((key, PyBytes::new(self.py, body))) {
            self.error.get_or_insert(err);
        }
    }

    fn call(&mut self, key: u64, body: &[u8], buffers: &[&[u8]], reply: &mut Reply) {
        let result = (|| -> PyResult<()> {
            let views = buffers
                .iter()
                .map(|b| readonly_view(self.py, b))
                .collect::<PyResult<Vec<_>>>()?;
            let out = self.call.call1((
                key,
                PyBytes::new(self.py, body),
                PyList::new(self.py, views)?,
            ))?;
            let (status, answer, out_buffers): (u64, Bound<'_, PyAny>, Vec<Bound<'_, PyAny>>) =
                out.extract()?;
            reply.status = status;
            if let Ok(list) = answer.cast::<PyList>() {
                // A large stream's pieces: written to the socket from where they lie.
                for view in pieces(list)?.0 {
                    reply.push_body_part(Box::new(Piece(view)));
                }
            } else {
                reply.body = answer.cast::<PyBytes>()?.as_bytes().to_vec();
            }
            for buffer in out_buffers {
                if let Ok(list) = buffer.cast::<PyList>() {
                    let (views, _) = pieces(list)?;
                    let parts = views
                        .iter()
                        .map(|view| {
                            // SAFETY: C-contiguous, `len_bytes` long and kept alive (and
                            // unmodified: nothing else runs in this thread) by `view`.
                            unsafe {
                                std::slice::from_raw_parts(
                                    view.buf_ptr() as *const u8,
                                    view.len_bytes(),
                                )
                            }
                        })
                        .collect::<Vec<_>>();
                    reply
                        .push_joined(&parts)
                        .map_err(|e| to_py(self.py, Error::io_message(e.to_string())))?;
                    continue;
                }
                let view = PyBuffer::<u8>::get(&buffer)?;
                if !view.is_c_contiguous() {
                    return Err(not_contiguous(self.py));
                }
                // SAFETY: the buffer is C-contiguous, `len_bytes` long and kept alive
                // (and unmodified: nothing else runs in this thread) by `view`.
                let bytes = unsafe {
                    std::slice::from_raw_parts(view.buf_ptr() as *const u8, view.len_bytes())
                };
                reply
                    .push_buffer(bytes)
                    .map_err(|e| to_py(self.py, Error::io_message(e.to_string())))?;
            }
            Ok(())
        })();
        if let Err(err) = result {
            self.error.get_or_insert(err);
        }
    }
}

/// A C-contiguous Python buffer sent as a part of a reply's body.
struct Piece(PyUntypedBuffer);

impl AsRef<[u8]> for Piece {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the buffer is C-contiguous (checked by `pieces`), `len_bytes` long and
        // kept alive by the export `self.0` holds; the worker runs no Python code between
        // the task's return and the send, so nothing changes it meanwhile.
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr() as *const u8, self.0.len_bytes()) }
    }
}

/// A read-only memoryview over `bytes`, which outlive the task.
fn readonly_view<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    const PYBUF_READ: i32 = 0x100;
    // SAFETY: the memory lies in the worker's read-only mapping of the arena, which
    // lives until the process exits; the view is read-only.
    unsafe {
        let ptr = pyo3::ffi::PyMemoryView_FromMemory(
            bytes.as_ptr() as *mut c_char,
            bytes.len() as isize,
            PYBUF_READ,
        );
        Bound::from_owned_ptr_or_err(py, ptr)
    }
}

/// Serves tasks on the socket `sock_fd` with the arena file `arena_fd` (ownership of
/// both passes here) until the parent closes the connection. `define(key, body)`
/// learns a function; `call(key, body, buffers)` returns `(status, body, buffers)`.
/// An error raised by either stops the worker.
#[pyfunction]
fn pool_worker_serve(
    py: Python<'_>,
    sock_fd: i32,
    arena_fd: i32,
    define: Bound<'_, PyAny>,
    call: Bound<'_, PyAny>,
) -> PyResult<()> {
    let sock = owned_fd(py, sock_fd)?;
    let view = ArenaView::open(owned_fd(py, arena_fd)?)
        .map_err(|e| to_py(py, Error::io_message(format!("cannot map the arena: {e}"))))?;
    let mut handler = PyHandler {
        py,
        define,
        call,
        error: None,
    };
    let served = brickwork::layers::pool::worker::serve(sock, &view, &mut handler);
    // The arena mapping must outlive every array built on it: leak it with the process.
    std::mem::forget(view);
    if let Some(err) = handler.error {
        return Err(err);
    }
    served.map_err(|e| {
        let message = format!("the worker's connection failed: {e}");
        to_py(py, Error::io_message(message))
    })
}

/// Bytes held by live blocks of this process's arena (0 before it exists).
#[pyfunction]
fn arena_used() -> usize {
    ARENA
        .get()
        .and_then(|a| a.as_ref().ok())
        .map_or(0, |a| a.used())
}

/// Whether the buffer's memory lies in this process's shared arena.
#[pyfunction]
fn arena_contains(buffer: &Bound<'_, PyAny>) -> PyResult<bool> {
    let view = pyo3::buffer::PyUntypedBuffer::get(buffer)?;
    Ok(ARENA
        .get()
        .and_then(|a| a.as_ref().ok())
        .is_some_and(|a| a.offset_of(view.buf_ptr() as *const u8).is_some()))
}

/// Called in a child right after `os.fork()`: the arena becomes a private copy.
#[pyfunction]
fn arena_after_fork_in_child() {
    if let Some(Ok(arena)) = ARENA.get() {
        arena.detach_after_fork();
    }
}

/// NumPy's data allocator (NEP 49) that places arrays of at least `THRESHOLD` bytes in
/// the shared arena, so that they reach pool workers without a copy; smaller ones and
/// any that do not fit go to the C allocator.
mod numpy_allocator {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The smallest array placed in the arena.
    pub static THRESHOLD: AtomicUsize = AtomicUsize::new(64 * 1024);

    #[repr(C)]
    struct Allocator {
        ctx: *mut c_void,
        malloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
        calloc: unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void,
        realloc: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void,
        free: unsafe extern "C" fn(*mut c_void, *mut c_void, usize),
    }

    /// NumPy's `PyDataMem_Handler` (numpy/ndarraytypes.h), version 1.
    #[repr(C)]
    pub struct DataMemHandler {
        name: [u8; 127],
        version: u8,
        allocator: Allocator,
    }

    // SAFETY: the handler is immutable and its context pointer is unused.
    unsafe impl Sync for DataMemHandler {}
    // SAFETY: as above.
    unsafe impl Send for DataMemHandler {}

    const fn name() -> [u8; 127] {
        let mut name = [0u8; 127];
        let text = b"brickwork_shared_memory";
        let mut i = 0;
        while i < text.len() {
            name[i] = text[i];
            i += 1;
        }
        name
    }

    pub static HANDLER: DataMemHandler = DataMemHandler {
        name: name(),
        version: 1,
        allocator: Allocator {
            ctx: std::ptr::null_mut(),
            malloc,
            calloc,
            realloc,
            free,
        },
    };

    /// A block of the arena for an array of `size` bytes, zeroed or not.
    fn shared(size: usize, zeroed: bool) -> Option<NonNull<u8>> {
        if size < THRESHOLD.load(Ordering::Relaxed) {
            return None;
        }
        let arena = ARENA.get()?.as_ref().ok()?;
        if zeroed {
            arena.alloc(size)
        } else {
            arena.alloc_unzeroed(size)
        }
    }

    unsafe extern "C" fn malloc(_: *mut c_void, size: usize) -> *mut c_void {
        match shared(size, false) {
            Some(ptr) => ptr.as_ptr().cast(),
            // SAFETY: plain C allocation.
            None => unsafe { libc_malloc(size) },
        }
    }

    unsafe extern "C" fn calloc(_: *mut c_void, n: usize, size: usize) -> *mut c_void {
        match n.checked_mul(size).and_then(|size| shared(size, true)) {
            Some(ptr) => ptr.as_ptr().cast(),
            // SAFETY: plain C allocation.
            None => unsafe { libc_calloc(n, size) },
        }
    }

    unsafe extern "C" fn realloc(_: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
        let arena = ARENA.get().and_then(|a| a.as_ref().ok());
        let old_len = arena.and_then(|a| a.block_len(ptr as *const u8));
        match (arena, old_len) {
            (Some(arena), Some(old_len)) => {
                // SAFETY: malloc of the new size, then a copy of the bytes both blocks
                // hold, then the old block is freed: C realloc's contract.
                unsafe {
                    let new = malloc(std::ptr::null_mut(), size);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(
                            ptr as *const u8,
                            new as *mut u8,
                            old_len.min(size),
                        );
                        arena.free(NonNull::new_unchecked(ptr.cast()));
                    }
                    new
                }
            }
            // SAFETY: a C block (or null) reallocated by the C allocator.
            _ => unsafe { libc_realloc(ptr, size) },
        }
    }

    unsafe extern "C" fn free(_: *mut c_void, ptr: *mut c_void, _size: usize) {
        let arena = ARENA.get().and_then(|a| a.as_ref().ok());
        match (arena, NonNull::new(ptr.cast::<u8>())) {
            (Some(arena), Some(p)) if arena.offset_of(p.as_ptr()).is_some() => arena.free(p),
            // SAFETY: a block from the C allocator (or null).
            _ => unsafe { libc_free(ptr) },
        }
    }

    extern "C" {
        #[link_name = "malloc"]
        fn libc_malloc(size: usize) -> *mut c_void;
        #[link_name = "calloc"]
        fn libc_calloc(n: usize, size: usize) -> *mut c_void;
        #[link_name = "realloc"]
        fn libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
        #[link_name = "free"]
        fn libc_free(ptr: *mut c_void);
    }
}

/// Makes NumPy place new arrays of at least `threshold` bytes in the shared arena (for
/// the calling thread's context and threads started after; NEP 49). Returns the
/// previous handler's capsule.
#[pyfunction]
fn install_numpy_allocator<'py>(py: Python<'py>, threshold: usize) -> PyResult<Bound<'py, PyAny>> {
    arena(py)?;
    numpy_allocator::THRESHOLD.store(threshold.max(1), std::sync::atomic::Ordering::Relaxed);
    let handler =
        &numpy_allocator::HANDLER as *const numpy_allocator::DataMemHandler as *mut c_void;
    let name = c"mem_handler";
    // SAFETY: NumPy keeps the capsule and reads the handler through it; the handler
    // is a static that lives as long as the process.
    let capsule = unsafe {
        Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyCapsule_New(handler, name.as_ptr(), None))?
    };
    set_numpy_handler(py, &capsule)
}

/// Restores a NumPy data allocator (the capsule `install_numpy_allocator` returned).
#[pyfunction]
fn restore_numpy_allocator<'py>(
    py: Python<'py>,
    capsule: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    set_numpy_handler(py, &capsule)
}

fn set_numpy_handler<'py>(
    py: Python<'py>,
    capsule: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    /// `PyDataMem_SetHandler`'s slot in NumPy's C API table (since NumPy 1.22).
    const SET_HANDLER: usize = 304;
    let module = PyModule::import(py, "numpy._core._multiarray_umath")?;
    let api = module.getattr("_ARRAY_API")?.cast_into::<PyCapsule>()?;
    let table = api.pointer_checked(None)?.as_ptr() as *const *const c_void;
    // SAFETY: `_ARRAY_API` is NumPy's function table; slot 304 is
    // `PyObject *PyDataMem_SetHandler(PyObject *)` in every NumPy since 1.22, and the
    // capsule object stays alive (held by the module) while it is read.
    let previous = unsafe {
        let set: unsafe extern "C" fn(*mut pyo3::ffi::PyObject) -> *mut pyo3::ffi::PyObject =
            std::mem::transmute(*table.add(SET_HANDLER));
        set(capsule.as_ptr())
    };
    // SAFETY: PyDataMem_SetHandler returns a new reference, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, previous) }
}

/// The fork server's protocol constants by name (defined once, in brickwork-pool's
/// `forkserver` module), for `brickwork/multiprocessing/_protocol.py`.
fn forkserver_constants<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let table = PyDict::new(py);
    for (name, value) in forkserver::CONSTANTS {
        table.set_item(name, value)?;
    }
    Ok(table)
}

/// Adds the pool's classes, functions and constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FORKSERVER_CONSTANTS", forkserver_constants(m.py())?)?;
    m.add_class::<PySupervisor>()?;
    m.add_class::<FrameBody>()?;
    m.add_function(wrap_pyfunction!(pool_worker_serve, m)?)?;
    m.add_function(wrap_pyfunction!(arena_used, m)?)?;
    m.add_function(wrap_pyfunction!(arena_contains, m)?)?;
    m.add_function(wrap_pyfunction!(arena_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(install_numpy_allocator, m)?)?;
    m.add_function(wrap_pyfunction!(restore_numpy_allocator, m)?)?;
    Ok(())
}
