//! The return package: a zip of exactly `procoder-return.json` and the bundle it names.
//! Both binaries use this module, so the layout cannot drift between writer and reader.

use crate::io_err;
use crate::layout::DOC_FILE;
use procoder_manifest::{ErrorCode, Failure, Result, ReturnDoc};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::Path;

/// Largest bundle accepted: the sandbox's upload limit is 512 MB, so this is generous.
pub(crate) const MAX_BUNDLE_BYTES: u64 = 4 << 30;
/// Deflate cannot do better than about 1032:1; a larger claimed ratio is a bomb.
const MAX_RATIO: u64 = 1100;

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::InvalidReturnPackage, message)
}

/// A zip timestamp for unix seconds (zip stores local time without a zone; we store UTC).
pub(crate) fn zip_time(unix_seconds: i64) -> zip::DateTime {
    let t = procoder_manifest::utc_fields(unix_seconds.max(315_532_800));
    zip::DateTime::from_date_and_time(
        t.year.clamp(1980, 2107) as u16,
        t.month as u8,
        t.day as u8,
        t.hour as u8,
        t.minute as u8,
        t.second as u8,
    )
    .unwrap_or_default()
}

/// Writes `<dest>` atomically (a temporary file renamed into place): the bundle, streamed from
/// `write_bundle` into a stored member (a pack is already compressed), then the document
/// (deflated), each mode 0644, as the Go helper lays them out. Returns `write_bundle`'s value
/// and the zip's size. Not fsynced: it is written in a disposable sandbox, where durability
/// buys nothing and a sync costs milliseconds; the rename alone keeps it whole or absent.
pub fn write_return_zip<T>(
    dest: &Path,
    doc: &ReturnDoc,
    unix_seconds: i64,
    write_bundle: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<(T, u64)> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".procoder-return-")
        .suffix(".zip.tmp")
        .tempfile_in(dir)
        .map_err(io_err(format!(
            "cannot create a temporary file in {}",
            dir.display()
        )))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 16, tmp));
    let base = zip::write::SimpleFileOptions::default()
        .unix_permissions(0o644)
        .last_modified_time(zip_time(unix_seconds));
    let zerr = |what: &'static str| move |e: zip::result::ZipError| Failure::internal(what, e);
    zip.start_file(
        doc.bundle_file.as_str(),
        base.compression_method(zip::CompressionMethod::Stored),
    )
    .map_err(zerr("cannot add the bundle to the return package"))?;
    let value = write_bundle(&mut zip)?;
    zip.start_file(
        DOC_FILE,
        base.compression_method(zip::CompressionMethod::Deflated),
    )
    .map_err(zerr("cannot add the document to the return package"))?;
    zip.write_all(doc.to_json().as_bytes())
        .map_err(io_err("cannot write the document"))?;
    let tmp = zip
        .finish()
        .map_err(zerr("cannot finish the return package"))?
        .into_inner()
        .map_err(|e| Failure::internal("cannot write the return package", e.into_error()))?;
    let len = tmp
        .as_file()
        .metadata()
        .map_err(io_err("cannot stat the return package"))?
        .len();
    crate::host::make_readable(tmp.as_file());
    tmp.persist(dest)
        .map_err(|e| Failure::internal(format!("cannot write {}", dest.display()), e.error))?;
    Ok((value, len))
}

/// An opened return package whose document has been read and validated.
pub struct ReturnPackage<R: Read + Seek> {
    archive: zip::ZipArchive<R>,
    /// The validated document.
    pub doc: ReturnDoc,
    bundle_index: usize,
    /// Uncompressed size of the bundle member.
    pub bundle_size: u64,
}

/// Opens a return package defensively: exactly the two expected members, each a plain,
/// unencrypted, stored or deflated file at the top level with bounded sizes.
pub fn open_return(path: &Path) -> Result<ReturnPackage<File>> {
    let file = File::open(path).map_err(|e| {
        // A mistyped path is not a bad package: say so, with nothing about asking the agent.
        if e.kind() == std::io::ErrorKind::NotFound {
            return invalid(format!("there is no file at {}", path.display()))
                .hint("check the path: the return package is the procoder-return-<id>.zip the agent linked, wherever your browser saved it");
        }
        invalid(format!("cannot open {}", path.display())).detail(e.to_string())
    })?;
    let archive = zip::ZipArchive::new(file).map_err(|e| {
        invalid(format!("{} is not a readable zip", path.display())).detail(e.to_string())
    })?;
    ReturnPackage::new(archive)
}

impl<R: Read + Seek> ReturnPackage<R> {
    /// Checks every member and reads the document.
    pub fn new(mut archive: zip::ZipArchive<R>) -> Result<Self> {
        // The zip crate keys members by name: a repeated name leaves one entry (the last one's
        // data), so `len()` and the loop below never saw the duplicate, and `unzip` would have
        // shown a different document than the one applied.
        if archive.has_duplicate_names() {
            return Err(invalid("a member name appears twice in the return package"));
        }
        if archive.len() != 2 {
            return Err(invalid(format!(
                "return package has {} members; it must hold exactly {DOC_FILE} and the bundle",
                archive.len()
            )));
        }
        let mut names = Vec::new();
        for i in 0..archive.len() {
            let entry = archive
                .by_index_raw(i)
                .map_err(|e| invalid(format!("cannot read member {i}")).detail(e.to_string()))?;
            let name = String::from_utf8(entry.name_raw().to_vec())
                .map_err(|_| invalid("a member name is not UTF-8"))?;
            check_member(&entry, &name)?;
            if names.contains(&name) {
                return Err(invalid(format!("member {name:?} appears twice")));
            }
            names.push(name);
        }
        let doc_index = names
            .iter()
            .position(|n| n == DOC_FILE)
            .ok_or_else(|| invalid(format!("return package has no {DOC_FILE}")))?;
        let doc_bytes = {
            let member = archive
                .by_index(doc_index)
                .map_err(|e| invalid(format!("cannot read {DOC_FILE}")).detail(e.to_string()))?;
            read_bounded(
                member,
                procoder_manifest::MAX_DOCUMENT_BYTES as u64,
                DOC_FILE,
            )?
        };
        let doc = ReturnDoc::from_json(&doc_bytes)?;
        let bundle_index = 1 - doc_index;
        if names[bundle_index] != doc.bundle_file {
            return Err(invalid(format!(
                "return package holds {:?} but the document names bundle {:?}",
                names[bundle_index], doc.bundle_file
            )));
        }
        let bundle_size = archive
            .by_index_raw(bundle_index)
            .map(|e| e.size())
            .unwrap_or(0);
        Ok(Self {
            archive,
            doc,
            bundle_index,
            bundle_size,
        })
    }

    /// Streams the bundle member to `f`. The zip layer checks its CRC at the end.
    /// A member that inflates past its declared size, fails its CRC or does not inflate is a
    /// defect of the zip (`INVALID_RETURN_PACKAGE`), not of the bundle read through it.
    pub fn with_bundle<T>(&mut self, f: impl FnOnce(&mut dyn BufRead) -> Result<T>) -> Result<T> {
        let member = self
            .archive
            .by_index(self.bundle_index)
            .map_err(|e| invalid("cannot read the bundle member").detail(e.to_string()))?;
        let limited = ZipLayer {
            inner: member.take(MAX_BUNDLE_BYTES),
            error: None,
        };
        let mut reader = BufReader::with_capacity(64 * 1024, limited);
        let result = f(&mut reader);
        match (result, reader.get_mut().error.take()) {
            (Err(_), Some(why)) => Err(invalid(format!(
                "the bundle member {:?} is damaged or larger than it declares",
                self.doc.bundle_file
            ))
            .detail(why)),
            (result, _) => result,
        }
    }
}

/// Remembers an error of the zip layer (size limit, CRC, inflate) while passing it on.
struct ZipLayer<R> {
    inner: R,
    error: Option<String>,
}

impl<R: Read> Read for ZipLayer<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.error = Some(e.to_string());
            }
        })
    }
}

fn check_member<R: Read>(entry: &zip::read::ZipFile<'_, R>, name: &str) -> Result<()> {
    let bad = |why: &str| invalid(format!("member {name:?} {why}"));
    if name.is_empty()
        || name.contains(['/', '\\'])
        || name == "."
        || name == ".."
        || name.chars().any(char::is_control)
    {
        return Err(bad("is not a plain file name at the top level"));
    }
    if entry.is_dir() {
        return Err(bad("is a directory"));
    }
    if entry.is_symlink() || entry.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000) {
        return Err(bad("is a symbolic link"));
    }
    // Any other recorded file type (a directory, device or fifo recorded in the mode bits
    // under a plain name) is not a plain file either; no type recorded is fine.
    if entry
        .unix_mode()
        .is_some_and(|m| !matches!(m & 0o170000, 0 | 0o100000))
    {
        return Err(bad("is not a regular file"));
    }
    if entry.encrypted() {
        return Err(bad("is encrypted"));
    }
    if !matches!(
        entry.compression(),
        zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
    ) {
        return Err(bad(&format!(
            "uses compression method {:?}",
            entry.compression()
        )));
    }
    let limit = if name == DOC_FILE {
        procoder_manifest::MAX_DOCUMENT_BYTES as u64
    } else {
        MAX_BUNDLE_BYTES
    };
    if entry.size() > limit {
        return Err(bad(&format!(
            "declares {} bytes, more than {limit}",
            entry.size()
        )));
    }
    if entry.size() > 1 << 20 && entry.size() / entry.compressed_size().max(1) > MAX_RATIO {
        return Err(bad(&format!(
            "claims a compression ratio above {MAX_RATIO}:1 (a zip bomb)"
        )));
    }
    Ok(())
}

fn read_bounded(member: impl Read, limit: u64, name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    member
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| invalid(format!("cannot read member {name:?}")).detail(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(invalid(format!(
            "member {name:?} is larger than {limit} bytes"
        )));
    }
    Ok(out)
}
