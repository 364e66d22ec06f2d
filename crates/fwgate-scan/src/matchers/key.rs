//! `kind = "keys"`: private keys and certificates found and validated by [`crate::keys`]:
//! a key counts only when its body parses as a key of its type (a PEM header in a binary's
//! format strings is not a key). Lines are counted up to the key's offset, so a finding in a
//! text file points at its line.

use serde::Deserialize;

use crate::finding::{Hit, Matches};
use crate::keys::{CertHit, Found, KeyHit};

/// The `keys` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSpec {
    /// Globs of paths to look at.
    pub paths: Vec<String>,
    /// What to report.
    pub check: KeyCheck,
    /// For `weak-key`: RSA and DSA keys below this many bits are weak.
    #[serde(default = "min_bits")]
    pub min_rsa_bits: u32,
}

fn min_bits() -> u32 {
    2048
}

/// What a `keys` rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyCheck {
    /// Every validated private key (or PKCS#12 key store).
    PrivateKey,
    /// A private key too small for its algorithm (RSA/DSA under `min_rsa_bits`, DSA at all).
    WeakKey,
    /// An end-entity certificate past its notAfter date (CA certificates are not judged).
    ExpiredCertificate,
    /// An end-entity certificate with a weak key or signature algorithm.
    WeakCertificate,
}

/// A compiled [`KeysSpec`].
#[derive(Debug)]
pub struct Keys {
    spec: KeysSpec,
}

impl KeysSpec {
    pub(crate) fn compile(&self) -> Result<Keys, String> {
        Ok(Keys { spec: self.clone() })
    }
}

fn line_at(content: &[u8], offset: usize, text: bool) -> Option<u32> {
    text.then(|| {
        let upto = content.get(..offset).unwrap_or(content);
        1 + memchr::memchr_iter(b'\n', upto).count() as u32
    })
}

fn describe(k: &KeyHit) -> String {
    let bits = k.bits.map(|b| format!("{b}-bit ")).unwrap_or_default();
    let enc = if k.encrypted { ", encrypted" } else { "" };
    format!("{bits}{} private key ({}{enc})", k.algorithm, k.format)
}

fn subject(c: &CertHit) -> String {
    let s: String = c.subject.chars().take(120).collect();
    if s.is_empty() {
        "(no subject)".into()
    } else {
        s
    }
}

impl Keys {
    pub(crate) fn check(
        &self,
        content: &[u8],
        found_keys: &Found,
        now_unix: i64,
        found: &mut Matches,
    ) {
        // Lines mean something in text files only (a NUL in the first 8 KiB: not text).
        let text = !content[..content.len().min(8192)].contains(&0);
        match self.spec.check {
            KeyCheck::PrivateKey => {
                for k in &found_keys.keys {
                    found.hits.push(Hit {
                        line: line_at(content, k.offset, text),
                        message: format!("{} embedded in the image", describe(k)),
                        evidence: Some(format!(
                            "key id sha256:{} at offset {:#x}",
                            hex::encode(&k.id[..8]),
                            k.offset
                        )),
                        digest_of: k.id.to_vec(),
                    });
                }
                if found_keys.truncated {
                    found.skipped.push(
                        "key search stopped early (too many candidates): the rest of the file was not checked for keys"
                            .into(),
                    );
                }
            }
            KeyCheck::WeakKey => {
                for k in &found_keys.keys {
                    let weak = match (k.algorithm.as_str(), k.bits) {
                        ("DSA", _) => {
                            Some("DSA is deprecated (OpenSSH 7.0 disabled it)".to_string())
                        }
                        ("RSA", Some(b)) if b < self.spec.min_rsa_bits => {
                            Some(format!("{b} bits is under {}", self.spec.min_rsa_bits))
                        }
                        _ => None,
                    };
                    if let Some(why) = weak {
                        found.hits.push(Hit {
                            line: line_at(content, k.offset, text),
                            message: format!("weak {}: {why}", describe(k)),
                            evidence: Some(format!("key id sha256:{}", hex::encode(&k.id[..8]))),
                            digest_of: k.id.to_vec(),
                        });
                    }
                }
            }
            KeyCheck::ExpiredCertificate => {
                for c in found_keys.certs.iter().filter(|c| !c.is_ca) {
                    if c.not_after_unix < now_unix {
                        let date = time::OffsetDateTime::from_unix_timestamp(c.not_after_unix)
                            .map(|d| d.date().to_string())
                            .unwrap_or_else(|_| c.not_after_unix.to_string());
                        found.hits.push(Hit {
                            line: line_at(content, c.offset, text),
                            message: format!("certificate for {} expired on {date}", subject(c)),
                            evidence: Some(format!(
                                "certificate sha256:{}",
                                hex::encode(&c.id[..8])
                            )),
                            digest_of: c.id.to_vec(),
                        });
                    }
                }
            }
            KeyCheck::WeakCertificate => {
                for c in found_keys
                    .certs
                    .iter()
                    .filter(|c| !c.is_ca && !c.weak.is_empty())
                {
                    found.hits.push(Hit {
                        line: line_at(content, c.offset, text),
                        message: format!(
                            "certificate for {} is weak: {}",
                            subject(c),
                            c.weak.join(", ")
                        ),
                        evidence: Some(format!(
                            "certificate sha256:{} ({})",
                            hex::encode(&c.id[..8]),
                            c.key
                        )),
                        digest_of: c.id.to_vec(),
                    });
                }
            }
        }
    }
}
