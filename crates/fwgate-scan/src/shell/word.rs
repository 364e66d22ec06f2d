//! Words: quote removal, parameter expansions kept as written, command substitutions parsed
//! as commands where they stand (`$(…)` recursively, backticks as a re-read string).

use super::grammar::{Node, Parser};
use super::{Frame, Word};

/// A word token with what the parser needs beyond [`Word`].
#[derive(Debug)]
pub(super) struct WordTok {
    pub(super) word: Word,
    /// `NAME=…` with an unquoted, valid name.
    pub(super) assign: bool,
    /// All digits, directly before `<` or `>`: the fd of a redirection.
    pub(super) io_number: bool,
    /// The word as a glob when it differs from the text (quoted `*?[]\` escaped with `\`).
    pub(super) glob: Option<String>,
}

/// Accumulates one word.
#[derive(Debug, Default)]
pub(super) struct Builder {
    text: Vec<u8>,
    glob: Option<Vec<u8>>,
    quoted: bool,
    expands: bool,
    glob_char: bool,
    open_bracket: bool,
    /// Some character so far was not an unquoted name character.
    not_name: bool,
    assign: bool,
    /// Parameter expansions and other characters since the start (or the assignment's `=`).
    params: u32,
    other: bool,
}

impl Builder {
    fn push(&mut self, c: u8) {
        self.text.push(c);
        if let Some(g) = &mut self.glob {
            g.push(c);
        }
    }

    /// An unquoted character.
    pub(super) fn lit(&mut self, c: u8) {
        if !self.assign && !self.not_name {
            if c == b'=' && !self.text.is_empty() {
                self.assign = true;
                self.push(c);
                (self.params, self.other) = (0, false);
                return;
            }
            let name = c == b'_' || c.is_ascii_alphabetic();
            if !(name || (c.is_ascii_digit() && !self.text.is_empty())) {
                self.not_name = true;
            }
        }
        match c {
            b'*' | b'?' => self.glob_char = true,
            b'[' => self.open_bracket = true,
            b']' if self.open_bracket => self.glob_char = true,
            _ => {}
        }
        self.other = true;
        self.push(c);
    }

    /// A quoted character (also marks the word quoted).
    pub(super) fn quoted(&mut self, c: u8) {
        self.mark_quoted();
        self.other = true;
        if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
            let g = self.glob.get_or_insert_with(|| self.text.clone());
            g.push(b'\\');
            g.push(c);
            self.text.push(c);
        } else {
            self.push(c);
        }
    }

    pub(super) fn mark_quoted(&mut self) {
        self.quoted = true;
        self.not_name = true;
    }

    /// An expansion, kept as written; `param`: a parameter expansion (not a substitution).
    pub(super) fn expansion(&mut self, raw: &[u8], param: bool) {
        self.expands = true;
        self.not_name = true;
        if param {
            self.params = self.params.saturating_add(1);
        } else {
            self.other = true;
        }
        for &c in raw {
            self.push(c);
        }
    }

    fn finish(self, io_number: bool) -> WordTok {
        let lossy = |v: Vec<u8>| match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        WordTok {
            word: Word {
                text: lossy(self.text),
                quoted: self.quoted,
                literal: !self.expands && !self.glob_char,
                sole_parameter: self.params == 1 && !self.other,
                expands: self.expands,
            },
            assign: self.assign,
            io_number,
            glob: self.glob.map(lossy),
        }
    }
}

impl Parser<'_, '_> {
    /// Reads a word starting at the read position (not a blank, operator or `#`).
    pub(super) fn read_word(&mut self) -> WordTok {
        let mut b = Builder::default();
        while let Some(c) = self.cur() {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => break,
                b'\r' if self.cr_blank() => break,
                b'\\' => {
                    self.bump();
                    match self.byte() {
                        Some(n) => {
                            self.bump();
                            b.quoted(n);
                        }
                        None => b.lit(b'\\'),
                    }
                }
                b'\'' => self.single_quote(&mut b),
                b'"' => self.double_quote(&mut b),
                b'$' => self.dollar(&mut b, false),
                b'`' => self.backtick(&mut b, false),
                _ => {
                    self.bump();
                    b.lit(c);
                }
            }
        }
        let io_number = !b.quoted
            && !b.expands
            && !b.text.is_empty()
            && b.text.iter().all(u8::is_ascii_digit)
            && matches!(self.cur(), Some(b'<' | b'>'));
        b.finish(io_number)
    }

    fn single_quote(&mut self, b: &mut Builder) {
        let line = self.line;
        self.bump();
        b.mark_quoted();
        let src = self.src;
        let rest = src.get(self.pos..).unwrap_or_default();
        let (len, closed) = match memchr::memchr(b'\'', rest) {
            Some(i) => (i, true),
            None => (rest.len(), false),
        };
        for &c in rest.get(..len).unwrap_or_default() {
            b.quoted(c);
            self.bump();
        }
        if closed {
            self.bump();
        } else {
            self.note(line, "unterminated single quote".into());
        }
    }

    fn double_quote(&mut self, b: &mut Builder) {
        let line = self.line;
        self.bump();
        b.mark_quoted();
        loop {
            let Some(c) = self.cur() else {
                self.note(line, "unterminated double quote".into());
                return;
            };
            match c {
                b'"' => {
                    self.bump();
                    return;
                }
                b'\\' => {
                    self.bump();
                    match self.byte() {
                        Some(n @ (b'$' | b'`' | b'"' | b'\\')) => {
                            self.bump();
                            b.quoted(n);
                        }
                        _ => b.quoted(b'\\'),
                    }
                }
                b'$' => self.dollar(b, true),
                b'`' => self.backtick(b, true),
                _ => {
                    self.bump();
                    b.quoted(c);
                }
            }
        }
    }

    /// `$…` at the read position; `in_dq`: inside double quotes.
    pub(super) fn dollar(&mut self, b: &mut Builder, in_dq: bool) {
        let start = self.pos;
        let line = self.line;
        self.bump();
        match self.cur() {
            Some(b'\'') if !in_dq => self.ansi_c_quote(b),
            // bash's `$"…"` is a translated "…"; read it as one (dash: a literal `$`).
            Some(b'"') if !in_dq => {}
            Some(b'(') => {
                self.bump();
                if self.cur() == Some(b'(') {
                    self.bump();
                    self.arithmetic(b, line);
                } else {
                    self.subst_paren(line);
                    let raw = self.src.get(start..self.pos).unwrap_or_default();
                    let text = self.budget_text(raw, b"$(\xe2\x80\xa6)");
                    b.expansion(&text, false);
                }
            }
            Some(b'{') => self.brace_param(b, in_dq, line),
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let mut raw = vec![b'$'];
                while let Some(c) = self
                    .cur()
                    .filter(|&c| c == b'_' || c.is_ascii_alphanumeric())
                {
                    raw.push(c);
                    self.bump();
                }
                b.expansion(&raw, true);
            }
            Some(c @ (b'0'..=b'9' | b'@' | b'*' | b'#' | b'?' | b'-' | b'$' | b'!')) => {
                self.bump();
                b.expansion(&[b'$', c], true);
            }
            _ if in_dq => b.quoted(b'$'),
            _ => b.lit(b'$'),
        }
    }

    /// `$'…'`: ANSI-C quoting (the `$` was consumed, the read position is at `'`).
    fn ansi_c_quote(&mut self, b: &mut Builder) {
        let line = self.line;
        self.bump();
        b.mark_quoted();
        loop {
            let Some(c) = self.byte() else {
                self.note(line, "unterminated $'…' quote".into());
                return;
            };
            self.bump();
            match c {
                b'\'' => return,
                b'\\' => {
                    let Some(e) = self.byte() else { continue };
                    self.bump();
                    let out = match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'a' => 7,
                        b'b' => 8,
                        b'e' | b'E' => 27,
                        b'f' => 12,
                        b'v' => 11,
                        b'x' => self.radix_digits(16, 2),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.byte().filter(|c| (b'0'..=b'7').contains(c)) {
                                    Some(d) => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.bump();
                                    }
                                    None => break,
                                }
                            }
                            (v & 0xff) as u8
                        }
                        other => other,
                    };
                    b.quoted(out);
                }
                _ => b.quoted(c),
            }
        }
    }

    /// Up to `max` digits in `radix` as one byte value.
    fn radix_digits(&mut self, radix: u32, max: usize) -> u8 {
        let mut v: u32 = 0;
        for _ in 0..max {
            match self.byte().and_then(|c| char::from(c).to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    self.bump();
                }
                None => break,
            }
        }
        (v & 0xff) as u8
    }

    /// `$((…))` (both parens consumed): kept as written; command substitutions inside run.
    fn arithmetic(&mut self, b: &mut Builder, line: u32) {
        let mut raw = b"$((".to_vec();
        let mut level = 0u32;
        loop {
            let Some(c) = self.cur() else {
                self.note(line, "unterminated $((…))".into());
                break;
            };
            if c == b'$' && self.byte_at(1) == Some(b'(') && self.byte_at(2) != Some(b'(') {
                self.bump();
                self.bump();
                self.subst_paren(self.line);
                raw.extend_from_slice(b"$(\xe2\x80\xa6)");
                continue;
            }
            self.bump();
            raw.push(c);
            match c {
                b'(' => level += 1,
                b')' if level == 0 => {
                    if self.cur() == Some(b')') {
                        self.bump();
                        raw.push(b')');
                    }
                    break;
                }
                b')' => level -= 1,
                _ => {}
            }
        }
        b.expansion(&raw, false);
    }

    /// `${…}` (the read position is at `{`): kept as written, nested `${` counted, not recursed.
    fn brace_param(&mut self, b: &mut Builder, in_dq: bool, line: u32) {
        let mut raw = b"${".to_vec();
        self.bump();
        let (mut level, mut sq, mut dq) = (0u32, false, false);
        loop {
            let next = if sq { self.byte() } else { self.cur() };
            let Some(c) = next else {
                self.note(line, "unterminated ${…}".into());
                break;
            };
            if sq {
                self.bump();
                raw.push(c);
                sq = c != b'\'';
                continue;
            }
            match c {
                b'\\' => {
                    self.bump();
                    raw.push(c);
                    if let Some(n) = self.byte() {
                        self.bump();
                        raw.push(n);
                    }
                }
                b'`' => {
                    let mut inner = Builder::default();
                    self.backtick(&mut inner, true);
                    raw.extend_from_slice(&inner.text);
                }
                b'$' if self.byte_at(1) == Some(b'(') => {
                    let mut inner = Builder::default();
                    self.dollar(&mut inner, true);
                    raw.extend_from_slice(&inner.text);
                }
                b'$' if self.byte_at(1) == Some(b'{') => {
                    self.bump();
                    self.bump();
                    level += 1;
                    raw.extend_from_slice(b"${");
                }
                b'}' if !dq => {
                    self.bump();
                    raw.push(c);
                    if level == 0 {
                        break;
                    }
                    level -= 1;
                }
                _ => {
                    self.bump();
                    raw.push(c);
                    match c {
                        b'\'' if !dq && !in_dq => sq = true,
                        b'"' => dq = !dq,
                        _ => {}
                    }
                }
            }
        }
        b.expansion(&raw, true);
    }

    /// `` `…` `` at the read position: the content, unescaped, is re-read as commands.
    pub(super) fn backtick(&mut self, b: &mut Builder, in_dq: bool) {
        let (start, line) = (self.pos, self.line);
        self.bump();
        let mut content = Vec::new();
        loop {
            let Some(c) = self.byte() else {
                self.note(line, "unterminated backquote".into());
                break;
            };
            self.bump();
            match c {
                b'`' => break,
                b'\\' => match self.byte() {
                    Some(n @ (b'$' | b'`' | b'\\')) => {
                        self.bump();
                        content.push(n);
                    }
                    Some(b'"') if in_dq => {
                        self.bump();
                        content.push(b'"');
                    }
                    // Others, backslash-newline included, are read again by the inner parse.
                    _ => content.push(b'\\'),
                },
                _ => content.push(c),
            }
        }
        let nodes = self.sub_parse(&content, line, Frame::Substitution, "backquoted command");
        self.subs.push(Node::Block(nodes));
        let raw = self.src.get(start..self.pos).unwrap_or_default();
        let text = self.budget_text(raw, b"`\xe2\x80\xa6`");
        b.expansion(&text, false);
    }

    /// The substitutions of an unquoted here-document body (this parser reads only the body).
    pub(super) fn scan_body(&mut self) {
        let mut scratch = Builder::default();
        while let Some(c) = self.byte() {
            match c {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'$' => self.dollar(&mut scratch, true),
                b'`' => self.backtick(&mut scratch, true),
                _ => self.bump(),
            }
            scratch.text.clear();
            if let Some(g) = &mut scratch.glob {
                g.clear();
            }
        }
    }

    /// `raw` if the text budget allows, else `short`.
    fn budget_text(&mut self, raw: &[u8], short: &[u8]) -> Vec<u8> {
        match self.out.text_budget.checked_sub(raw.len()) {
            Some(left) => {
                self.out.text_budget = left;
                raw.to_vec()
            }
            None => short.to_vec(),
        }
    }
}
