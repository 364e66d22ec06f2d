//! `fwgate evidence ...`.

use anyhow::{Context, Result};
use fwgate_evidence::Ledger;

use crate::args::EvidenceDirArgs;
use crate::Outcome;

fn open(a: &EvidenceDirArgs) -> Result<Ledger> {
    if !a.dir.is_dir() {
        anyhow::bail!("{}: no evidence directory", a.dir.display());
    }
    Ledger::open(&a.dir).with_context(|| format!("{}: evidence directory", a.dir.display()))
}

pub fn verify(a: EvidenceDirArgs) -> Result<Outcome> {
    let ledger = open(&a)?;
    match ledger.verify() {
        Ok(n) => {
            println!(
                "evidence OK: {n} record(s), hash chain intact, every artifact matches its digest"
            );
            Ok(Outcome::Pass)
        }
        Err(e) => {
            eprintln!(
                "fwgate: evidence in {} does not verify: {e}",
                a.dir.display()
            );
            Ok(Outcome::PolicyFailed)
        }
    }
}

pub fn list(a: EvidenceDirArgs) -> Result<Outcome> {
    let ledger = open(&a)?;
    for r in ledger.records()? {
        let outcome = serde_json::to_string(&r.outcome)?;
        println!(
            "#{:<4} {}  {:<5} {:<5} {} {} sha256:{}  {}",
            r.seq,
            r.recorded_at,
            r.requirement,
            outcome.trim_matches('"'),
            r.subject.name,
            r.release,
            &r.subject.sha256[..r.subject.sha256.len().min(16)],
            r.summary
        );
    }
    Ok(Outcome::Pass)
}

pub fn catalog() -> Result<Outcome> {
    for r in fwgate_evidence::catalog()? {
        println!(
            "{:<6} {:<28} {:<22} {}",
            r.id,
            r.cadence,
            r.iec62443.join(","),
            r.title
        );
    }
    Ok(Outcome::Pass)
}
