//! SARIF 2.1.0, as GitHub code scanning and other dashboards read it.
//!
//! Findings point into the unpacked image, not the repository: each location's URI is the
//! path inside the extraction (base id `FWGATE_IMAGE_ROOT`), and `partialFingerprints` hold
//! fwgate's content-based fingerprint so a finding keeps its identity across builds.

use fwgate_scan::{Report, Severity};
use serde_json::{json, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://example.invalid/fwgate";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Percent-encodes what a URI reference cannot hold as is.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/@!$&'()*+,;=:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the SARIF log for `report`.
pub fn to_sarif(report: &Report) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let refs: String = r.references.iter().map(|x| format!("\n- {x}")).collect();
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.description.trim() },
                "help": {
                    "text": format!("{}\n\nWhy: {}\n\nFix: {}", r.description.trim(), r.rationale.trim(), r.remediation.trim()),
                    "markdown": format!("{}\n\n**Why it matters.** {}\n\n**How to fix.** {}\n\n**References**{}", r.description.trim(), r.rationale.trim(), r.remediation.trim(), refs),
                },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "security-severity": r.severity.score(),
                    "tags": ["security", "firmware", r.cwe],
                    "precision": "high",
                    "problem.severity": match r.severity { Severity::Critical | Severity::High => "error", Severity::Medium => "warning", _ => "recommendation" },
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = report.rules.iter().position(|r| r.id == f.rule_id);
            let mut physical = json!({
                "artifactLocation": { "uri": uri_path(&f.location.path), "uriBaseId": "FWGATE_IMAGE_ROOT" },
            });
            // A finding without a line is about the whole artifact (a binary, a mode).
            physical["region"] = match f.location.line {
                Some(line) => json!({ "startLine": line }),
                None => json!({ "byteOffset": 0, "byteLength": f.file_size.unwrap_or(0) }),
            };
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": { "text": format!("{} ({} in {})", f.message, f.location.inner_path, report.target.subject.name) },
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{ "fullyQualifiedName": format!("{}!{}", report.target.subject.name, f.location.inner_path), "kind": "member" }],
                }],
                "partialFingerprints": { "fwgateFingerprint/v1": f.fingerprint },
                "properties": {
                    "innerPath": f.location.inner_path,
                    "containerChain": f.location.formats,
                    "containerOffset": f.location.container_offset,
                    "evidence": f.evidence,
                    "fileSha256": f.file_sha256,
                },
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(a) = &f.advisory {
                result["properties"]["advisory"] = json!({
                    "id": a.id,
                    "aliases": a.aliases,
                    "severity": a.severity,
                    "cvss": a.cvss,
                    "fixed": a.fixed,
                    "certainty": a.certainty,
                    "reason": a.reason,
                    "component": a.component,
                    "version": a.version,
                    "purl": a.purl,
                });
            }
            if let Some(s) = &f.suppression {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": s.reason,
                    "location": { "physicalLocation": { "artifactLocation": { "uri": s.source.rsplit_once('#').map_or(s.source.as_str(), |(f, _)| f) } } },
                    "properties": { "owner": s.owner, "expires": s.expires, "entry": s.source },
                }]);
            }
            if let Some(b) = f.baseline {
                result["baselineState"] = json!(match b {
                    fwgate_scan::BaselineState::New => "new",
                    fwgate_scan::BaselineState::Unchanged => "unchanged",
                });
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let file = if p.file.is_empty() { "image".to_string() } else { p.file.clone() };
            let at = p.offset.map(|o| format!(" at offset {o:#x}")).unwrap_or_default();
            let format = p.format.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
            json!({ "level": "warning", "message": { "text": format!("{file}{format}{at}: {}", p.message) } })
        })
        .chain(report.notes.iter().map(|n| json!({ "level": "note", "message": { "text": n } })))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": INFO_URI,
                "rules": rules,
            }},
            "automationDetails": { "id": format!("fwgate/{}/", report.target.subject.name) },
            "originalUriBaseIds": { "FWGATE_IMAGE_ROOT": { "description": { "text": "Root of the unpacked firmware image" } } },
            "invocations": [{ "executionSuccessful": true, "toolExecutionNotifications": notifications }],
            "results": results,
            "properties": {
                "image": report.target.subject,
                "rulesetDigest": report.ruleset_digest,
                "complete": report.is_complete(),
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_escaped() {
        assert_eq!(
            uri_path("squashfs@0x20000/etc/shadow"),
            "squashfs@0x20000/etc/shadow"
        );
        assert_eq!(uri_path("a b/%c#"), "a%20b/%25c%23");
    }
}
