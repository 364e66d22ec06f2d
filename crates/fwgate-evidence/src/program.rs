//! The security program's policy (`policy.toml` in the evidence directory) and the status of
//! a release against it.
//!
//! `fwgate evidence init` writes a policy naming every requirement of the chosen catalogs; a
//! team trims it by waiving what does not apply, each waiver with its reason and owner
//! (EN 303 645 provision 5.0-1), and may tighten freshness. [`status`] then says, for one
//! release, whether each requirement is satisfied, missing, stale or waived, and why, with
//! the command that would fill each gap.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::catalog::{self, Requirement};
use crate::ledger::Ledger;
use crate::record::{EvidenceKind, EvidenceRecord, Outcome};
use crate::{EvidenceError, Result};

/// Schema id of `policy.toml`.
pub const PROGRAM_SCHEMA: &str = "fwgate.program-policy/v1";
/// The policy's file name in an evidence directory.
pub const PROGRAM_FILE: &str = "policy.toml";
/// An end-of-support notice must be published at least this long before support ends
/// (the D-Link order's 60 days).
pub const NOTICE_DAYS: i64 = 60;
/// A CRA support period must be at least this many years (Art. 13(8)).
pub const SUPPORT_YEARS: i32 = 5;

/// `policy.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProgramPolicy {
    /// Always [`PROGRAM_SCHEMA`].
    pub schema: String,
    /// Catalog ids whose every requirement the policy must name.
    pub catalogs: Vec<String>,
    /// One entry per requirement.
    #[serde(default, rename = "requirement")]
    pub requirements: Vec<PolicyEntry>,
}

/// One requirement as the policy treats it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyEntry {
    /// Requirement id.
    pub id: String,
    /// Freshness in days, overriding the catalog's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// Set to not require it: why it does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
    /// Who decided the waiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
}

/// A requirement's state for a release.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Evidence for this release (or fresh evidence for the program) is recorded.
    Satisfied,
    /// Not required, with a recorded reason.
    Waived,
    /// Evidence exists but is too old, or does not meet the rule for its kind.
    Stale,
    /// No evidence, or the latest fails.
    Missing,
}

/// One line of [`status`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequirementStatus {
    /// Requirement id.
    pub id: String,
    /// Catalog id.
    pub catalog: String,
    /// Clause, when the catalog gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
    /// What must be true.
    pub title: String,
    /// The state.
    pub state: State,
    /// Why, in a sentence.
    pub why: String,
    /// The records that satisfy it (ledger sequence numbers).
    pub evidence: Vec<u64>,
    /// What would fill the gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl ProgramPolicy {
    /// A policy requiring every requirement of `catalog_ids`, freshness as the catalogs say.
    pub fn full(catalog_ids: &[String]) -> Result<ProgramPolicy> {
        let mut requirements = Vec::new();
        for id in catalog_ids {
            for r in catalog::catalog_by_id(id)?.requirements {
                requirements.push(PolicyEntry {
                    id: r.id,
                    max_age_days: r.max_age_days,
                    waived: None,
                    waived_by: None,
                });
            }
        }
        Ok(ProgramPolicy {
            schema: PROGRAM_SCHEMA.into(),
            catalogs: catalog_ids.to_vec(),
            requirements,
        })
    }

    /// What the gate requires of itself when there is no `policy.toml`: DL-3 and DL-4.
    pub fn gate_default() -> ProgramPolicy {
        ProgramPolicy {
            schema: PROGRAM_SCHEMA.into(),
            catalogs: Vec::new(),
            requirements: ["DL-3", "DL-4"]
                .iter()
                .map(|id| PolicyEntry {
                    id: (*id).into(),
                    max_age_days: None,
                    waived: None,
                    waived_by: None,
                })
                .collect(),
        }
    }

    /// The policy as a file, with a header saying how to trim it.
    pub fn to_toml(&self) -> Result<String> {
        let body =
            toml::to_string_pretty(self).map_err(|e| EvidenceError::Catalog(e.to_string()))?;
        Ok(format!(
            "# fwgate security-program policy: every requirement of the catalogs below must be\n\
             # evidenced for each release (fwgate evidence status RELEASE).\n\
             # To not require one, keep its entry and set `waived = \"why it does not apply\"` and\n\
             # `waived_by = \"who decided\"` (EN 303 645 5.0-1). `max_age_days` sets how fresh its\n\
             # evidence must be.\n\n{body}"
        ))
    }

    /// Reads `policy.toml` text.
    pub fn parse(text: &str) -> Result<ProgramPolicy> {
        let p: ProgramPolicy = toml::from_str(text)
            .map_err(|e| EvidenceError::Catalog(format!("{PROGRAM_FILE}: {}", e.message())))?;
        if p.schema != PROGRAM_SCHEMA {
            return Err(EvidenceError::Catalog(format!(
                "{PROGRAM_FILE}: schema {:?}, expected {PROGRAM_SCHEMA:?}",
                p.schema
            )));
        }
        for e in &p.requirements {
            if e.waived.as_deref().is_some_and(|w| w.trim().is_empty())
                || (e.waived.is_some()
                    && e.waived_by.as_deref().is_none_or(|b| b.trim().is_empty()))
            {
                return Err(EvidenceError::Catalog(format!(
                    "{PROGRAM_FILE}: {}: a waiver needs a reason (waived) and an owner (waived_by)",
                    e.id
                )));
            }
        }
        Ok(p)
    }

    /// Reads `DIR/policy.toml`, if there is one.
    pub fn load(dir: &std::path::Path) -> Result<Option<ProgramPolicy>> {
        let path = dir.join(PROGRAM_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some(Self::parse(&t)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EvidenceError::Io {
                path,
                op: "read policy",
                source: e,
            }),
        }
    }
}

fn date_of(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.get(..10)?, &fmt).ok()
}

/// `YYYY-MM` (the last day of that month) or `YYYY-MM-DD`.
fn end_date(s: &str) -> Option<Date> {
    if let Some(d) = date_of(s) {
        return Some(d);
    }
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let year: i32 = y.parse().ok()?;
    Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()
}

/// The date a record's evidence is of: its stated date, else when it was recorded.
fn evidence_date(r: &EvidenceRecord) -> Option<Date> {
    r.details["date"]
        .as_str()
        .and_then(date_of)
        .or_else(|| date_of(&r.recorded_at))
}

/// Whether `r` is evidence for `req`: attached to it, or fwgate's own evidence of a kind it
/// names where the catalog says fwgate's evidence covers the requirement (`automatic`). A
/// scan is part of the evidence for many requirements (secure defaults, confidentiality) but
/// proves none of them alone: those need their own document.
fn counts_for(r: &EvidenceRecord, req: &Requirement) -> bool {
    if r.requirement == req.id {
        return true;
    }
    req.automatic
        && r.kind != EvidenceKind::Attached
        && req
            .evidence
            .iter()
            .any(|k| k == EvidenceKind::evidence_kind(r))
}

/// Checks what a kind of evidence must say beyond its date; `None` when it does.
fn kind_rule(r: &EvidenceRecord) -> Option<String> {
    match EvidenceKind::evidence_kind(r) {
        "end-of-support-notice" => {
            let ends = r.details["ends"].as_str().and_then(end_date);
            let published = r.details["published"].as_str().and_then(date_of);
            match (published, ends) {
                (Some(p), Some(e)) if (e - p).whole_days() >= NOTICE_DAYS => None,
                (Some(p), Some(e)) => Some(format!(
                    "the notice (#{}) was published {} day(s) before support ends; at least {NOTICE_DAYS} are required",
                    r.seq,
                    (e - p).whole_days()
                )),
                _ => Some(format!(
                    "the notice (#{}) needs --published DATE and --ends DATE",
                    r.seq
                )),
            }
        }
        "support-period" => {
            let ends = r.details["ends"].as_str();
            let start = evidence_date(r);
            match (ends.and_then(end_date), start) {
                (Some(e), Some(s))
                    if e >= s
                        .replace_year(s.year() + SUPPORT_YEARS)
                        .unwrap_or(s) =>
                {
                    None
                }
                (Some(_), Some(_)) => Some(format!(
                    "the support period (#{}) ends {}, less than {SUPPORT_YEARS} years after {}",
                    r.seq,
                    ends.unwrap_or_default(),
                    r.details["date"].as_str().unwrap_or(&r.recorded_at)
                )),
                _ => Some(format!(
                    "the support period (#{}) must state its end as month and year (--ends YYYY-MM)",
                    r.seq
                )),
            }
        }
        _ => None,
    }
}

fn fix_for(req: &Requirement, release: &str) -> String {
    if req.automatic {
        let sbom = if req.evidence.iter().any(|k| k == "sbom") {
            " --manufacturer NAME"
        } else {
            ""
        };
        return format!("fwgate gate IMAGE --release {release} --key KEY{sbom}");
    }
    let kind = req.evidence.first().map(String::as_str).unwrap_or("other");
    format!(
        "fwgate evidence add {} FILE --kind {kind} --release {release} --by NAME",
        req.id
    )
}

/// The state of every requirement the policy names, for `release`, as of `today`.
pub fn status(
    ledger: &Ledger,
    policy: &ProgramPolicy,
    release: &str,
    today: OffsetDateTime,
) -> Result<Vec<RequirementStatus>> {
    let records = ledger.records()?;
    let today = today.date();
    let mut out = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    let catalogs = catalog::catalogs()?;
    for entry in &policy.requirements {
        named.insert(entry.id.as_str());
        let (cat, req) = catalogs
            .iter()
            .find_map(|c| {
                c.requirements
                    .iter()
                    .find(|r| r.id == entry.id)
                    .map(|r| (c.meta.id.clone(), r.clone()))
            })
            .ok_or_else(|| {
                EvidenceError::Catalog(format!(
                    "{PROGRAM_FILE}: requirement {} is in no catalog",
                    entry.id
                ))
            })?;
        let mut line = RequirementStatus {
            id: req.id.clone(),
            catalog: cat,
            clause: req.clause.clone(),
            title: req.title.clone(),
            state: State::Missing,
            why: String::new(),
            evidence: Vec::new(),
            fix: None,
        };
        if let Some(reason) = &entry.waived {
            line.state = State::Waived;
            line.why = format!(
                "waived by {}: {reason}",
                entry.waived_by.as_deref().unwrap_or("?")
            );
            out.push(line);
            continue;
        }
        let candidates: Vec<&EvidenceRecord> = records
            .iter()
            .rev()
            .filter(|r| counts_for(r, &req))
            .filter(|r| !req.per_release || r.release == release)
            .collect();
        let max_age = entry.max_age_days.or(req.max_age_days);
        match candidates.first() {
            None => {
                line.why = if req.per_release {
                    format!("no evidence for release {release}")
                } else {
                    "no evidence recorded".into()
                };
                line.fix = Some(fix_for(&req, release));
            }
            Some(r) if r.outcome != Outcome::Pass => {
                line.why = format!(
                    "the latest evidence (#{}) is a failure: {}",
                    r.seq, r.summary
                );
                line.evidence.push(r.seq);
                line.fix = Some(fix_for(&req, release));
            }
            Some(r) => {
                line.evidence.push(r.seq);
                let age = evidence_date(r).map(|d| (today - d).whole_days());
                if let (Some(max), Some(age)) = (max_age, age) {
                    if age > i64::from(max) {
                        line.state = State::Stale;
                        line.why = format!(
                            "the latest evidence (#{}, {}) is {age} days old; at most {max} are allowed",
                            r.seq, r.summary
                        );
                        line.fix = Some(fix_for(&req, release));
                        out.push(line);
                        continue;
                    }
                }
                if let Some(why) = kind_rule(r) {
                    line.state = State::Stale;
                    line.why = why;
                    line.fix = Some(fix_for(&req, release));
                } else {
                    line.state = State::Satisfied;
                    line.why = format!("#{}: {}", r.seq, r.summary);
                }
            }
        }
        out.push(line);
    }
    // A requirement of a chosen catalog the policy does not name: trimmed without a reason.
    for id in &policy.catalogs {
        for req in catalog::catalog_by_id(id)?.requirements {
            if !named.contains(req.id.as_str()) {
                out.push(RequirementStatus {
                    fix: Some(format!(
                        "add it to {PROGRAM_FILE} (required, or waived with a reason and an owner)"
                    )),
                    id: req.id,
                    catalog: id.clone(),
                    clause: req.clause,
                    title: req.title,
                    state: State::Missing,
                    why: "not in the policy: a requirement is waived with a recorded reason, never dropped".into(),
                    evidence: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}
