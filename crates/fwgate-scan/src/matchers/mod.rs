//! Matchers: the closed set of ways a rule looks at a file. A rule file picks one with
//! `[matcher] kind = "..."`; adding a kind is a new module here and one enum variant.
//!
//! Every matcher sees a file through a [`FileCtx`]: its bytes, the device path the rule
//! matched (after the image's symlinks, see [`crate::view`]), its node (mode, size) and the
//! scan's deadline. Analyses several rules share (a boot script's parse) are computed once per
//! file in the context.

mod accounts;
mod config;
pub(crate) mod crack;
mod elf;
mod key;
mod mode;
mod pattern;
mod service;
pub(crate) mod text;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use fwgate_unpack::Node;
use serde::Deserialize;

use crate::finding::Matches;
use crate::ruleset::DataFiles;

pub use accounts::{AccountCheck, AccountsSpec, PasswordFormat};
pub use config::{ConfigSpec, Effective};
pub use elf::{ElfFiles, HardeningSpec, PropertyName};
pub use key::{KeyCheck, KeysSpec};
pub use mode::{ModeSpec, NodeSel};
pub use pattern::PatternSpec;
pub use service::{boot_paths, ServiceCheck, ServiceSpec};

/// The `[matcher]` table of a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MatcherSpec {
    /// A regular expression over file contents.
    Pattern(PatternSpec),
    /// Accounts in `passwd`/`shadow` files.
    Accounts(AccountsSpec),
    /// Permission bits of files and directories, as the image records them.
    Mode(ModeSpec),
    /// One setting of a configuration file, as the daemon reads it.
    Config(ConfigSpec),
    /// Programs the boot configuration starts.
    Service(ServiceSpec),
    /// A binary-hardening property of ELF files.
    Hardening(HardeningSpec),
    /// Validated private keys and certificates.
    Keys(KeysSpec),
    /// Identified components against the advisory store (not a per-file check: see
    /// [`AdvisorySpec`]).
    Advisory(AdvisorySpec),
}

/// `kind = "advisory"`: the rule reports every advisory match of one certainty. It reads no
/// file itself; the scanner runs it once over the components the scan identified, and its
/// test cases are identified and matched as one-file images.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisorySpec {
    /// `affected` or `possible`.
    pub certainty: crate::components::advisory::Certainty,
}

/// A compiled matcher, ready to run.
#[derive(Debug)]
pub enum Matcher {
    /// See [`PatternSpec`].
    Pattern(pattern::Pattern),
    /// See [`AccountsSpec`].
    Accounts(accounts::Accounts),
    /// See [`ModeSpec`].
    Mode(mode::Mode),
    /// See [`ConfigSpec`].
    Config(config::Config),
    /// See [`ServiceSpec`].
    Service(service::Service),
    /// See [`HardeningSpec`].
    Hardening(elf::ElfCheck),
    /// See [`KeysSpec`].
    Keys(key::Keys),
    /// See [`AdvisorySpec`].
    Advisory(crate::components::advisory::Certainty),
}

/// Analyses of one file that several rules share, computed on first use.
#[derive(Debug, Default)]
pub struct FileCache {
    /// The boot reading of the file, per device path (the path decides the syntax).
    boot: RefCell<Vec<(String, Rc<service::Boot>)>>,
    /// The ELF analysis, shared by every hardening rule.
    elf: std::cell::OnceCell<elf::Analysis>,
    /// Keys and certificates, shared by every key rule.
    keys: std::cell::OnceCell<crate::keys::Found>,
}

impl FileCache {
    fn keys(&self, content: &[u8]) -> &crate::keys::Found {
        self.keys.get_or_init(|| crate::keys::scan(content))
    }

    fn elf(&self, content: &[u8]) -> &elf::Analysis {
        self.elf.get_or_init(|| elf::analyse(content))
    }

    fn boot(&self, path: &str, content: &[u8]) -> Rc<service::Boot> {
        if let Some((_, b)) = self.boot.borrow().iter().find(|(p, _)| p == path) {
            return Rc::clone(b);
        }
        let b = Rc::new(service::read_boot(path, content));
        self.boot
            .borrow_mut()
            .push((path.to_string(), Rc::clone(&b)));
        b
    }
}

/// One file as a matcher sees it.
pub struct FileCtx<'a> {
    /// The file's bytes (empty for matchers that do not read content).
    pub content: &'a [u8],
    /// The device path the rule matched, without the leading `/`.
    pub path: &'a str,
    /// The file's node: mode, size, kind.
    pub node: &'a Node,
    /// Work past this instant is reported as skipped.
    pub deadline: Instant,
    /// Shared analyses of this file.
    pub cache: &'a FileCache,
}

impl MatcherSpec {
    /// The path globs this matcher looks at (relative to a file system root).
    pub fn paths(&self) -> Vec<String> {
        match self {
            MatcherSpec::Pattern(p) => p.paths.clone(),
            MatcherSpec::Accounts(a) => a.paths.clone(),
            MatcherSpec::Mode(m) => m.paths.clone(),
            MatcherSpec::Config(c) => c.paths.clone(),
            MatcherSpec::Service(s) => s.paths.clone(),
            MatcherSpec::Hardening(h) => h.paths.clone(),
            MatcherSpec::Keys(k) => k.paths.clone(),
            MatcherSpec::Advisory(_) => Vec::new(),
        }
    }

    /// Validates and compiles the matcher; `data` resolves word lists.
    pub fn compile(&self, data: &DataFiles) -> std::result::Result<Matcher, String> {
        Ok(match self {
            MatcherSpec::Pattern(p) => Matcher::Pattern(p.compile()?),
            MatcherSpec::Accounts(a) => Matcher::Accounts(a.compile(data)?),
            MatcherSpec::Mode(m) => Matcher::Mode(m.compile()?),
            MatcherSpec::Config(c) => Matcher::Config(c.compile()?),
            MatcherSpec::Service(s) => Matcher::Service(s.compile()?),
            MatcherSpec::Hardening(h) => Matcher::Hardening(h.compile()?),
            MatcherSpec::Keys(k) => Matcher::Keys(k.compile()?),
            MatcherSpec::Advisory(a) => Matcher::Advisory(a.certainty),
        })
    }
}

impl Matcher {
    /// True when the matcher reads the file's bytes; otherwise it judges the node alone and
    /// also runs on directories.
    pub fn reads_content(&self) -> bool {
        !matches!(self, Matcher::Mode(_))
    }

    /// Runs the matcher on one file.
    pub fn check(&self, file: &FileCtx<'_>) -> Matches {
        let mut found = Matches::default();
        match self {
            // Linear in the file (the regex crate); bounded by the scan's size cap.
            Matcher::Pattern(p) => p.check(file.content, &mut found),
            Matcher::Accounts(a) => a.check(file.content, file.path, file.deadline, &mut found),
            Matcher::Mode(m) => m.check(file.node, &mut found),
            Matcher::Config(c) => c.check(file.content, &mut found),
            Matcher::Hardening(h) => h.check(file.cache.elf(file.content), &mut found),
            Matcher::Keys(k) => k.check(
                file.content,
                file.cache.keys(file.content),
                time::OffsetDateTime::now_utc().unix_timestamp(),
                &mut found,
            ),
            Matcher::Service(s) => s.check(
                file.path,
                &file.cache.boot(file.path, file.content),
                &mut found,
            ),
            // Judged over the components, in the scanner.
            Matcher::Advisory(_) => {}
        }
        found
    }
}
