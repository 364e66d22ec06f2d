//! `kind = "pattern"`: a regular expression over file contents, line by line in effect.

use regex::bytes::Regex;
use serde::Deserialize;

use crate::finding::{Hit, Matches};

/// The `pattern` matcher as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Globs of paths to look at, relative to a file system root (`etc/init.d/*`, `**`).
    pub paths: Vec<String>,
    /// Regular expression (Rust `regex` syntax), matched on bytes.
    pub regex: String,
    /// Ignore matches inside shell-style comments: after a `#` that starts a word outside
    /// quotes (`[ $# -gt 0 ]` is no comment).
    #[serde(default)]
    pub skip_comments: bool,
    /// Also look inside binary files (executables and archives, recognised by their magic;
    /// a stray NUL byte does not make a text file binary).
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

/// How far around a match to look for the line it is on (comments, excerpt). Lines of
/// configuration are short; binary files may have no newline at all.
const CONTEXT: usize = 4096;

impl Pattern {
    pub(crate) fn check(&self, content: &[u8], found: &mut Matches) {
        if !self.spec.binary && super::text::is_binary_format(content) {
            return;
        }
        let mut count = 0usize;
        let mut last_line = 0usize;
        // Line tracking advances with the matches: linear in the file, however many match.
        let (mut line_no, mut line_start, mut pos) = (1usize, 0usize, 0usize);
        for caps in self.re.captures_iter(content) {
            let Some(m) = caps.get(0) else { continue };
            let seg = &content[pos..m.start()];
            line_no += memchr::memchr_iter(b'\n', seg).count();
            if let Some(p) = memchr::memrchr(b'\n', seg) {
                line_start = pos + p + 1;
            }
            pos = m.start();
            let from = line_start.max(m.start().saturating_sub(CONTEXT));
            if self.spec.skip_comments
                && super::text::comment_start(&content[from..m.start()]).is_some()
            {
                continue;
            }
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
            let evidence = (!self.spec.redact).then(|| {
                let tail = &content[m.end()..content.len().min(m.end() + CONTEXT)];
                let to = memchr::memchr(b'\n', tail).map_or(m.end() + tail.len(), |p| m.end() + p);
                shorten(String::from_utf8_lossy(&content[from..to]).trim())
            });
            found.hits.push(Hit {
                line: Some(line_no as u32),
                message: label,
                evidence,
                digest_of: content[m.start()..m.end()].to_vec(),
            });
        }
        if count > self.spec.max_per_file {
            if let Some(last) = found.hits.last_mut() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(regex: &str) -> Pattern {
        PatternSpec {
            paths: vec!["**".into()],
            regex: regex.into(),
            skip_comments: true,
            binary: true,
            redact: false,
            label: "x".into(),
            max_per_file: 3,
        }
        .compile()
        .unwrap()
    }

    #[test]
    fn lines_comments_and_limits() {
        let p = pattern(r"\btelnetd\b");
        let mut found = Matches::default();
        p.check(
            b"a\n# telnetd\nb\n  telnetd -l /bin/sh\ntelnetd\ntelnetd\ntelnetd\n",
            &mut found,
        );
        let lines: Vec<_> = found.hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, [Some(4), Some(5), Some(6)]);
        assert_eq!(
            found.hits[0].evidence.as_deref(),
            Some("telnetd -l /bin/sh")
        );
        assert!(found.hits[2].message.ends_with("(and 1 more in this file)"));
    }

    #[test]
    fn many_matches_in_a_file_without_newlines_stay_linear() {
        // 400k matches in 4.4 MB without a newline: quadratic line tracking would take minutes.
        let data = b"PRIVATE KEY".repeat(400_000);
        let mut found = Matches::default();
        pattern("PRIVATE KEY").check(&data, &mut found);
        assert_eq!(found.hits.len(), 1, "one line, reported once");
        assert!(found.hits[0].evidence.as_ref().unwrap().len() <= 160);
    }
}
