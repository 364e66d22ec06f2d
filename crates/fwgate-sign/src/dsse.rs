//! DSSE envelopes (Dead Simple Signing Envelope v1) signed with Ed25519, holding in-toto
//! Statements v1: what `fwgate gate` writes as `IMAGE.intoto.jsonl`, one envelope per line,
//! and what any DSSE verifier (securesystemslib, sigstore, in-toto-golang) checks.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};

use crate::error::{format, Result, SignError};
use crate::key::{PublicKey, SecretKey};

/// The payload type of an in-toto Statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// Largest envelope line fwgate reads (attestations are small; a hostile file is not).
const MAX_ENVELOPE: usize = 16 << 20;

/// A DSSE envelope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The payload, base64 (standard alphabet, padded).
    pub payload: String,
    /// What the payload is.
    pub payload_type: String,
    /// Signatures over the PAE of type and payload.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The key id: fwgate's (minisign's) 16 hex digits.
    pub keyid: String,
    /// The Ed25519 signature, base64.
    pub sig: String,
}

/// DSSE's pre-authentication encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// Signs `payload` of `payload_type` into an envelope.
pub fn sign(key: &SecretKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let sig = key.key.sign(&pae(payload_type, payload));
    Envelope {
        payload: B64.encode(payload),
        payload_type: payload_type.to_string(),
        signatures: vec![EnvelopeSignature {
            keyid: key.id.to_string(),
            sig: B64.encode(sig.to_bytes()),
        }],
    }
}

/// Signs an in-toto Statement (serialised compactly) into an envelope.
pub fn sign_statement(key: &SecretKey, statement: &serde_json::Value) -> Result<Envelope> {
    let payload = serde_json::to_vec(statement)
        .map_err(|e| format("attestation", format!("statement: {e}")))?;
    Ok(sign(key, INTOTO_PAYLOAD_TYPE, &payload))
}

impl Envelope {
    /// The payload bytes, unverified (for reading what an envelope claims when no key is
    /// at hand; never for trusting it).
    pub fn payload_bytes(&self) -> Result<Vec<u8>> {
        B64.decode(self.payload.as_bytes())
            .map_err(|e| format("attestation", format!("payload is not base64: {e}")))
    }

    /// Verifies that `key` signed this envelope (any one of its signatures made by it, checked
    /// strictly); returns the payload bytes.
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>> {
        let payload = B64
            .decode(self.payload.as_bytes())
            .map_err(|e| format("attestation", format!("payload is not base64: {e}")))?;
        let message = pae(&self.payload_type, &payload);
        let mut saw_key = false;
        for s in &self.signatures {
            let Ok(raw) = B64.decode(s.sig.as_bytes()) else {
                continue;
            };
            let Ok(sig) = crate::raw::check_signature(&raw) else {
                continue;
            };
            saw_key |= s.keyid.eq_ignore_ascii_case(&key.id.to_string());
            if key.key.verify_strict(&message, &sig).is_ok() {
                return Ok(payload);
            }
        }
        Err(if saw_key || self.signatures.is_empty() {
            SignError::BadSignature(
                "the attestation envelope was altered or signed by another key".into(),
            )
        } else {
            SignError::WrongKey {
                sig: self
                    .signatures
                    .iter()
                    .map(|s| s.keyid.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                key: key.id.to_string(),
            }
        })
    }
}

/// A verified in-toto Statement, with what a caller checks.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The predicate.
    pub predicate: serde_json::Value,
    /// Subject names and SHA-256 digests.
    pub subjects: Vec<(String, String)>,
}

/// Reads a `.intoto.jsonl` file: one envelope per non-empty line.
pub fn parse_jsonl(text: &str) -> Result<Vec<Envelope>> {
    if text.len() > MAX_ENVELOPE * 16 {
        return Err(format("attestation", "file too large"));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            if l.len() > MAX_ENVELOPE {
                return Err(format("attestation", format!("line {}: too large", i + 1)));
            }
            serde_json::from_str(l).map_err(|e| {
                format(
                    "attestation",
                    format!("line {}: not a DSSE envelope: {e}", i + 1),
                )
            })
        })
        .collect()
}

/// Verifies an envelope and parses its in-toto Statement v1.
pub fn verify_statement(env: &Envelope, key: &PublicKey) -> Result<Statement> {
    if env.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(format(
            "attestation",
            format!(
                "payload type {:?}, not {INTOTO_PAYLOAD_TYPE}",
                env.payload_type
            ),
        ));
    }
    let payload = env.verify(key)?;
    let v: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|e| format("attestation", format!("statement is not JSON: {e}")))?;
    if v["_type"] != STATEMENT_V1 {
        return Err(format(
            "attestation",
            format!("_type is {}, not {STATEMENT_V1}", v["_type"]),
        ));
    }
    let subjects = v["subject"]
        .as_array()
        .ok_or_else(|| format("attestation", "statement has no subject"))?
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["digest"]["sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            )
        })
        .collect();
    Ok(Statement {
        predicate_type: v["predicateType"].as_str().unwrap_or_default().to_string(),
        predicate: v["predicate"].clone(),
        subjects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn envelope_round_trip_and_tampering() {
        let sk = SecretKey::generate().unwrap();
        let st = serde_json::json!({
            "_type": STATEMENT_V1,
            "subject": [{"name": "fw.bin", "digest": {"sha256": "ab"}}],
            "predicateType": "https://example/p", "predicate": {"x": 1}
        });
        let env = sign_statement(&sk, &st).unwrap();
        let line = serde_json::to_string(&env).unwrap();
        let back = &parse_jsonl(&format!("{line}\n\n")).unwrap()[0];
        let s = verify_statement(back, &sk.public()).unwrap();
        assert_eq!(s.subjects, vec![("fw.bin".to_string(), "ab".to_string())]);
        assert_eq!(s.predicate["x"], 1);
        let mut forged = back.clone();
        forged.payload = B64.encode(
            String::from_utf8(B64.decode(&back.payload).unwrap())
                .unwrap()
                .replace("\"x\":1", "\"x\":2"),
        );
        assert!(matches!(
            verify_statement(&forged, &sk.public()),
            Err(SignError::BadSignature(_))
        ));
        let mut retyped = back.clone();
        retyped.payload_type = "application/json".into();
        assert!(verify_statement(&retyped, &sk.public()).is_err());
        let other = SecretKey::generate().unwrap().public();
        assert!(matches!(
            verify_statement(back, &other),
            Err(SignError::WrongKey { .. })
        ));
    }
}
