//! `fwgate rules list|test`.

use anyhow::Result;

use crate::args::RulesArgs;
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
    match set.self_test() {
        Ok(n) => {
            println!("{} rules, {n} test cases: all pass", set.rules.len());
            Ok(Outcome::Pass)
        }
        Err(e) => {
            eprintln!("fwgate: {e}");
            Ok(Outcome::PolicyFailed)
        }
    }
}
