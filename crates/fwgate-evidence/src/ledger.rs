//! The evidence ledger: an append-only JSON Lines file in which every record carries the
//! SHA-256 of the line before it, and a content-addressed store of the artifacts records
//! name. Editing or removing any earlier record breaks the chain, which `verify` reports.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

impl Ledger {
    /// Opens (creating if needed) the evidence directory `dir`.
    pub fn open(dir: &Path) -> Result<Ledger> {
        fs::create_dir_all(dir.join(ARTIFACTS)).map_err(io(dir, "create evidence directory"))?;
        Ok(Ledger {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `bytes` under its digest; returns the artifact entry.
    pub fn store(&self, role: &str, ext: &str, bytes: &[u8]) -> Result<Artifact> {
        let sha256 = sha256_hex(bytes);
        let rel = format!("{ARTIFACTS}/sha256-{sha256}.{ext}");
        let path = self.dir.join(&rel);
        if !path.exists() {
            let tmp = self.dir.join(format!("{rel}.tmp"));
            fs::write(&tmp, bytes).map_err(io(&tmp, "write artifact"))?;
            fs::rename(&tmp, &path).map_err(io(&path, "store artifact"))?;
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
        match fs::read_to_string(&path) {
            Ok(text) => parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path, "read ledger")(e)),
        }
    }

    /// All records, in order.
    pub fn records(&self) -> Result<Vec<EvidenceRecord>> {
        Ok(self.lines()?.into_iter().map(|(r, _)| r).collect())
    }

    /// Appends `record`, filling in `seq`, `prev` and `recorded_at`. Returns the stored record
    /// and the digest of its line.
    pub fn append(
        &self,
        mut record: EvidenceRecord,
        now: time::OffsetDateTime,
    ) -> Result<(EvidenceRecord, String)> {
        let path = self.dir.join(LEDGER);
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path, "open ledger"))?;
        // Another gate appending to the same ledger waits here, so the chain cannot fork.
        f.lock().map_err(io(&path, "lock ledger"))?;
        let mut text = String::new();
        f.read_to_string(&mut text)
            .map_err(io(&path, "read ledger"))?;
        let existing = parse(&text)?;
        record.seq = existing.len() as u64 + 1;
        record.prev = existing.last().map(|(_, d)| d.clone());
        record.recorded_at = now
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| EvidenceError::Catalog(e.to_string()))?;
        let line = serde_json::to_string(&record).map_err(|e| EvidenceError::Ledger {
            line: existing.len() + 1,
            message: e.to_string(),
        })?;
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(io(&path, "append to ledger"))?;
        f.sync_all().map_err(io(&path, "sync ledger"))?;
        let digest = sha256_hex(line.as_bytes());
        Ok((record, digest))
    }

    /// Checks the chain and every artifact's digest. Returns the number of records.
    pub fn verify(&self) -> Result<usize> {
        let lines = self.lines()?;
        let mut prev: Option<String> = None;
        for (i, (rec, digest)) in lines.iter().enumerate() {
            if rec.seq != i as u64 + 1 || rec.prev != prev {
                return Err(EvidenceError::Ledger { line: i + 1, message: "chain broken: the record does not follow the one before it (edited, removed or reordered)".into() });
            }
            for a in &rec.artifacts {
                let path = self.dir.join(&a.path);
                let bytes = fs::read(&path).map_err(io(&path, "read artifact"))?;
                if sha256_hex(&bytes) != a.sha256 {
                    return Err(EvidenceError::Ledger {
                        line: i + 1,
                        message: format!("artifact {} does not match its recorded sha256", a.path),
                    });
                }
            }
            prev = Some(digest.clone());
        }
        Ok(lines.len())
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

    #[test]
    fn chain_verifies_and_detects_edits() {
        let tmp = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(tmp.path()).unwrap();
        let now = time::OffsetDateTime::UNIX_EPOCH;
        for (i, sha) in ["aa", "bb", "cc"].iter().enumerate() {
            let a = ledger
                .store("scan-report", "json", format!("report {i}").as_bytes())
                .unwrap();
            let (rec, _) = ledger.append(record("fw.bin", sha, a), now).unwrap();
            assert_eq!(rec.seq, i as u64 + 1);
        }
        assert_eq!(ledger.verify().unwrap(), 3);
        assert_eq!(ledger.latest_for("DL-3", "bb").unwrap().unwrap().seq, 2);
        assert!(ledger.latest_for("DL-3", "dd").unwrap().is_none());

        // Rewriting the outcome of record 2 breaks the link from record 3.
        let path = tmp.path().join(LEDGER);
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let edited = lines[1].replace("\"pass\"", "\"fail\"");
        fs::write(&path, format!("{}\n{}\n{}\n", lines[0], edited, lines[2])).unwrap();
        let err = ledger.verify().unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("chain broken"),
            "{err}"
        );

        // Removing a record is caught too.
        fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert!(ledger.verify().unwrap_err().to_string().contains("line 2"));
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
                        ledger
                            .append(record("fw.bin", "aa", a), time::OffsetDateTime::UNIX_EPOCH)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(Ledger::open(&dir).unwrap().verify().unwrap(), 48);
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
        assert!(ledger
            .verify()
            .unwrap_err()
            .to_string()
            .contains("does not match"));
    }
}
