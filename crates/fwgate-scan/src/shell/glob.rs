//! Shell pattern matching for `case` (`*`, `?`, `[…]` with `!`/`^`, ranges and the common
//! `[:class:]` names; `\` escapes). Hand-written because the answer must also be "unknown"
//! (an unsupported class, or inputs too long to match in bounded time), which globset and
//! regex do not express; the matcher backtracks only to the last `*` (O(pattern × text),
//! capped).

/// Whether a pattern matches, as far as the reader can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Match {
    No,
    Maybe,
    Yes,
}

/// Matches `text` against the glob `pattern` (whole text). A match costs at most
/// pattern × text steps, taken from `budget`; when the budget cannot pay, the answer is
/// [`Match::Maybe`].
pub(super) fn matches(pattern: &str, text: &str, budget: &mut usize) -> Match {
    let cost = pattern
        .len()
        .saturating_add(1)
        .saturating_mul(text.len().saturating_add(1));
    let Some(left) = budget.checked_sub(cost) else {
        return Match::Maybe;
    };
    *budget = left;
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    if has_unknown_class(&p) {
        return Match::Maybe;
    }
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = t.get(ti) {
        if let Some(next) = step(&p, pi, c) {
            pi = next;
            ti += 1;
            continue;
        }
        if p.get(pi) == Some(&'*') {
            star = Some((pi, ti));
            pi += 1;
            continue;
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return Match::No,
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    if pi == p.len() {
        Match::Yes
    } else {
        Match::No
    }
}

/// The pattern index after matching one character `c` at `pi`, if it matches (not `*`).
fn step(p: &[char], pi: usize, c: char) -> Option<usize> {
    match *p.get(pi)? {
        '*' => None,
        '?' => Some(pi + 1),
        '[' => match bracket(p, pi, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            // No closing `]`: a literal `[`.
            None => (c == '[').then_some(pi + 1),
        },
        '\\' if pi + 1 < p.len() => (p.get(pi + 1) == Some(&c)).then_some(pi + 2),
        d => (d == c).then_some(pi + 1),
    }
}

/// A bracket expression at `pi`: whether `c` matches and the index after it; `None` when
/// the bracket does not close.
fn bracket(p: &[char], pi: usize, c: char) -> Option<(bool, usize)> {
    let mut i = pi + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let (mut hit, mut first) = (false, true);
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if ch == '[' && p.get(i + 1) == Some(&':') {
            let (name, next) = class_at(p, i)?;
            hit |= class(&name, c).unwrap_or(false);
            i = next;
            continue;
        }
        let (lo, after) = escaped(p, i)?;
        if p.get(after) == Some(&'-') && p.get(after + 1).is_some_and(|&x| x != ']') {
            let (hi, end) = escaped(p, after + 1)?;
            hit |= lo <= c && c <= hi;
            i = end;
        } else {
            hit |= c == lo;
            i = after;
        }
    }
}

/// The character at `i` (after a `\`, the escaped one) and the index after it.
fn escaped(p: &[char], i: usize) -> Option<(char, usize)> {
    match *p.get(i)? {
        '\\' => Some((*p.get(i + 1)?, i + 2)),
        ch => Some((ch, i + 1)),
    }
}

/// `[:name:]` at `i`: the name and the index after `:]`.
fn class_at(p: &[char], i: usize) -> Option<(String, usize)> {
    let start = i + 2;
    let len = p.get(start..)?.windows(2).position(|w| w == [':', ']'])?;
    let name = p.get(start..start + len)?.iter().collect();
    Some((name, start + len + 2))
}

fn class(name: &str, c: char) -> Option<bool> {
    Some(match name {
        "alpha" => c.is_ascii_alphabetic(),
        "digit" => c.is_ascii_digit(),
        "alnum" => c.is_ascii_alphanumeric(),
        "upper" => c.is_ascii_uppercase(),
        "lower" => c.is_ascii_lowercase(),
        "space" => c.is_ascii_whitespace(),
        "blank" => c == ' ' || c == '\t',
        "punct" => c.is_ascii_punctuation(),
        "xdigit" => c.is_ascii_hexdigit(),
        "cntrl" => c.is_ascii_control(),
        "print" => (' '..='~').contains(&c),
        "graph" => ('!'..='~').contains(&c),
        _ => return None,
    })
}

/// A `[:name:]`, `[=x=]` or `[.x.]` the matcher does not know.
fn has_unknown_class(p: &[char]) -> bool {
    p.windows(2).enumerate().any(|(i, w)| match w {
        ['[', ':'] => class_at(p, i).is_some_and(|(name, _)| class(&name, 'a').is_none()),
        ['[', '=' | '.'] => true,
        _ => false,
    })
}
