//! Running a [`RuleSet`] over an extracted [`Tree`].

use std::path::Path;
use std::time::Instant;

use fwgate_unpack::{Limits, NodeKind, Problem, RegionKind, Subject, Tree};
use sha2::{Digest, Sha256};

use crate::finding::{
    Coverage, Finding, Location, Report, Target, TargetKind, Tool, REPORT_SCHEMA,
};
use crate::ruleset::RuleSet;

/// Files larger than this are not read by rules (and are reported as such).
pub const MAX_SCAN_BYTES: u64 = 256 << 20;

/// Runs every applicable rule on every regular file of `tree`.
pub fn scan_tree(tree: &Tree, rules: &RuleSet, target: Target) -> Report {
    scan_tree_until(tree, rules, target, crate::ruleset::far_future())
}

/// [`scan_tree`], stopping at `deadline`: every file not scanned by then is reported.
pub fn scan_tree_until(tree: &Tree, rules: &RuleSet, target: Target, deadline: Instant) -> Report {
    let mut findings = Vec::new();
    let mut problems = tree.problems.clone();
    let mut coverage = Coverage {
        nodes: tree.nodes.len() as u64,
        ..Coverage::default()
    };
    for region in &tree.regions {
        if let RegionKind::Container { format, .. } = &region.kind {
            *coverage.formats.entry(format.clone()).or_insert(0) += 1;
        }
    }
    let mut late = 0usize;
    for node in tree.nodes.iter().filter(|n| n.kind == NodeKind::File) {
        let inner = node.origin.inner_path.trim_start_matches('/');
        let applicable: Vec<_> = rules.rules.iter().filter(|r| r.applies_to(inner)).collect();
        if applicable.is_empty() {
            continue;
        }
        if Instant::now() > deadline {
            late += 1;
            continue;
        }
        if node.size > MAX_SCAN_BYTES {
            problems.push(problem(
                &node.path,
                format!(
                    "not scanned: {} bytes is over the {MAX_SCAN_BYTES}-byte limit",
                    node.size
                ),
            ));
            continue;
        }
        let content = match std::fs::read(tree.path_of(node)) {
            Ok(c) => c,
            Err(e) => {
                problems.push(problem(&node.path, format!("not scanned: {e}")));
                continue;
            }
        };
        coverage.files_scanned += 1;
        coverage.bytes_scanned += content.len() as u64;
        for rule in applicable {
            let found = rule.check_until(&content, deadline);
            for note in found.skipped {
                problems.push(problem(&node.path, format!("{}: {note}", rule.file.id)));
            }
            for hit in found.hits {
                let mut h = Sha256::new();
                for part in [
                    rule.file.id.as_bytes(),
                    node.origin.inner_path.as_bytes(),
                    &hit.digest_of,
                ] {
                    h.update((part.len() as u64).to_le_bytes());
                    h.update(part);
                }
                findings.push(Finding {
                    rule_id: rule.file.id.clone(),
                    severity: rule.file.severity,
                    message: hit.message,
                    location: Location {
                        path: node.path.clone(),
                        inner_path: node.origin.inner_path.clone(),
                        formats: node.origin.formats.clone(),
                        container_offset: node.origin.offset,
                        line: hit.line,
                    },
                    evidence: hit.evidence,
                    fingerprint: hex::encode(h.finalize()),
                    file_sha256: node.sha256.clone(),
                });
            }
        }
    }
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
    });
    Report {
        schema: REPORT_SCHEMA.to_string(),
        tool: Tool::current(),
        target,
        ruleset_digest: rules.digest.clone(),
        rules: rules.rules.iter().map(|r| r.meta()).collect(),
        findings,
        problems,
        coverage,
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
