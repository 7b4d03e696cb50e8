//! The loopback executor's task runner: every task runs as it would on a remote worker,
//! in this process. The client encodes each stage once (memory, storage, functions and
//! sinks become keys it keeps: [`brickwork_graph::stage::remote`]); a task travels as
//! bytes, is decoded into a fresh stage and runs against [`WireEnv`], whose every read,
//! write, state and call is a [`Request`] encoded to bytes, answered by the client
//! ([`Session::serve`]) and decoded again; its result comes back as bytes. Nothing a
//! task uses reaches it any other way, so the suite run on this executor
//! (`--executor=loopback`) shows that plans travel, as Daft tests its remote runner
//! without a cluster.

use crate::run::{leaf_views, Ctx};
use brickwork_core::{c_strides, Buffer, DType, Error, Result};
use brickwork_graph::stage::remote::{self, Keep, Request, Response, Wire, WireError};
use brickwork_graph::{Leaf, LeafKind, Part, StageKind, Task, TaskEnv, Writers};
use brickwork_kernels::block::{contiguous, evaluate};
use brickwork_kernels::callback::BlockArg;
use brickwork_kernels::program::{Input, InputView, Scratch};
use brickwork_kernels::{with_tile, Program, Tile};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// A task as it travels.
#[derive(Serialize, Deserialize)]
struct TaskMessage {
    /// The encoded stage.
    stage: Vec<u8>,
    id: usize,
    index: usize,
    deps: Vec<u32>,
    /// Shape and dtype of every target.
    targets: Vec<(Vec<usize>, DType)>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| Error::Internal(format!("encoding a task: {e}")))
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Internal(format!("decoding a task: {e}")))
}

/// The client's side of one computation on the loopback executor.
pub(crate) struct Session {
    /// Each stage, encoded once.
    stages: Vec<Vec<u8>>,
    /// What stays with the client, by key.
    keep: Keep,
    /// Errors whose sources cannot travel, by number.
    errors: Mutex<Vec<Error>>,
}

impl Session {
    /// Encode the stages of the graph `ctx` runs.
    pub(crate) fn new(stages: &[brickwork_graph::Stage]) -> Result<Session> {
        let (encoded, keep) = remote::encoding(Keep::default(), || {
            stages
                .iter()
                .map(|s| encode(&s.kind))
                .collect::<Result<Vec<_>>>()
        });
        Ok(Session {
            stages: encoded?,
            keep,
            errors: Mutex::new(Vec::new()),
        })
    }

    fn keep_error(&self, e: Error) -> usize {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.push(e);
        errors.len() - 1
    }

    fn kept_error(&self, n: usize) -> Option<Error> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(n)
            .cloned()
    }

    /// Run task `t` as a remote worker would.
    pub(crate) fn run(&self, ctx: &Ctx, t: usize) -> Result<()> {
        let g = ctx.graph;
        let message = encode(&TaskMessage {
            stage: self.stages[g.stage_of[t] as usize].clone(),
            id: t,
            index: g.index[t] as usize,
            deps: g.deps_of(t).to_vec(),
            targets: g.targets.clone(),
        })?;
        let client = Client { ctx, session: self };
        let result: std::result::Result<(), WireError> = decode(&worker(&message, &client))?;
        result.map_err(|e| e.into_error(&|n| self.kept_error(n)))
    }

    /// Answer a request of a running task.
    fn serve(&self, ctx: &Ctx, request: Request) -> Result<Response> {
        let mut scratch = Scratch::default();
        Ok(match request {
            Request::Views {
                leaves,
                offset,
                shape,
            } => {
                let mut tiles = Vec::with_capacity(leaves.len());
                for leaf in leaves {
                    let leaf = self.resolve(leaf)?;
                    let view =
                        leaf_views(ctx, std::slice::from_ref(&leaf), &offset, &shape)?.remove(0);
                    let Input::Buffer(buffer) = &view.input else {
                        return Err(Error::Internal("generated values asked for".into()));
                    };
                    tiles.push(contiguous(&view, buffer.dtype(), &shape, &mut scratch)?);
                }
                Response::Tiles(tiles)
            }
            Request::WriteBlock {
                target,
                values,
                placed,
                shape,
            } => {
                ctx.write_block(target, &values, &placed, &shape, &mut scratch)?;
                Response::Done
            }
            Request::ReadBlock {
                target,
                placed,
                shape,
            } => Response::Tiles(vec![ctx.read_block(
                target,
                &placed,
                &shape,
                &mut scratch,
            )?]),
            Request::Put { task, parts } => {
                ctx.put(task, parts)?;
                Response::Done
            }
            Request::GetPart { task, part } => {
                let slot = ctx.slots.get(task);
                Response::Part(slot.and_then(|s| s.get(part).cloned()))
            }
            Request::CallBlockFn {
                key,
                coords,
                args,
                shape,
            } => {
                let f = self
                    .keep
                    .block_fns
                    .get(&key)
                    .ok_or_else(|| unknown("block function", key))?;
                let args: Vec<BlockArg> = args
                    .into_iter()
                    .map(|(tile, shape)| BlockArg {
                        buffer: with_tile!(tile, v => Buffer::from_vec(v)),
                        base: 0,
                        strides: c_strides(&shape),
                        shape,
                    })
                    .collect();
                Response::Tiles(vec![f.call(&coords, &args, &shape)?])
            }
            Request::WriteSink {
                key,
                start,
                shape,
                values,
            } => {
                let sink = self
                    .keep
                    .sinks
                    .get(&key)
                    .ok_or_else(|| unknown("sink", key))?;
                sink.write(&start, &shape, &values)?;
                Response::Done
            }
            Request::Call { key, i } => {
                let f = self
                    .keep
                    .task_fns
                    .get(&key)
                    .ok_or_else(|| unknown("task function", key))?;
                f.call(i)?;
                Response::Done
            }
        })
    }

    /// A leaf as it came back from a task, with its data this client keeps.
    fn resolve(&self, leaf: Leaf) -> Result<Leaf> {
        let kind = match leaf.kind {
            LeafKind::Remote(key) => self
                .keep
                .leaves
                .get(&key)
                .cloned()
                .ok_or_else(|| unknown("leaf", key))?,
            LeafKind::Buffer {
                target, reshaped, ..
            } => LeafKind::Buffer {
                target,
                writers: Arc::new(Writers::new(Vec::new())),
                reshaped,
            },
            other => other,
        };
        Ok(Leaf {
            kind,
            view: leaf.view,
        })
    }
}

fn unknown(what: &str, key: u64) -> Error {
    Error::Internal(format!("a task asked for an unknown {what} #{key:x}"))
}

/// The client's end of the wire: requests arrive as bytes and answers leave as bytes.
struct Client<'a> {
    ctx: &'a Ctx<'a>,
    session: &'a Session,
}

impl Client<'_> {
    fn answer(&self, request: &[u8]) -> Vec<u8> {
        let response = decode(request)
            .and_then(|r| self.session.serve(self.ctx, r))
            .unwrap_or_else(|e| {
                Response::Failed(WireError::from_error(&e, &mut |e| {
                    Some(self.session.keep_error(e))
                }))
            });
        encode(&response).unwrap_or_else(|e| {
            let failed = Response::Failed(WireError::from_error(&e, &mut |e| {
                Some(self.session.keep_error(e))
            }));
            encode(&failed).expect("an error response encodes")
        })
    }
}

impl Wire for Client<'_> {
    fn send(&self, request: &Request) -> Result<Response> {
        decode(&self.answer(&encode(request)?))
    }
}

/// The worker: decode a task, run it against the wire, encode its result.
fn worker(message: &[u8], wire: &dyn Wire) -> Vec<u8> {
    let result = remote::with_wire(wire, || -> Result<()> {
        let message: TaskMessage = decode(message)?;
        let kind: StageKind = decode(&message.stage)?;
        let env = WireEnv {
            wire,
            targets: message.targets,
        };
        let task = Task {
            id: message.id,
            index: message.index,
            deps: &message.deps,
        };
        kind.op().run(task, &env, &mut Scratch::default())
    });
    // An error made on the worker with a source object: its kind and text travel.
    let result = result.map_err(|e| WireError::from_error(&e, &mut |_| None));
    encode(&result).unwrap_or_default()
}

/// A running task's view of its computation, through the wire.
struct WireEnv<'a> {
    wire: &'a dyn Wire,
    targets: Vec<(Vec<usize>, DType)>,
}

impl WireEnv<'_> {
    fn ask(&self, request: &Request) -> Result<Response> {
        match self.wire.send(request)? {
            Response::Failed(e) => Err(remote::failed(e)),
            r => Ok(r),
        }
    }

    fn tiles(&self, request: &Request) -> Result<Vec<Tile>> {
        match self.ask(request)? {
            Response::Tiles(t) => Ok(t),
            r => Err(Error::Internal(format!("unexpected answer {r:?}"))),
        }
    }

    fn done(&self, request: &Request) -> Result<()> {
        match self.ask(request)? {
            Response::Done => Ok(()),
            r => Err(Error::Internal(format!("unexpected answer {r:?}"))),
        }
    }
}

impl TaskEnv for WireEnv<'_> {
    fn target(&self, target: usize) -> &(Vec<usize>, DType) {
        &self.targets[target]
    }

    fn views(&self, leaves: &[Leaf], offset: &[usize], shape: &[usize]) -> Result<Vec<InputView>> {
        // Generated values are computed here; everything else is asked for.
        let asked: Vec<Leaf> = leaves
            .iter()
            .filter(|l| !matches!(l.kind, LeafKind::Generated(_)))
            .cloned()
            .collect();
        let mut tiles = if asked.is_empty() {
            Vec::new()
        } else {
            self.tiles(&Request::Views {
                leaves: asked,
                offset: offset.to_vec(),
                shape: shape.to_vec(),
            })?
        }
        .into_iter();
        leaves
            .iter()
            .map(|leaf| match &leaf.kind {
                LeafKind::Generated(g) => {
                    let at = g.strides();
                    let origin = vec![0i64; at.len()];
                    let (base, strides) = leaf.view.address(&at, &origin, offset, shape.len());
                    Ok(InputView {
                        input: Input::Generated(g.clone()),
                        base,
                        strides,
                    })
                }
                _ => {
                    let tile = tiles
                        .next()
                        .ok_or_else(|| Error::Internal("a view is missing".into()))?;
                    Ok(InputView {
                        input: Input::Buffer(with_tile!(tile, v => Buffer::from_vec(v))),
                        base: 0,
                        strides: c_strides(shape),
                    })
                }
            })
            .collect()
    }

    fn run_into(
        &self,
        program: &Program,
        views: &[InputView],
        target: usize,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()> {
        let values = evaluate(program, views, self.targets[target].1, shape, scratch)?;
        self.write_block(target, &values, placed, shape, scratch)
    }

    fn write_block(
        &self,
        target: usize,
        values: &Tile,
        placed: &[usize],
        shape: &[usize],
        _scratch: &mut Scratch,
    ) -> Result<()> {
        self.done(&Request::WriteBlock {
            target,
            values: values.clone(),
            placed: placed.to_vec(),
            shape: shape.to_vec(),
        })
    }

    fn read_block(
        &self,
        target: usize,
        placed: &[usize],
        shape: &[usize],
        _scratch: &mut Scratch,
    ) -> Result<Tile> {
        self.tiles(&Request::ReadBlock {
            target,
            placed: placed.to_vec(),
            shape: shape.to_vec(),
        })?
        .pop()
        .ok_or_else(|| Error::Internal("a block is missing".into()))
    }

    fn put(&self, task: usize, parts: Vec<Part>) -> Result<()> {
        self.done(&Request::Put { task, parts })
    }

    fn with_part(&self, task: usize, part: usize, f: &mut dyn FnMut(Option<&Part>)) -> Result<()> {
        match self.ask(&Request::GetPart { task, part })? {
            Response::Part(p) => {
                f(p.as_ref());
                Ok(())
            }
            r => Err(Error::Internal(format!("unexpected answer {r:?}"))),
        }
    }
}
