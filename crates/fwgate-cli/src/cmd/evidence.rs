//! `fwgate evidence ...`.

use anyhow::{Context, Result};
use fwgate_evidence::Ledger;

use crate::args::{
    AddArgs, BundleArgs, CatalogArgs, EvidenceDirArgs, EvidenceVerifyArgs, InitArgs, StatusArgs,
};
use crate::Outcome;

fn open(a: &EvidenceDirArgs) -> Result<Ledger> {
    if !a.dir.is_dir() {
        anyhow::bail!("{}: no evidence directory", a.dir.display());
    }
    Ledger::open(&a.dir).with_context(|| format!("{}: evidence directory", a.dir.display()))
}

pub fn verify(a: EvidenceVerifyArgs) -> Result<Outcome> {
    let keys = a
        .key
        .iter()
        .map(|p| super::keys::load_public(p))
        .collect::<Result<Vec<_>>>()?;
    if a.dir.dir.is_file() {
        return verify_bundle(&a.dir.dir, &keys);
    }
    let ledger = open(&a.dir)?;
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

pub fn catalog(a: CatalogArgs) -> Result<Outcome> {
    let catalogs = match &a.catalog {
        Some(id) => vec![fwgate_evidence::catalog_by_id(id)?],
        None => fwgate_evidence::catalogs()?,
    };
    for c in catalogs {
        println!("{}: {} ({})", c.meta.id, c.meta.title, c.meta.edition);
        for r in &c.requirements {
            println!(
                "  {:<12} {:<4} {:<28} {:<22} {}{}",
                r.id,
                if r.automatic { "auto" } else { "" },
                r.cadence.chars().take(28).collect::<String>(),
                r.iec62443.join(","),
                r.title,
                if r.evidence.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", r.evidence.join(", "))
                }
            );
        }
    }
    Ok(Outcome::Pass)
}

/// `YYYY-MM-DD` as a date, naming the flag on error.
fn parse_date(flag: &str, s: &str) -> Result<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).with_context(|| format!("{flag} {s:?}: not a YYYY-MM-DD date"))
}

pub fn init(a: InitArgs) -> Result<Outcome> {
    let path = a.dir.join(fwgate_evidence::program::PROGRAM_FILE);
    if path.exists() {
        anyhow::bail!(
            "{}: a policy is already there; edit it (or remove it to start again)",
            path.display()
        );
    }
    let policy = fwgate_evidence::program::ProgramPolicy::full(&a.catalog)?;
    Ledger::open(&a.dir).with_context(|| format!("{}: evidence directory", a.dir.display()))?;
    super::write_atomic(&path, policy.to_toml()?.as_bytes())?;
    println!(
        "evidence  {}: policy.toml requires all {} requirement(s) of {}; waive what does not apply, with the reason and who decided",
        a.dir.display(),
        policy.requirements.len(),
        a.catalog.join(", ")
    );
    Ok(Outcome::Pass)
}

pub fn add(a: AddArgs) -> Result<Outcome> {
    use std::io::Read;
    if !fwgate_evidence::EVIDENCE_KINDS.contains(&a.kind.as_str()) {
        anyhow::bail!(
            "--kind {:?}: not an evidence kind (one of: {})",
            a.kind,
            fwgate_evidence::EVIDENCE_KINDS.join(", ")
        );
    }
    let requirements: Vec<&str> = a
        .requirement
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    for r in &requirements {
        fwgate_evidence::requirement(r)?;
    }
    let today = time::OffsetDateTime::now_utc().date();
    let date = match &a.date {
        Some(d) => parse_date("--date", d)?,
        None => today,
    };
    if let Some(p) = &a.published {
        parse_date("--published", p)?;
    }
    if a.by.trim().is_empty() {
        anyhow::bail!("--by: say who vouches for the evidence");
    }
    let key = a.key.as_deref().map(super::keys::load_secret).transpose()?;
    // A document, read with a bound (evidence is documents and reports, not images).
    const MAX: u64 = 256 << 20;
    let f = std::fs::File::open(&a.file).with_context(|| format!("{}: open", a.file.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: read", a.file.display()))?;
    if bytes.len() as u64 > MAX {
        anyhow::bail!(
            "{}: over 256 MiB; attach a report, not an image",
            a.file.display()
        );
    }
    let ledger = Ledger::open(&a.evidence)
        .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;
    let file_name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext: String = a
        .file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e.len() <= 16 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "bin".into());
    let artifact = ledger.store(&a.kind, &ext, &bytes)?;
    let attachment = fwgate_evidence::Attachment {
        kind: a.kind.clone(),
        file_name,
        size: bytes.len() as u64,
        by: a.by.clone(),
        date: date.to_string(),
        published: a.published.clone(),
        ends: a.ends.clone(),
        note: a.note.clone(),
    };
    for r in requirements {
        let record =
            fwgate_evidence::EvidenceRecord::attached(r, &a.release, &attachment, artifact.clone());
        let (rec, _) = ledger
            .append_signed(record, time::OffsetDateTime::now_utc(), key.as_ref())
            .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;
        println!(
            "evidence  {r} #{} for {}: {} {} (sha256:{})",
            rec.seq,
            a.release,
            a.kind,
            a.file.display(),
            &artifact.sha256[..16]
        );
    }
    Ok(Outcome::Pass)
}

/// Prints the status lines; returns how many are gaps (missing or stale).
pub fn print_status(lines: &[fwgate_evidence::program::RequirementStatus]) -> usize {
    use fwgate_evidence::program::State;
    let mut gaps = 0;
    for l in lines {
        let state = match l.state {
            State::Satisfied => "satisfied",
            State::Waived => "waived",
            State::Stale => "STALE",
            State::Missing => "MISSING",
        };
        println!("{state:<9} {:<12} {}", l.id, l.title);
        println!("          {}", l.why);
        if let Some(fix) = &l.fix {
            println!("          fix: {fix}");
        }
        if matches!(l.state, State::Stale | State::Missing) {
            gaps += 1;
        }
    }
    gaps
}

pub fn status(a: StatusArgs) -> Result<Outcome> {
    if !a.evidence.is_dir() {
        anyhow::bail!(
            "{}: no evidence directory (fwgate evidence init)",
            a.evidence.display()
        );
    }
    let ledger = Ledger::open(&a.evidence)
        .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;
    let policy = match fwgate_evidence::program::ProgramPolicy::load(&a.evidence)? {
        Some(p) => p,
        None => {
            eprintln!(
                "fwgate: {}: no policy.toml, so only what the gate requires of itself is judged (fwgate evidence init {} --catalog ... chooses catalogs)",
                a.evidence.display(),
                a.evidence.display()
            );
            fwgate_evidence::program::ProgramPolicy::gate_default()
        }
    };
    let at = match &a.at {
        Some(d) => parse_date("--at", d)?.midnight().assume_utc(),
        None => time::OffsetDateTime::now_utc(),
    };
    let lines = fwgate_evidence::program::status(&ledger, &policy, &a.release, at)?;
    let gaps = if a.json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), &lines)?;
        println!();
        lines
            .iter()
            .filter(|l| {
                matches!(
                    l.state,
                    fwgate_evidence::program::State::Missing
                        | fwgate_evidence::program::State::Stale
                )
            })
            .count()
    } else {
        print_status(&lines)
    };
    if gaps > 0 {
        eprintln!(
            "fwgate: release {}: {gaps} of {} requirement(s) not met",
            a.release,
            lines.len()
        );
        return Ok(Outcome::PolicyFailed);
    }
    Ok(Outcome::Pass)
}

fn verify_bundle(path: &std::path::Path, keys: &[fwgate_sign::PublicKey]) -> Result<Outcome> {
    if keys.is_empty() {
        anyhow::bail!(
            "{}: a bundle is checked against the manufacturer's key: give --key PUBLIC",
            path.display()
        );
    }
    let f = std::fs::File::open(path).with_context(|| format!("{}: open", path.display()))?;
    let (top, files) = fwgate_evidence::bundle::read(f)
        .with_context(|| format!("{}: evidence bundle", path.display()))?;
    let check = fwgate_evidence::bundle::verify(&files, keys)
        .with_context(|| format!("{}: evidence bundle", path.display()))?;
    if check.problems.is_empty() {
        println!(
            "bundle OK: {} ({top}/, release {}): {} file(s) match SHA256SUMS, its signature verifies; ledger of {} record(s), every record signed (through #{})",
            path.display(),
            check.release,
            check.files,
            check.ledger.records,
            check.ledger.signed_through
        );
        return Ok(Outcome::Pass);
    }
    eprintln!("fwgate: bundle {} does not verify:", path.display());
    for p in &check.problems {
        eprintln!("  - {p}");
    }
    Ok(Outcome::PolicyFailed)
}

pub fn bundle(a: BundleArgs) -> Result<Outcome> {
    let key = super::keys::load_secret(&a.key)?;
    if !a.evidence.is_dir() {
        anyhow::bail!("{}: no evidence directory", a.evidence.display());
    }
    let bytes = fwgate_release::bundle(&a.evidence, &a.release, &key)
        .with_context(|| format!("{}: bundling release {}", a.evidence.display(), a.release))?;
    super::write_atomic(&a.output, &bytes)?;
    println!(
        "bundle    {} ({} bytes, {}/): verify with `sha256sum -c SHA256SUMS` and `minisign -Vm SHA256SUMS -p release.pub` inside it (VERIFY.md), or `fwgate evidence verify {} --key PUBLIC`",
        a.output.display(),
        bytes.len(),
        fwgate_evidence::bundle::top_dir(&a.release),
        a.output.display()
    );
    Ok(Outcome::Pass)
}
