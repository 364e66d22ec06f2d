//! How matchers read text: files that are text to the device are text here, whatever stray
//! bytes they hold.

/// True for executables and archives recognised by their magic (boot files of these kinds are
/// not read as scripts). A NUL byte or invalid UTF-8 alone does not make a file binary: a boot
/// script with one NUL in a comment still runs.
pub(crate) fn is_binary_format(content: &[u8]) -> bool {
    const MAGICS: [&[u8]; 6] = [
        b"\x7fELF",
        b"\x1f\x8b",
        b"hsqs",
        b"\xfd7zXZ\0",
        b"\x28\xb5\x2f\xfd",
        b"PK\x03\x04",
    ];
    MAGICS.iter().any(|m| content.starts_with(m))
}

/// Where a shell-style comment starts on `line`: a `#` outside quotes at the start of a word
/// (the start of the line, or after a blank or one of `;&|()`). `[ $# -gt 0 ]` and `a#b`
/// hold no comment.
pub(crate) fn comment_start(line: &[u8]) -> Option<usize> {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut word_start = true;
    for (i, &b) in line.iter().enumerate() {
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        match b {
            b'\\' if !single => escaped = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && word_start => return Some(i),
            _ => {}
        }
        word_start =
            !single && !double && matches!(b, b' ' | b'\t' | b';' | b'&' | b'|' | b'(' | b')');
    }
    None
}

/// True for ELF files, which text rules do not read (their strings are format strings, not
/// settings). Only a real ELF header counts; any other bytes in front of a configuration
/// line do not hide it.
pub(crate) fn is_elf(content: &[u8]) -> bool {
    content.starts_with(b"\x7fELF")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_start_only_at_a_word() {
        assert_eq!(comment_start(b"# all"), Some(0));
        assert_eq!(comment_start(b"x=1 # c"), Some(4));
        assert_eq!(comment_start(b"[ $# -ge 0 ] && telnetd"), None);
        assert_eq!(comment_start(b"echo a#b"), None);
        assert_eq!(comment_start(b"echo '# not' \"# not\" \\# not"), None);
        assert_eq!(comment_start(b"a;# c"), Some(2));
    }

    #[test]
    fn stray_bytes_do_not_make_a_script_binary() {
        assert!(!is_binary_format(b"#!/bin/sh\n# \0\ntelnetd\n"));
        assert!(is_binary_format(b"\x7fELF\x01\x01"));
    }
}
