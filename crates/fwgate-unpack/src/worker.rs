//! Extraction in a limited worker process.
//!
//! With [`Limits::worker`] set, the engine runs each container's `extract` in a child process
//! (the same binary, started with [`WORKER_ARG`]) that caps its own address space, CPU time
//! and core size before it reads anything, and runs the handler on a thread with a bounded
//! stack. Whatever a crafted container does to the parser there — exhaust memory, overflow
//! the stack, abort, spin — the worker dies or is killed at the deadline, and the parent
//! records a problem naming the format and offset, then goes on with the rest of the image.
//! Probes stay in the parent: they read bounded windows with bounded decoders.
//!
//! The protocol is one JSON request on the worker's stdin and one JSON response on its stdout.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::handler::{Output, Probe};
use crate::jail::Jail;
use crate::limits::Budget;
use crate::source::Source;
use crate::tree::{Node, Origin, Problem};
use crate::{Limits, Result, UnpackError, HANDLERS};

/// The first argument that makes a binary serve as a worker (see [`serve`]).
pub const WORKER_ARG: &str = "__unpack-worker";

/// Where to find the worker and what it may use.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// An executable that calls [`serve`] when started with [`WORKER_ARG`].
    pub exe: PathBuf,
    /// Address-space limit of each worker, in MiB.
    pub memory_mib: u64,
}

/// Stack of the thread a worker runs the handler on.
const WORKER_STACK: usize = 16 << 20;

#[derive(Serialize, Deserialize)]
struct Request {
    file: PathBuf,
    offset: u64,
    handler: String,
    probe_len: Option<u64>,
    probe_info: String,
    probe_undecided: Option<String>,
    root: PathBuf,
    base: String,
    origin: Origin,
    max_depth: usize,
    max_total_bytes: u64,
    max_file_bytes: u64,
    max_entries: u64,
    max_ratio: u64,
    bytes: u64,
    entries: u64,
    scope: u64,
    millis_left: u64,
    memory_mib: u64,
}

#[derive(Serialize, Deserialize)]
enum Outcome {
    Consumed(u64),
    Limit(String),
    Failed(String),
    Panicked,
}

#[derive(Serialize, Deserialize)]
struct Response {
    outcome: Outcome,
    used: Option<Vec<(u64, u64)>>,
    nodes: Vec<Node>,
    problems: Vec<Problem>,
    bytes: u64,
    entries: u64,
}

/// What an isolated extraction gave the engine.
pub(crate) struct Isolated {
    /// `Ok(consumed)`, the handler's error, or a crash turned into a `Malformed` error.
    pub result: std::result::Result<Result<u64>, ()>,
    pub nodes: Vec<Node>,
    pub problems: Vec<Problem>,
    pub used: Option<Vec<(u64, u64)>>,
}

/// Runs `handler.extract` for the container at `offset` of `file` in a worker process.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extract(
    spec: &WorkerSpec,
    jail: &mut Jail,
    file: &Path,
    offset: u64,
    handler: &str,
    probe: &Probe,
    base: &str,
    origin: &Origin,
    scope: u64,
) -> Result<Isolated> {
    let budget = &jail.budget;
    let now = Instant::now();
    let left = budget.deadline.saturating_duration_since(now);
    if left.is_zero() {
        budget.check_time()?;
    }
    let req = Request {
        file: file.to_path_buf(),
        offset,
        handler: handler.to_string(),
        probe_len: probe.len,
        probe_info: probe.info.clone(),
        probe_undecided: probe.undecided.clone(),
        root: jail.root().to_path_buf(),
        base: base.to_string(),
        origin: origin.clone(),
        max_depth: budget.limits.max_depth,
        max_total_bytes: budget.limits.max_total_bytes,
        max_file_bytes: budget.limits.max_file_bytes,
        max_entries: budget.limits.max_entries,
        max_ratio: budget.limits.max_ratio,
        bytes: budget.bytes,
        entries: budget.entries,
        scope,
        millis_left: left.as_millis() as u64,
        memory_mib: spec.memory_mib,
    };
    let body =
        serde_json::to_vec(&req).map_err(|e| UnpackError::Limit(format!("worker request: {e}")))?;
    let mut child = Command::new(&spec.exe)
        .arg(WORKER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| UnpackError::io(&spec.exe, "start the unpack worker", e))?;
    // Feed and drain on threads so that no pipe fills while we wait.
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&body);
        }
    });
    // The reader sends the worker's answer when its stdout closes, which is when it exits.
    let mut stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    let mut stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 * 1024).read_to_end(&mut buf);
        }
        buf
    });
    let wait = jail
        .budget
        .deadline
        .saturating_duration_since(Instant::now());
    let (status, out) = match rx.recv_timeout(wait) {
        Ok(out) => match child.wait() {
            Ok(status) => (Some(status), out),
            Err(e) => return Err(UnpackError::io(&spec.exe, "wait for the unpack worker", e)),
        },
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            (None, Vec::new())
        }
    };
    let _ = feeder.join();
    let err = err_reader.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(UnpackError::Limit(format!(
            "time budget of {}s (--timeout) spent in the {handler} parser at {offset:#x}",
            jail.budget.limits.timeout.as_secs()
        )));
    };
    let response: Option<Response> = if status.success() {
        serde_json::from_slice(&out).ok()
    } else {
        None
    };
    let Some(r) = response else {
        let how = describe(status, spec.memory_mib);
        let tail = String::from_utf8_lossy(&err);
        let tail = tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Ok(Isolated {
            result: Ok(Err(malformed(
                origin,
                handler,
                offset,
                format!(
                    "the parser's worker {how}{}; this container was not examined",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", tail.trim())
                    }
                ),
            ))),
            nodes: Vec::new(),
            problems: Vec::new(),
            used: None,
        });
    };
    jail.budget.bytes = r.bytes.max(jail.budget.bytes);
    jail.budget.entries = r.entries.max(jail.budget.entries);
    let result = match r.outcome {
        Outcome::Consumed(n) => Ok(Ok(n)),
        Outcome::Limit(m) => Ok(Err(UnpackError::Limit(m))),
        Outcome::Failed(m) => Ok(Err(malformed(origin, handler, offset, m))),
        Outcome::Panicked => Err(()),
    };
    Ok(Isolated {
        result,
        nodes: r.nodes,
        problems: r.problems,
        used: r.used,
    })
}

/// The error for a container whose worker failed, naming file, format and offset.
fn malformed(origin: &Origin, handler: &str, offset: u64, message: String) -> UnpackError {
    UnpackError::Malformed {
        file: origin.parent.clone(),
        format: HANDLERS
            .iter()
            .find(|h| h.id() == handler)
            .map_or("?", |h| h.id()),
        offset,
        message,
    }
}

/// How a worker that gave no answer ended, in words.
fn describe(status: std::process::ExitStatus, memory_mib: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(6) => format!(
            "aborted (SIGABRT: out of memory under its {memory_mib} MiB limit, a stack overflow, or an internal abort)"
        ),
        Some(9) => "was killed".to_string(),
        Some(11) => "crashed (segmentation fault)".to_string(),
        Some(24) => "ran out of CPU time".to_string(),
        Some(s) => format!("was stopped by signal {s}"),
        None => match status.code() {
            Some(4) => format!(
                "could not run the parser (its thread did not start or finish; a {memory_mib} MiB limit too low?)"
            ),
            code => format!("exited with status {}", code.unwrap_or(-1)),
        },
    }
}

/// The worker's side: reads a request on stdin, limits itself, extracts, answers on stdout.
/// Returns the process exit code.
pub fn serve() -> i32 {
    let mut body = Vec::new();
    if std::io::stdin().read_to_end(&mut body).is_err() {
        return 3;
    }
    let Ok(req) = serde_json::from_slice::<Request>(&body) else {
        eprintln!("fwgate worker: unreadable request");
        return 3;
    };
    limit_self(&req);
    // Fault injection for the supervisor's own tests: `abort:ID` or `spin:ID` makes the
    // worker for handler ID die by a signal or never answer, as a crashing or spinning
    // parser would.
    if let Ok(fault) = std::env::var("FWGATE_WORKER_FAULT") {
        match fault.split_once(':') {
            Some(("abort", id)) if id == req.handler => std::process::abort(),
            Some(("spin", id)) if id == req.handler => loop {
                std::hint::spin_loop();
            },
            _ => {}
        }
    }
    let handle = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || run(req));
    let response = match handle.map(|h| h.join()) {
        Ok(Ok(Some(r))) => r,
        _ => return 4,
    };
    let Ok(json) = serde_json::to_vec(&response) else {
        return 5;
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(&json).and_then(|()| out.flush()).is_err() {
        return 5;
    }
    0
}

/// Caps the worker's own address space, CPU time and core dumps before it parses anything.
fn limit_self(req: &Request) {
    use rlimit::Resource;
    let bytes = req.memory_mib.saturating_mul(1 << 20);
    let _ = rlimit::setrlimit(Resource::AS, bytes, bytes);
    let cpu = req.millis_left / 1000 + 2;
    let _ = rlimit::setrlimit(Resource::CPU, cpu, cpu);
    let _ = rlimit::setrlimit(Resource::CORE, 0, 0);
}

fn run(req: Request) -> Option<Response> {
    let handler = HANDLERS.iter().copied().find(|h| h.id() == req.handler)?;
    let limits = Limits {
        max_depth: req.max_depth,
        max_total_bytes: req.max_total_bytes,
        max_file_bytes: req.max_file_bytes,
        max_entries: req.max_entries,
        max_ratio: req.max_ratio,
        timeout: Duration::from_millis(req.millis_left),
        deadline: Some(Instant::now() + Duration::from_millis(req.millis_left)),
        worker: None,
        ..Limits::default()
    };
    let mut budget = Budget::new(limits);
    budget.bytes = req.bytes;
    budget.entries = req.entries;
    let mut jail = Jail::attach(&req.root, budget);
    jail.set_scope(req.scope);
    let src = match Source::open(&req.file) {
        Ok(s) => s.from(req.offset),
        Err(e) => {
            return Some(Response {
                outcome: Outcome::Failed(format!("{}: {e}", req.file.display())),
                used: None,
                nodes: Vec::new(),
                problems: Vec::new(),
                bytes: req.bytes,
                entries: req.entries,
            })
        }
    };
    let probe = Probe {
        len: req.probe_len,
        info: req.probe_info,
        undecided: req.probe_undecided,
    };
    let mut out = Output::new(&mut jail, req.base, req.origin, handler.id());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handler.extract(&src, &probe, &mut out)
    }));
    let outcome = match result {
        Ok(Ok(n)) => Outcome::Consumed(n),
        Ok(Err(UnpackError::Limit(m))) => Outcome::Limit(m),
        Ok(Err(UnpackError::Malformed { message, .. })) => Outcome::Failed(message),
        Ok(Err(e)) => Outcome::Failed(crate::error_chain(&e)),
        Err(_) => Outcome::Panicked,
    };
    let (nodes, problems, used) = (out.nodes, out.problems, out.used);
    Some(Response {
        outcome,
        used,
        nodes,
        problems,
        bytes: jail.budget.bytes,
        entries: jail.budget.entries,
    })
}
