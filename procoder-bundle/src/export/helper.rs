//! The helper, deflated once: the size estimate needs its compressed size, and the package
//! holds it twice (`procoder-return` and the copy in `.git/procoder/`). Deflating 2 MB takes
//! longer than everything else prepare does on a small repository, so it is done once, into
//! a one-entry zip, and both package entries are raw copies of that entry.

use super::Opts;
use procoder_manifest::{Failure, Result};
use std::io::{Cursor, Seek, Write};

/// The helper as a deflated zip entry.
pub struct DeflatedHelper {
    zip: Vec<u8>,
    compressed: u64,
}

fn zerr(e: zip::result::ZipError) -> Failure {
    Failure::internal("cannot compress the helper", e)
}

impl DeflatedHelper {
    /// `bytes` (the executable) deflated as the package's entries are, stamped `unix_time`.
    pub fn new(bytes: &[u8], unix_time: i64) -> Result<Self> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        // 0755 whatever the helper's mode on disk (or the host's file system) says.
        let opts = Opts::at(unix_time).file.unix_permissions(0o755);
        zip.start_file("helper", opts).map_err(zerr)?;
        zip.write_all(bytes)
            .map_err(|e| Failure::internal("cannot compress the helper", e))?;
        let zip = zip.finish().map_err(zerr)?.into_inner();
        let mut archive = zip::ZipArchive::new(Cursor::new(&zip)).map_err(zerr)?;
        let compressed = archive.by_index_raw(0).map_err(zerr)?.compressed_size();
        Ok(Self { zip, compressed })
    }

    /// Its deflated bytes (one copy).
    pub fn compressed_size(&self) -> u64 {
        self.compressed
    }

    /// Adds it to `out` as `name`, copying the deflated bytes.
    pub(super) fn copy_into<W: Write + Seek>(
        &self,
        out: &mut zip::ZipWriter<W>,
        name: String,
    ) -> Result<()> {
        let mut archive = zip::ZipArchive::new(Cursor::new(&self.zip)).map_err(zerr)?;
        let entry = archive.by_index_raw(0).map_err(zerr)?;
        out.raw_copy_file_rename(entry, name)
            .map_err(|e| Failure::internal("cannot write the helper into the task package", e))
    }
}
