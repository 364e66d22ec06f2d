//! The command-line surface. Scripts depend on these names; add, don't rename.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use fwgate_report::Format;
use fwgate_scan::Severity;

/// fwgate: a release gate for IoT firmware.
///
/// Unpacks a firmware image, checks what is inside for hardcoded credentials, weak services and
/// embedded private keys, records the result as pre-release evidence (FTC v. D-Link, DL-3) and
/// signs the image in minisign format only when the release policy is met.
///
/// Exit status: 0 pass, 1 policy failed, 2 usage or tool error.
#[derive(Debug, Parser)]
#[command(name = "fwgate", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract a firmware image, recursively and safely, into a new directory.
    Unpack(UnpackArgs),
    /// Check an image (or an extracted root file system) and report findings.
    Scan(ScanArgs),
    /// Create a signing key pair: NAME.key (secret, mode 0600) and NAME.pub (minisign format).
    Keygen(KeygenArgs),
    /// Sign an image: writes IMAGE.minisig, verifiable with `minisign -Vm IMAGE -p NAME.pub`.
    Sign(SignArgs),
    /// Check an image's minisign signature against a public key.
    Verify(VerifyArgs),
    /// Release gate: unpack, scan, record evidence, and sign only if the policy passes.
    Gate(GateArgs),
    /// Inspect and verify recorded pre-release evidence.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// List the rules, or run their built-in test cases.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// List the container formats fwgate can unpack.
    Formats,
    /// Binary hardening (NX, PIE, RELRO, canary, FORTIFY, RPATH) of every ELF file in an
    /// image or a directory, in checksec's words.
    Hardening(HardeningArgs),
}

/// Bounds on extraction (hostile images are stopped at these).
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Deepest nesting of containers to extract.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_depth: usize,
    /// Most bytes to write in total, in MiB.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub max_total_mib: u64,
    /// Deadline in seconds for unpacking and scanning together; whatever is not examined by
    /// then is reported and fails the gate.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub timeout: u64,
    /// Address-space limit of each parser worker process, in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub worker_memory_mib: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> fwgate_unpack::Limits {
        fwgate_unpack::Limits {
            max_depth: self.max_depth,
            max_total_bytes: self.max_total_mib.saturating_mul(1 << 20),
            timeout: std::time::Duration::from_secs(self.timeout),
            // Parsers run in a limited copy of this binary; without a path to it (never on
            // Linux), in process under the panic guard.
            worker: std::env::current_exe()
                .ok()
                .map(|exe| fwgate_unpack::worker::WorkerSpec {
                    exe,
                    memory_mib: self.worker_memory_mib,
                }),
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// The firmware image.
    pub image: PathBuf,
    /// Output directory (created; must be empty if it exists).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Also write the manifest (every node, region and problem) as JSON to this file.
    #[arg(long, value_name = "MANIFEST")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Where rules come from.
#[derive(Debug, Args, Clone)]
pub struct RulesArgs {
    /// Load rules from this directory instead of the ones built into fwgate.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

/// How an image is checked, shared by `scan` and `gate`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Fail (exit 1) when a finding is at or above this severity.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Do not fail when part of the image could not be unpacked or read.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Accept one problem by its key, printed with the problem: an unknown region's
    /// `sha256:…` (exactly those bytes), or `link:/PATH` for a link to a file made at run
    /// time. Repeat for more.
    #[arg(long, value_name = "KEY")]
    pub accept: Vec<String>,
    /// Keep the extracted files here (new or empty directory) instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Suppressions file (TOML): reviewed findings, each with rule, path glob, optional
    /// evidence hash, reason, owner and expiry. Suppressed findings stay in the report and
    /// do not fail; an expired suppression stops suppressing.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    /// An earlier fwgate JSON report: only findings not in it fail (baseline mode).
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl CheckArgs {
    /// The policy these flags ask for, requiring `require` evidence.
    pub fn policy(&self, require: Vec<String>) -> fwgate_evidence::Policy {
        fwgate_evidence::Policy {
            fail_on: self.fail_on,
            allow_incomplete: self.allow_incomplete,
            require,
            accept: self.accept.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A firmware image, or a directory holding an extracted file system.
    #[arg(value_name = "IMAGE_OR_DIR")]
    pub target: PathBuf,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = clap::value_parser!(Format))]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for the key files.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Base name: writes NAME.key and NAME.pub.
    #[arg(long)]
    pub name: String,
    /// Store the secret key without a password (for keys kept in a CI secret store).
    #[arg(long)]
    pub unencrypted: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image to sign.
    pub image: PathBuf,
    /// Secret key file (minisign format). An encrypted key's password is read from the
    /// FWGATE_KEY_PASSWORD environment variable or asked on the terminal.
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
    /// Release version, recorded in the signed trusted comment.
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// Signature file (default: IMAGE.minisig).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image.
    pub image: PathBuf,
    /// Public key file (minisign format).
    #[arg(long, value_name = "PUBLIC")]
    pub key: PathBuf,
    /// Signature file (default: IMAGE.minisig).
    #[arg(long, value_name = "FILE")]
    pub sig: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The release image.
    pub image: PathBuf,
    /// Secret key: sign the image when the policy passes. Without it, nothing is signed.
    #[arg(long, value_name = "SECRET")]
    pub key: Option<PathBuf>,
    /// Release version, recorded in the evidence and the signature.
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// Evidence directory (ledger and artifacts).
    #[arg(long, default_value = "fwgate-evidence", value_name = "DIR")]
    pub evidence: PathBuf,
    /// Also write the findings as SARIF 2.1.0 to this file (for code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check the ledger's hash chain and every stored artifact.
    Verify(EvidenceDirArgs),
    /// List the recorded evidence.
    List(EvidenceDirArgs),
    /// Print the requirement catalog (FTC v. D-Link, 2019) with its IEC 62443-4-1 mapping.
    Catalog,
}

#[derive(Debug, Args)]
pub struct EvidenceDirArgs {
    /// Evidence directory.
    #[arg(default_value = "fwgate-evidence", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List rules with id, severity and summary.
    List(RulesArgs),
    /// Validate rule files and run their positive and negative test cases.
    Test(RulesArgs),
    /// Show one rule in full: what it finds, why it matters, how to fix it, where it looks
    /// and its examples.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id, e.g. FWG-SVC-001 (or its name, e.g. telnetd-at-boot).
    pub id: String,
    #[command(flatten)]
    pub rules: RulesArgs,
}

#[derive(Debug, Args)]
pub struct HardeningArgs {
    /// A firmware image (unpacked to a temporary directory), or a directory.
    #[arg(value_name = "IMAGE_OR_DIR")]
    pub target: PathBuf,
    /// Output: an aligned table, or JSON (a list sorted by path, checksec's keys and words).
    #[arg(long, value_enum, default_value = "text")]
    pub format: HardeningFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// How `fwgate hardening` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HardeningFormat {
    Text,
    Json,
}
