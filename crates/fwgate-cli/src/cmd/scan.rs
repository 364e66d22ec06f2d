//! `fwgate scan`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use fwgate_scan::Report;

use crate::args::{CheckArgs, ScanArgs};
use crate::progress::Spinner;
use crate::Outcome;

/// Unpacks (or walks) the target and scans it; the extraction lives as long as the guard.
pub fn scan_target(
    target: &Path,
    workdir: Option<&Path>,
    rules: &fwgate_scan::RuleSet,
    limits: fwgate_unpack::Limits,
) -> Result<(Report, Option<tempfile::TempDir>)> {
    if target.is_dir() {
        let (_, report) = fwgate_scan::scan_dir(target, rules)
            .with_context(|| format!("scanning {}", target.display()))?;
        return Ok((report, None));
    }
    let (dir, guard) = match workdir {
        Some(d) => (d.to_path_buf(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("fwgate-")
                .tempdir()
                .context("creating a temporary directory")?;
            (t.path().join("root"), Some(t))
        }
    };
    let mut spinner = Spinner::new("unpacking");
    let (_, report) = fwgate_scan::scan_image(target, &dir, rules, limits, &mut |m| spinner.set(m))
        .with_context(|| format!("scanning {}", target.display()))?;
    Ok((report, guard))
}

/// Applies the suppressions file and baseline the flags name to a fresh report.
pub fn review(report: &mut Report, check: &CheckArgs) -> Result<()> {
    if let Some(path) = &check.suppressions {
        let s = fwgate_scan::Suppressions::load(path)
            .with_context(|| format!("{}: suppressions", path.display()))?;
        s.apply(report, fwgate_scan::suppress::today());
    }
    if let Some(path) = &check.baseline {
        let old = fwgate_scan::suppress::load_baseline(path)?;
        fwgate_scan::suppress::apply_baseline(report, &old);
    }
    Ok(())
}

/// Loads what the flags need before the scan, so a bad suppressions file or baseline fails
/// in a second, not after minutes of unpacking.
pub fn check_inputs(check: &CheckArgs) -> Result<()> {
    if let Some(path) = &check.suppressions {
        fwgate_scan::Suppressions::load(path)
            .with_context(|| format!("{}: suppressions", path.display()))?;
    }
    if let Some(path) = &check.baseline {
        fwgate_scan::suppress::load_baseline(path)?;
    }
    Ok(())
}

pub fn run(a: ScanArgs) -> Result<Outcome> {
    let rules = super::load_check_rules(&a.check)?;
    check_inputs(&a.check)?;
    let (mut report, _guard) = scan_target(
        &a.target,
        a.check.workdir.as_deref(),
        &rules,
        a.check.limits.limits(),
    )?;
    review(&mut report, &a.check)?;
    let mut buf = Vec::new();
    fwgate_report::render(&report, a.format, &mut buf)?;
    match &a.output {
        Some(path) => super::write_atomic(path, &buf)?,
        None => std::io::stdout()
            .lock()
            .write_all(&buf)
            .context("writing to stdout")?,
    }
    let verdict = a.check.policy(Vec::new()).judge_scan(&report);
    for r in &verdict.reasons {
        eprintln!("fwgate: policy failed: {r}");
    }
    Ok(if verdict.passed() {
        Outcome::Pass
    } else {
        Outcome::PolicyFailed
    })
}
