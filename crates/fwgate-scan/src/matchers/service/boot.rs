//! Reading each kind of boot file into the programs it starts: inittab, inetd, xinetd,
//! systemd and upstart in their own syntax, scripts through the POSIX-shell reader.

use std::collections::BTreeMap;

use super::launch::unwrap;
use crate::shell;

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

pub(super) fn basename(p: &str) -> &str {
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
    } else if path.split('/').rev().skip(1).any(|dir| {
        // init.d, init0.d (D-Link), rc.d, rc3.d, rcS.d, boot.d
        dir.ends_with(".d")
            && (dir.starts_with("init") || dir.starts_with("rc") || dir.starts_with("boot"))
    }) {
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
    // A compiled program (or an archive) where boot scripts live runs at boot too, and what
    // it starts cannot be read from it.
    if crate::matchers::text::is_binary_format(content) {
        boot.notes.push(
            "an executable or archive where boot scripts live: what it starts cannot be read"
                .into(),
        );
        return boot;
    }
    match syntax(path) {
        Syntax::Inittab => inittab(content, &mut boot),
        Syntax::Inetd => inetd(content, &mut boot),
        Syntax::Xinetd => xinetd(content, &mut boot),
        Syntax::Systemd => systemd(content, &mut boot),
        Syntax::Upstart => upstart(content, &mut boot),
        // An rc runner passes `start`; inittab and some rcS loops pass nothing. Both paths
        // count (never `stop`).
        Syntax::InitScript => {
            script(content, &["start"], &mut boot);
            let mut plain = Boot::default();
            script(content, &[], &mut plain);
            for s in plain.started {
                if !boot.started.contains(&s) {
                    boot.started.push(s);
                }
            }
        }
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
        let no_args = "case \"$1\" in\n  start) ;;\n  \"\") /usr/sbin/utelnetd ;;\nesac\n";
        assert_eq!(has("etc/init.d/rcS", no_args, "utelnetd"), Some(3));
        assert_eq!(
            has("etc/init0.d/S80telnetd.sh", "telnetd &\n", "telnetd"),
            Some(1)
        );
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
}
