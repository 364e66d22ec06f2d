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
    /// Also look inside ELF files (recognised by their header; a stray NUL byte or a
    /// compressor's magic in front of the text does not make a text file binary).
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
    /// The capture group holding the secret (name or number), which `min_entropy`,
    /// `allow_values` and `decode` judge; default: the first group that took part in the
    /// match, or the whole match when there is none.
    #[serde(default)]
    pub secret: Option<String>,
    /// Least Shannon entropy, in bits per character, for the secret to count (random tokens
    /// have 4 or more; words and placeholders less).
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Regular expressions for secrets that are examples or placeholders, not secrets
    /// (`EXAMPLE`, `xxxx`, `${VAR}`, `%s`).
    #[serde(default)]
    pub allow_values: Vec<String>,
    /// Decode the secret before judging it: `base64-user-password` (HTTP basic auth: must
    /// decode to printable `user:password` with a non-empty password).
    #[serde(default)]
    pub decode: Option<Decode>,
}

/// How a secret is decoded before it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decode {
    /// Base64 of `user:password`.
    Base64UserPassword,
}

/// Shannon entropy of `s` in bits per byte.
pub(crate) fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn decodes_to_user_password(s: &[u8]) -> bool {
    use base64::Engine as _;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(s) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&raw) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, pass)) => {
            !user.is_empty() && !pass.is_empty() && text.chars().all(|c| !c.is_control())
        }
        None => false,
    }
}

fn default_max() -> usize {
    10
}

/// A compiled [`PatternSpec`].
#[derive(Debug)]
pub struct Pattern {
    spec: PatternSpec,
    re: Regex,
    allow: Vec<Regex>,
}

impl PatternSpec {
    pub(crate) fn compile(&self) -> Result<Pattern, String> {
        let re = Regex::new(&self.regex).map_err(|e| format!("matcher.regex: {e}"))?;
        if self.max_per_file == 0 {
            return Err("matcher.max_per_file must be at least 1".into());
        }
        if let Some(g) = &self.secret {
            let known = g.parse::<usize>().map_or_else(
                |_| re.capture_names().any(|n| n == Some(g.as_str())),
                |i| i < re.captures_len(),
            );
            if !known {
                return Err(format!("matcher.secret: the regex has no group {g:?}"));
            }
        }
        let allow = self
            .allow_values
            .iter()
            .map(|a| Regex::new(a).map_err(|e| format!("matcher.allow_values: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Pattern {
            spec: self.clone(),
            re,
            allow,
        })
    }
}

/// How far around a match to look for the line it is on (comments, excerpt). Lines of
/// configuration are short; binary files may have no newline at all.
const CONTEXT: usize = 4096;

impl Pattern {
    pub(crate) fn check(&self, content: &[u8], found: &mut Matches) {
        if !self.spec.binary && super::text::is_elf(content) {
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
            if !self.secret_counts(&caps) {
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

impl Pattern {
    /// True when the secret the rule names passes its entropy, allowlist and decoding tests.
    fn secret_counts(&self, caps: &regex::bytes::Captures<'_>) -> bool {
        let m = match &self.spec.secret {
            // The first group that took part in the match, or the whole match.
            None => caps.iter().skip(1).flatten().next().or_else(|| caps.get(0)),
            Some(g) => match g.parse::<usize>() {
                Ok(i) => caps.get(i),
                Err(_) => caps.name(g),
            },
        };
        let Some(m) = m else { return false };
        let secret = m.as_bytes();
        if self.allow.iter().any(|a| a.is_match(secret)) {
            return false;
        }
        if let Some(min) = self.spec.min_entropy {
            if entropy(secret) < min {
                return false;
            }
        }
        match self.spec.decode {
            Some(Decode::Base64UserPassword) => decodes_to_user_password(secret),
            None => true,
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
            secret: None,
            min_entropy: None,
            allow_values: vec![],
            decode: None,
        }
        .compile()
        .unwrap()
    }

    #[test]
    fn entropy_and_basic_auth() {
        assert!(entropy(b"aaaaaaaa") < 0.1);
        assert!(entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCY") > 4.0);
        assert!(decodes_to_user_password(b"YWRtaW46czNjcjN0")); // admin:s3cr3t
        assert!(!decodes_to_user_password(b"YWRtaW46")); // admin:
        assert!(!decodes_to_user_password(b"not base64!"));
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
