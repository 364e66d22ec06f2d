//! Offline vulnerability matching: identified components against OSV advisories.
//!
//! Identity first: an advisory's affected package is matched by purl (type, namespace and
//! name), and only without a purl by its CPE vendor and product. Versions are compared in
//! the order of the package's ecosystem ([`version::Order`]): Debian's for `pkg:deb`, the
//! upstream order otherwise. A distribution build (a dpkg package, or a banner that names a
//! Debian revision) is decided by the advisory's entry for that distribution when there is
//! one, since distributions backport fixes; without one, an upstream range that covers it
//! is reported as *possible*. BusyBox advisories that name applets match only when one of
//! them is compiled in; kernel matches are *possible*: the configuration is unknown.

use std::cmp::Ordering;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::version::{self, Order};
use super::{purl_base, Component, Evidence, Source};
use crate::Severity;

/// One OSV record, the fields fwgate reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Osv {
    /// Id.
    pub id: String,
    /// Other ids (CVE, GHSA, DSA).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line.
    #[serde(default)]
    pub summary: String,
    /// Withdrawn advisories never match.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// CVSS vectors.
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    /// What is affected.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// `severity` (GHSA style) and `cpes`.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
    /// `modified`, as the record states it.
    #[serde(default)]
    pub modified: String,
    /// SHA-256 of the record (its JSON with keys sorted), set on loading.
    #[serde(skip)]
    pub digest: String,
}

/// A severity entry.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvSeverity {
    /// `CVSS_V3`, `CVSS_V4`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector.
    pub score: String,
}

/// An affected package.
#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    /// The package.
    #[serde(default)]
    pub package: Option<Package>,
    /// Version ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Explicit versions.
    #[serde(default)]
    pub versions: Vec<String>,
    /// `applets` for BusyBox.
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// `cpes` for a CPE fallback.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// An OSV package.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// Ecosystem.
    #[serde(default)]
    pub ecosystem: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// purl.
    #[serde(default)]
    pub purl: Option<String>,
}

/// A range.
#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT` (not evaluated: commits are not in an image).
    #[serde(rename = "type")]
    pub kind: String,
    /// Events.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// A range event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
}

/// An advisory store: curated and imported OSV records.
#[derive(Debug, Default)]
pub struct Store {
    /// The records.
    pub advisories: Vec<Osv>,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// The version is in an affected range of the component's own package.
    Affected,
    /// In range, but something the image does not tell decides (kernel configuration, a
    /// distribution's backport).
    Possible,
}

/// A component affected by an advisory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Match {
    /// Advisory id.
    pub id: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Summary.
    pub summary: String,
    /// Severity.
    pub severity: Severity,
    /// The CVSS vector, when the advisory gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<String>,
    /// The first fixed version after the component's, in the deciding package's terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Affected or possible.
    pub certainty: Certainty,
    /// Why (the deciding package and range; what is uncertain).
    pub reason: String,
    /// The component: name, version, purl.
    pub component: String,
    /// Its version.
    pub version: String,
    /// Its purl.
    pub purl: String,
    /// How it was identified.
    pub evidence: Vec<Evidence>,
}

/// An advisory that names the component but does not apply, and why (VEX
/// `not_affected` / `resolved`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotAffected {
    /// Advisory id.
    pub id: String,
    /// Component purl.
    pub purl: String,
    /// Why.
    pub reason: String,
    /// `code_not_present` (applet) or `resolved` (a distribution's fix).
    pub state: String,
}

impl Store {
    /// Parses OSV JSON records (one record or an array per file).
    pub fn add_json(&mut self, name: &str, bytes: &[u8]) -> Result<usize, String> {
        let records = parse_records(name, bytes, false)?;
        let n = records.len();
        self.advisories
            .extend(records.into_iter().map(|(osv, _)| osv));
        Ok(n)
    }

    /// SHA-256 over the records' digests, sorted: pins exactly which advisories a match
    /// was made against, whatever order they were loaded in.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut all: Vec<&str> = self.advisories.iter().map(|a| a.digest.as_str()).collect();
        all.sort_unstable();
        let mut h = sha2::Sha256::new();
        for d in all {
            h.update(d.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }

    /// Loads `path`: a directory (every `*.json` below it) or one OSV JSON file.
    pub fn add_path(&mut self, path: &Path) -> Result<usize, String> {
        if path.is_dir() {
            return self.add_dir(path);
        }
        let bytes = read_bounded(path)?;
        self.add_json(&path.display().to_string(), &bytes)
    }

    /// Loads every `*.json` under `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, String> {
        let mut n = 0;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            // Links are not followed: a link to a parent directory would walk forever.
            let mut paths: Vec<_> = entries
                .flatten()
                .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
                .collect();
            paths.sort();
            for (p, is_dir) in paths {
                if is_dir {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "json") {
                    let bytes = read_bounded(&p)?;
                    n += self.add_json(&p.display().to_string(), &bytes)?;
                }
            }
        }
        Ok(n)
    }

    /// Matches every component with a version; returns the matches and the advisories that
    /// name a component but do not apply to it.
    pub fn check(&self, components: &[Component]) -> (Vec<Match>, Vec<NotAffected>) {
        let mut matches = Vec::new();
        let mut not = Vec::new();
        for (m, n) in self.check_each(components) {
            matches.extend(m);
            not.extend(n);
        }
        matches.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.purl.cmp(&b.purl))
        });
        matches.dedup_by(|a, b| a.id == b.id && a.purl == b.purl && a.evidence == b.evidence);
        (matches, not)
    }

    /// [`Store::check`] for each component on its own: its matches and the advisories that
    /// name it but do not apply, in the order of `components`. Only advisories that name one
    /// of a component's package names are judged (an index built once), so a store of an
    /// entire distribution costs little more than the curated set.
    pub fn check_each(&self, components: &[Component]) -> Vec<(Vec<Match>, Vec<NotAffected>)> {
        let mut index: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, a) in self.advisories.iter().enumerate() {
            if a.withdrawn.is_some() {
                continue;
            }
            let mut keys: Vec<String> = a.affected.iter().flat_map(entry_names).collect();
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                index.entry(k).or_default().push(i);
            }
        }
        components
            .iter()
            .map(|c| {
                if c.version.is_none() {
                    return (Vec::new(), Vec::new());
                }
                let mut candidates: Vec<usize> = component_names(c)
                    .iter()
                    .filter_map(|k| index.get(k))
                    .flatten()
                    .copied()
                    .collect();
                candidates.sort_unstable();
                candidates.dedup();
                self.judge_component(
                    c,
                    candidates
                        .into_iter()
                        .filter_map(|i| self.advisories.get(i)),
                )
            })
            .collect()
    }

    fn judge_component<'s>(
        &self,
        c: &Component,
        advisories: impl Iterator<Item = &'s Osv>,
    ) -> (Vec<Match>, Vec<NotAffected>) {
        let mut not = Vec::new();
        let mut ours = Vec::new();
        let mut decided = std::collections::BTreeSet::new();
        for a in advisories {
            match judge(a, c) {
                Verdict::Affected(m) => ours.push(m),
                Verdict::Not(n) => {
                    decided.insert(vulnerability_key(&a.id, &a.aliases));
                    not.push(n);
                }
                Verdict::Unrelated => {}
            }
        }
        // One vulnerability in several databases (an upstream record and a distribution's):
        // a record that decides it for this build (a distribution's fix, an applet not
        // compiled in) outweighs one that can only say "possible", and a vulnerability is
        // reported once, at its most certain.
        ours.retain(|m| {
            m.certainty == Certainty::Affected
                || !decided.contains(&vulnerability_key(&m.id, &m.aliases))
        });
        ours.sort_by(|a, b| {
            vulnerability_key(&a.id, &a.aliases)
                .cmp(&vulnerability_key(&b.id, &b.aliases))
                .then(a.certainty.cmp(&b.certainty))
                .then(b.severity.cmp(&a.severity))
        });
        ours.dedup_by(|a, b| {
            vulnerability_key(&a.id, &a.aliases) == vulnerability_key(&b.id, &b.aliases)
        });
        (ours, not)
    }
}

/// The lower-case package names an affected entry can match: its purl's name, else the
/// products of its CPEs (what [`identity`] compares).
fn entry_names(e: &Affected) -> Vec<String> {
    if let Some(p) = e.package.as_ref().and_then(|p| p.purl.as_deref()) {
        return vec![purl_name(p)];
    }
    e.database_specific
        .as_ref()
        .and_then(|d| d.get("cpes"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .filter_map(|x| x.split(':').nth(4))
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// The name part of a purl (`pkg:deb/debian/openssh@1:9.2p1` → `openssh`), lower case.
fn purl_name(purl: &str) -> String {
    purl_base(purl)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Every name under which an advisory can name `c`: a superset of what [`identity`] accepts.
fn component_names(c: &Component) -> Vec<String> {
    let mut v = vec![c.name.to_ascii_lowercase(), purl_name(&c.purl)];
    if let Some(src) = c.distro.as_ref().and_then(|d| d.source_package.as_deref()) {
        v.push(src.to_ascii_lowercase());
    }
    if let Some(product) = c.cpe.as_deref().and_then(|x| x.split(':').nth(4)) {
        v.push(product.to_ascii_lowercase());
    }
    v
}

/// The OSV records in one file (one record or an array), each with its JSON (keys sorted)
/// and its digest set. A record fwgate cannot read, or whose id could not name a file, is an
/// error naming the file and the record's position.
pub fn records_of(name: &str, bytes: &[u8]) -> Result<Vec<(Osv, serde_json::Value)>, String> {
    Ok(parse_records(name, bytes, true)?
        .into_iter()
        .map(|(o, v)| (o, v.unwrap_or_default()))
        .collect())
}

/// [`records_of`], keeping each record's JSON only when `keep` is set.
fn parse_records(
    name: &str,
    bytes: &[u8],
    keep: bool,
) -> Result<Vec<(Osv, Option<serde_json::Value>)>, String> {
    use sha2::Digest;
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{name}: not OSV JSON: {e}"))?;
    let list = match v {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    let mut out = Vec::with_capacity(list.len());
    for (k, item) in list.into_iter().enumerate() {
        let at = || format!("{name}: record {}", k + 1);
        // serde_json's maps are sorted: the digest does not depend on key order.
        let canonical = serde_json::to_vec(&item).map_err(|e| format!("{}: {e}", at()))?;
        let (json, item) = if keep {
            (Some(item.clone()), item)
        } else {
            (None, item)
        };
        let mut osv: Osv = serde_json::from_value(item)
            .map_err(|e| format!("{}: not an OSV record: {e}", at()))?;
        if !is_safe_id(&osv.id) {
            return Err(format!(
                "{}: id {:?} is not an OSV id (letters, digits, '.', '_', '-'; at most 128)",
                at(),
                osv.id
            ));
        }
        osv.digest = hex::encode(sha2::Sha256::digest(&canonical));
        out.push((osv, json));
    }
    Ok(out)
}

/// An OSV id usable as a file name: `CVE-2024-6387`, `DSA-5724-1`, `GHSA-xxxx-xxxx-xxxx`.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Largest OSV file read (an export's records are a few KiB; an array file a few MiB).
const MAX_RECORD_FILE: u64 = 64 << 20;

/// Reads an OSV file, refusing one over the size bound.
pub fn read_bounded(p: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_RECORD_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    if bytes.len() as u64 > MAX_RECORD_FILE {
        return Err(format!(
            "{}: over {} MiB, not an OSV record",
            p.display(),
            MAX_RECORD_FILE >> 20
        ));
    }
    Ok(bytes)
}

/// The vulnerability an advisory is about, for telling records of one vulnerability from
/// several databases apart: its CVE id (its own or an alias), else its id.
fn vulnerability_key(id: &str, aliases: &[String]) -> String {
    std::iter::once(id)
        .chain(aliases.iter().map(String::as_str))
        .find(|x| x.starts_with("CVE-"))
        .unwrap_or(id)
        .to_string()
}

enum Verdict {
    Affected(Match),
    Not(NotAffected),
    Unrelated,
}

/// Which of the component's identities an affected entry names.
#[derive(PartialEq)]
enum Identity {
    Upstream,
    Distro,
}

fn identity(e: &Affected, c: &Component, upstream_purl: &str) -> Option<Identity> {
    if let Some(p) = e.package.as_ref().and_then(|p| p.purl.as_deref()) {
        let base = purl_base(p);
        if let Some(d) = &c.distro {
            let names = [Some(c.name.as_str()), d.source_package.as_deref()];
            if names
                .iter()
                .flatten()
                .any(|n| base == format!("pkg:deb/{}/{}", d.name, n.to_ascii_lowercase()))
            {
                return Some(Identity::Distro);
            }
        }
        return (base == upstream_purl).then_some(Identity::Upstream);
    }
    // No purl: the CPE's vendor and product, as a fallback.
    let cpes = e
        .database_specific
        .as_ref()
        .and_then(|d| d.get("cpes"))
        .and_then(|v| v.as_array())?;
    let ours = c.cpe.as_deref()?;
    let vp = |s: &str| s.split(':').skip(3).take(2).collect::<Vec<_>>().join(":");
    cpes.iter()
        .filter_map(|v| v.as_str())
        .any(|x| vp(x) == vp(ours))
        .then_some(Identity::Upstream)
}

/// Whether `v` is in `e`'s ranges or versions, and the fixed version that ends its range.
fn in_range(e: &Affected, v: &str, order: Order, ignore_epoch: bool) -> Option<Option<String>> {
    let norm = |s: &str| -> String {
        if ignore_epoch {
            s.split_once(':')
                .filter(|(ep, _)| ep.bytes().all(|b| b.is_ascii_digit()))
                .map(|(_, r)| r.to_string())
                .unwrap_or_else(|| s.to_string())
        } else {
            s.to_string()
        }
    };
    if e.versions.iter().any(|x| norm(x) == v) {
        return Some(None);
    }
    for r in e.ranges.iter().filter(|r| r.kind != "GIT") {
        let order = if r.kind == "SEMVER" {
            Order::Upstream
        } else {
            order
        };
        let cmp = |a: &str, b: &str| -> Ordering {
            if a == "0" {
                return if b == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Less
                };
            }
            version::compare(order, &norm(a), &norm(b))
        };
        let mut events: Vec<(&str, u8)> = Vec::new();
        for ev in &r.events {
            if let Some(x) = &ev.introduced {
                events.push((x, 0));
            }
            if let Some(x) = &ev.fixed {
                events.push((x, 1));
            }
            if let Some(x) = &ev.last_affected {
                events.push((x, 2));
            }
        }
        events.sort_by(|a, b| cmp(a.0, b.0).then(a.1.cmp(&b.1)));
        let mut affected = false;
        for (x, kind) in &events {
            let o = if *x == "0" {
                Ordering::Less
            } else {
                version::compare(order, &norm(x), v)
            };
            match kind {
                0 if o != Ordering::Greater => affected = true,
                1 if o != Ordering::Greater => affected = false,
                2 if o == Ordering::Less => affected = false,
                _ => {}
            }
        }
        if affected {
            let fixed = events
                .iter()
                .find(|(x, k)| *k == 1 && version::compare(order, &norm(x), v) == Ordering::Greater)
                .map(|(x, _)| x.to_string());
            return Some(fixed);
        }
    }
    None
}

fn severity_of(a: &Osv) -> (Severity, Option<String>) {
    let vector = a
        .severity
        .iter()
        .find(|s| s.kind.starts_with("CVSS_V3"))
        .map(|s| s.score.clone());
    let named = a
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .map(|s| s.to_ascii_lowercase());
    let sev = match named.as_deref() {
        Some("critical") => Some(Severity::Critical),
        Some("high") => Some(Severity::High),
        Some("moderate") | Some("medium") => Some(Severity::Medium),
        Some("low") => Some(Severity::Low),
        _ => None,
    };
    let sev = sev
        .or_else(|| vector.as_deref().and_then(cvss3_band))
        // Unstated: a release gate assumes the worst it would still act on.
        .unwrap_or(Severity::High);
    (sev, vector)
}

/// The band of a CVSS v3 vector's base score.
fn cvss3_band(vector: &str) -> Option<Severity> {
    let base: cvss::v3::Base = vector.parse().ok()?;
    let s = base.score().value();
    Some(if s >= 9.0 {
        Severity::Critical
    } else if s >= 7.0 {
        Severity::High
    } else if s >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    })
}

fn applets_of(e: &Affected) -> Vec<String> {
    e.ecosystem_specific
        .as_ref()
        .and_then(|v| v.get("applets"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn fixed_markers(e: &Affected) -> Vec<String> {
    e.ecosystem_specific
        .as_ref()
        .and_then(|v| v.get("fixed_markers"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn judge(a: &Osv, c: &Component) -> Verdict {
    let Some(version) = c.version.as_deref() else {
        return Verdict::Unrelated;
    };
    let upstream_purl = purl_base(&c.purl);
    let upstream_purl = if c.source == Source::Dpkg {
        // A dpkg package's own purl is its Debian one; its upstream identity is the rule's.
        format!("pkg:generic/{}", c.name.to_ascii_lowercase())
    } else {
        upstream_purl
    };
    let upstream_version = c.upstream().unwrap_or(version);
    let (severity, cvss) = severity_of(a);
    let mut distro_entry = false;
    let mut hit: Option<(Option<String>, Certainty, String)> = None;
    // The distribution's own entry decides for its build.
    if let Some(d) = &c.distro {
        for e in a
            .affected
            .iter()
            .filter(|e| identity(e, c, &upstream_purl) == Some(Identity::Distro))
        {
            distro_entry = true;
            // A banner states no epoch: compare without the advisory's.
            let ignore_epoch = !version::has_epoch(&d.version);
            if let Some(fixed) = in_range(e, &d.version, Order::Debian, ignore_epoch) {
                hit = Some((
                    fixed,
                    Certainty::Affected,
                    format!(
                        "{} {} is in the range of {}",
                        d.name,
                        d.version,
                        e.package
                            .as_ref()
                            .map(|p| p.ecosystem.as_str())
                            .unwrap_or("?")
                    ),
                ));
            }
        }
        if distro_entry && hit.is_none() {
            return Verdict::Not(NotAffected {
                id: a.id.clone(),
                purl: c.purl.clone(),
                reason: format!("{} {} is fixed by the distribution", d.name, d.version),
                state: "resolved".into(),
            });
        }
    }
    if hit.is_none() {
        for e in a
            .affected
            .iter()
            .filter(|e| identity(e, c, &upstream_purl) == Some(Identity::Upstream))
        {
            let Some(fixed) = in_range(e, upstream_version, Order::Upstream, false) else {
                continue;
            };
            if let Some(m) = fixed_markers(e).into_iter().find(|m| c.markers.contains(m)) {
                return Verdict::Not(NotAffected {
                    id: a.id.clone(),
                    purl: c.purl.clone(),
                    reason: format!(
                        "upstream {upstream_version} is in range, but the binary carries the fix (marker {m})"
                    ),
                    state: "resolved".into(),
                });
            }
            let applets = applets_of(e);
            if !applets.is_empty() && c.id == "busybox" {
                match &c.applets {
                    Some(have) if !applets.iter().any(|x| have.contains(x)) => {
                        return Verdict::Not(NotAffected {
                            id: a.id.clone(),
                            purl: c.purl.clone(),
                            reason: format!(
                                "the affected applet(s) {} are not compiled into this BusyBox",
                                applets.join(", ")
                            ),
                            state: "code_not_present".into(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        hit = Some((
                            fixed,
                            Certainty::Possible,
                            format!("{upstream_version} is in range; the applet table could not be read to check for {}", applets.join(", ")),
                        ));
                        break;
                    }
                }
            }
            let (certainty, reason) = if c.id == "linux" {
                (Certainty::Possible, format!("Linux {upstream_version} is in range; the kernel configuration is unknown, so whether the affected code is built in is not known"))
            } else if let Some(d) = &c.distro {
                (Certainty::Possible, format!("upstream {upstream_version} is in range; this is a {} build ({}) and the store has no {} entry for it: the fix may be backported", d.name, d.version, d.name))
            } else {
                (
                    Certainty::Affected,
                    format!("{upstream_version} is in the affected range"),
                )
            };
            hit = Some((fixed, certainty, reason));
            break;
        }
    }
    match hit {
        Some((fixed, certainty, reason)) => Verdict::Affected(Match {
            id: a.id.clone(),
            aliases: a.aliases.clone(),
            summary: a.summary.clone(),
            severity,
            cvss,
            fixed,
            certainty,
            reason,
            component: c.name.clone(),
            version: version.to_string(),
            purl: c.purl.clone(),
            evidence: c.evidence.clone(),
        }),
        None => Verdict::Unrelated,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_store_directory_is_walked_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("Debian");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("CVE-1.json"),
            br#"{"id": "CVE-1", "affected": []}"#,
        )
        .unwrap();
        // A link back to the top: followed, the walk would never end.
        std::os::unix::fs::symlink(tmp.path(), sub.join("loop")).unwrap();
        let mut store = Store::default();
        assert_eq!(store.add_dir(tmp.path()).unwrap(), 1);
        assert_eq!(store.advisories[0].id, "CVE-1");
        assert_eq!(store.advisories[0].digest.len(), 64);
    }

    #[test]
    fn an_id_that_could_not_name_a_file_is_refused() {
        for bad in ["../x", "a/b", "", ".hidden", &"x".repeat(129)] {
            let json = serde_json::json!({"id": bad}).to_string();
            assert!(records_of("f.json", json.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(records_of("f.json", br#"{"id": "GHSA-abcd-1234.x_y"}"#).is_ok());
    }
}
