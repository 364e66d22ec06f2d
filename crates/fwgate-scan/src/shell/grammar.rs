//! The parser: lists, and-or lists, pipelines and simple commands (compound commands are in
//! `compound.rs`), the tree [`reachable`](super::reachable) walks, and the shared output.

use std::sync::Arc;

use super::lex::{HereDoc, Op, Redir, Tok, Token};
use super::{Command, Frame, Note, Word, MAX_COMMANDS, MAX_CONTEXT_FRAMES, MAX_DEPTH, MAX_NOTES};

/// What a parse builds, shared by the parsers of nested strings (`eval`, backticks).
#[derive(Debug)]
pub(super) struct Out {
    pub(super) commands: Vec<Command>,
    pub(super) notes: Vec<Note>,
    pub(super) functions: Vec<(String, Vec<Node>)>,
    pub(super) loop_vars: Vec<String>,
    /// Bytes of substitution text that may still be copied into words.
    pub(super) text_budget: usize,
    /// Bytes that may still be re-read (`eval` and `sh -c` strings, backticks).
    pub(super) reparse_budget: usize,
    frames_left: usize,
    full: bool,
}

impl Out {
    pub(super) fn new(len: usize) -> Out {
        // Nested backquotes halve at each level: twice the input covers them.
        let budget = len.saturating_mul(2).saturating_add(64 << 10);
        Out {
            commands: Vec::new(),
            notes: Vec::new(),
            functions: Vec::new(),
            loop_vars: Vec::new(),
            text_budget: budget,
            reparse_budget: budget,
            frames_left: MAX_CONTEXT_FRAMES,
            full: false,
        }
    }
}

/// The structure [`reachable`](super::reachable) walks.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// A recorded command and what runs with it (substitutions in its words, its `eval`).
    Command { index: usize, inner: Vec<Node> },
    /// Nodes that may all run.
    Block(Vec<Node>),
    /// A `case`: the branch taken depends on the subject.
    Case {
        subject: Word,
        branches: Vec<Branch>,
    },
}

/// One `case` branch.
#[derive(Debug, Clone)]
pub(super) struct Branch {
    pub(super) patterns: Vec<Pattern>,
    pub(super) body: Vec<Node>,
    pub(super) end: BranchEnd,
}

/// A `case` pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// Glob form (quoted glob characters escaped).
    pub(super) glob: String,
    /// The pattern has an expansion: whether it matches is unknown.
    pub(super) expands: bool,
}

/// How a `case` branch ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BranchEnd {
    /// `;;` (or `esac`): done.
    Break,
    /// `;&`: the next branch's body runs too.
    FallThrough,
    /// `;;&`: the next patterns are tested.
    Continue,
}

/// Where a list of commands ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    RParen,
}

/// A recursive-descent parser over one source (the script, or a string it runs).
pub(super) struct Parser<'s, 'o> {
    pub(super) src: &'s [u8],
    pub(super) pos: usize,
    pub(super) line: u32,
    pub(super) out: &'o mut Out,
    /// The constructs around the read position, outermost first.
    pub(super) frames: Vec<Frame>,
    /// Nesting of constructs and substitutions (bounded by [`MAX_DEPTH`]).
    pub(super) depth: usize,
    /// The peeked token.
    pub(super) la: Option<Token>,
    /// Here-documents whose bodies start after the next newline.
    pub(super) heredocs: Vec<HereDoc>,
    /// Substitutions read in words, not yet attached to a command.
    pub(super) subs: Vec<Node>,
    /// Tokens consumed (to make sure loops advance).
    pub(super) tokens: u64,
}

impl<'s, 'o> Parser<'s, 'o> {
    pub(super) fn new(
        src: &'s [u8],
        line: u32,
        out: &'o mut Out,
        frames: Vec<Frame>,
        depth: usize,
    ) -> Self {
        Parser {
            src,
            pos: 0,
            line,
            out,
            frames,
            depth,
            la: None,
            heredocs: Vec::new(),
            subs: Vec::new(),
            tokens: 0,
        }
    }

    /// Adds a note (at most [`MAX_NOTES`], then one saying more were dropped).
    pub(super) fn note(&mut self, line: u32, message: String) {
        let notes = &mut self.out.notes;
        if notes.len() < MAX_NOTES {
            notes.push(Note { line, message });
        } else if notes.len() == MAX_NOTES {
            notes.push(Note {
                line,
                message: "further notes dropped".into(),
            });
        }
    }

    /// The whole source as a list of commands.
    pub(super) fn program(&mut self) -> Vec<Node> {
        let nodes = self.parse_until(End::Eof, self.line);
        if let Some(doc) = self.heredocs.first() {
            let line = doc.line;
            self.note(
                line,
                "here-document without a body (no newline after it)".into(),
            );
        }
        nodes
    }

    /// Commands up to `end`; stray terminators on the way are noted and skipped.
    fn parse_until(&mut self, end: End, line: u32) -> Vec<Node> {
        let mut nodes = Vec::new();
        loop {
            nodes.extend(self.parse_list());
            let t = self.next();
            match (&t.tok, end) {
                (Tok::Eof, End::Eof) | (Tok::Op(Op::RParen), End::RParen) => break,
                (Tok::Eof, End::RParen) => {
                    self.note(line, "`$(` without `)`".into());
                    break;
                }
                (tok, _) => {
                    let what = describe(tok);
                    self.note(t.line, format!("unexpected {what}"));
                }
            }
        }
        nodes
    }

    /// A list: and-or lists separated by `;`, `&` or newlines, up to a terminator (not
    /// consumed): `)`, `;;`, `;&`, `;;&`, a closing reserved word, or the end.
    pub(super) fn parse_list(&mut self) -> Vec<Node> {
        let mut nodes = Vec::new();
        loop {
            match &self.peek().tok {
                Tok::Newline | Tok::Op(Op::Semi | Op::Amp) => {
                    self.next();
                }
                t if is_terminator(t) => break,
                Tok::Op(Op::AndIf | Op::OrIf | Op::Pipe) => {
                    let t = self.next();
                    let what = describe(&t.tok);
                    self.note(t.line, format!("unexpected {what}"));
                }
                _ => {
                    let start = self.out.commands.len();
                    let node = self.parse_and_or();
                    nodes.push(node);
                    match self.peek().tok {
                        Tok::Op(Op::Semi) | Tok::Newline => {
                            self.next();
                        }
                        Tok::Op(Op::Amp) => {
                            self.next();
                            for c in self.out.commands.get_mut(start..).unwrap_or_default() {
                                c.background = true;
                            }
                        }
                        _ => {}
                    }
                }
            }
            self.flush_subs(&mut nodes);
        }
        self.flush_subs(&mut nodes);
        nodes
    }

    pub(super) fn flush_subs(&mut self, nodes: &mut Vec<Node>) {
        if !self.subs.is_empty() {
            nodes.push(Node::Block(std::mem::take(&mut self.subs)));
        }
    }

    fn parse_and_or(&mut self) -> Node {
        let first = self.parse_pipeline();
        if !self.peek_and_or() {
            return first;
        }
        let mut parts = vec![first];
        self.frames.push(Frame::AndOr);
        while self.peek_and_or() {
            self.next();
            self.skip_newlines();
            parts.push(self.parse_pipeline());
        }
        self.frames.pop();
        Node::Block(parts)
    }

    fn peek_and_or(&mut self) -> bool {
        matches!(self.peek().tok, Tok::Op(Op::AndIf | Op::OrIf))
    }

    fn peek_pipe(&mut self) -> bool {
        matches!(self.peek().tok, Tok::Op(Op::Pipe))
    }

    fn parse_pipeline(&mut self) -> Node {
        while self.peek_kw("!") {
            self.next();
        }
        let (start, base) = (self.out.commands.len(), self.frames.len());
        let first = self.parse_command();
        if !self.peek_pipe() {
            return first;
        }
        // The first command is known to be in a pipeline only now.
        let mut left = self.out.frames_left;
        for c in self.out.commands.get_mut(start..).unwrap_or_default() {
            if c.context.len() >= base && left > 0 {
                c.context.insert(base, Frame::Pipeline);
                left -= 1;
            }
        }
        self.out.frames_left = left;
        let mut parts = vec![first];
        self.frames.push(Frame::Pipeline);
        while self.peek_pipe() {
            self.next();
            self.skip_newlines();
            parts.push(self.parse_command());
        }
        self.frames.pop();
        Node::Block(parts)
    }

    /// One command: compound, function definition or simple. Consumes nothing (and notes it)
    /// when the next token cannot start a command.
    pub(super) fn parse_command(&mut self) -> Node {
        let t = self.peek();
        let line = t.line;
        let start = match &t.tok {
            Tok::Op(Op::LParen) => true,
            Tok::Op(Op::Redir(_)) => false,
            Tok::Word(w) if is_plain(&w.word) => {
                let kw = w.word.text.as_str();
                if matches!(
                    kw,
                    "{" | "if" | "while" | "until" | "for" | "select" | "case" | "function"
                ) {
                    true
                } else if is_terminator(&t.tok) {
                    return self.expected_command(line);
                } else {
                    false
                }
            }
            Tok::Word(_) => false,
            _ => return self.expected_command(line),
        };
        if start {
            self.compound()
        } else {
            self.simple()
        }
    }

    fn expected_command(&mut self, line: u32) -> Node {
        let what = describe(&self.peek().tok);
        self.note(line, format!("expected a command, found {what}"));
        Node::Block(Vec::new())
    }

    fn simple(&mut self) -> Node {
        let line = self.peek().line;
        let mut assignments = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut lines: Vec<u32> = Vec::new();
        let (mut redirected, mut test) = (false, false);
        loop {
            let t = self.peek();
            match &t.tok {
                Tok::Word(w) if w.io_number => {
                    self.next();
                }
                Tok::Word(_) => {
                    let t = self.next();
                    let Tok::Word(w) = t.tok else { break };
                    if words.is_empty() && w.assign {
                        assignments.push(w.word);
                        continue;
                    }
                    test |= words.is_empty() && is_plain(&w.word) && w.word.text == "[[";
                    test &= !(is_plain(&w.word) && w.word.text == "]]");
                    words.push(w.word);
                    lines.push(t.line);
                    let lone = words.len() == 1 && assignments.is_empty() && !redirected;
                    if lone && matches!(self.peek().tok, Tok::Op(Op::LParen)) {
                        let name = words.pop().map(|w| w.text).unwrap_or_default();
                        return self.function_def(name, line);
                    }
                }
                // Inside `[[ … ]]`, `<`, `>`, `(`, `)`, `&&`, `||` are test operators.
                Tok::Op(
                    op @ (Op::Redir(Redir::File(_))
                    | Op::LParen
                    | Op::RParen
                    | Op::AndIf
                    | Op::OrIf),
                ) if test => {
                    let text = op.text();
                    self.next();
                    words.push(Word::plain(text));
                    lines.push(line);
                }
                Tok::Newline if test => {
                    self.next();
                }
                Tok::Op(Op::Redir(r)) => {
                    let r = *r;
                    self.next();
                    self.redirect_target(r);
                    redirected = true;
                }
                _ => break,
            }
        }
        let mut inner = std::mem::take(&mut self.subs);
        if words.is_empty() && assignments.is_empty() {
            return Node::Block(inner);
        }
        let run = super::run::string(&words, &lines);
        let command = Command {
            assignments,
            words,
            line,
            background: false,
            context: self.frames.clone(),
        };
        let index = self.record(command);
        if let Some((text, at)) = run {
            inner.extend(self.sub_parse(
                text.as_bytes(),
                at,
                Frame::Eval,
                "string run as commands",
            ));
        }
        match index {
            Some(index) => Node::Command { index, inner },
            None => Node::Block(inner),
        }
    }

    /// The word after a redirection operator (a here-document's delimiter is remembered).
    pub(super) fn redirect_target(&mut self, r: Redir) {
        let t = self.peek();
        let line = t.line;
        match &t.tok {
            Tok::Word(_) => {
                let Tok::Word(w) = self.next().tok else {
                    return;
                };
                if let Redir::HereDoc { strip } = r {
                    let mut delim = w.word.text.into_bytes();
                    // A delimiter is matched byte for byte: keep it as read (lossy text aside).
                    delim.retain(|&c| c != b'\r');
                    self.heredocs.push(HereDoc {
                        delim,
                        strip,
                        quoted: w.word.quoted,
                        line,
                    });
                }
            }
            // `<(…)` / `>(…)`: process substitution (bash, BusyBox ash with bash extensions).
            Tok::Op(Op::LParen) if matches!(r, Redir::File("<" | ">")) => {
                self.next();
                self.subst_paren(line);
            }
            _ => self.note(line, "redirection without a target".into()),
        }
    }

    /// Records a command; `None` once the output is full.
    fn record(&mut self, command: Command) -> Option<usize> {
        if self.out.full {
            return None;
        }
        let frames = command.context.len();
        if self.out.commands.len() >= MAX_COMMANDS || self.out.frames_left < frames {
            self.out.full = true;
            let message = format!(
                "more than {MAX_COMMANDS} commands or {MAX_CONTEXT_FRAMES} context frames: \
                 the rest is read but not recorded"
            );
            self.note(command.line, message);
            return None;
        }
        self.out.frames_left -= frames;
        self.out.commands.push(command);
        Some(self.out.commands.len() - 1)
    }

    /// `$(…)` after its `$(`: the commands inside, as a substitution of the word being read.
    pub(super) fn subst_paren(&mut self, line: u32) {
        if self.depth >= MAX_DEPTH {
            self.skip_nested(super::skip::Closer::Paren, line, "command substitution");
            return;
        }
        let saved_subs = std::mem::take(&mut self.subs);
        let saved_la = self.la.take();
        self.frames.push(Frame::Substitution);
        self.depth += 1;
        let mut nodes = self.parse_until(End::RParen, line);
        self.depth -= 1;
        self.frames.pop();
        self.flush_subs(&mut nodes);
        self.la = saved_la;
        self.subs = saved_subs;
        self.subs.push(Node::Block(nodes));
    }

    /// Parses `text` (a backquoted command, an `eval` string) starting at `line`, inside the
    /// current constructs plus `frame`.
    pub(super) fn sub_parse(
        &mut self,
        text: &[u8],
        line: u32,
        frame: Frame,
        what: &str,
    ) -> Vec<Node> {
        if self.depth >= MAX_DEPTH {
            self.note(
                line,
                format!("nesting deeper than {MAX_DEPTH}: {what} not read"),
            );
            return Vec::new();
        }
        let Some(left) = self.out.reparse_budget.checked_sub(text.len()) else {
            self.note(
                line,
                format!("{what} not read: re-read text exceeds the script's size"),
            );
            return Vec::new();
        };
        self.out.reparse_budget = left;
        let mut frames = self.frames.clone();
        frames.push(frame);
        let mut sub = Parser::new(text, line, &mut *self.out, frames, self.depth + 1);
        sub.program()
    }

    pub(super) fn skip_newlines(&mut self) {
        while matches!(self.peek().tok, Tok::Newline) {
            self.next();
        }
    }

    /// The next token is the reserved word `kw`.
    pub(super) fn peek_kw(&mut self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if is_plain(&w.word) && w.word.text == kw)
    }

    /// Consumes the reserved word `kw`, or notes that `what` (opened at `line`) lacks it.
    pub(super) fn expect_kw(&mut self, kw: &str, what: &str, line: u32) -> bool {
        if self.peek_kw(kw) {
            self.next();
            return true;
        }
        let found = describe(&self.peek().tok);
        self.note(line, format!("`{what}` without `{kw}` (found {found})"));
        false
    }

    /// A shared name for frames.
    pub(super) fn arc(text: &str) -> Arc<str> {
        Arc::from(text)
    }
}

/// Unquoted and without expansions: can be a reserved word.
pub(super) fn is_plain(w: &Word) -> bool {
    !w.quoted && !w.expands
}

/// Ends a list: `)`, `;;`, `;&`, `;;&`, the end, or a closing reserved word.
fn is_terminator(t: &Tok) -> bool {
    match t {
        Tok::Eof | Tok::Op(Op::RParen | Op::DSemi | Op::SemiAmp | Op::DSemiAmp) => true,
        Tok::Word(w) if is_plain(&w.word) => matches!(
            w.word.text.as_str(),
            "then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}"
        ),
        _ => false,
    }
}

/// A token for a note.
pub(super) fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "the end of the script".into(),
        Tok::Newline => "a newline".into(),
        Tok::Op(op) => format!("`{}`", op.text()),
        Tok::Word(w) => {
            let text: String = w.word.text.chars().take(40).collect();
            format!("`{text}`")
        }
    }
}
