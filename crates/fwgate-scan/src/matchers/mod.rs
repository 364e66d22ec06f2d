//! Matchers: the closed set of ways a rule looks at a file. A rule file picks one with
//! `[matcher] kind = "..."`; adding a kind is a new module here and one enum variant.

mod accounts;
mod pattern;

use serde::Deserialize;

use crate::finding::Matches;
use crate::ruleset::DataFiles;

pub use accounts::{AccountCheck, AccountsSpec};
pub use pattern::PatternSpec;

/// The `[matcher]` table of a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MatcherSpec {
    /// A regular expression over file contents.
    Pattern(PatternSpec),
    /// Accounts in `passwd`/`shadow` files.
    Accounts(AccountsSpec),
}

/// A compiled matcher, ready to run.
#[derive(Debug)]
pub enum Matcher {
    /// See [`PatternSpec`].
    Pattern(pattern::Pattern),
    /// See [`AccountsSpec`].
    Accounts(accounts::Accounts),
}

impl MatcherSpec {
    /// The path globs this matcher looks at (relative to a file system root).
    pub fn paths(&self) -> Vec<String> {
        match self {
            MatcherSpec::Pattern(p) => p.paths.clone(),
            MatcherSpec::Accounts(a) => a.paths.clone(),
        }
    }

    /// Validates and compiles the matcher; `data` resolves word lists.
    pub fn compile(&self, data: &DataFiles) -> std::result::Result<Matcher, String> {
        Ok(match self {
            MatcherSpec::Pattern(p) => Matcher::Pattern(p.compile()?),
            MatcherSpec::Accounts(a) => Matcher::Accounts(a.compile(data)?),
        })
    }
}

impl Matcher {
    /// Runs the matcher on one file's bytes; work past `deadline` is reported as skipped.
    pub fn check(&self, content: &[u8], deadline: std::time::Instant) -> Matches {
        let mut found = Matches::default();
        match self {
            // Linear in the file (the regex crate); bounded by the scan's size cap.
            Matcher::Pattern(p) => p.check(content, &mut found),
            Matcher::Accounts(a) => a.check(content, deadline, &mut found),
        }
        found
    }
}
