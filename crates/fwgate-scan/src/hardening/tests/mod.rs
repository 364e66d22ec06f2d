//! Unit tests over ELF files built here, byte by byte, for machines no compiler on the build
//! machine targets (MIPS big-endian, PowerPC, RISC-V…). The CLI tests (tests/hardening.rs)
//! check real binaries from `cc` and Debian against checksec.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use object::elf as abi;

use super::*;

mod elf_builder;

use elf_builder::{Spec, Val};

fn check(spec: &Spec) -> Hardening {
    analyze(&spec.build()).unwrap()
}

#[test]
fn a_hardened_pie_is_yes_everywhere() {
    let h = check(&Spec {
        dynsyms: vec![
            ("__stack_chk_fail", true),
            ("__memcpy_chk", true),
            ("printf", true),
        ],
        ..Spec::pie()
    });
    assert_eq!(h.nx.status, Status::Yes);
    assert_eq!(h.pie.status, Status::Yes);
    assert_eq!(h.relro.status, Status::Full);
    assert_eq!(h.canary.status, Status::Yes);
    assert_eq!(h.fortify_source.status, Status::Yes);
    assert_eq!(h.rpath.status, Status::No);
    assert_eq!(h.stripped.status, Status::Yes);
    assert_eq!((h.fortified, h.fortifiable), (1, 2));
    assert_eq!(h.interpreter.as_deref(), Some("/lib/ld.so"));
    assert_eq!(
        (h.elf_type, h.static_, h.bits, h.endian),
        ("pie", false, 64, "little")
    );
    assert!(h.notes.is_empty(), "{:?}", h.notes);
}

#[test]
fn every_architecture_is_named_and_read_in_its_byte_order() {
    let cases = [
        (abi::EM_ARM, false, false, "arm"),
        (abi::EM_AARCH64, true, false, "aarch64"),
        (abi::EM_MIPS, false, true, "mips"),
        (abi::EM_MIPS, false, false, "mipsel"),
        (abi::EM_MIPS, true, true, "mips64"),
        (abi::EM_X86_64, true, false, "x86_64"),
        (abi::EM_386, false, false, "i386"),
        (abi::EM_PPC, false, true, "powerpc"),
        (abi::EM_PPC64, true, false, "powerpc64le"),
        (abi::EM_RISCV, true, false, "riscv64"),
        (abi::EM_RISCV, false, false, "riscv32"),
        (0x1234, false, true, "em4660"),
    ];
    for (machine, class64, big, name) in cases {
        let spec = Spec {
            dynsyms: vec![("__stack_chk_guard", true), ("__printf_chk", true)],
            dynamic: Some(vec![
                (abi::DT_NEEDED, Val::Str("libc.so.6")),
                (abi::DT_RUNPATH, Val::Str("/opt/lib")),
            ]),
            ..Spec::pie().on(machine, class64, big)
        };
        let h = check(&spec);
        assert_eq!(h.arch, name);
        assert_eq!(h.bits, if class64 { 64 } else { 32 }, "{name}");
        assert_eq!(h.endian, if big { "big" } else { "little" }, "{name}");
        // Names, flags and strings come out right only if read in the file's byte order.
        assert_eq!(h.canary.status, Status::Yes, "{name}");
        assert_eq!(h.fortify_source.status, Status::Yes, "{name}");
        assert_eq!(h.runpath_value.as_deref(), Some("/opt/lib"), "{name}");
        assert_eq!(h.relro.status, Status::Partial, "{name}: no BIND_NOW");
        assert_eq!(h.pie.status, Status::Yes, "{name}: PT_INTERP, no SONAME");
    }
}

#[test]
fn nx_follows_pf_x_of_gnu_stack_and_the_kernel_default_without_it() {
    let rwx = abi::PF_R | abi::PF_W | abi::PF_X;
    assert_eq!(
        check(&Spec {
            stack: Some(rwx),
            ..Spec::pie()
        })
        .nx
        .status,
        Status::No
    );
    // The kernel looks at PF_X alone (checksec's grep for "RWE" would say yes here).
    let x = check(&Spec {
        stack: Some(abi::PF_X),
        ..Spec::pie()
    });
    assert_eq!(x.nx.status, Status::No);
    for (machine, class64, word) in [
        (abi::EM_ARM, false, "READ_IMPLIES_EXEC"),
        (abi::EM_MIPS, false, "RI/XI"),
        (abi::EM_AARCH64, true, "5.8"),
    ] {
        let h = check(&Spec {
            stack: None,
            ..Spec::pie().on(machine, class64, false)
        });
        assert_eq!(h.nx.status, Status::No);
        assert!(h.nx.reason.as_deref().unwrap().contains(word), "{:?}", h.nx);
    }
}

#[test]
fn pie_tells_executables_from_libraries_and_objects() {
    let with = |e_type, interp, dynamic: Vec<(u32, Val)>| {
        check(&Spec {
            e_type,
            interp,
            dynamic: Some(dynamic),
            ..Spec::pie()
        })
        .pie
        .status
    };
    let lib = || Val::Str("libfoo.so.1");
    assert_eq!(with(abi::ET_EXEC, Some("/lib/ld.so"), vec![]), Status::No);
    assert_eq!(
        with(abi::ET_DYN, None, vec![(abi::DT_DEBUG, Val::Num(0))]),
        Status::Yes
    );
    assert_eq!(
        with(abi::ET_DYN, None, vec![(abi::DT_SONAME, lib())]),
        Status::Dso
    );
    // A library that can also be run (libc.so.6 has PT_INTERP) is still a library.
    assert_eq!(
        with(
            abi::ET_DYN,
            Some("/lib/ld.so"),
            vec![(abi::DT_SONAME, lib())]
        ),
        Status::Dso
    );
    let pie_flag = (abi::DT_FLAGS_1, Val::Num(abi::DF_1_PIE.into()));
    assert_eq!(with(abi::ET_DYN, None, vec![pie_flag]), Status::Yes);
    assert_eq!(with(abi::ET_REL, None, vec![]), Status::Rel);
}

#[test]
fn relro_is_full_only_with_immediate_binding() {
    let relro = |relro, dynamic: Vec<(u32, Val)>| {
        check(&Spec {
            relro,
            dynamic: Some(dynamic),
            ..Spec::pie()
        })
        .relro
        .status
    };
    assert_eq!(
        relro(false, vec![(abi::DT_BIND_NOW, Val::Num(0))]),
        Status::No
    );
    assert_eq!(relro(true, vec![]), Status::Partial);
    assert_eq!(
        relro(true, vec![(abi::DT_BIND_NOW, Val::Num(0))]),
        Status::Full
    );
    let flags = (abi::DT_FLAGS, Val::Num(abi::DF_BIND_NOW.into()));
    assert_eq!(relro(true, vec![flags]), Status::Full);
    let flags_1 = (abi::DT_FLAGS_1, Val::Num(abi::DF_1_NOW.into()));
    assert_eq!(relro(true, vec![flags_1]), Status::Full);
    let other = (abi::DT_FLAGS, Val::Num(abi::DF_ORIGIN.into()));
    assert_eq!(relro(true, vec![other]), Status::Partial);
}

#[test]
fn a_stripped_static_binary_has_unknown_canary_and_fortify_never_no() {
    let h = check(&Spec::stripped_static());
    assert!(h.static_);
    assert_eq!(h.canary.status, Status::Unknown);
    assert_eq!(
        h.canary.reason.as_deref(),
        Some("stripped static binary: no symbols to look for the canary")
    );
    assert_eq!(h.fortify_source.status, Status::Unknown);
    assert_eq!(h.stripped.status, Status::Yes);
    assert_eq!(h.pie.status, Status::No);
    // With its .symtab kept, the answer is known, both ways.
    let kept = |names| {
        check(&Spec {
            symtab: Some(names),
            ..Spec::stripped_static()
        })
    };
    let h = kept(vec!["main", "__stack_chk_guard", "__sprintf_chk"]);
    assert_eq!(
        (h.canary.status, h.fortify_source.status),
        (Status::Yes, Status::Yes)
    );
    assert_eq!(h.stripped.status, Status::No);
    let h = kept(vec!["main", "memcpy"]);
    assert_eq!(
        (h.canary.status, h.fortify_source.status),
        (Status::No, Status::No)
    );
}

#[test]
fn a_dynamic_binary_without_the_imports_has_no_canary() {
    let h = check(&Spec {
        dynsyms: vec![("strcpy", true), ("system", true)],
        ..Spec::pie()
    });
    assert_eq!(h.canary.status, Status::No);
    assert_eq!(h.fortify_source.status, Status::No);
    assert_eq!(h.dangerous, ["strcpy", "system"]);
    // checksec's substring match: __stack_chk_fail_local (i386, PowerPC) counts.
    let h = check(&Spec {
        dynsyms: vec![("__stack_chk_fail_local", false)],
        ..Spec::pie()
    });
    assert_eq!(h.canary.status, Status::Yes);
}

#[test]
fn dangerous_lists_imports_only_sorted_and_once() {
    let h = check(&Spec {
        dynsyms: vec![
            ("system", true),
            ("gets", true),
            ("strcpy", false),
            ("system", true),
        ],
        ..Spec::pie()
    });
    assert_eq!(h.dangerous, ["gets", "system"]);
}

#[test]
fn rpath_and_runpath_are_reported_with_their_value() {
    let h = check(&Spec {
        dynamic: Some(vec![
            (abi::DT_RPATH, Val::Str("/tmp/lib:$ORIGIN")),
            (abi::DT_NEEDED, Val::Str("libc.so.6")),
        ]),
        ..Spec::pie()
    });
    assert_eq!(
        (h.rpath.status, h.runpath.status),
        (Status::Yes, Status::No)
    );
    assert_eq!(h.rpath_value.as_deref(), Some("/tmp/lib:$ORIGIN"));
    // An empty RPATH names no directory (checksec: no).
    let h = check(&Spec {
        dynamic: Some(vec![(abi::DT_RPATH, Val::Str(""))]),
        ..Spec::pie()
    });
    assert_eq!(h.rpath.status, Status::No);
}

#[test]
fn without_section_headers_the_dynamic_symbols_are_read_as_the_loader_does() {
    let spec = Spec {
        sections: false,
        dynsyms: vec![
            ("__stack_chk_fail", true),
            ("__fprintf_chk", true),
            ("popen", true),
        ],
        ..Spec::pie().on(abi::EM_MIPS, false, true)
    };
    let h = check(&spec);
    assert!(!h.section_headers);
    assert_eq!(h.canary.status, Status::Yes);
    assert_eq!(h.fortify_source.status, Status::Yes);
    assert_eq!(h.dangerous, ["popen"]);
    assert_eq!(h.stripped.status, Status::Yes);
}

#[test]
fn strings_and_names_are_read_within_bounds() {
    // An RPATH longer than the report keeps is cut, visibly.
    let long: &'static str = Box::leak("/x".repeat(3000).into_boxed_str());
    let h = check(&Spec {
        dynamic: Some(vec![(abi::DT_RPATH, Val::Str(long))]),
        ..Spec::pie()
    });
    let v = h.rpath_value.unwrap();
    assert!(
        v.ends_with('…') && v.len() == 4096 + '…'.len_utf8(),
        "{}",
        v.len()
    );
    // Each name lookup scans at most 1024 bytes: a protector name past that is not seen,
    // which is what keeps a million names into one NUL-less table linear.
    let far: &'static str = Box::leak(format!("{}__stack_chk_fail", "a".repeat(1024)).into());
    let near: &'static str = Box::leak(format!("{}__stack_chk_fail", "a".repeat(1000)).into());
    let canary = |n| {
        check(&Spec {
            dynsyms: vec![(n, true)],
            ..Spec::pie()
        })
        .canary
        .status
    };
    assert_eq!(canary(near), Status::Yes);
    assert_eq!(canary(far), Status::No);
}

#[test]
fn not_an_elf_file_is_an_error() {
    assert!(matches!(
        analyze(b"#!/bin/sh\n"),
        Err(HardeningError::NotElf)
    ));
    assert!(matches!(analyze(b""), Err(HardeningError::NotElf)));
    assert!(matches!(
        analyze(b"\x7fELF"),
        Err(HardeningError::Malformed { .. })
    ));
}

#[test]
fn every_truncation_and_byte_flip_of_a_file_is_survived() {
    let spec = Spec {
        dynsyms: vec![("__stack_chk_fail", true), ("__memcpy_chk", true)],
        symtab: Some(vec!["main"]),
        dynamic: Some(vec![
            (abi::DT_RPATH, Val::Str("/x")),
            (abi::DT_DEBUG, Val::Num(0)),
        ]),
        ..Spec::pie().on(abi::EM_PPC, false, true)
    };
    let good = spec.build();
    assert!(analyze(&good).is_ok());
    for len in 0..good.len() {
        let _ = analyze(&good[..len]);
    }
    // Deterministic pseudo-random corruption (xorshift), every outcome allowed but a panic.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut bad = good.clone();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x as usize) % bad.len();
            bad[at] = (x >> 32) as u8;
        }
        let _ = analyze(&bad);
    }
}

#[test]
fn header_counts_larger_than_the_file_are_refused_not_allocated() {
    let mut f = Spec::pie().build();
    // e_phnum = 0xfffe program headers of 56 bytes: 3.6 MB the file does not have.
    f[56..58].copy_from_slice(&0xfffeu16.to_le_bytes());
    assert!(matches!(analyze(&f), Err(HardeningError::Malformed { .. })));
    // e_shnum = 0 defers to section 0's sh_size: u64::MAX sections.
    let mut f = Spec::pie().build();
    let shoff = u64::from_le_bytes(f[40..48].try_into().unwrap()) as usize;
    f[60..62].copy_from_slice(&0u16.to_le_bytes());
    f[shoff + 32..shoff + 40].copy_from_slice(&u64::MAX.to_le_bytes());
    let h = analyze(&f).unwrap();
    assert!(
        h.notes.iter().any(|n| n.contains("section headers")),
        "{:?}",
        h.notes
    );
}

#[test]
fn the_symbol_lists_are_sorted_for_binary_search() {
    assert!(names::FORTIFIED.windows(2).all(|w| w[0] < w[1]));
    assert!(names::DANGEROUS.windows(2).all(|w| w[0] < w[1]));
    assert!(names::is_fortified(b"memcpy_chk") && names::is_fortifiable(b"memcpy"));
    assert!(!names::is_fortifiable(b"memcpy_chk") && !names::is_fortified(b"memcpy"));
}

/// checksec itself on the files built here, one per machine and shape: where checksec
/// answers, fwgate answers the same, but for the deliberate `unknown` (ci/checksec-agree.sh
/// runs the same comparison on real binaries). Skipped without checksec, unless
/// FWGATE_REQUIRE_PEERS is set.
#[test]
fn checksec_agrees_on_every_machine_and_byte_order() {
    if !std::path::Path::new("/usr/bin/checksec").exists() {
        assert!(
            std::env::var_os("FWGATE_REQUIRE_PEERS").is_none(),
            "checksec is required (FWGATE_REQUIRE_PEERS is set): apt-get install checksec"
        );
        eprintln!("SKIPPED: checksec is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let machines = [
        (abi::EM_ARM, false, false),
        (abi::EM_AARCH64, true, false),
        (abi::EM_MIPS, false, true),
        (abi::EM_MIPS, false, false),
        (abi::EM_MIPS, true, true),
        (abi::EM_X86_64, true, false),
        (abi::EM_386, false, false),
        (abi::EM_PPC, false, true),
        (abi::EM_PPC64, true, true),
        (abi::EM_RISCV, true, false),
    ];
    let shapes = [
        Spec {
            dynsyms: vec![
                ("__stack_chk_fail", true),
                ("__memcpy_chk", true),
                ("memcpy", true),
            ],
            ..Spec::pie()
        },
        Spec {
            stack: Some(abi::PF_R | abi::PF_W | abi::PF_X),
            relro: false,
            e_type: abi::ET_EXEC,
            dynamic: Some(vec![
                (abi::DT_NEEDED, Val::Str("libc.so.6")),
                (abi::DT_RPATH, Val::Str("/tmp")),
            ]),
            dynsyms: vec![("strcpy", true)],
            symtab: Some(vec!["main"]),
            ..Spec::pie()
        },
        Spec {
            interp: None,
            stack: None,
            dynamic: Some(vec![
                (abi::DT_NEEDED, Val::Str("libc.so.6")),
                (abi::DT_SONAME, Val::Str("libx.so.1")),
                (abi::DT_RUNPATH, Val::Str("$ORIGIN")),
            ]),
            ..Spec::pie()
        },
        Spec {
            symtab: Some(vec!["__stack_chk_guard"]),
            ..Spec::stripped_static()
        },
        Spec::stripped_static(),
    ];
    let mut compared = 0;
    for (machine, class64, big) in machines {
        for (i, shape) in shapes.iter().enumerate() {
            let path = dir.path().join(format!("{machine}-{class64}-{big}-{i}"));
            std::fs::write(&path, shape.clone().on(machine, class64, big).build()).unwrap();
            let h = analyze(&std::fs::read(&path).unwrap()).unwrap();
            let cs = &checksec(&path);
            let symbols = if h.stripped.status == Status::Yes {
                "no"
            } else {
                "yes"
            };
            for (key, ours) in [
                ("relro", h.relro.status.as_str()),
                ("canary", h.canary.status.as_str()),
                ("nx", h.nx.status.as_str()),
                ("pie", h.pie.status.as_str()),
                ("rpath", h.rpath.status.as_str()),
                ("runpath", h.runpath.status.as_str()),
                ("symbols", symbols),
                ("fortify_source", h.fortify_source.status.as_str()),
            ] {
                let theirs = cs[key].as_str().unwrap();
                let deliberate = ours == "unknown" && theirs == "no";
                assert!(
                    ours == theirs || deliberate,
                    "{path:?} {key}: checksec {theirs}, fwgate {ours}"
                );
                compared += 1;
            }
            assert_eq!(cs["fortified"].as_str().unwrap(), h.fortified.to_string());
            assert_eq!(
                cs["fortify-able"].as_str().unwrap(),
                h.fortifiable.to_string()
            );
        }
    }
    assert_eq!(compared, 10 * 5 * 8);
}

/// checksec's JSON verdicts for the file at `path`.
fn checksec(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("checksec")
        .arg("--format=json")
        .arg(format!("--file={}", path.display()))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json[path.display().to_string()].clone()
}

/// Each deliberate difference listed in ci/checksec-agree.sh, shown on a file that has it:
/// checksec's word, then fwgate's.
#[test]
fn the_deliberate_differences_are_the_documented_ones() {
    if !std::path::Path::new("/usr/bin/checksec").exists() {
        assert!(
            std::env::var_os("FWGATE_REQUIRE_PEERS").is_none(),
            "checksec is required"
        );
        eprintln!("SKIPPED: checksec is not installed");
        return;
    }
    let needed = || (abi::DT_NEEDED, Val::Str("libc.so.6"));
    let cases = [
        (
            "exstack",
            Spec {
                stack: Some(abi::PF_X),
                ..Spec::pie()
            },
            "nx",
            "yes",
            "no",
        ),
        (
            "now",
            Spec {
                dynamic: Some(vec![
                    needed(),
                    (abi::DT_DEBUG, Val::Num(0)),
                    (abi::DT_FLAGS_1, Val::Num(abi::DF_1_NOW.into())),
                ]),
                ..Spec::pie()
            },
            "relro",
            "partial",
            "full",
        ),
        (
            "pie",
            Spec {
                interp: None,
                dynamic: Some(vec![
                    needed(),
                    (abi::DT_SONAME, Val::Str("x")),
                    (abi::DT_FLAGS_1, Val::Num(abi::DF_1_PIE.into())),
                ]),
                ..Spec::pie()
            },
            "pie",
            "dso",
            "yes",
        ),
        (
            "sstrip",
            Spec {
                sections: false,
                dynsyms: vec![("__stack_chk_fail", true)],
                ..Spec::pie()
            },
            "canary",
            "no",
            "yes",
        ),
        (
            "static",
            Spec {
                symtab: Some(vec!["__memcpy_chk"]),
                ..Spec::stripped_static()
            },
            "fortify_source",
            "no",
            "yes",
        ),
        (
            "unknown",
            Spec::stripped_static(),
            "canary",
            "no",
            "unknown",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, spec, key, theirs, ours) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, spec.build()).unwrap();
        let h = analyze(&std::fs::read(&path).unwrap()).unwrap();
        let got = match key {
            "nx" => h.nx.status,
            "relro" => h.relro.status,
            "pie" => h.pie.status,
            "canary" => h.canary.status,
            _ => h.fortify_source.status,
        };
        assert_eq!(checksec(&path)[key], theirs, "{name}: checksec's {key}");
        assert_eq!(got.as_str(), ours, "{name}: fwgate's {key}");
    }
}
