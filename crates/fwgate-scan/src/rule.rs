//! The rule-file schema: one TOML file per rule in `rules/<category>/<ID>.toml`.

use serde::{Deserialize, Serialize};

use crate::matchers::MatcherSpec;
use crate::Severity;

/// A rule as written in its file. Unknown fields are errors, so a typo cannot silently
/// disable a check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Permanent id, `FWG-<AREA>-<NNN>`; the file is named after it.
    pub id: String,
    /// Short kebab-case name.
    pub name: String,
    /// Severity of every finding the rule makes.
    pub severity: Severity,
    /// CWE id, e.g. `CWE-798`.
    pub cwe: String,
    /// One sentence: what the finding means.
    pub summary: String,
    /// Full description.
    pub description: String,
    /// Why it matters (incidents, regulations).
    pub rationale: String,
    /// How to fix it.
    pub remediation: String,
    /// Standards and advisories (URLs or clause ids).
    #[serde(default)]
    pub references: Vec<String>,
    /// What to look for.
    pub matcher: MatcherSpec,
    /// What not to report.
    #[serde(default)]
    pub allowlist: Allowlist,
    /// Positive and negative cases, run by the test suite and `fwgate rules test`.
    #[serde(default, rename = "test")]
    pub tests: Vec<TestCase>,
}

/// Exceptions to a rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    /// Globs of paths inside the image never reported by this rule.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// One embedded test case: a file placed at `path` with `content` must (or must not) match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// `match` or `no-match`.
    pub expect: Expect,
    /// Path inside the image, e.g. `etc/shadow`.
    pub path: String,
    /// File content.
    #[serde(default)]
    pub content: String,
    /// Instead of `content`: a data file under `rules/` whose bytes are the file (for binary
    /// cases such as ELF programs).
    #[serde(default)]
    pub fixture: Option<String>,
    /// Octal permission bits of the node (default `0644`, or `0755` for a directory).
    #[serde(default)]
    pub mode: Option<String>,
    /// `dir` for a directory (default: a regular file).
    #[serde(default)]
    pub node: Option<crate::matchers::NodeSel>,
}

/// The expected outcome of a [`TestCase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// At least one finding.
    Match,
    /// No finding.
    NoMatch,
}

/// The public description of a rule, as reports carry it (SARIF `tool.driver.rules`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RuleMeta {
    /// Permanent id.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// CWE id.
    pub cwe: String,
    /// One sentence.
    pub summary: String,
    /// Full description.
    pub description: String,
    /// Why it matters.
    pub rationale: String,
    /// How to fix it.
    pub remediation: String,
    /// References.
    pub references: Vec<String>,
}

impl From<&RuleFile> for RuleMeta {
    fn from(r: &RuleFile) -> Self {
        RuleMeta {
            id: r.id.clone(),
            name: r.name.clone(),
            severity: r.severity,
            cwe: r.cwe.clone(),
            summary: r.summary.clone(),
            description: r.description.clone(),
            rationale: r.rationale.clone(),
            remediation: r.remediation.clone(),
            references: r.references.clone(),
        }
    }
}
