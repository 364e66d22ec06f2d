//! Findings and the scan report.

use std::collections::BTreeMap;

use fwgate_unpack::{Problem, Subject};
use serde::{Deserialize, Serialize};

use crate::rule::RuleMeta;
use crate::Severity;

/// Schema id of [`Report`].
pub const REPORT_SCHEMA: &str = "fwgate.report/v1";

/// What a matcher saw in one file; the scanner turns it into a [`Finding`].
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based line, for text files.
    pub line: Option<u32>,
    /// A sentence for the reader; never holds a secret.
    pub message: String,
    /// A short excerpt, already redacted where the rule says so.
    pub evidence: Option<String>,
    /// Bytes that identify the hit; hashed into the fingerprint, never printed.
    pub digest_of: Vec<u8>,
}

/// What a matcher reports for one file: its hits, and notes on work it declined to do
/// (which become problems in the report, so an unchecked part is never silent).
#[derive(Debug, Default)]
pub struct Matches {
    /// What was found.
    pub hits: Vec<Hit>,
    /// What was not checked, and why.
    pub skipped: Vec<String>,
}

/// Where a finding is inside the image.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Location {
    /// Path relative to the extraction root, e.g. `squashfs@0x20000/etc/shadow`.
    pub path: String,
    /// Path inside its file system as the device sees it, e.g. `/etc/shadow`, after the
    /// image's own symlinks.
    pub inner_path: String,
    /// Where the file is stored, when that differs from `inner_path` (the path reached it
    /// through a symlink), e.g. `/var/etc/shadow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_path: Option<String>,
    /// The chain of containers, outermost first, e.g. `["squashfs"]`.
    pub formats: Vec<String>,
    /// Offset of the innermost container in its parent file.
    pub container_offset: u64,
    /// 1-based line, when meaningful.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// One result of one rule in one place.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// Severity (the rule's).
    pub severity: Severity,
    /// What was found, in a sentence; never holds a secret.
    pub message: String,
    /// Where.
    pub location: Location,
    /// A short redacted excerpt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// SHA-256 of rule id, inner path and the matched bytes: stable across rebuilds that do
    /// not change the finding, usable as SARIF `partialFingerprints`.
    pub fingerprint: String,
    /// SHA-256 of the whole file the finding is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// Size of that file in bytes (a finding without a line is about the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Set when a suppression in force covers the finding: it is reported, but does not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<crate::suppress::Suppression>,
    /// Set when the scan ran against a baseline; `unchanged` findings do not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::suppress::BaselineState>,
    /// For a vulnerability finding: the advisory (id, aliases, severity, fixed version,
    /// certainty) and the evidence that identified the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<Box<crate::components::advisory::Match>>,
}

impl Finding {
    /// True when the finding counts for the gate: not suppressed, not in the baseline.
    pub fn is_active(&self) -> bool {
        self.suppression.is_none()
            && self.baseline != Some(crate::suppress::BaselineState::Unchanged)
    }
}

/// Whether the scan target was an image or an already-extracted directory.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A firmware image, unpacked by fwgate.
    Image,
    /// A directory scanned as it is.
    Directory,
}

/// What was scanned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Target {
    /// Image or directory.
    pub kind: TargetKind,
    /// Name, size and digest (for a directory: its name only, size 0, empty digest).
    #[serde(flatten)]
    pub subject: Subject,
}

/// Counts that show how much of the target was looked at.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Coverage {
    /// Nodes in the extracted tree.
    pub nodes: u64,
    /// Regular files read by at least one rule.
    pub files_scanned: u64,
    /// Bytes read by rules.
    pub bytes_scanned: u64,
    /// Formats met while unpacking, with how many containers of each.
    pub formats: BTreeMap<String, u64>,
}

/// The result of a scan: what ran on what, and what it found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// `fwgate` and its version.
    pub tool: Tool,
    /// What was scanned.
    pub target: Target,
    /// SHA-256 that pins the rule files used.
    pub ruleset_digest: String,
    /// The rules that ran.
    pub rules: Vec<RuleMeta>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Parts of the target that could not be unpacked or read.
    pub problems: Vec<Problem>,
    /// Remarks on how the report was judged (expired suppressions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How much was looked at.
    pub coverage: Coverage,
    /// Third-party components identified, with their evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<crate::components::Component>,
    /// The advisory store the components were matched against, when an advisory rule ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<AdvisoryStore>,
}

/// Which advisories a scan matched against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AdvisoryStore {
    /// Number of OSV records.
    pub records: usize,
    /// [`crate::components::advisory::Store::digest`].
    pub digest: String,
}

/// The producing tool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tool {
    /// `fwgate`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Tool {
    /// This build of fwgate.
    pub fn current() -> Tool {
        Tool {
            name: "fwgate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Report {
    /// Number of findings at each severity.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        m
    }

    /// Active findings (not suppressed, not in the baseline) at or above `threshold`.
    pub fn at_or_above(&self, threshold: Severity) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| f.severity >= threshold && f.is_active())
    }

    /// True when every part of the target was unpacked and read.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// The rule description for a finding.
    pub fn rule(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.id == id)
    }
}
