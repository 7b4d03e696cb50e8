//! The one error type of the engine, with semantic kinds that map to Python exceptions.

/// A result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by kind. Each kind maps to one Python exception class
/// (see brickwork-python): messages name the offending value and what was expected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Operand shapes cannot be combined (ValueError).
    #[error("{0}")]
    ShapeMismatch(String),
    /// An axis outside `-ndim..ndim` (numpy.exceptions.AxisError).
    #[error("axis {axis} is out of bounds for array of dimension {ndim}")]
    Axis {
        /// The axis given.
        axis: i64,
        /// The number of dimensions of the array.
        ndim: usize,
    },
    /// A chunk specification that does not fit the shape (ValueError).
    #[error("{0}")]
    Chunks(String),
    /// An unsupported dtype, or an operation not defined for a dtype (TypeError).
    #[error("{0}")]
    Type(String),
    /// An index out of range (IndexError).
    #[error("{0}")]
    Index(String),
    /// A Python integer that does not fit the dtype (OverflowError).
    #[error("{0}")]
    Overflow(String),
    /// Any other invalid argument value (ValueError).
    #[error("{0}")]
    Value(String),
    /// A file or store that does not exist (FileNotFoundError).
    #[error("{0}")]
    NotFound(String),
    /// Reading or writing storage failed (OSError; the matching subclass, such as
    /// PermissionError, when an OS error number is found among the sources).
    #[error("{message}")]
    Io {
        /// What failed, naming the file or store.
        message: String,
        /// The underlying error, when there is one.
        source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// A computation that would not fit the memory budget (a MemoryError subclass).
    #[error("{0}")]
    Memory(String),
    /// Memory could not be allocated, such as a block of the process pool's shared
    /// memory (MemoryError).
    #[error("{0}")]
    OutOfMemory(String),
    /// The computation was cancelled (KeyboardInterrupt when it came from Ctrl-C).
    #[error("computation cancelled")]
    Cancelled,
    /// An error raised by user code inside a task (a Python block function's
    /// exception), carried with the computation's result so that the caller re-raises
    /// the original error, never another computation's.
    #[error("{message}")]
    External {
        /// What failed, for callers that cannot use `source`.
        message: String,
        /// The user code's own error.
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A bug: an invariant of the engine did not hold (RuntimeError).
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Io`] that keeps the error it comes from.
    pub fn io(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Io {
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// An [`Error::Io`] without an underlying error.
    pub fn io_message(message: impl Into<String>) -> Error {
        Error::Io {
            message: message.into(),
            source: None,
        }
    }

    /// The OS error number among this error's sources, if any.
    pub fn os_error(&self) -> Option<i32> {
        let Error::Io {
            source: Some(source),
            ..
        } = self
        else {
            return None;
        };
        let mut e: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
        while let Some(err) = e {
            if let Some(code) = err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.raw_os_error())
            {
                return Some(code);
            }
            e = err.source();
        }
        None
    }
}

/// Return early with an [`Error`] of the given kind built from a format string.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}

/// Return early with an [`Error`] of the given kind unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $kind:ident, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($kind, $($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_their_source_and_os_error_number() {
        let e = Error::io(
            "cannot open x",
            std::io::Error::from_raw_os_error(13), // EACCES
        );
        assert_eq!(e.os_error(), Some(13));
        assert_eq!(e.to_string(), "cannot open x");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(Error::io_message("no source").os_error(), None);
    }
}
