//! The evidence ledger: an append-only JSON Lines file in which every record carries the
//! SHA-256 of the line before it, signed checkpoints of its head (see [`crate::checkpoint`]),
//! and a content-addressed store of the artifacts records name. [`Ledger::verify`] names each
//! record that was edited, removed, inserted, reordered or truncated, and each artifact that
//! changed or lies outside the store.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use fwgate_sign::{PublicKey, SecretKey};

use crate::checkpoint::{Checkpoint, CHECKPOINTS, CHECKPOINT_PAYLOAD_TYPE, CHECKPOINT_SCHEMA};
use crate::record::{Artifact, EvidenceRecord};
use crate::{EvidenceError, Result};

const LEDGER: &str = "ledger.jsonl";

/// Parses the text of a ledger file (`ledger.jsonl`) into its records, without checking the
/// chain (see [`Ledger::verify`]).
pub fn parse_ledger(text: &str) -> Result<Vec<EvidenceRecord>> {
    Ok(parse(text)?.into_iter().map(|(r, _)| r).collect())
}

/// Parses ledger text into records with the digest of each line.
fn parse(text: &str) -> Result<Vec<(EvidenceRecord, String)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| {
            let rec: EvidenceRecord =
                serde_json::from_str(line).map_err(|e| EvidenceError::Ledger {
                    line: i + 1,
                    message: e.to_string(),
                })?;
            Ok((rec, sha256_hex(line.as_bytes())))
        })
        .collect()
}
const ARTIFACTS: &str = "artifacts";

/// An evidence directory: `ledger.jsonl` and `artifacts/`.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn io<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(std::io::Error) -> EvidenceError + 'a {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Largest artifact read back (scan reports of large images are a few MiB).
const MAX_ARTIFACT: u64 = 256 << 20;
/// Largest ledger or checkpoints file read.
const MAX_LEDGER: u64 = 256 << 20;

/// What [`Ledger::verify`] found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Records in the ledger.
    pub records: usize,
    /// Checkpoints in `checkpoints.jsonl`.
    pub checkpoints: usize,
    /// The last record a checkpoint signed by a given key covers (0: none).
    pub signed_through: u64,
    /// Whether signatures were checked (a key was given).
    pub keys_checked: bool,
    /// Everything that does not match, each naming its record (1-based line), checkpoint or
    /// artifact.
    pub problems: Vec<String>,
    /// With keys: the records no signed checkpoint covers (appended without the key, or
    /// inserted at the end), named.
    pub uncovered: Option<String>,
}

impl Verification {
    /// True when nothing is wrong and, with keys, every record is signed.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.uncovered.is_none()
    }

    /// Every problem, the uncovered records last.
    pub fn all_problems(&self) -> Vec<String> {
        self.problems
            .iter()
            .cloned()
            .chain(self.uncovered.clone())
            .collect()
    }
}

/// Reads `path` whole, refusing more than `max` bytes; `None` when it does not exist.
fn read_bounded(path: &Path, max: u64, op: &'static str) -> Result<Option<Vec<u8>>> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, op)(e)),
    };
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path, op))?;
    if bytes.len() as u64 > max {
        return Err(EvidenceError::Io {
            path: path.to_path_buf(),
            op,
            source: std::io::Error::other(format!("over {} MiB", max >> 20)),
        });
    }
    Ok(Some(bytes))
}

/// `now` in RFC 3339, whole seconds, as records and checkpoints state their time.
fn rfc3339(now: time::OffsetDateTime) -> Result<String> {
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| EvidenceError::Catalog(e.to_string()))
}

/// True when `rel` is a path [`Ledger::store`] makes: `artifacts/sha256-<64 hex>.<ext>`.
fn is_store_path(rel: &str) -> bool {
    let Some(name) = rel.strip_prefix("artifacts/sha256-") else {
        return false;
    };
    let Some((hexpart, ext)) = name.split_once('.') else {
        return false;
    };
    hexpart.len() == 64
        && hexpart
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !ext.is_empty()
        && ext.len() <= 16
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Ledger {
    /// Opens (creating if needed) the evidence directory `dir`. The artifact store must be a
    /// directory of its own, not a link to somewhere else.
    pub fn open(dir: &Path) -> Result<Ledger> {
        fs::create_dir_all(dir).map_err(io(dir, "create evidence directory"))?;
        let store = dir.join(ARTIFACTS);
        match fs::symlink_metadata(&store) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(EvidenceError::Io {
                    path: store,
                    op: "open the artifact store",
                    source: std::io::Error::other("not a directory (a link?)"),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match fs::create_dir(&store) {
                Ok(()) => {}
                // Another gate opening the same directory made it first.
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && fs::symlink_metadata(&store).is_ok_and(|m| m.is_dir()) => {}
                Err(e) => return Err(io(&store, "create the artifact store")(e)),
            },
            Err(e) => return Err(io(&store, "open the artifact store")(e)),
        }
        Ok(Ledger {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `bytes` under its digest; returns the artifact entry. The file is written
    /// under a fresh random name created exclusively (`O_EXCL`), then renamed into place, so
    /// a name planted in the store (a link to a file elsewhere) is never written through.
    pub fn store(&self, role: &str, ext: &str, bytes: &[u8]) -> Result<Artifact> {
        let sha256 = sha256_hex(bytes);
        let rel = format!("{ARTIFACTS}/sha256-{sha256}.{ext}");
        if !is_store_path(&rel) {
            return Err(EvidenceError::Catalog(format!(
                "artifact extension {ext:?} is not a short alphanumeric one"
            )));
        }
        let path = self.dir.join(&rel);
        // Already stored, and truly these bytes (a planted file of the same name is not).
        let present = matches!(fs::symlink_metadata(&path), Ok(m) if m.is_file())
            && read_bounded(&path, MAX_ARTIFACT, "read artifact")
                .ok()
                .flatten()
                .is_some_and(|b| b == bytes);
        if !present {
            let store = self.dir.join(ARTIFACTS);
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&store)
                .map_err(io(&store, "create artifact"))?;
            tmp.write_all(bytes).map_err(io(&path, "write artifact"))?;
            tmp.as_file()
                .sync_all()
                .map_err(io(&path, "sync artifact"))?;
            // rename(2) replaces a planted link itself, never its target.
            tmp.persist(&path)
                .map_err(|e| io(&path, "store artifact")(e.error))?;
        }
        Ok(Artifact {
            role: role.to_string(),
            path: rel,
            sha256,
        })
    }

    /// Every record with the digest of its line, in order.
    fn lines(&self) -> Result<Vec<(EvidenceRecord, String)>> {
        let path = self.dir.join(LEDGER);
        match read_bounded(&path, MAX_LEDGER, "read ledger")? {
            Some(bytes) => parse(&String::from_utf8_lossy(&bytes)),
            None => Ok(Vec::new()),
        }
    }

    /// All records, in order.
    pub fn records(&self) -> Result<Vec<EvidenceRecord>> {
        Ok(self.lines()?.into_iter().map(|(r, _)| r).collect())
    }

    /// Appends `record` without a checkpoint (see [`Ledger::append_signed`]).
    pub fn append(
        &self,
        record: EvidenceRecord,
        now: time::OffsetDateTime,
    ) -> Result<(EvidenceRecord, String)> {
        self.append_signed(record, now, None)
    }

    /// Appends `record`, filling in `seq`, `prev` and `recorded_at`, and with `key` signs a
    /// checkpoint of the new head. Refuses to append to a ledger that does not verify (with
    /// `key`'s public half, when given; artifacts by place and kind, their contents being
    /// hashed by [`Ledger::verify`] and every bundle). Returns the stored record and the
    /// digest of its line.
    pub fn append_signed(
        &self,
        mut record: EvidenceRecord,
        now: time::OffsetDateTime,
        key: Option<&SecretKey>,
    ) -> Result<(EvidenceRecord, String)> {
        let path = self.dir.join(LEDGER);
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path, "open ledger"))?;
        // Another gate appending to the same ledger waits here, so neither the chain nor the
        // checkpoints can fork.
        f.lock().map_err(io(&path, "lock ledger"))?;
        let keys: Vec<PublicKey> = key.map(|k| k.public()).into_iter().collect();
        // Records appended without the key are covered by this append's checkpoint: the key
        // holder vouches for the chain as it stands. Anything else wrong refuses.
        let check = self.verify_with(&keys, false)?;
        if !check.problems.is_empty() {
            return Err(EvidenceError::Ledger {
                line: check.records,
                message: format!(
                    "refusing to append to evidence that does not verify: {}",
                    check.problems.join("; ")
                ),
            });
        }
        let mut text = String::new();
        f.read_to_string(&mut text)
            .map_err(io(&path, "read ledger"))?;
        let existing = parse(&text)?;
        record.seq = existing.len() as u64 + 1;
        record.prev = existing.last().map(|(_, d)| d.clone());
        let stamp = rfc3339(now)?;
        record.recorded_at = stamp.clone();
        let line = serde_json::to_string(&record).map_err(|e| EvidenceError::Ledger {
            line: existing.len() + 1,
            message: e.to_string(),
        })?;
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(io(&path, "append to ledger"))?;
        f.sync_all().map_err(io(&path, "sync ledger"))?;
        let digest = sha256_hex(line.as_bytes());
        if let Some(key) = key {
            self.write_checkpoint(record.seq, &digest, stamp, key)?;
        }
        Ok((record, digest))
    }

    /// Signs a checkpoint of the ledger's head with `key` unless one by it already covers
    /// every record: what `fwgate sign` does after a gate run without a key. Refuses when
    /// the ledger does not verify. Returns the verification made before.
    pub fn countersign(&self, key: &SecretKey, now: time::OffsetDateTime) -> Result<Verification> {
        let path = self.dir.join(LEDGER);
        let f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path, "open ledger"))?;
        f.lock().map_err(io(&path, "lock ledger"))?;
        let check = self.verify(std::slice::from_ref(&key.public()))?;
        if !check.problems.is_empty() || check.uncovered.is_none() {
            return Ok(check);
        }
        let lines = self.lines()?;
        if let Some((rec, digest)) = lines.last() {
            self.write_checkpoint(rec.seq, digest, rfc3339(now)?, key)?;
        }
        Ok(check)
    }

    /// Appends a signed checkpoint of record `seq` (line digest `head`); the caller holds
    /// the ledger's lock.
    fn write_checkpoint(&self, seq: u64, head: &str, stamp: String, key: &SecretKey) -> Result<()> {
        {
            let cpath = self.dir.join(CHECKPOINTS);
            let before = read_bounded(&cpath, MAX_LEDGER, "read checkpoints")?.unwrap_or_default();
            let prev = String::from_utf8_lossy(&before)
                .lines()
                .rfind(|l| !l.is_empty())
                .map(|l| sha256_hex(l.as_bytes()));
            let cp = Checkpoint {
                schema: CHECKPOINT_SCHEMA.into(),
                seq,
                head: head.to_string(),
                prev,
                signed_at: stamp,
            };
            let payload =
                serde_json::to_vec(&cp).map_err(|e| EvidenceError::Catalog(e.to_string()))?;
            let env = fwgate_sign::dsse::sign(key, CHECKPOINT_PAYLOAD_TYPE, &payload);
            let env_line =
                serde_json::to_string(&env).map_err(|e| EvidenceError::Catalog(e.to_string()))?;
            let mut c = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&cpath)
                .map_err(io(&cpath, "open checkpoints"))?;
            c.write_all(format!("{env_line}\n").as_bytes())
                .map_err(io(&cpath, "append checkpoint"))?;
            c.sync_all().map_err(io(&cpath, "sync checkpoints"))?;
        }
        Ok(())
    }

    /// Checks the chain, every artifact (confined to the store, a regular file, its digest)
    /// and, with `keys`, every checkpoint's signature and what it covers. Each problem names
    /// the record, checkpoint or artifact; `Err` only when the files cannot be read at all.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<Verification> {
        self.verify_with(keys, true)
    }

    /// [`Ledger::verify`]; with `contents` false, artifacts are checked for their place and
    /// kind but not hashed (what every append checks: the chain and checkpoints in full, in
    /// time that does not grow with the size of twenty years of reports).
    fn verify_with(&self, keys: &[PublicKey], contents: bool) -> Result<Verification> {
        let lines = self.lines()?;
        let mut v = Verification {
            records: lines.len(),
            keys_checked: !keys.is_empty(),
            ..Verification::default()
        };
        let mut prev: Option<&str> = None;
        for (i, (rec, digest)) in lines.iter().enumerate() {
            let n = i + 1;
            if rec.seq != n as u64 {
                v.problems.push(format!(
                    "record {n}: says it is record {} (removed, inserted or reordered records)",
                    rec.seq
                ));
            } else if rec.prev.as_deref() != prev {
                v.problems.push(format!(
                    "record {n}: does not follow record {} (it or the one before it was edited, removed, inserted or reordered)",
                    n - 1
                ));
            }
            for a in &rec.artifacts {
                self.check_artifact(n, a, contents, &mut v.problems);
            }
            prev = Some(digest);
        }
        self.check_checkpoints(&lines, keys, &mut v)?;
        Ok(v)
    }

    fn check_artifact(&self, n: usize, a: &Artifact, contents: bool, problems: &mut Vec<String>) {
        if !is_store_path(&a.path)
            || a.path
                != format!(
                    "{ARTIFACTS}/sha256-{}.{}",
                    a.sha256,
                    a.path.rsplit('.').next().unwrap_or("")
                )
        {
            problems.push(format!(
                "record {n}: artifact {:?} is not a file of the store (artifacts/sha256-<digest>.<ext>)",
                a.path
            ));
            return;
        }
        let path = self.dir.join(&a.path);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                problems.push(format!(
                    "record {n}: artifact {} is not a regular file",
                    a.path
                ));
                return;
            }
            Err(_) => {
                problems.push(format!("record {n}: artifact {} is missing", a.path));
                return;
            }
        }
        if !contents {
            return;
        }
        match read_bounded(&path, MAX_ARTIFACT, "read artifact") {
            Ok(Some(bytes)) if sha256_hex(&bytes) == a.sha256 => {}
            Ok(Some(_)) => problems.push(format!(
                "record {n}: artifact {} does not match its recorded sha256",
                a.path
            )),
            Ok(None) => problems.push(format!("record {n}: artifact {} is missing", a.path)),
            Err(e) => problems.push(format!("record {n}: artifact {}: {e}", a.path)),
        }
    }

    fn check_checkpoints(
        &self,
        lines: &[(EvidenceRecord, String)],
        keys: &[PublicKey],
        v: &mut Verification,
    ) -> Result<()> {
        let cpath = self.dir.join(CHECKPOINTS);
        let text = read_bounded(&cpath, MAX_LEDGER, "read checkpoints")?.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let mut prev: Option<String> = None;
        let mut last_seq = 0u64;
        for (i, line) in text.lines().filter(|l| !l.is_empty()).enumerate() {
            let c = i + 1;
            v.checkpoints = c;
            let digest = sha256_hex(line.as_bytes());
            let env: fwgate_sign::dsse::Envelope = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(e) => {
                    v.problems
                        .push(format!("checkpoint {c}: not a DSSE envelope: {e}"));
                    prev = Some(digest);
                    continue;
                }
            };
            if env.payload_type != CHECKPOINT_PAYLOAD_TYPE {
                v.problems.push(format!(
                    "checkpoint {c}: payload type {:?}",
                    env.payload_type
                ));
            }
            let payload = if keys.is_empty() {
                env.payload_bytes().ok()
            } else {
                let verified = keys.iter().find_map(|k| env.verify(k).ok());
                if verified.is_none() {
                    v.problems.push(format!(
                        "checkpoint {c}: its signature does not verify with the given key(s) (the ledger was re-signed or regenerated by another key)"
                    ));
                }
                verified
            };
            let Some(cp) = payload.and_then(|p| serde_json::from_slice::<Checkpoint>(&p).ok())
            else {
                v.problems
                    .push(format!("checkpoint {c}: unreadable payload"));
                prev = Some(digest);
                continue;
            };
            if cp.prev != prev {
                v.problems.push(format!(
                    "checkpoint {c}: does not follow checkpoint {} (checkpoints removed, inserted or reordered)",
                    c - 1
                ));
            }
            if cp.seq <= last_seq {
                v.problems
                    .push(format!("checkpoint {c}: covers record {} again", cp.seq));
            }
            last_seq = last_seq.max(cp.seq);
            match usize::try_from(cp.seq).ok().and_then(|s| s.checked_sub(1)).and_then(|s| lines.get(s)) {
                None => v.problems.push(format!(
                    "checkpoint {c}: signs record {}, but the ledger ends at record {} (truncated)",
                    cp.seq,
                    lines.len()
                )),
                Some((_, d)) if *d != cp.head => v.problems.push(format!(
                    "record {}: changed since checkpoint {c} signed it (its line's sha256 is {}, the checkpoint signed {})",
                    cp.seq, d, cp.head
                )),
                Some(_) => {
                    if !keys.is_empty() && cp.schema == CHECKPOINT_SCHEMA {
                        v.signed_through = v.signed_through.max(cp.seq);
                    }
                }
            }
            prev = Some(digest);
        }
        if !keys.is_empty() {
            let n = lines.len() as u64;
            if v.signed_through < n {
                v.uncovered = Some(if v.signed_through + 1 == n {
                    format!("record {n}: no signed checkpoint covers it (appended without the key, or inserted)")
                } else {
                    format!(
                        "records {}..{n}: no signed checkpoint covers them (appended without the key, or inserted)",
                        v.signed_through + 1
                    )
                });
            }
        }
        Ok(())
    }

    /// An artifact's bytes: a file of the store (never a path outside it), bounded, and
    /// matching its recorded digest.
    pub fn read_artifact(&self, a: &Artifact) -> Result<Vec<u8>> {
        let bad = |m: String| EvidenceError::Catalog(format!("artifact {}: {m}", a.path));
        if !is_store_path(&a.path) {
            return Err(bad("not a file of the store".into()));
        }
        let path = self.dir.join(&a.path);
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            return Err(bad("missing or not a regular file".into()));
        }
        let bytes = read_bounded(&path, MAX_ARTIFACT, "read artifact")?
            .ok_or_else(|| bad("missing".into()))?;
        if sha256_hex(&bytes) != a.sha256 {
            return Err(bad("does not match its recorded sha256".into()));
        }
        Ok(bytes)
    }

    /// The latest record for `requirement` about the image with digest `sha256`.
    pub fn latest_for(&self, requirement: &str, sha256: &str) -> Result<Option<EvidenceRecord>> {
        Ok(self
            .records()?
            .into_iter()
            .rev()
            .find(|r| r.requirement == requirement && r.subject.sha256 == sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{EvidenceKind, Outcome, RECORD_SCHEMA};

    fn record(name: &str, sha: &str, artifact: Artifact) -> EvidenceRecord {
        EvidenceRecord {
            schema: RECORD_SCHEMA.into(),
            seq: 0,
            prev: None,
            requirement: "DL-3".into(),
            kind: EvidenceKind::StaticAnalysis,
            release: "1.0".into(),
            subject: fwgate_unpack::Subject {
                name: name.into(),
                size: 1,
                sha256: sha.into(),
            },
            recorded_at: String::new(),
            tool: fwgate_scan::Tool::current(),
            outcome: Outcome::Pass,
            summary: "test".into(),
            details: serde_json::json!({}),
            artifacts: vec![artifact],
        }
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(&[7u8; 32], fwgate_sign::KeyId([1, 2, 3, 4, 5, 6, 7, 8]))
    }

    /// A ledger of three signed records; returns the directory and its ledger lines.
    fn signed_ledger() -> (tempfile::TempDir, Vec<String>) {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(tmp.path()).unwrap();
        let now = time::OffsetDateTime::UNIX_EPOCH;
        for (i, sha) in ["aa", "bb", "cc"].iter().enumerate() {
            let a = ledger
                .store("scan-report", "json", format!("report {i}").as_bytes())
                .unwrap();
            let (rec, _) = ledger
                .append_signed(record("fw.bin", sha, a), now, Some(&key()))
                .unwrap();
            assert_eq!(rec.seq, i as u64 + 1);
        }
        let text = fs::read_to_string(tmp.path().join(LEDGER)).unwrap();
        let lines = text.lines().map(String::from).collect();
        (tmp, lines)
    }

    fn problems(dir: &Path) -> Vec<String> {
        Ledger::open(dir)
            .unwrap()
            .verify(&[key().public()])
            .unwrap()
            .all_problems()
    }

    fn write_lines(dir: &Path, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(dir.join(LEDGER), text).unwrap();
    }

    /// Recomputes `seq` and `prev` of every line, as an insider who edits a record would.
    fn rechain(lines: &[String]) -> Vec<String> {
        let mut prev: Option<String> = None;
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let mut r: EvidenceRecord = serde_json::from_str(l).unwrap();
            r.seq = i as u64 + 1;
            r.prev = prev.clone();
            let line = serde_json::to_string(&r).unwrap();
            prev = Some(sha256_hex(line.as_bytes()));
            out.push(line);
        }
        out
    }

    #[test]
    fn a_signed_chain_verifies_and_names_every_tampered_record() {
        let (tmp, lines) = signed_ledger();
        let ledger = Ledger::open(tmp.path()).unwrap();
        let v = ledger.verify(&[key().public()]).unwrap();
        assert!(v.is_ok(), "{:?}", v.problems);
        assert_eq!((v.records, v.checkpoints, v.signed_through), (3, 3, 3));
        assert_eq!(ledger.latest_for("DL-3", "bb").unwrap().unwrap().seq, 2);
        assert!(ledger.latest_for("DL-3", "dd").unwrap().is_none());
        let dir = tmp.path();
        let has = |ps: &[String], what: &str| ps.iter().any(|p| p.contains(what));

        // Edited in the middle: the edited record is named by its checkpoint.
        let mut edited = lines.clone();
        edited[1] = edited[1].replace("\"pass\"", "\"fail\"");
        write_lines(dir, &edited);
        let ps = problems(dir);
        assert!(has(&ps, "record 2: changed since checkpoint 2"), "{ps:?}");
        assert!(has(&ps, "record 3: does not follow record 2"), "{ps:?}");

        // The last record flipped: no successor to break, the checkpoint catches it.
        let mut flipped = lines.clone();
        flipped[2] = flipped[2].replace("\"pass\"", "\"fail\"");
        write_lines(dir, &flipped);
        assert!(has(&problems(dir), "record 3: changed since checkpoint 3"));

        // Edited and the chain recomputed: every record from the edit on is named.
        write_lines(dir, &rechain(&edited));
        let ps = problems(dir);
        assert!(
            has(&ps, "record 2: changed") && has(&ps, "record 3: changed"),
            "{ps:?}"
        );
        assert!(!has(&ps, "record 1:"), "{ps:?}");

        // Dropped last record: truncation.
        write_lines(dir, &lines[..2]);
        let ps = problems(dir);
        assert!(
            has(
                &ps,
                "checkpoint 3: signs record 3, but the ledger ends at record 2 (truncated)"
            ),
            "{ps:?}"
        );

        // Deleted and reordered records.
        write_lines(dir, &[lines[0].clone(), lines[2].clone()]);
        assert!(has(&problems(dir), "record 2: says it is record 3"));
        write_lines(dir, &[lines[1].clone(), lines[0].clone(), lines[2].clone()]);
        let ps = problems(dir);
        assert!(has(&ps, "record 1: says it is record 2"), "{ps:?}");

        // A record inserted at the end without the key.
        let mut extra = lines.clone();
        let mut r: EvidenceRecord = serde_json::from_str(&lines[2]).unwrap();
        r.seq = 4;
        r.prev = Some(sha256_hex(lines[2].as_bytes()));
        extra.push(serde_json::to_string(&r).unwrap());
        write_lines(dir, &extra);
        let ps = problems(dir);
        assert_eq!(
            ps,
            ["record 4: no signed checkpoint covers it (appended without the key, or inserted)"]
        );
        write_lines(dir, &lines);
        assert!(problems(dir).is_empty());

        // The whole chain regenerated and re-signed by another key.
        let other = SecretKey::from_seed(&[9u8; 32], fwgate_sign::KeyId([9; 8]));
        let tmp2 = tempfile::tempdir().unwrap();
        let forged = Ledger::open(tmp2.path()).unwrap();
        for sha in ["aa", "bb", "cc"] {
            let a = forged.store("scan-report", "json", b"forged").unwrap();
            forged
                .append_signed(
                    record("fw.bin", sha, a),
                    time::OffsetDateTime::UNIX_EPOCH,
                    Some(&other),
                )
                .unwrap();
        }
        let ps = problems(tmp2.path());
        assert!(
            has(&ps, "checkpoint 1: its signature does not verify"),
            "{ps:?}"
        );
        assert!(
            has(&ps, "records 1..3: no signed checkpoint covers them"),
            "{ps:?}"
        );

        // A checkpoint removed from the middle.
        let cps = fs::read_to_string(dir.join(CHECKPOINTS)).unwrap();
        let c: Vec<&str> = cps.lines().collect();
        fs::write(dir.join(CHECKPOINTS), format!("{}\n{}\n", c[0], c[2])).unwrap();
        assert!(has(
            &problems(dir),
            "checkpoint 2: does not follow checkpoint 1"
        ));
    }

    #[test]
    fn appending_to_a_ledger_that_does_not_verify_is_refused() {
        let (tmp, lines) = signed_ledger();
        let ledger = Ledger::open(tmp.path()).unwrap();
        write_lines(tmp.path(), &lines[..2]);
        let a = ledger.store("scan-report", "json", b"next").unwrap();
        for key in [Some(key()), None] {
            let err = ledger
                .append_signed(
                    record("fw.bin", "dd", a.clone()),
                    time::OffsetDateTime::UNIX_EPOCH,
                    key.as_ref(),
                )
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("refusing to append") && err.contains("truncated"),
                "{err}"
            );
        }
        assert_eq!(ledger.records().unwrap().len(), 2);
    }

    #[test]
    fn records_appended_without_the_key_are_countersigned() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(tmp.path()).unwrap();
        let a = ledger.store("scan-report", "json", b"r").unwrap();
        ledger
            .append(record("fw.bin", "aa", a), time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        let v = ledger.verify(&[key().public()]).unwrap();
        assert!(v.problems.is_empty() && v.uncovered.is_some());
        let before = ledger
            .countersign(&key(), time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        assert!(before.uncovered.is_some());
        assert!(ledger.verify(&[key().public()]).unwrap().is_ok());
        // Nothing more to sign: no second checkpoint.
        ledger
            .countersign(&key(), time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(ledger.verify(&[]).unwrap().checkpoints, 1);
    }

    #[test]
    fn artifacts_are_confined_to_the_store_and_never_written_through_a_planted_link() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(tmp.path()).unwrap();
        // A link planted under the name the next artifact will have, and the old
        // predictable temporary name: neither target is written.
        let victim = tmp.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let bytes = b"report";
        let rel = format!("artifacts/sha256-{}.json", sha256_hex(bytes));
        std::os::unix::fs::symlink(&victim, tmp.path().join(&rel)).unwrap();
        std::os::unix::fs::symlink(&victim, tmp.path().join(format!("{rel}.tmp"))).unwrap();
        let a = ledger.store("scan-report", "json", bytes).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(tmp.path().join(&a.path))
            .unwrap()
            .is_file());
        // A record pointing outside the store is named.
        let mut outside = a.clone();
        outside.path = "../victim".into();
        ledger
            .append(
                record("fw.bin", "aa", outside),
                time::OffsetDateTime::UNIX_EPOCH,
            )
            .unwrap();
        let ps = ledger.verify(&[]).unwrap().problems;
        assert!(
            ps.iter()
                .any(|p| p.contains("record 1: artifact \"../victim\" is not a file of the store")),
            "{ps:?}"
        );
        // An artifact store that is a link is refused.
        let tmp2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(tmp.path(), tmp2.path().join("artifacts")).unwrap();
        assert!(Ledger::open(tmp2.path()).is_err());
    }

    #[test]
    fn concurrent_appends_keep_one_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let ledger = Ledger::open(&dir).unwrap();
                    for i in 0..8 {
                        let a = ledger
                            .store("r", "json", format!("{t}-{i}").as_bytes())
                            .unwrap();
                        // Half the gates sign, half do not: one chain, every record
                        // covered by a later checkpoint.
                        let k = (t % 2 == 0).then(key);
                        ledger
                            .append_signed(
                                record("fw.bin", "aa", a),
                                time::OffsetDateTime::UNIX_EPOCH,
                                k.as_ref(),
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = Ledger::open(&dir)
            .unwrap()
            .verify(&[key().public()])
            .unwrap();
        assert_eq!((v.records, v.checkpoints), (48, 24));
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    fn altered_artifact_is_caught() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(tmp.path()).unwrap();
        let a = ledger.store("scan-report", "json", b"{}").unwrap();
        let path = tmp.path().join(&a.path);
        ledger
            .append(record("fw.bin", "aa", a), time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        fs::write(&path, b"{\"edited\":true}").unwrap();
        let ps = ledger.verify(&[]).unwrap().problems;
        assert!(ps.iter().any(|p| p.contains("does not match")), "{ps:?}");
    }
}
