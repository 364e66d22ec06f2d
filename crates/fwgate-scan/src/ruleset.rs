//! Loading, validating and self-testing the rules in `rules/`.

use std::collections::BTreeMap;
use std::path::Path;

use globset::{GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

use crate::finding::Matches;
use crate::matchers::{FileCtx, Matcher, NodeSel};
use crate::rule::{Expect, RuleFile, RuleMeta};
use crate::{Result, ScanError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
}

/// Directories under `rules/` that hold data or catalogs rather than rules.
const NOT_RULES: [&str; 4] = ["data/", "catalog/", "components/", "advisories/"];

/// Non-rule files under `rules/` (word lists, catalogs), by relative path.
#[derive(Debug, Default, Clone)]
pub struct DataFiles(BTreeMap<String, Vec<u8>>);

impl DataFiles {
    /// The file at `rel` as text, if present and UTF-8.
    pub fn text(&self, rel: &str) -> Option<&str> {
        self.0.get(rel).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The file at `rel`, if present.
    pub fn bytes(&self, rel: &str) -> Option<&[u8]> {
        self.0.get(rel).map(Vec::as_slice)
    }
}

/// One loaded, compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// The file as written.
    pub file: RuleFile,
    /// Where it came from (relative to the rules directory).
    pub source: String,
    paths: GlobSet,
    allow: GlobSet,
    matcher: Matcher,
}

impl Rule {
    /// True when the rule looks at `path` (relative to a file system root) and does not allow it.
    pub fn applies_to(&self, path: &str) -> bool {
        self.paths.is_match(path) && !self.allow.is_match(path)
    }

    /// The first of a file's device paths the rule looks at, if any. A path the allowlist
    /// names is skipped, but the file is still judged by its other paths.
    pub fn first_applicable<'p>(&self, paths: &'p [String]) -> Option<&'p str> {
        paths
            .iter()
            .map(String::as_str)
            .find(|p| self.applies_to(p))
    }

    /// Runs the rule on one file.
    pub fn check(&self, file: &FileCtx<'_>) -> Matches {
        self.matcher.check(file)
    }

    /// The compiled matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The rule's public description.
    pub fn meta(&self) -> RuleMeta {
        RuleMeta::from(&self.file)
    }
}

/// A deadline that never comes in practice.
pub(crate) fn far_future() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Every rule of a scan, with a digest that pins exactly which rules ran.
#[derive(Debug)]
pub struct RuleSet {
    /// The rules, sorted by id.
    pub rules: Vec<Rule>,
    /// SHA-256 over every file's path and bytes, sorted by path.
    pub digest: String,
    /// Where the rules came from: `embedded` or a directory.
    pub origin: String,
    /// The data files (word lists, test fixtures).
    data: DataFiles,
    /// Component identifiers (`components/*.toml`).
    pub components: crate::components::Identifiers,
    /// The curated advisories (`advisories/*.json`, OSV).
    pub advisories: crate::components::advisory::Store,
}

fn globs(list: &[String], what: &str) -> std::result::Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in list {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("{what}: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| format!("{what}: {e}"))
}

impl RuleSet {
    /// The rules compiled into this fwgate binary.
    pub fn embedded() -> Result<RuleSet> {
        let files = embedded::EMBEDDED
            .iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect();
        Self::from_files(files, "embedded")
    }

    /// Builds a rule set from files in memory: paths relative to a `rules/` directory and
    /// their bytes (rule files and the data files they name).
    pub fn from_sources(files: Vec<(String, Vec<u8>)>) -> Result<RuleSet> {
        Self::from_files(files, "memory")
    }

    /// Loads every rule below `dir` (a `rules/` directory).
    pub fn load_dir(dir: &Path) -> Result<RuleSet> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| ScanError::Io {
                path: d.clone(),
                op: "read directory",
                source: e,
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| ScanError::Io {
                    path: d.clone(),
                    op: "read directory",
                    source: e,
                })?;
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(dir) {
                    let bytes = std::fs::read(&path).map_err(|e| ScanError::Io {
                        path: path.clone(),
                        op: "read",
                        source: e,
                    })?;
                    files.push((rel.to_string_lossy().into_owned(), bytes));
                }
            }
        }
        Self::from_files(files, &dir.display().to_string())
    }

    fn from_files(mut files: Vec<(String, Vec<u8>)>, origin: &str) -> Result<RuleSet> {
        files.sort();
        let mut hasher = Sha256::new();
        for (path, bytes) in &files {
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
        let digest = hex::encode(hasher.finalize());
        let is_rule = |p: &str| p.ends_with(".toml") && !NOT_RULES.iter().any(|d| p.starts_with(d));
        let data = DataFiles(files.iter().filter(|(p, _)| !is_rule(p)).cloned().collect());
        let mut rules: Vec<Rule> = Vec::new();
        for (path, bytes) in files.iter().filter(|(p, _)| is_rule(p)) {
            let location = format!("{origin}/{path}");
            let err = |message: String| ScanError::Rule {
                location: location.clone(),
                message,
            };
            let text = std::str::from_utf8(bytes).map_err(|_| err("not UTF-8".into()))?;
            let file: RuleFile = toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
                ScanError::Rule {
                    location: match line {
                        Some(l) => format!("{location}:{l}"),
                        None => location.clone(),
                    },
                    message: e.message().to_string(),
                }
            })?;
            validate(&file, path).map_err(err)?;
            if rules.iter().any(|r| r.file.id == file.id) {
                return Err(err(format!("duplicate rule id {}", file.id)));
            }
            let paths = globs(&file.matcher.paths(), "matcher.paths").map_err(err)?;
            let allow = globs(&file.allowlist.paths, "allowlist.paths").map_err(err)?;
            let matcher = file.matcher.compile(&data).map_err(err)?;
            rules.push(Rule {
                file,
                source: path.clone(),
                paths,
                allow,
                matcher,
            });
        }
        rules.sort_by(|a, b| a.file.id.cmp(&b.file.id));
        let component_files: Vec<(String, Vec<u8>)> = files
            .iter()
            .filter(|(p, _)| p.starts_with("components/") && p.ends_with(".toml"))
            .cloned()
            .collect();
        let components = crate::components::Identifiers::compile(&component_files).map_err(
            |(location, message)| ScanError::Rule {
                location: format!("{origin}/{location}"),
                message,
            },
        )?;
        let mut advisories = crate::components::advisory::Store::default();
        for (path, bytes) in files
            .iter()
            .filter(|(p, _)| p.starts_with("advisories/") && p.ends_with(".json"))
        {
            advisories
                .add_json(path, bytes)
                .map_err(|message| ScanError::Rule {
                    location: format!("{origin}/{path}"),
                    message,
                })?;
        }
        Ok(RuleSet {
            advisories,
            components,
            rules,
            digest,
            origin: origin.to_string(),
            data,
        })
    }

    /// Runs every rule's embedded test cases. Returns how many cases ran.
    pub fn self_test(&self) -> Result<usize> {
        let mut ran = 0;
        for rule in &self.rules {
            for (i, case) in rule.file.tests.iter().enumerate() {
                let path = case.path.trim_start_matches('/');
                let node = test_node(case).map_err(|message| ScanError::Rule {
                    location: format!("{}/{}", self.origin, rule.source),
                    message,
                })?;
                let content = match &case.fixture {
                    Some(f) => self.data.bytes(f).ok_or_else(|| ScanError::Rule {
                        location: format!("{}/{}", self.origin, rule.source),
                        message: format!("test {:?}: no data file {f:?} under rules/", case.name),
                    })?,
                    None => case.content.as_bytes(),
                };
                let hits = if let Matcher::Advisory(certainty) = rule.matcher() {
                    // The case is a one-file image: identified, then matched. Its content
                    // stands for a binary's strings, so it is read as an ELF file's.
                    let mut bytes = content.to_vec();
                    if !bytes.starts_with(b"\x7fELF") {
                        bytes.splice(0..0, b"\x7fELF".iter().copied());
                    }
                    let found = self.components.identify(&bytes, &[path.to_string()], &node);
                    let components = self
                        .components
                        .assemble(vec![(crate::components::root_of(&node.path), found)]);
                    let (matches, _) = self.advisories.check(&components);
                    matches
                        .into_iter()
                        .filter(|m| m.certainty == *certainty)
                        .map(|m| crate::finding::Hit {
                            line: None,
                            message: m.id,
                            evidence: None,
                            digest_of: Vec::new(),
                        })
                        .collect()
                } else if rule.applies_to(path) {
                    rule.check(&FileCtx {
                        content,
                        path,
                        node: &node,
                        deadline: far_future(),
                        cache: &crate::matchers::FileCache::default(),
                    })
                    .hits
                } else {
                    Vec::new()
                };
                let ok = match case.expect {
                    Expect::Match => !hits.is_empty(),
                    Expect::NoMatch => hits.is_empty(),
                };
                if !ok {
                    return Err(ScanError::RuleTest {
                        rule: rule.file.id.clone(),
                        case: format!("#{} {:?}", i + 1, case.name),
                        expected: if case.expect == Expect::Match {
                            "a match"
                        } else {
                            "no match"
                        },
                        got: format!("{} finding(s)", hits.len()),
                    });
                }
                ran += 1;
            }
        }
        Ok(ran)
    }
}

/// The node a test case stands for.
fn test_node(case: &crate::rule::TestCase) -> std::result::Result<fwgate_unpack::Node, String> {
    let dir = case.node == Some(NodeSel::Dir);
    let mode = match &case.mode {
        Some(m) => u32::from_str_radix(m, 8)
            .map_err(|_| format!("test {:?}: mode {m:?} is not octal", case.name))?,
        None if dir => 0o755,
        None => 0o644,
    };
    Ok(fwgate_unpack::Node {
        path: case.path.clone(),
        kind: if dir {
            fwgate_unpack::NodeKind::Dir
        } else {
            fwgate_unpack::NodeKind::File
        },
        size: case.content.len() as u64,
        sha256: None,
        mode,
        link: None,
        origin: fwgate_unpack::Origin {
            inner_path: format!("/{}", case.path.trim_start_matches('/')),
            ..Default::default()
        },
        ..Default::default()
    })
}

/// Checks what serde cannot: id shape, file name, required texts and test cases.
fn validate(r: &RuleFile, path: &str) -> std::result::Result<(), String> {
    let id_ok = r.id.starts_with("FWG-")
        && r.id.split('-').count() == 3
        && r.id
            .rsplit('-')
            .next()
            .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()));
    if !id_ok {
        return Err(format!("id {:?} is not FWG-<AREA>-<NNN>", r.id));
    }
    let stem = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".toml"))
        .unwrap_or("");
    if stem != r.id {
        return Err(format!(
            "file is named {stem}.toml but the rule id is {}",
            r.id
        ));
    }
    if path.split('/').count() != 2 {
        return Err("rules live in rules/<category>/<ID>.toml".into());
    }
    if !r.cwe.starts_with("CWE-") {
        return Err(format!("cwe {:?} is not CWE-<n>", r.cwe));
    }
    for (field, value) in [
        ("name", &r.name),
        ("summary", &r.summary),
        ("description", &r.description),
        ("rationale", &r.rationale),
        ("remediation", &r.remediation),
    ] {
        if value.trim().is_empty() {
            return Err(format!("{field} is empty"));
        }
    }
    let has = |e: Expect| r.tests.iter().any(|t| t.expect == e);
    if !has(Expect::Match) || !has(Expect::NoMatch) {
        return Err(
            "needs at least one [[test]] with expect = \"match\" and one with \"no-match\"".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load_and_pass_their_own_cases() {
        let set = RuleSet::embedded().unwrap();
        let n = set.components.self_test().unwrap();
        assert!(
            n >= 2 * set.components.rules().count(),
            "{n} component cases"
        );
        assert!(set.rules.len() >= 4, "{} rules", set.rules.len());
        let ran = set.self_test().unwrap();
        assert!(ran >= 2 * set.rules.len());
    }

    #[test]
    fn a_rule_case_that_fails_is_reported() {
        let mut files: Vec<(String, Vec<u8>)> = embedded::EMBEDDED
            .iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect();
        let (_, bytes) = files
            .iter_mut()
            .find(|(p, _)| p.ends_with("FWG-SVC-001.toml"))
            .unwrap();
        let text = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("# telnetd -l /bin/sh", "telnetd -l /bin/sh");
        *bytes = text.into_bytes();
        let set = RuleSet::from_files(files, "test").unwrap();
        let err = set.self_test().unwrap_err().to_string();
        assert!(
            err.contains("FWG-SVC-001") && err.contains("commented out"),
            "{err}"
        );
    }

    fn key_rule_source() -> &'static str {
        let (_, bytes) = embedded::EMBEDDED
            .iter()
            .find(|(p, _)| p.ends_with("FWG-KEY-001.toml"))
            .unwrap();
        std::str::from_utf8(bytes).unwrap()
    }

    fn load_one(path: &str, toml: &str) -> String {
        let mut files: Vec<(String, Vec<u8>)> = embedded::EMBEDDED
            .iter()
            .filter(|(p, _)| p.starts_with("data/"))
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect();
        files.push((path.to_string(), toml.as_bytes().to_vec()));
        RuleSet::from_files(files, "rules").unwrap_err().to_string()
    }

    #[test]
    fn unknown_fields_are_errors_with_file_and_line() {
        let src = key_rule_source();
        let bad = src.replace(
            "check = \"private-key\"",
            "check = \"private-key\"\nchek = \"weak-key\"",
        );
        let line_of = |s: &str| 1 + bad[..bad.find(s).unwrap()].matches('\n').count();
        let err = load_one("secrets/FWG-KEY-001.toml", &bad);
        assert!(err.contains("unknown field `chek`"), "{err}");
        // serde reports fields of the tagged [matcher] table at the table: a line within it.
        let at: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert!(
            (line_of("[matcher]")..=line_of("chek")).contains(&at),
            "{err}"
        );
        assert!(err.starts_with("rules/secrets/FWG-KEY-001.toml:"), "{err}");
    }

    #[test]
    fn every_rule_survives_mutated_inputs() {
        // Each rule on byte-level mutations of every rule's test inputs (flips, cuts,
        // repeats, invalid UTF-8, NULs), under every path a case names: no panic.
        let set = RuleSet::embedded().unwrap();
        let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
        for r in &set.rules {
            for t in &r.file.tests {
                let bytes = match &t.fixture {
                    Some(f) => set.data.bytes(f).unwrap().to_vec(),
                    None => t.content.as_bytes().to_vec(),
                };
                seeds.push((t.path.clone(), bytes));
            }
        }
        let node = |path: &str, len: usize| fwgate_unpack::Node {
            path: path.to_string(),
            kind: fwgate_unpack::NodeKind::File,
            size: len as u64,
            sha256: None,
            mode: 0o4777,
            ..Default::default()
        };
        let mut runs = 0usize;
        for (i, (path, seed)) in seeds.iter().enumerate() {
            for data in fwgate_unpack::fuzz::mutations(seed, 12, i as u64) {
                let n = node(path, data.len());
                let cache = crate::matchers::FileCache::default();
                for rule in set.rules.iter().filter(|r| r.applies_to(path)) {
                    let _ = rule.check(&FileCtx {
                        content: &data,
                        path,
                        node: &n,
                        deadline: far_future(),
                        cache: &cache,
                    });
                    runs += 1;
                }
            }
        }
        assert!(runs > 1000, "{runs}");
    }

    #[test]
    fn file_name_must_match_id() {
        let src = key_rule_source();
        let err = load_one("secrets/FWG-KEY-009.toml", src);
        assert!(err.contains("named FWG-KEY-009.toml"), "{err}");
    }
}
