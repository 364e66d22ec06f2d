//! `fwgate keygen`, `sign`, `verify`, `key …` and `digest`: flags in, the sign crate's API
//! out.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fwgate_evidence::{Ledger, Outcome as EvidenceOutcome};
use fwgate_sign::release::{self, GateStatus, SignOptions};
use fwgate_sign::trust::TrustStore;
use fwgate_sign::{pem, trust, KeyId, PublicKey, SecretKey, SignError, Zeroizing};

use crate::args::{
    DigestAlgorithm, DigestArgs, KeyExportArgs, KeyImportArgs, KeyRevokeArgs, KeyRotateArgs,
    KeygenArgs, SignArgs, VerifyArgs,
};
use crate::Outcome;

/// The environment variable an encrypted key's password is read from when set.
pub const PASSWORD_ENV: &str = "FWGATE_KEY_PASSWORD";
/// The password for a key `key rotate` makes.
const NEW_PASSWORD_ENV: &str = "FWGATE_NEW_KEY_PASSWORD";
/// The password `key export --pkcs8` encrypts with.
const EXPORT_PASSWORD_ENV: &str = "FWGATE_EXPORT_PASSWORD";
/// The password of a PKCS#8 file `key import` reads.
const IMPORT_PASSWORD_ENV: &str = "FWGATE_IMPORT_PASSWORD";

/// A password from `env` if set, else asked on the terminal (twice with `confirm`).
fn password(env: &str, prompt: &str, confirm: bool) -> fwgate_sign::Result<Zeroizing<Vec<u8>>> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p.into_bytes()));
    }
    let ask = |p: &str| rpassword::prompt_password(p).map(|s| Zeroizing::new(s.into_bytes()));
    let io = |e| SignError::Io {
        path: PathBuf::from("/dev/tty"),
        op: "read password (or set the environment variable)",
        source: e,
    };
    let first = ask(&format!("{prompt} [{env}]: ")).map_err(io)?;
    if confirm {
        let again = ask("Password (again): ").map_err(io)?;
        if *again != *first {
            return Err(SignError::BadPassword);
        }
    }
    Ok(first)
}

fn plain_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        bail!("the key name must be a plain file name, not {name:?}");
    }
    Ok(())
}

/// Writes NAME.key, NAME.pub and NAME.pem for `sk` in `dir`, refusing to overwrite any.
fn write_key_files(
    sk: &SecretKey,
    dir: &Path,
    name: &str,
    password: Option<&[u8]>,
) -> Result<[PathBuf; 3]> {
    plain_name(name)?;
    fs::create_dir_all(dir).with_context(|| format!("{}: create", dir.display()))?;
    let paths = ["key", "pub", "pem"].map(|ext| dir.join(format!("{name}.{ext}")));
    for p in &paths {
        if p.exists() {
            bail!(
                "{} already exists; refusing to overwrite a key",
                p.display()
            );
        }
    }
    let text = sk.to_file_text(password)?;
    let pem = pem::public_to_pem(&sk.public())?;
    fwgate_sign::write_new(&paths[0], text.as_bytes(), 0o600)?;
    fwgate_sign::write_new(&paths[1], sk.public().to_file_text().as_bytes(), 0o644)?;
    fwgate_sign::write_new(&paths[2], pem.as_bytes(), 0o644)?;
    Ok(paths)
}

fn print_key_files(sk: &SecretKey, paths: &[PathBuf; 3], encrypted: bool) {
    println!("key id      {}", sk.id);
    println!(
        "secret key  {} (mode 0600, {})",
        paths[0].display(),
        if encrypted {
            "scrypt-encrypted"
        } else {
            "unencrypted"
        }
    );
    println!("public key  {} (minisign)", paths[1].display());
    println!("public key  {} (SPKI PEM, for OpenSSL)", paths[2].display());
}

fn new_password(unencrypted: bool, env: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if unencrypted {
        return Ok(None);
    }
    let pw = password(env, "Password for the new key", true)?;
    if pw.is_empty() {
        return Err(SignError::EmptyPassword.into());
    }
    Ok(Some(pw))
}

pub fn keygen(a: KeygenArgs) -> Result<Outcome> {
    plain_name(&a.name)?;
    let pw = new_password(a.unencrypted, PASSWORD_ENV)?;
    let sk = SecretKey::generate()?;
    let paths = write_key_files(&sk, &a.out_dir, &a.name, pw.as_ref().map(|p| p.as_slice()))?;
    print_key_files(&sk, &paths, pw.is_some());
    println!("verify with minisign -Vm IMAGE -p {}", paths[1].display());
    Ok(Outcome::Pass)
}

pub fn load_secret(path: &Path) -> Result<SecretKey> {
    let text = fwgate_sign::read_secret(path)?;
    SecretKey::from_file_text(&text, || {
        password(
            PASSWORD_ENV,
            &format!("Password for {}", path.display()),
            false,
        )
    })
    .with_context(|| format!("{}: loading secret key", path.display()))
}

pub fn load_public(path: &Path) -> Result<PublicKey> {
    let meta =
        fs::metadata(path).with_context(|| format!("{}: read public key", path.display()))?;
    if meta.len() > 64 * 1024 {
        bail!("{}: too large for a public key", path.display());
    }
    let text =
        fs::read_to_string(path).with_context(|| format!("{}: read public key", path.display()))?;
    PublicKey::from_any_text(&text).with_context(|| format!("{}: public key", path.display()))
}

/// The gate's verdict on this exact image, from the evidence directory: what the signature's
/// trusted comment will say, or why signing is refused.
fn gate_status(evidence: &Path, image: &Path, key: &SecretKey) -> Result<GateStatus> {
    let hint = "run `fwgate gate` on it first, or sign with --without-gate";
    let mut f = fs::File::open(image).with_context(|| format!("{}: open", image.display()))?;
    let sha = fwgate_sign::FileDigests::compute_some(&mut f, fwgate_sign::Algorithms::Sha256)
        .with_context(|| format!("{}: read", image.display()))?
        .sha256;
    if !evidence.join("ledger.jsonl").is_file() {
        bail!(
            "{}: no gate evidence in {} for this image (sha256 {sha}); {hint}",
            image.display(),
            evidence.display()
        );
    }
    let ledger = Ledger::open(evidence)
        .with_context(|| format!("{}: evidence directory", evidence.display()))?;
    // Checked with the signing key: a record changed since a checkpoint, a truncated ledger
    // or a checkpoint another key made vouches for nothing. Records the gate appended without
    // a key are countersigned now: the release engineer vouches for the chain as it stands.
    let check = ledger
        .countersign(key, time::OffsetDateTime::now_utc())
        .with_context(|| format!("{}: evidence directory", evidence.display()))?;
    if !check.problems.is_empty() {
        bail!(
            "{}: the evidence does not verify, so it cannot vouch for a gate: {}",
            evidence.display(),
            check.problems.join("; ")
        );
    }
    let Some(rec) = ledger.latest_for("DL-3", &sha)? else {
        bail!(
            "{}: no gate evidence in {} for this image (sha256 {sha}); {hint}",
            image.display(),
            evidence.display()
        );
    };
    if rec.outcome != EvidenceOutcome::Pass {
        bail!(
            "{}: the latest gate for this image (sha256 {sha}, evidence #{} of {}) failed; not signed",
            image.display(),
            rec.seq,
            rec.recorded_at
        );
    }
    Ok(GateStatus::Passed {
        ruleset_digest: rec.details["ruleset_digest"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        evidence: format!("{}#{}", rec.requirement, rec.seq),
    })
}

pub fn sign(a: SignArgs) -> Result<Outcome> {
    let key = load_secret(&a.key)?;
    let gate = if a.without_gate {
        GateStatus::WithoutGate
    } else {
        gate_status(&a.evidence, &a.image, &key)?
    };
    let signed = release::sign_image(
        &a.image,
        &key,
        &SignOptions {
            release: a.release.as_deref(),
            gate,
            expect_sha256: None,
            raw: a.raw,
            output: a.output.as_deref(),
        },
    )?;
    println!("signed      {} with key {}", a.image.display(), key.id);
    println!("signature   {}", signed.minisig.display());
    if let Some(raw) = &signed.raw {
        println!(
            "raw sig     {} (Ed25519, for openssl pkeyutl -rawin)",
            raw.display()
        );
    }
    println!("trusted     {}", signed.trusted_comment);
    Ok(Outcome::Pass)
}

/// Errors that mean "this does not verify" (exit 1), as opposed to "could not check" (exit 2).
fn is_rejection(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<SignError>(),
            Some(
                SignError::BadSignature(_)
                    | SignError::WrongKey { .. }
                    | SignError::Revoked { .. }
                    | SignError::RotatedAway { .. }
                    | SignError::WrongFile { .. }
                    | SignError::Legacy
                    | SignError::Format { .. }
            )
        )
    })
}

pub fn verify(a: VerifyArgs) -> Result<Outcome> {
    match verify_inner(&a) {
        Ok(o) => Ok(o),
        Err(e) if is_rejection(&e) => {
            eprintln!("fwgate: {}: REJECTED: {e:#}", a.image.display());
            Ok(Outcome::PolicyFailed)
        }
        Err(e) => Err(e),
    }
}

fn verify_inner(a: &VerifyArgs) -> Result<Outcome> {
    let root = load_public(&a.key)?;
    let store = match &a.trust {
        Some(dir) => TrustStore::load(dir, root)
            .with_context(|| format!("{}: trust directory", dir.display()))?,
        None => TrustStore::pinned(root),
    };
    let key_is_pem = fs::read(&a.key)
        .map(|b| b.trim_ascii_start().starts_with(b"-----BEGIN"))
        .unwrap_or(false);
    let minisig = release::beside(&a.image, ".minisig");
    let raw = release::beside(&a.image, ".sig");
    let sig_path = match &a.sig {
        Some(p) => Some(p.clone()),
        None if key_is_pem && raw.exists() => Some(raw),
        None if minisig.exists() => Some(minisig),
        None if raw.exists() => Some(raw),
        // With only an attestation to check, a missing signature is not an error.
        None if a.attestation.is_some() => None,
        None => bail!(
            "{}: no signature found ({} or {}); give --sig FILE",
            a.image.display(),
            minisig.display(),
            raw.display()
        ),
    };
    let mut sha256 = None;
    if let Some(sig_path) = sig_path {
        let v = release::verify_image(&a.image, &sig_path, &store, a.allow_legacy)
            .with_context(|| format!("signature {}", sig_path.display()))?;
        let kind = match v.kind {
            release::SignatureKind::Minisign => "minisign",
            release::SignatureKind::MinisignLegacy => "minisign legacy (non-prehashed)",
            release::SignatureKind::Raw => "raw Ed25519",
        };
        println!(
            "signature OK: {} signed by key {} ({kind}, {})",
            a.image.display(),
            v.key_id,
            sig_path.display()
        );
        if let Some(tc) = &v.trusted_comment {
            println!("trusted comment: {tc}");
        }
        sha256 = Some(v.sha256);
    }
    let Some(att) = &a.attestation else {
        return Ok(Outcome::Pass);
    };
    let sha256 = match sha256 {
        Some(s) => s,
        None => {
            let mut f =
                fs::File::open(&a.image).with_context(|| format!("{}: open", a.image.display()))?;
            fwgate_sign::FileDigests::compute_some(&mut f, fwgate_sign::Algorithms::Sha256)
                .with_context(|| format!("{}: read", a.image.display()))?
                .sha256
        }
    };
    let meta = fs::metadata(att).with_context(|| format!("{}: read", att.display()))?;
    if meta.len() > 64 << 20 {
        bail!("{}: too large for an attestation file", att.display());
    }
    let text = fs::read_to_string(att).with_context(|| format!("{}: read", att.display()))?;
    let name = a
        .image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let verified = release::verify_attestations(&text, &name, &sha256, &store)
        .with_context(|| format!("attestation {}", att.display()))?;
    let mut passed = true;
    for v in &verified {
        let result = v.result.as_deref().unwrap_or("(no verdict)");
        println!(
            "attestation OK: {} by key {}: {result}",
            v.predicate_type, v.key_id
        );
        if v.predicate_type == fwgate_evidence::attest::VSA_V1 {
            passed &= result == "PASSED";
            if let Some(levels) = v.predicate["verifiedLevels"].as_array() {
                let levels: Vec<&str> = levels.iter().filter_map(|l| l.as_str()).collect();
                println!("  levels: {}", levels.join(", "));
            }
            if let Some(uri) = v.predicate["resourceUri"].as_str() {
                println!("  release: {uri}");
            }
        }
        if let Some(failed) = v.predicate["failedTests"].as_array() {
            for t in failed.iter().filter_map(|t| t.as_str()) {
                println!("  failed: {t}");
            }
        }
    }
    if !verified
        .iter()
        .any(|v| v.predicate_type == fwgate_evidence::attest::VSA_V1)
    {
        println!("verdict: no verification summary in the attestations");
        return Ok(Outcome::PolicyFailed);
    }
    println!(
        "verdict: {}",
        if passed {
            "PASSED (the gate passed this image)"
        } else {
            "FAILED (the gate did not pass this image)"
        }
    );
    Ok(if passed {
        Outcome::Pass
    } else {
        Outcome::PolicyFailed
    })
}

pub fn export(a: KeyExportArgs) -> Result<Outcome> {
    let text = if a.spki {
        let raw =
            fs::read_to_string(&a.key).with_context(|| format!("{}: read key", a.key.display()))?;
        let pk = match PublicKey::from_any_text(&raw) {
            Ok(pk) => pk,
            Err(_) => load_secret(&a.key)?.public(),
        };
        Zeroizing::new(pem::public_to_pem(&pk)?)
    } else {
        let sk = load_secret(&a.key)?;
        let pw = password(EXPORT_PASSWORD_ENV, "Password for the PKCS#8 file", true)?;
        pem::secret_to_pkcs8_pem(&sk, &pw)?
    };
    let mode = if a.pkcs8 { 0o600 } else { 0o644 };
    fwgate_sign::write_new(&a.output, text.as_bytes(), mode)?;
    println!(
        "wrote {} ({})",
        a.output.display(),
        if a.pkcs8 {
            "encrypted PKCS#8: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC; mode 0600"
        } else {
            "SPKI PEM public key"
        }
    );
    Ok(Outcome::Pass)
}

fn parse_key_id(s: &str) -> Result<KeyId> {
    let s = s.trim();
    if s.len() != 16 {
        bail!("key id {s:?}: expected 16 hex digits");
    }
    let n = u64::from_str_radix(s, 16).with_context(|| format!("key id {s:?}: not hex"))?;
    Ok(KeyId(n.to_le_bytes()))
}

pub fn import(a: KeyImportArgs) -> Result<Outcome> {
    plain_name(&a.name)?;
    let meta = fs::metadata(&a.file).with_context(|| format!("{}: read", a.file.display()))?;
    if meta.len() > 1 << 20 {
        bail!("{}: too large for a key file", a.file.display());
    }
    let bytes =
        Zeroizing::new(fs::read(&a.file).with_context(|| format!("{}: read", a.file.display()))?);
    let id = a.key_id.as_deref().map(parse_key_id).transpose()?;
    let is_minisign = bytes.starts_with(b"untrusted comment:");
    let mut sk = if is_minisign {
        let text = String::from_utf8_lossy(&bytes);
        SecretKey::from_file_text(&text, || {
            password(
                IMPORT_PASSWORD_ENV,
                &format!("Password for {}", a.file.display()),
                false,
            )
        })
    } else {
        pem::secret_from_pkcs8(&bytes, id, || {
            password(
                IMPORT_PASSWORD_ENV,
                &format!("Password for {}", a.file.display()),
                false,
            )
        })
    }
    .with_context(|| format!("{}: reading the key", a.file.display()))?;
    if let (true, Some(id)) = (is_minisign, id) {
        sk = SecretKey::from_seed(&sk.seed(), id);
    }
    let pw = new_password(a.unencrypted, PASSWORD_ENV)?;
    let paths = write_key_files(&sk, &a.out_dir, &a.name, pw.as_ref().map(|p| p.as_slice()))?;
    print_key_files(&sk, &paths, pw.is_some());
    Ok(Outcome::Pass)
}

pub fn rotate(a: KeyRotateArgs) -> Result<Outcome> {
    let old = load_secret(&a.old)?;
    let new = match &a.endorse {
        Some(p) => load_public(p)?,
        None => {
            let dir = a.out_dir.clone().unwrap_or_else(|| {
                a.old
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."))
            });
            let name = a.new_name.as_deref().unwrap_or_default();
            plain_name(name)?;
            let pw = new_password(a.unencrypted, NEW_PASSWORD_ENV)?;
            let sk = SecretKey::generate()?;
            let paths = write_key_files(&sk, &dir, name, pw.as_ref().map(|p| p.as_slice()))?;
            print_key_files(&sk, &paths, pw.is_some());
            sk.public()
        }
    };
    let path = trust::rotate(&old, &new, &a.trust, time::OffsetDateTime::now_utc())?;
    println!(
        "rotation    key {} endorses key {} from now",
        old.id, new.id
    );
    println!(
        "statement   {} (+ .minisig, signed by {})",
        path.display(),
        old.id
    );
    println!(
        "verify with fwgate verify IMAGE --key ROOT.pub --trust {}",
        a.trust.display()
    );
    Ok(Outcome::Pass)
}

pub fn revoke(a: KeyRevokeArgs) -> Result<Outcome> {
    let ids = a
        .revoke
        .iter()
        .map(|s| parse_key_id(s))
        .collect::<Result<Vec<_>>>()?;
    if a.reason.trim().is_empty() {
        bail!("--reason must say why the key is revoked");
    }
    let signer = load_secret(&a.key)?;
    let path = trust::revoke(
        &signer,
        &ids,
        &a.reason,
        &a.trust,
        time::OffsetDateTime::now_utc(),
    )?;
    for id in &ids {
        println!("revoked     key {id}: {}", a.reason);
    }
    println!(
        "list        {} (+ .minisig, signed by {})",
        path.display(),
        signer.id
    );
    Ok(Outcome::Pass)
}

pub fn digest(a: DigestArgs) -> Result<Outcome> {
    use fwgate_sign::Algorithms;
    let which = match a.algorithm {
        DigestAlgorithm::Sha256 => Algorithms::Sha256,
        DigestAlgorithm::Blake2b512 => Algorithms::Blake2b,
        DigestAlgorithm::Both => Algorithms::Both,
    };
    for path in &a.files {
        let mut f = fs::File::open(path).with_context(|| format!("{}: open", path.display()))?;
        let d = fwgate_sign::FileDigests::compute_some(&mut f, which)
            .with_context(|| format!("{}: read", path.display()))?;
        let name = path.display();
        if which != Algorithms::Blake2b {
            println!("{}  {name}", d.sha256);
        }
        if which != Algorithms::Sha256 {
            println!("{}  {name}", d.blake2b_hex());
        }
    }
    Ok(Outcome::Pass)
}
