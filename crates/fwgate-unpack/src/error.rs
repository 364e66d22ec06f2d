//! The unpack crate's error type.

use std::path::PathBuf;

/// Everything that can stop an extraction or a part of one.
///
/// Errors that concern a region of a file name the file, the format and the byte offset, so
/// that a user can open the image in a hex editor and look.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Reading or writing a file failed.
    #[error("{path}: {op}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A container's bytes do not parse.
    #[error("{file}: {format} at offset {offset:#x}: {message}")]
    Malformed {
        /// The file (relative to the output root, or the image itself) that holds the region.
        file: String,
        /// Handler id of the format.
        format: &'static str,
        /// Byte offset of the container inside `file`.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// An entry's path would leave the output directory, or pass through a link.
    #[error("refused to write {path:?}: {reason}")]
    Escape {
        /// The path as the container spelled it.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A configured bound was reached; extraction of the affected part stopped.
    #[error("limit reached: {0}")]
    Limit(String),
    /// The output directory exists and is not empty.
    #[error("output directory {0} exists and is not empty")]
    OutputNotEmpty(PathBuf),
}

impl UnpackError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        UnpackError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// Formats an error with all its causes, `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Shorthand for results in this crate.
pub type Result<T, E = UnpackError> = std::result::Result<T, E>;
