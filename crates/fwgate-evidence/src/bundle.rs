//! The evidence bundle an auditor receives for one release: a deterministic tar (same inputs,
//! same bytes) of the ledger and its checkpoints, every artifact it names, the catalogs and
//! the policy, the release's status, a human report (`report.md`, `report.html`), `VERIFY.md`,
//! the signer's public key, and `SHA256SUMS` with `SHA256SUMS.minisig`, so that
//! `sha256sum -c` and `minisign -V` alone check every byte.

use std::collections::BTreeMap;
use std::io::Read;

use fwgate_sign::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};

use crate::catalog;
use crate::ledger::Ledger;
use crate::program::{self, ProgramPolicy, RequirementStatus, State};
use crate::record::EvidenceRecord;
use crate::{EvidenceError, Result};

/// Largest bundle `verify` reads, and largest member.
const MAX_BUNDLE: u64 = 4 << 30;
const MAX_MEMBER: u64 = 1 << 30;
const MAX_MEMBERS: usize = 100_000;

/// What a bundle holds, by path inside its top directory.
pub type Files = BTreeMap<String, Vec<u8>>;

fn err(m: impl Into<String>) -> EvidenceError {
    EvidenceError::Catalog(m.into())
}

/// The top directory of a release's bundle: `evidence-<release>`, the release's characters
/// outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn top_dir(release: &str) -> String {
    let safe: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("evidence-{}", safe.trim_start_matches('.'))
}

/// The policy a bundle is judged by: the directory's `policy.toml`, else what the gate
/// requires of itself (DL-3 and DL-4).
fn policy_of(ledger: &Ledger) -> Result<(ProgramPolicy, Option<Vec<u8>>)> {
    let path = ledger.dir().join(program::PROGRAM_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let p = ProgramPolicy::parse(&String::from_utf8_lossy(&bytes))?;
            Ok((p, Some(bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((ProgramPolicy::gate_default(), None))
        }
        Err(e) => Err(EvidenceError::Io {
            path,
            op: "read policy",
            source: e,
        }),
    }
}

/// The files of `release`'s bundle (before `SHA256SUMS`), and the status it reports. The
/// status is judged as of the latest record, so the same evidence gives the same bundle.
pub fn contents(
    ledger: &Ledger,
    release: &str,
    key: &PublicKey,
) -> Result<(Files, Vec<RequirementStatus>)> {
    let check = ledger.verify(std::slice::from_ref(key))?;
    if !check.is_ok() {
        return Err(err(format!(
            "the evidence does not verify, so it cannot be bundled: {}",
            check.all_problems().join("; ")
        )));
    }
    let records = ledger.records()?;
    let last = records
        .last()
        .ok_or_else(|| err("the ledger is empty: nothing to bundle"))?;
    let as_of = time::OffsetDateTime::parse(
        &last.recorded_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| err(format!("record {}: recorded_at: {e}", last.seq)))?;
    let (policy, policy_bytes) = policy_of(ledger)?;
    let lines = program::status(ledger, &policy, release, as_of)?;
    let mut files = Files::new();
    let read = |rel: &str| -> Result<Vec<u8>> {
        let p = ledger.dir().join(rel);
        std::fs::read(&p).map_err(|e| EvidenceError::Io {
            path: p,
            op: "read",
            source: e,
        })
    };
    files.insert("ledger.jsonl".into(), read("ledger.jsonl")?);
    if ledger.dir().join(crate::checkpoint::CHECKPOINTS).is_file() {
        files.insert(
            crate::checkpoint::CHECKPOINTS.into(),
            read(crate::checkpoint::CHECKPOINTS)?,
        );
    }
    for r in &records {
        for a in &r.artifacts {
            if !files.contains_key(&a.path) {
                files.insert(a.path.clone(), read(&a.path)?);
            }
        }
    }
    if let Some(b) = policy_bytes {
        files.insert(program::PROGRAM_FILE.into(), b);
    }
    for c in catalog::catalogs()? {
        let name = c.path.rsplit('/').next().unwrap_or(c.path);
        files.insert(format!("catalogs/{name}"), c.text.as_bytes().to_vec());
    }
    let mut status = serde_json::to_vec_pretty(&serde_json::json!({
        "release": release,
        "as_of": last.recorded_at,
        "signed_through": check.signed_through,
        "requirements": lines,
    }))
    .map_err(|e| err(e.to_string()))?;
    status.push(b'\n');
    files.insert("status.json".into(), status);
    let info = ReportInfo {
        release,
        as_of: &last.recorded_at,
        key_id: &key.id.to_string(),
        records: &records,
        top: &top_dir(release),
    };
    files.insert("report.md".into(), report_md(&lines, &info).into_bytes());
    files.insert(
        "report.html".into(),
        report_html(&lines, &info).into_bytes(),
    );
    files.insert("VERIFY.md".into(), verify_md(&info).into_bytes());
    files.insert("release.pub".into(), key.to_file_text().into_bytes());
    Ok((files, lines))
}

/// `SHA256SUMS` of `files`, in `sha256sum`'s format, sorted by path.
pub fn sha256sums(files: &Files) -> String {
    let mut out = String::new();
    for (path, bytes) in files {
        out.push_str(&hex::encode(Sha256::digest(bytes)));
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out
}

/// Builds `release`'s bundle, signed with `key`: the tar's bytes.
pub fn build(ledger: &Ledger, release: &str, key: &SecretKey) -> Result<Vec<u8>> {
    let (mut files, _) = contents(ledger, release, &key.public())?;
    let sums = sha256sums(&files);
    let digests = fwgate_sign::FileDigests::compute_some(
        &mut std::io::Cursor::new(sums.as_bytes()),
        fwgate_sign::Algorithms::Blake2b,
    )
    .map_err(|e| err(e.to_string()))?;
    let comment = format!(
        "fwgate evidence bundle for release {release}: SHA256SUMS sha256 {}",
        hex::encode(Sha256::digest(sums.as_bytes()))
    );
    let sig = fwgate_sign::sign(key, &digests, &comment).map_err(|e| err(e.to_string()))?;
    files.insert("SHA256SUMS".into(), sums.into_bytes());
    files.insert("SHA256SUMS.minisig".into(), sig.into_bytes());
    let mtime = ledger
        .records()?
        .last()
        .and_then(|r| {
            time::OffsetDateTime::parse(
                &r.recorded_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        })
        .map(|t| t.unix_timestamp().max(0) as u64)
        .unwrap_or(0);
    let top = top_dir(release);
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut h, format!("{top}/{path}"), bytes.as_slice())
            .map_err(|e| err(format!("{path}: {e}")))?;
    }
    builder.into_inner().map_err(|e| err(e.to_string()))
}

/// Reads a bundle's members (bounded; only regular files under one top directory, no `..`).
pub fn read(mut src: impl Read) -> Result<(String, Files)> {
    let mut bytes = Vec::new();
    (&mut src)
        .take(MAX_BUNDLE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("reading the bundle: {e}")))?;
    if bytes.len() as u64 > MAX_BUNDLE {
        return Err(err("the bundle is over 4 GiB"));
    }
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut files = Files::new();
    let mut top: Option<String> = None;
    for entry in archive
        .entries()
        .map_err(|e| err(format!("not a tar archive: {e}")))?
    {
        let mut entry = entry.map_err(|e| err(format!("tar: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| err(format!("tar: {e}")))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(err(format!("{path}: not a regular file (a link?)")));
        }
        let mut parts = path.split('/');
        let first = parts.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty()
            || rest.iter().any(|p| p.is_empty() || *p == "." || *p == "..")
            || first.is_empty()
            || first == ".."
        {
            return Err(err(format!(
                "{path}: not a file under the bundle's directory"
            )));
        }
        match &top {
            None => top = Some(first),
            Some(t) if *t != first => {
                return Err(err(format!("{path}: outside the bundle's directory {t}")))
            }
            Some(_) => {}
        }
        if entry.size() > MAX_MEMBER || files.len() >= MAX_MEMBERS {
            return Err(err(format!("{path}: too large, or too many members")));
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| err(format!("{path}: {e}")))?;
        if files.insert(rest.join("/"), data).is_some() {
            return Err(err(format!("{path}: twice in the bundle")));
        }
    }
    Ok((top.unwrap_or_default(), files))
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct BundleCheck {
    /// The release the signature names.
    pub release: String,
    /// Files listed in `SHA256SUMS`.
    pub files: usize,
    /// The ledger's verification, once extracted.
    pub ledger: crate::ledger::Verification,
    /// Everything that does not match; empty means the bundle verifies.
    pub problems: Vec<String>,
}

/// Checks a bundle: the signature over `SHA256SUMS` with one of `keys`, every listed digest,
/// no file unlisted, and the ledger it holds (chain, checkpoints, artifacts).
pub fn verify(files: &Files, keys: &[PublicKey]) -> Result<BundleCheck> {
    let mut c = BundleCheck::default();
    let sums = files
        .get("SHA256SUMS")
        .ok_or_else(|| err("no SHA256SUMS in the bundle"))?;
    let sig = files
        .get("SHA256SUMS.minisig")
        .ok_or_else(|| err("no SHA256SUMS.minisig in the bundle"))?;
    let sig_text = String::from_utf8_lossy(sig);
    let verified = keys.iter().find_map(|k| {
        fwgate_sign::verify(k, &sig_text, &mut std::io::Cursor::new(sums), false).ok()
    });
    match verified {
        Some(v) => {
            c.release = v
                .trusted_comment
                .strip_prefix("fwgate evidence bundle for release ")
                .and_then(|r| r.split_once(':'))
                .map(|(r, _)| r.to_string())
                .unwrap_or_default();
        }
        None => c
            .problems
            .push("SHA256SUMS.minisig: the signature does not verify with the given key(s)".into()),
    }
    let sums_text = String::from_utf8_lossy(sums);
    let mut listed = std::collections::BTreeSet::new();
    for (n, line) in sums_text.lines().enumerate() {
        let Some((digest, path)) = line.split_once("  ") else {
            c.problems
                .push(format!("SHA256SUMS line {}: not `DIGEST  PATH`", n + 1));
            continue;
        };
        listed.insert(path.to_string());
        match files.get(path) {
            None => c
                .problems
                .push(format!("{path}: listed in SHA256SUMS but missing")),
            Some(b) if hex::encode(Sha256::digest(b)) != digest => c
                .problems
                .push(format!("{path}: does not match its SHA-256 in SHA256SUMS")),
            Some(_) => {}
        }
    }
    c.files = listed.len();
    for path in files.keys() {
        if path != "SHA256SUMS" && path != "SHA256SUMS.minisig" && !listed.contains(path) {
            c.problems
                .push(format!("{path}: in the bundle but not in SHA256SUMS"));
        }
    }
    // The ledger, checked as the gate checks its directory.
    let tmp = tempfile::tempdir().map_err(|e| err(e.to_string()))?;
    for (path, bytes) in files {
        // Only names `read` accepts are written (a caller may build `files` itself).
        if path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            c.problems
                .push(format!("{path}: not a plain relative path"));
            continue;
        }
        if path == "ledger.jsonl"
            || path == crate::checkpoint::CHECKPOINTS
            || path.starts_with("artifacts/")
        {
            let dest = tmp.path().join(path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
            }
            std::fs::write(&dest, bytes).map_err(|e| err(e.to_string()))?;
        }
    }
    let ledger = Ledger::open(tmp.path())?;
    c.ledger = ledger.verify(keys)?;
    c.problems.extend(
        c.ledger
            .all_problems()
            .into_iter()
            .map(|p| format!("ledger.jsonl: {p}")),
    );
    Ok(c)
}

struct ReportInfo<'a> {
    release: &'a str,
    as_of: &'a str,
    key_id: &'a str,
    records: &'a [EvidenceRecord],
    top: &'a str,
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Satisfied => "satisfied",
        State::Waived => "waived",
        State::Stale => "stale",
        State::Missing => "missing",
    }
}

/// The records a status line names, as `#seq kind file (date) sha256:…`.
fn evidence_lines(l: &RequirementStatus, records: &[EvidenceRecord]) -> Vec<String> {
    l.evidence
        .iter()
        .filter_map(|seq| records.iter().find(|r| r.seq == *seq))
        .map(|r| {
            format!(
                "#{} {}: {} (recorded {}; subject {} sha256:{}; artifact {})",
                r.seq,
                crate::record::EvidenceKind::evidence_kind(r),
                r.summary,
                r.recorded_at,
                r.subject.name,
                r.subject.sha256,
                r.artifacts.first().map(|a| a.path.as_str()).unwrap_or("-")
            )
        })
        .collect()
}

fn why_with_fix(l: &RequirementStatus) -> String {
    match &l.fix {
        Some(f) => format!("{} (fix: {f})", l.why),
        None => l.why.clone(),
    }
}

fn counts(lines: &[RequirementStatus]) -> String {
    let n = |s: State| lines.iter().filter(|l| l.state == s).count();
    format!(
        "{} satisfied, {} waived, {} stale, {} missing",
        n(State::Satisfied),
        n(State::Waived),
        n(State::Stale),
        n(State::Missing)
    )
}

fn report_md(lines: &[RequirementStatus], i: &ReportInfo<'_>) -> String {
    let mut s = format!(
        "# Evidence for release {}\n\nAs of {} (the latest ledger record); ledger signed by key {}.\n\n{} requirement(s): {}.\n\n",
        i.release,
        i.as_of,
        i.key_id,
        lines.len(),
        counts(lines)
    );
    s.push_str("| Requirement | Catalog | Clause | Status | Why |\n|---|---|---|---|---|\n");
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    for l in lines {
        s.push_str(&format!(
            "| {} {} | {} | {} | {} | {} |\n",
            l.id,
            cell(&l.title),
            l.catalog,
            cell(l.clause.as_deref().unwrap_or("")),
            state_word(l.state),
            cell(&why_with_fix(l))
        ));
    }
    s.push_str("\n## Evidence\n\n");
    for l in lines.iter().filter(|l| !l.evidence.is_empty()) {
        s.push_str(&format!("### {}\n\n", l.id));
        for e in evidence_lines(l, i.records) {
            s.push_str(&format!("- {}\n", cell(&e)));
        }
        s.push('\n');
    }
    s
}

fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn report_html(lines: &[RequirementStatus], i: &ReportInfo<'_>) -> String {
    let mut rows = String::new();
    for l in lines {
        let ev: Vec<String> = evidence_lines(l, i.records)
            .iter()
            .map(|e| format!("<li>{}</li>", esc(e)))
            .collect();
        rows.push_str(&format!(
            "<tr class=\"{state}\" id=\"req-{id}\"><td><b>{id}</b><br>{title}</td><td>{cat}</td><td>{clause}</td><td class=\"state\">{state}</td><td>{why}{ev}</td></tr>\n",
            state = state_word(l.state),
            id = esc(&l.id),
            title = esc(&l.title),
            cat = esc(&l.catalog),
            clause = esc(l.clause.as_deref().unwrap_or("")),
            why = esc(&why_with_fix(l)),
            ev = if ev.is_empty() {
                String::new()
            } else {
                format!("<ul>{}</ul>", ev.join(""))
            }
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence for release {release}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1a1a1a; }}
h1 {{ font-size: 1.5em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .4em .6em; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
td.state {{ font-weight: bold; text-transform: uppercase; white-space: nowrap; }}
tr.satisfied td.state {{ color: #11661f; }}
tr.waived td.state {{ color: #555; }}
tr.stale td.state {{ color: #9a5b00; }}
tr.missing td.state {{ color: #b00020; }}
ul {{ margin: .3em 0 0 1.2em; padding: 0; font-size: .9em; word-break: break-all; }}
</style>
</head>
<body>
<h1>Evidence for release {release}</h1>
<p>As of {as_of} (the latest ledger record). Ledger signed by key <code>{key}</code>.
Verify this bundle with <code>sha256sum -c SHA256SUMS</code> and
<code>minisign -Vm SHA256SUMS -p release.pub</code> in <code>{top}/</code> (see VERIFY.md).</p>
<p id="summary">{n} requirement(s): {counts}.</p>
<table>
<thead><tr><th>Requirement</th><th>Catalog</th><th>Clause</th><th>Status</th><th>Why, and the evidence</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
</body>
</html>
"#,
        release = esc(i.release),
        as_of = esc(i.as_of),
        key = esc(i.key_id),
        top = esc(i.top),
        n = lines.len(),
        counts = counts(lines),
        rows = rows
    )
}

fn verify_md(i: &ReportInfo<'_>) -> String {
    format!(
        r#"# Verifying this evidence bundle

This bundle holds the security-program evidence for release {release}, as of {as_of}. Every file
in it is listed with its SHA-256 in `SHA256SUMS`, and `SHA256SUMS` is signed with the
manufacturer's Ed25519 key {key} (`SHA256SUMS.minisig`, minisign format). Two standard tools
check every byte; fwgate is not needed.

1. Unpack it and enter its directory:

       tar -xf BUNDLE.tar
       cd {top}

2. Obtain the manufacturer's public key from the manufacturer, not from this bundle (the
   `release.pub` here is a copy for convenience). Its key id must be {key}.

3. Check the signature over the checksums:

       minisign -Vm SHA256SUMS -p release.pub

   It must print "Signature and comment signature verified" and a trusted comment naming
   release {release} and the SHA-256 of `SHA256SUMS` (`sha256sum SHA256SUMS`).

4. Check every file against the checksums:

       sha256sum -c SHA256SUMS

   Every line must end in "OK"; a file that is not listed in `SHA256SUMS` is not part of the
   evidence.

5. Read `report.html` (or `report.md`) in a browser: each requirement of the policy with its
   status (satisfied, waived with its reason, stale, missing), why, and the evidence records
   with their dates and digests.

What is inside: `ledger.jsonl` (one record per line; each carries the SHA-256 of the line
before it), `checkpoints.jsonl` (DSSE envelopes, payload type
`application/vnd.fwgate.ledger-checkpoint.v1+json`, each signing a record number and that line's
SHA-256), `artifacts/` (every file a record names, under its own SHA-256), `catalogs/` (the
requirement catalogs), `policy.toml` (which requirements the product must meet, and the waivers
with their reasons), `status.json` (the status the report shows). With fwgate at hand,
`fwgate evidence verify BUNDLE.tar --key release.pub` checks all of this, the ledger's chain and
checkpoints included.
"#,
        release = i.release,
        as_of = i.as_of,
        key = i.key_id,
        top = i.top
    )
}
