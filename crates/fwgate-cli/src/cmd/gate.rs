//! `fwgate gate`: unpack and scan, then the release pipeline (`fwgate_release`): record DL-3
//! and DL-4 evidence, judge the policy, attest, sign on pass.

use anyhow::Result;
use fwgate_evidence::Policy;
use fwgate_report::Format;

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
    let policy = a.check.policy(Policy::default().require);
    let product = a.product.clone().unwrap_or_else(|| {
        a.image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "firmware".into())
    });
    let sbom = match a.manufacturer.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(super::sbom::sbom_options(
            &report,
            &a.image,
            m,
            None,
            a.release.as_deref(),
            false,
        )?),
        None => None,
    };
    let done = fwgate_release::release(
        &report,
        &fwgate_release::ReleaseOptions {
            image: &a.image,
            evidence: &a.evidence,
            release: a.release.as_deref(),
            product: &product,
            policy: &policy,
            key: key.as_ref(),
            raw: a.raw,
            sbom: sbom.as_ref(),
        },
    )
    .map_err(|e| match e {
        fwgate_release::ReleaseError::NotAnImage(_) => anyhow::Error::new(e),
        other => anyhow::Error::new(other)
            .context(format!("{}: evidence directory", a.evidence.display())),
    })?;

    let mut stdout = std::io::stdout().lock();
    fwgate_report::render(&report, Format::Text, &mut stdout)?;
    drop(stdout);
    for (path, format) in [(&a.sarif, Format::Sarif), (&a.json, Format::Json)] {
        if let Some(path) = path {
            let mut buf = Vec::new();
            fwgate_report::render(&report, format, &mut buf)?;
            super::write_atomic(path, &buf)?;
        }
    }
    for r in [&done.dl3, &done.dl4, &done.dl6] {
        println!(
            "evidence  {} recorded as #{} ({}) in {}",
            r.requirement,
            r.seq,
            serde_json::to_string(&r.outcome)?.trim_matches('"'),
            a.evidence.display()
        );
    }
    let release = a.release.as_deref().unwrap_or("unversioned");
    let name = &report.target.subject.name;
    if done.verdict.passed() {
        println!("gate      PASS for {name} {release}");
    } else {
        println!("gate      FAIL for {name} {release}: not signed");
        for r in &done.verdict.reasons {
            println!("  - {r}");
        }
    }
    if let (Some(signed), Some(key)) = (&done.signed, &key) {
        println!("signed    {} (key {})", signed.minisig.display(), key.id);
        if let Some(raw) = &signed.raw {
            println!("signed    {} (raw Ed25519)", raw.display());
        }
    } else if done.verdict.passed() {
        println!("signed    no (give --key to sign on pass)");
    }
    if let Some(r) = &done.sbom {
        println!(
            "evidence  {} recorded as #{} (CycloneDX SBOM)",
            r.requirement, r.seq
        );
    }
    if let Some(r) = &done.dl9 {
        println!(
            "evidence  {} recorded as #{} (signature and attestation)",
            r.requirement, r.seq
        );
    }
    if let (Some(path), Some(key)) = (&done.attestation, &key) {
        println!(
            "attested  {} (SLSA verification summary {}, in-toto test result; key {})",
            path.display(),
            if done.verdict.passed() {
                "PASSED"
            } else {
                "FAILED"
            },
            key.id
        );
    }
    Ok(if done.verdict.passed() {
        Outcome::Pass
    } else {
        Outcome::PolicyFailed
    })
}
