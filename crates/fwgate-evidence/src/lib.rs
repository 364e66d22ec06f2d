//! Pre-release evidence for the FTC's order against D-Link: the requirement catalog, evidence
//! records bound to the image digest, the hash-chained ledger that keeps them, and the gate
//! policy that decides whether a release may be signed.
#![forbid(unsafe_code)]

pub mod attest;
pub mod bundle;
mod catalog;
pub mod checkpoint;
mod ledger;
mod policy;
pub mod program;
mod record;

use std::path::PathBuf;

pub use catalog::{
    catalog, catalog_by_id, catalog_source, catalogs, requirement, Catalog, CatalogMeta,
    Requirement, EVIDENCE_KINDS,
};
pub use ledger::{parse_ledger, Ledger, Verification};
pub use policy::{Policy, Verdict, POLICY_SCHEMA};
pub use record::{Artifact, Attachment, EvidenceKind, EvidenceRecord, Outcome, RECORD_SCHEMA};

/// What can go wrong with evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The ledger is unreadable or its chain is broken.
    #[error("ledger.jsonl line {line}: {message}")]
    Ledger {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The catalog is invalid or lacks a requirement.
    #[error("catalog: {0}")]
    Catalog(String),
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
}

/// Shorthand for results in this crate.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;
