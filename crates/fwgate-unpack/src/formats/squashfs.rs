//! SquashFS 4.0 file systems (little-endian, any compressor backhand supports), read with
//! the `backhand` crate.

use std::io::Cursor;

use backhand::{FilesystemReader, InnerNode};

use crate::formats::{le16, le32, le64};
use crate::handler::{human_size, Handler, Output, Probe};
use crate::{Result, UnpackError};

/// The SquashFS handler.
pub struct Squashfs;

fn compressor(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "gzip",
        2 => "lzma",
        3 => "lzo",
        4 => "xz",
        5 => "lz4",
        6 => "zstd",
        _ => return None,
    })
}

impl Handler for Squashfs {
    fn id(&self) -> &'static str {
        "squashfs"
    }
    fn description(&self) -> &'static str {
        "SquashFS 4.0 file system (gzip, xz, lz4, zstd)"
    }
    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"hsqs"]
    }

    fn probe(&self, data: &[u8]) -> Option<Probe> {
        let inodes = le32(data, 4)?;
        let block_size = le32(data, 12)?;
        let comp = compressor(le16(data, 20)?)?;
        let block_log = le16(data, 22)?;
        let major = le16(data, 28)?;
        let bytes_used = le64(data, 40)?;
        let valid = major == 4
            && (4096..=1 << 20).contains(&block_size)
            && block_size.is_power_of_two()
            && u32::from(block_log) == block_size.trailing_zeros()
            && bytes_used >= 96
            && inodes > 0;
        if !valid {
            return None;
        }
        let info = format!(
            "SquashFS 4.0, {comp}, {} inodes, block {}, {}",
            inodes,
            human_size(block_size.into()),
            human_size(bytes_used)
        );
        Some(Probe {
            len: Some(bytes_used),
            info,
        })
    }

    fn extract(&self, data: &[u8], probe: &Probe, out: &mut Output<'_>) -> Result<u64> {
        let declared = probe.len.unwrap_or(data.len() as u64);
        let len = usize::try_from(declared)
            .unwrap_or(usize::MAX)
            .min(data.len());
        if (len as u64) < declared {
            out.problem(format!(
                "truncated: superblock says {declared} bytes, {} present",
                data.len()
            ));
        }
        let fs = FilesystemReader::from_reader(Cursor::new(&data[..len])).map_err(|e| {
            UnpackError::Malformed {
                file: out.origin.parent.clone(),
                format: "squashfs",
                offset: out.origin.offset,
                message: e.to_string(),
            }
        })?;
        for node in fs.files() {
            let name = node.fullpath.to_string_lossy();
            let mode = u32::from(node.header.permissions);
            match &node.inner {
                InnerNode::Dir(_) => out.dir(&name, mode)?,
                InnerNode::File(f) => match fs.file(f).reader_checked() {
                    Ok(mut r) => out.file(&name, &mut r, mode)?,
                    Err(e) => out.problem(format!("{name}: {e}")),
                },
                InnerNode::Symlink(l) => out.symlink(&name, &l.link.to_string_lossy(), mode)?,
                InnerNode::CharacterDevice(_)
                | InnerNode::BlockDevice(_)
                | InnerNode::NamedPipe
                | InnerNode::Socket => out.special(&name, mode)?,
            }
        }
        Ok(len as u64)
    }
}
