//! One module per command.

pub mod advisories;
pub mod evidence;
pub mod gate;
pub mod hardening;
pub mod keys;
pub mod rules;
pub mod sbom;
pub mod scan;
pub mod unpack;

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically (a new temporary file under a random name, then a
/// rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(fwgate_sign::write_atomic(path, bytes)?)
}

/// Loads the rules a scan runs: `--rules DIR` or the built-in set, with the advisories of
/// `--advisories` added to its store.
pub fn load_check_rules(check: &crate::args::CheckArgs) -> Result<fwgate_scan::RuleSet> {
    let mut rules = load_rules(&check.rules)?;
    advisories::load_into(&mut rules.advisories, &check.advisories)?;
    Ok(rules)
}

/// Loads rules from `--rules DIR` or the built-in set.
pub fn load_rules(args: &crate::args::RulesArgs) -> Result<fwgate_scan::RuleSet> {
    Ok(match &args.rules {
        Some(dir) => fwgate_scan::RuleSet::load_dir(dir)
            .with_context(|| format!("loading rules from {}", dir.display()))?,
        None => fwgate_scan::RuleSet::embedded().context("loading built-in rules")?,
    })
}
