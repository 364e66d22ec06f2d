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
    /// Create a signing key pair: NAME.key (secret, mode 0600), NAME.pub (minisign format) and
    /// NAME.pem (the public key as SPKI PEM, for OpenSSL).
    Keygen(KeygenArgs),
    /// Sign an image that passed the gate: writes IMAGE.minisig (`minisign -Vm IMAGE -p
    /// NAME.pub`) and, with --raw, IMAGE.sig (`openssl pkeyutl -verify -rawin`).
    Sign(SignArgs),
    /// Check an image's signature (minisign or raw) and attestations against a public key,
    /// following rotations and revocations in a trust directory.
    Verify(VerifyArgs),
    /// Key life cycle: export to and import from PKCS#8, rotate, revoke.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Print SHA-256 or BLAKE2b-512 digests of files, in sha256sum's format (streamed; both
    /// digests on two cores).
    Digest(DigestArgs),
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
    /// Write a CycloneDX 1.6 SBOM (BSI TR-03183-2) of the components identified in an image
    /// or a directory: JSON on stdout (or -o FILE), messages on stderr.
    Sbom(SbomArgs),
    /// List the third-party components identified in an image or a directory, with the
    /// evidence for each version.
    Components(ComponentsArgs),
    /// Match the identified components against OSV advisories offline (the curated set
    /// built into fwgate, plus --advisories DIR): print the matches, write them as a
    /// CycloneDX 1.6 VEX document with -o, exit 1 on a match at or above --fail-on.
    Vulns(VulnsArgs),
    /// Compare two releases (images, directories or `scan --format json` reports):
    /// components added, removed and changed, findings new and fixed, and the curated
    /// advisories' matches new and fixed — the remediation record between releases.
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier release: an image, a directory or an fwgate JSON report.
    pub old: PathBuf,
    /// The later release.
    pub new: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Subcommand)]
pub enum VulnsCommand {
    /// Re-match the SBOMs of released images against updated advisories and name the
    /// releases newly affected (exit 1 when there is one: for a scheduled CI job).
    Recheck(RecheckArgs),
    /// Add OSV records to an advisory store (plain files, one per record, and a log of every
    /// import): zip exports as osv.dev publishes them, directories or JSON files. Every
    /// record is checked before anything is written.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// OSV exports: zip archives (e.g. osv.dev's Debian/all.zip), directories or JSON files.
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,
    /// The store to add them to (made if absent); give it to scan, gate and vulns with
    /// --advisories.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

#[derive(Debug, Args)]
pub struct RecheckArgs {
    /// Directory of released images' SBOMs (`fwgate sbom` output, `*.json`).
    pub sboms: PathBuf,
    /// The updated advisories: a store made by `fwgate vulns import`, a directory or file
    /// of OSV JSON, or an osv.dev zip export. Repeat for more.
    #[arg(long, value_name = "DIR")]
    pub advisories: Vec<PathBuf>,
    /// Use only the --advisories directories, not the curated set built into fwgate.
    #[arg(long)]
    pub no_builtin: bool,
    /// What earlier rechecks found (default: SBOMS/.fwgate-recheck.json); updated after
    /// each run, so a release is named once per new advisory.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Fail only for new matches at or above this severity.
    #[arg(long, default_value = "low", value_name = "SEVERITY")]
    pub fail_on: Severity,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct VulnsArgs {
    #[command(subcommand)]
    pub command: Option<VulnsCommand>,
    /// A firmware image, or a directory holding an extracted file system.
    #[arg(value_name = "IMAGE_OR_DIR", required = true)]
    pub target: Option<PathBuf>,
    /// More OSV records: a store made by `fwgate vulns import`, a directory or file of OSV
    /// JSON, or an osv.dev zip export. Repeat for more.
    #[arg(long, value_name = "DIR")]
    pub advisories: Vec<PathBuf>,
    /// Use only the --advisories directories, not the curated set built into fwgate.
    #[arg(long)]
    pub no_builtin: bool,
    /// Write the matches as a CycloneDX 1.6 VEX document to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the matches as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1) when a match is at or above this severity.
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: Severity,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// A firmware image, or a directory holding an extracted file system.
    #[arg(value_name = "IMAGE_OR_DIR")]
    pub target: PathBuf,
    /// Write the SBOM here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The manufacturer, named as the SBOM's creator (default: FWGATE_MANUFACTURER).
    #[arg(long, env = "FWGATE_MANUFACTURER", value_name = "NAME")]
    pub manufacturer: String,
    /// The manufacturer's web address or security contact e-mail (default:
    /// FWGATE_MANUFACTURER_CONTACT).
    #[arg(long, env = "FWGATE_MANUFACTURER_CONTACT", value_name = "URL_OR_EMAIL")]
    pub contact: Option<String>,
    /// Release version of the image.
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// Pin the serial number (derived from the image, the rules and the release) and the
    /// timestamp (SOURCE_DATE_EPOCH, or 1970-01-01): the same image gives the same bytes.
    #[arg(long)]
    pub reproducible: bool,
    /// Keep the extracted files here (new or empty directory) instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct ComponentsArgs {
    /// A firmware image, or a directory holding an extracted file system.
    #[arg(value_name = "IMAGE_OR_DIR")]
    pub target: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
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
    /// More advisories for the vulnerability rules (FWG-VULN-*), beside the curated set: a
    /// store made by `fwgate vulns import`, a directory or file of OSV JSON, or an osv.dev
    /// zip export. Repeat for more.
    #[arg(long, value_name = "PATH")]
    pub advisories: Vec<PathBuf>,
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
    /// Base name: writes NAME.key, NAME.pub and NAME.pem.
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
    /// Also write IMAGE.sig: a raw 64-byte Ed25519 signature over the image, which
    /// `openssl pkeyutl -verify -pubin -inkey NAME.pem -rawin -in IMAGE -sigfile IMAGE.sig`
    /// checks.
    #[arg(long)]
    pub raw: bool,
    /// Evidence directory holding the gate's record for this image.
    #[arg(long, default_value = "fwgate-evidence", value_name = "DIR")]
    pub evidence: PathBuf,
    /// Sign although no passing gate is recorded for this image; the signed trusted comment
    /// says so.
    #[arg(long)]
    pub without_gate: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image.
    pub image: PathBuf,
    /// Public key: NAME.pub (minisign) or NAME.pem (SPKI). With --trust, the pinned root key.
    #[arg(long, value_name = "PUBLIC")]
    pub key: PathBuf,
    /// Signature file: a .minisig or a raw 64-byte signature (default: IMAGE.minisig, or
    /// IMAGE.sig for a PEM key or when only that exists).
    #[arg(long, value_name = "FILE")]
    pub sig: Option<PathBuf>,
    /// Accept a legacy (non-prehashed, `minisign -Sl`) signature.
    #[arg(long)]
    pub allow_legacy: bool,
    /// Trust directory: key rotations and revocation lists (see `fwgate key rotate` and
    /// `fwgate key revoke`), followed from the pinned --key.
    #[arg(long, value_name = "DIR")]
    pub trust: Option<PathBuf>,
    /// Also check the gate's attestations (IMAGE.intoto.jsonl): each envelope's signature,
    /// its subject's digest against the image, and the verdict.
    #[arg(long, value_name = "FILE")]
    pub attestation: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a key in another form: the secret key as encrypted PKCS#8 PEM (for OpenSSL, an
    /// HSM or a signing server; new password from FWGATE_EXPORT_PASSWORD or the terminal), or
    /// the public key as SPKI PEM.
    Export(KeyExportArgs),
    /// Read a secret key (PKCS#8 PEM or DER, encrypted or not, or a minisign secret key) and
    /// write it as NAME.key, NAME.pub and NAME.pem. A PKCS#8 password is read from
    /// FWGATE_IMPORT_PASSWORD or the terminal.
    Import(KeyImportArgs),
    /// Make a new key pair endorsed by the old key: NAME.key/.pub/.pem, and in the trust
    /// directory rotation-OLD-NEW.json with its minisign signature by the old key.
    Rotate(KeyRotateArgs),
    /// Add key ids to the signed revocation list (TRUST/revoked.json and its signature).
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("form").required(true).args(["pkcs8", "spki"])))]
pub struct KeyExportArgs {
    /// The key: a secret key (NAME.key), or for --spki also a public key (NAME.pub).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Write the secret key as encrypted PKCS#8 (PBES2: PBKDF2-SHA256, AES-256-CBC).
    #[arg(long)]
    pub pkcs8: bool,
    /// Write the public key as SPKI PEM.
    #[arg(long)]
    pub spki: bool,
    /// Output file (created; never overwritten).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct KeyImportArgs {
    /// The key file to read.
    pub file: PathBuf,
    /// Directory for the key files.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Base name: writes NAME.key, NAME.pub and NAME.pem.
    #[arg(long)]
    pub name: String,
    /// Store the secret key without a password.
    #[arg(long)]
    pub unencrypted: bool,
    /// Key id for a PKCS#8 key, 16 hex digits as fwgate and minisign print them (default:
    /// derived from the public key, the same on every import).
    #[arg(long, value_name = "HEX")]
    pub key_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyRotateArgs {
    /// The key being replaced (its password from FWGATE_KEY_PASSWORD or the terminal).
    #[arg(long, value_name = "OLD.key")]
    pub old: PathBuf,
    /// Base name of the new key: writes NAME.key, NAME.pub and NAME.pem.
    #[arg(long, value_name = "NAME", required_unless_present = "endorse")]
    pub new_name: Option<String>,
    /// Directory for the new key files (default: the old key's directory).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Endorse this existing public key (NAME.pub) instead of making a new pair.
    #[arg(long, value_name = "PUB", conflicts_with = "unencrypted")]
    pub endorse: Option<PathBuf>,
    /// Trust directory for the rotation statement (published with the root public key).
    #[arg(long, default_value = "fwgate-trust", value_name = "DIR")]
    pub trust: PathBuf,
    /// Store the new secret key without a password (new password otherwise from
    /// FWGATE_NEW_KEY_PASSWORD or the terminal).
    #[arg(long)]
    pub unencrypted: bool,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    /// The key that signs the list: the root key or any key endorsed from it.
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
    /// Key id to revoke (16 hex digits, as `fwgate keygen` printed it). Repeat for more.
    #[arg(long = "revoke", value_name = "KEY_ID", required = true)]
    pub revoke: Vec<String>,
    /// Why, recorded in the list (e.g. "key compromised", "signing server decommissioned").
    #[arg(long)]
    pub reason: String,
    /// Trust directory holding revoked.json.
    #[arg(long, default_value = "fwgate-trust", value_name = "DIR")]
    pub trust: PathBuf,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Files to hash.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Which digest (`sha256` lines are checked by `sha256sum -c`, `blake2b512` by `b2sum -c`).
    #[arg(long, value_enum, default_value = "sha256")]
    pub algorithm: DigestAlgorithm,
}

/// The digests `fwgate digest` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DigestAlgorithm {
    Sha256,
    Blake2b512,
    /// Both, one pass: the SHA-256 line, then the BLAKE2b-512 line.
    Both,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The release image.
    pub image: PathBuf,
    /// Secret key: sign the image when the policy passes, and sign the gate's attestations
    /// (IMAGE.intoto.jsonl) either way. Without it, nothing is signed.
    #[arg(long, value_name = "SECRET")]
    pub key: Option<PathBuf>,
    /// Product name for the attestations' resource URI, pkg:generic/PRODUCT@RELEASE
    /// (default: the image's file name without its extension).
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// The manufacturer: with it the gate also records the image's CycloneDX 1.6 SBOM as
    /// evidence (CRA Annex I Part II (1)).
    #[arg(long, env = "FWGATE_MANUFACTURER", value_name = "NAME")]
    pub manufacturer: Option<String>,
    /// Also write IMAGE.sig, a raw Ed25519 signature for OpenSSL-based verifiers.
    #[arg(long)]
    pub raw: bool,
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
    /// Check the ledger's hash chain, every stored artifact and, with --key, every signed
    /// checkpoint: names each record edited, removed, inserted, reordered or truncated.
    Verify(EvidenceVerifyArgs),
    /// List the recorded evidence.
    List(EvidenceDirArgs),
    /// Print the requirement catalogs (FTC v. D-Link 2019, EU CRA 2024/2847, ETSI EN 303 645
    /// V3.1.3) with their evidence kinds and IEC 62443-4-1 mapping.
    Catalog(CatalogArgs),
    /// Start an evidence store: a policy.toml requiring every requirement of the chosen
    /// catalogs (trim it by waiving, with reasons), the ledger and its artifact store.
    Init(InitArgs),
    /// Attach a document or a tool's output to a requirement and a release (content hashed
    /// and kept, attributed, dated, recorded in the ledger).
    Add(AddArgs),
    /// Each requirement of the policy for a release: satisfied, missing, stale or waived, and
    /// why, with the command that fills each gap (exit 1 on a gap).
    Status(StatusArgs),
    /// Write a release's evidence bundle for auditors: a deterministic tar of the ledger,
    /// checkpoints, artifacts, catalogs, policy, status, report.html/report.md and VERIFY.md,
    /// with SHA256SUMS signed by --key (checkable with sha256sum -c and minisign -V alone).
    Bundle(BundleArgs),
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The release.
    #[arg(value_name = "RELEASE")]
    pub release: String,
    /// Where to write the tar.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The key that signed the ledger (it signs SHA256SUMS too).
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
    /// Evidence directory.
    #[arg(long, default_value = "fwgate-evidence", value_name = "DIR")]
    pub evidence: PathBuf,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Only this catalog (ftc-dlink-2019, cra-2024, etsi-en-303-645).
    #[arg(long, value_name = "ID")]
    pub catalog: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Evidence directory (in the product's repository).
    #[arg(default_value = "fwgate-evidence", value_name = "DIR")]
    pub dir: PathBuf,
    /// Catalogs the product must meet; repeat (ftc-dlink-2019, cra-2024, etsi-en-303-645).
    #[arg(long, value_name = "ID", default_value = "ftc-dlink-2019")]
    pub catalog: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Requirement id(s) the document is evidence for, comma-separated (e.g. DL-2,CRA-I-1.1).
    #[arg(value_name = "REQUIREMENT")]
    pub requirement: String,
    /// The document or tool output.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Its kind: threat-model, pen-test, fuzzing, sarif, training-record, disclosure-policy,
    /// security-txt, support-period, end-of-support-notice, assessment-report, …
    #[arg(long, value_name = "KIND")]
    pub kind: String,
    /// The release it is for.
    #[arg(long, value_name = "V")]
    pub release: String,
    /// Who vouches for it (name or e-mail).
    #[arg(long, value_name = "NAME")]
    pub by: String,
    /// The date it is of (review, test, training), YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// For a notice: the date it was published, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub published: Option<String>,
    /// For a support period or an end-of-support notice: when support ends, YYYY-MM or
    /// YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub ends: Option<String>,
    /// A remark kept with it.
    #[arg(long)]
    pub note: Option<String>,
    /// Evidence directory.
    #[arg(long, default_value = "fwgate-evidence", value_name = "DIR")]
    pub evidence: PathBuf,
    /// Sign the ledger's new head with this key (as the gate does).
    #[arg(long, value_name = "SECRET")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The release.
    #[arg(value_name = "RELEASE")]
    pub release: String,
    /// Evidence directory.
    #[arg(long, default_value = "fwgate-evidence", value_name = "DIR")]
    pub evidence: PathBuf,
    /// Judge freshness as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvidenceVerifyArgs {
    /// Evidence directory, or a bundle (`fwgate evidence bundle`'s tar).
    #[command(flatten)]
    pub dir: EvidenceDirArgs,
    /// Public key(s) the gate signed the ledger's checkpoints with (NAME.pub or NAME.pem).
    /// Without one, signatures are not checked: an insider who rewrites the whole chain is
    /// not caught. Repeat for rotated keys.
    #[arg(long, value_name = "PUBLIC")]
    pub key: Vec<PathBuf>,
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
