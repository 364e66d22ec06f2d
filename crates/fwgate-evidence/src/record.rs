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
    /// The same scan's matching of the image's components against the advisory store.
    VulnerabilityScan,
    /// A document or another tool's output attached with `fwgate evidence add`; its evidence
    /// kind (threat model, pen-test report, …) is in `details.kind`.
    Attached,
    /// Findings fixed since the previous release's scan, and those suppressed (reason,
    /// owner, expiry): the remediation record.
    Remediation,
    /// The released image's signature and attestation.
    Signature,
    /// The image's CycloneDX SBOM.
    Sbom,
}

impl EvidenceKind {
    /// The D-Link requirement the gate records this kind of evidence for.
    pub fn requirement(self) -> &'static str {
        match self {
            EvidenceKind::StaticAnalysis => "DL-3",
            EvidenceKind::VulnerabilityScan => "DL-4",
            EvidenceKind::Remediation => "DL-6",
            EvidenceKind::Signature => "DL-9",
            EvidenceKind::Sbom => "CRA-I-2.1",
            EvidenceKind::Attached => "",
        }
    }

    /// The catalogs' evidence kind (see [`crate::catalog::EVIDENCE_KINDS`]) of a record.
    pub fn evidence_kind(record: &EvidenceRecord) -> &str {
        match record.kind {
            EvidenceKind::StaticAnalysis => "static-analysis",
            EvidenceKind::VulnerabilityScan => "vulnerability-scan",
            EvidenceKind::Remediation => "remediation-record",
            EvidenceKind::Signature => "signature",
            EvidenceKind::Sbom => "sbom",
            EvidenceKind::Attached => record.details["kind"].as_str().unwrap_or("other"),
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

    /// DL-4 evidence from the same scan: the advisory matches of the image's components
    /// (the vulnerability findings); pass when none is at or above the gate's threshold.
    pub fn vulnerability_scan(
        report: &Report,
        release: &str,
        policy: &crate::Policy,
        report_artifact: Artifact,
    ) -> EvidenceRecord {
        let vulns: Vec<&fwgate_scan::Finding> = report
            .findings
            .iter()
            .filter(|f| f.advisory.is_some())
            .collect();
        let blocking = vulns
            .iter()
            .filter(|f| f.severity >= policy.fail_on && f.is_active())
            .count();
        let ids: Vec<String> = vulns
            .iter()
            .filter_map(|f| f.advisory.as_ref().map(|a| a.id.clone()))
            .collect();
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: EvidenceKind::VulnerabilityScan.requirement().into(),
            kind: EvidenceKind::VulnerabilityScan,
            release: release.into(),
            subject: report.target.subject.clone(),
            recorded_at: String::new(),
            tool: report.tool.clone(),
            outcome: if blocking == 0 {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            summary: format!(
                "{} component(s) matched against {} advisories: {} match(es), {blocking} at or above {}",
                report.components.len(),
                report.advisories.as_ref().map_or(0, |a| a.records),
                vulns.len(),
                policy.fail_on
            ),
            details: serde_json::json!({
                "components": report.components.len(),
                "advisories": report.advisories,
                "matches": ids,
                "blocking": blocking,
                "fail_on": policy.fail_on.as_str(),
            }),
            artifacts: vec![report_artifact],
        }
    }

    /// DL-6 evidence: what changed since `previous` (the latest scan of another release in
    /// the ledger, with its report), and every suppressed finding with its reason, owner and
    /// expiry. Always a pass: it records remediation, the scan judges it.
    pub fn remediation(
        report: &Report,
        release: &str,
        previous: Option<(&EvidenceRecord, &Report)>,
        report_artifact: Artifact,
    ) -> EvidenceRecord {
        let now: std::collections::BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.fingerprint.as_str())
            .collect();
        let brief = |f: &fwgate_scan::Finding| {
            serde_json::json!({
                "rule": f.rule_id,
                "path": f.location.inner_path,
                "severity": f.severity.as_str(),
                "fingerprint": f.fingerprint,
            })
        };
        let (fixed, new, prev) = match previous {
            Some((rec, old)) => {
                let before: std::collections::BTreeSet<&str> = old
                    .findings
                    .iter()
                    .map(|f| f.fingerprint.as_str())
                    .collect();
                let fixed: Vec<serde_json::Value> = old
                    .findings
                    .iter()
                    .filter(|f| !now.contains(f.fingerprint.as_str()))
                    .map(brief)
                    .collect();
                let new: Vec<serde_json::Value> = report
                    .findings
                    .iter()
                    .filter(|f| !before.contains(f.fingerprint.as_str()))
                    .map(brief)
                    .collect();
                let prev = serde_json::json!({
                    "release": rec.release,
                    "record": rec.seq,
                    "sha256": rec.subject.sha256,
                });
                (fixed, new, Some(prev))
            }
            None => (Vec::new(), Vec::new(), None),
        };
        let suppressed: Vec<serde_json::Value> = report
            .findings
            .iter()
            .filter_map(|f| {
                f.suppression.as_ref().map(|s| {
                    let mut v = brief(f);
                    v["reason"] = s.reason.clone().into();
                    v["owner"] = s.owner.clone().into();
                    v["expires"] = s.expires.clone().into();
                    v
                })
            })
            .collect();
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: EvidenceKind::Remediation.requirement().into(),
            kind: EvidenceKind::Remediation,
            release: release.into(),
            subject: report.target.subject.clone(),
            recorded_at: String::new(),
            tool: report.tool.clone(),
            outcome: Outcome::Pass,
            summary: match &prev {
                Some(p) => format!(
                    "since release {}: {} finding(s) fixed, {} new; {} suppressed with reason, owner and expiry",
                    p["release"].as_str().unwrap_or("?"),
                    fixed.len(),
                    new.len(),
                    suppressed.len()
                ),
                None => format!(
                    "first release in the ledger; {} suppressed finding(s) with reason, owner and expiry",
                    suppressed.len()
                ),
            },
            details: serde_json::json!({
                "previous": prev,
                "fixed": fixed,
                "new": new,
                "suppressed": suppressed,
            }),
            artifacts: vec![report_artifact],
        }
    }

    /// The image's SBOM (CRA Annex I Part II (1)), kept by digest.
    pub fn sbom(report: &Report, release: &str, artifact: Artifact) -> EvidenceRecord {
        let unknown = report
            .components
            .iter()
            .filter(|c| c.version.is_none())
            .count();
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: EvidenceKind::Sbom.requirement().into(),
            kind: EvidenceKind::Sbom,
            release: release.into(),
            subject: report.target.subject.clone(),
            recorded_at: String::new(),
            tool: report.tool.clone(),
            outcome: Outcome::Pass,
            summary: format!(
                "CycloneDX 1.6 SBOM of {}: {} component(s), {unknown} with an unknown version",
                report.target.subject.name,
                report.components.len()
            ),
            details: serde_json::json!({
                "components": report.components.len(),
                "unknown_versions": unknown,
                "format": "CycloneDX 1.6",
            }),
            artifacts: vec![artifact],
        }
    }

    /// DL-9 evidence: the released image's signature and attestation, kept by digest.
    pub fn signature(
        report: &Report,
        release: &str,
        key_id: &str,
        artifacts: Vec<Artifact>,
    ) -> EvidenceRecord {
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: EvidenceKind::Signature.requirement().into(),
            kind: EvidenceKind::Signature,
            release: release.into(),
            subject: report.target.subject.clone(),
            recorded_at: String::new(),
            tool: report.tool.clone(),
            outcome: Outcome::Pass,
            summary: format!(
                "{} signed by key {key_id} after a passing gate ({})",
                report.target.subject.name,
                artifacts
                    .iter()
                    .map(|a| a.role.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            details: serde_json::json!({ "key": key_id }),
            artifacts,
        }
    }

    /// A document attached to `requirement` for `release` (`fwgate evidence add`).
    pub fn attached(
        requirement: &str,
        release: &str,
        a: &Attachment,
        artifact: Artifact,
    ) -> EvidenceRecord {
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: requirement.into(),
            kind: EvidenceKind::Attached,
            release: release.into(),
            subject: Subject {
                name: a.file_name.clone(),
                size: a.size,
                sha256: artifact.sha256.clone(),
            },
            recorded_at: String::new(),
            tool: Tool::current(),
            outcome: Outcome::Pass,
            summary: format!("{} {} by {} ({})", a.kind, a.file_name, a.by, a.date),
            details: serde_json::json!({
                "kind": a.kind,
                "file": a.file_name,
                "by": a.by,
                "date": a.date,
                "published": a.published,
                "ends": a.ends,
                "note": a.note,
            }),
            artifacts: vec![artifact],
        }
    }
}

/// What `fwgate evidence add` says about an attached document.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Evidence kind ([`crate::catalog::EVIDENCE_KINDS`]).
    pub kind: String,
    /// The file's name as given.
    pub file_name: String,
    /// Its size.
    pub size: u64,
    /// Who vouches for it.
    pub by: String,
    /// The date the evidence is of (`YYYY-MM-DD`): the review, the test, the training.
    pub date: String,
    /// For a notice: when it was published (`YYYY-MM-DD`).
    pub published: Option<String>,
    /// For a support period or an end-of-support notice: when support ends (`YYYY-MM` or
    /// `YYYY-MM-DD`).
    pub ends: Option<String>,
    /// A remark.
    pub note: Option<String>,
}
