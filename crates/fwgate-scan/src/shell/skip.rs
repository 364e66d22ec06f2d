//! Skipping a construct nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH): one pass over the
//! bytes with a stack on the heap (no recursion), matching parentheses, braces and the
//! closing reserved words `fi`, `esac`, `done`. Approximate by design: what it skips is
//! reported as not read.

use super::grammar::Parser;
use super::MAX_DEPTH;

/// What closes a skipped construct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Closer {
    Paren,
    Brace,
    Fi,
    Esac,
    Done,
}

/// Ends a word (and starts the next): where reserved words and `{` are recognised.
fn separates(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'(' | b')'
    )
}

impl Parser<'_, '_> {
    /// Skips to the end of the construct closed by `first` (already opened), with a note.
    pub(super) fn skip_nested(&mut self, first: Closer, line: u32, what: &str) {
        let mut stack = vec![first];
        let mut at_start = true;
        while let Some(c) = self.byte() {
            let mut close = None;
            match c {
                b'\\' => {
                    self.bump();
                    self.bump();
                    at_start = false;
                    continue;
                }
                b'\'' | b'`' => self.skip_quoted(c),
                b'"' => {
                    self.bump();
                    while let Some(d) = self.byte() {
                        self.bump();
                        match d {
                            b'\\' => self.bump(),
                            b'"' => break,
                            _ => {}
                        }
                    }
                }
                b'#' if at_start => {
                    while self.byte().is_some_and(|d| d != b'\n') {
                        self.bump();
                    }
                }
                b'(' => {
                    stack.push(Closer::Paren);
                    self.bump();
                }
                b')' => {
                    close = Some(Closer::Paren);
                    self.bump();
                }
                b'{' if at_start || self.prev() == Some(b'$') => {
                    stack.push(Closer::Brace);
                    self.bump();
                }
                b'}' => {
                    close = Some(Closer::Brace);
                    self.bump();
                }
                b'a'..=b'z' if at_start => {
                    let start = self.pos;
                    while self.byte().is_some_and(|d| d.is_ascii_lowercase()) {
                        self.bump();
                    }
                    let word = self.src.get(start..self.pos).unwrap_or_default();
                    if self.byte().is_none_or(separates) {
                        match word {
                            b"if" => stack.push(Closer::Fi),
                            b"case" => stack.push(Closer::Esac),
                            b"while" | b"until" | b"for" | b"select" => stack.push(Closer::Done),
                            b"fi" => close = Some(Closer::Fi),
                            b"esac" => close = Some(Closer::Esac),
                            b"done" => close = Some(Closer::Done),
                            _ => {}
                        }
                    }
                    at_start = false;
                }
                _ => self.bump(),
            }
            // A `)` that closes nothing open (a `case` pattern's) is an ordinary character.
            if close.is_some() && stack.last().copied() == close {
                stack.pop();
                if stack.is_empty() {
                    break;
                }
            }
            at_start = separates(c) || (at_start && c == b'#');
        }
        let end = if stack.is_empty() {
            format!("to line {}", self.line)
        } else {
            "to the end".to_string()
        };
        self.note(
            line,
            format!("nesting deeper than {MAX_DEPTH}: {what} skipped {end}, not read"),
        );
    }

    fn prev(&self) -> Option<u8> {
        self.src.get(self.pos.checked_sub(1)?).copied()
    }

    /// Steps over `'…'` or `` `…` `` (backslash escapes only in the latter).
    fn skip_quoted(&mut self, q: u8) {
        self.bump();
        while let Some(d) = self.byte() {
            self.bump();
            if d == q {
                return;
            }
            if d == b'\\' && q == b'`' {
                self.bump();
            }
        }
    }
}
