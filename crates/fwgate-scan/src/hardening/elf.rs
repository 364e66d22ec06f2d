//! The facts hardening depends on, read from an ELF file through `object`'s read-only views:
//! every table is a slice of the input checked against its length, so a header that claims a
//! million entries costs nothing unless the bytes are there, and nothing is allocated by a
//! count read from the file.

use object::elf;
use object::read::elf::{
    Dyn as _, FileHeader, GnuHashTable, HashTable, ProgramHeader as _, SectionHeader as _,
    SectionTable, Sym,
};
use object::{pod, Endianness};

use super::names;
use super::HardeningError;

/// The longest string (interpreter, RPATH, RUNPATH) kept for the report.
const MAX_STRING: usize = 4096;

/// The longest symbol name looked at: every name lookup scans at most this many bytes, so
/// a million symbols pointing into one string table without a NUL stay linear. The names
/// looked for are short; a longer name is cut.
const MAX_NAME: usize = 1024;

/// What was read from one file; `super::judge` turns it into a verdict.
pub(super) struct Facts {
    pub class64: bool,
    pub big_endian: bool,
    pub machine: u16,
    pub e_type: u16,
    /// Flags of each PT_GNU_STACK header, or-ed; `None` without one.
    pub gnu_stack: Option<u32>,
    pub gnu_relro: bool,
    pub interp: Option<String>,
    pub dynamic: Dynamic,
    pub section_headers: bool,
    /// The SHT_SYMTAB table, when there is one.
    pub symtab: Option<Symbols>,
    /// The dynamic symbols (SHT_DYNSYM, or through PT_DYNAMIC without section headers).
    pub dynsym: Option<Symbols>,
    /// What could not be read; the analysis goes on without it.
    pub notes: Vec<String>,
}

/// The dynamic section's entries that matter here.
#[derive(Default)]
pub(super) struct Dynamic {
    pub present: bool,
    /// DT_BIND_NOW, or DF_BIND_NOW in DT_FLAGS (what `readelf -d | grep BIND_NOW` sees).
    pub bind_now: bool,
    pub flags_1: u64,
    pub debug: bool,
    pub soname: bool,
    pub needed: u32,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
}

/// What one symbol table holds, summarised while it is walked once.
#[derive(Default)]
pub(super) struct Symbols {
    pub count: usize,
    /// The first name that shows a stack protector.
    pub canary: Option<String>,
    /// A name that, without its leading underscores, ends in `_chk` (checksec's test).
    pub chk: bool,
    pub fortified: u32,
    pub fortifiable: u32,
    /// Undefined (imported) functions from [`names::DANGEROUS`], sorted.
    pub dangerous: Vec<&'static str>,
}

impl Symbols {
    fn add(&mut self, name: &[u8], undefined: bool) {
        self.count += 1;
        if self.canary.is_none() && names::CANARY.iter().any(|c| contains(name, c)) {
            self.canary = Some(String::from_utf8_lossy(name).into_owned());
        }
        let bare = strip_underscores(name);
        if bare.ends_with(b"_chk") {
            self.chk = true;
            if names::is_fortified(bare) {
                self.fortified = self.fortified.saturating_add(1);
            }
        } else if names::is_fortifiable(bare) {
            self.fortifiable = self.fortifiable.saturating_add(1);
        }
        if undefined {
            if let Some(d) = names::dangerous(name) {
                if let Err(at) = self.dangerous.binary_search(&d) {
                    self.dangerous.insert(at, d);
                }
            }
        }
    }
}

fn strip_underscores(name: &[u8]) -> &[u8] {
    let n = name.iter().take_while(|&&b| b == b'_').count();
    name.get(n..).unwrap_or_default()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Reads the facts of `data`, an ELF file of either class and byte order.
pub(super) fn read(data: &[u8]) -> Result<Facts, HardeningError> {
    if data.get(..4) != Some(&elf::ELFMAG[..]) {
        return Err(HardeningError::NotElf);
    }
    // e_ident[EI_CLASS]; any other value fails the 32-bit header's own check.
    match data.get(4) {
        Some(&elf::ELFCLASS64) => read_class::<elf::FileHeader64<Endianness>>(data, true),
        _ => read_class::<elf::FileHeader32<Endianness>>(data, false),
    }
}

fn malformed(what: &'static str) -> impl FnOnce(object::read::Error) -> HardeningError {
    move |source| HardeningError::Malformed { what, source }
}

fn read_class<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    class64: bool,
) -> Result<Facts, HardeningError> {
    let header = Elf::parse(data).map_err(malformed("ELF header"))?;
    let endian = header.endian().map_err(malformed("ELF byte order"))?;
    let phdrs = header
        .program_headers(endian, data)
        .map_err(malformed("program headers"))?;
    let mut facts = Facts {
        class64,
        big_endian: endian == Endianness::Big,
        machine: header.e_machine(endian),
        e_type: header.e_type(endian),
        gnu_stack: None,
        gnu_relro: false,
        interp: None,
        dynamic: Dynamic::default(),
        section_headers: false,
        symtab: None,
        dynsym: None,
        notes: Vec::new(),
    };
    let mut dyn_entries: Option<&[Elf::Dyn]> = None;
    for ph in phdrs {
        match ph.p_type(endian) {
            elf::PT_GNU_STACK => {
                facts.gnu_stack = Some(facts.gnu_stack.unwrap_or(0) | ph.p_flags(endian));
            }
            elf::PT_GNU_RELRO => facts.gnu_relro = true,
            elf::PT_INTERP if facts.interp.is_none() => match ph.data(endian, data) {
                Ok(bytes) => facts.interp = Some(c_string(bytes, 0)),
                Err(()) => facts.notes.push("PT_INTERP lies outside the file".into()),
            },
            elf::PT_DYNAMIC if dyn_entries.is_none() => match ph.data(endian, data) {
                Ok(bytes) => dyn_entries = Some(array::<Elf::Dyn>(bytes)),
                Err(()) => facts.notes.push("PT_DYNAMIC lies outside the file".into()),
            },
            _ => {}
        }
    }
    let map = Map::<Elf> {
        phdrs,
        endian,
        data,
        machine: facts.machine,
        mips64el: header.is_mips64el(endian),
    };
    let dynamic = dyn_entries.map(|d| Dyn::read(&map, d, &mut facts));

    let sections = match header.sections(endian, data) {
        Ok(s) => s,
        Err(e) => {
            facts.notes.push(format!("section headers unreadable: {e}"));
            SectionTable::default()
        }
    };
    facts.section_headers = !sections.is_empty();
    facts.symtab = table(&sections, endian, data, elf::SHT_SYMTAB, &mut facts.notes);
    facts.dynsym = table(&sections, endian, data, elf::SHT_DYNSYM, &mut facts.notes);
    if facts.dynsym.is_none() && !facts.section_headers {
        // No section headers (sstrip): the loader's view, through PT_DYNAMIC.
        facts.dynsym = dynamic.and_then(|d| d.symbols(&map, &mut facts.notes));
    }
    Ok(facts)
}

/// As many whole `T` as `bytes` holds.
fn array<T: object::Pod>(bytes: &[u8]) -> &[T] {
    let n = bytes.len() / std::mem::size_of::<T>().max(1);
    pod::slice_from_bytes(bytes, n)
        .map(|(s, _)| s)
        .unwrap_or_default()
}

/// The NUL-terminated string at `offset` in `table`, at most `max` bytes of it.
fn name_at(table: &[u8], offset: usize, max: usize) -> &[u8] {
    let s = table.get(offset..).unwrap_or_default();
    let s = s.get(..max).unwrap_or(s);
    &s[..memchr::memchr(0, s).unwrap_or(s.len())]
}

/// The string at `offset` in `table`, cut at [`MAX_STRING`] bytes (marked with `…`).
fn c_string(table: &[u8], offset: usize) -> String {
    let s = name_at(table, offset, MAX_STRING + 1);
    let mut out = String::from_utf8_lossy(s.get(..MAX_STRING).unwrap_or(s)).into_owned();
    if s.len() > MAX_STRING {
        out.push('…');
    }
    out
}

/// One symbol table found by section type, summarised; `None` when there is none.
fn table<'data, Elf: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'data, Elf, &'data [u8]>,
    endian: Endianness,
    data: &'data [u8],
    sh_type: u32,
    notes: &mut Vec<String>,
) -> Option<Symbols> {
    let (index, _) = sections
        .enumerate()
        .find(|(_, s)| s.sh_type(endian) == sh_type)?;
    let what = if sh_type == elf::SHT_SYMTAB {
        ".symtab"
    } else {
        ".dynsym"
    };
    match sections.symbol_table_by_index(endian, data, index) {
        Ok(t) => {
            // The names' bytes, read here so that each lookup is bounded (MAX_NAME).
            let strings = sections
                .section(t.string_section())
                .ok()
                .and_then(|s| s.data(endian, data).ok())
                .unwrap_or_default();
            Some(summarise(t.symbols(), strings, endian))
        }
        Err(e) => {
            notes.push(format!("{what} unreadable: {e}"));
            None
        }
    }
}

/// Walks `symbols` once, names read from `strings`.
fn summarise<S: Sym<Endian = Endianness>>(
    symbols: &[S],
    strings: &[u8],
    endian: Endianness,
) -> Symbols {
    let mut s = Symbols::default();
    // Entry 0 is the null symbol.
    for sym in symbols.iter().skip(1) {
        let at = usize::try_from(sym.st_name(endian)).unwrap_or(usize::MAX);
        s.add(
            name_at(strings, at, MAX_NAME),
            sym.st_shndx(endian) == elf::SHN_UNDEF,
        );
    }
    s
}

/// Virtual addresses to file bytes, through the PT_LOAD headers.
struct Map<'a, Elf: FileHeader> {
    phdrs: &'a [Elf::ProgramHeader],
    endian: Endianness,
    data: &'a [u8],
    machine: u16,
    mips64el: bool,
}

impl<'a, Elf: FileHeader<Endian = Endianness>> Map<'a, Elf> {
    /// The file bytes from `addr` to the end of the PT_LOAD segment holding it.
    fn at(&self, addr: u64) -> Option<&'a [u8]> {
        self.phdrs.iter().find_map(|ph| {
            if ph.p_type(self.endian) != elf::PT_LOAD {
                return None;
            }
            let vaddr: u64 = ph.p_vaddr(self.endian).into();
            let filesz: u64 = ph.p_filesz(self.endian).into();
            let offset: u64 = ph.p_offset(self.endian).into();
            let delta = addr.checked_sub(vaddr).filter(|d| *d < filesz)?;
            let start = usize::try_from(offset.checked_add(delta)?).ok()?;
            let end = usize::try_from(offset.checked_add(filesz)?).ok()?;
            self.data.get(start..end.min(self.data.len()))
        })
    }
}

/// The addresses PT_DYNAMIC gives for the loader's tables.
#[derive(Clone, Copy, Default)]
struct Dyn {
    strtab: Option<u64>,
    strsz: u64,
    symtab: Option<u64>,
    syment: Option<u64>,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    mips_symtabno: Option<u64>,
    /// Relocation tables: (address, size, with addend).
    rel: [(Option<u64>, u64, bool); 3],
    plt_rela: bool,
}

impl Dyn {
    /// Reads the entries up to DT_NULL into `facts.dynamic`.
    fn read<Elf: FileHeader<Endian = Endianness>>(
        map: &Map<'_, Elf>,
        entries: &[Elf::Dyn],
        facts: &mut Facts,
    ) -> Dyn {
        let endian = map.endian;
        let mut d = Dyn::default();
        let mut strings = Vec::new();
        let out = &mut facts.dynamic;
        out.present = true;
        for e in entries {
            let tag: u64 = e.d_tag(endian).into();
            let val: u64 = e.d_val(endian).into();
            match u32::try_from(tag).unwrap_or(u32::MAX) {
                elf::DT_NULL => break,
                elf::DT_NEEDED => out.needed = out.needed.saturating_add(1),
                elf::DT_SONAME => out.soname = true,
                elf::DT_DEBUG => out.debug = true,
                elf::DT_BIND_NOW => out.bind_now = true,
                elf::DT_FLAGS if val & u64::from(elf::DF_BIND_NOW) != 0 => out.bind_now = true,
                elf::DT_FLAGS_1 => out.flags_1 |= val,
                // The first of each, as the loader takes it.
                elf::DT_RPATH | elf::DT_RUNPATH if !strings.iter().any(|(t, _)| *t == tag) => {
                    strings.push((tag, val))
                }
                elf::DT_STRTAB => d.strtab = Some(val),
                elf::DT_STRSZ => d.strsz = val,
                elf::DT_SYMTAB => d.symtab = Some(val),
                elf::DT_SYMENT => d.syment = Some(val),
                elf::DT_HASH => d.hash = Some(val),
                elf::DT_GNU_HASH => d.gnu_hash = Some(val),
                elf::DT_MIPS_SYMTABNO if map.machine == elf::EM_MIPS => d.mips_symtabno = Some(val),
                elf::DT_RELA => d.rel[0] = (Some(val), d.rel[0].1, true),
                elf::DT_RELASZ => d.rel[0].1 = val,
                elf::DT_REL => d.rel[1] = (Some(val), d.rel[1].1, false),
                elf::DT_RELSZ => d.rel[1].1 = val,
                elf::DT_JMPREL => d.rel[2].0 = Some(val),
                elf::DT_PLTRELSZ => d.rel[2].1 = val,
                elf::DT_PLTREL => d.plt_rela = val == u64::from(elf::DT_RELA),
                _ => {}
            }
        }
        d.rel[2].2 = d.plt_rela;
        if strings.is_empty() {
            return d;
        }
        let Some(table) = d.strings(map) else {
            facts
                .notes
                .push("DT_STRTAB is not in a loaded segment: RPATH/RUNPATH unreadable".into());
            return d;
        };
        for (tag, val) in strings {
            let value = c_string(table, usize::try_from(val).unwrap_or(usize::MAX));
            if tag == u64::from(elf::DT_RPATH) {
                out.rpath = Some(value);
            } else {
                out.runpath = Some(value);
            }
        }
        d
    }

    fn strings<'a, Elf: FileHeader<Endian = Endianness>>(
        &self,
        map: &Map<'a, Elf>,
    ) -> Option<&'a [u8]> {
        let t = map.at(self.strtab?)?;
        let size = usize::try_from(self.strsz).unwrap_or(usize::MAX);
        Some(t.get(..size).unwrap_or(t))
    }

    /// The dynamic symbols as the loader finds them: DT_SYMTAB, counted by DT_HASH or
    /// DT_GNU_HASH, named from DT_STRTAB.
    fn symbols<Elf: FileHeader<Endian = Endianness>>(
        &self,
        map: &Map<'_, Elf>,
        notes: &mut Vec<String>,
    ) -> Option<Symbols> {
        let endian = map.endian;
        let size = std::mem::size_of::<Elf::Sym>();
        if self.syment.is_some_and(|s| s != size as u64) {
            notes.push("DT_SYMENT does not match the ELF class: dynamic symbols unread".into());
            return None;
        }
        let (Some(syms), Some(strings)) = (self.symtab.and_then(|a| map.at(a)), self.strings(map))
        else {
            notes.push("DT_SYMTAB or DT_STRTAB is not in a loaded segment".into());
            return None;
        };
        let all = array::<Elf::Sym>(syms);
        // DT_HASH and MIPS's DT_MIPS_SYMTABNO give the count. DT_GNU_HASH covers only the
        // exported symbols (an executable that exports nothing has an empty one), so the
        // imports are counted from the relocations that bind them.
        let exact = self
            .hash
            .and_then(|a| map.at(a))
            .and_then(|h| HashTable::<Elf>::parse(endian, h).ok())
            .map(|h| u64::from(h.symbol_table_length()))
            .or(self.mips_symtabno);
        let gnu = self.gnu_hash.and_then(|a| {
            let g = GnuHashTable::<Elf>::parse(endian, map.at(a)?).ok()?;
            Some(u64::from(
                g.symbol_table_length(endian).unwrap_or(g.symbol_base()),
            ))
        });
        let relocated = self.relocated_symbols(map);
        let count = exact.or_else(|| match (gnu, relocated) {
            (None, 0) => None,
            (g, r) => Some(g.unwrap_or(0).max(r)),
        });
        let Some(count) = count else {
            notes.push("no DT_HASH, DT_GNU_HASH or relocation: dynamic symbols uncounted".into());
            return None;
        };
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        Some(summarise(all.get(..count).unwrap_or(all), strings, endian))
    }

    /// One past the highest symbol index any relocation table refers to.
    fn relocated_symbols<Elf: FileHeader<Endian = Endianness>>(&self, map: &Map<'_, Elf>) -> u64 {
        let class64 = std::mem::size_of::<Elf::Word>() == 8;
        let word = if class64 { 8 } else { 4 };
        let mut top = 0u64;
        for (addr, size, rela) in self.rel {
            let Some(bytes) = addr.and_then(|a| map.at(a)) else {
                continue;
            };
            let bytes = bytes
                .get(..usize::try_from(size).unwrap_or(usize::MAX))
                .unwrap_or(bytes);
            let entry = if rela { 3 * word } else { 2 * word };
            for e in bytes.chunks_exact(entry) {
                let info = e
                    .get(word..2 * word)
                    .map_or(0, |b| read_word(b, map.endian));
                let sym = match (class64, map.mips64el) {
                    // MIPS64 little-endian stores r_sym first, as a 32-bit word.
                    (true, true) => info & 0xffff_ffff,
                    (true, false) => info >> 32,
                    (false, _) => info >> 8,
                };
                top = top.max(sym.saturating_add(1));
            }
        }
        top
    }
}

/// An unsigned word of 4 or 8 bytes in the file's byte order.
fn read_word(b: &[u8], endian: Endianness) -> u64 {
    let mut v = 0u64;
    let mut push = |x: &u8| v = (v << 8) | u64::from(*x);
    match endian {
        Endianness::Big => b.iter().for_each(&mut push),
        Endianness::Little => b.iter().rev().for_each(&mut push),
    }
    v
}
