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
    /// How the files store passwords: `crypt` (passwd/shadow), `htpasswd` (Apache, lighttpd:
    /// apr1-md5, `{SHA}`, bcrypt, crypt) or `mosquitto` (`mosquitto_passwd`).
    #[serde(default)]
    pub format: PasswordFormat,
}

/// The password file format an `accounts` rule reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordFormat {
    /// crypt(3) hashes, as in passwd and shadow.
    #[default]
    Crypt,
    /// Apache/lighttpd htpasswd.
    Htpasswd,
    /// Mosquitto password files.
    Mosquitto,
}

fn default_paths() -> Vec<String> {
    // Vendor layouts keep a read-only copy in /etc_ro (Ralink/MediaTek SDKs) or /etc/config.
    ["etc", "etc_ro", "etc/config"]
        .iter()
        .flat_map(|d| [format!("**/{d}/shadow"), format!("**/{d}/passwd")])
        .collect()
}

/// The account weakness a rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountCheck {
    /// The password field is empty: anyone can log in as this user.
    EmptyPassword,
    /// The password hash cracks to a password on the word list. A hash in a format that cannot
    /// be cracked here is reported as not checked.
    DefaultPassword,
    /// An account other than `root` has user id 0 (`passwd` files).
    UidZero,
    /// A password hash stored in `passwd` itself, which every user can read.
    HashInPasswd,
    /// A hash made with an algorithm that is cheap to crack (DES crypt, md5-crypt).
    WeakHash,
}

/// A compiled [`AccountsSpec`].
#[derive(Debug)]
pub struct Accounts {
    check: AccountCheck,
    format: PasswordFormat,
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
            format: self.format,
            pairs,
            passwords: passwords.into_iter().collect(),
        })
    }
}

/// What a password field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Nothing: logs in without a password.
    Empty,
    /// `x`: the password is in `shadow`.
    Shadowed,
    /// A value no password hashes to (`!`, `*`, `!!`, `*LK*`, `!` before a hash): locked.
    Locked,
    /// A crypt(3) hash.
    Hash(Alg),
}

/// A crypt(3) hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Des,
    Md5,
    Sha256,
    Sha512,
    Bcrypt,
    Yescrypt,
    /// Apache's md5-crypt variant (`$apr1$`).
    Apr1,
    /// Apache's unsalted `{SHA}` (base64 of SHA-1).
    ShaB64,
    /// Mosquitto 1.x: one salted SHA-512.
    MosquittoSha512,
    /// Mosquitto 2.x: PBKDF2-HMAC-SHA512.
    MosquittoPbkdf2,
    /// A `$id$` scheme the cracker does not implement (scrypt `$7$`, gost-yescrypt, SunMD5,
    /// NT hash, BSDi `_`), or one it does not know at all.
    Other(&'static str),
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Des => "DES crypt",
            Alg::Md5 => "md5-crypt",
            Alg::Sha256 => "sha256-crypt",
            Alg::Sha512 => "sha512-crypt",
            Alg::Bcrypt => "bcrypt",
            Alg::Yescrypt => "yescrypt",
            Alg::Apr1 => "apr1-md5",
            Alg::ShaB64 => "unsalted SHA-1",
            Alg::MosquittoSha512 => "salted SHA-512",
            Alg::MosquittoPbkdf2 => "PBKDF2-SHA512",
            Alg::Other(n) => n,
        }
    }
}

fn crypt_charset(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

/// Classifies a password field as the program reading a file of `format` does.
fn classify_as(format: PasswordFormat, field: &str) -> Field {
    match format {
        PasswordFormat::Crypt => classify(field),
        PasswordFormat::Htpasswd if field.starts_with("$apr1$") => Field::Hash(Alg::Apr1),
        PasswordFormat::Htpasswd if field.starts_with("{SHA}") => Field::Hash(Alg::ShaB64),
        PasswordFormat::Htpasswd => classify(field),
        PasswordFormat::Mosquitto if field.is_empty() => Field::Empty,
        PasswordFormat::Mosquitto if field.starts_with("$6$") => Field::Hash(Alg::MosquittoSha512),
        PasswordFormat::Mosquitto if field.starts_with("$7$") => Field::Hash(Alg::MosquittoPbkdf2),
        PasswordFormat::Mosquitto => Field::Hash(Alg::Other("an unknown mosquitto scheme")),
    }
}

/// Classifies a password field the way glibc/libxcrypt and BusyBox read it: a field that is
/// not a well-formed hash of any scheme can never match a password, so it is locked.
fn classify(field: &str) -> Field {
    if field.is_empty() {
        return Field::Empty;
    }
    if field == "x" {
        return Field::Shadowed;
    }
    if let Some(rest) = field.strip_prefix('$') {
        let parts: Vec<&str> = rest.split('$').collect();
        let id = parts.first().copied().unwrap_or("");
        let alg = match id {
            "1" => Alg::Md5,
            "5" => Alg::Sha256,
            "6" => Alg::Sha512,
            "2a" | "2b" | "2y" | "2x" => Alg::Bcrypt,
            "y" => Alg::Yescrypt,
            "7" => Alg::Other("scrypt"),
            "gy" => Alg::Other("gost-yescrypt"),
            "md5" => Alg::Other("SunMD5"),
            "sha1" => Alg::Other("sha1crypt"),
            "3" => Alg::Other("NT hash"),
            "apr1" => Alg::Other("apr1-md5"),
            _ => Alg::Other("an unknown $id$ scheme"),
        };
        // Every scheme has at least `$id$salt-or-params$hash` (bcrypt: `$2b$cost$salthash`).
        return if parts.len() >= 3 && !parts[1].is_empty() {
            Field::Hash(alg)
        } else {
            Field::Locked
        };
    }
    if field.len() == 13 && crypt_charset(field) {
        return Field::Hash(Alg::Des);
    }
    if field.len() == 20 && field.starts_with('_') && crypt_charset(&field[1..]) {
        return Field::Hash(Alg::Other("BSDi extended DES"));
    }
    // `!`, `*`, `!!`, `*LK*`, `!$6$...` (locked by `passwd -l`), `NP`, anything else.
    Field::Locked
}

/// Highest work factors cracked: bcrypt cost 12, sha-crypt 50 000 rounds (the default is
/// 5 000), yescrypt with its default cost parameters only (N ≤ 2^14, r ≤ 32: at most 64 MiB).
/// A hash asking for more is reported as not checked, not tried: a hostile image could
/// otherwise hold the gate for hours with `$2b$31$`.
const MAX_BCRYPT_COST: u32 = 12;
const MAX_SHA_ROUNDS: u64 = 50_000;
const MAX_YESCRYPT_BYTES: u64 = 64 << 20;
/// Cracking time allowed per account file.
const CRACK_BUDGET: Duration = Duration::from_secs(20);

/// Why a hash cannot be cracked here, if it cannot.
fn not_crackable(hash: &str, alg: Alg) -> Option<String> {
    let mut parts = hash.split('$').skip(1);
    let (_, second) = (parts.next(), parts.next());
    match alg {
        Alg::Bcrypt => {
            let cost: u32 = second.and_then(|c| c.parse().ok()).unwrap_or(u32::MAX);
            (cost > MAX_BCRYPT_COST)
                .then(|| format!("bcrypt cost {cost} is over {MAX_BCRYPT_COST}"))
        }
        Alg::Sha256 | Alg::Sha512 => {
            let rounds: u64 = second?.strip_prefix("rounds=")?.parse().unwrap_or(u64::MAX);
            (rounds > MAX_SHA_ROUNDS).then(|| format!("{rounds} rounds is over {MAX_SHA_ROUNDS}"))
        }
        Alg::Yescrypt => {
            let params = second.unwrap_or("");
            // Flags, N and r: three characters. More encode p, t, g or ROM parameters, which
            // multiply the work beyond what one try may cost.
            let parsed = (params.len() == 3)
                .then(|| params.parse::<yescrypt::Params>().ok())
                .flatten();
            match parsed {
                Some(p)
                    if p.n().saturating_mul(u64::from(p.r())).saturating_mul(128)
                        <= MAX_YESCRYPT_BYTES =>
                {
                    None
                }
                Some(_) => Some(format!(
                    "yescrypt parameters {params:?} need more than {} MiB per try",
                    MAX_YESCRYPT_BYTES >> 20
                )),
                None => Some(format!(
                    "yescrypt parameters {params:?} are not the default kind"
                )),
            }
        }
        Alg::MosquittoPbkdf2 => {
            let rounds: u64 = second.and_then(|r| r.parse().ok()).unwrap_or(u64::MAX);
            (rounds > u64::from(crate::matchers::crack::MAX_PBKDF2_ROUNDS)).then(|| {
                format!(
                    "{rounds} PBKDF2 rounds is over {}",
                    crate::matchers::crack::MAX_PBKDF2_ROUNDS
                )
            })
        }
        Alg::Apr1 | Alg::ShaB64 | Alg::MosquittoSha512 => None,
        Alg::Other(name) => Some(format!("{name} hashes cannot be cracked by fwgate")),
        Alg::Des | Alg::Md5 => None,
    }
}

/// True when `pw` hashes to `hash`; never panics on a malformed hash.
fn verify(pw: &str, hash: &str, alg: Alg) -> bool {
    catch_unwind(AssertUnwindSafe(|| match alg {
        Alg::Yescrypt => {
            use yescrypt::PasswordVerifier;
            yescrypt::Yescrypt::default()
                .verify_password(pw.as_bytes(), hash)
                .is_ok()
        }
        Alg::Apr1 | Alg::ShaB64 | Alg::MosquittoSha512 | Alg::MosquittoPbkdf2 => {
            crate::matchers::crack::verify(pw, hash) == Some(true)
        }
        _ => pwhash::unix::verify(pw, hash),
    }))
    .unwrap_or(false)
}

impl Accounts {
    /// The length of the default password that matches `hash`; `Err` when `deadline` came
    /// before every candidate was tried.
    fn crack(
        &self,
        user: &str,
        hash: &str,
        alg: Alg,
        deadline: Instant,
    ) -> Result<Option<usize>, ()> {
        use rayon::prelude::*;
        // The user's own default passwords first, then the whole list on every core: a
        // yescrypt or bcrypt try costs tens of milliseconds.
        let own: Vec<&String> = self
            .pairs
            .iter()
            .filter(|(u, p)| u == user && !p.is_empty())
            .map(|(_, p)| p)
            .collect();
        for list in [own, self.passwords.iter().collect()] {
            let found = list.par_iter().find_map_any(|pw| {
                if Instant::now() > deadline {
                    Some(Err(()))
                } else if verify(pw, hash, alg) {
                    Some(Ok(pw.chars().count()))
                } else {
                    None
                }
            });
            match found {
                Some(Ok(len)) => return Ok(Some(len)),
                Some(Err(())) => return Err(()),
                None => {}
            }
        }
        Ok(None)
    }

    /// Checks one account file (`path` tells passwd from shadow); cracking stops at the
    /// earlier of the per-file budget and the scan's `deadline`, and every hash left untried
    /// is reported.
    pub(crate) fn check(&self, content: &[u8], path: &str, deadline: Instant, found: &mut Matches) {
        let text = String::from_utf8_lossy(content);
        let is_passwd = path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("passwd"));
        let own_budget = Instant::now() + CRACK_BUDGET;
        let scan_deadline_first = deadline < own_budget;
        let deadline = deadline.min(own_budget);
        let mut unchecked = 0usize;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            let mut fields = line.split(':');
            let (Some(user), Some(pw)) = (fields.next(), fields.next()) else {
                continue;
            };
            // NIS compat entries (`+`, `-name`) and comments carry no password.
            if user.is_empty() || user.starts_with(['#', '+', '-']) {
                continue;
            }
            let line_no = Some(i as u32 + 1);
            let field = classify_as(self.format, pw);
            match (self.check, field) {
                (AccountCheck::EmptyPassword, Field::Empty) => found.hits.push(Hit {
                    line: line_no,
                    message: format!(
                        "account '{user}' has an empty password: it logs in without one"
                    ),
                    evidence: Some(format!("{user}::...")),
                    digest_of: format!("{user}:").into_bytes(),
                }),
                (AccountCheck::UidZero, _) if is_passwd => {
                    let uid = fields.next().unwrap_or("");
                    if uid.trim() == "0" && user != "root" {
                        found.hits.push(Hit {
                            line: line_no,
                            message: format!("account '{user}' has user id 0: it is a second root"),
                            evidence: Some(format!("{user}:...:0:...")),
                            digest_of: format!("{user}:0").into_bytes(),
                        });
                    }
                }
                (AccountCheck::HashInPasswd, Field::Hash(alg)) if is_passwd => found.hits.push(Hit {
                    line: line_no,
                    message: format!(
                        "account '{user}' has its {} password hash in passwd, which every user and process can read",
                        alg.name()
                    ),
                    evidence: Some(format!("{user}:<{} hash, redacted>:...", alg.name())),
                    digest_of: format!("{user}:{pw}").into_bytes(),
                }),
                (
                    AccountCheck::WeakHash,
                    Field::Hash(
                        alg @ (Alg::Des | Alg::Md5 | Alg::Apr1 | Alg::ShaB64 | Alg::MosquittoSha512),
                    ),
                ) => {
                    found.hits.push(Hit {
                        line: line_no,
                        message: format!(
                            "account '{user}' has a {} password hash, which is cheap to crack",
                            alg.name()
                        ),
                        evidence: Some(format!("{user}:<{} hash, redacted>:...", alg.name())),
                        digest_of: format!("{user}:{pw}").into_bytes(),
                    })
                }
                (AccountCheck::DefaultPassword, Field::Hash(alg)) => {
                    if let Some(why) = not_crackable(pw, alg) {
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
                    let Ok(cracked) = self.crack(user, pw, alg, deadline) else {
                        unchecked += 1;
                        continue;
                    };
                    if let Some(len) = cracked {
                        found.hits.push(Hit {
                            line: line_no,
                            message: format!(
                                "account '{user}' has a well-known default password ({} hash cracked offline against the default-credentials list; {len} characters, not shown)",
                                alg.name()
                            ),
                            evidence: Some(format!("{user}:<{} hash, redacted>:...", alg.name())),
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
    fn fields_are_classified_as_libc_reads_them() {
        assert_eq!(
            classify("$1$acme0001$abcdefghijklmnopqrstuv"),
            Field::Hash(Alg::Md5)
        );
        assert_eq!(
            classify("$6$rounds=5000$salt$hash"),
            Field::Hash(Alg::Sha512)
        );
        assert_eq!(classify("$y$j9T$salt$hash"), Field::Hash(Alg::Yescrypt));
        assert_eq!(classify("aZGJuE6EXrjEE"), Field::Hash(Alg::Des));
        assert_eq!(
            classify("$9$a$b"),
            Field::Hash(Alg::Other("an unknown $id$ scheme"))
        );
        assert_eq!(classify(""), Field::Empty);
        assert_eq!(classify("x"), Field::Shadowed);
        for locked in [
            "!",
            "*",
            "!!",
            "*LK*",
            "!$1$acme0001$abcdefghijklmnopqrstuv",
            "$1$$",
            "NP",
        ] {
            assert_eq!(classify(locked), Field::Locked, "{locked}");
        }
    }

    fn accounts(check: AccountCheck) -> Accounts {
        Accounts {
            check,
            format: PasswordFormat::Crypt,
            pairs: vec![],
            passwords: vec!["admin".into(), "root".into()],
        }
    }

    fn run(a: &Accounts, path: &str, text: &str) -> Matches {
        let mut found = Matches::default();
        a.check(
            text.as_bytes(),
            path,
            crate::ruleset::far_future(),
            &mut found,
        );
        found
    }

    #[test]
    fn costly_and_unknown_hashes_are_reported_not_tried() {
        let a = accounts(AccountCheck::DefaultPassword);
        let shadow = "a:$2b$31$abcdefghijklmnopqrstuuN6Yt1v0nQYzQ0oU1t2b8vQy9xkH0mG:1::\nb:$6$rounds=999999999$salt$hash:1::\nc:$7$CU..../....abc$def:1::\nd:$y$jD5.....$salt$hash:1::\n";
        let found = run(&a, "etc/shadow", shadow);
        assert!(found.hits.is_empty());
        assert_eq!(found.skipped.len(), 4, "{:?}", found.skipped);
        assert!(found.skipped[0].contains("bcrypt cost 31"));
        assert!(found.skipped[1].contains("999999999 rounds"));
        assert!(found.skipped[2].contains("scrypt hashes cannot be cracked"));
        assert!(found.skipped[3].contains("yescrypt parameters"));
    }

    #[test]
    fn yescrypt_is_cracked() {
        // libxcrypt: crypt("admin", "$y$j9T$abcdefghijklmnop$")
        let shadow = "root:$y$j9T$abcdefghijklmnop$5MpaJ6mYQgeqLje.dQWuzmjhB.Uwp8kNmSyfdzfZPa5:19000::::::\n";
        let found = run(
            &accounts(AccountCheck::DefaultPassword),
            "etc/shadow",
            shadow,
        );
        assert_eq!(found.hits.len(), 1, "{:?}", found.skipped);
        assert!(
            found.hits[0].message.contains("yescrypt") && !found.hits[0].message.contains("admin")
        );
    }

    #[test]
    fn htpasswd_and_mosquitto_files() {
        let mut a = accounts(AccountCheck::DefaultPassword);
        a.format = PasswordFormat::Htpasswd;
        let ht = "admin:$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0\nops:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\nx:$apr1$zzzzzzzz$abcdefghijklmnopqrstuv\n";
        let found = run(&a, "www/.htpasswd", ht);
        assert_eq!(
            found.hits.iter().map(|h| h.line).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
        a.format = PasswordFormat::Mosquitto;
        let mq = "sensor:$7$101$MDEyMzQ1Njc4OWFiY2RlZg==$vwZXSnw+niRte5e5T8y2NNuAsUUOxyyYbKRIUIC7uE8xVwvVHvJ5/mfPlJWCiLDom7CeyaUUGC5+mf91xbY5Wg==\nbad:$7$9999999$AA==$AA==\n";
        let found = run(&a, "etc/mosquitto/passwd", mq);
        assert_eq!(found.hits.len(), 1);
        assert!(
            found.skipped[0].contains("PBKDF2 rounds"),
            "{:?}",
            found.skipped
        );
    }

    #[test]
    fn uid_zero_hash_in_passwd_and_weak_hashes() {
        let passwd = "root:x:0:0::/root:/bin/sh\ntoor:aajt.4s3e3SZA:0:0::/:/bin/sh\n+::0:0:::\nuser:x:1000:1000::/home/user:/bin/sh\n";
        let uid0 = run(&accounts(AccountCheck::UidZero), "etc/passwd", passwd);
        assert_eq!(uid0.hits.len(), 1);
        assert!(uid0.hits[0].message.contains("'toor'"));
        let inpw = run(&accounts(AccountCheck::HashInPasswd), "etc/passwd", passwd);
        assert_eq!(
            inpw.hits.iter().map(|h| h.line).collect::<Vec<_>>(),
            [Some(2)]
        );
        assert!(
            run(&accounts(AccountCheck::HashInPasswd), "etc/shadow", passwd)
                .hits
                .is_empty()
        );
        let weak = run(
            &accounts(AccountCheck::WeakHash),
            "etc/shadow",
            "a:$1$acme0001$53v55POIHCAEpjiIwe4Gq/:1::\nb:$6$x$y:1::\n",
        );
        assert_eq!(weak.hits.len(), 1);
    }
}
