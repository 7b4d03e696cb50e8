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
    /// Reading or writing storage failed (OSError).
    #[error("{0}")]
    Io(String),
    /// A computation that would not fit the memory budget (a MemoryError subclass).
    #[error("{0}")]
    Memory(String),
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
