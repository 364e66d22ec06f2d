//! Which commands run when a script is started with given arguments.
//!
//! Over-approximates: every command that may run is listed. What is decided: a function body
//! runs only when the function is called (by a reachable command, by name, or by a command
//! whose name is an expansion the walk cannot resolve, which may call any function); a `case`
//! on a value the walk knows (`$1`, a variable assigned once at top level from `$1` or a
//! literal, a literal word) runs the branches whose patterns match it, honouring `;;`, `;&`
//! and `;;&`. Everything else (`if`, loops, `&&`/`||`, a `case` on an unknown value) may run.

use std::collections::{HashMap, HashSet};

use super::glob::{self, Match};
use super::grammar::{Branch, BranchEnd, Node};
use super::{Command, Frame, Script, Word};

/// How a script is started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The script's arguments: `["start"]` for an init.d script run by rcS, `[]` for rcS.
    pub args: Vec<String>,
    /// Functions a framework calls by itself (OpenWrt's `#!/bin/sh /etc/rc.common` calls
    /// `start`, `boot`, `start_service`); they run with unknown arguments.
    pub implicit: Vec<String>,
}

impl Entry {
    /// A script started with `args` and no implicit functions.
    pub fn with_args<I, S>(args: I) -> Entry
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Entry {
            args: args.into_iter().map(Into::into).collect(),
            implicit: Vec::new(),
        }
    }
}

/// Positional parameters, as far as known, are at most this many (more: unknown).
const MAX_ARGS: usize = 64;
/// Variables are followed through at most this many aliases (`A=$1; B=$A`).
const MAX_ALIAS: u32 = 4;
/// Steps of `case` pattern matching in one walk (past it, a pattern may match).
const MAX_GLOB_WORK: usize = 1 << 26;

/// The commands that run when `script` is executed as `script ARGS…` (see [`Entry`]), in
/// the order of [`Script::commands`]. Follows calls of the script's own functions
/// transitively; each function body is walked at most twice (with the arguments of its first
/// call, then, if called differently, with unknown arguments).
pub fn reachable<'a>(script: &'a Script, entry: &Entry) -> Vec<&'a Command> {
    let mut walk = Walk::new(script, entry);
    let top = walk.top.clone();
    walk.walk(&script.tree, &top);
    for name in &entry.implicit {
        walk.call(name, Args::unknown());
    }
    while let Some((name, args)) = walk.queue.pop() {
        let bodies = walk.functions.get(name).cloned().unwrap_or_default();
        for body in bodies {
            walk.walk(body, &args);
        }
    }
    script
        .commands
        .iter()
        .zip(walk.reached)
        .filter_map(|(c, r)| r.then_some(c))
        .collect()
}

/// Positional parameters as far as known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Args {
    vals: Vec<Option<String>>,
    /// Parameters past `vals` may exist.
    rest_unknown: bool,
}

impl Args {
    fn unknown() -> Args {
        Args {
            vals: Vec::new(),
            rest_unknown: true,
        }
    }

    /// `$n`, 1-based.
    fn get(&self, n: usize) -> Value {
        match n.checked_sub(1).and_then(|i| self.vals.get(i)) {
            Some(Some(v)) => Value::Known(v.clone()),
            Some(None) => Value::Unknown,
            None if self.rest_unknown => Value::Unknown,
            None => Value::Unset,
        }
    }

    fn push(&mut self, v: Option<String>) {
        if self.vals.len() < MAX_ARGS {
            self.vals.push(v);
        } else {
            self.rest_unknown = true;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Known(String),
    Unset,
    Unknown,
}

/// What the walk knows of a variable.
#[derive(Debug, Clone, Copy)]
enum Var<'a> {
    Literal(&'a str),
    /// Assigned from an expansion (`action=$1`, `ACTION="${1:-start}"`).
    Alias(&'a str),
    Unknown,
}

struct Walk<'a> {
    script: &'a Script,
    reached: Vec<bool>,
    top: Args,
    vars: HashMap<&'a str, Var<'a>>,
    functions: HashMap<&'a str, Vec<&'a [Node]>>,
    /// Functions that `shift` or `set --` their parameters: called with unknown arguments.
    shifted: HashSet<&'a str>,
    visits: HashMap<&'a str, Args>,
    queue: Vec<(&'a str, Args)>,
    all_called: bool,
    glob_budget: usize,
}

impl<'a> Walk<'a> {
    fn new(script: &'a Script, entry: &Entry) -> Walk<'a> {
        let mut functions: HashMap<&str, Vec<&[Node]>> = HashMap::new();
        for (name, body) in &script.functions {
            functions
                .entry(name.as_str())
                .or_default()
                .push(body.as_slice());
        }
        let mut shifted = HashSet::new();
        let mut top_shifted = false;
        for c in &script.commands {
            if changes_positional(c) {
                match c.context.iter().rev().find_map(|f| match f {
                    Frame::Function(name) => Some(name),
                    _ => None,
                }) {
                    Some(name) => {
                        if let Some((&key, _)) = functions.get_key_value(&**name) {
                            shifted.insert(key);
                        }
                    }
                    None => top_shifted = true,
                }
            }
        }
        let mut top = Args {
            vals: Vec::new(),
            rest_unknown: top_shifted,
        };
        if !top_shifted {
            for a in &entry.args {
                top.push(Some(a.clone()));
            }
        }
        Walk {
            script,
            reached: vec![false; script.commands.len()],
            top,
            vars: variables(script),
            functions,
            shifted,
            visits: HashMap::new(),
            queue: Vec::new(),
            all_called: false,
            glob_budget: MAX_GLOB_WORK,
        }
    }

    fn walk(&mut self, nodes: &'a [Node], args: &Args) {
        for node in nodes {
            match node {
                Node::Command { index, inner } => {
                    self.walk(inner, args);
                    if let Some(r) = self.reached.get_mut(*index) {
                        *r = true;
                    }
                    if let Some(c) = self.script.commands.get(*index) {
                        self.calls(c, args);
                    }
                }
                Node::Block(v) => self.walk(v, args),
                Node::Case { subject, branches } => self.case(subject, branches, args),
            }
        }
    }

    fn case(&mut self, subject: &Word, branches: &'a [Branch], args: &Args) {
        // The subject is not split or globbed: without expansions, its text is its value.
        let value = if subject.expands {
            self.word_value(subject, args)
        } else {
            Some(subject.text.clone())
        };
        let Some(value) = value else {
            for b in branches {
                self.walk(&b.body, args);
            }
            return;
        };
        let mut fall = Match::No;
        for b in branches {
            let mut tested = Match::No;
            for p in &b.patterns {
                let m = if p.expands {
                    Match::Maybe
                } else {
                    glob::matches(&p.glob, &value, &mut self.glob_budget)
                };
                tested = tested.max(m);
            }
            let m = fall.max(tested);
            if m == Match::No {
                continue;
            }
            self.walk(&b.body, args);
            fall = if b.end == BranchEnd::FallThrough {
                m
            } else {
                Match::No
            };
            if m == Match::Yes && b.end == BranchEnd::Break {
                return;
            }
        }
    }

    /// Follows a call of one of the script's functions by `c`.
    fn calls(&mut self, c: &Command, args: &Args) {
        let Some(first) = c.words.first() else {
            return;
        };
        let name = if first.literal {
            first.text.clone()
        } else if !first.expands {
            // A glob names files, not functions.
            return;
        } else {
            match first.whole_parameter().map(|e| self.resolve(e, args, 0)) {
                Some(Value::Known(v)) => v,
                Some(Value::Unset) => return,
                _ => {
                    self.call_all();
                    return;
                }
            }
        };
        if self.functions.contains_key(name.as_str()) {
            let call_args = self.call_args(c.words.get(1..).unwrap_or_default(), args);
            self.call(&name, call_args);
        }
    }

    fn call(&mut self, name: &str, args: Args) {
        let Some((&key, _)) = self.functions.get_key_value(name) else {
            return;
        };
        let args = if self.shifted.contains(key) {
            Args::unknown()
        } else {
            args
        };
        match self.visits.get_mut(key) {
            None => {
                self.visits.insert(key, args.clone());
                self.queue.push((key, args));
            }
            Some(prev) if *prev == args || *prev == Args::unknown() => {}
            Some(prev) => {
                *prev = Args::unknown();
                self.queue.push((key, Args::unknown()));
            }
        }
    }

    /// A command name the walk cannot resolve may be any function.
    fn call_all(&mut self) {
        if std::mem::replace(&mut self.all_called, true) {
            return;
        }
        let names: Vec<&'a str> = self.functions.keys().copied().collect();
        for name in names {
            self.call(name, Args::unknown());
        }
    }

    /// The positional parameters a call passes.
    fn call_args(&self, words: &[Word], args: &Args) -> Args {
        let mut out = Args {
            vals: Vec::new(),
            rest_unknown: false,
        };
        for w in words {
            if w.literal {
                out.push(Some(w.text.clone()));
                continue;
            }
            let Some(e) = w.whole_parameter() else {
                // Unknown, and unquoted it may split into any number of fields.
                out.push(None);
                if !w.quoted {
                    out.rest_unknown = true;
                    break;
                }
                continue;
            };
            if matches!(e, "$@" | "${@}" | "$*" | "${*}") {
                for v in &args.vals {
                    out.push(v.clone());
                }
                if args.rest_unknown {
                    out.rest_unknown = true;
                    break;
                }
                continue;
            }
            match self.resolve(e, args, 0) {
                Value::Known(v) if w.quoted => out.push(Some(v)),
                Value::Known(v) => {
                    for field in v.split([' ', '\t', '\n']).filter(|f| !f.is_empty()) {
                        out.push(Some(field.to_string()));
                    }
                }
                Value::Unset if w.quoted => out.push(Some(String::new())),
                Value::Unset => {}
                Value::Unknown => {
                    out.push(None);
                    if !w.quoted {
                        out.rest_unknown = true;
                        break;
                    }
                }
            }
        }
        out
    }

    /// The value of a word that is literal or one parameter expansion; `None`: unknown.
    fn word_value(&self, w: &Word, args: &Args) -> Option<String> {
        if w.literal {
            return Some(w.text.clone());
        }
        match self.resolve(w.whole_parameter()?, args, 0) {
            Value::Known(v) => Some(v),
            Value::Unset => Some(String::new()),
            Value::Unknown => None,
        }
    }

    /// The value of the parameter expansion `text` (`$1`, `${1:-start}`, `$ACTION`).
    fn resolve(&self, text: &str, args: &Args, hops: u32) -> Value {
        let Some((name, op, word)) = split_expansion(text) else {
            return Value::Unknown;
        };
        let base = if let Ok(n) = name.parse::<usize>() {
            if n == 0 {
                Value::Unknown
            } else {
                args.get(n)
            }
        } else if name == "#" && !args.rest_unknown {
            Value::Known(args.vals.len().to_string())
        } else {
            match self.vars.get(name) {
                Some(Var::Literal(v)) => Value::Known((*v).to_string()),
                Some(Var::Alias(e)) if hops < MAX_ALIAS => self.resolve(e, &self.top, hops + 1),
                // Unassigned in the script: it may come from the environment.
                _ => Value::Unknown,
            }
        };
        let alt = || default_value(word);
        match (op, base) {
            (_, Value::Unknown) => Value::Unknown,
            ("", Value::Unset) => Value::Known(String::new()),
            ("", v) => v,
            (":-" | ":=", Value::Known(v)) if !v.is_empty() => Value::Known(v),
            (":-" | ":=", _) => alt(),
            ("-" | "=", Value::Known(v)) => Value::Known(v),
            ("-" | "=", Value::Unset) => alt(),
            (":+", Value::Known(v)) if !v.is_empty() => alt(),
            (":+", _) => Value::Known(String::new()),
            ("+", Value::Known(_)) => alt(),
            ("+", Value::Unset) => Value::Known(String::new()),
            _ => Value::Unknown,
        }
    }
}

/// `$NAME`, `$1`, `${NAME}`, `${NAME<op>word}` → (name, op, word); op is `""` without one,
/// `"?"` for an operator the walk does not evaluate.
fn split_expansion(text: &str) -> Option<(&str, &str, &str)> {
    let rest = text.strip_prefix('$')?;
    let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return Some((rest, "", ""));
    };
    let len = inner
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(inner.len());
    if len == 0 {
        // `${#x}`, `${@}`…: only the special parameters alone are followed.
        return Some((inner, if inner.len() == 1 { "" } else { "?" }, ""));
    }
    let (name, tail) = inner.split_at(len);
    for op in [":-", ":=", ":+", "-", "=", "+"] {
        if let Some(word) = tail.strip_prefix(op) {
            return Some((name, op, word));
        }
    }
    Some((name, if tail.is_empty() { "" } else { "?" }, ""))
}

/// The word of `${X:-word}`, when it is literal (quotes removed).
fn default_value(word: &str) -> Value {
    if word.contains(['$', '`', '\\']) {
        return Value::Unknown;
    }
    Value::Known(word.chars().filter(|&c| c != '"' && c != '\'').collect())
}

/// `shift`, or `set` with operands (`set -- a b`, `set a`): the positional parameters change.
fn changes_positional(c: &Command) -> bool {
    match c.name() {
        Some("shift") => true,
        Some("set") => {
            let mut words = c.words.iter().skip(1);
            while let Some(w) = words.next() {
                let t = w.text.as_str();
                if t == "--" || t == "-" || !(t.starts_with('-') || t.starts_with('+')) {
                    return true;
                }
                if t == "-o" || t == "+o" {
                    words.next();
                }
            }
            false
        }
        _ => false,
    }
}

/// The variables the walk can follow: assigned exactly once in the whole script, by a
/// top-level, unconditional assignment (or `export`/`readonly NAME=…`), from a literal or
/// one expansion. Any other assignment (in a function, a branch, `read`, `for`, `local`…)
/// makes the variable unknown.
fn variables(script: &Script) -> HashMap<&str, Var<'_>> {
    let mut seen: HashMap<&str, (u32, Var)> = HashMap::new();
    fn record<'a>(seen: &mut HashMap<&'a str, (u32, Var<'a>)>, name: &'a str, var: Var<'a>) {
        let e = seen.entry(name).or_insert((0, var));
        e.0 = e.0.saturating_add(1);
    }
    for c in &script.commands {
        let top = c.context.is_empty();
        for a in &c.assignments {
            let var = if top && c.words.is_empty() {
                assigned(a)
            } else {
                Var::Unknown
            };
            record(&mut seen, name_of(&a.text), var);
        }
        let args = c.words.get(1..).unwrap_or_default();
        match c.name() {
            Some("export" | "readonly") => {
                for w in args.iter().filter(|w| w.text.contains('=')) {
                    let var = if top { assigned(w) } else { Var::Unknown };
                    record(&mut seen, name_of(&w.text), var);
                }
            }
            Some("local" | "typeset" | "declare" | "read" | "getopts" | "unset") => {
                for w in args.iter().filter(|w| !w.text.starts_with('-')) {
                    record(&mut seen, name_of(&w.text), Var::Unknown);
                }
            }
            _ => {}
        }
    }
    for name in &script.loop_vars {
        record(&mut seen, name.as_str(), Var::Unknown);
    }
    seen.into_iter()
        .map(|(name, (n, var))| (name, if n == 1 { var } else { Var::Unknown }))
        .collect()
}

fn name_of(text: &str) -> &str {
    text.split('=').next().unwrap_or_default()
}

/// What `NAME=value` assigns, as far as the walk follows it.
fn assigned(w: &Word) -> Var<'_> {
    if let Some(e) = w.sole_parameter() {
        return Var::Alias(e);
    }
    match w.text.split_once('=') {
        Some((_, value)) if w.literal => Var::Literal(value),
        _ => Var::Unknown,
    }
}
