//! Tiles: the typed scratch vectors a program's registers live in.

use brickwork_core::DType;

/// A register's storage: up to [`crate::TILE`] elements of one dtype.
#[derive(Debug, Clone)]
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
