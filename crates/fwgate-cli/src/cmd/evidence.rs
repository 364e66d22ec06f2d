//! `fwgate evidence ...`.

use anyhow::{Context, Result};
use fwgate_evidence::Ledger;

use crate::args::{EvidenceDirArgs, EvidenceVerifyArgs};
use crate::Outcome;

fn open(a: &EvidenceDirArgs) -> Result<Ledger> {
    if !a.dir.is_dir() {
        anyhow::bail!("{}: no evidence directory", a.dir.display());
    }
    Ledger::open(&a.dir).with_context(|| format!("{}: evidence directory", a.dir.display()))
}

pub fn verify(a: EvidenceVerifyArgs) -> Result<Outcome> {
    let ledger = open(&a.dir)?;
    let keys = a
        .key
        .iter()
        .map(|p| super::keys::load_public(p))
        .collect::<Result<Vec<_>>>()?;
    let v = ledger
        .verify(&keys)
        .with_context(|| format!("{}: evidence directory", a.dir.dir.display()))?;
    if v.is_ok() {
        println!(
            "evidence OK: {} record(s), hash chain intact, every artifact matches its digest; {}",
            v.records,
            if v.keys_checked {
                format!(
                    "{} checkpoint(s), every record signed (through #{})",
                    v.checkpoints, v.signed_through
                )
            } else {
                format!(
                    "{} checkpoint(s) NOT checked: give --key to check the signatures",
                    v.checkpoints
                )
            }
        );
        return Ok(Outcome::Pass);
    }
    eprintln!(
        "fwgate: evidence in {} does not verify:",
        a.dir.dir.display()
    );
    for p in v.all_problems() {
        eprintln!("  - {p}");
    }
    Ok(Outcome::PolicyFailed)
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
