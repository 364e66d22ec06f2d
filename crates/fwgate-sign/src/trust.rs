//! The key life cycle: a pinned root key, rotations (an old key endorses its successor) and
//! revocations (a signed list of key ids that are no longer trusted).
//!
//! Both are plain JSON files in a trust directory, each with a minisign signature beside it
//! (`minisign -Vm FILE -p OLD.pub` checks one without fwgate):
//!
//! - `rotation-OLD-NEW.json`: `old` endorses `new` from `rotated_at`. Signatures by `old`
//!   dated after that are refused ("rotated away"); earlier ones still verify.
//! - `revoked*.json`: key ids with reasons. Any signature by a revoked key is refused, and
//!   what a revoked key endorsed is no longer trusted through it.
//!
//! A verifier pins one root public key and follows rotations from it to the current key.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::digest::FileDigests;
use crate::error::{format, Result, SignError};
use crate::key::{KeyId, PublicKey, SecretKey};

/// Schema of a rotation statement.
pub const ROTATION_SCHEMA: &str = "fwgate.key-rotation/v1";
/// Schema of a revocation list.
pub const REVOCATION_SCHEMA: &str = "fwgate.key-revocations/v1";
/// The revocation list `fwgate key revoke` writes.
pub const REVOCATION_FILE: &str = "revoked.json";
/// Largest trust file read.
const MAX_FILE: u64 = 1 << 20;

/// `old` endorses `new` as its successor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rotation {
    /// [`ROTATION_SCHEMA`].
    pub schema: String,
    /// The endorsing key's id.
    pub old_key_id: String,
    /// The new key's id.
    pub new_key_id: String,
    /// The new public key, minisign base64.
    pub new_public_key: String,
    /// From when the new key replaces the old (RFC 3339).
    pub rotated_at: String,
}

/// A list of revoked keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Revocations {
    /// [`REVOCATION_SCHEMA`].
    pub schema: String,
    /// When this list was signed (RFC 3339).
    pub issued_at: String,
    /// The revoked keys.
    pub revoked: Vec<Revoked>,
}

/// One revoked key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Revoked {
    /// Key id.
    pub key_id: String,
    /// Why (e.g. "key compromised").
    pub reason: String,
    /// When it was revoked (RFC 3339).
    pub revoked_at: String,
}

/// The keys a verifier trusts, from a pinned root through the rotations, minus revocations.
#[derive(Debug, Clone)]
pub struct TrustStore {
    keys: BTreeMap<String, PublicKey>,
    /// Key id → (successor id, rotation time).
    rotated: BTreeMap<String, (String, OffsetDateTime)>,
    revoked: BTreeMap<String, String>,
    /// Keys reachable only through a revoked key.
    cut_off: BTreeSet<String>,
    root: String,
}

fn now_rfc3339(now: OffsetDateTime) -> Result<String> {
    now.format(&Rfc3339)
        .map_err(|e| format("trust", format!("time: {e}")))
}

fn read_bounded(path: &Path) -> Result<String> {
    let io = |op, e| SignError::Io {
        path: path.to_path_buf(),
        op,
        source: e,
    };
    let meta = fs::metadata(path).map_err(|e| io("read", e))?;
    if meta.len() > MAX_FILE {
        return Err(format("trust", format!("{}: too large", path.display())));
    }
    fs::read_to_string(path).map_err(|e| io("read", e))
}

/// One signed file of the trust directory.
struct Signed {
    path: PathBuf,
    text: String,
    sig: String,
}

impl Signed {
    fn read(path: PathBuf) -> Result<Signed> {
        let text = read_bounded(&path)?;
        let mut sig_path = path.clone().into_os_string();
        sig_path.push(".minisig");
        let sig = read_bounded(Path::new(&sig_path)).map_err(|_| {
            format(
                "trust",
                format!(
                    "{}: no signature beside it ({}.minisig)",
                    path.display(),
                    path.display()
                ),
            )
        })?;
        Ok(Signed { path, text, sig })
    }

    fn signer(&self) -> Result<KeyId> {
        Ok(crate::minisig::Minisig::parse(&self.sig)
            .map_err(|e| format("trust", format!("{}.minisig: {e}", self.path.display())))?
            .key_id)
    }

    fn check(&self, key: &PublicKey) -> Result<()> {
        crate::minisig::verify(
            key,
            &self.sig,
            &mut Cursor::new(self.text.as_bytes()),
            false,
        )
        .map(|_| ())
        .map_err(|e| {
            format(
                "trust",
                format!(
                    "{}: signature by key {} does not verify: {e}",
                    self.path.display(),
                    key.id
                ),
            )
        })
    }
}

fn parse_time(s: &str, path: &Path) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format("trust", format!("{}: time {s:?}: {e}", path.display())))
}

/// Writes `value` as `dir/name` with a minisign signature by `key` beside it.
fn write_signed(
    dir: &Path,
    name: &str,
    value: &impl Serialize,
    key: &SecretKey,
) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| SignError::Io {
        path: dir.to_path_buf(),
        op: "create trust directory",
        source: e,
    })?;
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| format("trust", e.to_string()))?;
    text.push('\n');
    let d = FileDigests::compute(&mut text.as_bytes()).map_err(|e| SignError::Io {
        path: dir.join(name),
        op: "hash",
        source: e,
    })?;
    let ts = OffsetDateTime::now_utc().unix_timestamp();
    let sig = crate::minisig::sign(key, &d, &format!("timestamp:{ts}\tfile:{name}\thashed"))?;
    let path = dir.join(name);
    crate::files::write_atomic(&path, text.as_bytes())?;
    let mut sig_path = path.clone().into_os_string();
    sig_path.push(".minisig");
    crate::files::write_atomic(Path::new(&sig_path), sig.as_bytes())?;
    Ok(path)
}

/// Records that `old` hands over to `new` from `now`: writes `rotation-OLD-NEW.json` and its
/// signature by `old` in `dir`.
pub fn rotate(
    old: &SecretKey,
    new: &PublicKey,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<PathBuf> {
    if old.id == new.id {
        return Err(format("trust", "a key cannot endorse itself"));
    }
    let r = Rotation {
        schema: ROTATION_SCHEMA.into(),
        old_key_id: old.id.to_string(),
        new_key_id: new.id.to_string(),
        new_public_key: new.to_base64(),
        rotated_at: now_rfc3339(now)?,
    };
    write_signed(
        dir,
        &format!("rotation-{}-{}.json", old.id, new.id),
        &r,
        old,
    )
}

/// Adds `ids` to the revocation list in `dir` (keeping what it already lists) and signs it
/// with `signer`.
pub fn revoke(
    signer: &SecretKey,
    ids: &[KeyId],
    reason: &str,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let path = dir.join(REVOCATION_FILE);
    let mut list = if path.exists() {
        serde_json::from_str::<Revocations>(&read_bounded(&path)?)
            .map_err(|e| format("trust", format!("{}: {e}", path.display())))?
    } else {
        Revocations::default()
    };
    list.schema = REVOCATION_SCHEMA.into();
    list.issued_at = now_rfc3339(now)?;
    for id in ids {
        let id = id.to_string();
        if !list.revoked.iter().any(|r| r.key_id == id) {
            list.revoked.push(Revoked {
                key_id: id,
                reason: reason.to_string(),
                revoked_at: list.issued_at.clone(),
            });
        }
    }
    write_signed(dir, REVOCATION_FILE, &list, signer)
}

impl TrustStore {
    /// Only the pinned key.
    pub fn pinned(root: PublicKey) -> TrustStore {
        let id = root.id.to_string();
        TrustStore {
            keys: BTreeMap::from([(id.clone(), root)]),
            rotated: BTreeMap::new(),
            revoked: BTreeMap::new(),
            cut_off: BTreeSet::new(),
            root: id,
        }
    }

    /// The pinned key plus what the trust directory `dir` says. Any file there that does not
    /// verify, or that no trusted key leads to, is an error: a trust directory is curated.
    pub fn load(dir: &Path, root: PublicKey) -> Result<TrustStore> {
        let mut rotations = Vec::new();
        let mut revocations = Vec::new();
        let entries = fs::read_dir(dir).map_err(|e| SignError::Io {
            path: dir.to_path_buf(),
            op: "read trust directory",
            source: e,
        })?;
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for path in names {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".json") {
                continue;
            }
            if name.starts_with("rotation-") {
                let s = Signed::read(path.clone())?;
                let r: Rotation = serde_json::from_str(&s.text)
                    .map_err(|e| format("trust", format!("{}: {e}", path.display())))?;
                if r.schema != ROTATION_SCHEMA {
                    return Err(format(
                        "trust",
                        format!("{}: schema {:?}", path.display(), r.schema),
                    ));
                }
                let new = PublicKey::from_base64(&r.new_public_key)
                    .map_err(|e| format("trust", format!("{}: {e}", path.display())))?;
                if new.id.to_string() != r.new_key_id || s.signer()?.to_string() != r.old_key_id {
                    return Err(format(
                        "trust",
                        format!(
                            "{}: key ids do not match the keys it names and its signer",
                            path.display()
                        ),
                    ));
                }
                let at = parse_time(&r.rotated_at, &path)?;
                rotations.push((s, r, new, at));
            } else if name.starts_with("revoked") {
                let s = Signed::read(path.clone())?;
                let list: Revocations = serde_json::from_str(&s.text)
                    .map_err(|e| format("trust", format!("{}: {e}", path.display())))?;
                if list.schema != REVOCATION_SCHEMA {
                    return Err(format(
                        "trust",
                        format!("{}: schema {:?}", path.display(), list.schema),
                    ));
                }
                revocations.push((s, list));
            }
        }

        // Every key the rotations lead to from the root, each endorsement checked.
        let follow = |revoked: &BTreeMap<String, String>| -> Result<TrustStore> {
            let mut store = TrustStore::pinned(root.clone());
            store.revoked = revoked.clone();
            loop {
                let mut grew = false;
                for (s, r, new, at) in &rotations {
                    if revoked.contains_key(&r.old_key_id) {
                        continue;
                    }
                    let Some(old) = store.keys.get(&r.old_key_id).cloned() else {
                        continue;
                    };
                    s.check(&old)?;
                    let entry = store
                        .rotated
                        .entry(r.old_key_id.clone())
                        .or_insert((r.new_key_id.clone(), *at));
                    if *at < entry.1 {
                        *entry = (r.new_key_id.clone(), *at);
                    }
                    if !store.keys.contains_key(&r.new_key_id) {
                        store.keys.insert(r.new_key_id.clone(), new.clone());
                        grew = true;
                    }
                }
                if !grew {
                    return Ok(store);
                }
            }
        };
        let everything = follow(&BTreeMap::new())?;
        for (s, r, _, _) in &rotations {
            if !everything.keys.contains_key(&r.old_key_id) {
                return Err(format(
                    "trust",
                    format!(
                        "{}: endorsed by key {}, which the pinned key {} does not lead to",
                        s.path.display(),
                        r.old_key_id,
                        everything.root
                    ),
                ));
            }
        }
        let mut revoked = BTreeMap::new();
        for (s, list) in &revocations {
            let signer = s.signer()?.to_string();
            let key = everything.keys.get(&signer).ok_or_else(|| {
                format(
                    "trust",
                    format!(
                        "{}: signed by key {signer}, which the pinned key does not lead to",
                        s.path.display()
                    ),
                )
            })?;
            s.check(key)?;
            for r in &list.revoked {
                revoked
                    .entry(r.key_id.to_ascii_uppercase())
                    .or_insert_with(|| r.reason.clone());
            }
        }
        let mut store = follow(&revoked)?;
        store.cut_off = everything
            .keys
            .keys()
            .filter(|k| !store.keys.contains_key(*k))
            .cloned()
            .collect();
        Ok(store)
    }

    /// The trusted (not necessarily current) key with this id.
    pub fn key(&self, id: &KeyId) -> Option<&PublicKey> {
        self.keys.get(&id.to_string())
    }

    /// Every key reached from the pinned one (what a signature without a key id is tried
    /// against); [`TrustStore::check`] then says whether the one that verified is trusted.
    pub fn candidates(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values()
    }

    /// The current keys: trusted, not revoked, not rotated away.
    pub fn current(&self) -> Vec<&PublicKey> {
        self.keys
            .iter()
            .filter(|(id, _)| !self.rotated.contains_key(*id) && !self.revoked.contains_key(*id))
            .map(|(_, k)| k)
            .collect()
    }

    /// Whether a signature by `id`, made at `signed_at` (Unix seconds, from the signed trusted
    /// comment; `None` when the signature carries no time), is to be trusted.
    pub fn check(&self, id: &KeyId, signed_at: Option<i64>) -> Result<&PublicKey> {
        let sid = id.to_string();
        if let Some(reason) = self.revoked.get(&sid) {
            return Err(SignError::Revoked {
                key: sid,
                reason: reason.clone(),
            });
        }
        let Some(key) = self.keys.get(&sid) else {
            if self.cut_off.contains(&sid) {
                return Err(SignError::Revoked {
                    key: sid,
                    reason: "its only endorsement is by a revoked key".into(),
                });
            }
            return Err(SignError::WrongKey {
                sig: sid,
                key: if self.keys.len() > 1 || !self.cut_off.is_empty() {
                    format!("{} (or a key it endorsed)", self.root)
                } else {
                    self.root.clone()
                },
            });
        };
        if let Some((by, at)) = self.rotated.get(&sid) {
            // Seconds against a finer time: the second of the rotation already counts as after.
            let after = signed_at.is_none_or(|t| t >= at.unix_timestamp());
            if after {
                return Err(SignError::RotatedAway {
                    key: sid,
                    by: by.clone(),
                    at: at.format(&Rfc3339).unwrap_or_default(),
                });
            }
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn follows_rotations_and_honours_revocations() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (k1, k2, k3) = (
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
        );
        let t0 = OffsetDateTime::now_utc() - Duration::days(10);
        rotate(&k1, &k2.public(), dir, t0).unwrap();
        rotate(&k2, &k3.public(), dir, t0 + Duration::days(5)).unwrap();
        let store = TrustStore::load(dir, k1.public()).unwrap();
        let before = (t0 - Duration::days(1)).unix_timestamp();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!(store.check(&k3.id, Some(now)).is_ok());
        assert!(
            store.check(&k1.id, Some(before)).is_ok(),
            "signed before its rotation"
        );
        assert!(matches!(
            store.check(&k1.id, Some(now)),
            Err(SignError::RotatedAway { .. })
        ));
        assert!(matches!(
            store.check(&k2.id, None),
            Err(SignError::RotatedAway { .. })
        ));
        assert_eq!(store.current().len(), 1);

        // k2 revoked: k3, endorsed only by k2, falls with it.
        revoke(
            &k1,
            &[k2.id],
            "key compromised",
            dir,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let store = TrustStore::load(dir, k1.public()).unwrap();
        let err = store.check(&k2.id, Some(before)).unwrap_err();
        assert!(err.to_string().contains("key compromised"), "{err}");
        assert!(matches!(
            store.check(&k3.id, Some(now)),
            Err(SignError::Revoked { .. })
        ));

        // A tampered revocation list is an error, not an empty list.
        let list = dir.join(REVOCATION_FILE);
        let text = fs::read_to_string(&list)
            .unwrap()
            .replace("compromised", "retired");
        fs::write(&list, text).unwrap();
        assert!(TrustStore::load(dir, k1.public()).is_err());
    }

    #[test]
    fn an_endorsement_by_an_unknown_key_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (root, stranger, new) = (
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
        );
        rotate(
            &stranger,
            &new.public(),
            tmp.path(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let err = TrustStore::load(tmp.path(), root.public()).unwrap_err();
        assert!(err.to_string().contains("does not lead to"), "{err}");
    }
}
