//! `fwgate gate`: unpack, scan, record DL-3 evidence, judge the policy, sign on pass.

use anyhow::{Context, Result};
use fwgate_evidence::attest::AttestationInput;
use fwgate_evidence::{EvidenceRecord, Ledger, Policy};
use fwgate_report::Format;
use fwgate_sign::release::{GateStatus, SignOptions};

use crate::args::GateArgs;
use crate::Outcome;

pub fn run(a: GateArgs) -> Result<Outcome> {
    // Load the key first: a wrong password should fail before minutes of scanning.
    let key = a.key.as_deref().map(super::keys::load_secret).transpose()?;
    let rules = super::load_check_rules(&a.check)?;
    super::scan::check_inputs(&a.check)?;
    let (mut report, _guard) = super::scan::scan_target(
        &a.image,
        a.check.workdir.as_deref(),
        &rules,
        a.check.limits.limits(),
    )?;
    super::scan::review(&mut report, &a.check)?;
    if report.target.kind != fwgate_scan::TargetKind::Image {
        anyhow::bail!(
            "{}: the gate takes a release image file, not a directory",
            a.image.display()
        );
    }
    let policy = a.check.policy(Policy::default().require);
    let release = a
        .release
        .clone()
        .unwrap_or_else(|| "unversioned".to_string());

    // Evidence for DL-3: this scan of this image, with the report kept by digest.
    let ledger = Ledger::open(&a.evidence)
        .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;
    let report_json = serde_json::to_vec_pretty(&report)?;
    let artifact = ledger.store("scan-report", "json", &report_json)?;
    let policy_artifact = ledger.store(
        "policy",
        "json",
        &serde_json::to_vec_pretty(&policy.document())?,
    )?;
    let scan_verdict = policy.judge_scan(&report);
    let record = EvidenceRecord::static_analysis(
        &report,
        &release,
        scan_verdict.passed(),
        &policy,
        artifact.clone(),
    );
    // With a key, the new head is signed (a checkpoint); a ledger that does not verify is
    // refused before anything is appended.
    let (record, _) = ledger
        .append_signed(record, time::OffsetDateTime::now_utc(), key.as_ref())
        .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;
    // DL-4 from the same scan: its advisory matches.
    let (vuln_record, _) = ledger
        .append_signed(
            EvidenceRecord::vulnerability_scan(&report, &release, &policy, artifact.clone()),
            time::OffsetDateTime::now_utc(),
            key.as_ref(),
        )
        .with_context(|| format!("{}: evidence directory", a.evidence.display()))?;

    let mut stdout = std::io::stdout().lock();
    fwgate_report::render(&report, Format::Text, &mut stdout)?;
    for (path, format) in [(&a.sarif, Format::Sarif), (&a.json, Format::Json)] {
        if let Some(path) = path {
            let mut buf = Vec::new();
            fwgate_report::render(&report, format, &mut buf)?;
            super::write_atomic(path, &buf)?;
        }
    }
    println!(
        "evidence  DL-3 recorded as #{} ({}) in {}",
        record.seq,
        serde_json::to_string(&record.outcome)?.trim_matches('"'),
        a.evidence.display()
    );

    println!(
        "evidence  DL-4 recorded as #{} ({})",
        vuln_record.seq,
        serde_json::to_string(&vuln_record.outcome)?.trim_matches('"'),
    );

    let mut verdict = policy.judge_release(&report, &ledger)?;
    // With a security-program policy in the evidence directory, every requirement it names
    // must be met for this release.
    if let Some(program) = fwgate_evidence::program::ProgramPolicy::load(&a.evidence)? {
        let lines = fwgate_evidence::program::status(
            &ledger,
            &program,
            &release,
            time::OffsetDateTime::now_utc(),
        )?;
        for l in lines.iter().filter(|l| {
            matches!(
                l.state,
                fwgate_evidence::program::State::Missing | fwgate_evidence::program::State::Stale
            )
        }) {
            verdict.reasons.push(format!(
                "{} ({}): {}{}",
                l.id,
                l.title,
                l.why,
                l.fix
                    .as_deref()
                    .map(|f| format!("; fix: {f}"))
                    .unwrap_or_default()
            ));
        }
    }
    let product = a.product.clone().unwrap_or_else(|| {
        a.image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "firmware".into())
    });
    let attest = |key: &fwgate_sign::SecretKey| -> Result<()> {
        let statements = fwgate_evidence::attest::statements(&AttestationInput {
            report: &report,
            policy: &policy,
            verdict: &verdict,
            product: &product,
            release: &release,
            report_artifact: &artifact,
            policy_artifact: &policy_artifact,
            time: time::OffsetDateTime::now_utc(),
        });
        let mut jsonl = String::new();
        for st in &statements {
            let env = fwgate_sign::dsse::sign_statement(key, st)?;
            jsonl.push_str(&serde_json::to_string(&env)?);
            jsonl.push('\n');
        }
        let path = fwgate_sign::release::beside(&a.image, ".intoto.jsonl");
        fwgate_sign::write_atomic(&path, jsonl.as_bytes())?;
        println!(
            "attested  {} (SLSA verification summary {}, in-toto test result; key {})",
            path.display(),
            if verdict.passed() { "PASSED" } else { "FAILED" },
            key.id
        );
        Ok(())
    };
    if !verdict.passed() {
        println!(
            "gate      FAIL for {} {release}: not signed",
            report.target.subject.name
        );
        for r in &verdict.reasons {
            println!("  - {r}");
        }
        if let Some(key) = &key {
            attest(key)?;
        }
        return Ok(Outcome::PolicyFailed);
    }
    println!(
        "gate      PASS for {} {release}",
        report.target.subject.name
    );
    match &key {
        Some(key) => {
            let signed = fwgate_sign::release::sign_image(
                &a.image,
                key,
                &SignOptions {
                    release: a.release.as_deref(),
                    gate: GateStatus::Passed {
                        ruleset_digest: report.ruleset_digest.clone(),
                        evidence: format!("{}#{}", record.requirement, record.seq),
                    },
                    expect_sha256: Some(&report.target.subject.sha256),
                    raw: a.raw,
                    output: None,
                },
            )?;
            println!("signed    {} (key {})", signed.minisig.display(), key.id);
            if let Some(raw) = &signed.raw {
                println!("signed    {} (raw Ed25519)", raw.display());
            }
            attest(key)?;
        }
        None => println!("signed    no (give --key to sign on pass)"),
    }
    Ok(Outcome::Pass)
}
