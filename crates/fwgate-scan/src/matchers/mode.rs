//! `kind = "mode"`: permission bits of files and directories as the image records them
//! (set-id programs, world-writable paths, secrets readable by everyone). The bits come from
//! the container's metadata, not from the extracted copy, whose mode the extracting user may
//! not have been able to apply.

use fwgate_unpack::{Node, NodeKind};
use serde::Deserialize;

use crate::finding::{Hit, Matches};

/// The `mode` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSpec {
    /// Globs of paths to look at.
    pub paths: Vec<String>,
    /// Which nodes: `file`, `dir` (default: files).
    #[serde(default = "default_nodes")]
    pub nodes: Vec<NodeSel>,
    /// Octal bits of which at least one must be set, e.g. `"6000"` for set-uid/set-gid.
    pub any: String,
    /// Octal bits of which none may be set, e.g. `"1000"` (sticky) for world-writable dirs.
    #[serde(default)]
    pub none: Option<String>,
    /// What the finding calls it; `$mode` inserts the four octal digits.
    pub label: String,
}

fn default_nodes() -> Vec<NodeSel> {
    vec![NodeSel::File]
}

/// A kind of node a mode rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSel {
    /// Regular files.
    File,
    /// Directories.
    Dir,
}

/// A compiled [`ModeSpec`].
#[derive(Debug)]
pub struct Mode {
    nodes: Vec<NodeSel>,
    any: u32,
    none: u32,
    label: String,
}

fn octal(field: &str, s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|v| *v <= 0o7777)
        .ok_or_else(|| format!("matcher.{field}: {s:?} is not octal permission bits"))
}

impl ModeSpec {
    pub(crate) fn compile(&self) -> Result<Mode, String> {
        let any = octal("any", &self.any)?;
        if any == 0 {
            return Err("matcher.any must name at least one bit".into());
        }
        Ok(Mode {
            nodes: self.nodes.clone(),
            any,
            none: self
                .none
                .as_deref()
                .map(|s| octal("none", s))
                .transpose()?
                .unwrap_or(0),
            label: self.label.clone(),
        })
    }
}

impl Mode {
    /// True when the rule looks at nodes of this kind.
    pub(crate) fn wants(&self, kind: NodeKind) -> bool {
        match kind {
            NodeKind::File => self.nodes.contains(&NodeSel::File),
            NodeKind::Dir => self.nodes.contains(&NodeSel::Dir),
            _ => false,
        }
    }

    pub(crate) fn check(&self, node: &Node, found: &mut Matches) {
        let mode = node.mode & 0o7777;
        if !self.wants(node.kind) || mode & self.any == 0 || mode & self.none != 0 {
            return;
        }
        let digits = format!("{mode:04o}");
        found.hits.push(Hit {
            line: None,
            message: self.label.replace("$mode", &digits),
            evidence: Some(format!("mode {digits}")),
            digest_of: digits.into_bytes(),
        });
    }
}
