//! The scan crate's error type.

use std::path::PathBuf;

/// What can go wrong loading rules or running a scan.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A rule or data file is invalid; `location` is `file` or `file:line:column`.
    #[error("{location}: {message}")]
    Rule {
        /// Where the problem is.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A rule's own test cases do not give the expected result.
    #[error("{rule}: test case {case} expected {expected}, got {got}")]
    RuleTest {
        /// Rule id.
        rule: String,
        /// Test case index or name.
        case: String,
        /// "a match" / "no match".
        expected: &'static str,
        /// What happened.
        got: String,
    },
    /// Reading a file failed.
    #[error("{path}: {op}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Extraction of the image failed before anything could be scanned.
    #[error("unpacking failed")]
    Unpack(#[from] fwgate_unpack::UnpackError),
}

/// Shorthand for results in this crate.
pub type Result<T, E = ScanError> = std::result::Result<T, E>;
