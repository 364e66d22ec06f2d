//! Running a [`RuleSet`] over an extracted [`Tree`].

use std::path::Path;
use std::time::Instant;

use fwgate_unpack::{Limits, Node, NodeKind, Problem, RegionKind, Subject, Tree};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::finding::{
    Coverage, Finding, Hit, Location, Report, Target, TargetKind, Tool, REPORT_SCHEMA,
};
use crate::matchers::{FileCache, FileCtx, Matcher};
use crate::ruleset::{Rule, RuleSet};
use crate::view::{DeviceView, Visible};

/// Files larger than this are not read by rules (and are reported as such).
pub const MAX_SCAN_BYTES: u64 = 256 << 20;

/// Runs every applicable rule on every regular file of `tree`.
pub fn scan_tree(tree: &Tree, rules: &RuleSet, target: Target) -> Report {
    scan_tree_until(tree, rules, target, crate::ruleset::far_future())
}

/// What scanning one file produced.
#[derive(Default)]
struct FileResult {
    findings: Vec<Finding>,
    problems: Vec<Problem>,
    scanned_bytes: Option<u64>,
    late: bool,
    components: Option<(String, crate::components::FileFindings)>,
}

/// [`scan_tree`], stopping at `deadline`: every file not scanned by then is reported.
///
/// Rules see the device view ([`DeviceView`]): a file is checked under every path the image's
/// symlinks make it reachable by. Files are scanned in parallel, each read once.
pub fn scan_tree_until(tree: &Tree, rules: &RuleSet, target: Target, deadline: Instant) -> Report {
    let view = DeviceView::new(tree);
    let mut problems = tree.problems.clone();
    problems.extend(view.problems.iter().cloned());
    let mut coverage = Coverage {
        nodes: tree.nodes.len() as u64,
        ..Coverage::default()
    };
    for region in &tree.regions {
        if let RegionKind::Container { format, .. } = &region.kind {
            *coverage.formats.entry(format.clone()).or_insert(0) += 1;
        }
    }
    let budget = ContentBudget::default();
    let results: Vec<FileResult> = view
        .files()
        .par_iter()
        .map(|v| scan_file(tree, rules, v, deadline, &budget))
        .collect();
    let mut findings = Vec::new();
    let mut late = 0usize;
    let mut identified = Vec::new();
    for r in results {
        if let Some(c) = r.components {
            identified.push((c.0, c.1));
        }
        findings.extend(r.findings);
        problems.extend(r.problems);
        late += usize::from(r.late);
        if let Some(n) = r.scanned_bytes {
            coverage.files_scanned += 1;
            coverage.bytes_scanned += n;
        }
    }
    // A link the image cannot resolve, where a rule would read the device's accounts or boot
    // configuration: the device reads a file made at run time, which no rule could judge.
    for d in view.dangling() {
        let Some(node) = tree.nodes.get(d.node) else {
            continue;
        };
        let judged: Vec<&str> = rules
            .rules
            .iter()
            .filter(|r| {
                matches!(
                    r.matcher(),
                    Matcher::Accounts(_) | Matcher::Service(_) | Matcher::Config(_)
                ) && (r.applies_to(&d.path)
                    // A linked-away directory: a rule that reads the files in it.
                    || r.applies_to(&format!("{}/_", d.path))
                    || r.applies_to(&format!("{}/_.conf", d.path)))
            })
            .map(|r| r.file.id.as_str())
            .collect();
        if judged.is_empty() {
            continue;
        }
        problems.push(Problem {
            file: node.path.clone(),
            format: None,
            offset: None,
            message: format!(
                "/{} is a link to {}, which is not in the image (made at run time?): {} could not check what the device reads there; accept with --accept link:/{} once its source is checked",
                d.path,
                d.target,
                judged.join(", "),
                d.path
            ),
            key: Some(format!("link:/{}", d.path)),
        });
    }
    // Directories are judged by their mode alone, under their stored path.
    for node in tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Dir && !n.raw)
    {
        let inner = node.origin.inner_path.trim_start_matches('/');
        for rule in rules.rules.iter().filter(|r| !r.matcher().reads_content()) {
            if !rule.applies_to(inner) {
                continue;
            }
            let found = rule.check(&FileCtx {
                content: &[],
                path: inner,
                node,
                deadline,
                cache: &FileCache::default(),
            });
            for hit in found.hits {
                findings.push(finding(rule, node, inner, hit));
            }
        }
    }
    let components = rules.components.assemble(identified);
    findings.extend(vulnerability_findings(tree, rules, &components));
    if late > 0 {
        problems.push(problem(
            "",
            format!("{late} file(s) not scanned: the deadline (--timeout) was reached"),
        ));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.location.path.cmp(&b.location.path))
            .then_with(|| a.location.line.cmp(&b.location.line))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    Report {
        schema: REPORT_SCHEMA.to_string(),
        tool: Tool::current(),
        target,
        ruleset_digest: rules.digest.clone(),
        rules: rules.rules.iter().map(|r| r.meta()).collect(),
        findings,
        problems,
        notes: Vec::new(),
        coverage,
        components,
        advisories: rules
            .rules
            .iter()
            .any(|r| matches!(r.matcher(), Matcher::Advisory(_)))
            .then(|| crate::finding::AdvisoryStore {
                records: rules.advisories.advisories.len(),
                digest: rules.advisories.digest(),
            }),
    }
}

/// The advisory rules' findings: each match of the store against a component identified
/// in `tree`, reported by the rule for its certainty, at the advisory's severity, where the
/// component's first file (or the package database that named it) is.
pub(crate) fn vulnerability_findings(
    tree: &Tree,
    rules: &RuleSet,
    components: &[crate::components::Component],
) -> Vec<Finding> {
    let by_certainty: Vec<(&Rule, crate::components::advisory::Certainty)> = rules
        .rules
        .iter()
        .filter_map(|r| match r.matcher() {
            Matcher::Advisory(c) => Some((r, *c)),
            _ => None,
        })
        .collect();
    if by_certainty.is_empty() || rules.advisories.advisories.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (c, (matches, _)) in components
        .iter()
        .zip(rules.advisories.check_each(components))
    {
        if matches.is_empty() {
            continue;
        }
        let place = component_place(tree, c);
        for m in matches {
            let Some((rule, _)) = by_certainty.iter().find(|(_, k)| *k == m.certainty) else {
                continue;
            };
            out.push(vulnerability_finding(rule, c, place.as_ref(), m));
        }
    }
    out
}

/// Where a component is: its first file, else the package database that named it.
fn component_place<'t>(
    tree: &'t Tree,
    c: &crate::components::Component,
) -> Option<(&'t Node, String)> {
    let wanted: Vec<String> = match c.files.first() {
        Some(f) => vec![f.path.clone()],
        None => c
            .evidence
            .iter()
            .map(|e| format!("{}/{}", c.root, e.file.trim_start_matches('/')))
            .collect(),
    };
    let wanted: Vec<&str> = wanted.iter().map(|w| w.trim_start_matches('/')).collect();
    tree.nodes
        .iter()
        .find(|n| wanted.contains(&n.path.as_str()))
        .map(|n| (n, n.origin.inner_path.clone()))
}

fn vulnerability_finding(
    rule: &Rule,
    c: &crate::components::Component,
    place: Option<&(&Node, String)>,
    m: crate::components::advisory::Match,
) -> Finding {
    let inner_path = match place {
        Some((_, p)) => p.clone(),
        None => c
            .evidence
            .first()
            .map(|e| e.file.clone())
            .unwrap_or_else(|| "/".into()),
    };
    let mut h = Sha256::new();
    // Stable while the advisory still applies to this component in this place: an upgrade
    // that does not fix it is the same finding (a baseline keeps it `unchanged`).
    for part in [
        rule.file.id.as_bytes(),
        inner_path.as_bytes(),
        m.id.as_bytes(),
        crate::components::purl_base(&c.purl).as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let aliases = if m.aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.aliases.join(", "))
    };
    let fixed = m
        .fixed
        .as_deref()
        .map(|f| format!("; fixed in {f}"))
        .unwrap_or_default();
    let message = match m.certainty {
        crate::components::advisory::Certainty::Affected => format!(
            "{} {} is affected by {}{aliases}: {}{fixed}",
            c.name, m.version, m.id, m.summary
        ),
        crate::components::advisory::Certainty::Possible => format!(
            "{} {} may be affected by {}{aliases}: {}{fixed} ({})",
            c.name, m.version, m.id, m.summary, m.reason
        ),
    };
    let evidence = m
        .evidence
        .first()
        .map(|e| format!("{}+{:#x} ({}): {}", e.file, e.offset, e.method, e.matched));
    let (node, stored) = match place {
        Some((n, _)) => (Some(*n), None),
        None => (None, None),
    };
    Finding {
        rule_id: rule.file.id.clone(),
        severity: m.severity,
        message,
        location: Location {
            path: node.map(|n| n.path.clone()).unwrap_or_default(),
            inner_path,
            stored_path: stored,
            formats: node.map(|n| n.origin.formats.clone()).unwrap_or_default(),
            container_offset: node.map(|n| n.origin.offset).unwrap_or(0),
            line: None,
        },
        evidence,
        fingerprint: hex::encode(h.finalize()),
        file_sha256: node.and_then(|n| n.sha256.clone()),
        file_size: node.filter(|n| n.kind == NodeKind::File).map(|n| n.size),
        suppression: None,
        baseline: None,
        advisory: Some(Box::new(m)),
    }
}

/// File content held in memory at once by all scanning threads together. A thread whose file
/// would exceed it waits for others to finish (a file alone is always admitted), so that
/// peak memory does not grow with the number of large files that happen to be scanned
/// together.
const CONTENT_BUDGET: u64 = 64 << 20;

/// The shared account of [`CONTENT_BUDGET`].
#[derive(Default)]
struct ContentBudget {
    held: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// Bytes admitted under a [`ContentBudget`], given back on drop.
struct Admitted<'b> {
    budget: &'b ContentBudget,
    bytes: u64,
}

std::thread_local! {
    /// Admissions this thread holds: a rule's own parallel work can make this thread pick up
    /// another file while it holds one, and waiting then would wait for itself.
    static HOLDING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl ContentBudget {
    fn admit(&self, bytes: u64) -> Admitted<'_> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if HOLDING.get() == 0 {
            while *held > 0 && held.saturating_add(bytes) > CONTENT_BUDGET {
                held = self.freed.wait(held).unwrap_or_else(|e| e.into_inner());
            }
        }
        HOLDING.set(HOLDING.get() + 1);
        *held = held.saturating_add(bytes);
        Admitted {
            budget: self,
            bytes,
        }
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut held = self.budget.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(self.bytes);
        HOLDING.set(HOLDING.get().saturating_sub(1));
        self.budget.freed.notify_all();
    }
}

fn scan_file(
    tree: &Tree,
    rules: &RuleSet,
    v: &Visible,
    deadline: Instant,
    budget: &ContentBudget,
) -> FileResult {
    let mut out = FileResult::default();
    let Some(node) = tree.nodes.get(v.node) else {
        return out;
    };
    let applicable: Vec<(&Rule, &str)> = rules
        .rules
        .iter()
        .filter_map(|r| r.first_applicable(&v.paths).map(|p| (r, p)))
        .collect();
    let identify = rules.components.wants(&v.paths);
    if applicable.is_empty() && !identify {
        return out;
    }
    if Instant::now() > deadline {
        out.late = true;
        return out;
    }
    let rules_read = applicable.iter().any(|(r, _)| r.matcher().reads_content());
    let needs_content = identify || rules_read;
    // Held until this file's rules are done (their analyses are of its size too).
    let _admitted = needs_content.then(|| budget.admit(node.size));
    let mut content = Vec::new();
    if needs_content {
        if node.size > MAX_SCAN_BYTES {
            // A check left unread fails the gate; a file only identification would read is
            // skipped (no rule judges it).
            if rules_read {
                out.problems.push(problem(
                    &node.path,
                    format!(
                        "not scanned: {} bytes is over the {MAX_SCAN_BYTES}-byte limit",
                        node.size
                    ),
                ));
            }
        } else {
            match std::fs::read(tree.path_of(node)) {
                Ok(c) => {
                    out.scanned_bytes = Some(c.len() as u64);
                    content = c;
                }
                Err(e) => out
                    .problems
                    .push(problem(&node.path, format!("not scanned: {e}"))),
            }
        }
    }
    let cache = FileCache::default();
    for (rule, path) in applicable {
        if rule.matcher().reads_content() && out.scanned_bytes.is_none() {
            continue;
        }
        let found = rule.check(&FileCtx {
            content: &content,
            path,
            node,
            deadline,
            cache: &cache,
        });
        for note in found.skipped {
            out.problems
                .push(problem(&node.path, format!("{}: {note}", rule.file.id)));
        }
        for hit in found.hits {
            out.findings.push(finding(rule, node, path, hit));
        }
    }
    if identify && out.scanned_bytes.is_some() {
        let found = rules.components.identify(&content, &v.paths, node);
        if !found.identified.is_empty() || found.packages.is_some() {
            out.components = Some((crate::components::root_of(&node.path), found));
        }
    }
    out
}

fn finding(rule: &Rule, node: &Node, device_path: &str, hit: Hit) -> Finding {
    let inner_path = format!("/{device_path}");
    let mut h = Sha256::new();
    for part in [
        rule.file.id.as_bytes(),
        inner_path.as_bytes(),
        &hit.digest_of,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    Finding {
        rule_id: rule.file.id.clone(),
        severity: rule.file.severity,
        message: hit.message,
        location: Location {
            path: node.path.clone(),
            stored_path: (node.origin.inner_path != inner_path)
                .then(|| node.origin.inner_path.clone()),
            inner_path,
            formats: node.origin.formats.clone(),
            container_offset: node.origin.offset,
            line: hit.line,
        },
        evidence: hit.evidence,
        fingerprint: hex::encode(h.finalize()),
        file_sha256: node.sha256.clone(),
        file_size: (node.kind == NodeKind::File).then_some(node.size),
        suppression: None,
        baseline: None,
        advisory: None,
    }
}

fn problem(file: &str, message: String) -> Problem {
    Problem {
        file: file.to_string(),
        format: None,
        offset: None,
        message,
        key: None,
    }
}

/// Unpacks `image` into `workdir` (new or empty) and scans what came out.
pub fn scan_image(
    image: &Path,
    workdir: &Path,
    rules: &RuleSet,
    mut limits: Limits,
    progress: &mut dyn FnMut(&str),
) -> crate::Result<(Tree, Report)> {
    // One deadline for unpacking and scanning together.
    let deadline = *limits
        .deadline
        .get_or_insert_with(|| Instant::now() + limits.timeout);
    let tree = fwgate_unpack::unpack_with_progress(image, workdir, limits, progress)?;
    let subject = tree.image.clone().unwrap_or_else(|| Subject {
        name: String::new(),
        size: 0,
        sha256: String::new(),
    });
    let report = scan_tree_until(
        &tree,
        rules,
        Target {
            kind: TargetKind::Image,
            subject,
        },
        deadline,
    );
    Ok((tree, report))
}

/// Scans an already-extracted directory as it is.
pub fn scan_dir(dir: &Path, rules: &RuleSet) -> crate::Result<(Tree, Report)> {
    let tree = Tree::from_dir(dir)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let target = Target {
        kind: TargetKind::Directory,
        subject: Subject {
            name,
            size: 0,
            sha256: String::new(),
        },
    };
    let report = scan_tree(&tree, rules, target);
    Ok((tree, report))
}
