//! Version orders: how upstream projects, Debian and semantic versioning compare versions.
//!
//! Advisory ranges are only as good as the comparison behind them. `1.0.1` < `1.0.1g`
//! (OpenSSL's letter releases), `9.2p1` < `9.8p1` (OpenSSH's portable releases),
//! `1.36.0-rc1` < `1.36.0`, `2022.83` < `2024.84` (Dropbear), `4.14.241` > `4.14.99`: the
//! [`Order::Upstream`] order gets all of them right. Debian versions (`1:9.2p1-2+deb12u3`)
//! follow dpkg's algorithm, [`Order::Debian`].

use std::cmp::Ordering;

/// Which comparison a version string is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Dotted numbers with letter suffixes, the way C projects number releases
    /// (OpenSSL, OpenSSH, BusyBox, Dropbear, the kernel, U-Boot); also covers SemVer
    /// (pre-release tags sort before the release, build metadata is ignored).
    Upstream,
    /// dpkg's order: `[epoch:]upstream[-revision]`, `~` before everything.
    Debian,
}

/// Compares `a` and `b` in `order`.
pub fn compare(order: Order, a: &str, b: &str) -> Ordering {
    match order {
        Order::Upstream => upstream(a, b),
        Order::Debian => debian(a, b),
    }
}

/// A token of an upstream version.
#[derive(Debug, PartialEq, Eq)]
enum Tok<'a> {
    Num(&'a str),
    /// A pre-release marker (`alpha`, `beta`, `rc`, `pre`, `dev`): sorts before the end.
    Pre(&'a str),
    Word(&'a str),
}

fn tokens(v: &str) -> Vec<Tok<'_>> {
    // Build metadata (`+...`) never orders (SemVer §10).
    let v = v.split('+').next().unwrap_or(v);
    let v = v.trim_start_matches(['v', 'V']);
    let mut out = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Num(&v[start..i]));
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let w = &v[start..i];
            let lower = w.to_ascii_lowercase();
            if ["alpha", "beta", "rc", "pre", "dev", "a", "b"].contains(&lower.as_str())
                && (lower.len() > 1 || b.get(i).is_some_and(u8::is_ascii_digit))
                && start > 0
                && !b[start - 1].is_ascii_digit()
            {
                // `-rc1`, `.beta2`, `-a1`: a pre-release. A letter glued to a number
                // (`1.0.1g`, `9.2p1`) is a release suffix instead.
                out.push(Tok::Pre(w));
            } else {
                out.push(Tok::Word(w));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn num_cmp(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn upstream(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    let mut i = 0;
    loop {
        match (ta.get(i), tb.get(i)) {
            (None, None) => return Ordering::Equal,
            // The end sorts after a pre-release marker and before anything else.
            (None, Some(Tok::Pre(_))) => return Ordering::Greater,
            (Some(Tok::Pre(_)), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x, y) {
                    (Tok::Num(p), Tok::Num(q)) => num_cmp(p, q),
                    (Tok::Word(p), Tok::Word(q)) | (Tok::Pre(p), Tok::Pre(q)) => {
                        p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase())
                    }
                    // A pre-release sorts before any number or suffix at the same place.
                    (Tok::Pre(_), _) => Ordering::Less,
                    (_, Tok::Pre(_)) => Ordering::Greater,
                    // `1.0.1` then `1.0.1g`: a number continues, a letter suffixes; numbers
                    // are later components and sort after letters (`1.1` > `1.0z`).
                    (Tok::Num(_), Tok::Word(_)) => Ordering::Greater,
                    (Tok::Word(_), Tok::Num(_)) => Ordering::Less,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
        i += 1;
    }
}

/// Splits a Debian version into epoch, upstream and revision.
pub fn debian_parts(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), r)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// True when `v` states an epoch.
pub fn has_epoch(v: &str) -> bool {
    debian_parts(v).0 != 0 || v.contains(':')
}

fn debian(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = debian_parts(a);
    let (eb, ub, rb) = debian_parts(b);
    ea.cmp(&eb)
        .then_with(|| dpkg_part(ua, ub))
        .then_with(|| dpkg_part(ra, rb))
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs; `~` sorts before the end,
/// letters before other characters.
fn dpkg_part(a: &str, b: &str) -> Ordering {
    fn weight(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (si, sj) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let o = (i - si)
            .cmp(&(j - sj))
            .then_with(|| a[si..i].cmp(&b[sj..j]));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The upstream part of a package version: `1:9.2p1-2+deb12u3` → `9.2p1`, OpenWrt's
/// `2022.82-5` → `2022.82`.
pub fn upstream_of_package(v: &str) -> &str {
    debian_parts(v).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn upstream_orders() {
        for (a, b, o) in [
            ("1.0.1", "1.0.1g", Less),
            ("1.0.1g", "1.0.1f", Greater),
            ("1.0.1u", "1.0.2", Less),
            ("1.1.1w", "3.0.0", Less),
            ("3.0.7", "3.0.22", Less),
            ("9.2p1", "9.8p1", Less),
            ("9.3p1", "9.3p2", Less),
            ("4.4p1", "8.5p1", Less),
            ("1.36.0-rc1", "1.36.0", Less),
            ("1.36.0", "1.36.0.1", Less),
            ("2.0.0-alpha", "2.0.0-beta", Less),
            ("1.0.0+build5", "1.0.0", Equal),
            ("2022.83", "2024.84", Less),
            ("4.14.241", "4.14.99", Greater),
            ("5.10", "5.10.0", Less),
            ("2019.10", "2019.07", Greater),
            ("v1.2.3", "1.2.3", Equal),
            ("0.9.33.2", "0.9.33", Greater),
        ] {
            assert_eq!(compare(Order::Upstream, a, b), o, "{a} vs {b}");
            assert_eq!(compare(Order::Upstream, b, a), o.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn debian_orders() {
        for (a, b, o) in [
            ("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10", Less),
            ("1:9.2p1-2+deb12u3", "9.9p1-1", Greater),
            ("1.0~rc1-1", "1.0-1", Less),
            ("2.36-9+deb12u3", "2.36-9+deb12u14", Greater.reverse()),
            ("2.36-9", "2.36-9+deb12u1", Less),
            ("1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1", Greater),
            ("1.2.13.dfsg-1", "1.2.13.dfsg-1", Equal),
            ("0", "1:0", Less),
        ] {
            assert_eq!(compare(Order::Debian, a, b), o, "{a} vs {b}");
            assert_eq!(compare(Order::Debian, b, a), o.reverse(), "{b} vs {a}");
        }
        assert_eq!(upstream_of_package("1:9.2p1-2+deb12u3"), "9.2p1");
        assert_eq!(upstream_of_package("2022.82-5"), "2022.82");
    }
}
