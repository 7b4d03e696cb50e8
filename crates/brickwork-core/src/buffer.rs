//! Reference-counted chunk buffers: memory owned by Rust or borrowed from an owner
//! (a NumPy array) that the buffer keeps alive.

use crate::{DType, Element};
use std::any::Any;
use std::sync::Arc;

/// A read-only, reference-counted block of elements of one dtype.
///
/// The memory is owned by `owner` (a `Vec<T>`, or a foreign object such as a NumPy
/// array), which lives as long as any clone of the buffer.
#[derive(Clone)]
pub struct Buffer {
    ptr: *const u8,
    len: usize,
    dtype: DType,
    /// Held only to keep the memory alive.
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the memory behind `ptr` is only read through a `Buffer`, and it is kept alive
// by `owner`, which is itself `Send + Sync`.
unsafe impl Send for Buffer {}
// SAFETY: as above; a `Buffer` hands out shared reads only.
unsafe impl Sync for Buffer {}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer({} x {})", self.len, self.dtype)
    }
}

impl Buffer {
    /// A buffer owning `data`.
    pub fn from_vec<T: Element>(data: Vec<T>) -> Buffer {
        let ptr = data.as_ptr() as *const u8;
        let len = data.len();
        Buffer {
            ptr,
            len,
            dtype: T::DTYPE,
            _owner: Arc::new(data),
        }
    }

    /// A buffer over foreign memory.
    ///
    /// # Safety
    /// `ptr` must point to memory valid for reads of every element address the caller
    /// will compute from it (for strided views: every address reachable with the
    /// strides used), aligned for `dtype`, and it must stay valid and unmodified for as
    /// long as `owner` lives.
    pub unsafe fn from_raw(
        ptr: *const u8,
        len: usize,
        dtype: DType,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Buffer {
        Buffer {
            ptr,
            len,
            dtype,
            _owner: owner,
        }
    }

    /// The base pointer.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The number of elements counted from the base pointer (for foreign strided
    /// memory: as the creator declared).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}
