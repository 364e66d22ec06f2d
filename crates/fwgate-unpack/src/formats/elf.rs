//! ELF files inside a raw flash dump or payload: carved out whole (to the end their headers
//! give) so that the scanner checks them like any program on the device.
//!
//! Only looked for where nothing names the bytes (the image, raw payloads): an ELF file the
//! device sees by name is already a file, and one embedded inside it is data, not a program
//! the device runs. An ELF at the very start of the file being carved is that file itself
//! (see [`Handler::raw_only`]).

use crate::coverage::elf_extent;
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

/// The ELF handler.
pub struct Elf;

impl Handler for Elf {
    fn id(&self) -> &'static str {
        "elf"
    }
    fn description(&self) -> &'static str {
        "ELF file in a flash dump or raw payload (carved for the scanner)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"\x7fELF"]
    }
    fn raw_only(&self) -> bool {
        true
    }
    fn isolate(&self) -> bool {
        // Reads two bounded tables and copies a window: safe Rust, no allocation sized by
        // the input beyond 64 KiB of program headers.
        false
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let h = src.bytes(0, 64).ok()?;
        let (class, data, version) = (*h.get(4)?, *h.get(5)?, *h.get(6)?);
        if !matches!(class, 1 | 2) || !matches!(data, 1 | 2) || version != 1 {
            return None;
        }
        let half = |at: usize| -> Option<u16> {
            let b = [*h.get(at)?, *h.get(at + 1)?];
            Some(if data == 2 {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            })
        };
        let (e_type, machine) = (half(16)?, half(18)?);
        let (ehsize, phentsize, shentsize) = if class == 2 {
            (half(52)?, half(54)?, half(58)?)
        } else {
            (half(40)?, half(42)?, half(46)?)
        };
        let wide = class == 2;
        let sizes_ok = ehsize == if wide { 64 } else { 52 }
            && matches!(phentsize, 0 | 32 | 56)
            && matches!(shentsize, 0 | 40 | 64);
        if !(1..=4).contains(&e_type) || machine == 0 || !sizes_ok {
            return None;
        }
        let extent = elf_extent(src)?;
        if extent < u64::from(ehsize) || extent > src.len() {
            return None;
        }
        let kind = match e_type {
            1 => "relocatable",
            2 => "executable",
            3 => "shared object or PIE",
            _ => "core",
        };
        Some(Probe::new(
            Some(extent),
            format!(
                "ELF {}-bit {} {kind}, machine {machine}, {}",
                if wide { 64 } else { 32 },
                if data == 2 {
                    "big-endian"
                } else {
                    "little-endian"
                },
                human_size(extent)
            ),
        ))
    }

    fn extract(&self, src: &Source, probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let len = probe.len.unwrap_or(0).min(src.len());
        out.file("program.elf", &mut src.slice(0, len).reader(0), 0o755)?;
        Ok(len)
    }
}
