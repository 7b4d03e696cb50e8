//! Storage adapters. [`ZarrArray`] reads and writes Zarr v2 and v3 arrays on the local
//! filesystem through the zarrs crate (every codec zarrs supports: bytes, zstd, blosc,
//! gzip, crc32c, transpose, sharding), as a [`BlockSource`] and a [`BlockSink`].
//!
//! [`BlockSource`]: brickwork_kernels::io::BlockSource
//! [`BlockSink`]: brickwork_kernels::io::BlockSink

mod dirstore;
mod zarr;

pub use zarr::ZarrArray;
