//! The release pipeline as a library: what `fwgate gate` does after the scan, callable from a
//! CI plugin or a service with the same result.
//!
//! [`release`] takes the scan report of a release image and
//! 1. records the evidence the gate produces itself: DL-3 (the scan, bound to the image's
//!    SHA-256 and the ruleset digest, with the report kept by digest), DL-4 (its advisory
//!    matches) and DL-6 (findings fixed since the previous release; those suppressed, with
//!    reason, owner and expiry), signing the ledger's head when a key is given and refusing a
//!    ledger that does not verify;
//! 2. judges the policy: the gate's own ([`fwgate_evidence::Policy`]) and, when the evidence
//!    directory has a `policy.toml`, every requirement it names for this release;
//! 3. with a key, writes the verdict as in-toto statements (`IMAGE.intoto.jsonl`) and, on a
//!    pass only, signs the image (`IMAGE.minisig`, and `IMAGE.sig` when asked) and records
//!    DL-9 with the signature and attestation kept as artifacts.
//!
//! [`bundle`] then writes the release's evidence bundle for auditors.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use fwgate_evidence::attest::AttestationInput;
use fwgate_evidence::program::{self, ProgramPolicy, State};
use fwgate_evidence::{EvidenceKind, EvidenceRecord, Ledger, Policy, Verdict};
use fwgate_scan::{Report, TargetKind};
use fwgate_sign::release::{GateStatus, SignOptions, Signed};
use fwgate_sign::SecretKey;

/// What can stop the pipeline (a failed policy is not an error: see [`Released::verdict`]).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The report is not of an image file.
    #[error("{0}: the gate takes a release image file, not a directory")]
    NotAnImage(String),
    /// Evidence could not be read, verified or recorded.
    #[error(transparent)]
    Evidence(#[from] fwgate_evidence::EvidenceError),
    /// Signing or attesting failed.
    #[error(transparent)]
    Sign(#[from] fwgate_sign::SignError),
    /// A document could not be serialised.
    #[error("serialising: {0}")]
    Json(#[from] serde_json::Error),
}

/// What [`release`] needs besides the report.
pub struct ReleaseOptions<'a> {
    /// The image the report is of (signed and attested beside it).
    pub image: &'a Path,
    /// The evidence directory.
    pub evidence: &'a Path,
    /// Release version (`unversioned` in the evidence when not given).
    pub release: Option<&'a str>,
    /// Product name, for the attestation.
    pub product: &'a str,
    /// The gate's policy.
    pub policy: &'a Policy,
    /// Signs the ledger, the attestation and (on a pass) the image.
    pub key: Option<&'a SecretKey>,
    /// Also write a raw Ed25519 signature.
    pub raw: bool,
    /// With these, the image's CycloneDX SBOM is recorded too.
    pub sbom: Option<&'a fwgate_scan::components::sbom::SbomOptions>,
}

/// What [`release`] did.
#[derive(Debug)]
pub struct Released {
    /// The DL-3 record, as stored.
    pub dl3: EvidenceRecord,
    /// The DL-4 record, as stored.
    pub dl4: EvidenceRecord,
    /// The DL-6 record (fixed since the previous release; suppressed), as stored.
    pub dl6: EvidenceRecord,
    /// The DL-9 record (signature and attestation), when the image was signed.
    pub dl9: Option<EvidenceRecord>,
    /// The SBOM record, when SBOM options were given.
    pub sbom: Option<EvidenceRecord>,
    /// The verdict; signing happened only if it passed.
    pub verdict: Verdict,
    /// The image's signatures, on a pass with a key.
    pub signed: Option<Signed>,
    /// The attestation file, with a key.
    pub attestation: Option<PathBuf>,
}

/// A signature file just written (small by construction), read back to keep it.
fn read_small(path: &Path) -> Result<Vec<u8>, ReleaseError> {
    std::fs::read(path).map_err(|e| {
        ReleaseError::Evidence(fwgate_evidence::EvidenceError::Io {
            path: path.to_path_buf(),
            op: "read signature",
            source: e,
        })
    })
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// The policy file's gaps for `release`, as verdict reasons with the command that fills each.
/// With a key, DL-9 (the signature) is not a gap: the pipeline records it when it signs.
fn program_gaps(
    ledger: &Ledger,
    evidence: &Path,
    release: &str,
    signing: bool,
) -> Result<Vec<String>, ReleaseError> {
    let Some(program) = ProgramPolicy::load(evidence)? else {
        return Ok(Vec::new());
    };
    Ok(program::status(ledger, &program, release, now())?
        .into_iter()
        .filter(|l| matches!(l.state, State::Missing | State::Stale))
        .filter(|l| !(signing && l.id == EvidenceKind::Signature.requirement()))
        .map(|l| {
            format!(
                "{} ({}): {}{}",
                l.id,
                l.title,
                l.why,
                l.fix.map(|f| format!("; fix: {f}")).unwrap_or_default()
            )
        })
        .collect())
}

/// Records, judges, attests and signs one release image from its scan `report`.
pub fn release(report: &Report, o: &ReleaseOptions<'_>) -> Result<Released, ReleaseError> {
    if report.target.kind != TargetKind::Image {
        return Err(ReleaseError::NotAnImage(o.image.display().to_string()));
    }
    let rel = o.release.unwrap_or("unversioned");
    let ledger = Ledger::open(o.evidence)?;
    let artifact = ledger.store("scan-report", "json", &serde_json::to_vec_pretty(report)?)?;
    let policy_artifact = ledger.store(
        "policy",
        "json",
        &serde_json::to_vec_pretty(&o.policy.document())?,
    )?;
    let scan_verdict = o.policy.judge_scan(report);
    let (dl3, _) = ledger.append_signed(
        EvidenceRecord::static_analysis(
            report,
            rel,
            scan_verdict.passed(),
            o.policy,
            artifact.clone(),
        ),
        now(),
        o.key,
    )?;
    let (dl4, _) = ledger.append_signed(
        EvidenceRecord::vulnerability_scan(report, rel, o.policy, artifact.clone()),
        now(),
        o.key,
    )?;
    // DL-6: what the latest scan of another release found that this one does not, and
    // what is suppressed, with reason, owner and expiry.
    let previous = ledger
        .records()?
        .into_iter()
        .rev()
        .find(|r| r.kind == EvidenceKind::StaticAnalysis && r.release != rel);
    let previous_report = match previous.as_ref().and_then(|r| r.artifacts.first()) {
        Some(a) => Some(serde_json::from_slice::<Report>(&ledger.read_artifact(a)?)?),
        None => None,
    };
    let (dl6, _) = ledger.append_signed(
        EvidenceRecord::remediation(
            report,
            rel,
            previous.as_ref().zip(previous_report.as_ref()),
            artifact.clone(),
        ),
        now(),
        o.key,
    )?;
    let sbom = match o.sbom {
        Some(opts) => {
            let mut bytes =
                serde_json::to_vec_pretty(&fwgate_scan::components::sbom::document(report, opts))?;
            bytes.push(b'\n');
            let a = ledger.store("sbom", "json", &bytes)?;
            Some(
                ledger
                    .append_signed(EvidenceRecord::sbom(report, rel, a), now(), o.key)?
                    .0,
            )
        }
        None => None,
    };
    let mut verdict = o.policy.judge_release(report, &ledger)?;
    verdict
        .reasons
        .extend(program_gaps(&ledger, o.evidence, rel, o.key.is_some())?);

    let mut signed = None;
    let mut attestation = None;
    let mut dl9 = None;
    if let Some(key) = o.key {
        if verdict.passed() {
            signed = Some(fwgate_sign::release::sign_image(
                o.image,
                key,
                &SignOptions {
                    release: o.release,
                    gate: GateStatus::Passed {
                        ruleset_digest: report.ruleset_digest.clone(),
                        evidence: format!("{}#{}", dl3.requirement, dl3.seq),
                    },
                    expect_sha256: Some(&report.target.subject.sha256),
                    raw: o.raw,
                    output: None,
                },
            )?);
        }
        let statements = fwgate_evidence::attest::statements(&AttestationInput {
            report,
            policy: o.policy,
            verdict: &verdict,
            product: o.product,
            release: rel,
            report_artifact: &artifact,
            policy_artifact: &policy_artifact,
            time: now(),
        });
        let mut jsonl = String::new();
        for st in &statements {
            let env = fwgate_sign::dsse::sign_statement(key, st)?;
            jsonl.push_str(&serde_json::to_string(&env)?);
            jsonl.push('\n');
        }
        let path = fwgate_sign::release::beside(o.image, ".intoto.jsonl");
        fwgate_sign::write_atomic(&path, jsonl.as_bytes())?;
        attestation = Some(path);
        // DL-9: the released image's signature and attestation, kept with the evidence.
        if let Some(s) = &signed {
            let mut artifacts = vec![
                ledger.store("minisig", "minisig", &read_small(&s.minisig)?)?,
                ledger.store("attestation", "jsonl", jsonl.as_bytes())?,
            ];
            if let Some(raw) = &s.raw {
                artifacts.push(ledger.store("raw-signature", "sig", &read_small(raw)?)?);
            }
            let (rec, _) = ledger.append_signed(
                EvidenceRecord::signature(report, rel, &key.id.to_string(), artifacts),
                now(),
                Some(key),
            )?;
            dl9 = Some(rec);
        }
    }
    Ok(Released {
        dl3,
        dl4,
        dl6,
        dl9,
        sbom,
        verdict,
        signed,
        attestation,
    })
}

/// The release's evidence bundle (see [`fwgate_evidence::bundle`]), signed with `key`.
pub fn bundle(evidence: &Path, release: &str, key: &SecretKey) -> Result<Vec<u8>, ReleaseError> {
    let ledger = Ledger::open(evidence)?;
    Ok(fwgate_evidence::bundle::build(&ledger, release, key)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scan(image: &Path, work: &Path) -> Report {
        let rules = fwgate_scan::RuleSet::embedded().unwrap();
        fwgate_scan::scan_image(
            image,
            work,
            &rules,
            fwgate_unpack::Limits::default(),
            &mut |_| {},
        )
        .unwrap()
        .1
    }

    #[test]
    fn a_clean_image_is_recorded_attested_and_signed_and_a_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("clean.bin");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../firmware-samples/clean.bin"
            ),
            &image,
        )
        .unwrap();
        let report = scan(&image, &tmp.path().join("work"));
        let key = SecretKey::from_seed(&[3; 32], fwgate_sign::KeyId([3; 8]));
        let policy = Policy::default();
        let o = ReleaseOptions {
            image: &image,
            evidence: &tmp.path().join("ev"),
            release: Some("1.0"),
            product: "acme",
            policy: &policy,
            key: Some(&key),
            raw: false,
            sbom: None,
        };
        let done = release(&report, &o).unwrap();
        assert!(done.verdict.passed(), "{:?}", done.verdict.reasons);
        assert_eq!((done.dl3.seq, done.dl4.seq, done.dl6.seq), (1, 2, 3));
        assert_eq!(done.dl6.requirement, "DL-6");
        let dl9 = done.dl9.as_ref().unwrap();
        assert_eq!((dl9.requirement.as_str(), dl9.seq), ("DL-9", 4));
        let roles: Vec<&str> = dl9.artifacts.iter().map(|a| a.role.as_str()).collect();
        assert_eq!(roles, ["minisig", "attestation"]);
        assert_eq!(done.dl3.requirement, "DL-3");
        assert_eq!(done.dl4.requirement, "DL-4");
        let signed = done.signed.unwrap();
        let sig = std::fs::read_to_string(&signed.minisig).unwrap();
        let mut f = std::fs::File::open(&image).unwrap();
        let v = fwgate_sign::verify(&key.public(), &sig, &mut f, false).unwrap();
        assert!(
            v.trusted_comment.contains("gate:passed")
                && v.trusted_comment.contains("evidence:DL-3#1")
        );
        assert!(done.attestation.unwrap().is_file());
        let ledger = Ledger::open(&tmp.path().join("ev")).unwrap();
        assert!(ledger.verify(&[key.public()]).unwrap().is_ok());
        let tar = bundle(&tmp.path().join("ev"), "1.0", &key).unwrap();
        let (_, files) = fwgate_evidence::bundle::read(tar.as_slice()).unwrap();
        assert!(fwgate_evidence::bundle::verify(&files, &[key.public()])
            .unwrap()
            .problems
            .is_empty());

        // A policy failure is a verdict, not an error, and nothing is signed.
        let strict = Policy {
            fail_on: fwgate_scan::Severity::Info,
            ..Policy::default()
        };
        std::fs::remove_file(&signed.minisig).unwrap();
        let done = release(
            &report,
            &ReleaseOptions {
                policy: &strict,
                ..o
            },
        )
        .unwrap();
        assert!(!done.verdict.passed() && done.signed.is_none());
        assert!(!signed.minisig.exists());

        let mut dir_report = report.clone();
        dir_report.target.kind = TargetKind::Directory;
        assert!(matches!(
            release(&dir_report, &o),
            Err(ReleaseError::NotAnImage(_))
        ));
    }

    #[test]
    fn the_remediation_record_names_what_was_fixed_since_the_previous_release_and_what_is_suppressed(
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../firmware-samples/");
        let ev = tmp.path().join("ev");
        let policy = Policy::default();
        let run = |name: &str, release: &str, suppress: bool| {
            let image = tmp.path().join(name);
            std::fs::copy(format!("{samples}{name}"), &image).unwrap();
            let mut report = scan(&image, &tmp.path().join(format!("work-{release}")));
            if suppress {
                let f = report.findings.first_mut().unwrap();
                f.suppression = Some(fwgate_scan::Suppression {
                    reason: "reviewed".into(),
                    owner: "psirt@example.com".into(),
                    expires: "2099-01-01".into(),
                    source: "s.toml#1".into(),
                });
            }
            release_once(&report, &image, &ev, release, &policy)
        };
        let first = run("router.bin", "0.9", false);
        assert!(first.dl6.details["previous"].is_null());
        let second = run("clean.bin", "1.0", true);
        let d = &second.dl6.details;
        assert_eq!(d["previous"]["release"], "0.9");
        assert_eq!(d["previous"]["record"], first.dl3.seq);
        // Router's planted problems are gone from the clean image.
        let fixed: Vec<&str> = d["fixed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(
            fixed.contains(&"FWG-CRED-001") && fixed.contains(&"FWG-SVC-001"),
            "{fixed:?}"
        );
        assert_eq!(d["suppressed"][0]["owner"], "psirt@example.com");
        assert_eq!(d["suppressed"][0]["expires"], "2099-01-01");
    }

    fn release_once(
        report: &Report,
        image: &Path,
        ev: &Path,
        release: &str,
        policy: &Policy,
    ) -> Released {
        super::release(
            report,
            &ReleaseOptions {
                image,
                evidence: ev,
                release: Some(release),
                product: "acme",
                policy,
                key: None,
                raw: false,
                sbom: None,
            },
        )
        .unwrap()
    }
}
