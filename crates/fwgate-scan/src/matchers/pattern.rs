//! `kind = "pattern"`: a regular expression over file contents, line by line in effect.

use regex::bytes::Regex;
use serde::Deserialize;

use crate::finding::Hit;

/// The `pattern` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Globs of paths to look at, relative to a file system root (`etc/init.d/*`, `**`).
    pub paths: Vec<String>,
    /// Regular expression (Rust `regex` syntax), matched on bytes.
    pub regex: String,
    /// Ignore matches on lines whose first non-blank character is `#`, or after a `#`.
    #[serde(default)]
    pub skip_comments: bool,
    /// Also look inside binary files (those with a NUL byte in their first 8 KiB).
    #[serde(default)]
    pub binary: bool,
    /// Never print the matched text: the finding shows only what `label` says.
    #[serde(default)]
    pub redact: bool,
    /// What the finding calls the match, e.g. `RSA private key`; `$1` inserts group 1.
    pub label: String,
    /// At most this many findings per file (the rest are counted in the last one).
    #[serde(default = "default_max")]
    pub max_per_file: usize,
}

fn default_max() -> usize {
    10
}

/// A compiled [`PatternSpec`].
#[derive(Debug)]
pub struct Pattern {
    spec: PatternSpec,
    re: Regex,
}

impl PatternSpec {
    pub(crate) fn compile(&self) -> Result<Pattern, String> {
        let re = Regex::new(&self.regex).map_err(|e| format!("matcher.regex: {e}"))?;
        if self.max_per_file == 0 {
            return Err("matcher.max_per_file must be at least 1".into());
        }
        Ok(Pattern {
            spec: self.clone(),
            re,
        })
    }
}

fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(8192)].contains(&0)
}

impl Pattern {
    pub(crate) fn check(&self, content: &[u8], hits: &mut Vec<Hit>) {
        if !self.spec.binary && is_binary(content) {
            return;
        }
        let mut count = 0usize;
        let mut last_line = 0usize;
        for caps in self.re.captures_iter(content) {
            let Some(m) = caps.get(0) else { continue };
            let line_start = content[..m.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let line_end = content[m.end()..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(content.len(), |p| m.end() + p);
            let before = &content[line_start..m.start()];
            if self.spec.skip_comments && before.contains(&b'#') {
                continue;
            }
            let line_no = 1 + content[..m.start()].iter().filter(|&&b| b == b'\n').count();
            if line_no == last_line {
                continue;
            }
            last_line = line_no;
            count += 1;
            if count > self.spec.max_per_file {
                continue;
            }
            let mut label = self.spec.label.clone();
            if let Some(g) = caps.get(1) {
                label = label.replace("$1", &String::from_utf8_lossy(g.as_bytes()));
            }
            let evidence = if self.spec.redact {
                None
            } else {
                let text = String::from_utf8_lossy(&content[line_start..line_end]);
                Some(shorten(text.trim()))
            };
            hits.push(Hit {
                line: Some(line_no as u32),
                message: label,
                evidence,
                digest_of: content[m.start()..m.end()].to_vec(),
            });
        }
        if count > self.spec.max_per_file {
            if let Some(last) = hits.last_mut() {
                last.message.push_str(&format!(
                    " (and {} more in this file)",
                    count - self.spec.max_per_file
                ));
            }
        }
    }
}

/// Keeps evidence lines readable: at most 160 characters.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 160 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(157).collect();
        t.push_str("...");
        t
    }
}
