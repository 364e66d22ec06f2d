//! Release signing and verification: the library API the gate, `fwgate sign` and `fwgate
//! verify` call. One streamed read hashes the image; the minisign signature's trusted comment
//! binds the file name, the release, the SHA-256 and whether a gate passed; a raw signature
//! beside it serves OpenSSL-based verifiers.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::digest::FileDigests;
use crate::dsse;
use crate::error::{format, Result, SignError};
use crate::key::SecretKey;
use crate::minisig::Minisig;
use crate::trust::TrustStore;

/// What the signature says about the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateStatus {
    /// The gate passed this exact image.
    Passed {
        /// SHA-256 of the ruleset the gate ran.
        ruleset_digest: String,
        /// The evidence record, e.g. `DL-3#4`.
        evidence: String,
    },
    /// Signed without a gate (`--without-gate`).
    WithoutGate,
}

/// How to sign.
#[derive(Debug, Clone)]
pub struct SignOptions<'a> {
    /// Release version for the trusted comment.
    pub release: Option<&'a str>,
    /// What the trusted comment says about the gate.
    pub gate: GateStatus,
    /// Refuse unless the file still has this SHA-256 (the bytes the gate scanned).
    pub expect_sha256: Option<&'a str>,
    /// Also write `IMAGE.sig`, a raw Ed25519 signature over the image.
    pub raw: bool,
    /// The `.minisig` path (default `IMAGE.minisig`).
    pub output: Option<&'a Path>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The minisign signature.
    pub minisig: PathBuf,
    /// The raw signature, if asked for.
    pub raw: Option<PathBuf>,
    /// The signed trusted comment.
    pub trusted_comment: String,
    /// SHA-256 of the image signed.
    pub sha256: String,
}

/// `PATH` with `ext` appended (`fw.bin` → `fw.bin.minisig`).
pub fn beside(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn file_name(image: &Path) -> String {
    clean(
        &image
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

fn io<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(std::io::Error) -> SignError + 'a {
    move |source| SignError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Signs `image`, streaming it.
pub fn sign_image(image: &Path, key: &SecretKey, opts: &SignOptions<'_>) -> Result<Signed> {
    let mut f = File::open(image).map_err(io(image, "open"))?;
    // With a raw signature, its first read computes the digests too: two reads in all.
    let (d, raw) = if opts.raw {
        let r = crate::raw::sign_stream(key, &mut f).map_err(|e| match e {
            SignError::Io { op, source, .. } => SignError::Io {
                path: image.to_path_buf(),
                op,
                source,
            },
            e => e,
        })?;
        if r.first.sha256 != r.signed_sha256 {
            return Err(SignError::Changed);
        }
        (r.first, Some(r.signature))
    } else {
        (
            FileDigests::compute(&mut f).map_err(io(image, "read"))?,
            None,
        )
    };
    if let Some(expected) = opts.expect_sha256 {
        if d.sha256 != expected {
            return Err(format(
                "image",
                format!(
                    "{}: the file changed after it was scanned (sha256 {} now, {expected} scanned); not signed",
                    image.display(),
                    d.sha256
                ),
            ));
        }
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut tc = format!("timestamp:{now}\tfile:{}", file_name(image));
    if let Some(v) = opts.release {
        tc.push_str(&format!("\tversion:{}", clean(v).replace('\t', " ")));
    }
    tc.push_str(&format!("\tsha256:{}", d.sha256));
    match &opts.gate {
        GateStatus::Passed {
            ruleset_digest,
            evidence,
        } => tc.push_str(&format!(
            "\tgate:passed\truleset:sha256:{}\tevidence:{}",
            clean(ruleset_digest),
            clean(evidence)
        )),
        GateStatus::WithoutGate => tc.push_str("\tgate:none (signed without a gate)"),
    }
    tc.push_str("\thashed");
    let text = crate::minisig::sign(key, &d, &tc)?;
    let minisig = opts
        .output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| beside(image, ".minisig"));
    crate::files::write_atomic(&minisig, text.as_bytes())?;
    let raw = match raw {
        Some(sig) => {
            let p = beside(image, ".sig");
            crate::files::write_atomic(&p, &sig)?;
            Some(p)
        }
        None => None,
    };
    Ok(Signed {
        minisig,
        raw,
        trusted_comment: tc,
        sha256: d.sha256,
    })
}

/// Which kind of signature was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// minisign, prehashed.
    Minisign,
    /// minisign legacy (`-Sl`), over the whole file.
    MinisignLegacy,
    /// Raw Ed25519 over the whole file (OpenSSL's `pkeyutl -rawin`).
    Raw,
}

/// A signature that verified.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    /// What kind.
    pub kind: SignatureKind,
    /// The key that made it.
    pub key_id: String,
    /// The trusted comment (minisign only).
    pub trusted_comment: Option<String>,
    /// SHA-256 of the image verified.
    pub sha256: String,
}

/// The trusted comment's `key:value` fields (tab-separated).
pub fn comment_fields(tc: &str) -> BTreeMap<String, String> {
    tc.split('\t')
        .filter_map(|f| f.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// True when `bytes` look like a minisign signature rather than 64 raw bytes.
fn is_minisig(bytes: &[u8]) -> bool {
    bytes.starts_with(b"untrusted comment:")
}

/// Verifies `image` against the signature at `sig_path` (a `.minisig`, or 64 raw bytes),
/// by a key `trust` accepts.
pub fn verify_image(
    image: &Path,
    sig_path: &Path,
    trust: &TrustStore,
    allow_legacy: bool,
) -> Result<VerifiedImage> {
    let meta = std::fs::metadata(sig_path).map_err(io(sig_path, "read signature"))?;
    if meta.len() > 64 * 1024 {
        return Err(format(
            "signature",
            format!("{}: too large for a signature", sig_path.display()),
        ));
    }
    let bytes = std::fs::read(sig_path).map_err(io(sig_path, "read signature"))?;
    let mut f = File::open(image).map_err(io(image, "open"))?;
    let rewrap = |e: SignError| match e {
        SignError::Io { op, source, .. } => SignError::Io {
            path: image.to_path_buf(),
            op,
            source,
        },
        e => e,
    };
    if !is_minisig(&bytes) {
        if bytes.len() != 64 {
            return Err(format(
                "signature",
                format!(
                    "{}: neither a minisign signature nor 64 raw Ed25519 bytes ({} bytes)",
                    sig_path.display(),
                    bytes.len()
                ),
            ));
        }
        // A raw signature names no key: try each trusted key, then ask the store about the
        // one that made it (a raw signature carries no time, so a rotated-away key fails).
        let mut last = None;
        for key in trust.candidates() {
            match crate::raw::verify_stream(key, &bytes, &mut f) {
                Ok(sha256) => {
                    trust.check(&key.id, None)?;
                    return Ok(VerifiedImage {
                        kind: SignatureKind::Raw,
                        key_id: key.id.to_string(),
                        trusted_comment: None,
                        sha256,
                    });
                }
                Err(e) => last = Some(rewrap(e)),
            }
        }
        return Err(last.unwrap_or_else(|| SignError::BadSignature("no trusted key".into())));
    }
    let text = String::from_utf8_lossy(&bytes);
    let sig = Minisig::parse(&text)?;
    let fields = comment_fields(&sig.trusted_comment);
    let signed_at = fields.get("timestamp").and_then(|t| t.parse::<i64>().ok());
    let key = trust.check(&sig.key_id, signed_at)?.clone();
    let v = crate::minisig::verify(&key, &text, &mut f, allow_legacy).map_err(rewrap)?;
    if let Some(signed) = fields.get("file") {
        let actual = file_name(image);
        if *signed != actual {
            return Err(SignError::WrongFile {
                signed: signed.clone(),
                actual,
            });
        }
    }
    if let Some(sha) = fields.get("sha256") {
        if *sha != v.sha256 {
            return Err(SignError::BadSignature(format!(
                "the trusted comment names sha256 {sha}, the file has {}",
                v.sha256
            )));
        }
    }
    Ok(VerifiedImage {
        kind: if v.legacy {
            SignatureKind::MinisignLegacy
        } else {
            SignatureKind::Minisign
        },
        key_id: v.key_id,
        trusted_comment: Some(v.trusted_comment),
        sha256: v.sha256,
    })
}

/// One attestation that verified.
#[derive(Debug, Clone)]
pub struct VerifiedAttestation {
    /// Its predicate type.
    pub predicate_type: String,
    /// The key that signed it.
    pub key_id: String,
    /// The verdict it states: a VSA's `verificationResult`, a test result's `result`.
    pub result: Option<String>,
    /// The predicate.
    pub predicate: serde_json::Value,
}

/// Verifies every envelope of an `IMAGE.intoto.jsonl` text: signed by a key `trust`
/// accepts (at the time the predicate states), about an image with `sha256` named `name`.
pub fn verify_attestations(
    text: &str,
    name: &str,
    sha256: &str,
    trust: &TrustStore,
) -> Result<Vec<VerifiedAttestation>> {
    let envelopes = dsse::parse_jsonl(text)?;
    if envelopes.is_empty() {
        return Err(format("attestation", "no envelopes in the file"));
    }
    let mut verified = Vec::new();
    for (i, env) in envelopes.iter().enumerate() {
        let mut last = None;
        let mut found = None;
        for key in trust.candidates() {
            match dsse::verify_statement(env, key) {
                Ok(st) => {
                    found = Some((key.id, st));
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(found) = found else {
            let e = last.unwrap_or_else(|| SignError::BadSignature("no trusted key".into()));
            return Err(format("attestation", format!("envelope {}: {e}", i + 1)));
        };
        verified.push(found);
    }
    // When each was made: its own time, else that of a statement the same key signed in the
    // same file (the gate writes them together; a test result states no time).
    let time_of = |st: &dsse::Statement| {
        st.predicate["timeVerified"].as_str().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let mut out = Vec::new();
    for (i, (key_id, st)) in verified.iter().enumerate() {
        let line = i + 1;
        let when = time_of(st)
            .or_else(|| {
                verified
                    .iter()
                    .filter(|(k, _)| k == key_id)
                    .find_map(|(_, s)| time_of(s))
            })
            .map(|t| t.unix_timestamp());
        trust
            .check(key_id, when)
            .map_err(|e| format("attestation", format!("envelope {line}: {e}")))?;
        let Some((subject, _)) = st.subjects.iter().find(|(_, d)| d == sha256) else {
            return Err(format(
                "attestation",
                format!(
                    "envelope {line}: its subject is {}, not this image (sha256 {sha256})",
                    st.subjects
                        .iter()
                        .map(|(n, d)| format!("{n} sha256 {d}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if subject != name {
            return Err(SignError::WrongFile {
                signed: subject.clone(),
                actual: name.to_string(),
            });
        }
        let result = st.predicate["verificationResult"]
            .as_str()
            .or_else(|| st.predicate["result"].as_str())
            .map(str::to_string);
        out.push(VerifiedAttestation {
            predicate_type: st.predicate_type.clone(),
            key_id: key_id.to_string(),
            result,
            predicate: st.predicate.clone(),
        });
    }
    Ok(out)
}
