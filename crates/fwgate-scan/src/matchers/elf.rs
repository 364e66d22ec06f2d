//! `kind = "hardening"`: one binary-hardening property of every ELF file, as
//! [`crate::hardening`] decides it (checksec's vocabulary). A property that cannot be known
//! (a canary in a stripped static binary) is not a finding; `fwgate hardening` shows it as
//! `unknown` with the reason. A file that claims to be ELF but cannot be read is reported as
//! not checked.

use regex::Regex;
use serde::Deserialize;

use crate::finding::{Hit, Matches};
use crate::hardening::{Hardening, HardeningError, Status};

/// The `hardening` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardeningSpec {
    /// Globs of paths to look at.
    pub paths: Vec<String>,
    /// The property judged.
    pub property: PropertyName,
    /// Statuses that are a finding, in checksec's words (`no`, `partial`, `yes`).
    #[serde(default = "no")]
    pub fails: Vec<String>,
    /// Which ELF files: `executable` (programs, PIE or not), `library`, or `any`.
    #[serde(default)]
    pub files: ElfFiles,
    /// For `rpath`/`runpath`/`search_path`: only a finding when a directory of the path
    /// matches this regex.
    #[serde(default)]
    pub value: Option<String>,
    /// For `imports`: the functions that are a finding.
    #[serde(default)]
    pub functions: Vec<String>,
    /// What the finding says; `$value` inserts the status, path or functions.
    pub label: String,
}

fn no() -> Vec<String> {
    vec!["no".into()]
}

/// A hardening property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyName {
    /// Non-executable stack.
    Nx,
    /// Position-independent executable.
    Pie,
    /// Read-only relocations.
    Relro,
    /// Stack protector.
    Canary,
    /// `_FORTIFY_SOURCE`.
    FortifySource,
    /// DT_RPATH.
    Rpath,
    /// DT_RUNPATH.
    Runpath,
    /// DT_RPATH and DT_RUNPATH together: every directory the loader searches first.
    SearchPath,
    /// Imported functions.
    Imports,
}

/// Which ELF files a rule judges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElfFiles {
    /// Programs (ET_EXEC, or ET_DYN with an interpreter or the PIE flag).
    #[default]
    Executable,
    /// Shared libraries.
    Library,
    /// Every ELF file.
    Any,
}

/// A compiled [`HardeningSpec`].
#[derive(Debug)]
pub struct ElfCheck {
    spec: HardeningSpec,
    value: Option<Regex>,
}

impl HardeningSpec {
    pub(crate) fn compile(&self) -> Result<ElfCheck, String> {
        for f in &self.fails {
            if !["yes", "no", "partial", "full", "dso"].contains(&f.as_str()) {
                return Err(format!("matcher.fails: {f:?} is not a checksec status"));
            }
        }
        if self.property == PropertyName::Imports && self.functions.is_empty() {
            return Err("matcher.functions is required for property = \"imports\"".into());
        }
        let value = self
            .value
            .as_deref()
            .map(|v| Regex::new(v).map_err(|e| format!("matcher.value: {e}")))
            .transpose()?;
        Ok(ElfCheck {
            spec: self.clone(),
            value,
        })
    }
}

/// What the ELF analysis of one file came to.
pub(crate) type Analysis = Option<Result<Hardening, HardeningError>>;

/// Analyses `content` when it is an ELF file.
pub(crate) fn analyse(content: &[u8]) -> Analysis {
    content
        .starts_with(b"\x7fELF")
        .then(|| crate::hardening::analyze(content))
}

impl ElfCheck {
    pub(crate) fn check(&self, analysis: &Analysis, found: &mut Matches) {
        let h = match analysis {
            None => return,
            Some(Ok(h)) => h,
            Some(Err(e)) => {
                found.skipped.push(format!("ELF file not checked: {e}"));
                return;
            }
        };
        let program = matches!(h.elf_type, "exec" | "pie");
        let wanted = match self.spec.files {
            ElfFiles::Executable => program,
            ElfFiles::Library => h.elf_type == "dyn",
            ElfFiles::Any => true,
        };
        if !wanted {
            return;
        }
        let (status, value) = match self.spec.property {
            PropertyName::Nx => (h.nx.status, None),
            PropertyName::Pie => (h.pie.status, None),
            PropertyName::Relro => (h.relro.status, None),
            PropertyName::Canary => (h.canary.status, None),
            PropertyName::FortifySource => (h.fortify_source.status, None),
            PropertyName::Rpath => (h.rpath.status, h.rpath_value.clone()),
            PropertyName::Runpath => (h.runpath.status, h.runpath_value.clone()),
            PropertyName::SearchPath => {
                let dirs: Vec<&str> = [&h.rpath_value, &h.runpath_value]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if dirs.is_empty() {
                    (Status::No, None)
                } else {
                    (Status::Yes, Some(dirs.join(":")))
                }
            }
            PropertyName::Imports => {
                let hit: Vec<&str> = h
                    .dangerous
                    .iter()
                    .copied()
                    .filter(|d| self.spec.functions.iter().any(|f| f == d))
                    .collect();
                if hit.is_empty() {
                    return;
                }
                let v = hit.join(", ");
                found.hits.push(Hit {
                    line: None,
                    message: self.spec.label.replace("$value", &v),
                    evidence: Some(format!("{} ELF imports {v}", h.arch)),
                    digest_of: v.into_bytes(),
                });
                return;
            }
        };
        if status == Status::Unknown || !self.spec.fails.iter().any(|f| f == status.as_str()) {
            return;
        }
        if let (Some(re), Some(v)) = (&self.value, &value) {
            if !v.split(':').any(|dir| re.is_match(dir)) {
                return;
            }
        }
        let shown = value.unwrap_or_else(|| status.as_str().to_string());
        found.hits.push(Hit {
            line: None,
            message: self.spec.label.replace("$value", &shown),
            evidence: Some(format!("{} {} ELF", h.arch, h.elf_type)),
            digest_of: format!("{:?}={shown}", self.spec.property).into_bytes(),
        });
    }
}
