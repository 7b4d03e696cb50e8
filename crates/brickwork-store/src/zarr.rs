//! Zarr arrays on the local filesystem.

use crate::dirstore::DirStore;
use brickwork_core::{fmt_shape, DType, Error, Result};
use brickwork_kernels::io::{BlockSink, BlockSource};
use brickwork_kernels::{with_tile, Tile};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{data_type, Array, ArrayBuilder};

/// A Zarr array in a directory store.
pub struct ZarrArray {
    array: Array<DirStore>,
    store: PathBuf,
    component: String,
    dtype: DType,
    shape: Vec<usize>,
    /// The array's directory as an absolute path, whatever the working directory later.
    node: PathBuf,
}

/// `ZarrArray(<the array's directory, absolute>)`. The optimized plan shows a stored
/// leaf by this text, and `brickwork.array.storage` reads the directory from it to find
/// the stores a computation reads (so that `to_zarr` refuses to replace one of them):
/// keep the form.
impl std::fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZarrArray({})", self.node.display())
    }
}

/// `path` made absolute against the working directory now (lexically: symbolic links
/// are not resolved); unchanged if the working directory cannot be read.
fn absolute_path(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The directory of the node at `path` (`/` or `/a/b`) of the store at `store`, as an
/// absolute path.
fn absolute_node_dir(store: &Path, path: &str) -> PathBuf {
    let base = absolute_path(store);
    match path.trim_matches('/') {
        "" => base,
        rest => base.join(rest),
    }
}

fn node_path(component: Option<&str>) -> String {
    match component.map(|c| c.trim_matches('/')) {
        None | Some("") => "/".to_string(),
        Some(c) => format!("/{c}"),
    }
}

fn zarr_dtype(d: DType) -> zarrs::array::DataType {
    match d {
        DType::Bool => data_type::bool(),
        DType::I8 => data_type::int8(),
        DType::I16 => data_type::int16(),
        DType::I32 => data_type::int32(),
        DType::I64 => data_type::int64(),
        DType::U8 => data_type::uint8(),
        DType::U16 => data_type::uint16(),
        DType::U32 => data_type::uint32(),
        DType::U64 => data_type::uint64(),
        DType::F32 => data_type::float32(),
        DType::F64 => data_type::float64(),
    }
}

/// Codec options for work inside one chunk task: no inner parallelism, so zarrs does
/// not oversubscribe the scheduler's threads.
fn serial() -> zarrs::array::CodecOptions {
    zarrs::array::CodecOptions::default().with_concurrent_target(1)
}

fn ranges(start: &[usize], shape: &[usize]) -> Vec<Range<u64>> {
    start
        .iter()
        .zip(shape)
        .map(|(&s, &n)| s as u64..(s + n) as u64)
        .collect()
}

impl ZarrArray {
    /// The store keys of the chunks a region touches (the first few), for error
    /// messages: ` (chunk c/0/1)`.
    fn chunk_keys(&self, subset: &[Range<u64>]) -> String {
        let Ok(Some(chunks)) = self.array.chunks_in_array_subset(&subset.to_vec()) else {
            return String::new();
        };
        let total = chunks.num_elements_usize();
        let keys: Vec<String> = chunks
            .indices()
            .into_iter()
            .take(3)
            .map(|index| self.array.chunk_key(&index).to_string())
            .collect();
        let more = if total > keys.len() {
            format!(" and {} more", total - keys.len())
        } else {
            String::new()
        };
        match keys.len() {
            0 => String::new(),
            1 => format!(" (chunk {}{more})", keys[0]),
            _ => format!(" (chunks {}{more})", keys.join(", ")),
        }
    }

    fn describe(store: &Path, component: &str) -> String {
        format!(
            "{}{}",
            store.display(),
            if component == "/" { "" } else { component }
        )
    }

    /// Open the array at `component` (None: the root) of the store at `store`.
    pub fn open(store: &Path, component: Option<&str>) -> Result<ZarrArray> {
        // A relative path is fixed now: the store reads its chunks by path when a
        // computation runs, perhaps after the working directory has changed.
        let absolute = absolute_path(store);
        let store = absolute.as_path();
        let path = node_path(component);
        let name = ZarrArray::describe(store, &path);
        if !store.is_dir() {
            return Err(Error::NotFound(format!(
                "no Zarr store at {}: the directory does not exist",
                store.display()
            )));
        }
        let fs = DirStore::new(store).map_err(|e| {
            Error::io(
                format!("cannot open the Zarr store {}: {e}", store.display()),
                e,
            )
        })?;
        let array = Array::open(Arc::new(fs), &path).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("missing") || msg.contains("not found") {
                Error::NotFound(format!("no Zarr array at {name}: {msg}"))
            } else {
                Error::Value(format!("cannot open the Zarr array {name}: {msg}"))
            }
        })?;
        let dt = array
            .data_type()
            .name(zarrs::plugin::ZarrVersion::V3)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unknown".into());
        let dtype = DType::from_name(&dt).map_err(|_| {
            Error::Type(format!(
                "the Zarr array {name} has data type {dt}, which brickwork does not support"
            ))
        })?;
        let shape = array.shape().iter().map(|&n| n as usize).collect();
        Ok(ZarrArray {
            array,
            store: store.to_path_buf(),
            node: absolute_node_dir(store, &path),
            component: path,
            dtype,
            shape,
        })
    }

    /// Create an array of `shape` and `dtype` in chunks of `chunk` (Zarr v3, zstd
    /// compression, fill value 0) at `component` of the store at `store`. An existing
    /// array there is refused unless `overwrite`.
    pub fn create(
        store: &Path,
        component: Option<&str>,
        shape: &[usize],
        dtype: DType,
        chunk: &[usize],
        overwrite: bool,
    ) -> Result<ZarrArray> {
        let absolute = absolute_path(store);
        let store = absolute.as_path();
        let path = node_path(component);
        let name = ZarrArray::describe(store, &path);
        let node_dir = if path == "/" {
            store.to_path_buf()
        } else {
            store.join(path.trim_start_matches('/'))
        };
        let exists = node_dir.join("zarr.json").exists() || node_dir.join(".zarray").exists();
        if exists && !overwrite {
            return Err(Error::Value(format!(
                "a Zarr array already exists at {name}; pass overwrite=True to replace it"
            )));
        }
        if exists {
            std::fs::remove_dir_all(&node_dir)
                .map_err(|e| Error::io(format!("cannot remove the old array {name}: {e}"), e))?;
        }
        std::fs::create_dir_all(store).map_err(|e| {
            Error::io(
                format!("cannot create the Zarr store {}: {e}", store.display()),
                e,
            )
        })?;
        let fs = Arc::new(DirStore::new(store).map_err(|e| {
            Error::io(
                format!("cannot open the Zarr store {}: {e}", store.display()),
                e,
            )
        })?);
        // The groups above the array, so that zarr-python can open the store as a group.
        let parts: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        for depth in 0..parts.len() {
            let group = format!("/{}", parts[..depth].join("/"));
            let dir = store.join(parts[..depth].join("/"));
            if !dir.join("zarr.json").exists() && !dir.join(".zgroup").exists() {
                let made = zarrs::group::GroupBuilder::new()
                    .build(fs.clone(), &group)
                    .map_err(|e| e.to_string())
                    .and_then(|g| g.store_metadata().map_err(|e| e.to_string()));
                made.map_err(|e| {
                    Error::io_message(format!(
                        "cannot create the group {group} in {}: {e}",
                        store.display()
                    ))
                })?;
            }
        }
        let chunk_shape: Vec<u64> = chunk
            .iter()
            .zip(shape)
            .map(|(&c, &n)| c.clamp(1, n.max(1)) as u64)
            .collect();
        let fill: zarrs::array::FillValue =
            with_tile!(Tile::new(dtype, 1), v => zarrs::array::FillValue::from(v[0]));
        let array = ArrayBuilder::new(
            shape.iter().map(|&n| n as u64).collect::<Vec<_>>(),
            chunk_shape,
            zarr_dtype(dtype),
            fill,
        )
        // zstd level 3 (zarr-python's default), no checksum.
        .bytes_to_bytes_codecs(vec![Arc::new(zarrs::array::codec::ZstdCodec::new(
            3, false,
        ))])
        .build(fs, &path)
        .map_err(|e| Error::Value(format!("cannot create the Zarr array {name}: {e}")))?;
        array
            .store_metadata()
            .map_err(|e| Error::io(format!("cannot write the metadata of {name}: {e}"), e))?;
        Ok(ZarrArray {
            array,
            store: store.to_path_buf(),
            node: absolute_node_dir(store, &path),
            component: path,
            dtype,
            shape: shape.to_vec(),
        })
    }

    /// The chunk shape of the array's (regular) grid.
    pub fn chunk_shape(&self) -> Vec<usize> {
        let zeros = vec![0u64; self.shape.len()];
        self.array
            .chunk_shape_usize(&zeros)
            .unwrap_or_else(|_| self.shape.clone())
    }
}

impl BlockSource for ZarrArray {
    fn shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn dtype(&self) -> DType {
        self.dtype
    }

    fn read(&self, start: &[usize], shape: &[usize]) -> Result<Tile> {
        let subset = ranges(start, shape);
        let fail = |e: zarrs::array::ArrayError| {
            Error::io(
                format!(
                    "cannot read the region at {} of shape {} of the Zarr array {}{}: {e}",
                    fmt_shape(start),
                    fmt_shape(shape),
                    ZarrArray::describe(&self.store, &self.component),
                    self.chunk_keys(&subset)
                ),
                e,
            )
        };
        let opts = serial();
        macro_rules! get {
            ($v:ident, $t:ty) => {
                Tile::$v(
                    self.array
                        .retrieve_array_subset_opt::<Vec<$t>>(&subset, &opts)
                        .map_err(fail)?,
                )
            };
        }
        Ok(match self.dtype {
            DType::Bool => get!(Bool, bool),
            DType::I8 => get!(I8, i8),
            DType::I16 => get!(I16, i16),
            DType::I32 => get!(I32, i32),
            DType::I64 => get!(I64, i64),
            DType::U8 => get!(U8, u8),
            DType::U16 => get!(U16, u16),
            DType::U32 => get!(U32, u32),
            DType::U64 => get!(U64, u64),
            DType::F32 => get!(F32, f32),
            DType::F64 => get!(F64, f64),
        })
    }
}

impl BlockSink for ZarrArray {
    fn write(&self, start: &[usize], shape: &[usize], block: &Tile) -> Result<()> {
        let subset = ranges(start, shape);
        let result = with_tile!(block, v => self.array.store_array_subset_opt(&subset, v.as_slice(), &serial()));
        result.map_err(|e| {
            Error::io(
                format!(
                    "cannot write the block at {} of shape {} to the Zarr array {}{}: {e}",
                    fmt_shape(start),
                    fmt_shape(shape),
                    ZarrArray::describe(&self.store, &self.component),
                    self.chunk_keys(&subset)
                ),
                e,
            )
        })
    }

    fn name(&self) -> String {
        ZarrArray::describe(&self.store, &self.component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_store_path_is_fixed_when_opened() {
        let dir = std::env::temp_dir().join(format!("brickwork-store-rel-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let z =
            ZarrArray::create(&dir.join("s.zarr"), None, &[3], DType::I64, &[3], false).unwrap();
        z.write(&[0], &[3], &Tile::I64(vec![1, 2, 3])).unwrap();
        // A relative path to the same store, from the working directory.
        let cwd = std::env::current_dir().unwrap();
        let up = cwd.components().count() - 1;
        let relative: PathBuf = std::iter::repeat_n("..", up)
            .collect::<PathBuf>()
            .join(dir.strip_prefix("/").unwrap())
            .join("s.zarr");
        let opened = ZarrArray::open(&relative, None).unwrap();
        assert!(opened.store.is_absolute());
        assert!(format!("{opened:?}").starts_with("ZarrArray(/"));
        let Tile::I64(v) = opened.read(&[0], &[3]).unwrap() else {
            panic!("not int64")
        };
        assert_eq!(v, vec![1, 2, 3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_names_the_absolute_directory_of_the_array() {
        let dir =
            std::env::temp_dir().join(format!("brickwork-store-debug-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = dir.join("s.zarr");
        ZarrArray::create(&store, Some("g/x"), &[4], DType::F64, &[2], false).unwrap();
        let opened = ZarrArray::open(&store, Some("/g/x/")).unwrap();
        assert_eq!(
            format!("{opened:?}"),
            format!("ZarrArray({})", store.join("g/x").display())
        );
        let root = ZarrArray::create(&dir.join("r.zarr"), None, &[1], DType::I8, &[1], false);
        assert_eq!(
            format!("{:?}", root.unwrap()),
            format!("ZarrArray({})", dir.join("r.zarr").display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
