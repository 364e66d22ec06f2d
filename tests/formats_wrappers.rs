//! Differential and hostile-input tests of the wrappers and streams (uImage compressions, FIT, TRX, Android sparse, Intel HEX, S-record, zlib, bzip2, lz4, lzo) handlers: each committed sample in
//! firmware-samples/formats/ is extracted by fwgate and by the format's reference tool and
//! compared by sha256; crafted samples must be refused or reported, never extracted outside
//! the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
