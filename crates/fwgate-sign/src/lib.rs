//! Release signing with Ed25519 in minisign's formats, so that `minisign -V` verifies what
//! fwgate signs, and fwgate uses keys `minisign -G` makes.
//!
//! minisign's formats are small and fixed, and the `minisign` crate carries its own Ed25519;
//! this crate writes them over `ed25519-dalek` (strict verification, weak keys refused) with
//! `scrypt` and `blake2`, and is tested against the real `minisign` CLI.
#![forbid(unsafe_code)]

mod error;
mod files;
mod kdf;
mod key;
mod minisig;

pub use error::{Result, SignError};
pub use files::{read_secret, write_new};
pub use key::{KeyId, PublicKey, SecretKey};
pub use minisig::{sign, verify, FileDigests, Verified};
pub use zeroize::Zeroizing;
