//! Compound commands (`{ }`, `( )`, `if`, `while`/`until`, `for`, `case`) and function
//! definitions.

use std::sync::Arc;

use super::grammar::{is_plain, Branch, BranchEnd, Node, Parser, Pattern};
use super::lex::{Op, Tok};
use super::skip::Closer;
use super::{Frame, Word, MAX_DEPTH};

impl Parser<'_, '_> {
    /// A compound command at the read position (its first token is peeked), then its
    /// redirections. Deeper than [`MAX_DEPTH`], the construct is skipped with a note.
    pub(super) fn compound(&mut self) -> Node {
        let t = self.next();
        let line = t.line;
        let kw = match &t.tok {
            Tok::Word(w) => w.word.text.clone(),
            _ => "(".to_string(),
        };
        if kw == "function" {
            return self.function_keyword(line);
        }
        if self.depth >= MAX_DEPTH {
            let closer = match kw.as_str() {
                "(" => Closer::Paren,
                "{" => Closer::Brace,
                "if" => Closer::Fi,
                "case" => Closer::Esac,
                _ => Closer::Done,
            };
            self.skip_nested(closer, line, &format!("`{kw}`"));
            return Node::Block(Vec::new());
        }
        self.depth += 1;
        let node = match kw.as_str() {
            "(" => self.enclosed(Frame::Subshell, line),
            "{" => self.enclosed(Frame::Group, line),
            "if" => self.if_clause(line),
            "for" | "select" => self.for_clause(&kw, line),
            "case" => self.case_clause(line),
            _ => self.loop_clause(&kw, line),
        };
        self.depth -= 1;
        self.trailing_redirects();
        node
    }

    fn trailing_redirects(&mut self) {
        loop {
            match &self.peek().tok {
                Tok::Word(w) if w.io_number => {
                    self.next();
                }
                Tok::Op(Op::Redir(r)) => {
                    let r = *r;
                    self.next();
                    self.redirect_target(r);
                }
                _ => return,
            }
        }
    }

    /// `( list )` or `{ list }` after the opening token.
    fn enclosed(&mut self, frame: Frame, line: u32) -> Node {
        let subshell = frame == Frame::Subshell;
        self.frames.push(frame);
        let body = self.parse_list();
        self.frames.pop();
        if subshell {
            if matches!(self.peek().tok, Tok::Op(Op::RParen)) {
                self.next();
            } else {
                self.note(line, "`(` without `)`".into());
            }
        } else {
            self.expect_kw("}", "{", line);
        }
        Node::Block(body)
    }

    fn if_clause(&mut self, line: u32) -> Node {
        self.frames.push(Frame::If);
        let mut nodes = self.parse_list();
        self.expect_kw("then", "if", line);
        nodes.extend(self.parse_list());
        loop {
            if self.peek_kw("elif") {
                self.next();
                nodes.extend(self.parse_list());
                self.expect_kw("then", "elif", line);
                nodes.extend(self.parse_list());
            } else if self.peek_kw("else") {
                self.next();
                nodes.extend(self.parse_list());
            } else {
                self.expect_kw("fi", "if", line);
                break;
            }
        }
        self.frames.pop();
        Node::Block(nodes)
    }

    /// `while`/`until` after the keyword.
    fn loop_clause(&mut self, kw: &str, line: u32) -> Node {
        self.frames.push(Frame::Loop);
        let mut nodes = self.parse_list();
        self.do_group(kw, line, &mut nodes);
        self.frames.pop();
        Node::Block(nodes)
    }

    fn do_group(&mut self, kw: &str, line: u32, nodes: &mut Vec<Node>) {
        if self.expect_kw("do", kw, line) {
            nodes.extend(self.parse_list());
            self.expect_kw("done", kw, line);
        }
    }

    /// `for NAME [in WORDS…] ; do … done` after `for`.
    fn for_clause(&mut self, kw: &str, line: u32) -> Node {
        if let Tok::Word(w) = &self.peek().tok {
            let name = w.word.text.clone();
            self.next();
            self.out.loop_vars.push(name);
        } else {
            self.note(line, format!("`{kw}` without a variable name"));
        }
        self.skip_newlines();
        if self.peek_kw("in") {
            self.next();
            while matches!(self.peek().tok, Tok::Word(_)) {
                self.next();
            }
        }
        if matches!(self.peek().tok, Tok::Op(Op::Semi)) {
            self.next();
        }
        self.skip_newlines();
        // Substitutions in the word list run once, before the loop.
        let mut nodes = std::mem::take(&mut self.subs);
        self.frames.push(Frame::Loop);
        self.do_group(kw, line, &mut nodes);
        self.frames.pop();
        Node::Block(nodes)
    }

    /// `case WORD in [(]p1|p2) list ;; … esac` after `case`.
    fn case_clause(&mut self, line: u32) -> Node {
        let subject = match &self.peek().tok {
            Tok::Word(_) => match self.next().tok {
                Tok::Word(w) => w.word,
                _ => Word::plain(""),
            },
            _ => {
                self.note(line, "`case` without a word".into());
                Word::plain("")
            }
        };
        let mut nodes = std::mem::take(&mut self.subs);
        self.skip_newlines();
        self.expect_kw("in", "case", line);
        let name: Arc<str> = Self::arc(&subject.text);
        let mut branches = Vec::new();
        loop {
            let before = self.tokens;
            self.skip_newlines();
            if self.peek_kw("esac") {
                self.next();
                break;
            }
            if matches!(self.peek().tok, Tok::Eof) {
                self.note(line, "`case` without `esac`".into());
                break;
            }
            if matches!(self.peek().tok, Tok::Op(Op::LParen)) {
                self.next();
            }
            let patterns = self.patterns(line);
            if matches!(self.peek().tok, Tok::Op(Op::RParen)) {
                self.next();
            } else {
                self.note(line, "`case` pattern without `)`".into());
            }
            let globs: Arc<[String]> = patterns.iter().map(|p| p.glob.clone()).collect();
            self.frames.push(Frame::Case {
                subject: Arc::clone(&name),
                patterns: globs,
            });
            let body = self.parse_list();
            self.frames.pop();
            let end = match self.peek().tok {
                Tok::Op(Op::DSemi) => BranchEnd::Break,
                Tok::Op(Op::SemiAmp) => BranchEnd::FallThrough,
                Tok::Op(Op::DSemiAmp) => BranchEnd::Continue,
                _ => BranchEnd::Break,
            };
            if matches!(
                self.peek().tok,
                Tok::Op(Op::DSemi | Op::SemiAmp | Op::DSemiAmp)
            ) {
                self.next();
            }
            branches.push(Branch {
                patterns,
                body,
                end,
            });
            if self.tokens == before {
                let found = super::grammar::describe(&self.peek().tok);
                self.note(line, format!("`case` without `esac` (found {found})"));
                break;
            }
        }
        nodes.push(Node::Case { subject, branches });
        Node::Block(nodes)
    }

    /// `p1|p2|…` up to (not including) `)`.
    fn patterns(&mut self, line: u32) -> Vec<Pattern> {
        let mut patterns = Vec::new();
        loop {
            if !matches!(self.peek().tok, Tok::Word(_)) {
                self.note(line, "`case` branch without a pattern".into());
                break;
            }
            if let Tok::Word(w) = self.next().tok {
                patterns.push(Pattern {
                    glob: w.glob.unwrap_or_else(|| w.word.text.clone()),
                    expands: w.word.expands,
                });
            }
            if !matches!(self.peek().tok, Tok::Op(Op::Pipe)) {
                break;
            }
            self.next();
        }
        patterns
    }

    /// `name ( )` after the name, then the body.
    pub(super) fn function_def(&mut self, name: String, line: u32) -> Node {
        self.next();
        if matches!(self.peek().tok, Tok::Op(Op::RParen)) {
            self.next();
        } else {
            self.note(line, format!("`{name}(` without `)`"));
        }
        self.function_body(name);
        let subs = std::mem::take(&mut self.subs);
        Node::Block(subs)
    }

    /// `function name [()] body` after `function`.
    fn function_keyword(&mut self, line: u32) -> Node {
        let name = match &self.peek().tok {
            Tok::Word(w) if !is_plain(&w.word) || w.word.text != "{" => {
                let name = w.word.text.clone();
                self.next();
                name
            }
            _ => {
                self.note(line, "`function` without a name".into());
                String::new()
            }
        };
        if matches!(self.peek().tok, Tok::Op(Op::LParen)) {
            self.next();
            if matches!(self.peek().tok, Tok::Op(Op::RParen)) {
                self.next();
            }
        }
        self.function_body(name);
        Node::Block(std::mem::take(&mut self.subs))
    }

    /// A function body (after the newlines that may precede it): recorded, not run.
    fn function_body(&mut self, name: String) {
        self.skip_newlines();
        // `a() b() c() …` nests without a compound command: count it too.
        if self.depth >= MAX_DEPTH {
            let line = self.peek().line;
            let message = format!(
                "nesting deeper than {MAX_DEPTH}: body of `{name}` read as top-level commands"
            );
            self.note(line, message);
            return;
        }
        self.depth += 1;
        let outer = std::mem::take(&mut self.subs);
        self.frames.push(Frame::Function(Self::arc(&name)));
        let mut body = vec![self.parse_command()];
        self.flush_subs(&mut body);
        self.frames.pop();
        self.depth -= 1;
        self.subs = outer;
        self.out.functions.push((name, body));
    }
}
