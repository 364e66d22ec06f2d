//! Strings a command runs as shell commands: `eval WORDS…`, `sh -c STRING`, `trap STRING SIG…`,
//! also behind `exec`, `nohup`, `env NAME=value`, `nice`, `setsid`, `command`, `time`.
//! Only literal strings can be read; an expanded one (`eval "$x"`) is unknown until run time.

use super::Word;

/// Shells whose `-c STRING` runs STRING.
const SHELLS: &[&str] = &["sh", "ash", "bash", "dash", "ksh", "mksh", "hush", "zsh"];

/// Commands that run their operands as a command.
const WRAPPERS: &[&str] = &["exec", "nohup", "env", "nice", "setsid", "command", "time"];

/// The text a command runs and the line it starts on, when it is literal.
pub(super) fn string(words: &[Word], lines: &[u32]) -> Option<(String, u32)> {
    let first = unwrap(words)?;
    let (words, lines) = (words.get(first..)?, lines.get(first..).unwrap_or_default());
    let name = words.first().filter(|w| w.literal)?;
    let base = name.text.rsplit('/').next().unwrap_or_default();
    let at = |i: usize| lines.get(i).copied().unwrap_or_default();
    match base {
        "eval" => {
            let args = words.get(1..).filter(|a| !a.is_empty())?;
            if !args.iter().all(|w| w.literal) {
                return None;
            }
            let text: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
            Some((text.join(" "), at(1)))
        }
        "trap" => {
            let i = usize::from(words.get(1).is_some_and(|w| w.text == "--")) + 1;
            let action = words
                .get(i)
                .filter(|w| w.literal && !w.text.starts_with('-'))?;
            // `trap ACTION SIG…`: a lone argument is a signal to reset, not an action.
            words.get(i + 1)?;
            Some((action.text.clone(), at(i)))
        }
        _ => {
            let mut i = 1;
            if base == "busybox" {
                words.get(1).filter(|w| SHELLS.contains(&w.text.as_str()))?;
                i = 2;
            } else if !SHELLS.contains(&base) {
                return None;
            }
            let mut c = false;
            while let Some(w) = words.get(i) {
                let t = w.text.as_str();
                if t == "--" {
                    i += 1;
                    break;
                }
                if t.starts_with("--") {
                    i += 1;
                    continue;
                }
                if !(t.starts_with('-') || t.starts_with('+')) || t.len() < 2 {
                    break;
                }
                c |= t.starts_with('-') && t.contains('c');
                // `-o NAME` takes the next word.
                i += if t.ends_with('o') { 2 } else { 1 };
            }
            let command = words.get(i).filter(|w| c && w.literal)?;
            Some((command.text.clone(), at(i)))
        }
    }
}

/// The index of the command a chain of wrappers runs (`nohup env A=1 sh -c …` gives 3).
fn unwrap(words: &[Word]) -> Option<usize> {
    let mut i = 0;
    loop {
        let w = words.get(i).filter(|w| w.literal)?;
        let base = w.text.rsplit('/').next().unwrap_or_default();
        if !WRAPPERS.contains(&base) {
            return Some(i);
        }
        i += 1;
        // Options (`nice -n 5` takes a value) and, for `env`, its assignments.
        while let Some(t) = words.get(i).map(|w| w.text.as_str()) {
            if t.starts_with('-') {
                i += if base == "nice" && t == "-n" { 2 } else { 1 };
            } else if base == "env" && t.contains('=') {
                i += 1;
            } else {
                break;
            }
        }
    }
}
