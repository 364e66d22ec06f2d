//! `kind = "config"`: one setting of a `key value` / `key=value` configuration file, judged
//! the way the daemon reads it: keys case-insensitive where the daemon's are, the first or the
//! last occurrence in effect, a documented default when the key is absent, and conditional
//! blocks (sshd's `Match`) judged on their own.

use serde::Deserialize;

use crate::finding::{Hit, Matches};

/// The `config` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// Globs of configuration files.
    pub paths: Vec<String>,
    /// The setting, e.g. `PermitRootLogin`.
    pub key: String,
    /// Values that are a finding (compared case-insensitively, quotes removed).
    pub values: Vec<String>,
    /// The value in effect when the key is absent, if the daemon documents one.
    #[serde(default)]
    pub default: Option<String>,
    /// Which occurrence is in effect: `first` (sshd) or `last` (most others).
    #[serde(default)]
    pub effective: Effective,
    /// Compare keys case-insensitively (sshd, vsftpd: yes).
    #[serde(default = "yes")]
    pub ignore_case: bool,
    /// A keyword that opens a conditional block lasting to the next one or the end (sshd's
    /// `Match`). Settings inside are reported on their own, as conditional.
    #[serde(default)]
    pub block: Option<String>,
    /// What the finding says; `$value` inserts the value in effect.
    pub label: String,
}

fn yes() -> bool {
    true
}

/// Which occurrence of a repeated key the daemon uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effective {
    /// The first one (sshd: "the first obtained value will be used").
    First,
    /// The last one.
    #[default]
    Last,
}

/// A compiled [`ConfigSpec`].
#[derive(Debug)]
pub struct Config {
    spec: ConfigSpec,
}

impl ConfigSpec {
    pub(crate) fn compile(&self) -> Result<Config, String> {
        if self.key.is_empty() || self.values.is_empty() {
            return Err("matcher.key and matcher.values must not be empty".into());
        }
        Ok(Config { spec: self.clone() })
    }
}

/// Splits `line` into key and value: `key value`, `key=value`, `key = "value"`.
fn setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || c == '=')?;
    let (key, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    // A trailing comment after the value.
    let value = match rest.find(" #") {
        Some(i) => rest[..i].trim_end(),
        None => rest,
    };
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    Some((key, value))
}

impl Config {
    fn key_is(&self, k: &str, want: &str) -> bool {
        if self.spec.ignore_case {
            k.eq_ignore_ascii_case(want)
        } else {
            k == want
        }
    }

    fn bad(&self, value: &str) -> bool {
        let first = value.split_whitespace().next().unwrap_or("");
        self.spec
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case(first))
    }

    fn hit(&self, line: Option<u32>, value: &str, cond: Option<&str>) -> Hit {
        let mut message = self.spec.label.replace("$value", value);
        if let Some(c) = cond {
            message.push_str(&format!(" (inside `{c}`)"));
        }
        Hit {
            line,
            message,
            evidence: Some(format!("{} {value}", self.spec.key)),
            digest_of: format!("{}={value}", self.spec.key.to_ascii_lowercase()).into_bytes(),
        }
    }

    pub(crate) fn check(&self, content: &[u8], found: &mut Matches) {
        let text = String::from_utf8_lossy(content);
        // The global setting in effect, and each conditional block's own.
        let mut global: Option<(u32, String)> = None;
        let mut block: Option<String> = None;
        let mut in_block: Option<(u32, String)> = None;
        let flush =
            |block: &Option<String>, in_block: &mut Option<(u32, String)>, found: &mut Matches| {
                if let (Some(b), Some((line, value))) = (block, in_block.take()) {
                    if self.bad(&value) {
                        found.hits.push(self.hit(Some(line), &value, Some(b)));
                    }
                }
            };
        for (i, line) in text.lines().enumerate() {
            let Some((key, value)) = setting(line) else {
                continue;
            };
            let no = i as u32 + 1;
            if let Some(kw) = &self.spec.block {
                if self.key_is(key, kw) {
                    flush(&block, &mut in_block, found);
                    block = Some(format!("{key} {value}"));
                    continue;
                }
            }
            if !self.key_is(key, &self.spec.key) {
                continue;
            }
            let slot = if block.is_some() {
                &mut in_block
            } else {
                &mut global
            };
            if slot.is_none() || self.spec.effective == Effective::Last {
                *slot = Some((no, value.to_string()));
            }
        }
        flush(&block, &mut in_block, found);
        match global {
            Some((line, value)) if self.bad(&value) => {
                found.hits.insert(0, self.hit(Some(line), &value, None))
            }
            None => {
                if let Some(d) = self.spec.default.as_deref().filter(|d| self.bad(d)) {
                    let mut h = self.hit(None, d, None);
                    h.message.push_str(" (the default: the setting is absent)");
                    found.hits.insert(0, h);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sshd(key: &str, values: &[&str], default: Option<&str>) -> Config {
        ConfigSpec {
            paths: vec![],
            key: key.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
            default: default.map(str::to_string),
            effective: Effective::First,
            ignore_case: true,
            block: Some("Match".into()),
            label: "x $value".into(),
        }
        .compile()
        .unwrap()
    }

    fn lines(c: &Config, text: &str) -> Vec<Option<u32>> {
        let mut m = Matches::default();
        c.check(text.as_bytes(), &mut m);
        m.hits.iter().map(|h| h.line).collect()
    }

    #[test]
    fn first_value_wins_and_match_blocks_are_their_own() {
        let c = sshd("PermitRootLogin", &["yes"], Some("prohibit-password"));
        assert_eq!(
            lines(&c, "permitrootlogin yes\nPermitRootLogin no\n"),
            [Some(1)]
        );
        assert!(lines(&c, "PermitRootLogin no\nPermitRootLogin yes\n").is_empty());
        assert!(lines(&c, "#PermitRootLogin yes\n").is_empty());
        assert_eq!(
            lines(
                &c,
                "PermitRootLogin no\nMatch User admin\n  PermitRootLogin=yes\n"
            ),
            [Some(3)]
        );
    }

    #[test]
    fn an_absent_key_takes_the_default() {
        let c = sshd("PasswordAuthentication", &["yes"], Some("yes"));
        assert_eq!(lines(&c, "Port 22\n"), [None]);
        assert!(lines(&c, "PasswordAuthentication no\n").is_empty());
    }
}
