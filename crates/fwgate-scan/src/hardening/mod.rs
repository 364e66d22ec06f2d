//! Binary hardening of ELF files on every architecture, in checksec's vocabulary.
//!
//! [`analyze`] reads one ELF file (any class, byte order and machine) and reports NX, PIE,
//! RELRO, stack canary, FORTIFY_SOURCE, RPATH, RUNPATH and symbols the way Debian's
//! `checksec --format=json` (2.6) decides them, so that a team can switch from one to the
//! other; where checksec's `readelf | grep` cannot know, fwgate says [`Status::Unknown`] with
//! a reason instead of "no". The differences, each deliberate, are listed in
//! `ci/checksec-agree.sh`, which compares the two on real binaries.
//!
//! The input is hostile: it is read through `object`'s bounded views (see `elf.rs`), in time
//! linear in the size of its tables, and never panics.

mod elf;
mod names;
#[cfg(test)]
mod tests;

use object::elf as abi;
use serde::Serialize;

/// A property's verdict, spelled as checksec spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Present (for RPATH and RUNPATH: present, which is the bad case).
    Yes,
    /// Absent.
    No,
    /// PIE: a shared library (position independent, not an executable).
    Dso,
    /// PIE: a relocatable object (`.o`, a kernel module).
    Rel,
    /// RELRO: read-only after relocation and bound at load time.
    Full,
    /// RELRO: read-only after relocation, lazily bound.
    Partial,
    /// The file does not tell; the property's reason says why.
    Unknown,
}

impl Status {
    /// The word checksec prints (`yes`, `dso`, `partial`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Yes => "yes",
            Status::No => "no",
            Status::Dso => "dso",
            Status::Rel => "rel",
            Status::Full => "full",
            Status::Partial => "partial",
            Status::Unknown => "unknown",
        }
    }
}

/// One property: the verdict and, when it is unknown or weak, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    /// The verdict.
    pub status: Status,
    /// Why, for `Unknown` always and for a weak verdict when the file says more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Property {
    fn of(status: Status) -> Property {
        Property {
            status,
            reason: None,
        }
    }

    fn because(status: Status, reason: impl Into<String>) -> Property {
        Property {
            status,
            reason: Some(reason.into()),
        }
    }
}

/// The hardening of one ELF file.
#[derive(Debug, Clone, Serialize)]
pub struct Hardening {
    /// Architecture as `uname -m` spells it: `arm`, `aarch64`, `mips`, `mipsel`, `x86_64`,
    /// `i386`, `powerpc`, `riscv64`…; `em<N>` for a machine without a name here.
    pub arch: String,
    /// 32 or 64.
    pub bits: u8,
    /// `little` or `big`.
    pub endian: &'static str,
    /// `exec`, `pie`, `dyn` (a shared library), `rel`, `core` or `other`.
    pub elf_type: &'static str,
    /// A program that needs nothing at run time: no PT_INTERP and no DT_NEEDED (a shared
    /// library never counts as static).
    #[serde(rename = "static")]
    pub static_: bool,
    /// The program interpreter (PT_INTERP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// The file has section headers (an `sstrip`ped file has none; readelf, and so
    /// checksec, then sees no symbols at all).
    pub section_headers: bool,
    /// Non-executable stack (PT_GNU_STACK without PF_X).
    pub nx: Property,
    /// Position independent: `yes` (PIE executable), `dso`, `rel` or `no`.
    pub pie: Property,
    /// `full`, `partial` or `no`.
    pub relro: Property,
    /// Stack protector symbols present.
    pub canary: Property,
    /// Fortified (`__*_chk`) functions used.
    pub fortify_source: Property,
    /// DT_RPATH present (`yes` is the finding).
    pub rpath: Property,
    /// DT_RUNPATH present (`yes` is the finding).
    pub runpath: Property,
    /// No `.symtab` (checksec's `symbols` is the opposite).
    pub stripped: Property,
    /// DT_RPATH's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpath_value: Option<String>,
    /// DT_RUNPATH's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runpath_value: Option<String>,
    /// Dynamic symbols that are glibc fortified functions (checksec's `fortified`).
    pub fortified: u32,
    /// Dynamic symbols glibc can fortify, fortified or not (checksec's `fortify-able`).
    pub fortifiable: u32,
    /// Risky functions imported: `gets`, `strcpy`, `system`, `popen`… (sorted).
    pub dangerous: Vec<&'static str>,
    /// What could not be read (the verdicts above account for it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Why a file could not be analysed at all.
#[derive(Debug, thiserror::Error)]
pub enum HardeningError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file")]
    NotElf,
    /// A structure every loader needs is missing or lies outside the file.
    #[error("malformed ELF: {what}")]
    Malformed {
        /// What could not be read.
        what: &'static str,
        /// The reader's complaint.
        #[source]
        source: object::read::Error,
    },
}

/// Analyses one ELF file held in memory.
pub fn analyze(bytes: &[u8]) -> Result<Hardening, HardeningError> {
    elf::read(bytes).map(judge)
}

fn judge(f: elf::Facts) -> Hardening {
    let d = &f.dynamic;
    let loadable = matches!(f.e_type, abi::ET_EXEC | abi::ET_DYN);
    // Nothing to import from: no interpreter, no DT_NEEDED.
    let self_contained = loadable && f.interp.is_none() && d.needed == 0;
    let pie_exec = f.e_type == abi::ET_DYN
        && (d.debug
            || d.flags_1 & u64::from(abi::DF_1_PIE) != 0
            || (f.interp.is_some() && !d.soname));
    let elf_type = match f.e_type {
        abi::ET_EXEC => "exec",
        abi::ET_DYN if pie_exec => "pie",
        abi::ET_DYN => "dyn",
        abi::ET_REL => "rel",
        abi::ET_CORE => "core",
        _ => "other",
    };
    let pie = match f.e_type {
        abi::ET_EXEC => Property::because(Status::No, "ET_EXEC: loaded at a fixed address"),
        abi::ET_DYN if pie_exec => Property::of(Status::Yes),
        abi::ET_DYN => Property::of(Status::Dso),
        abi::ET_REL => Property::of(Status::Rel),
        t => Property::because(Status::Unknown, format!("ELF type {t:#x} is not a program")),
    };
    let nx = match f.gnu_stack {
        Some(flags) if flags & abi::PF_X != 0 => {
            Property::because(Status::No, "PT_GNU_STACK asks for an executable stack")
        }
        Some(_) => Property::of(Status::Yes),
        None if !loadable => Property::because(Status::No, "not a program: no PT_GNU_STACK"),
        None => Property::because(Status::No, names::no_gnu_stack_reason(f.machine, f.class64)),
    };
    let relro = if !f.gnu_relro {
        Property::because(Status::No, "no PT_GNU_RELRO")
    } else if d.bind_now || d.flags_1 & u64::from(abi::DF_1_NOW) != 0 {
        Property::of(Status::Full)
    } else {
        Property::because(
            Status::Partial,
            "lazy binding (no BIND_NOW): the GOT stays writable",
        )
    };
    // A program (not a library) that needs nothing at run time.
    let static_ = self_contained && elf_type != "dyn";
    let (canary, fortify_source) = symbols_verdicts(&f, self_contained, static_);
    let present = |v: &Option<String>| match v {
        Some(s) if !s.is_empty() => Property::of(Status::Yes),
        _ => Property::of(Status::No),
    };
    let dyns = f.dynsym.as_ref();
    Hardening {
        arch: names::arch(f.machine, f.class64, f.big_endian),
        bits: if f.class64 { 64 } else { 32 },
        endian: if f.big_endian { "big" } else { "little" },
        elf_type,
        static_,
        section_headers: f.section_headers,
        nx,
        pie,
        relro,
        canary,
        fortify_source,
        rpath: present(&d.rpath),
        runpath: present(&d.runpath),
        stripped: Property::of(if f.symtab.is_some() {
            Status::No
        } else {
            Status::Yes
        }),
        fortified: dyns.map_or(0, |s| s.fortified),
        fortifiable: dyns.map_or(0, |s| s.fortified.saturating_add(s.fortifiable)),
        dangerous: dyns.map(|s| s.dangerous.clone()).unwrap_or_default(),
        rpath_value: f.dynamic.rpath.clone(),
        runpath_value: f.dynamic.runpath.clone(),
        interpreter: f.interp,
        notes: f.notes,
    }
}

/// Canary and FORTIFY_SOURCE: symbols, and whether their absence proves anything.
fn symbols_verdicts(f: &elf::Facts, self_contained: bool, static_: bool) -> (Property, Property) {
    let (dynsym, symtab) = (f.dynsym.as_ref(), f.symtab.as_ref());
    // Without a .symtab and without imports, nothing is left that would name the
    // protector's functions: they are linked in (static) or internal (ld.so).
    let blind = symtab.is_none() && (self_contained || dynsym.is_none());
    let blind_reason = |what: &str| {
        if static_ {
            format!("stripped static binary: no symbols to look for {what}")
        } else if self_contained {
            format!("stripped library that imports nothing: no symbols to look for {what}")
        } else {
            format!("no readable symbol table: no symbols to look for {what}")
        }
    };
    let found = dynsym
        .and_then(|s| s.canary.as_deref())
        .or_else(|| symtab.and_then(|s| s.canary.as_deref()));
    let canary = match found {
        Some(_) => Property::of(Status::Yes),
        None if blind => Property::because(Status::Unknown, blind_reason("the canary")),
        None => Property::because(
            Status::No,
            "no __stack_chk_fail, __stack_chk_guard or __intel_security_cookie",
        ),
    };
    // checksec reads only the dynamic symbols; a static binary's fortified functions are
    // linked in, so its .symtab is where they show.
    let chk = dynsym.is_some_and(|s| s.chk) || (static_ && symtab.is_some_and(|s| s.chk));
    let fortify = if chk {
        Property::of(Status::Yes)
    } else if blind {
        Property::because(Status::Unknown, blind_reason("_chk functions"))
    } else {
        Property::because(Status::No, "no fortified (__*_chk) function")
    };
    (canary, fortify)
}
