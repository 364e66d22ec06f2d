//! The release gate's policy: what must hold for an image to be signed.

use fwgate_scan::{Report, Severity};
use fwgate_unpack::Problem;

use crate::catalog;
use crate::ledger::Ledger;
use crate::record::Outcome;
use crate::Result;

/// What the gate requires.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Findings at or above this severity fail the gate.
    pub fail_on: Severity,
    /// Accept an image some part of which could not be unpacked or read.
    pub allow_incomplete: bool,
    /// Requirements that need passing evidence for this exact image.
    pub require: Vec<String>,
    /// Problems accepted by name: the `sha256:` keys of unknown regions (exactly those bytes,
    /// wherever they are), e.g. a vendor's encrypted blob that the team vouches for.
    pub accept: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: Severity::High,
            allow_incomplete: false,
            require: vec!["DL-3".into()],
            accept: Vec::new(),
        }
    }
}

/// The gate's decision, with every reason it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Reasons the policy is not met; empty means pass.
    pub reasons: Vec<String>,
}

impl Verdict {
    /// True when the policy is met.
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Schema id of the policy document.
pub const POLICY_SCHEMA: &str = "fwgate.policy/v1";

impl Policy {
    /// The policy as a document to store with the evidence and name in attestations: every
    /// setting, and the catalog it draws on by path and SHA-256.
    pub fn document(&self) -> serde_json::Value {
        use sha2::Digest as _;
        let (path, text) = catalog::catalog_source();
        serde_json::json!({
            "schema": POLICY_SCHEMA,
            "fail_on": self.fail_on.as_str(),
            "allow_incomplete": self.allow_incomplete,
            "require": self.require,
            "accept": self.accept,
            "catalog": {
                "uri": path,
                "digest": { "sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())) },
            },
        })
    }

    /// Judges the scan alone: findings at or above the threshold, and completeness.
    pub fn judge_scan(&self, report: &Report) -> Verdict {
        let mut reasons = Vec::new();
        let blocking = report.at_or_above(self.fail_on).count();
        if blocking > 0 {
            reasons.push(format!(
                "{blocking} finding(s) at or above {}",
                self.fail_on
            ));
        }
        let open = self.open_problems(report).count();
        if !self.allow_incomplete && open > 0 {
            reasons.push(format!(
                "{open} part(s) of the image could not be examined (see the problems; accept a named region with --accept KEY, or all with --allow-incomplete)"
            ));
        }
        Verdict { reasons }
    }

    /// The report's problems that this policy does not accept by name.
    pub fn open_problems<'a>(
        &'a self,
        report: &'a Report,
    ) -> impl Iterator<Item = &'a Problem> + 'a {
        report.problems.iter().filter(move |p| {
            !p.key
                .as_deref()
                .is_some_and(|k| self.accept.iter().any(|a| a == k))
        })
    }

    /// Judges a release: the scan, plus passing evidence in `ledger` for every required
    /// requirement, bound to the image's sha256.
    pub fn judge_release(&self, report: &Report, ledger: &Ledger) -> Result<Verdict> {
        let mut verdict = self.judge_scan(report);
        let sha = &report.target.subject.sha256;
        for id in &self.require {
            let req = catalog::requirement(id)?;
            match ledger.latest_for(id, sha)? {
                Some(r) if r.outcome == Outcome::Pass => {}
                Some(_) => verdict.reasons.push(format!(
                    "{id} ({}): latest evidence for this image is a failure",
                    req.title
                )),
                None => verdict.reasons.push(format!(
                    "{id} ({}): no evidence recorded for this image",
                    req.title
                )),
            }
        }
        Ok(verdict)
    }
}
