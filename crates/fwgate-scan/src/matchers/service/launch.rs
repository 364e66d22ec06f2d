//! Looking through launchers (`exec`, `env`, `busybox`, `start-stop-daemon`, `tcpsvd`,
//! `procd_set_param command`, `sh -c` …) to the program a command line really starts.

use std::collections::BTreeMap;

use super::boot::{basename, Started};
use crate::shell;

/// Expands `$NAME` / `${NAME}` when `vars` knows it.
fn expand(word: &str, vars: &BTreeMap<String, String>) -> String {
    let name = word
        .strip_prefix("${")
        .and_then(|w| w.strip_suffix('}'))
        .or_else(|| word.strip_prefix('$'));
    match name.and_then(|n| vars.get(n)) {
        Some(v) => v.clone(),
        None => word.to_string(),
    }
}

/// The programs a command line starts, looking through launchers. Depth-bounded.
pub(super) fn unwrap(argv: &[String], vars: &BTreeMap<String, String>) -> Vec<Started> {
    let mut out = Vec::new();
    unwrap_into(argv, vars, 0, &mut out);
    out
}

fn unwrap_into(
    argv: &[String],
    vars: &BTreeMap<String, String>,
    depth: usize,
    out: &mut Vec<Started>,
) {
    if depth > 8 {
        return;
    }
    let Some(first) = argv.first() else { return };
    let first = expand(first, vars);
    let name = basename(&first);
    let rest = &argv[1..];
    let skip_opts = |args: &[String], with_value: &[&str]| -> usize {
        let mut i = 0;
        while let Some(a) = args.get(i) {
            if with_value.contains(&a.as_str()) {
                i += 2;
            } else if a.starts_with('-') {
                i += 1;
            } else {
                break;
            }
        }
        i
    };
    match name {
        "exec" | "nohup" | "setsid" | "command" | "builtin" | "time" | "sudo" | "doas" => {
            let i = skip_opts(rest, &["-u", "-g"]);
            unwrap_into(rest.get(i..).unwrap_or_default(), vars, depth + 1, out);
        }
        "nice" | "ionice" | "chrt" | "taskset" | "stdbuf" => {
            let i = skip_opts(rest, &["-n", "-c", "-p"]);
            // taskset/chrt take a positional mask or priority first.
            let i = if matches!(name, "taskset" | "chrt")
                && rest
                    .get(i)
                    .is_some_and(|a| a.bytes().all(|b| b.is_ascii_hexdigit() || b == b'x'))
            {
                i + 1
            } else {
                i
            };
            unwrap_into(rest.get(i..).unwrap_or_default(), vars, depth + 1, out);
        }
        "timeout" => {
            let i = skip_opts(rest, &["-s", "-k"]) + 1;
            unwrap_into(rest.get(i..).unwrap_or_default(), vars, depth + 1, out);
        }
        "env" => {
            let mut i = skip_opts(rest, &["-u"]);
            while rest.get(i).is_some_and(|a| a.contains('=')) {
                i += 1;
            }
            unwrap_into(rest.get(i..).unwrap_or_default(), vars, depth + 1, out);
        }
        // BusyBox's super-servers: `tcpsvd [-opts] IP PORT PROG ARGS`.
        "tcpsvd" | "udpsvd" => {
            let i = skip_opts(rest, &["-c", "-C", "-b", "-u", "-l", "-t"]) + 2;
            unwrap_into(rest.get(i..).unwrap_or_default(), vars, depth + 1, out);
        }
        "chroot" => unwrap_into(rest.get(1..).unwrap_or_default(), vars, depth + 1, out),
        "busybox" if !rest.is_empty() => unwrap_into(rest, vars, depth + 1, out),
        "start-stop-daemon" | "ssd" => {
            // Only a start (-S/--start) starts; -x/--exec or -a/--startas names the program,
            // and arguments follow `--`.
            let start = rest.iter().any(|a| {
                a == "-S"
                    || a == "--start"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('S'))
            });
            if !start {
                return;
            }
            let mut prog = None;
            let mut i = 0;
            while let Some(a) = rest.get(i) {
                if a == "--" {
                    break;
                }
                if matches!(a.as_str(), "-x" | "--exec" | "-a" | "--startas") {
                    prog = rest.get(i + 1).cloned().or(prog);
                    i += 2;
                    continue;
                }
                if let Some(v) = a
                    .strip_prefix("--exec=")
                    .or_else(|| a.strip_prefix("--startas="))
                {
                    prog = Some(v.to_string());
                }
                i += 1;
            }
            let args: Vec<String> = match rest.iter().position(|a| a == "--") {
                Some(p) => rest[p + 1..].to_vec(),
                None => Vec::new(),
            };
            if let Some(p) = prog {
                let mut argv = vec![p];
                argv.extend(args);
                unwrap_into(&argv, vars, depth + 1, out);
            }
        }
        // OpenWrt procd: `procd_set_param command /usr/sbin/telnetd -F -l /bin/login.sh`.
        "procd_set_param" if rest.first().is_some_and(|a| a == "command") => {
            unwrap_into(&rest[1..], vars, depth + 1, out);
        }
        // OpenWrt's older service.sh.
        "service_start" => unwrap_into(rest, vars, depth + 1, out),
        "sh" | "ash" | "bash" | "dash" | "hush" if rest.first().is_some_and(|a| a == "-c") => {
            if let Some(cmd) = rest.get(1) {
                let parsed = shell::parse(cmd.as_bytes());
                let entry = shell::Entry {
                    args: Vec::new(),
                    implicit: Vec::new(),
                };
                for c in shell::reachable(&parsed, &entry) {
                    let argv: Vec<String> = c.words.iter().map(|w| w.text.clone()).collect();
                    unwrap_into(&argv, vars, depth + 1, out);
                }
            } else {
                out.push(started(name, rest));
            }
        }
        _ => out.push(started(name, rest)),
    }
}

fn started(name: &str, args: &[String]) -> Started {
    Started {
        program: name.to_string(),
        args: args.to_vec(),
        line: 0,
        console: None,
    }
}
