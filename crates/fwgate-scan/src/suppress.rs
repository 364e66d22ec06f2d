//! Suppressions and baselines: findings a team has reviewed stay in the report, marked, and
//! stop failing the gate — until the suppression expires.
//!
//! A suppressions file (TOML) lists entries with the rule, a glob over the device path, an
//! optional evidence hash (the finding's fingerprint or the file's sha256), a reason, an owner
//! and an expiry date. All but `path` and `evidence` are required: a suppression no one owns
//! or that never expires is not a review. An expired entry suppresses nothing and says so in
//! the report. A baseline is an earlier fwgate JSON report: findings whose fingerprint it
//! holds are `unchanged` and do not fail; the rest are `new`.

use std::collections::BTreeSet;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::finding::Report;
use crate::{Result, ScanError};

/// The suppressions file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "suppress")]
    entries: Vec<Entry>,
}

/// One suppression as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    rule: String,
    #[serde(default = "any_path")]
    path: String,
    #[serde(default)]
    evidence: Option<String>,
    reason: String,
    owner: String,
    expires: toml::value::Datetime,
}

fn any_path() -> String {
    "**".into()
}

/// Why a finding does not fail the gate, recorded on the finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Suppression {
    /// Why it was accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// Last day it applies (`YYYY-MM-DD`).
    pub expires: String,
    /// The suppressions file and entry number (1-based).
    pub source: String,
}

/// A finding's state against a baseline report.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// Not in the baseline: fails the gate as usual.
    New,
    /// Already in the baseline: reported, does not fail.
    Unchanged,
}

/// A loaded suppressions file.
#[derive(Debug)]
pub struct Suppressions {
    origin: String,
    entries: Vec<(Entry, GlobMatcher, (i32, u8, u8))>,
}

fn ymd(d: &toml::value::Datetime) -> Option<(i32, u8, u8)> {
    let date = d.date?;
    if d.time.is_some() {
        return None;
    }
    Some((i32::from(date.year), date.month, date.day))
}

impl Suppressions {
    /// Parses a suppressions file; errors name the file, the line and the entry.
    pub fn parse(text: &str, origin: &str) -> Result<Suppressions> {
        let err = |message: String| ScanError::Rule {
            location: origin.to_string(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
            ScanError::Rule {
                location: match line {
                    Some(l) => format!("{origin}:{l}"),
                    None => origin.to_string(),
                },
                message: e.message().to_string(),
            }
        })?;
        let mut entries = Vec::new();
        for (i, e) in file.entries.into_iter().enumerate() {
            let at = format!("[[suppress]] #{}", i + 1);
            for (field, v) in [
                ("rule", &e.rule),
                ("reason", &e.reason),
                ("owner", &e.owner),
            ] {
                if v.trim().is_empty() {
                    return Err(err(format!("{at}: {field} is empty")));
                }
            }
            let date = ymd(&e.expires)
                .ok_or_else(|| err(format!("{at}: expires must be a date (YYYY-MM-DD)")))?;
            let glob = Glob::new(e.path.trim_start_matches('/'))
                .map_err(|x| err(format!("{at}: path: {x}")))?
                .compile_matcher();
            entries.push((e, glob, date));
        }
        Ok(Suppressions {
            origin: origin.to_string(),
            entries,
        })
    }

    /// Loads a suppressions file.
    pub fn load(path: &Path) -> Result<Suppressions> {
        let text = std::fs::read_to_string(path).map_err(|e| ScanError::Io {
            path: path.to_path_buf(),
            op: "read",
            source: e,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Marks the findings of `report` that an entry in force on `today` covers, and notes
    /// each expired entry in the report.
    pub fn apply(&self, report: &mut Report, today: (i32, u8, u8)) {
        for (i, (e, glob, expires)) in self.entries.iter().enumerate() {
            let source = format!("{}#{}", self.origin, i + 1);
            let covers = |f: &crate::Finding| {
                f.rule_id == e.rule
                    && glob.is_match(f.location.inner_path.trim_start_matches('/'))
                    && e.evidence.as_deref().is_none_or(|h| {
                        let h = h.trim_start_matches("sha256:");
                        f.fingerprint == h || f.file_sha256.as_deref() == Some(h)
                    })
            };
            let matched = report.findings.iter().filter(|f| covers(f)).count();
            if today > *expires {
                if matched > 0 {
                    report.notes.push(format!(
                        "suppression {source} ({}: {}) expired on {}: its {matched} finding(s) count again",
                        e.rule, e.reason, e.expires
                    ));
                }
                continue;
            }
            for f in report.findings.iter_mut().filter(|f| covers(f)) {
                if f.suppression.is_none() {
                    f.suppression = Some(Suppression {
                        reason: e.reason.clone(),
                        owner: e.owner.clone(),
                        expires: e.expires.to_string(),
                        source: source.clone(),
                    });
                }
            }
        }
    }
}

/// Marks each finding `new` or `unchanged` against the fingerprints of a `baseline` report.
pub fn apply_baseline(report: &mut Report, baseline: &Report) {
    let known: BTreeSet<&str> = baseline
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    for f in &mut report.findings {
        f.baseline = Some(if known.contains(f.fingerprint.as_str()) {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        });
    }
}

/// Loads a baseline: an fwgate JSON report.
pub fn load_baseline(path: &Path) -> Result<Report> {
    let bytes = std::fs::read(path).map_err(|e| ScanError::Io {
        path: path.to_path_buf(),
        op: "read",
        source: e,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ScanError::Rule {
        location: format!("{}:{}", path.display(), e.line()),
        message: format!("not an fwgate JSON report: {e}"),
    })
}

/// Today's date in UTC.
pub fn today() -> (i32, u8, u8) {
    let d = time::OffsetDateTime::now_utc().date();
    (d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Coverage, Finding, Location, Target, TargetKind, Tool};

    fn finding(rule: &str, path: &str, fp: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            severity: crate::Severity::High,
            message: "m".into(),
            location: Location {
                path: format!("squashfs@0x0{path}"),
                inner_path: path.into(),
                stored_path: None,
                formats: vec![],
                container_offset: 0,
                line: None,
            },
            evidence: None,
            fingerprint: fp.into(),
            file_sha256: Some("f".repeat(64)),
            file_size: None,
            suppression: None,
            baseline: None,
            advisory: None,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            schema: String::new(),
            tool: Tool::current(),
            target: Target {
                kind: TargetKind::Directory,
                subject: fwgate_unpack::Subject {
                    name: "x".into(),
                    size: 0,
                    sha256: String::new(),
                },
            },
            ruleset_digest: String::new(),
            rules: vec![],
            findings,
            problems: vec![],
            notes: vec![],
            coverage: Coverage::default(),
            components: Vec::new(),
            advisories: None,
        }
    }

    const FILE: &str = r#"
[[suppress]]
rule = "FWG-FS-001"
path = "/usr/bin/*"
reason = "reviewed: needs set-uid"
owner = "platform@acme.example"
expires = 2027-06-30

[[suppress]]
rule = "FWG-SVC-001"
reason = "lab build only"
owner = "qa@acme.example"
expires = 2026-01-31
"#;

    #[test]
    fn entries_in_force_suppress_and_expired_ones_say_so() {
        let s = Suppressions::parse(FILE, "supp.toml").unwrap();
        let mut r = report(vec![
            finding("FWG-FS-001", "/usr/bin/passwd", "a"),
            finding("FWG-FS-001", "/bin/su", "b"),
            finding("FWG-SVC-001", "/etc/init.d/rcS", "c"),
        ]);
        s.apply(&mut r, (2026, 12, 1));
        assert!(r.findings[0].suppression.is_some());
        assert!(r.findings[1].suppression.is_none(), "path glob");
        assert!(r.findings[2].suppression.is_none(), "expired");
        assert_eq!(r.notes.len(), 1);
        assert!(
            r.notes[0].contains("expired on 2026-01-31"),
            "{:?}",
            r.notes
        );
        assert_eq!(r.at_or_above(crate::Severity::High).count(), 2);
    }

    #[test]
    fn required_fields_and_dates() {
        let no_owner = "[[suppress]]\nrule = \"X\"\nreason = \"r\"\nexpires = 2027-01-01\n";
        let e = Suppressions::parse(no_owner, "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("owner"), "{e}");
        let not_date =
            "[[suppress]]\nrule = \"X\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"soon\"\n";
        assert!(Suppressions::parse(not_date, "s.toml").is_err());
    }

    #[test]
    fn baseline_marks_unchanged_findings() {
        let old = report(vec![finding("FWG-FS-001", "/usr/bin/passwd", "a")]);
        let mut new = report(vec![
            finding("FWG-FS-001", "/usr/bin/passwd", "a"),
            finding("FWG-FS-001", "/usr/bin/newgrp", "d"),
        ]);
        apply_baseline(&mut new, &old);
        assert_eq!(new.findings[0].baseline, Some(BaselineState::Unchanged));
        assert_eq!(new.findings[1].baseline, Some(BaselineState::New));
        assert_eq!(new.at_or_above(crate::Severity::High).count(), 1);
    }
}
