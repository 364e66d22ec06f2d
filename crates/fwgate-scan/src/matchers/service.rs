//! `kind = "service"`: programs the boot configuration starts, read the way init reads it.
//!
//! Each boot file is read in its own syntax — BusyBox/SysV `inittab`, `inetd.conf`, xinetd
//! services, systemd units, and boot scripts through the POSIX-shell reader
//! ([`crate::shell`]) — and turned into the commands that run at boot: for an init script,
//! those its `start` path reaches (the `case "$1"` branch, the functions it calls, OpenWrt's
//! `start`/`start_service`/`boot`). Launchers are looked through (`exec`, `nohup`, `env`,
//! `busybox APPLET`, `start-stop-daemon -S -x`, `procd_set_param command`, `sh -c`), so the
//! program is judged, not the word that happens to come first. One finding per program per
//! file, at the line that starts it.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use crate::finding::{Hit, Matches};
use crate::shell;

/// The `service` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Globs of boot configuration files.
    #[serde(default = "boot_paths")]
    pub paths: Vec<String>,
    /// What to look for.
    #[serde(default)]
    pub check: ServiceCheck,
    /// Program names (basenames) that are a finding when started: `telnetd`, `utelnetd`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Only a finding when the arguments (joined by spaces) match this regex.
    #[serde(default)]
    pub args: Option<String>,
    /// Only a finding when the arguments do NOT match this regex (a hardening flag missing).
    #[serde(default)]
    pub args_absent: Option<String>,
    /// What the finding says; `$program` inserts the program's name.
    pub label: String,
}

/// What a `service` rule reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceCheck {
    /// One of `programs` is started at boot.
    #[default]
    Start,
    /// A console (serial or virtual) gives a shell without a login.
    ConsoleShell,
}

/// Where boot configuration lives, across init systems and vendor layouts.
pub fn boot_paths() -> Vec<String> {
    [
        "etc/inittab",
        "etc_ro/inittab",
        "etc/init.d/*",
        "etc/rc.d/**",
        "etc/rc[0-6S].d/*",
        "etc/rcS",
        "etc/rc",
        "etc/rc.local",
        "etc/rc.sysinit",
        "etc/rc.common",
        "etc/preinit",
        "lib/preinit/*",
        "etc/boot.d/*",
        "etc_ro/rcS",
        "etc_ro/init.d/*",
        "etc_ro/rc.d/**",
        "usr/etc/rcS",
        "usr/etc/init.d/*",
        "etc/scripts/*.sh",
        "etc/inetd.conf",
        "etc/xinetd.conf",
        "etc/xinetd.d/*",
        "etc/systemd/system/**",
        "etc/init/*.conf",
    ]
    .iter()
    .map(|p| format!("**/{p}"))
    .collect()
}

/// A compiled [`ServiceSpec`].
#[derive(Debug)]
pub struct Service {
    spec: ServiceSpec,
    args: Option<Regex>,
    args_absent: Option<Regex>,
}

impl ServiceSpec {
    pub(crate) fn compile(&self) -> Result<Service, String> {
        if self.check == ServiceCheck::Start && self.programs.is_empty() {
            return Err("matcher.programs must name at least one program".into());
        }
        let re = |field: &str, r: &Option<String>| {
            r.as_deref()
                .map(|r| Regex::new(r).map_err(|e| format!("matcher.{field}: {e}")))
                .transpose()
        };
        Ok(Service {
            args: re("args", &self.args)?,
            args_absent: re("args_absent", &self.args_absent)?,
            spec: self.clone(),
        })
    }
}

/// A program started at boot: its name, arguments and the line that starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    /// Basename of the program.
    pub program: String,
    /// The arguments after the program.
    pub args: Vec<String>,
    /// 1-based line.
    pub line: u32,
    /// For inittab entries: the terminal (`ttyS0`, empty for the console) and the action.
    pub console: Option<(String, String)>,
}

/// What a boot file starts, and what could not be read.
#[derive(Debug, Default)]
pub(crate) struct Boot {
    pub started: Vec<Started>,
    pub notes: Vec<String>,
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn file_name(path: &str) -> &str {
    basename(path)
}

/// How a boot file is read, from where it is.
fn syntax(path: &str) -> Syntax {
    let name = file_name(path);
    if name == "inittab" {
        Syntax::Inittab
    } else if name == "inetd.conf" {
        Syntax::Inetd
    } else if path.contains("xinetd") {
        Syntax::Xinetd
    } else if path.contains("/systemd/") || path.starts_with("etc/systemd/") {
        Syntax::Systemd
    } else if path.contains("etc/init/") && name.ends_with(".conf") {
        Syntax::Upstart
    } else if path.contains("init.d/")
        || path.contains("rc.d/")
        || path
            .split('/')
            .any(|c| c.len() == 4 && c.starts_with("rc") && c.ends_with(".d"))
        || path.contains("boot.d/")
    {
        Syntax::InitScript
    } else {
        Syntax::Script
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Inittab,
    Inetd,
    Xinetd,
    Systemd,
    Upstart,
    /// Run with `start` by rcS or an rc.d runner.
    InitScript,
    /// Run as it is (rcS, rc.local, preinit).
    Script,
}

/// Reads the boot file at `path` (device path, no leading `/`).
pub(crate) fn read_boot(path: &str, content: &[u8]) -> Boot {
    let mut boot = Boot::default();
    match syntax(path) {
        Syntax::Inittab => inittab(content, &mut boot),
        Syntax::Inetd => inetd(content, &mut boot),
        Syntax::Xinetd => xinetd(content, &mut boot),
        Syntax::Systemd => systemd(content, &mut boot),
        Syntax::Upstart => upstart(content, &mut boot),
        Syntax::InitScript => script(content, &["start"], &mut boot),
        Syntax::Script => script(content, &[], &mut boot),
    }
    boot
}

/// The commands in a command line (inittab's process field, ExecStart=, xinetd's server),
/// each started: all that the line's shell reading reaches.
fn command_line(text: &str, line: u32, console: Option<(String, String)>, boot: &mut Boot) {
    let parsed = shell::parse(text.as_bytes());
    for note in &parsed.notes {
        boot.notes.push(format!("line {line}: {}", note.message));
    }
    let entry = shell::Entry {
        args: Vec::new(),
        implicit: Vec::new(),
    };
    for cmd in shell::reachable(&parsed, &entry) {
        let argv: Vec<String> = cmd.words.iter().map(|w| w.text.clone()).collect();
        for mut s in unwrap(&argv, &BTreeMap::new()) {
            s.line = line;
            s.console = console.clone();
            boot.started.push(s);
        }
    }
}

fn inittab(content: &[u8], boot: &mut Boot) {
    let text = String::from_utf8_lossy(content);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // id:runlevels:action:process; the process may itself hold colons.
        let mut f = line.splitn(4, ':');
        let (Some(id), Some(_levels), Some(action), Some(process)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let action = action.trim();
        if !matches!(
            action,
            "sysinit" | "wait" | "once" | "respawn" | "askfirst" | "boot" | "bootwait"
        ) {
            continue;
        }
        // BusyBox: a leading `-` makes the shell a login shell; it still asks nothing.
        let process = process.trim().trim_start_matches('-');
        command_line(
            process,
            i as u32 + 1,
            Some((id.trim().to_string(), action.to_string())),
            boot,
        );
    }
}

fn inetd(content: &[u8], boot: &mut Boot) {
    let text = String::from_utf8_lossy(content);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // service socktype proto wait[.max] user[.group] server args...
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(server) = f.get(5) else { continue };
        if *server == "internal" {
            continue;
        }
        let mut argv = vec![server.to_string()];
        argv.extend(f.iter().skip(7).map(|s| s.to_string()));
        for mut s in unwrap(&argv, &BTreeMap::new()) {
            s.line = i as u32 + 1;
            boot.started.push(s);
        }
    }
}

fn xinetd(content: &[u8], boot: &mut Boot) {
    let text = String::from_utf8_lossy(content);
    let mut server: Option<(u32, String)> = None;
    let mut args = String::new();
    let mut disabled = false;
    let mut flush = |server: &mut Option<(u32, String)>, args: &mut String, disabled: &mut bool| {
        if let Some((line, prog)) = server.take() {
            if !*disabled {
                let mut argv = vec![prog];
                argv.extend(args.split_whitespace().map(str::to_string));
                for mut s in unwrap(&argv, &BTreeMap::new()) {
                    s.line = line;
                    boot.started.push(s);
                }
            }
        }
        args.clear();
        *disabled = false;
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with("service") || line == "}" {
            flush(&mut server, &mut args, &mut disabled);
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().trim_end_matches(['+', '-']), v.trim());
        match k {
            "server" => server = Some((i as u32 + 1, v.to_string())),
            "server_args" => args = v.to_string(),
            "disable" => disabled = v.eq_ignore_ascii_case("yes"),
            _ => {}
        }
    }
    flush(&mut server, &mut args, &mut disabled);
}

fn systemd(content: &[u8], boot: &mut Boot) {
    let text = String::from_utf8_lossy(content);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !matches!(k.trim(), "ExecStart" | "ExecStartPre" | "ExecStartPost") {
            continue;
        }
        // Prefixes: `-` ignore failure, `@` argv0, `:` `+` `!` `!!` privilege handling.
        let cmd = v.trim().trim_start_matches(['-', '@', ':', '+', '!']);
        command_line(cmd, i as u32 + 1, None, boot);
    }
}

fn upstart(content: &[u8], boot: &mut Boot) {
    let text = String::from_utf8_lossy(content);
    let mut in_script = None::<(u32, String)>;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some((start, body)) = in_script.as_mut() {
            if line == "end script" {
                let (start, body) = (*start, std::mem::take(body));
                in_script = None;
                let mut sub = Boot::default();
                script(body.as_bytes(), &[], &mut sub);
                for mut s in sub.started {
                    s.line += start;
                    boot.started.push(s);
                }
                boot.notes.extend(sub.notes);
            } else {
                body.push_str(raw);
                body.push('\n');
            }
            continue;
        }
        if let Some(cmd) = line.strip_prefix("exec ") {
            command_line(cmd, i as u32 + 1, None, boot);
        } else if line == "script" {
            in_script = Some((i as u32 + 1, String::new()));
        }
    }
}

/// Literal top-level assignments (`DAEMON=/usr/sbin/telnetd`), for command names written as
/// `$DAEMON`.
fn assignments(parsed: &shell::Script) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for cmd in &parsed.commands {
        if !cmd.words.is_empty() {
            continue;
        }
        for a in &cmd.assignments {
            if let Some((k, v)) = a.text.split_once('=') {
                if a.literal {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
    vars
}

fn script(content: &[u8], args: &[&str], boot: &mut Boot) {
    let parsed = shell::parse(content);
    for note in &parsed.notes {
        boot.notes.push(note.to_string());
    }
    let openwrt = parsed
        .shebang
        .as_deref()
        .is_some_and(|s| s.contains("rc.common"));
    let entry = shell::Entry {
        args: args.iter().map(|s| s.to_string()).collect(),
        implicit: if openwrt {
            ["boot", "start", "start_service"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            Vec::new()
        },
    };
    let vars = assignments(&parsed);
    for cmd in shell::reachable(&parsed, &entry) {
        let argv: Vec<String> = cmd.words.iter().map(|w| w.text.clone()).collect();
        for mut s in unwrap(&argv, &vars) {
            s.line = cmd.line;
            boot.started.push(s);
        }
    }
}

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
fn unwrap(argv: &[String], vars: &BTreeMap<String, String>) -> Vec<Started> {
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

/// Shells a console may give without a login.
const SHELLS: [&str; 6] = ["sh", "ash", "bash", "hush", "msh", "dash"];

/// True when `s` (an inittab entry's program) hands a console a shell without asking for a
/// password: a shell itself, `getty -n -l SHELL` (no login prompt, shell as login program),
/// agetty's `--autologin`/`-a`, or `login -f`.
fn console_shell(s: &Started) -> bool {
    let has = |flag: &str| s.args.iter().any(|a| a == flag);
    let shell_arg = |opt: &str| {
        s.args
            .windows(2)
            .any(|w| w[0] == opt && SHELLS.contains(&basename(&w[1])))
    };
    match s.program.as_str() {
        // An interactive shell: no script operand (`/bin/sh /etc/init.d/rcS` runs a script).
        p if SHELLS.contains(&p) => s.args.iter().all(|a| a.starts_with('-')),
        "getty" | "agetty" | "mingetty" | "mgetty" => {
            (has("-n") && shell_arg("-l"))
                || has("--autologin")
                || has("-a")
                || s.args.iter().any(|a| a.starts_with("--autologin="))
        }
        "login" => has("-f"),
        _ => false,
    }
}

impl Service {
    fn joined(args: &[String]) -> String {
        args.join(" ")
    }

    pub(crate) fn check(&self, path: &str, boot: &Boot, found: &mut Matches) {
        let mut seen: Vec<String> = Vec::new();
        for s in &boot.started {
            let hit = match self.spec.check {
                ServiceCheck::Start => {
                    let args = Self::joined(&s.args);
                    self.spec.programs.contains(&s.program)
                        && self.args.as_ref().is_none_or(|r| r.is_match(&args))
                        && self.args_absent.as_ref().is_none_or(|r| !r.is_match(&args))
                }
                ServiceCheck::ConsoleShell => s.console.is_some() && console_shell(s),
            };
            if !hit || seen.contains(&s.program) {
                continue;
            }
            seen.push(s.program.clone());
            let mut message = self.spec.label.replace("$program", &s.program);
            if let Some((tty, action)) = &s.console {
                let tty = if tty.is_empty() {
                    "the console"
                } else {
                    tty.as_str()
                };
                message.push_str(&format!(" ({tty}, {action})"));
            }
            let shown = std::iter::once(s.program.as_str())
                .chain(s.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            found.hits.push(Hit {
                line: Some(s.line),
                message,
                evidence: Some(shorten(&shown)),
                digest_of: format!("{path}\0{}", s.program).into_bytes(),
            });
        }
        for note in &boot.notes {
            found
                .skipped
                .push(format!("boot file not fully read: {note}"));
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 160 {
        s.to_string()
    } else {
        s.chars().take(157).collect::<String>() + "..."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(path: &str, text: &str) -> Vec<(String, u32)> {
        read_boot(path, text.as_bytes())
            .started
            .into_iter()
            .map(|s| (s.program, s.line))
            .collect()
    }

    fn has(path: &str, text: &str, program: &str) -> Option<u32> {
        programs(path, text)
            .into_iter()
            .find(|(p, _)| p == program)
            .map(|(_, l)| l)
    }

    #[test]
    fn init_scripts_are_read_as_the_shell_reads_them() {
        let rc = "#!/bin/sh\n[ $# -ge 0 ] && telnetd -l /bin/sh\n";
        assert_eq!(has("etc/init.d/rcS", rc, "telnetd"), Some(2));
        let cont = "#!/bin/sh\n# \0 binary junk\ntel\\\nnetd -p 23 &\n";
        assert_eq!(has("etc/init.d/rcS", cont, "telnetd"), Some(3));
        let case =
            "case \"$1\" in\n  start) /usr/sbin/telnetd ;;\n  stop) killall telnetd ;;\nesac\n";
        assert_eq!(has("etc/init.d/S50telnet", case, "telnetd"), Some(2));
        let stop_only = "case \"$1\" in\n  stop) killall telnetd ;;\nesac\n";
        assert_eq!(has("etc/init.d/S50telnet", stop_only, "telnetd"), None);
        let svd = "tcpsvd -vE 0.0.0.0 21 ftpd -w /srv\n";
        assert_eq!(has("etc/init.d/S70ftp", svd, "ftpd"), Some(1));
        let ssd = "start-stop-daemon -S -q -x /usr/sbin/telnetd -- -l /bin/sh\nstart-stop-daemon -K -x /usr/sbin/ftpd\n";
        assert_eq!(has("etc/init.d/S50x", ssd, "telnetd"), Some(1));
        assert_eq!(has("etc/init.d/S50x", ssd, "ftpd"), None);
        let var = "DAEMON=/usr/sbin/utelnetd\n$DAEMON -p 23 &\n";
        assert_eq!(has("etc/rc.local", var, "utelnetd"), Some(2));
        let openwrt = "#!/bin/sh /etc/rc.common\nSTART=50\nstart_service() {\n  procd_open_instance\n  procd_set_param command /usr/sbin/telnetd -F -l /bin/login.sh\n}\n";
        assert_eq!(has("etc/init.d/telnet", openwrt, "telnetd"), Some(5));
        let shc = "sh -c 'busybox telnetd -l /bin/sh'\n";
        assert_eq!(has("etc/rcS", shc, "telnetd"), Some(1));
    }

    #[test]
    fn inittab_inetd_xinetd_systemd() {
        let tab = "::sysinit:/etc/init.d/rcS\nttyS0::respawn:-/bin/sh\n::shutdown:/usr/sbin/telnetd\n# ::respawn:/usr/sbin/telnetd\n";
        assert_eq!(has("etc/inittab", tab, "sh"), Some(2));
        assert_eq!(has("etc/inittab", tab, "telnetd"), None);
        let inetd = "#telnet stream tcp nowait root /usr/sbin/telnetd telnetd\nftp stream tcp nowait root /usr/sbin/ftpd ftpd -w\necho stream tcp nowait root internal\n";
        assert_eq!(has("etc/inetd.conf", inetd, "ftpd"), Some(2));
        assert_eq!(has("etc/inetd.conf", inetd, "telnetd"), None);
        let x = "service telnet\n{\n  disable = no\n  server = /usr/sbin/in.telnetd\n}\nservice tftp\n{\n  server = /usr/sbin/in.tftpd\n  disable = yes\n}\n";
        assert_eq!(has("etc/xinetd.d/telnet", x, "in.telnetd"), Some(4));
        assert_eq!(has("etc/xinetd.d/telnet", x, "in.tftpd"), None);
        let unit =
            "[Service]\nExecStartPre=-/bin/mkdir -p /run/x\nExecStart=/usr/sbin/telnetd -F\n";
        assert_eq!(
            has(
                "etc/systemd/system/multi-user.target.wants/telnet.service",
                unit,
                "telnetd"
            ),
            Some(3)
        );
    }

    #[test]
    fn console_shells() {
        let spec = ServiceSpec {
            paths: vec![],
            check: ServiceCheck::ConsoleShell,
            programs: vec![],
            args: None,
            args_absent: None,
            label: "root shell".into(),
        }
        .compile()
        .unwrap();
        let run = |tab: &str| {
            let mut m = Matches::default();
            spec.check(
                "etc/inittab",
                &read_boot("etc/inittab", tab.as_bytes()),
                &mut m,
            );
            m.hits.iter().map(|h| h.line).collect::<Vec<_>>()
        };
        assert_eq!(run("::askfirst:-/bin/sh\n"), [Some(1)]);
        assert_eq!(
            run("ttyS0::respawn:/sbin/getty -L ttyS0 115200 -n -l /bin/sh\n"),
            [Some(1)]
        );
        assert_eq!(run("console::respawn:/bin/login -f root\n"), [Some(1)]);
        assert!(run("ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n::sysinit:/etc/init.d/rcS\n::sysinit:/bin/sh /etc/rc\n").is_empty());
    }
}
