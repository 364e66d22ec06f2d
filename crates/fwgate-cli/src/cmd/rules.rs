//! `fwgate rules list|test`.

use anyhow::Result;

use crate::args::{ExplainArgs, RulesArgs};
use crate::Outcome;

pub fn list(a: RulesArgs) -> Result<Outcome> {
    let set = super::load_rules(&a)?;
    for r in &set.rules {
        println!(
            "{:<13} {:<9} {:<9} {}",
            r.file.id, r.file.severity, r.file.cwe, r.file.summary
        );
    }
    println!(
        "{} rules from {} (sha256 {})",
        set.rules.len(),
        set.origin,
        set.digest
    );
    Ok(Outcome::Pass)
}

pub fn test(a: RulesArgs) -> Result<Outcome> {
    let set = super::load_rules(&a)?;
    match set
        .self_test()
        .map_err(anyhow::Error::from)
        .and_then(|n| Ok((n, set.components.self_test().map_err(anyhow::Error::msg)?)))
    {
        Ok((n, c)) => {
            println!(
                "{} rules, {n} test cases; {} component identifiers, {c} test cases: all pass",
                set.rules.len(),
                set.components.rules().count()
            );
            Ok(Outcome::Pass)
        }
        Err(e) => {
            eprintln!("fwgate: {e}");
            Ok(Outcome::PolicyFailed)
        }
    }
}

/// Re-wraps a rule text's lines into one paragraph per blank-line-separated block.
fn paragraph(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

pub fn explain(a: ExplainArgs) -> Result<Outcome> {
    let set = super::load_rules(&a.rules)?;
    let Some(rule) = set
        .rules
        .iter()
        .find(|r| r.file.id.eq_ignore_ascii_case(&a.id) || r.file.name == a.id)
    else {
        anyhow::bail!("no rule {:?} (see `fwgate rules list`)", a.id);
    };
    let f = &rule.file;
    println!("{} {} ({}, {})", f.id, f.name, f.severity, f.cwe);
    println!("{}\n", f.summary);
    println!("What it finds\n{}\n", paragraph(&f.description));
    println!("Why it matters\n{}\n", paragraph(&f.rationale));
    println!("How to fix it\n{}\n", paragraph(&f.remediation));
    println!("Where it looks\n  {}", f.matcher.paths().join("\n  "));
    if !f.allowlist.paths.is_empty() {
        println!("Never reports\n  {}", f.allowlist.paths.join("\n  "));
    }
    if !f.references.is_empty() {
        println!("\nReferences\n  {}", f.references.join("\n  "));
    }
    println!("\nExamples (run by `fwgate rules test`)");
    for t in &f.tests {
        let verdict = match t.expect {
            fwgate_scan::Expect::Match => "finding",
            fwgate_scan::Expect::NoMatch => "no finding",
        };
        println!(
            "  {verdict:<10} /{}  ({})",
            t.path.trim_start_matches('/'),
            t.name
        );
    }
    println!("\nDefined in {}/{}", set.origin, rule.source);
    Ok(Outcome::Pass)
}
