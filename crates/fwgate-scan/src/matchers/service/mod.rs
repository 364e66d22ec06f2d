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

use regex::Regex;
use serde::Deserialize;

use crate::finding::{Hit, Matches};

mod boot;
mod launch;

use boot::basename;
pub(crate) use boot::{read_boot, Boot, Started};

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
        "etc/init[0-9].d/*",
        "etc/templates/*.sh",
        "usr/local/etc/rc.d/*",
        "etc/rc.d/init.d/*",
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
            let shown = std::iter::once(s.program.clone())
                .chain(redacted(&s.args))
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

/// The arguments as evidence, with credentials masked: the value of any `…pass…=`,
/// `…secret…=`, `…token…=` or `…key…=` option, and the word after `-P`, `--password`,
/// `--passwd`, and the password of a `user:password` after `--user`.
fn redacted(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    let mut user_next = false;
    for a in args {
        if std::mem::take(&mut mask_next) {
            out.push("<redacted>".into());
            continue;
        }
        if std::mem::take(&mut user_next) {
            out.push(match a.split_once(':') {
                Some((user, _)) => format!("{user}:<redacted>"),
                None => a.clone(),
            });
            continue;
        }
        if let Some((k, _)) = a.split_once('=') {
            let lower = k.to_ascii_lowercase();
            if ["pass", "pwd", "secret", "token", "key"]
                .iter()
                .any(|w| lower.contains(w))
            {
                out.push(format!("{k}=<redacted>"));
                continue;
            }
        }
        mask_next = matches!(a.as_str(), "-P" | "--password" | "--passwd");
        user_next = a == "--user";
        out.push(a.clone());
    }
    out
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

    #[test]
    fn evidence_never_shows_a_password() {
        let args: Vec<String> = [
            "-p",
            "23",
            "--password=s3cret",
            "-P",
            "hunter2",
            "--user",
            "admin:pw",
            "--user",
            "tftp",
            "-l",
            "/bin/sh",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let shown = redacted(&args).join(" ");
        assert_eq!(
            shown,
            "-p 23 --password=<redacted> -P <redacted> --user admin:<redacted> --user tftp -l /bin/sh"
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
