//! UBI flash images: erase-counter and volume-identifier headers, the layout volume's volume
//! table, and each volume assembled from its logical erase blocks and written as a raw
//! payload named after the volume (the engine then carves the UBIFS or SquashFS inside).
//!
//! Written here because no maintained Rust crate reads UBI. It follows the kernel's attach
//! (drivers/mtd/ubi/attach.c, vtbl.c): headers are CRC-checked, the copy of a logical erase
//! block with the highest sequence number wins (a copy whose `copy_flag` is set must pass its
//! data CRC, else the older one is used), equal sequence numbers (which stop the kernel's
//! attach) are reported, static volumes' data CRCs are checked. Memory holds one header per
//! PEB; volumes are streamed from the image.

use std::collections::BTreeMap;
use std::io::Read;

use crate::formats::be32;
use crate::handler::{human_size, Handler, Output, Probe};
use crate::source::Source;
use crate::Result;

const HDR: usize = 64;
const LAYOUT_VOL: u32 = 0x7fff_efff;
const VTBL_RECORD: usize = 172;
const MAX_VOLUMES: usize = 128;
const DYNAMIC: u8 = 1;
const STATIC: u8 = 2;
/// Largest PEB considered.
const MAX_PEB: u64 = 16 << 20;

/// UBI's CRC: the kernel's `crc32(UBI_CRC32_INIT, …)`, seeded with all ones, not inverted.
fn crc(b: &[u8]) -> u32 {
    !crc32fast::hash(b)
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some((u64::from(be32(b, at)?) << 32) | u64::from(be32(b, at + 4)?))
}

/// An erase-counter header.
#[derive(Debug, Clone, Copy)]
struct Ec {
    vid_off: u32,
    data_off: u32,
    image_seq: u32,
}

fn ec(b: &[u8]) -> Option<Ec> {
    let h = b.get(..HDR)?;
    let ok = &h[..4] == b"UBI#" && h[4] == 1 && be32(h, 60)? == crc(&h[..60]);
    let e = Ec {
        vid_off: be32(h, 16)?,
        data_off: be32(h, 20)?,
        image_seq: be32(h, 24)?,
    };
    (ok && e.vid_off >= HDR as u32 && e.data_off >= e.vid_off.saturating_add(HDR as u32))
        .then_some(e)
}

/// A volume-identifier header.
#[derive(Debug, Clone, Copy)]
struct Vid {
    copy_flag: u8,
    vol_id: u32,
    lnum: u32,
    data_size: u32,
    used_ebs: u32,
    data_crc: u32,
    sqnum: u64,
}

fn vid(h: &[u8]) -> Option<Vid> {
    let ok = h.get(..4)? == b"UBI!" && *h.get(4)? == 1 && be32(h, 60)? == crc(h.get(..60)?);
    ok.then_some(Vid {
        copy_flag: h[6],
        vol_id: be32(h, 8)?,
        lnum: be32(h, 12)?,
        data_size: be32(h, 20)?,
        used_ebs: be32(h, 24)?,
        data_crc: be32(h, 32)?,
        sqnum: be64(h, 40)?,
    })
}

/// The PEB size: the distance to the next valid EC header (a power of two), or the whole
/// source when it holds one PEB.
fn peb_size(src: &Source, first: &Ec) -> Option<u64> {
    let min = u64::from(first.data_off).max(1024).next_power_of_two();
    let mut p = min;
    while p <= MAX_PEB && p < src.len() {
        if src.bytes(p, HDR).ok().as_deref().and_then(ec).is_some() {
            return Some(p);
        }
        p *= 2;
    }
    (src.len() > u64::from(first.data_off) && src.len() <= MAX_PEB).then(|| src.len())
}

/// The UBI handler.
pub struct Ubi;

impl Handler for Ubi {
    fn id(&self) -> &'static str {
        "ubi"
    }
    fn description(&self) -> &'static str {
        "UBI flash image (volumes written as payloads)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"UBI#"]
    }

    fn probe(&self, src: &Source) -> Option<Probe> {
        let first = ec(&src.bytes(0, HDR).ok()?)?;
        let peb = peb_size(src, &first)?;
        Some(Probe::new(
            None,
            format!("UBI image, {} PEBs", human_size(peb)),
        ))
    }

    fn extract(&self, src: &Source, _probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let first = src
            .bytes(0, HDR)
            .ok()
            .as_deref()
            .and_then(ec)
            .ok_or_else(|| out.malformed("no erase-counter header"))?;
        let peb = peb_size(src, &first).ok_or_else(|| out.malformed("no PEB size"))?;
        let mut used = Vec::new();
        // Every valid VID header, by (volume, LEB): (PEB offset, data offset, header).
        let mut lebs: Copies = BTreeMap::new();
        let count = src.len() / peb;
        let mut end = 0;
        for i in 0..count {
            out.check_time()?;
            let at = i * peb;
            let h = src
                .bytes(at, HDR)
                .map_err(|e| out.malformed(e.to_string()))?;
            let Some(e) = ec(&h) else {
                if h.iter().all(|&b| b == 0xff) {
                    end = at + peb;
                    continue;
                }
                if h.starts_with(b"UBI#") {
                    out.problem(format!("PEB {i} ({at:#x}): erase-counter header CRC mismatch; the kernel treats the PEB as corrupt"));
                    end = at + peb;
                    continue;
                }
                break;
            };
            end = at + peb;
            used.push((at, at + HDR as u64));
            if e.image_seq != first.image_seq {
                out.problem(format!("PEB {i} ({at:#x}): image sequence {} differs from {}; the kernel refuses to attach such an image", e.image_seq, first.image_seq));
            }
            if u64::from(e.data_off) >= peb {
                out.problem(format!(
                    "PEB {i} ({at:#x}): data offset {} lies outside the PEB",
                    e.data_off
                ));
                continue;
            }
            let vat = at + u64::from(e.vid_off);
            let vh = src
                .bytes(vat, HDR)
                .map_err(|e| out.malformed(e.to_string()))?;
            if vh.iter().all(|&b| b == 0xff) {
                continue; // a free PEB
            }
            let Some(v) = vid(&vh) else {
                out.problem(format!("PEB {i} ({at:#x}): volume identifier header is invalid (magic or CRC); its data is not used"));
                continue;
            };
            used.push((vat, vat + HDR as u64));
            lebs.entry((v.vol_id, v.lnum))
                .or_default()
                .push((at, at + u64::from(e.data_off), v));
        }
        let tail = count * peb;
        let cut = end == tail && src.bytes(tail, HDR).ok().as_deref().and_then(ec).is_some();
        if cut {
            out.problem(format!(
                "the image ends inside a PEB ({} bytes past the last whole PEB)",
                src.len() % peb
            ));
        }
        let mut ctx = Ctx { src, peb, out };
        let chosen = ctx.choose(lebs)?;
        let volumes = ctx.volume_table(&chosen, &mut used)?;
        ctx.write_volumes(&volumes, &chosen, &mut used)?;
        used.sort_unstable();
        out.used(used);
        Ok(end)
    }
}

/// One record of the volume table.
struct Volume {
    id: u32,
    reserved_pebs: u32,
    data_pad: u32,
    vol_type: u8,
    name: String,
}

/// Every copy of each (volume, LEB): the PEB's offset, where its data starts, its header.
type Copies = BTreeMap<(u32, u32), Vec<(u64, u64, Vid)>>;

/// The copy of a LEB that the kernel uses: the PEB's offset, where its data starts, header.
type Chosen = BTreeMap<(u32, u32), (u64, u64, Vid)>;

struct Ctx<'a, 'o, 'p> {
    src: &'a Source,
    peb: u64,
    out: &'o mut Output<'p>,
}

impl Ctx<'_, '_, '_> {
    fn data_crc_ok(&self, data: u64, v: &Vid) -> Result<bool> {
        let room = (self.peb - (data % self.peb)) as usize;
        if v.data_size as usize > room {
            return Ok(false);
        }
        let b = self
            .src
            .bytes(data, v.data_size as usize)
            .map_err(|e| self.out.malformed(e.to_string()))?;
        Ok(b.len() == v.data_size as usize && crc(&b) == v.data_crc)
    }

    /// Picks each LEB's copy the way the kernel's `ubi_compare_lebs` does.
    fn choose(&mut self, lebs: Copies) -> Result<Chosen> {
        let mut chosen = BTreeMap::new();
        for (key, mut copies) in lebs {
            self.out.check_time()?;
            // Newest first; equal sequence numbers keep image order.
            copies.sort_by_key(|c| std::cmp::Reverse(c.2.sqnum));
            if copies.len() > 1 && copies[0].2.sqnum == copies[1].2.sqnum {
                self.out.problem(format!(
                    "volume {} LEB {}: PEBs at {:#x} and {:#x} have the same sequence number {}; the kernel refuses to attach the image; the first is used",
                    key.0, key.1, copies[0].0, copies[1].0, copies[0].2.sqnum
                ));
            } else if copies.len() > 1 {
                self.out.problem(format!(
                    "volume {} LEB {}: {} PEBs hold it; the newest (sequence {}, at {:#x}) is used and the older copies are carved as leftovers",
                    key.0, key.1, copies.len(), copies[0].2.sqnum, copies[0].0
                ));
            }
            let mut pick = None;
            for c in &copies {
                if c.2.copy_flag != 0 && !self.data_crc_ok(c.1, &c.2)? {
                    self.out.problem(format!(
                        "volume {} LEB {}: the copy at {:#x} (copy_flag set) fails its data CRC; the kernel falls back to an older copy",
                        key.0, key.1, c.0
                    ));
                    continue;
                }
                pick = Some(*c);
                break;
            }
            if let Some(p) = pick {
                chosen.insert(key, p);
            }
        }
        Ok(chosen)
    }

    /// Reads the volume table from the layout volume's LEBs 0 and 1.
    fn volume_table(&mut self, chosen: &Chosen, used: &mut Vec<(u64, u64)>) -> Result<Vec<Volume>> {
        let mut copies = Vec::new();
        for lnum in 0..2 {
            let Some(&(at, data, _)) = chosen.get(&(LAYOUT_VOL, lnum)) else {
                continue;
            };
            let n = ((at + self.peb - data) as usize / VTBL_RECORD).min(MAX_VOLUMES);
            let b = self
                .src
                .bytes(data, n * VTBL_RECORD)
                .map_err(|e| self.out.malformed(e.to_string()))?;
            used.push((data, data + b.len() as u64));
            copies.push((lnum, b));
        }
        let Some((lnum, table)) = copies.first() else {
            return Err(self
                .out
                .malformed("no layout volume: the volume table is missing"));
        };
        if copies.len() == 2 && copies[0].1 != copies[1].1 {
            self.out.problem(format!(
                "the two copies of the volume table differ; the copy in LEB {lnum} is used"
            ));
        } else if copies.len() == 1 {
            self.out
                .problem("only one copy of the volume table is present".to_string());
        }
        let mut vols = Vec::new();
        for (id, r) in table.chunks_exact(VTBL_RECORD).enumerate() {
            if be32(r, 168) != Some(crc(&r[..168])) {
                self.out.problem(format!(
                    "volume table record {id}: CRC mismatch; the kernel refuses the table"
                ));
                continue;
            }
            let reserved_pebs = be32(r, 0).unwrap_or(0);
            if reserved_pebs == 0 {
                continue;
            }
            let name_len = usize::from(u16::from_be_bytes([r[14], r[15]])).min(127);
            vols.push(Volume {
                id: id as u32,
                reserved_pebs,
                data_pad: be32(r, 8).unwrap_or(0),
                vol_type: r[12],
                name: String::from_utf8_lossy(&r[16..16 + name_len]).into_owned(),
            });
        }
        Ok(vols)
    }

    fn write_volumes(
        &mut self,
        vols: &[Volume],
        chosen: &Chosen,
        used: &mut Vec<(u64, u64)>,
    ) -> Result<()> {
        for &(vol, lnum) in chosen.keys() {
            if vol != LAYOUT_VOL && !vols.iter().any(|v| v.id == vol) {
                self.out.problem(format!(
                    "LEB {lnum} of volume {vol}, which the volume table does not list; not extracted"
                ));
            }
        }
        for v in vols {
            self.out.check_time()?;
            let mine: Vec<(u32, (u64, u64, Vid))> = chosen
                .range((v.id, 0)..=(v.id, u32::MAX))
                .map(|(k, c)| (k.1, *c))
                .collect();
            let name = match v.name.as_str() {
                "" | "." | ".." => None,
                n if n.contains('/') || n.contains('\0') => None,
                n => Some(n.to_string()),
            };
            let name = name.unwrap_or_else(|| {
                self.out.problem(format!(
                    "volume {}: name {:?} is not usable as a file name; written as volume-{}",
                    v.id, v.name, v.id
                ));
                format!("volume-{}", v.id)
            });
            let mut pieces = Vec::new();
            let leb = self.peb.saturating_sub(u64::from(v.data_pad));
            if v.vol_type == STATIC {
                let used_ebs = mine.first().map_or(0, |m| m.1 .2.used_ebs);
                for n in 0..used_ebs {
                    let Some((_, (_, data, vh))) = mine.iter().find(|m| m.0 == n) else {
                        self.out.problem(format!(
                            "static volume {name}: LEB {n} of {used_ebs} is not in the image; the kernel marks the volume corrupt; the payload stops here"
                        ));
                        break;
                    };
                    if !self.data_crc_ok(*data, vh)? {
                        self.out.problem(format!(
                            "static volume {name}: LEB {n} fails its data CRC; the kernel marks the volume corrupt"
                        ));
                    }
                    let len = u64::from(vh.data_size).min(self.peb - data % self.peb);
                    pieces.push((Some(*data), len));
                    used.push((*data, data + len));
                }
            } else {
                if v.vol_type != DYNAMIC {
                    self.out.problem(format!(
                        "volume {name}: unknown volume type {}; read as dynamic",
                        v.vol_type
                    ));
                }
                let mut next = 0u32;
                for (n, (_, data, _)) in &mine {
                    if *n >= v.reserved_pebs {
                        self.out.problem(format!(
                            "volume {name}: LEB {n} is beyond its {} reserved PEBs; the kernel refuses to attach; not used",
                            v.reserved_pebs
                        ));
                        continue;
                    }
                    let len = (self.peb - data % self.peb).min(leb);
                    if *n > next {
                        // Unmapped LEBs read as erased flash.
                        pieces.push((None, u64::from(n - next) * len));
                    }
                    pieces.push((Some(*data), len));
                    used.push((*data, data + len));
                    next = n + 1;
                }
            }
            if pieces.is_empty() {
                continue;
            }
            let mut r = VolumeReader {
                src: self.src,
                pieces,
                at: 0,
                off: 0,
            };
            self.out.payload(&name, &mut r)?;
        }
        Ok(())
    }
}

/// A volume's bytes: LEB data read from the image, erased (0xff) where unmapped.
struct VolumeReader<'s> {
    src: &'s Source,
    pieces: Vec<(Option<u64>, u64)>,
    at: usize,
    off: u64,
}

impl Read for VolumeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(&(from, len)) = self.pieces.get(self.at) else {
                return Ok(0);
            };
            if self.off >= len {
                self.at += 1;
                self.off = 0;
                continue;
            }
            let n = (buf.len() as u64).min(len - self.off) as usize;
            let got = match from {
                Some(p) => self.src.read_at(p + self.off, &mut buf[..n])?,
                None => {
                    buf[..n].fill(0xff);
                    n
                }
            };
            if got == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "LEB data runs past the image",
                ));
            }
            self.off += got as u64;
            return Ok(got);
        }
    }
}
