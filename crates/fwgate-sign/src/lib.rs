//! Release signing with Ed25519 that standard verifiers check:
//!
//! - minisign signatures (`minisign -V`), prehashed with a signed trusted comment, and legacy
//!   ones when asked;
//! - raw Ed25519 signatures over the image (`openssl pkeyutl -verify -rawin`), with the public
//!   key as SPKI PEM and the secret key as encrypted PKCS#8 for OpenSSL, HSMs and servers;
//! - DSSE envelopes of in-toto Statements (the gate's verdict, for securesystemslib and
//!   sigstore's verifiers);
//! - a key life cycle of rotations and a signed revocation list, followed from a pinned key.
//!
//! minisign's formats are small and fixed, and the `minisign` crate carries its own Ed25519;
//! this crate writes them over `ed25519-dalek` (strict verification, weak keys refused) with
//! `scrypt` and `blake2`, and is tested against the real `minisign` and `openssl` CLIs.
#![forbid(unsafe_code)]

mod digest;
pub mod dsse;
mod error;
mod files;
mod kdf;
mod key;
mod minisig;
pub mod pem;
pub mod raw;
pub mod release;
pub mod trust;

pub use digest::{Algorithms, FileDigests};
pub use error::{Result, SignError};
pub use files::{read_secret, write_atomic, write_new};
pub use key::{KeyId, PublicKey, SecretKey};
pub use minisig::{sign, verify, Minisig, Verified};
pub use zeroize::Zeroizing;
