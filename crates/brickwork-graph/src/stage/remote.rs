//! How a stage travels to another executor as bytes.
//!
//! A stage's parameters (programs, grids, views, reducers, indices, random streams)
//! are plain data and serialize as they are. What cannot leave the client's process
//! travels as a *descriptor*: memory and storage leaves become [`LeafKind::Remote`]
//! keys, user functions, sinks and calls become remote handles, and a running task
//! reaches all of them, and the computation's targets and states, through [`Wire`]
//! requests answered by the client. The in-process loopback executor
//! (`brickwork-exec/src/loopback.rs`) runs every task this way, so the whole suite
//! proves the plans travel; a cluster executor (issue 14) ships the same bytes, with
//! sources as block data or store paths and functions as cloudpickle bytes.

use crate::stage::{Part, TaskFn};
use crate::taskgraph::{Leaf, LeafKind};
use brickwork_core::{Error, Result};
use brickwork_kernels::callback::{BlockArg, BlockFn};
use brickwork_kernels::io::BlockSink;
use brickwork_kernels::Tile;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A request from a task running elsewhere to the client of its computation.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// The values `leaves` read for the iteration block at `offset` of `shape`, each
    /// as a C-contiguous block of `shape`.
    Views {
        /// The leaves (memory and storage as keys).
        leaves: Vec<Leaf>,
        /// The block's offset.
        offset: Vec<usize>,
        /// The block's shape.
        shape: Vec<usize>,
    },
    /// Write a finished block into a target.
    WriteBlock {
        /// The target.
        target: usize,
        /// The C-contiguous values.
        values: Tile,
        /// Where the block goes.
        placed: Vec<usize>,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// Read back a region of a target.
    ReadBlock {
        /// The target.
        target: usize,
        /// Where the region starts.
        placed: Vec<usize>,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// Keep a task's parts for the tasks that depend on it.
    Put {
        /// The task.
        task: usize,
        /// Its parts.
        parts: Vec<Part>,
    },
    /// One part of a finished task's result.
    GetPart {
        /// The task.
        task: usize,
        /// The part.
        part: usize,
    },
    /// Call the block function with key `key`.
    CallBlockFn {
        /// The function's key.
        key: u64,
        /// The block's grid coordinates.
        coords: Vec<usize>,
        /// Each input block, C-contiguous, with its shape.
        args: Vec<(Tile, Vec<usize>)>,
        /// The output block's shape.
        shape: Vec<usize>,
    },
    /// Write a block to the sink with key `key`.
    WriteSink {
        /// The sink's key.
        key: u64,
        /// Where the block starts.
        start: Vec<usize>,
        /// Its shape.
        shape: Vec<usize>,
        /// Its C-contiguous values.
        values: Tile,
    },
    /// Make call `i` of the task function with key `key`.
    Call {
        /// The function's key.
        key: u64,
        /// The call's number.
        i: usize,
    },
}

/// The client's answer to a [`Request`].
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    /// Done, nothing to return.
    Done,
    /// Blocks of values.
    Tiles(Vec<Tile>),
    /// A part of a task's result (None: missing).
    Part(Option<Part>),
    /// The request failed: an error the client keeps (see [`WireError`]).
    Failed(WireError),
}

/// An error as it travels: the engine's kinds by name and message. An error that
/// carries a source object (a Python exception) stays with the client, which sends its
/// number in `kept` and raises the original.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// The kind (the [`Error`] variant's name).
    pub kind: String,
    /// The message.
    pub message: String,
    /// The number of the original error the client keeps, if any.
    pub kept: Option<usize>,
}

impl WireError {
    /// `e` as it travels; `keep` stores an error whose source cannot travel and returns
    /// its number (None: only its kind and text travel).
    pub fn from_error(e: &Error, keep: &mut dyn FnMut(Error) -> Option<usize>) -> WireError {
        if let Error::External { source, .. } = e {
            if let Some(Failure(w)) = source.downcast_ref::<Failure>() {
                // A failed request, passed on by the task: the client's own error.
                return w.clone();
            }
        }
        let kind = match e {
            Error::ShapeMismatch(_) => "ShapeMismatch",
            Error::Axis { .. } => "Axis",
            Error::Chunks(_) => "Chunks",
            Error::Type(_) => "Type",
            Error::Index(_) => "Index",
            Error::Overflow(_) => "Overflow",
            Error::Value(_) => "Value",
            Error::NotFound(_) => "NotFound",
            Error::Io { .. } => "Io",
            Error::Memory(_) => "Memory",
            Error::OutOfMemory(_) => "OutOfMemory",
            Error::Cancelled => "Cancelled",
            Error::External { .. } => "External",
            Error::Internal(_) => "Internal",
        };
        let kept = match e {
            Error::External { .. } | Error::Io { .. } | Error::Axis { .. } => keep(e.clone()),
            _ => None,
        };
        WireError {
            kind: kind.into(),
            message: match e {
                Error::Internal(m) => m.clone(),
                other => other.to_string(),
            },
            kept,
        }
    }

    /// The error this stands for: `kept` resolves an error the client keeps.
    pub fn into_error(self, kept: &dyn Fn(usize) -> Option<Error>) -> Error {
        if let Some(e) = self.kept.and_then(kept) {
            return e;
        }
        let m = self.message;
        match self.kind.as_str() {
            "ShapeMismatch" => Error::ShapeMismatch(m),
            "Chunks" => Error::Chunks(m),
            "Type" => Error::Type(m),
            "Index" => Error::Index(m),
            "Overflow" => Error::Overflow(m),
            "Value" => Error::Value(m),
            "NotFound" => Error::NotFound(m),
            "Io" => Error::io_message(m),
            "Memory" => Error::Memory(m),
            "OutOfMemory" => Error::OutOfMemory(m),
            "Cancelled" => Error::Cancelled,
            _ => Error::Internal(m),
        }
    }
}

/// A failed request as an error of the task that made it.
#[derive(Debug)]
struct Failure(WireError);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Failure {}

/// The way from a running task back to its client.
pub trait Wire {
    /// Send `request` as bytes and decode the answer.
    fn send(&self, request: &Request) -> Result<Response>;
}

/// What the client handed out as keys while encoding stages: the leaves and objects
/// that stay with it.
#[derive(Default)]
pub struct Keep {
    /// Memory and storage leaves.
    pub leaves: HashMap<u64, LeafKind>,
    /// Block functions.
    pub block_fns: HashMap<u64, Arc<dyn BlockFn>>,
    /// Sinks.
    pub sinks: HashMap<u64, Arc<dyn BlockSink>>,
    /// Task functions.
    pub task_fns: HashMap<u64, Arc<dyn TaskFn>>,
}

thread_local! {
    /// Set while the client encodes stages (boxed: thread-local storage stays small).
    static KEEP: RefCell<Option<Box<Keep>>> = const { RefCell::new(None) };
    /// Set while a task runs remotely (see [`with_wire`]).
    static WIRE: RefCell<Option<*const (dyn Wire + 'static)>> = const { RefCell::new(None) };
}

/// Encode with `encode` on this thread, recording what stays with the client.
pub fn encoding<T>(keep: Keep, encode: impl FnOnce() -> T) -> (T, Keep) {
    KEEP.with(|k| *k.borrow_mut() = Some(Box::new(keep)));
    let out = encode();
    let keep = KEEP.with(|k| k.borrow_mut().take()).unwrap_or_default();
    (out, *keep)
}

/// Run `f` with `wire` as the way back to the client of the task it runs (for the
/// remote handles inside the task's stage).
pub fn with_wire<T>(wire: &dyn Wire, f: impl FnOnce() -> T) -> T {
    // SAFETY: only the lifetime is erased; the pointer is removed again below, before
    // `wire` can go away, and is only dereferenced by `send` on this thread while `f`
    // runs (a panic in `f` unwinds through the guard, which also removes it).
    let erased: *const (dyn Wire + 'static) = unsafe { std::mem::transmute(wire) };
    struct Restore(Option<*const (dyn Wire + 'static)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            WIRE.with(|w| *w.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(WIRE.with(|w| w.borrow_mut().replace(erased)));
    f()
}

fn send(request: &Request) -> Result<Response> {
    let wire = WIRE
        .with(|w| *w.borrow())
        .ok_or_else(|| Error::Internal("a remote handle used outside a remote task".into()))?;
    // SAFETY: set by `with_wire`, whose `wire` outlives the call in which this runs.
    let wire = unsafe { &*wire };
    match wire.send(request)? {
        Response::Failed(e) => Err(failed(e)),
        r => Ok(r),
    }
}

/// The error a task sees for a failed request (the client resolves it again when the
/// task's result comes back).
pub fn failed(e: WireError) -> Error {
    Error::External {
        message: e.message.clone(),
        source: Arc::new(Failure(e)),
    }
}

fn unexpected(r: Response) -> Error {
    Error::Internal(format!("unexpected answer {r:?}"))
}

fn keep_with(f: impl FnOnce(&mut Keep)) {
    KEEP.with(|k| {
        if let Some(keep) = k.borrow_mut().as_mut() {
            f(keep);
        }
    });
}

/// The key of an object: its address in the client's memory.
fn key_of<T: ?Sized>(p: *const T) -> u64 {
    p as *const () as usize as u64
}

/// A leaf's kind as it travels.
#[derive(Serialize, Deserialize)]
enum WireLeaf {
    Remote(u64),
    Generated(brickwork_kernels::program::Generator),
    Buffer {
        target: usize,
        reshaped: Option<Vec<usize>>,
    },
}

/// Serialize a [`LeafKind`]: memory and storage as keys, and a concatenation read in
/// place as one key too (the client picks the part for each block it is asked for).
pub fn serialize_leaf_kind<S: Serializer>(kind: &LeafKind, s: S) -> Result<S::Ok, S::Error> {
    let wire = match kind {
        LeafKind::Source(_) | LeafKind::Stored(_) | LeafKind::Select(_) => {
            let key = key_of(kind as *const LeafKind);
            keep_with(|k| {
                k.leaves.insert(key, kind.clone());
            });
            WireLeaf::Remote(key)
        }
        LeafKind::Remote(key) => WireLeaf::Remote(*key),
        LeafKind::Generated(g) => WireLeaf::Generated(g.clone()),
        LeafKind::Buffer {
            target, reshaped, ..
        } => WireLeaf::Buffer {
            target: *target,
            reshaped: reshaped.clone(),
        },
    };
    wire.serialize(s)
}

/// Deserialize a [`LeafKind`] (keys stay keys; an intermediate's writers, used only
/// for planning, stay behind).
pub fn deserialize_leaf_kind<'de, D: Deserializer<'de>>(d: D) -> Result<LeafKind, D::Error> {
    Ok(match WireLeaf::deserialize(d)? {
        WireLeaf::Remote(key) => LeafKind::Remote(key),
        WireLeaf::Generated(g) => LeafKind::Generated(g),
        WireLeaf::Buffer { target, reshaped } => LeafKind::Buffer {
            target,
            writers: Arc::new(crate::taskgraph::Writers::new(Vec::new())),
            reshaped,
        },
    })
}

/// A handle as it travels: the key and the name.
#[derive(Serialize, Deserialize)]
struct Handle {
    key: u64,
    name: String,
}

/// Serde for `Arc<dyn BlockFn>`: a handle whose calls go back to the client.
pub mod block_fn {
    use super::*;

    /// Serialize as a handle.
    pub fn serialize<S: Serializer>(f: &Arc<dyn BlockFn>, s: S) -> Result<S::Ok, S::Error> {
        let key = key_of(Arc::as_ptr(f));
        keep_with(|k| {
            k.block_fns.insert(key, f.clone());
        });
        Handle {
            key,
            name: f.name().to_string(),
        }
        .serialize(s)
    }

    /// Deserialize into a remote handle.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<dyn BlockFn>, D::Error> {
        let Handle { key, name } = Handle::deserialize(d)?;
        Ok(Arc::new(RemoteBlockFn { key, name }))
    }
}

/// Serde for `Arc<dyn BlockSink>`: a handle whose writes go back to the client.
pub mod block_sink {
    use super::*;

    /// Serialize as a handle.
    pub fn serialize<S: Serializer>(f: &Arc<dyn BlockSink>, s: S) -> Result<S::Ok, S::Error> {
        let key = key_of(Arc::as_ptr(f));
        keep_with(|k| {
            k.sinks.insert(key, f.clone());
        });
        Handle {
            key,
            name: f.name(),
        }
        .serialize(s)
    }

    /// Deserialize into a remote handle.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<dyn BlockSink>, D::Error> {
        let Handle { key, name } = Handle::deserialize(d)?;
        Ok(Arc::new(RemoteSink { key, name }))
    }
}

/// Serde for `Arc<dyn TaskFn>`: a handle whose calls go back to the client.
pub mod task_fn {
    use super::*;

    /// Serialize as a handle.
    pub fn serialize<S: Serializer>(f: &Arc<dyn TaskFn>, s: S) -> Result<S::Ok, S::Error> {
        let key = key_of(Arc::as_ptr(f));
        keep_with(|k| {
            k.task_fns.insert(key, f.clone());
        });
        Handle {
            key,
            name: f.name().to_string(),
        }
        .serialize(s)
    }

    /// Deserialize into a remote handle.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<dyn TaskFn>, D::Error> {
        let Handle { key, name } = Handle::deserialize(d)?;
        Ok(Arc::new(RemoteTaskFn { key, name }))
    }
}

/// A block function that stays with the client.
#[derive(Debug)]
struct RemoteBlockFn {
    key: u64,
    name: String,
}

impl BlockFn for RemoteBlockFn {
    fn call(&self, block_id: &[usize], args: &[BlockArg], shape: &[usize]) -> Result<Tile> {
        let mut scratch = brickwork_kernels::program::Scratch::default();
        let args = args
            .iter()
            .map(|a| {
                let view = brickwork_kernels::program::InputView {
                    input: brickwork_kernels::program::Input::Buffer(a.buffer.clone()),
                    base: a.base,
                    strides: a.strides.clone(),
                };
                let tile = brickwork_kernels::block::contiguous(
                    &view,
                    a.buffer.dtype(),
                    &a.shape,
                    &mut scratch,
                )?;
                Ok((tile, a.shape.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        match send(&Request::CallBlockFn {
            key: self.key,
            coords: block_id.to_vec(),
            args,
            shape: shape.to_vec(),
        })? {
            Response::Tiles(mut t) if t.len() == 1 => Ok(t.remove(0)),
            r => Err(unexpected(r)),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A sink that stays with the client.
#[derive(Debug)]
struct RemoteSink {
    key: u64,
    name: String,
}

impl BlockSink for RemoteSink {
    fn write(&self, start: &[usize], shape: &[usize], block: &Tile) -> Result<()> {
        match send(&Request::WriteSink {
            key: self.key,
            start: start.to_vec(),
            shape: shape.to_vec(),
            values: block.clone(),
        })? {
            Response::Done => Ok(()),
            r => Err(unexpected(r)),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A task function that stays with the client.
#[derive(Debug)]
struct RemoteTaskFn {
    key: u64,
    name: String,
}

impl TaskFn for RemoteTaskFn {
    fn call(&self, i: usize) -> Result<()> {
        match send(&Request::Call { key: self.key, i })? {
            Response::Done => Ok(()),
            r => Err(unexpected(r)),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
