//! Which third-party components ship in an image, in which versions, and how we know.
//!
//! Identifiers are data: one file per component in `rules/components/<id>.toml`
//! ([`ComponentRule`]). A component is identified from a package database the image carries
//! (dpkg and opkg status files), or from a version string inside a file; every
//! identification carries its evidence (file, offset, the matched bytes). A component whose
//! version cannot be read is listed with no version: fwgate never guesses one.
//!
//! [`sbom`] writes them as CycloneDX 1.6.

pub mod advisory;
mod packages;
pub mod sbom;
pub mod version;

use std::collections::{BTreeMap, HashMap};

use globset::{GlobSet, GlobSetBuilder};
use regex::bytes::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

pub use packages::PackageDb;

/// A component identifier as written in `rules/components/<id>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentRule {
    /// Permanent id, the file's name.
    pub id: String,
    /// Component name in the SBOM.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Who makes it.
    pub supplier: String,
    /// SPDX licence ids of the upstream project.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Package URL without the version, e.g. `pkg:generic/dropbear`.
    pub purl: String,
    /// CPE 2.3 with `{version}` in place of the version.
    #[serde(default)]
    pub cpe: Option<String>,
    /// Package names in dpkg and opkg databases that are this component.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Device paths (globs, no leading `/`) to look in; empty: every file.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Only ELF files.
    #[serde(default = "yes")]
    pub elf_only: bool,
    /// Version patterns: the group named `version` (or else group 1) is the version, the
    /// group named `debrev` a Debian revision.
    #[serde(default)]
    pub version: Vec<String>,
    /// Patterns that identify the component without a version.
    #[serde(default)]
    pub presence: Vec<String>,
    /// Markers of a fix or build option, by name: a pattern whose presence in the
    /// component's file shows it (e.g. `strict-kex`, the Terrapin fix). Advisories name
    /// them in `ecosystem_specific.fixed_markers`.
    #[serde(default)]
    pub markers: BTreeMap<String, String>,
    /// Test cases.
    #[serde(default, rename = "test")]
    pub tests: Vec<ComponentTest>,
}

fn yes() -> bool {
    true
}

/// A test case of a component identifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentTest {
    /// File content.
    pub content: String,
    /// Device path (default: one the rule looks at).
    #[serde(default)]
    pub path: Option<String>,
    /// Expected version; `""`: identified without a version.
    #[serde(default)]
    pub version: Option<String>,
    /// Expected Debian revision.
    #[serde(default)]
    pub debrev: Option<String>,
    /// The content must not identify the component.
    #[serde(default)]
    pub absent: bool,
}

/// Where an identification came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Evidence {
    /// Device path of the file, e.g. `/usr/sbin/dropbear`.
    pub file: String,
    /// Offset of the match in the file.
    pub offset: u64,
    /// The matched bytes (printable ASCII, at most 120 characters).
    pub matched: String,
    /// How it was read: `banner`, `presence`, `dpkg`, `opkg`, `applets`.
    pub method: String,
}

/// A deployable file of a component.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComponentFile {
    /// Path relative to the extraction root.
    pub path: String,
    /// Device path.
    pub inner_path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
    /// SHA-512 (BSI TR-03183-2 asks for it).
    pub sha512: String,
    /// An ELF file, or has an execute bit.
    pub executable: bool,
}

/// What identified the component's version.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A dpkg status file.
    Dpkg,
    /// An opkg status file.
    Opkg,
    /// A version string in the file itself.
    Binary,
}

/// One identified component.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Component {
    /// Identifier id (`rules/components/<id>.toml`), or the package name for a package
    /// no identifier knows.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version as its source states it (a package's full version); `None`: unknown.
    pub version: Option<String>,
    /// The upstream version (a package version without epoch and revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_version: Option<String>,
    /// A distribution's build of it: `debian` with the Debian version, when a package
    /// database or the banner says so (its fixes may be backported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// Package URL with the version.
    pub purl: String,
    /// CPE 2.3, a secondary identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// Supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// SPDX licence ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// What the version was read from.
    pub source: Source,
    /// Files that are this component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ComponentFile>,
    /// How it was identified.
    pub evidence: Vec<Evidence>,
    /// BusyBox: the applets compiled in; `None` when the table could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applets: Option<Vec<String>>,
    /// The file system (extraction path prefix) it was found in.
    pub root: String,
    /// Markers (see [`ComponentRule::markers`]) found in its files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<String>,
}

/// A distribution build.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Distro {
    /// `debian`.
    pub name: String,
    /// Source package name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_package: Option<String>,
    /// The distribution's version; without an epoch when only a banner stated it.
    pub version: String,
}

impl Component {
    /// The version to compare against upstream ranges.
    pub fn upstream(&self) -> Option<&str> {
        self.upstream_version.as_deref().or(self.version.as_deref())
    }
}

/// The compiled identifiers.
#[derive(Debug, Default)]
pub struct Identifiers {
    rules: Vec<Compiled>,
    /// Every version and presence pattern, for one pass over each file.
    prefilter: Option<RegexSet>,
    /// Pattern index in `prefilter` → (rule, version pattern or presence pattern).
    index: Vec<(usize, PatternKind, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternKind {
    Version,
    Presence,
}

#[derive(Debug)]
struct Compiled {
    rule: ComponentRule,
    paths: Option<GlobSet>,
    version: Vec<Regex>,
    presence: Vec<Regex>,
    markers: Vec<(String, Regex)>,
}

/// What one file said about one component.
#[derive(Debug, Clone)]
pub struct Identified {
    /// Identifier index.
    rule: usize,
    version: Option<String>,
    debrev: Option<String>,
    evidence: Evidence,
    applets: Option<Vec<String>>,
    markers: Vec<String>,
    file: ComponentFile,
}

/// The identifications and package databases found in one file.
#[derive(Debug, Default)]
pub struct FileFindings {
    /// Components the file's content names.
    pub identified: Vec<Identified>,
    /// A package database, when the file is one.
    pub packages: Option<PackageDb>,
}

/// Printable excerpt of a match.
fn excerpt(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(120)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

impl Identifiers {
    /// Compiles the identifier files (`components/<id>.toml`, relative path and bytes).
    pub fn compile(files: &[(String, Vec<u8>)]) -> Result<Identifiers, (String, String)> {
        let mut rules = Vec::new();
        for (path, bytes) in files {
            let err = |m: String| (path.clone(), m);
            let text = std::str::from_utf8(bytes).map_err(|_| err("not UTF-8".into()))?;
            let rule: ComponentRule = toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
                (
                    match line {
                        Some(l) => format!("{path}:{l}"),
                        None => path.clone(),
                    },
                    e.message().to_string(),
                )
            })?;
            let stem = path
                .rsplit('/')
                .next()
                .and_then(|n| n.strip_suffix(".toml"))
                .unwrap_or_default();
            if rule.id != stem {
                return Err(err(format!("id {:?} must match the file name", rule.id)));
            }
            if !rule.purl.starts_with("pkg:") || rule.purl.contains('@') {
                return Err(err("purl must be pkg:TYPE/NAME without a version".into()));
            }
            if rule.version.is_empty() && rule.presence.is_empty() && rule.packages.is_empty() {
                return Err(err(
                    "no version, presence or packages: identifies nothing".into()
                ));
            }
            let compile = |list: &[String]| -> Result<Vec<Regex>, (String, String)> {
                list.iter()
                    .map(|p| {
                        regex::bytes::RegexBuilder::new(p)
                            .unicode(false)
                            .size_limit(1 << 20)
                            .build()
                            .map_err(|e| err(format!("pattern {p:?}: {e}")))
                    })
                    .collect()
            };
            let version = compile(&rule.version)?;
            if let Some(r) = version.iter().find(|r| r.captures_len() < 2) {
                return Err(err(format!(
                    "version pattern {:?} has no capture group",
                    r.as_str()
                )));
            }
            let presence = compile(&rule.presence)?;
            let names: Vec<String> = rule.markers.keys().cloned().collect();
            let patterns: Vec<String> = rule.markers.values().cloned().collect();
            let markers = names.into_iter().zip(compile(&patterns)?).collect();
            let paths = if rule.paths.is_empty() {
                None
            } else {
                let mut b = GlobSetBuilder::new();
                for g in &rule.paths {
                    b.add(
                        globset::GlobBuilder::new(g)
                            .literal_separator(true)
                            .build()
                            .map_err(|e| err(format!("path glob {g:?}: {e}")))?,
                    );
                }
                Some(b.build().map_err(|e| err(e.to_string()))?)
            };
            rules.push(Compiled {
                rule,
                paths,
                version,
                presence,
                markers,
            });
        }
        rules.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        let (prefilter, index) = prefilter(&rules).map_err(|e| ("components/".to_string(), e))?;
        Ok(Identifiers {
            rules,
            prefilter,
            index,
        })
    }

    /// The identifier files, sorted by id.
    pub fn rules(&self) -> impl Iterator<Item = &ComponentRule> {
        self.rules.iter().map(|c| &c.rule)
    }

    /// The identifier for `id`.
    pub fn rule(&self, id: &str) -> Option<&ComponentRule> {
        self.rules.iter().map(|c| &c.rule).find(|r| r.id == id)
    }

    /// True when no identifier is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn looks_at(&self, c: &Compiled, path: &str, elf: bool) -> bool {
        (!c.rule.elf_only || elf) && c.paths.as_ref().is_none_or(|g| g.is_match(path))
    }

    /// True when some identifier (or the package database reader) wants to read a file
    /// reachable by `paths`.
    pub fn wants(&self, paths: &[String]) -> bool {
        !self.rules.is_empty()
            && (paths.iter().any(|p| packages::is_database(p))
                || self
                    .rules
                    .iter()
                    .any(|c| c.paths.is_none() || paths.iter().any(|p| self.looks_at(c, p, true))))
    }

    /// Reads what `content` (a file reachable by `paths`) says about components.
    pub fn identify(
        &self,
        content: &[u8],
        paths: &[String],
        node: &fwgate_unpack::Node,
    ) -> FileFindings {
        let mut out = FileFindings::default();
        if self.rules.is_empty() {
            return out;
        }
        if let Some(p) = paths.iter().find(|p| packages::is_database(p)) {
            out.packages = packages::parse(p, content);
            return out;
        }
        let elf = content.starts_with(b"\x7fELF");
        let Some(set) = &self.prefilter else {
            return out;
        };
        let hits = set.matches(content);
        if !hits.matched_any() {
            return out;
        }
        let inner = paths.first().cloned().unwrap_or_default();
        let mut file = None;
        let mut file_of = || {
            file.get_or_insert_with(|| ComponentFile {
                path: node.path.clone(),
                inner_path: format!("/{inner}"),
                size: content.len() as u64,
                sha256: node
                    .sha256
                    .clone()
                    .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(content))),
                sha512: hex::encode(Sha512::digest(content)),
                executable: elf || node.mode & 0o111 != 0,
            })
            .clone()
        };
        let mut done = vec![false; self.rules.len()];
        for i in hits.iter() {
            let (r, kind, j) = self.index[i];
            let c = &self.rules[r];
            if done[r] || !paths.iter().any(|p| self.looks_at(c, p, elf)) {
                continue;
            }
            let ident = match kind {
                PatternKind::Version => {
                    let Some(caps) = c.version[j].captures(content) else {
                        continue;
                    };
                    let (Some(all), Some(v)) =
                        (caps.get(0), caps.name("version").or_else(|| caps.get(1)))
                    else {
                        continue;
                    };
                    let version = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    if version.is_empty() {
                        continue;
                    }
                    Identified {
                        rule: r,
                        version: Some(version),
                        debrev: caps
                            .name("debrev")
                            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                            .filter(|s| !s.is_empty()),
                        evidence: Evidence {
                            file: format!("/{inner}"),
                            offset: all.start() as u64,
                            matched: excerpt(all.as_bytes()),
                            method: "banner".into(),
                        },
                        applets: None,
                        markers: Vec::new(),
                        file: file_of(),
                    }
                }
                PatternKind::Presence => {
                    // A version pattern of the same rule that also matched wins.
                    if self.index.iter().enumerate().any(|(k, &(rr, kk, _))| {
                        rr == r && kk == PatternKind::Version && hits.matched(k)
                    }) {
                        continue;
                    }
                    let Some(m) = c.presence[j].find(content) else {
                        continue;
                    };
                    Identified {
                        rule: r,
                        version: None,
                        debrev: None,
                        evidence: Evidence {
                            file: format!("/{inner}"),
                            offset: m.start() as u64,
                            matched: excerpt(m.as_bytes()),
                            method: "presence".into(),
                        },
                        applets: None,
                        markers: Vec::new(),
                        file: file_of(),
                    }
                }
            };
            // Version patterns come before presence ones in the set, in the file's order.
            done[r] = true;
            let mut ident = ident;
            if c.rule.id == "busybox" {
                ident.applets = busybox_applets(content);
            }
            ident.markers = c
                .markers
                .iter()
                .filter(|(_, re)| re.is_match(content))
                .map(|(n, _)| n.clone())
                .collect();
            out.identified.push(ident);
        }
        out
    }

    /// Runs the identifiers' test cases; returns how many ran.
    pub fn self_test(&self) -> Result<usize, String> {
        let mut n = 0;
        for c in &self.rules {
            for (k, t) in c.rule.tests.iter().enumerate() {
                let path = t.path.clone().unwrap_or_else(|| default_path(&c.rule));
                let mut node = test_node(&path);
                node.size = t.content.len() as u64;
                let rules = vec![Compiled {
                    rule: c.rule.clone(),
                    paths: c.paths.clone(),
                    version: c.version.clone(),
                    presence: c.presence.clone(),
                    markers: c.markers.clone(),
                }];
                let (prefilter, index) = prefilter(&rules)?;
                let one = Identifiers {
                    rules,
                    prefilter,
                    index,
                };
                // Test content stands for an ELF file's strings: the ELF filter is lifted.
                let mut content = t.content.as_bytes().to_vec();
                if c.rule.elf_only && !content.starts_with(b"\x7fELF") {
                    content.splice(0..0, b"\x7fELF".iter().copied());
                }
                let found = one.identify(&content, std::slice::from_ref(&path), &node);
                let got = found.identified.first();
                let what = format!("components/{}.toml test {}", c.rule.id, k + 1);
                match (t.absent, got) {
                    (true, None) => {}
                    (true, Some(g)) => {
                        return Err(format!(
                            "{what}: identified ({:?}) but the case says absent",
                            g.version
                        ))
                    }
                    (false, None) => return Err(format!("{what}: not identified")),
                    (false, Some(g)) => {
                        let want = t.version.clone().unwrap_or_default();
                        let have = g.version.clone().unwrap_or_default();
                        if want != have {
                            return Err(format!("{what}: version {have:?}, expected {want:?}"));
                        }
                        if let Some(d) = &t.debrev {
                            if g.debrev.as_deref().unwrap_or_default() != d {
                                return Err(format!(
                                    "{what}: debrev {:?}, expected {d:?}",
                                    g.debrev
                                ));
                            }
                        }
                    }
                }
                n += 1;
            }
        }
        Ok(n)
    }

    /// Turns what the files said into the image's components: package databases first
    /// (their versions are the packager's), binaries merged into the package they belong
    /// to when the versions agree, and one component per distinct (identifier, version)
    /// in each file system otherwise.
    pub fn assemble(&self, found: Vec<(String, FileFindings)>) -> Vec<Component> {
        let mut components: Vec<Component> = Vec::new();
        let mut idents = Vec::new();
        for (root, f) in found {
            if let Some(db) = f.packages {
                for p in db.packages {
                    components.push(self.package_component(&root, &db.kind, &db.path, p));
                }
            }
            for i in f.identified {
                idents.push((root.clone(), i));
            }
        }
        // (file system, identifier) → its packages; (file system, identifier, version) → the
        // component a binary joins. Maps, so that an image with many identifications stays
        // linear.
        let mut packages: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (k, p) in components.iter().enumerate() {
            packages
                .entry((p.root.clone(), p.id.clone()))
                .or_default()
                .push(k);
        }
        let mut binaries: HashMap<(String, String, Option<String>), usize> = HashMap::new();
        for (root, i) in idents {
            let c = &self.rules[i.rule].rule;
            // The package this file belongs to: same identifier and file system, and a
            // version that agrees (or none read from the file).
            let package = packages
                .get(&(root.clone(), c.id.clone()))
                .and_then(|list| {
                    list.iter().copied().find(|&k| {
                        i.version
                            .as_deref()
                            .is_none_or(|v| Some(v) == components[k].upstream())
                    })
                });
            let known = package.or_else(|| {
                binaries
                    .get(&(root.clone(), c.id.clone(), i.version.clone()))
                    .copied()
            });
            if let Some(k) = known {
                let p = &mut components[k];
                p.evidence.push(i.evidence);
                p.markers.extend(i.markers);
                p.files.push(i.file);
                if p.applets.is_none() {
                    p.applets = i.applets;
                }
                continue;
            }
            let distro = i.debrev.as_ref().and_then(|rev| {
                i.version.as_ref().map(|v| Distro {
                    name: "debian".into(),
                    source_package: None,
                    version: format!("{v}-{rev}"),
                })
            });
            binaries.insert(
                (root.clone(), c.id.clone(), i.version.clone()),
                components.len(),
            );
            components.push(Component {
                id: c.id.clone(),
                name: c.name.clone(),
                purl: purl_with(&c.purl, i.version.as_deref(), None),
                cpe: c.cpe.as_ref().map(|t| cpe_with(t, i.version.as_deref())),
                version: i.version,
                upstream_version: None,
                distro,
                supplier: Some(c.supplier.clone()),
                licenses: c.licenses.clone(),
                source: Source::Binary,
                files: vec![i.file],
                evidence: vec![i.evidence],
                applets: i.applets,
                root,
                markers: i.markers,
            });
        }
        merge_siblings(&mut components);
        for c in &mut components {
            c.markers.sort();
            c.markers.dedup();
            c.evidence
                .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
            c.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        components.sort_by(|a, b| {
            (&a.name, &a.version, &a.root, a.source, &a.id)
                .cmp(&(&b.name, &b.version, &b.root, b.source, &b.id))
                .then_with(|| {
                    a.files
                        .first()
                        .map(|f| &f.path)
                        .cmp(&b.files.first().map(|f| &f.path))
                })
        });
        components
    }

    fn package_component(
        &self,
        root: &str,
        kind: &Source,
        db_path: &str,
        p: packages::Package,
    ) -> Component {
        let rule = self
            .rules
            .iter()
            .map(|c| &c.rule)
            .find(|r| r.packages.iter().any(|n| n == &p.name));
        let upstream = version::upstream_of_package(&p.version).to_string();
        let evidence = Evidence {
            file: format!("/{db_path}"),
            offset: p.offset,
            matched: excerpt(format!("Package: {} Version: {}", p.name, p.version).as_bytes()),
            method: match kind {
                Source::Dpkg => "dpkg",
                Source::Opkg => "opkg",
                Source::Binary => "banner",
            }
            .into(),
        };
        let (purl, distro) = match kind {
            Source::Dpkg => {
                let q = p.architecture.as_deref().map(|a| format!("arch={a}"));
                (
                    purl_with(&format!("pkg:deb/debian/{}", p.name), Some(&p.version), q),
                    Some(Distro {
                        name: "debian".into(),
                        source_package: Some(p.source.clone().unwrap_or_else(|| p.name.clone())),
                        version: p.version.clone(),
                    }),
                )
            }
            // OpenWrt builds upstream releases with its own patches; the upstream version
            // is what upstream advisories speak of.
            _ => (
                match rule {
                    Some(r) => purl_with(&r.purl, Some(&upstream), None),
                    None => purl_with(&format!("pkg:generic/{}", p.name), Some(&p.version), None),
                },
                None,
            ),
        };
        let licenses = if p.license.is_empty() {
            rule.map(|r| r.licenses.clone()).unwrap_or_default()
        } else {
            p.license.clone()
        };
        Component {
            id: rule.map(|r| r.id.clone()).unwrap_or_else(|| p.name.clone()),
            name: rule
                .map(|r| r.name.clone())
                .unwrap_or_else(|| p.name.clone()),
            version: Some(p.version.clone()),
            upstream_version: Some(upstream.clone()),
            distro,
            purl,
            cpe: rule
                .and_then(|r| r.cpe.as_ref())
                .map(|t| cpe_with(t, Some(&upstream))),
            supplier: p
                .maintainer
                .clone()
                .or_else(|| rule.map(|r| r.supplier.clone())),
            licenses,
            source: *kind,
            files: Vec::new(),
            evidence: vec![evidence],
            applets: None,
            root: root.to_string(),
            markers: Vec::new(),
        }
    }
}

/// Every version and presence pattern of `rules` in one set, with each pattern's place.
type Prefilter = (Option<RegexSet>, Vec<(usize, PatternKind, usize)>);

fn prefilter(rules: &[Compiled]) -> Result<Prefilter, String> {
    let mut patterns = Vec::new();
    let mut index = Vec::new();
    for (i, c) in rules.iter().enumerate() {
        for (j, p) in c.rule.version.iter().enumerate() {
            patterns.push(p.clone());
            index.push((i, PatternKind::Version, j));
        }
        for (j, p) in c.rule.presence.iter().enumerate() {
            patterns.push(p.clone());
            index.push((i, PatternKind::Presence, j));
        }
    }
    if patterns.is_empty() {
        return Ok((None, index));
    }
    let set = regex::bytes::RegexSetBuilder::new(&patterns)
        .unicode(false)
        .size_limit(16 << 20)
        .build()
        .map_err(|e| e.to_string())?;
    Ok((Some(set), index))
}

/// Folds together what is one component seen twice: a file whose version could not be read
/// into the one version of the same component its file system holds (libssl beside
/// libcrypto, dropbearconvert beside dropbear: the evidence is the sibling's banner, and
/// the file's own marker is kept), and the same component and version found again in a
/// container nested in the first (a kernel and its decompressed payload).
fn merge_siblings(components: &mut Vec<Component>) {
    let n = components.len();
    let mut into: Vec<Option<usize>> = vec![None; n];
    // A file whose version could not be read, into the one version its file system holds.
    // (identifier, file system) → components with a version, and without one.
    type Split = (Vec<usize>, Vec<usize>);
    let mut groups: HashMap<(&str, &str), Split> = HashMap::new();
    for (k, c) in components.iter().enumerate() {
        if c.source == Source::Binary {
            let g = groups.entry((c.id.as_str(), c.root.as_str())).or_default();
            if c.version.is_some() {
                g.0.push(k);
            } else {
                g.1.push(k);
            }
        }
    }
    for (known, unknown) in groups.values() {
        if let [only] = known[..] {
            for &u in unknown {
                into[u] = Some(only);
            }
        }
    }
    // The same component and version in a container nested in another's: into the
    // outermost one, found by walking up the root's path (linear in the components).
    let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (k, c) in components.iter().enumerate() {
        if let (Source::Binary, Some(v)) = (c.source, c.version.as_deref()) {
            at.insert((c.id.as_str(), v, c.root.as_str()), k);
        }
    }
    for (k, c) in components.iter().enumerate() {
        let (Source::Binary, Some(v)) = (c.source, c.version.as_deref()) else {
            continue;
        };
        let outer = c
            .root
            .match_indices('/')
            .map(|(i, _)| &c.root[..i])
            .find_map(|prefix| at.get(&(c.id.as_str(), v, prefix)).copied());
        if let Some(o) = outer.filter(|&o| o != k) {
            into[k] = Some(o);
        }
    }
    // Follow chains (an unknown into a known one that is itself nested).
    let resolve = |mut k: usize| {
        for _ in 0..4 {
            match into[k] {
                Some(t) if t != k => k = t,
                _ => break,
            }
        }
        k
    };
    let targets: Vec<usize> = (0..n).map(resolve).collect();
    let mut taken: Vec<Option<Component>> =
        std::mem::take(components).into_iter().map(Some).collect();
    for k in 0..n {
        let t = targets[k];
        if t == k {
            continue;
        }
        let Some(c) = taken[k].take() else { continue };
        if let Some(dst) = taken[t].as_mut() {
            dst.evidence.extend(c.evidence);
            dst.markers.extend(c.markers);
            // Each file identifies a component once, so the files are distinct.
            dst.files.extend(c.files);
            if dst.applets.is_none() {
                dst.applets = c.applets;
            }
        }
    }
    *components = taken.into_iter().flatten().collect();
}

fn default_path(r: &ComponentRule) -> String {
    r.paths
        .first()
        .map(|g| {
            g.replace("**/", "usr/bin/")
                .replace('*', "1")
                .replace(['{', '}'], "")
                .split(',')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_else(|| "bin/file".into())
}

fn test_node(path: &str) -> fwgate_unpack::Node {
    fwgate_unpack::Node {
        path: path.to_string(),
        kind: fwgate_unpack::NodeKind::File,
        size: 0,
        sha256: Some(String::new()),
        mode: 0o755,
        uid: None,
        gid: None,
        hardlink: None,
        device: None,
        link: None,
        partial: false,
        raw: false,
        origin: fwgate_unpack::Origin::default(),
    }
}

/// Percent-encodes a purl version.
fn purl_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:TYPE/NAME` with `@VERSION` and qualifiers.
pub fn purl_with(base: &str, version: Option<&str>, qualifiers: Option<String>) -> String {
    let mut s = base.to_string();
    if let Some(v) = version {
        s.push('@');
        s.push_str(&purl_escape(v));
    }
    if let Some(q) = qualifiers {
        s.push('?');
        s.push_str(&q);
    }
    s
}

/// The type, namespace and name of a purl (`pkg:deb/debian/openssh`), without version,
/// qualifiers or subpath, lower-cased.
pub fn purl_base(purl: &str) -> String {
    let s = purl.split(['?', '#']).next().unwrap_or(purl);
    let s = match s.rfind('@') {
        Some(i) if s[..i].contains('/') => &s[..i],
        _ => s,
    };
    s.to_ascii_lowercase()
}

fn cpe_with(template: &str, version: Option<&str>) -> String {
    // CPE 2.3 escapes with backslashes; `*` is ANY, `-` NA (version unknown is ANY).
    let v = match version {
        Some(v) => v
            .chars()
            .flat_map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                    vec![c]
                } else {
                    vec!['\\', c]
                }
            })
            .collect(),
        None => "*".to_string(),
    };
    template.replace("{version}", &v)
}

/// BusyBox's applet table: the NUL-separated, sorted names BusyBox keeps of the applets
/// compiled in (`applet_names[]`), the longest such run in the file.
pub fn busybox_applets(content: &[u8]) -> Option<Vec<String>> {
    let mut best: Option<(usize, usize, usize)> = None; // start, end, count
    let mut i = 0;
    while i < content.len() {
        let (end, count) = sorted_run(content, i);
        if count >= 8 && best.is_none_or(|(_, _, c)| count > c) {
            best = Some((i, end, count));
        }
        if count > 0 {
            i = end;
            continue;
        }
        match memchr::memchr(0, &content[i..]) {
            Some(n) => i += n + 1,
            None => break,
        }
    }
    let (s, e, _) = best?;
    let names: Vec<String> = content[s..e]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    // A real table holds the shells or core tools.
    names
        .iter()
        .any(|n| ["sh", "ash", "ls", "cat", "echo", "init", "mount"].contains(&n.as_str()))
        .then_some(names)
}

/// The NUL-terminated names from `at` on that are in strictly ascending order: where the
/// run ends (after its last NUL) and how many names it holds.
fn sorted_run(content: &[u8], at: usize) -> (usize, usize) {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.[".contains(&b);
    let (mut j, mut count) = (at, 0);
    let mut prev: &[u8] = &[];
    loop {
        let mut k = j;
        while k < content.len() && ok(content[k]) && k - j < 32 {
            k += 1;
        }
        if k == j || k >= content.len() || content[k] != 0 || content[j..k] <= *prev {
            return (j, count);
        }
        prev = &content[j..k];
        count += 1;
        j = k + 1;
    }
}

/// Groups identifications per file system.
pub fn root_of(path: &str) -> String {
    // `squashfs@0x20000/usr/bin/x` → `squashfs@0x20000`; the extraction path up to the
    // last container marker before the device path.
    let mut root = String::new();
    let mut acc = String::new();
    for part in path.split('/') {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        if part.contains('@') {
            root = acc.clone();
        }
    }
    root
}

/// Count of components per identifier, for summaries.
pub fn summary(components: &[Component]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in components {
        *m.entry(c.name.clone()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(rule: usize, version: Option<&str>, path: &str) -> Identified {
        Identified {
            rule,
            version: version.map(String::from),
            debrev: None,
            evidence: Evidence {
                file: format!("/{path}"),
                offset: 0,
                matched: String::new(),
                method: "banner".into(),
            },
            applets: None,
            markers: Vec::new(),
            file: ComponentFile {
                path: path.into(),
                inner_path: format!("/{path}"),
                size: 0,
                sha256: String::new(),
                sha512: String::new(),
                executable: true,
            },
        }
    }

    fn identifiers() -> Identifiers {
        let toml = br#"id = "busybox"
name = "busybox"
title = "BusyBox"
supplier = "x"
purl = "pkg:generic/busybox"
version = ['BusyBox v(\d+\.\d+\.\d+)']
"#;
        Identifiers::compile(&[("components/busybox.toml".into(), toml.to_vec())]).unwrap()
    }

    #[test]
    fn many_identifications_assemble_in_linear_time_and_merge_what_is_one() {
        let ids = identifiers();
        // A hostile image: 50 000 files, each naming its own version, each in its own
        // nested container, plus unknown-version siblings. Quadratic merging would take
        // minutes here.
        let mut found = Vec::new();
        for k in 0..50_000 {
            let root = format!("squashfs@0x{k:x}");
            found.push((
                root.clone(),
                FileFindings {
                    identified: vec![ident(
                        0,
                        Some(&format!("1.{k}.0")),
                        &format!("{root}/bin/busybox"),
                    )],
                    packages: None,
                },
            ));
        }
        // One real image: a binary with a version, its sibling without, and the same
        // version again in a container nested inside.
        found.push((
            "sq@0".into(),
            FileFindings {
                identified: vec![
                    ident(0, Some("1.35.0"), "sq@0/bin/busybox"),
                    ident(0, None, "sq@0/bin/busybox-helper"),
                ],
                packages: None,
            },
        ));
        found.push((
            "sq@0/x/cpio@0".into(),
            FileFindings {
                identified: vec![ident(0, Some("1.35.0"), "sq@0/x/cpio@0/bin/busybox")],
                packages: None,
            },
        ));
        let c = ids.assemble(found);
        assert_eq!(c.len(), 50_001);
        let real = c
            .iter()
            .find(|c| c.version.as_deref() == Some("1.35.0"))
            .unwrap();
        assert_eq!(real.files.len(), 3, "{:?}", real.files);
        assert!(c.iter().all(|c| c.version.is_some()));
    }
}
