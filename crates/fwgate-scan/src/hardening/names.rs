//! Names: architectures, the kernel's stack default per architecture, and the symbol lists
//! that checksec looks for.

use object::elf;

/// The architecture's short name, as `uname -m` and Debian spell it.
pub(super) fn arch(machine: u16, class64: bool, big_endian: bool) -> String {
    let name = match (machine, class64, big_endian) {
        (elf::EM_386, _, _) => "i386",
        (elf::EM_X86_64, true, _) => "x86_64",
        (elf::EM_X86_64, false, _) => "x32",
        (elf::EM_ARM, _, false) => "arm",
        (elf::EM_ARM, _, true) => "armeb",
        (elf::EM_AARCH64, _, false) => "aarch64",
        (elf::EM_AARCH64, _, true) => "aarch64_be",
        (elf::EM_MIPS, false, true) => "mips",
        (elf::EM_MIPS, false, false) => "mipsel",
        (elf::EM_MIPS, true, true) => "mips64",
        (elf::EM_MIPS, true, false) => "mips64el",
        (elf::EM_PPC, _, true) => "powerpc",
        (elf::EM_PPC, _, false) => "powerpcle",
        (elf::EM_PPC64, _, true) => "powerpc64",
        (elf::EM_PPC64, _, false) => "powerpc64le",
        (elf::EM_RISCV, true, _) => "riscv64",
        (elf::EM_RISCV, false, _) => "riscv32",
        (elf::EM_SPARC, _, _) => "sparc",
        (elf::EM_SPARCV9, _, _) => "sparc64",
        (elf::EM_SH, _, _) => "sh",
        (elf::EM_68K, _, _) => "m68k",
        (elf::EM_S390, true, _) => "s390x",
        (elf::EM_S390, false, _) => "s390",
        (elf::EM_ARC | elf::EM_ARC_COMPACT | elf::EM_ARC_COMPACT2, _, _) => "arc",
        (elf::EM_XTENSA, _, _) => "xtensa",
        (elf::EM_MICROBLAZE, _, _) => "microblaze",
        (elf::EM_LOONGARCH, _, _) => "loongarch64",
        (elf::EM_NONE, _, _) => "none",
        _ => return format!("em{machine}"),
    };
    name.to_string()
}

/// Why a program without PT_GNU_STACK counts as having an executable stack on this machine
/// (fs/binfmt_elf.c: without the header the kernel's default applies, and on most
/// architectures that default sets READ_IMPLIES_EXEC).
pub(super) fn no_gnu_stack_reason(machine: u16, class64: bool) -> &'static str {
    match (machine, class64) {
        (elf::EM_X86_64 | elf::EM_AARCH64, true) => {
            "no PT_GNU_STACK: Linux before 5.8 runs it with an executable stack and data \
             (READ_IMPLIES_EXEC); 5.8 and later do not"
        }
        (elf::EM_MIPS, _) => {
            "no PT_GNU_STACK: the kernel runs it with an executable stack and data \
             (READ_IMPLIES_EXEC) unless the CPU has RI/XI"
        }
        (elf::EM_386 | elf::EM_ARM | elf::EM_PPC, _) => {
            "no PT_GNU_STACK: the kernel runs it with an executable stack and data \
             (READ_IMPLIES_EXEC)"
        }
        _ => "no PT_GNU_STACK: the stack is executable wherever the kernel's default is",
    }
}

/// Substrings of a symbol name that show a stack protector (checksec greps `readelf -s` for
/// these, so `__stack_chk_fail_local` counts too).
pub(super) const CANARY: [&[u8]; 3] = [
    b"__stack_chk_fail",
    b"__stack_chk_guard",
    b"__intel_security_cookie",
];

/// glibc's fortified functions without the leading `__`: what checksec reads from the host's
/// libc (`readelf -s libc.so.6 | sed -ne 's/.*__\(.*_chk\)@@.*/\1/p'`), fixed here from
/// glibc 2.36 so that the counts do not depend on the machine running the check. Sorted.
pub(super) const FORTIFIED: [&str; 79] = [
    "asprintf_chk",
    "confstr_chk",
    "dprintf_chk",
    "explicit_bzero_chk",
    "fdelt_chk",
    "fgets_chk",
    "fgets_unlocked_chk",
    "fgetws_chk",
    "fgetws_unlocked_chk",
    "fprintf_chk",
    "fread_chk",
    "fread_unlocked_chk",
    "fwprintf_chk",
    "getcwd_chk",
    "getdomainname_chk",
    "getgroups_chk",
    "gethostname_chk",
    "getlogin_r_chk",
    "gets_chk",
    "getwd_chk",
    "longjmp_chk",
    "mbsnrtowcs_chk",
    "mbsrtowcs_chk",
    "mbstowcs_chk",
    "memcpy_chk",
    "memmove_chk",
    "mempcpy_chk",
    "memset_chk",
    "obstack_printf_chk",
    "obstack_vprintf_chk",
    "poll_chk",
    "ppoll_chk",
    "pread64_chk",
    "pread_chk",
    "printf_chk",
    "ptsname_r_chk",
    "read_chk",
    "readlink_chk",
    "readlinkat_chk",
    "realpath_chk",
    "recv_chk",
    "recvfrom_chk",
    "snprintf_chk",
    "sprintf_chk",
    "stpcpy_chk",
    "stpncpy_chk",
    "strcat_chk",
    "strcpy_chk",
    "strncat_chk",
    "strncpy_chk",
    "swprintf_chk",
    "syslog_chk",
    "ttyname_r_chk",
    "vasprintf_chk",
    "vdprintf_chk",
    "vfprintf_chk",
    "vfwprintf_chk",
    "vprintf_chk",
    "vsnprintf_chk",
    "vsprintf_chk",
    "vswprintf_chk",
    "vsyslog_chk",
    "vwprintf_chk",
    "wcpcpy_chk",
    "wcpncpy_chk",
    "wcrtomb_chk",
    "wcscat_chk",
    "wcscpy_chk",
    "wcsncat_chk",
    "wcsncpy_chk",
    "wcsnrtombs_chk",
    "wcsrtombs_chk",
    "wcstombs_chk",
    "wctomb_chk",
    "wmemcpy_chk",
    "wmemmove_chk",
    "wmempcpy_chk",
    "wmemset_chk",
    "wprintf_chk",
];

/// Is `name` (leading underscores removed) one of glibc's fortified functions?
pub(super) fn is_fortified(name: &[u8]) -> bool {
    FORTIFIED
        .binary_search_by(|f| f.as_bytes().cmp(name))
        .is_ok()
}

/// Is `name` (leading underscores removed) a function glibc can fortify (checksec's list with
/// `_chk` removed)?
pub(super) fn is_fortifiable(name: &[u8]) -> bool {
    FORTIFIED
        .binary_search_by(|f| f.as_bytes().iter().cmp(name.iter().chain(b"_chk")))
        .is_ok()
}

/// Imports worth a reviewer's look: no bound on the destination (`gets`, `strcpy`, `strcat`,
/// `sprintf`, `vsprintf`, `stpcpy`), a shell (`system`, `popen`), predictable temporary names
/// (`mktemp`, `tmpnam`, `tempnam`) and `getwd`. Sorted.
pub(super) const DANGEROUS: [&str; 12] = [
    "gets", "getwd", "mktemp", "popen", "sprintf", "stpcpy", "strcat", "strcpy", "system",
    "tempnam", "tmpnam", "vsprintf",
];

/// The entry of [`DANGEROUS`] that `name` is.
pub(super) fn dangerous(name: &[u8]) -> Option<&'static str> {
    DANGEROUS
        .binary_search_by(|d| d.as_bytes().cmp(name))
        .ok()
        .and_then(|i| DANGEROUS.get(i).copied())
}
