//! Tokens: operators, newlines, words (read in `word.rs`), comments and here-document bodies.
//!
//! Backslash-newline is removed wherever a shell removes it (outside single quotes, comments
//! and here-document bodies): every read of the next character goes through [`Parser::cur`].
//! A CR right before LF (or at the end) is a blank, so CRLF scripts read like LF ones.

use super::grammar::{Node, Parser};
use super::word::WordTok;

/// A token and the line it starts on.
#[derive(Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: u32,
}

/// What the lexer produces.
#[derive(Debug)]
pub(super) enum Tok {
    Word(WordTok),
    Op(Op),
    Newline,
    Eof,
}

/// Operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Semi,
    DSemi,
    SemiAmp,
    DSemiAmp,
    Amp,
    AndIf,
    OrIf,
    Pipe,
    LParen,
    RParen,
    Redir(Redir),
}

/// Redirection operators, by what the parser does with the word after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Redir {
    /// `<`, `>`, `>>`, `<&`, `>&`, `<>`, `>|`, `&>`, `&>>` (as written): the next word is a
    /// file or fd.
    File(&'static str),
    /// `<<` and `<<-` (`strip`: leading tabs of the body and delimiter line are removed).
    HereDoc { strip: bool },
    /// `<<<` (bash, BusyBox ash): the next word is the input.
    HereString,
}

impl Op {
    /// The operator as written (one spelling for the redirections).
    pub(super) fn text(self) -> &'static str {
        match self {
            Op::Semi => ";",
            Op::DSemi => ";;",
            Op::SemiAmp => ";&",
            Op::DSemiAmp => ";;&",
            Op::Amp => "&",
            Op::AndIf => "&&",
            Op::OrIf => "||",
            Op::Pipe => "|",
            Op::LParen => "(",
            Op::RParen => ")",
            Op::Redir(Redir::File(text)) => text,
            Op::Redir(Redir::HereDoc { .. }) => "<<",
            Op::Redir(Redir::HereString) => "<<<",
        }
    }
}

/// A here-document whose body starts after the next newline.
#[derive(Debug)]
pub(super) struct HereDoc {
    pub(super) delim: Vec<u8>,
    pub(super) strip: bool,
    /// Some part of the delimiter was quoted: the body is not expanded.
    pub(super) quoted: bool,
    pub(super) line: u32,
}

impl<'s> Parser<'s, '_> {
    /// The byte at the read position, as is.
    pub(super) fn byte(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// The byte `off` bytes after the read position, as is.
    pub(super) fn byte_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos.checked_add(off)?).copied()
    }

    /// Steps over one byte, counting lines.
    pub(super) fn bump(&mut self) {
        if let Some(b) = self.byte() {
            self.pos += 1;
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
            }
        }
    }

    /// The next character with backslash-newline continuations removed.
    pub(super) fn cur(&mut self) -> Option<u8> {
        loop {
            let rest = self.src.get(self.pos..).unwrap_or_default();
            let skip = if rest.starts_with(b"\\\n") {
                2
            } else if rest.starts_with(b"\\\r\n") {
                3
            } else {
                return rest.first().copied();
            };
            self.pos += skip;
            self.line = self.line.saturating_add(1);
        }
    }

    /// A CR that is a blank: before LF or at the end of the input.
    pub(super) fn cr_blank(&self) -> bool {
        self.byte() == Some(b'\r') && matches!(self.byte_at(1), None | Some(b'\n'))
    }

    /// The next token, without consuming it.
    pub(super) fn peek(&mut self) -> &Token {
        if self.la.is_none() {
            let t = self.lex();
            self.la = Some(t);
        }
        let line = self.line;
        self.la.get_or_insert(Token {
            tok: Tok::Eof,
            line,
        })
    }

    /// Consumes the next token.
    pub(super) fn next(&mut self) -> Token {
        self.tokens = self.tokens.wrapping_add(1);
        match self.la.take() {
            Some(t) => t,
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Token {
        loop {
            let Some(c) = self.cur() else {
                return Token {
                    tok: Tok::Eof,
                    line: self.line,
                };
            };
            let line = self.line;
            let tok = match c {
                b' ' | b'\t' => {
                    self.bump();
                    continue;
                }
                b'\r' if self.cr_blank() => {
                    self.bump();
                    continue;
                }
                b'#' => {
                    let rest = self.src.get(self.pos..).unwrap_or_default();
                    self.pos += memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                    continue;
                }
                b'\n' => {
                    self.bump();
                    self.read_heredocs();
                    Tok::Newline
                }
                b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => {
                    self.bump();
                    Tok::Op(self.lex_op(c))
                }
                _ => Tok::Word(self.read_word()),
            };
            return Token { tok, line };
        }
    }

    /// Consumes `want` if it is the next character.
    fn eat(&mut self, want: u8) -> bool {
        let hit = self.cur() == Some(want);
        if hit {
            self.bump();
        }
        hit
    }

    /// The rest of an operator whose first byte `c` was consumed.
    fn lex_op(&mut self, c: u8) -> Op {
        match c {
            b';' if self.eat(b';') => {
                if self.eat(b'&') {
                    Op::DSemiAmp
                } else {
                    Op::DSemi
                }
            }
            b';' if self.eat(b'&') => Op::SemiAmp,
            b';' => Op::Semi,
            b'&' if self.eat(b'&') => Op::AndIf,
            b'&' if self.eat(b'>') => {
                Op::Redir(Redir::File(if self.eat(b'>') { "&>>" } else { "&>" }))
            }
            b'&' => Op::Amp,
            b'|' if self.eat(b'|') => Op::OrIf,
            b'|' => {
                self.eat(b'&');
                Op::Pipe
            }
            b'(' => Op::LParen,
            b')' => Op::RParen,
            b'<' if self.eat(b'<') => {
                if self.eat(b'<') {
                    Op::Redir(Redir::HereString)
                } else {
                    let strip = self.eat(b'-');
                    Op::Redir(Redir::HereDoc { strip })
                }
            }
            b'<' => Op::Redir(Redir::File(if self.eat(b'&') {
                "<&"
            } else if self.eat(b'>') {
                "<>"
            } else {
                "<"
            })),
            _ => Op::Redir(Redir::File(if self.eat(b'>') {
                ">>"
            } else if self.eat(b'&') {
                ">&"
            } else if self.eat(b'|') {
                ">|"
            } else {
                ">"
            })),
        }
    }

    /// Reads the bodies of the here-documents announced on the line just ended.
    fn read_heredocs(&mut self) {
        for doc in std::mem::take(&mut self.heredocs) {
            self.read_heredoc(&doc);
        }
    }

    fn read_heredoc(&mut self, doc: &HereDoc) {
        let src: &'s [u8] = self.src;
        let (start, start_line) = (self.pos, self.line);
        let mut end = None;
        let mut joined = false;
        while self.pos < src.len() {
            let rest = src.get(self.pos..).unwrap_or_default();
            let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let raw = rest.get(..len).unwrap_or_default();
            let mut text = raw.strip_suffix(b"\r").unwrap_or(raw);
            if doc.strip {
                while let Some(t) = text.strip_prefix(b"\t") {
                    text = t;
                }
            }
            let here = self.pos;
            self.pos += len;
            self.bump();
            if !joined && text == doc.delim.as_slice() {
                end = Some(here);
                break;
            }
            // In an expanded body a trailing backslash joins the next line to this one.
            joined = !doc.quoted && text.ends_with(b"\\");
        }
        let end = end.unwrap_or_else(|| {
            let delim = String::from_utf8_lossy(&doc.delim).into_owned();
            self.note(doc.line, format!("here-document has no end line `{delim}`"));
            src.len()
        });
        if doc.quoted {
            return;
        }
        let body = src.get(start..end).unwrap_or_default();
        if memchr::memchr2(b'$', b'`', body).is_none() {
            return;
        }
        // An unquoted body is expanded when the command runs: its substitutions are commands.
        let frames = self.frames.clone();
        let mut sub = Parser::new(body, start_line, &mut *self.out, frames, self.depth);
        sub.scan_body();
        let found: Vec<Node> = std::mem::take(&mut sub.subs);
        self.subs.extend(found);
    }
}
