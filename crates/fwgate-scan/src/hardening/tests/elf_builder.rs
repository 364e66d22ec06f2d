//! A writer of small ELF files of any class, byte order and machine: a PT_LOAD over the
//! whole file, optional PT_INTERP, PT_DYNAMIC (with DT_STRTAB, DT_SYMTAB and DT_HASH filled
//! in), PT_GNU_STACK and PT_GNU_RELRO, .dynsym, .symtab and section headers. readelf and
//! checksec read what it writes.

use object::elf as abi;

/// A dynamic entry's value: a number, or a string put in .dynstr.
#[derive(Clone)]
pub(super) enum Val {
    Num(u64),
    Str(&'static str),
}

/// What to put in a test ELF file.
#[derive(Clone)]
pub(super) struct Spec {
    pub(super) class64: bool,
    pub(super) big: bool,
    pub(super) machine: u16,
    pub(super) e_type: u16,
    pub(super) stack: Option<u32>,
    pub(super) relro: bool,
    pub(super) interp: Option<&'static str>,
    /// Extra dynamic entries; `None`: no PT_DYNAMIC at all.
    pub(super) dynamic: Option<Vec<(u32, Val)>>,
    /// Dynamic symbols: name, undefined.
    pub(super) dynsyms: Vec<(&'static str, bool)>,
    /// A .symtab with these names.
    pub(super) symtab: Option<Vec<&'static str>>,
    /// Write section headers (.dynsym, .symtab); without them the file is `sstrip`ped.
    pub(super) sections: bool,
}

impl Spec {
    /// A dynamically linked PIE for x86-64 with NX, full RELRO and nothing imported.
    pub(super) fn pie() -> Spec {
        Spec {
            class64: true,
            big: false,
            machine: abi::EM_X86_64,
            e_type: abi::ET_DYN,
            stack: Some(abi::PF_R | abi::PF_W),
            relro: true,
            interp: Some("/lib/ld.so"),
            dynamic: Some(vec![
                (abi::DT_NEEDED, Val::Str("libc.so.6")),
                (abi::DT_DEBUG, Val::Num(0)),
                (abi::DT_FLAGS, Val::Num(abi::DF_BIND_NOW.into())),
            ]),
            dynsyms: vec![("puts", true)],
            symtab: None,
            sections: true,
        }
    }

    /// A stripped static executable: no interpreter, no dynamic section, no symbols.
    pub(super) fn stripped_static() -> Spec {
        Spec {
            e_type: abi::ET_EXEC,
            interp: None,
            dynamic: None,
            dynsyms: vec![],
            ..Spec::pie()
        }
    }

    pub(super) fn on(mut self, machine: u16, class64: bool, big: bool) -> Spec {
        (self.machine, self.class64, self.big) = (machine, class64, big);
        self
    }

    pub(super) fn build(&self) -> Vec<u8> {
        Builder::new(self).finish()
    }
}

/// A section header: name offset, type, (offset, size), link, entry size.
type Shdr = (u32, u32, (usize, usize), u32, u64);

struct Builder<'a> {
    s: &'a Spec,
    out: Vec<u8>,
}

impl<'a> Builder<'a> {
    fn new(s: &'a Spec) -> Builder<'a> {
        Builder { s, out: Vec::new() }
    }

    fn word(&self) -> usize {
        if self.s.class64 {
            8
        } else {
            4
        }
    }

    fn put(&mut self, v: u64, size: usize) {
        let b = v.to_be_bytes();
        let mut bytes = b[8 - size..].to_vec();
        if !self.s.big {
            bytes.reverse();
        }
        self.out.extend_from_slice(&bytes);
    }

    fn align(&mut self) -> usize {
        while !self.out.len().is_multiple_of(8) {
            self.out.push(0);
        }
        self.out.len()
    }

    fn blob(&mut self, bytes: &[u8]) -> (usize, usize) {
        let at = self.align();
        self.out.extend_from_slice(bytes);
        (at, bytes.len())
    }

    fn strtab(names: &[&str]) -> (Vec<u8>, Vec<u64>) {
        let mut t = vec![0u8];
        let mut offs = Vec::new();
        for n in names {
            offs.push(t.len() as u64);
            t.extend_from_slice(n.as_bytes());
            t.push(0);
        }
        (t, offs)
    }

    fn syms(&mut self, names: &[(&str, bool)], offs: &[u64]) -> (usize, usize) {
        let at = self.align();
        let entsize = if self.s.class64 { 24 } else { 16 };
        self.out.extend(std::iter::repeat_n(0, entsize)); // the null symbol
        for ((_, undef), off) in names.iter().zip(offs) {
            let shndx = if *undef { 0 } else { 1 };
            let info = (abi::STB_GLOBAL << 4) | abi::STT_FUNC;
            if self.s.class64 {
                self.put(*off, 4);
                self.out.extend_from_slice(&[info, 0]);
                self.put(shndx, 2);
                self.put(0, 8);
                self.put(0, 8);
            } else {
                self.put(*off, 4);
                self.put(0, 4);
                self.put(0, 4);
                self.out.extend_from_slice(&[info, 0]);
                self.put(shndx, 2);
            }
        }
        (at, self.out.len() - at)
    }

    fn finish(mut self) -> Vec<u8> {
        let s = self.s.clone();
        let w = self.word();
        let (ehsize, phentsize, shentsize) = if s.class64 {
            (64, 56, 64)
        } else {
            (52, 32, 40)
        };
        // Program headers: PT_LOAD of the whole file, then the optional ones.
        let mut ph: Vec<(u32, u32)> = vec![(abi::PT_LOAD, abi::PF_R | abi::PF_X)];
        if s.interp.is_some() {
            ph.push((abi::PT_INTERP, abi::PF_R));
        }
        if s.dynamic.is_some() {
            ph.push((abi::PT_DYNAMIC, abi::PF_R | abi::PF_W));
        }
        if let Some(f) = s.stack {
            ph.push((abi::PT_GNU_STACK, f));
        }
        if s.relro {
            ph.push((abi::PT_GNU_RELRO, abi::PF_R));
        }
        self.out = vec![0; ehsize + phentsize * ph.len()];
        let mut ranges = vec![(0usize, 0usize); ph.len()];

        let interp = s.interp.map(|i| self.blob(format!("{i}\0").as_bytes()));
        // .dynstr holds the symbol names, then the dynamic entries' strings.
        let dyn_strs: Vec<&str> = s
            .dynamic
            .iter()
            .flatten()
            .filter_map(|(_, v)| match v {
                Val::Str(t) => Some(*t),
                Val::Num(_) => None,
            })
            .collect();
        let names: Vec<&str> = s.dynsyms.iter().map(|(n, _)| *n).chain(dyn_strs).collect();
        let (dynstr_bytes, offs) = Builder::strtab(&names);
        let dynstr = self.blob(&dynstr_bytes);
        let dynsym = self.syms(&s.dynsyms, &offs);
        let nsyms = s.dynsyms.len() as u64 + 1;
        let hash = {
            let at = self.align();
            for v in [1, nsyms, 0] {
                self.put(v, 4);
            }
            for _ in 0..nsyms {
                self.put(0, 4);
            }
            (at, self.out.len() - at)
        };
        let dynamic = s.dynamic.as_ref().map(|extra| {
            let at = self.align();
            let mut str_at = s.dynsyms.len();
            let mut entries = vec![
                (abi::DT_STRTAB, dynstr.0 as u64),
                (abi::DT_STRSZ, dynstr.1 as u64),
                (abi::DT_SYMTAB, dynsym.0 as u64),
                (abi::DT_SYMENT, if s.class64 { 24 } else { 16 }),
                (abi::DT_HASH, hash.0 as u64),
            ];
            for (tag, v) in extra {
                let val = match v {
                    Val::Num(n) => *n,
                    Val::Str(_) => {
                        str_at += 1;
                        offs[str_at - 1]
                    }
                };
                entries.push((*tag, val));
            }
            entries.push((abi::DT_NULL, 0));
            for (tag, val) in entries {
                self.put(tag.into(), w);
                self.put(val, w);
            }
            (at, self.out.len() - at)
        });
        let symtab = s.symtab.as_ref().map(|names| {
            let (bytes, offs) = Builder::strtab(names);
            let strtab = self.blob(&bytes);
            let defined: Vec<(&str, bool)> = names.iter().map(|n| (*n, false)).collect();
            (strtab, self.syms(&defined, &offs))
        });

        // Section headers: null, .dynstr, .dynsym, then .strtab, .symtab when present, and
        // .shstrtab (names at fixed offsets in SHSTRTAB).
        const SHSTRTAB: &[u8] = b"\0.dynstr\0.dynsym\0.strtab\0.symtab\0.shstrtab\0";
        let mut shdrs: Vec<Shdr> = vec![(0, 0, (0, 0), 0, 0)];
        let entsize = if s.class64 { 24 } else { 16 };
        shdrs.push((1, abi::SHT_STRTAB, dynstr, 0, 0));
        shdrs.push((9, abi::SHT_DYNSYM, dynsym, 1, entsize));
        if let Some((strtab, syms)) = symtab {
            shdrs.push((17, abi::SHT_STRTAB, strtab, 0, 0));
            shdrs.push((25, abi::SHT_SYMTAB, syms, 3, entsize));
        }
        let shstrtab = self.blob(SHSTRTAB);
        shdrs.push((33, abi::SHT_STRTAB, shstrtab, 0, 0));
        let shstrndx = shdrs.len() as u64 - 1;
        let (shoff, shnum) = if s.sections {
            let at = self.align();
            for (name, ty, (off, size), link, ent) in &shdrs {
                self.put((*name).into(), 4);
                self.put((*ty).into(), 4);
                self.put(0, w);
                self.put(*off as u64, w);
                self.put(*off as u64, w);
                self.put(*size as u64, w);
                self.put((*link).into(), 4);
                self.put(0, 4);
                self.put(1, w);
                self.put(*ent, w);
            }
            (at, shdrs.len())
        } else {
            (0, 0)
        };

        let total = self.out.len();
        for (i, (ty, _)) in ph.iter().enumerate() {
            ranges[i] = match *ty {
                abi::PT_LOAD => (0, total),
                abi::PT_INTERP => interp.unwrap_or_default(),
                abi::PT_DYNAMIC => dynamic.unwrap_or_default(),
                _ => (0, 0),
            };
        }
        // The ELF header.
        let mut ident = [0u8; 16];
        ident[..4].copy_from_slice(&abi::ELFMAG);
        ident[4] = if s.class64 {
            abi::ELFCLASS64
        } else {
            abi::ELFCLASS32
        };
        ident[5] = if s.big {
            abi::ELFDATA2MSB
        } else {
            abi::ELFDATA2LSB
        };
        ident[6] = abi::EV_CURRENT;
        let mut head = Builder::new(&s);
        head.out.extend_from_slice(&ident);
        head.put(s.e_type.into(), 2);
        head.put(s.machine.into(), 2);
        head.put(1, 4);
        head.put(0, w);
        head.put(ehsize as u64, w);
        head.put(shoff as u64, w);
        head.put(0, 4);
        head.put(ehsize as u64, 2);
        head.put(phentsize as u64, 2);
        head.put(ph.len() as u64, 2);
        head.put(shentsize as u64, 2);
        head.put(shnum as u64, 2);
        head.put(if s.sections { shstrndx } else { 0 }, 2);
        for ((ty, flags), (off, size)) in ph.iter().zip(&ranges) {
            let (off, size) = (*off as u64, *size as u64);
            head.put((*ty).into(), 4);
            if s.class64 {
                head.put((*flags).into(), 4);
            }
            for v in [off, off, off, size, size] {
                head.put(v, w);
            }
            if !s.class64 {
                head.put((*flags).into(), 4);
            }
            head.put(8, w);
        }
        let h = head.out;
        self.out[..h.len()].copy_from_slice(&h);
        self.out
    }
}
