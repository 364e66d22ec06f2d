//! Declarative checks over an unpacked firmware tree.
//!
//! Rules are data: one TOML file per rule in `rules/<category>/<ID>.toml` (see [`RuleFile`]),
//! compiled into a [`RuleSet`] (the workspace's `rules/` is embedded in the binary; a
//! directory can be loaded instead). [`scan_tree`] runs the set over a
//! [`Tree`](fwgate_unpack::Tree) and returns a [`Report`] of [`Finding`]s. Findings are not
//! errors: an unreadable file becomes a problem in the report and the scan goes on.
#![forbid(unsafe_code)]

pub mod components;
mod error;
mod finding;
pub mod hardening;
pub mod keys;
pub mod matchers;
mod rule;
mod ruleset;
mod scanner;
mod severity;
pub mod shell;
pub mod suppress;
pub mod view;

pub use error::{Result, ScanError};
pub use finding::{
    Coverage, Finding, Hit, Location, Matches, Report, Target, TargetKind, Tool, REPORT_SCHEMA,
};
pub use matchers::FileCtx;
pub use rule::{Allowlist, Expect, RuleFile, RuleMeta, TestCase};
pub use ruleset::{DataFiles, Rule, RuleSet};
pub use scanner::{scan_dir, scan_image, scan_tree, scan_tree_until, MAX_SCAN_BYTES};
pub use severity::Severity;
pub use suppress::{BaselineState, Suppression, Suppressions};
pub use view::DeviceView;
