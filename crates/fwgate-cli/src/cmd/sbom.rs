//! `fwgate sbom` and `fwgate components`.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use fwgate_scan::components::sbom::{self, SbomOptions};
use fwgate_scan::Report;
use sha2::{Digest, Sha256, Sha512};

use crate::args::{ComponentsArgs, SbomArgs};
use crate::Outcome;

fn identify(
    target: &std::path::Path,
    workdir: Option<&std::path::Path>,
    rules: &crate::args::RulesArgs,
    limits: &crate::args::LimitArgs,
) -> Result<(Report, Option<tempfile::TempDir>)> {
    let rules = super::load_rules(rules)?;
    super::scan::scan_target(target, workdir, &rules, limits.limits())
}

/// SHA-512 of a file, streamed.
fn sha512_file(path: &std::path::Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut h = Sha512::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// `urn:uuid:` of 16 bytes, as a version 4 (random) or 8 (derived) UUID.
fn uuid(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn problems_to_stderr(report: &Report) {
    for p in &report.problems {
        eprintln!("fwgate: warning: {}: {}", p.file, p.message);
    }
    if !report.problems.is_empty() {
        eprintln!(
            "fwgate: warning: {} part(s) of the target could not be examined; components in them are not listed",
            report.problems.len()
        );
    }
}

pub fn sbom(a: SbomArgs) -> Result<Outcome> {
    if a.manufacturer.trim().is_empty() {
        anyhow::bail!("--manufacturer (or FWGATE_MANUFACTURER) must name the manufacturer");
    }
    let (report, _guard) = identify(&a.target, a.workdir.as_deref(), &a.rules, &a.limits)?;
    problems_to_stderr(&report);
    let opts = sbom_options(
        &report,
        &a.target,
        &a.manufacturer,
        a.contact.as_deref(),
        a.release.as_deref(),
        a.reproducible,
    )?;
    let doc = sbom::document(&report, &opts);
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    match &a.output {
        Some(p) => super::write_atomic(p, &bytes)?,
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("writing to stdout")?,
    }
    let unknown = report
        .components
        .iter()
        .filter(|c| c.version.is_none())
        .count();
    eprintln!(
        "fwgate: {} component(s) in the SBOM ({unknown} with an unknown version)",
        report.components.len()
    );
    Ok(Outcome::Pass)
}

/// The SBOM's options for `report` of `target`: the image's SHA-512, and a serial and
/// timestamp that `reproducible` derives from the inputs (and `SOURCE_DATE_EPOCH`).
pub fn sbom_options(
    report: &Report,
    target: &std::path::Path,
    manufacturer: &str,
    contact: Option<&str>,
    release: Option<&str>,
    reproducible: bool,
) -> Result<SbomOptions> {
    let image_sha512 = target.is_file().then(|| sha512_file(target)).transpose()?;
    let (serial, timestamp) = if reproducible {
        let mut h = Sha256::new();
        for part in [
            report.target.subject.sha256.as_bytes(),
            report.target.subject.name.as_bytes(),
            report.ruleset_digest.as_bytes(),
            release.unwrap_or_default().as_bytes(),
            manufacturer.as_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        let epoch: i64 = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let t = time::OffsetDateTime::from_unix_timestamp(epoch)
            .context("SOURCE_DATE_EPOCH is out of range")?;
        (uuid(b, 8), t)
    } else {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).context("reading randomness for the serial number")?;
        (uuid(b, 4), time::OffsetDateTime::now_utc())
    };
    let timestamp = timestamp
        .replace_nanosecond(0)
        .unwrap_or(timestamp)
        .format(&time::format_description::well_known::Rfc3339)?;
    Ok(SbomOptions {
        manufacturer: manufacturer.to_string(),
        contact: contact.map(String::from),
        release: release.map(String::from),
        image_sha512,
        serial,
        timestamp,
    })
}

pub fn components(a: ComponentsArgs) -> Result<Outcome> {
    let (report, _guard) = identify(&a.target, None, &a.rules, &a.limits)?;
    problems_to_stderr(&report);
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report.components)?;
        writeln!(out)?;
        return Ok(Outcome::Pass);
    }
    for c in &report.components {
        let version = c.version.as_deref().unwrap_or("(version unknown)");
        let distro = c
            .distro
            .as_ref()
            .map(|d| format!(" [{} {}]", d.name, d.version))
            .unwrap_or_default();
        writeln!(out, "{:<16} {:<24} {}{distro}", c.name, version, c.purl)?;
        for e in &c.evidence {
            writeln!(
                out,
                "    {} {}+{:#x}: {}",
                e.method, e.file, e.offset, e.matched
            )?;
        }
        if let Some(applets) = &c.applets {
            writeln!(
                out,
                "    applets ({}): {}",
                applets.len(),
                applets.join(" ")
            )?;
        }
    }
    if report.components.is_empty() {
        writeln!(out, "no components identified")?;
    }
    Ok(Outcome::Pass)
}

/// The CycloneDX 1.6 VEX document of `matches` and `not` for `report`'s target.
fn vex(
    report: &Report,
    matches: &[fwgate_scan::components::advisory::Match],
    not: &[fwgate_scan::components::advisory::NotAffected],
) -> Result<serde_json::Value> {
    use serde_json::json;
    let refs = |purl: &str| -> Vec<serde_json::Value> {
        report
            .components
            .iter()
            .filter(|c| c.purl == purl)
            .map(|c| json!({"ref": sbom::bom_ref(c)}))
            .collect()
    };
    let mut vulns = Vec::new();
    for m in matches {
        let mut v = json!({
            "id": m.id,
            "source": {"name": "OSV"},
            "ratings": [{"severity": m.severity.to_string()}],
            "description": m.summary,
            "affects": refs(&m.purl),
            "analysis": {
                "state": "in_triage",
                "detail": format!("{} ({:?}): {}", m.reason, m.certainty, m.evidence.iter().map(|e| format!("{}+{:#x} {}", e.file, e.offset, e.matched)).collect::<Vec<_>>().join("; ")),
            },
        });
        if let Some(vector) = &m.cvss {
            v["ratings"][0]["vector"] = json!(vector);
            v["ratings"][0]["method"] = json!(if vector.starts_with("CVSS:3.0") {
                "CVSSv3"
            } else {
                "CVSSv31"
            });
        }
        if let Some(f) = &m.fixed {
            v["recommendation"] = json!(format!("upgrade {} to {f} or later", m.component));
        }
        if !m.aliases.is_empty() {
            v["references"] = json!(m
                .aliases
                .iter()
                .map(|a| json!({"id": a, "source": {"name": "alias"}}))
                .collect::<Vec<_>>());
        }
        vulns.push(v);
    }
    for n in not {
        let mut analysis = json!({"state": if n.state == "resolved" { "resolved" } else { "not_affected" }, "detail": n.reason});
        if n.state == "code_not_present" {
            analysis["justification"] = json!("code_not_present");
        }
        vulns.push(json!({
            "id": n.id,
            "source": {"name": "OSV"},
            "affects": refs(&n.purl),
            "analysis": analysis,
        }));
    }
    let mut serial = [0u8; 16];
    getrandom::getrandom(&mut serial).context("reading randomness for the serial number")?;
    let now = time::OffsetDateTime::now_utc();
    Ok(json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": uuid(serial, 4),
        "version": 1,
        "metadata": {
            "timestamp": now.replace_nanosecond(0).unwrap_or(now).format(&time::format_description::well_known::Rfc3339)?,
            "tools": {"components": [{"type": "application", "name": report.tool.name, "version": report.tool.version}]},
            "component": {"type": "firmware", "bom-ref": "image", "name": report.target.subject.name},
        },
        "vulnerabilities": vulns,
    }))
}

pub fn vulns(a: crate::args::VulnsArgs) -> Result<Outcome> {
    let ruleset = super::load_rules(&a.rules)?;
    let store = store_with(&ruleset, &a.advisories, !a.no_builtin)?;
    let target = a
        .target
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("vulns needs an image or a directory"))?;
    let (report, _guard) = super::scan::scan_target(target, None, &ruleset, a.limits.limits())?;
    problems_to_stderr(&report);
    let (matches, not) = store.check(&report.components);
    if let Some(path) = &a.output {
        let mut bytes = serde_json::to_vec_pretty(&vex(&report, &matches, &not)?)?;
        bytes.push(b'\n');
        super::write_atomic(path, &bytes)?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"matches": matches, "not_affected": not}),
        )?;
        writeln!(out)?;
    } else {
        for m in &matches {
            writeln!(out, "{:<8} {}", m.severity.to_string(), one_line(m))?;
            writeln!(out, "    {}", m.summary)?;
            writeln!(out, "    {}", m.reason)?;
            for e in &m.evidence {
                writeln!(
                    out,
                    "    evidence {}+{:#x}: {}",
                    e.file, e.offset, e.matched
                )?;
            }
        }
        for n in &not {
            writeln!(out, "not affected  {} {}: {}", n.id, n.purl, n.reason)?;
        }
        let unknown: Vec<&str> = report
            .components
            .iter()
            .filter(|c| c.version.is_none())
            .map(|c| c.name.as_str())
            .collect();
        writeln!(
            out,
            "{} match(es) in {} component(s) against {} advisories{}",
            matches.len(),
            report.components.len(),
            store.advisories.len(),
            if unknown.is_empty() {
                String::new()
            } else {
                format!("; not checkable, version unknown: {}", unknown.join(", "))
            }
        )?;
    }
    let failing = matches.iter().filter(|m| m.severity >= a.fail_on).count();
    if failing > 0 {
        eprintln!("fwgate: {failing} match(es) at or above {}", a.fail_on);
        return Ok(Outcome::PolicyFailed);
    }
    Ok(Outcome::Pass)
}

/// `ID component version (certainty), fixed in V`.
fn one_line(m: &fwgate_scan::components::advisory::Match) -> String {
    format!(
        "{:<16} {} {} ({:?}){}",
        m.id,
        m.component,
        m.version,
        m.certainty,
        m.fixed
            .as_deref()
            .map(|f| format!(", fixed in {f}"))
            .unwrap_or_default()
    )
}

fn store_with(
    ruleset: &fwgate_scan::RuleSet,
    dirs: &[std::path::PathBuf],
    builtin: bool,
) -> Result<fwgate_scan::components::advisory::Store> {
    let mut store = fwgate_scan::components::advisory::Store::default();
    if builtin {
        store
            .advisories
            .extend(ruleset.advisories.advisories.iter().cloned());
    }
    super::advisories::load_into(&mut store, dirs)?;
    Ok(store)
}

pub fn recheck(a: crate::args::RecheckArgs) -> Result<Outcome> {
    use std::collections::{BTreeMap, BTreeSet};
    let ruleset = fwgate_scan::RuleSet::embedded().context("loading built-in rules")?;
    let store = store_with(&ruleset, &a.advisories, !a.no_builtin)?;
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| a.sboms.join(".fwgate-recheck.json"));
    let mut known: BTreeMap<String, BTreeSet<String>> = match std::fs::read(&state_path) {
        Ok(b) => serde_json::from_slice(&b)
            .with_context(|| format!("{}: not a recheck state file", state_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("{}", state_path.display())),
    };
    let mut paths: Vec<_> = std::fs::read_dir(&a.sboms)
        .with_context(|| format!("{}", a.sboms.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p != &state_path)
        .collect();
    paths.sort();
    let mut out = std::io::stdout().lock();
    let (mut releases, mut newly) = (0, 0);
    for p in paths {
        let bytes = std::fs::read(&p).with_context(|| format!("{}", p.display()))?;
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            eprintln!("fwgate: {}: not JSON, skipped", p.display());
            continue;
        };
        if doc.get("vulnerabilities").is_some() {
            continue; // a VEX document, not an SBOM
        }
        let Some(components) = sbom::read_components(&doc) else {
            eprintln!("fwgate: {}: not a CycloneDX SBOM, skipped", p.display());
            continue;
        };
        releases += 1;
        let image = &doc["metadata"]["component"];
        let release = format!(
            "{} {}",
            image["name"].as_str().unwrap_or("?"),
            image["version"].as_str().unwrap_or("?")
        );
        let key = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (matches, _) = store.check(&components);
        let seen = known.entry(key).or_default();
        for m in &matches {
            if seen.insert(format!("{}|{}", m.id, m.purl)) && m.severity >= a.fail_on {
                newly += 1;
                writeln!(
                    out,
                    "NEWLY AFFECTED  {release} ({}): {}: {}",
                    p.display(),
                    one_line(m),
                    m.summary
                )?;
            }
        }
    }
    writeln!(
        out,
        "{releases} release(s) rechecked against {} advisories: {newly} new match(es)",
        store.advisories.len()
    )?;
    let mut bytes = serde_json::to_vec_pretty(&known)?;
    bytes.push(b'\n');
    super::write_atomic(&state_path, &bytes)?;
    Ok(if newly > 0 {
        Outcome::PolicyFailed
    } else {
        Outcome::Pass
    })
}

/// A report from an image, a directory or a JSON report file.
fn report_of(
    path: &std::path::Path,
    ruleset: &fwgate_scan::RuleSet,
    limits: &crate::args::LimitArgs,
) -> Result<(Report, Option<tempfile::TempDir>)> {
    if path.is_file() {
        if let Ok(bytes) = std::fs::read(path) {
            if bytes.first() == Some(&b'{') {
                let r: Report = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{}: not an fwgate JSON report", path.display()))?;
                return Ok((r, None));
            }
        }
    }
    super::scan::scan_target(path, None, ruleset, limits.limits())
}

pub fn diff(a: crate::args::DiffArgs) -> Result<Outcome> {
    use std::collections::{BTreeMap, BTreeSet};
    let ruleset = super::load_rules(&a.rules)?;
    let (old, _g1) = report_of(&a.old, &ruleset, &a.limits)?;
    let (new, _g2) = report_of(&a.new, &ruleset, &a.limits)?;
    let versions = |r: &Report| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in &r.components {
            m.entry(c.name.clone())
                .or_default()
                .insert(c.version.clone().unwrap_or_else(|| "(unknown)".into()));
        }
        m
    };
    let (vo, vn) = (versions(&old), versions(&new));
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for (name, v) in &vn {
        match vo.get(name) {
            None => added.push(format!("{name} {}", join(v))),
            Some(o) if o != v => changed.push(format!("{name} {} -> {}", join(o), join(v))),
            _ => {}
        }
    }
    for (name, v) in &vo {
        if !vn.contains_key(name) {
            removed.push(format!("{name} {}", join(v)));
        }
    }
    let fp = |r: &Report| -> BTreeMap<String, String> {
        r.findings
            .iter()
            .map(|f| {
                (
                    f.fingerprint.clone(),
                    format!("{} {} {}", f.rule_id, f.location.inner_path, f.message),
                )
            })
            .collect()
    };
    let (fo, fnew) = (fp(&old), fp(&new));
    let new_findings: Vec<&String> = fnew
        .iter()
        .filter(|(k, _)| !fo.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    let fixed_findings: Vec<&String> = fo
        .iter()
        .filter(|(k, _)| !fnew.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    let ids = |r: &Report| -> BTreeSet<String> {
        ruleset
            .advisories
            .check(&r.components)
            .0
            .iter()
            .map(|m| format!("{} in {} {}", m.id, m.component, m.version))
            .collect()
    };
    let (mo, mn) = (ids(&old), ids(&new));
    let new_vulns: Vec<&String> = mn.difference(&mo).collect();
    let fixed_vulns: Vec<&String> = mo.difference(&mn).collect();
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "old": old.target.subject, "new": new.target.subject,
                "components": {"added": added, "removed": removed, "changed": changed},
                "findings": {"new": new_findings, "fixed": fixed_findings},
                "vulnerabilities": {"new": new_vulns, "fixed": fixed_vulns},
            }),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Pass);
    }
    writeln!(
        out,
        "{} -> {}",
        old.target.subject.name, new.target.subject.name
    )?;
    for (title, list) in [
        ("components added", added.iter().collect::<Vec<_>>()),
        ("components removed", removed.iter().collect()),
        ("components changed", changed.iter().collect()),
        ("findings new", new_findings),
        ("findings fixed", fixed_findings),
        ("vulnerabilities new", new_vulns),
        ("vulnerabilities fixed", fixed_vulns),
    ] {
        writeln!(out, "{title} ({}):", list.len())?;
        for l in list {
            writeln!(out, "  {l}")?;
        }
    }
    Ok(Outcome::Pass)
}
