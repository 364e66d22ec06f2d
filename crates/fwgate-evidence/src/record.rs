//! Evidence records: one fact about one release, bound to the image's digest.

use fwgate_scan::{Report, Tool};
use fwgate_unpack::Subject;
use serde::{Deserialize, Serialize};

/// Schema id of [`EvidenceRecord`].
pub const RECORD_SCHEMA: &str = "fwgate.evidence/v1";

/// What kind of evidence a record is. Each kind satisfies one requirement of the catalog.
///
/// Adding a kind: a variant here, its requirement in [`EvidenceKind::requirement`], and a
/// constructor that builds the record from whatever produces the evidence.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// An fwgate scan of the release image (automated static analysis).
    StaticAnalysis,
}

impl EvidenceKind {
    /// The catalog requirement this kind of evidence satisfies.
    pub fn requirement(self) -> &'static str {
        match self {
            EvidenceKind::StaticAnalysis => "DL-3",
        }
    }
}

/// Whether the evidence shows the requirement met for this release.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Met.
    Pass,
    /// Performed, not met (e.g. findings above the threshold).
    Fail,
}

/// A file kept with the evidence (e.g. the scan report), by digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifact {
    /// What it is, e.g. `scan-report`.
    pub role: String,
    /// Path inside the evidence directory.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// One entry of the ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Always [`RECORD_SCHEMA`].
    pub schema: String,
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// SHA-256 of the previous record's line; `None` for the first.
    pub prev: Option<String>,
    /// Requirement id in the catalog.
    pub requirement: String,
    /// What kind of evidence.
    pub kind: EvidenceKind,
    /// Release version, as given to `--release`.
    pub release: String,
    /// The image the evidence is about.
    pub subject: Subject,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// The tool that produced it.
    pub tool: Tool,
    /// Met or not.
    pub outcome: Outcome,
    /// One line for people.
    pub summary: String,
    /// Kind-specific facts (counts, digests).
    pub details: serde_json::Value,
    /// Files kept with it.
    pub artifacts: Vec<Artifact>,
}

impl EvidenceRecord {
    /// DL-3 evidence from a scan of `subject`: pass when the gate's threshold is not reached
    /// and the image was examined completely.
    pub fn static_analysis(
        report: &Report,
        release: &str,
        passed: bool,
        policy: &crate::Policy,
        report_artifact: Artifact,
    ) -> EvidenceRecord {
        let fail_on = policy.fail_on.as_str();
        let accepted: Vec<&str> = report
            .problems
            .iter()
            .filter_map(|p| p.key.as_deref())
            .filter(|k| policy.accept.iter().any(|a| a == k))
            .collect();
        let counts: serde_json::Map<String, serde_json::Value> = report
            .counts()
            .into_iter()
            .map(|(s, n)| (s.to_string(), n.into()))
            .collect();
        let total = report.findings.len();
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: EvidenceKind::StaticAnalysis.requirement().into(),
            kind: EvidenceKind::StaticAnalysis,
            release: release.into(),
            subject: report.target.subject.clone(),
            recorded_at: String::new(),
            tool: report.tool.clone(),
            outcome: if passed { Outcome::Pass } else { Outcome::Fail },
            summary: format!(
                "fwgate scan of {}: {total} finding(s), {} rule(s), {}",
                report.target.subject.name,
                report.rules.len(),
                if report.is_complete() {
                    "image fully examined".to_string()
                } else {
                    format!("{} part(s) not examined", report.problems.len())
                }
            ),
            details: serde_json::json!({
                "ruleset_digest": report.ruleset_digest,
                "rules": report.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                "findings": counts,
                "fail_on": fail_on,
                "complete": report.is_complete(),
                "accepted_by_policy": accepted,
                "files_scanned": report.coverage.files_scanned,
                "formats": report.coverage.formats,
            }),
            artifacts: vec![report_artifact],
        }
    }
}
