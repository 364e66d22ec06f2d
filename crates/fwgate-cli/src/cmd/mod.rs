//! One module per command.

pub mod evidence;
pub mod gate;
pub mod hardening;
pub mod keys;
pub mod rules;
pub mod scan;
pub mod unpack;

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: create", path.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("{}: write", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("{}: write", path.display()))?;
    Ok(())
}

/// Loads rules from `--rules DIR` or the built-in set.
pub fn load_rules(args: &crate::args::RulesArgs) -> Result<fwgate_scan::RuleSet> {
    Ok(match &args.rules {
        Some(dir) => fwgate_scan::RuleSet::load_dir(dir)
            .with_context(|| format!("loading rules from {}", dir.display()))?,
        None => fwgate_scan::RuleSet::embedded().context("loading built-in rules")?,
    })
}

/// Reads a file fully, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("{}: read", path.display()))
}
