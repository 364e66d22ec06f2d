//! `fwgate unpack` and `fwgate formats`.

use anyhow::{Context, Result};
use fwgate_unpack::{RegionKind, HANDLERS, RECOGNISERS};

use crate::args::UnpackArgs;
use crate::progress::Spinner;
use crate::Outcome;

pub fn run(a: UnpackArgs) -> Result<Outcome> {
    let mut spinner = Spinner::new("unpacking");
    let tree =
        fwgate_unpack::unpack_with_progress(&a.image, &a.output, a.limits.limits(), &mut |m| {
            spinner.set(m)
        })
        .with_context(|| format!("unpacking {}", a.image.display()))?;
    drop(spinner);
    if let Some(path) = &a.json {
        let json = serde_json::to_vec_pretty(&tree)?;
        super::write_atomic(path, &json)?;
    }
    for r in tree.regions.iter().filter(|r| r.file.is_empty()) {
        let what = match &r.kind {
            RegionKind::Container { format, info } => format!("{format:<9} {info}"),
            RegionKind::Padding { byte } => format!("padding   {byte:#04x}"),
            RegionKind::Data { what } => format!("data      {what}"),
            RegionKind::Unsupported { format, info } => {
                format!("{format:<9} {info} (not supported: a problem)")
            }
            RegionKind::Unknown { entropy } => {
                format!("unknown   entropy {entropy:.2} bits/byte (a problem)")
            }
        };
        println!("{:#010x} {:>10}  {what}", r.offset, r.length);
    }
    let files = tree
        .nodes
        .iter()
        .filter(|n| n.kind == fwgate_unpack::NodeKind::File)
        .count();
    println!(
        "{} nodes ({files} files) extracted to {}",
        tree.nodes.len(),
        tree.root.display()
    );
    for p in &tree.problems {
        let file = if p.file.is_empty() { "image" } else { &p.file };
        let at = p.offset.map(|o| format!(" at {o:#x}")).unwrap_or_default();
        eprintln!(
            "warning: {file}{}{at}: {}",
            p.format
                .as_deref()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default(),
            p.message
        );
    }
    Ok(if tree.is_complete() {
        Outcome::Pass
    } else {
        Outcome::PolicyFailed
    })
}

pub fn formats() -> Result<Outcome> {
    println!("extracted:");
    for h in HANDLERS {
        println!("  {:<15} {}", h.id(), h.description());
    }
    println!("recognised, not extracted yet (an image holding one fails as not fully examined):");
    for r in RECOGNISERS {
        println!("  {:<15} {}", r.id, r.description);
    }
    Ok(Outcome::Pass)
}
