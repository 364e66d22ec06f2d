//! The sign crate's error type.

use std::path::PathBuf;

/// What can go wrong with keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key or signature file does not parse.
    #[error("{what}: {message}")]
    Format {
        /// Which file or object (`secret key`, `public key`, `signature`).
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The password does not decrypt the secret key (or the key is corrupt).
    #[error("wrong password, or the secret key file is corrupt (checksum mismatch)")]
    BadPassword,
    /// An encrypted key with an empty password (refused when making and when loading one).
    #[error("an empty password is refused: it would encrypt the key with nothing (use --unencrypted for a key kept in a secret store)")]
    EmptyPassword,
    /// The signature does not verify.
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// The signature was made by another key.
    #[error("signature is by key {sig}, not by the given public key {key}")]
    WrongKey {
        /// Key id in the signature.
        sig: String,
        /// Key id of the public key.
        key: String,
    },
    /// The file changed while it was being read for signing; nothing was signed.
    #[error("the file changed while it was being signed; nothing was signed")]
    Changed,
    /// The signing key was revoked.
    #[error("signature is by key {key}, which is revoked ({reason})")]
    Revoked {
        /// The key id.
        key: String,
        /// The reason in the revocation list.
        reason: String,
    },
    /// The signing key was rotated away before the signature was made.
    #[error("signature is by key {key}, rotated away to key {by} at {at}; signatures it makes after that are not trusted")]
    RotatedAway {
        /// The old key.
        key: String,
        /// The key that replaced it.
        by: String,
        /// When (RFC 3339).
        at: String,
    },
    /// The signature's trusted comment names another file.
    #[error("signature is for file '{signed}', not '{actual}'")]
    WrongFile {
        /// The name in the trusted comment.
        signed: String,
        /// The file checked.
        actual: String,
    },
    /// A legacy signature without `--allow-legacy`.
    #[error(
        "legacy (non-prehashed, minisign -Sl) signature refused; pass --allow-legacy to accept it"
    )]
    Legacy,
    /// A secret key file is readable by group or others.
    #[error("{0}: secret key is readable by group or others; run chmod 600 on it")]
    InsecurePermissions(PathBuf),
    /// File I/O.
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
    /// No randomness from the operating system.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = SignError> = std::result::Result<T, E>;

pub(crate) fn format(what: &'static str, message: impl Into<String>) -> SignError {
    SignError::Format {
        what,
        message: message.into(),
    }
}
