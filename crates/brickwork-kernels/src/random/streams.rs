//! Per-thread positions in block streams, so that consecutive tiles of a task continue
//! a stream where the last one stopped instead of seeding it again.
//!
//! A program asks for a random leaf tile by tile: a run along a row of a block, or single
//! elements for strided and transposed reads. Uniform draws take one draw (or half of
//! one) per element, so any position is a jump ahead from the block's seeded state; the
//! cursor only saves the SeedSequence hash and the jump. Normal draws take a variable
//! number of draws per value, so a position is known only by drawing up to it: a cursor
//! moves forward (skipping values by drawing them), and a read that goes backward or
//! strides through the block gets the whole block drawn once into a [`Whole`] kept here
//! (at most [`WHOLE_BYTES`] per thread, at least the last block) while the task walks it.
//!
//! Entries are keyed by a hash of the stream's seed words and how it is consumed, not by
//! the array: two arrays with the same seeds share their streams' values. The cache lives
//! as long as the worker thread (one computation: the executor's threads are scoped).

use super::pcg64::Pcg64;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

/// The most bytes of whole blocks one thread keeps.
pub(super) const WHOLE_BYTES: usize = 64 << 20;
/// The most cursors one thread keeps (they are forgotten all at once beyond it).
const CURSORS: usize = 4096;

/// A stream: the hash of its seed words and consumption, and the block index.
pub(super) type StreamKey = (u64, usize);

/// A position in a block's stream.
#[derive(Debug, Clone)]
pub(super) struct Cursor {
    /// The block's generator as seeded (position 0).
    pub seed: Pcg64,
    /// The generator at `pos`.
    pub g: Pcg64,
    /// Elements of the block's stream before `g` (values, not draws).
    pub pos: usize,
    /// For float32 draws at an odd position: the high half of the last draw.
    pub pending: Option<u32>,
}

/// A block's first values in stream order.
pub(super) struct Whole {
    key: StreamKey,
    values: Vec<f64>,
}

/// One thread's cursors and whole blocks.
#[derive(Default)]
pub(super) struct Streams {
    cursors: HashMap<StreamKey, Cursor>,
    wholes: VecDeque<Whole>,
}

impl Streams {
    /// The cursor of `key`, seeded by `seed` when there is none.
    pub(super) fn cursor(&mut self, key: StreamKey, seed: impl FnOnce() -> Pcg64) -> &mut Cursor {
        if self.cursors.len() >= CURSORS && !self.cursors.contains_key(&key) {
            self.cursors.clear();
        }
        self.cursors.entry(key).or_insert_with(|| {
            let g = seed();
            Cursor {
                seed: g,
                g,
                pos: 0,
                pending: None,
            }
        })
    }

    /// The first `len` (or more) values of `key`'s stream, if kept.
    pub(super) fn whole(&self, key: StreamKey, len: usize) -> Option<&[f64]> {
        self.wholes
            .iter()
            .find(|w| w.key == key && w.values.len() >= len)
            .map(|w| &w.values[..])
    }

    /// Keeps `values` as `key`'s stream, forgetting the oldest blocks beyond
    /// [`WHOLE_BYTES`].
    pub(super) fn keep_whole(&mut self, key: StreamKey, values: Vec<f64>) -> &[f64] {
        self.wholes.retain(|w| w.key != key);
        let mut bytes = values.len() * 8;
        self.wholes.push_back(Whole { key, values });
        for w in self.wholes.iter().rev().skip(1) {
            bytes += w.values.len() * 8;
        }
        while bytes > WHOLE_BYTES && self.wholes.len() > 1 {
            if let Some(w) = self.wholes.pop_front() {
                bytes -= w.values.len() * 8;
            }
        }
        &self.wholes.back().expect("just pushed").values
    }
}

thread_local! {
    // A pointer-sized, const-initialised slot: the extension module's thread-local block
    // is static (initial-exec), and the loader has little room for it.
    static STREAMS: RefCell<Option<Box<Streams>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's streams.
pub(super) fn with<R>(f: impl FnOnce(&mut Streams) -> R) -> R {
    STREAMS.with(|s| f(s.borrow_mut().get_or_insert_with(Box::default)))
}
