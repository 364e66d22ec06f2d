//! Entry names of the archive formats (tar, cpio, zip): one spelling for every path, so that a
//! hard link's target matches the name its file was written under, and the problems the
//! extraction tools warn about (absolute names, names that are not UTF-8) reported.

/// A member name as the archive stores it, cleaned: `.` components and repeated or leading
/// slashes dropped (`./etc//passwd` and `/etc/passwd` are `etc/passwd`); `..` is kept for the
/// jail to refuse. The second value says what was wrong with the stored name, if anything.
pub(crate) fn clean(raw: &[u8]) -> (String, Option<&'static str>) {
    let text = String::from_utf8_lossy(raw);
    let mut why = None;
    if matches!(text, std::borrow::Cow::Owned(_)) {
        why = Some("the name is not UTF-8 (invalid bytes replaced)");
    }
    if raw.first() == Some(&b'/') {
        why = Some("an absolute name (extracted relative to the archive, as tar -x and cpio --no-absolute-filenames do)");
    }
    let name = text
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/");
    (name, why)
}

/// The devices, pipes and sockets an archive holds: recorded, never created, so the jail
/// cannot see that a later member would be created under one, or over one.
#[derive(Default)]
pub(crate) struct Specials(std::collections::BTreeSet<String>);

impl Specials {
    /// Records a special file's cleaned name.
    pub(crate) fn add(&mut self, name: &str) {
        self.0.insert(name.to_string());
    }

    /// Why `name` (cleaned) cannot be extracted: a special file holds its path or a parent.
    pub(crate) fn blocks(&self, name: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut at = 0;
        loop {
            let end = name[at..].find('/').map_or(name.len(), |i| at + i);
            let prefix = &name[..end];
            if self.0.contains(prefix) {
                return Some(if end == name.len() {
                    format!("{name}: a second member of that name, after a device, pipe or socket; not extracted")
                } else {
                    format!("{name}: {prefix} is a device, pipe or socket in this archive, not a directory (the device could not create it); not extracted")
                });
            }
            if end == name.len() {
                return None;
            }
            at = end + 1;
        }
    }
}

/// Why a device number cannot be a Linux one (12 bits of major, 20 of minor: what the kernel
/// and mknod accept), if it cannot.
pub(crate) fn bad_device(d: &crate::tree::Device) -> Option<String> {
    (d.major > 0xfff || d.minor > 0xf_ffff).then(|| {
        format!(
            "device number {}:{} is outside Linux's range (12-bit major, 20-bit minor): the device would see another device, or none",
            d.major, d.minor
        )
    })
}

/// The bytes of a fixed-size header field up to its first NUL.
pub(crate) fn field(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// Parses an octal number field (leading spaces, trailing spaces and NULs allowed).
pub(crate) fn octal(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field(b)).ok()?;
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Adds `[a, b)` to a list of ranges kept in order, merging it with the last one when they
/// touch.
pub(crate) fn add_range(ranges: &mut Vec<(u64, u64)>, a: u64, b: u64) {
    if b <= a {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.1 >= a => last.1 = last.1.max(b),
        _ => ranges.push((a, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_flagged() {
        assert_eq!(clean(b"./etc//passwd"), ("etc/passwd".into(), None));
        assert!(clean(b"/abs/x").1.is_some());
        assert_eq!(clean(b"/abs/x").0, "abs/x");
        assert_eq!(clean(b"../../escape").0, "../../escape");
        assert!(clean(b"\xff").1.is_some());
        assert_eq!(octal(b"0000644 \0"), Some(0o644));
        assert_eq!(octal(b"  12\0"), Some(0o12));
        assert_eq!(octal(b"9"), None);
        let mut r = Vec::new();
        add_range(&mut r, 0, 10);
        add_range(&mut r, 10, 20);
        add_range(&mut r, 30, 40);
        assert_eq!(r, [(0, 20), (30, 40)]);
        let mut sp = Specials::default();
        assert!(sp.blocks("dev/null").is_none());
        sp.add("dev/null");
        assert!(sp.blocks("dev/null").is_some());
        assert!(sp.blocks("dev/null/x").is_some());
        assert!(sp.blocks("dev/nullx").is_none());
        assert!(sp.blocks("dev").is_none());
    }
}
