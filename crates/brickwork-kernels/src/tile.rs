//! Tiles: the typed scratch vectors a program's registers live in.

use brickwork_core::DType;

/// A register's storage: up to [`crate::TILE`] elements of one dtype.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Tile {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Run `$body` with `$v` bound to the typed vector inside a tile (any dtype).
#[macro_export]
macro_rules! with_tile {
    ($tile:expr, $v:ident => $body:expr) => {
        match $tile {
            $crate::Tile::Bool($v) => $body,
            $crate::Tile::I8($v) => $body,
            $crate::Tile::I16($v) => $body,
            $crate::Tile::I32($v) => $body,
            $crate::Tile::I64($v) => $body,
            $crate::Tile::U8($v) => $body,
            $crate::Tile::U16($v) => $body,
            $crate::Tile::U32($v) => $body,
            $crate::Tile::U64($v) => $body,
            $crate::Tile::F32($v) => $body,
            $crate::Tile::F64($v) => $body,
        }
    };
}

impl Tile {
    /// A zeroed tile of `len` elements.
    pub fn new(dtype: DType, len: usize) -> Tile {
        match dtype {
            DType::Bool => Tile::Bool(vec![false; len]),
            DType::I8 => Tile::I8(vec![0; len]),
            DType::I16 => Tile::I16(vec![0; len]),
            DType::I32 => Tile::I32(vec![0; len]),
            DType::I64 => Tile::I64(vec![0; len]),
            DType::U8 => Tile::U8(vec![0; len]),
            DType::U16 => Tile::U16(vec![0; len]),
            DType::U32 => Tile::U32(vec![0; len]),
            DType::U64 => Tile::U64(vec![0; len]),
            DType::F32 => Tile::F32(vec![0.0; len]),
            DType::F64 => Tile::F64(vec![0.0; len]),
        }
    }

    /// The tile's dtype.
    pub fn dtype(&self) -> DType {
        match self {
            Tile::Bool(_) => DType::Bool,
            Tile::I8(_) => DType::I8,
            Tile::I16(_) => DType::I16,
            Tile::I32(_) => DType::I32,
            Tile::I64(_) => DType::I64,
            Tile::U8(_) => DType::U8,
            Tile::U16(_) => DType::U16,
            Tile::U32(_) => DType::U32,
            Tile::U64(_) => DType::U64,
            Tile::F32(_) => DType::F32,
            Tile::F64(_) => DType::F64,
        }
    }

    /// The number of elements the tile holds.
    pub fn len(&self) -> usize {
        with_tile!(self, v => v.len())
    }

    /// True if the tile holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A borrowed run of elements of one dtype: a register's current tile, or elements read
/// in place from an input.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum TileRef<'a> {
    Bool(&'a [bool]),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

/// Run `$body` with `$v` bound to the typed slice inside a [`TileRef`].
#[macro_export]
macro_rules! with_ref {
    ($tile:expr, $v:ident => $body:expr) => {
        match $tile {
            $crate::tile::TileRef::Bool($v) => $body,
            $crate::tile::TileRef::I8($v) => $body,
            $crate::tile::TileRef::I16($v) => $body,
            $crate::tile::TileRef::I32($v) => $body,
            $crate::tile::TileRef::I64($v) => $body,
            $crate::tile::TileRef::U8($v) => $body,
            $crate::tile::TileRef::U16($v) => $body,
            $crate::tile::TileRef::U32($v) => $body,
            $crate::tile::TileRef::U64($v) => $body,
            $crate::tile::TileRef::F32($v) => $body,
            $crate::tile::TileRef::F64($v) => $body,
        }
    };
}

impl Tile {
    /// The first `n` elements.
    pub fn as_ref(&self, n: usize) -> TileRef<'_> {
        match self {
            Tile::Bool(v) => TileRef::Bool(&v[..n]),
            Tile::I8(v) => TileRef::I8(&v[..n]),
            Tile::I16(v) => TileRef::I16(&v[..n]),
            Tile::I32(v) => TileRef::I32(&v[..n]),
            Tile::I64(v) => TileRef::I64(&v[..n]),
            Tile::U8(v) => TileRef::U8(&v[..n]),
            Tile::U16(v) => TileRef::U16(&v[..n]),
            Tile::U32(v) => TileRef::U32(&v[..n]),
            Tile::U64(v) => TileRef::U64(&v[..n]),
            Tile::F32(v) => TileRef::F32(&v[..n]),
            Tile::F64(v) => TileRef::F64(&v[..n]),
        }
    }
}

impl TileRef<'_> {
    /// The dtype.
    pub fn dtype(&self) -> DType {
        match self {
            TileRef::Bool(_) => DType::Bool,
            TileRef::I8(_) => DType::I8,
            TileRef::I16(_) => DType::I16,
            TileRef::I32(_) => DType::I32,
            TileRef::I64(_) => DType::I64,
            TileRef::U8(_) => DType::U8,
            TileRef::U16(_) => DType::U16,
            TileRef::U32(_) => DType::U32,
            TileRef::U64(_) => DType::U64,
            TileRef::F32(_) => DType::F32,
            TileRef::F64(_) => DType::F64,
        }
    }

    /// A run of `n` elements of `dtype` read in place.
    ///
    /// # Safety
    /// `ptr` must be aligned for `dtype` and valid for reads of `n` elements for `'a`.
    pub unsafe fn from_raw<'a>(dtype: DType, ptr: *const u8, n: usize) -> TileRef<'a> {
        // SAFETY: guaranteed by the caller.
        unsafe {
            match dtype {
                DType::Bool => TileRef::Bool(std::slice::from_raw_parts(ptr as *const bool, n)),
                DType::I8 => TileRef::I8(std::slice::from_raw_parts(ptr as *const i8, n)),
                DType::I16 => TileRef::I16(std::slice::from_raw_parts(ptr as *const i16, n)),
                DType::I32 => TileRef::I32(std::slice::from_raw_parts(ptr as *const i32, n)),
                DType::I64 => TileRef::I64(std::slice::from_raw_parts(ptr as *const i64, n)),
                DType::U8 => TileRef::U8(std::slice::from_raw_parts(ptr, n)),
                DType::U16 => TileRef::U16(std::slice::from_raw_parts(ptr as *const u16, n)),
                DType::U32 => TileRef::U32(std::slice::from_raw_parts(ptr as *const u32, n)),
                DType::U64 => TileRef::U64(std::slice::from_raw_parts(ptr as *const u64, n)),
                DType::F32 => TileRef::F32(std::slice::from_raw_parts(ptr as *const f32, n)),
                DType::F64 => TileRef::F64(std::slice::from_raw_parts(ptr as *const f64, n)),
            }
        }
    }
}
