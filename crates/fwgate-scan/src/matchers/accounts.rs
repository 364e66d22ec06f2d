//! `kind = "accounts"`: accounts in `passwd` and `shadow` files with empty or well-known
//! passwords. Hashes are cracked offline against a word list of defaults that IoT malware
//! tries first; the password found is never printed.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::finding::{Hit, Matches};
use crate::ruleset::DataFiles;

/// The `accounts` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSpec {
    /// Globs of account files.
    #[serde(default = "default_paths")]
    pub paths: Vec<String>,
    /// What to look for.
    pub check: AccountCheck,
    /// For `default-password`: a data file under `rules/` with `user:password` lines.
    #[serde(default)]
    pub wordlist: Option<String>,
}

fn default_paths() -> Vec<String> {
    vec!["**/etc/shadow".into(), "**/etc/passwd".into()]
}

/// The account weakness a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountCheck {
    /// The password field is empty: anyone can log in as this user.
    EmptyPassword,
    /// The password hash cracks to a password on the word list.
    DefaultPassword,
}

/// A compiled [`AccountsSpec`].
#[derive(Debug)]
pub struct Accounts {
    check: AccountCheck,
    /// (user, password) pairs; passwords for the same user are tried first.
    pairs: Vec<(String, String)>,
    /// Every distinct non-empty password on the list.
    passwords: Vec<String>,
}

impl AccountsSpec {
    pub(crate) fn compile(&self, data: &DataFiles) -> Result<Accounts, String> {
        let mut pairs = Vec::new();
        if self.check == AccountCheck::DefaultPassword {
            let name = self
                .wordlist
                .as_deref()
                .ok_or("matcher.wordlist is required for default-password")?;
            let text = data
                .text(name)
                .ok_or_else(|| format!("matcher.wordlist: no data file {name:?} under rules/"))?;
            for line in text.lines() {
                let line = line.trim_end_matches('\r');
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (user, pass) = line
                    .split_once(':')
                    .ok_or_else(|| format!("{name}: line {line:?} is not user:password"))?;
                pairs.push((user.to_string(), pass.to_string()));
            }
        }
        let passwords: BTreeSet<String> = pairs
            .iter()
            .map(|(_, p)| p.clone())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(Accounts {
            check: self.check,
            pairs,
            passwords: passwords.into_iter().collect(),
        })
    }
}

/// True when `field` has the shape of a crypt(3) hash pwhash understands: `$id$salt$hash`
/// for MD5/SHA-256/SHA-512/bcrypt, or 13 characters of traditional DES.
fn looks_like_hash(field: &str) -> bool {
    let charset = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    };
    match field.strip_prefix('$') {
        Some(rest) => {
            let parts: Vec<&str> = rest.split('$').collect();
            matches!(parts.first(), Some(&("1" | "5" | "6" | "2a" | "2b" | "2y")))
                && parts.len() >= 3
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && (charset(p) || p.starts_with("rounds=")))
                && field.len() < 200
        }
        None => field.len() == 13 && charset(field),
    }
}

/// Highest work factors cracked: bcrypt cost 12, sha-crypt 50 000 rounds (the default is
/// 5 000). A hash asking for more is reported as not checked, not tried: a hostile image could
/// otherwise hold the gate for hours with `$2b$31$`.
const MAX_BCRYPT_COST: u32 = 12;
const MAX_SHA_ROUNDS: u64 = 50_000;
/// Cracking time allowed per account file.
const CRACK_BUDGET: Duration = Duration::from_secs(20);

/// Why a hash is too expensive to try, if it is.
fn too_costly(hash: &str) -> Option<String> {
    let mut parts = hash.split('$').skip(1);
    match (parts.next(), parts.next()) {
        (Some("2a" | "2b" | "2y"), Some(cost)) => {
            let cost: u32 = cost.parse().unwrap_or(u32::MAX);
            (cost > MAX_BCRYPT_COST)
                .then(|| format!("bcrypt cost {cost} is over {MAX_BCRYPT_COST}"))
        }
        (Some("5" | "6"), Some(r)) => {
            let rounds: u64 = r.strip_prefix("rounds=")?.parse().unwrap_or(u64::MAX);
            (rounds > MAX_SHA_ROUNDS).then(|| format!("{rounds} rounds is over {MAX_SHA_ROUNDS}"))
        }
        _ => None,
    }
}

fn algorithm(hash: &str) -> &'static str {
    match hash.split('$').nth(1) {
        Some("1") => "md5-crypt",
        Some("5") => "sha256-crypt",
        Some("6") => "sha512-crypt",
        Some(_) => "bcrypt",
        None => "DES crypt",
    }
}

impl Accounts {
    /// The length of the default password that matches `hash`; `Err` when `deadline` came
    /// before every candidate was tried.
    fn crack(&self, user: &str, hash: &str, deadline: Instant) -> Result<Option<usize>, ()> {
        let verify = |pw: &str| {
            catch_unwind(AssertUnwindSafe(|| pwhash::unix::verify(pw, hash))).unwrap_or(false)
        };
        let own = self
            .pairs
            .iter()
            .filter(|(u, p)| u == user && !p.is_empty())
            .map(|(_, p)| p);
        for pw in own.chain(self.passwords.iter()) {
            if Instant::now() > deadline {
                return Err(());
            }
            if verify(pw) {
                return Ok(Some(pw.chars().count()));
            }
        }
        Ok(None)
    }

    /// Checks one account file; cracking stops at the earlier of the per-file budget and the
    /// scan's `deadline`, and every hash left untried is reported.
    pub(crate) fn check(&self, content: &[u8], deadline: Instant, found: &mut Matches) {
        let text = String::from_utf8_lossy(content);
        let own_budget = Instant::now() + CRACK_BUDGET;
        let scan_deadline_first = deadline < own_budget;
        let deadline = deadline.min(own_budget);
        let mut unchecked = 0usize;
        for (i, line) in text.lines().enumerate() {
            let mut fields = line.split(':');
            let (Some(user), Some(pw)) = (fields.next(), fields.next()) else {
                continue;
            };
            if user.is_empty() || user.starts_with('#') {
                continue;
            }
            let line_no = Some(i as u32 + 1);
            match self.check {
                AccountCheck::EmptyPassword if pw.is_empty() => found.hits.push(Hit {
                    line: line_no,
                    message: format!(
                        "account '{user}' has an empty password: it logs in without one"
                    ),
                    evidence: Some(format!("{user}::...")),
                    digest_of: format!("{user}:").into_bytes(),
                }),
                AccountCheck::DefaultPassword if looks_like_hash(pw) => {
                    if let Some(why) = too_costly(pw) {
                        found.skipped.push(format!(
                            "account '{user}' (line {}): password not checked: {why}",
                            i + 1
                        ));
                        continue;
                    }
                    if Instant::now() > deadline {
                        unchecked += 1;
                        continue;
                    }
                    let Ok(cracked) = self.crack(user, pw, deadline) else {
                        unchecked += 1;
                        continue;
                    };
                    if let Some(len) = cracked {
                        found.hits.push(Hit {
                            line: line_no,
                            message: format!(
                                "account '{user}' has a well-known default password ({} hash cracked offline against the default-credentials list; {len} characters, not shown)",
                                algorithm(pw)
                            ),
                            evidence: Some(format!("{user}:<{} hash, redacted>:...", algorithm(pw))),
                            digest_of: format!("{user}:{pw}").into_bytes(),
                        });
                    }
                }
                _ => {}
            }
        }
        if unchecked > 0 {
            found.skipped.push(if scan_deadline_first {
                format!("{unchecked} password hash(es) not checked: the scan's deadline (--timeout) was reached")
            } else {
                format!(
                    "{unchecked} password hash(es) not checked: the {}s cracking budget per file was spent",
                    CRACK_BUDGET.as_secs()
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_shapes() {
        assert!(looks_like_hash("$1$acme0001$abcdefghijklmnopqrstuv"));
        assert!(looks_like_hash("$6$rounds=5000$salt$hash"));
        assert!(looks_like_hash("aZGJuE6EXrjEE"));
        assert!(!looks_like_hash("x"));
        assert!(!looks_like_hash("!"));
        assert!(!looks_like_hash("$1$$"));
        assert!(!looks_like_hash("$9$a$b"));
        assert!(!looks_like_hash("!$1$acme0001$abcdefghijklmnopqrstuv"));
    }

    #[test]
    fn costly_hashes_are_reported_not_tried() {
        let accounts = Accounts {
            check: AccountCheck::DefaultPassword,
            pairs: vec![],
            passwords: vec!["admin".into()],
        };
        let shadow = "a:$2b$31$abcdefghijklmnopqrstuuN6Yt1v0nQYzQ0oU1t2b8vQy9xkH0mG:1::\nb:$6$rounds=999999999$salt$hash:1::\n";
        let mut found = Matches::default();
        let t = Instant::now();
        accounts.check(shadow.as_bytes(), crate::ruleset::far_future(), &mut found);
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(found.hits.is_empty());
        assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
        assert!(
            found.skipped[0].contains("bcrypt cost 31")
                && found.skipped[1].contains("999999999 rounds")
        );
    }
}
