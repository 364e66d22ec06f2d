//! Signed checkpoints of the ledger's head.
//!
//! The hash chain alone is unkeyed: whoever can write the ledger can edit a record and
//! recompute every digest after it. So at every append made with a key, the gate signs the
//! new head — the record's sequence number, the SHA-256 of its line and the digest of the
//! checkpoint before — as a DSSE envelope (payload type [`CHECKPOINT_PAYLOAD_TYPE`]) and
//! appends it to `checkpoints.jsonl`. Verification with the public key then names any record
//! edited, removed, inserted, reordered or truncated after it was checkpointed, and any
//! record appended without a checkpoint. Checkpoints chain too, so one removed from the
//! middle is named.

use serde::{Deserialize, Serialize};

/// DSSE payload type of a checkpoint.
pub const CHECKPOINT_PAYLOAD_TYPE: &str = "application/vnd.fwgate.ledger-checkpoint.v1+json";
/// Schema id in the payload.
pub const CHECKPOINT_SCHEMA: &str = "fwgate.ledger-checkpoint/v1";
/// The checkpoints file inside an evidence directory.
pub const CHECKPOINTS: &str = "checkpoints.jsonl";

/// What a checkpoint signs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_SCHEMA`].
    pub schema: String,
    /// The ledger's length at the checkpoint: the last record covered.
    pub seq: u64,
    /// SHA-256 of that record's line (which chains every record before it).
    pub head: String,
    /// SHA-256 of the previous checkpoint's line; `None` for the first.
    pub prev: Option<String>,
    /// When it was signed (RFC 3339, UTC).
    pub signed_at: String,
}
