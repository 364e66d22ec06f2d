//! The readable summary printed by `fwgate scan` and `fwgate gate`.

use std::io::{self, Write};

use fwgate_scan::{Report, Severity, TargetKind};

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// Writes the summary: target, coverage, each finding with its fix, problems, totals.
pub fn write_text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.target;
    match t.kind {
        TargetKind::Image => writeln!(
            out,
            "image     {} ({} bytes, sha256 {})",
            t.subject.name, t.subject.size, t.subject.sha256
        )?,
        TargetKind::Directory => writeln!(out, "directory {}", t.subject.name)?,
    }
    let c = &report.coverage;
    let formats: Vec<String> = c.formats.iter().map(|(f, n)| format!("{f} x{n}")).collect();
    if !formats.is_empty() {
        writeln!(out, "unpacked  {}; {} nodes", formats.join(", "), c.nodes)?;
    }
    writeln!(
        out,
        "scanned   {} files ({} bytes) with {} rules (ruleset {})",
        c.files_scanned,
        c.bytes_scanned,
        report.rules.len(),
        short(&report.ruleset_digest)
    )?;
    writeln!(out)?;
    for f in &report.findings {
        let rule = report.rule(&f.rule_id);
        let name = rule.map(|r| r.name.as_str()).unwrap_or("");
        let line = f.location.line.map(|l| format!(":{l}")).unwrap_or_default();
        let state = match (&f.suppression, f.baseline) {
            (Some(_), _) => "  (suppressed)",
            (None, Some(fwgate_scan::BaselineState::Unchanged)) => "  (in baseline)",
            _ => "",
        };
        writeln!(
            out,
            "{:<8} {} {}{state}",
            f.severity.as_str().to_uppercase(),
            f.rule_id,
            name
        )?;
        writeln!(
            out,
            "  at       {}{}  [{}]",
            f.location.inner_path, line, f.location.path
        )?;
        writeln!(out, "  found    {}", f.message)?;
        if let Some(e) = &f.evidence {
            writeln!(out, "  evidence {e}")?;
        }
        if let Some(s) = &f.suppression {
            writeln!(
                out,
                "  accepted {} (owner {}, until {}, {})",
                s.reason, s.owner, s.expires, s.source
            )?;
        }
        if let Some(r) = rule.filter(|_| f.is_active()) {
            let fix = r
                .remediation
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            writeln!(out, "  fix      {fix}")?;
        }
        writeln!(out)?;
    }
    if !report.problems.is_empty() {
        writeln!(out, "not fully examined ({}):", report.problems.len())?;
        for p in &report.problems {
            let at = match (&p.format, p.offset) {
                (Some(f), Some(o)) => format!(" [{f} at {o:#x}]"),
                (Some(f), None) => format!(" [{f}]"),
                _ => String::new(),
            };
            let file = if p.file.is_empty() { "image" } else { &p.file };
            writeln!(out, "  {file}{at}: {}", p.message)?;
        }
        writeln!(out)?;
    }
    for n in &report.notes {
        writeln!(out, "note      {n}")?;
    }
    let counts = report.counts();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| format!("{} {}", counts.get(s).copied().unwrap_or(0), s))
        .collect();
    let inactive = report.findings.iter().filter(|f| !f.is_active()).count();
    let tail = if inactive > 0 {
        format!(" ({inactive} suppressed or in the baseline: they do not fail)")
    } else {
        String::new()
    };
    writeln!(out, "findings  {}{tail}", parts.join(", "))?;
    Ok(())
}
