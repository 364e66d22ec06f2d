//! The gate's verdict as in-toto Statements v1, for `IMAGE.intoto.jsonl`: a SLSA Verification
//! Summary Attestation (why the image was or was not released) and an in-toto Test Result
//! (which checks ran, passed and failed). The sign crate wraps each in a DSSE envelope.

use fwgate_scan::{Report, Severity};
use serde_json::{json, Value};

use crate::policy::{Policy, Verdict};
use crate::record::Artifact;

/// The in-toto Statement v1 type.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// SLSA Verification Summary Attestation v1.
pub const VSA_V1: &str = "https://slsa.dev/verification_summary/v1";
/// in-toto Test Result v0.1.
pub const TEST_RESULT_V01: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The levels fwgate can vouch for (SLSA reserves names starting `SLSA_`).
pub mod levels {
    /// Every part of the image was unpacked and read (or accepted by name).
    pub const FULLY_EXAMINED: &str = "FWGATE_IMAGE_FULLY_EXAMINED";
    /// No active finding at or above the policy's threshold; the threshold follows.
    pub const NO_FINDINGS_AT_OR_ABOVE: &str = "FWGATE_NO_FINDINGS_AT_OR_ABOVE_";
    /// The scan is recorded as DL-3 evidence in the hash-chained ledger.
    pub const DL3_RECORDED: &str = "FWGATE_DL3_EVIDENCE_RECORDED";
    /// Everything the release policy requires holds.
    pub const POLICY_MET: &str = "FWGATE_RELEASE_POLICY_MET";
}

/// What the statements describe.
#[derive(Debug, Clone)]
pub struct AttestationInput<'a> {
    /// The scan of the image.
    pub report: &'a Report,
    /// The policy it was judged by.
    pub policy: &'a Policy,
    /// The release verdict.
    pub verdict: &'a Verdict,
    /// Product name (for the resource URI).
    pub product: &'a str,
    /// Release version.
    pub release: &'a str,
    /// The stored scan report.
    pub report_artifact: &'a Artifact,
    /// The stored policy document.
    pub policy_artifact: &'a Artifact,
    /// When the gate judged the image.
    pub time: time::OffsetDateTime,
}

fn purl_part(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The release as a package URL: `pkg:generic/PRODUCT@RELEASE`.
pub fn resource_uri(product: &str, release: &str) -> String {
    format!("pkg:generic/{}@{}", purl_part(product), purl_part(release))
}

fn subject(report: &Report) -> Value {
    json!([{
        "name": report.target.subject.name,
        "digest": { "sha256": report.target.subject.sha256 },
    }])
}

fn descriptor(a: &Artifact) -> Value {
    json!({ "uri": a.path, "digest": { "sha256": a.sha256 } })
}

/// One check's outcome, for the test-result predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Passed,
    Warned,
    Failed,
}

/// Every check the gate ran, with its status: each rule (failed with an active finding at or
/// above the threshold, warned with one below it), and the completeness of unpacking.
fn checks(report: &Report, policy: &Policy) -> Vec<(String, Status)> {
    let mut out: Vec<(String, Status)> = report
        .rules
        .iter()
        .map(|r| {
            let active = report
                .findings
                .iter()
                .filter(|f| f.rule_id == r.id && f.is_active());
            let mut status = Status::Passed;
            for f in active {
                if f.severity >= policy.fail_on {
                    status = Status::Failed;
                    break;
                }
                status = Status::Warned;
            }
            (format!("{} {}", r.id, r.name), status)
        })
        .collect();
    let open = policy.open_problems(report).count();
    out.push((
        "fwgate/image-fully-examined".to_string(),
        match (open, policy.allow_incomplete) {
            (0, _) => Status::Passed,
            (_, true) => Status::Warned,
            (_, false) => Status::Failed,
        },
    ));
    out
}

fn severity_name(s: Severity) -> String {
    s.as_str().to_ascii_uppercase()
}

/// The two statements: the VSA first, then the test result.
pub fn statements(input: &AttestationInput<'_>) -> Vec<Value> {
    let report = input.report;
    let time = input
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let passed = input.verdict.passed();
    let mut verified = Vec::new();
    if input.policy.open_problems(report).count() == 0 {
        verified.push(levels::FULLY_EXAMINED.to_string());
    }
    if report.at_or_above(input.policy.fail_on).count() == 0 {
        verified.push(format!(
            "{}{}",
            levels::NO_FINDINGS_AT_OR_ABOVE,
            severity_name(input.policy.fail_on)
        ));
    }
    verified.push(levels::DL3_RECORDED.to_string());
    if passed {
        verified.push(levels::POLICY_MET.to_string());
    }
    let ruleset = json!({
        "uri": "rules/",
        "digest": { "sha256": report.ruleset_digest },
    });
    let vsa = json!({
        "_type": STATEMENT_V1,
        "subject": subject(report),
        "predicateType": VSA_V1,
        "predicate": {
            "verifier": {
                "id": env!("CARGO_PKG_REPOSITORY"),
                "version": { "fwgate": report.tool.version },
            },
            "timeVerified": time,
            "resourceUri": resource_uri(input.product, input.release),
            "policy": descriptor(input.policy_artifact),
            "inputAttestations": [descriptor(input.report_artifact), ruleset],
            "verificationResult": if passed { "PASSED" } else { "FAILED" },
            "verifiedLevels": verified,
        },
    });
    let checks = checks(report, input.policy);
    let names = |want: Status| -> Vec<&str> {
        checks
            .iter()
            .filter(|(_, s)| *s == want)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let result = if checks.iter().any(|(_, s)| *s == Status::Failed) {
        "FAILED"
    } else if checks.iter().any(|(_, s)| *s == Status::Warned) {
        "WARNED"
    } else {
        "PASSED"
    };
    let tests = json!({
        "_type": STATEMENT_V1,
        "subject": subject(report),
        "predicateType": TEST_RESULT_V01,
        "predicate": {
            "result": result,
            "configuration": [
                descriptor(input.policy_artifact),
                ruleset,
            ],
            "passedTests": names(Status::Passed),
            "warnedTests": names(Status::Warned),
            "failedTests": names(Status::Failed),
        },
    });
    vec![vsa, tests]
}
