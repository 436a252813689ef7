//! Zip files: extraction with the real `unzip`, and reading/writing members with the zip crate.

use super::assert_success;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Extracts `zip` with the real `unzip -q` into `dest` and returns the single top folder.
pub fn unzip_to(zip: &Path, dest: &Path) -> PathBuf {
    let out = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dest)
        .output()
        .expect("unzip is on PATH for every test run");
    assert_success(&out, "unzip");
    let entries: Vec<PathBuf> = std::fs::read_dir(dest)
        .expect("read the extraction folder")
        .map(|e| e.expect("folder entry").path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "the package must hold exactly one top folder, found {entries:?}"
    );
    assert!(
        entries[0].is_dir(),
        "{} is not a folder",
        entries[0].display()
    );
    entries[0].clone()
}

/// One member of a zip: name, unix mode (if recorded), inflated bytes.
pub struct Member {
    pub name: String,
    pub mode: Option<u32>,
    pub data: Vec<u8>,
}

/// Reads and inflates every member of a zip with the zip crate.
pub fn zip_members(path: &Path) -> Vec<Member> {
    let file = std::fs::File::open(path).expect("open the zip");
    let mut archive = zip::ZipArchive::new(file).expect("a readable zip");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("a readable zip member");
            let name = entry.name().expect("a member name").into_owned();
            let mode = entry.unix_mode();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("inflate a member");
            Member { name, mode, data }
        })
        .collect()
}

/// Writes a zip with the given (name, bytes) members, deflated, mode 0644.
pub fn write_zip(path: &Path, members: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).expect("create a zip");
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (name, data) in members {
        writer
            .start_file(*name, options)
            .expect("start a zip member");
        writer.write_all(data).expect("write a zip member");
    }
    writer.finish().expect("finish the zip");
}

/// The two documents of a return package: (procoder-return.json, bundle bytes).
/// Asserts that the zip holds exactly those two members.
pub fn read_return(zip: &Path) -> (Value, Vec<u8>) {
    let members = zip_members(zip);
    let mut names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["procoder-return.bundle", "procoder-return.json"],
        "a return package holds exactly the bundle and the document"
    );
    let doc = members
        .iter()
        .find(|m| m.name == "procoder-return.json")
        .expect("the document");
    let bundle = members
        .iter()
        .find(|m| m.name == "procoder-return.bundle")
        .expect("the bundle");
    let json: Value = serde_json::from_slice(&doc.data).expect("procoder-return.json is JSON");
    (json, bundle.data.clone())
}

/// One member of a hand-built zip: every header field as given, nothing checked, so a test
/// can write what no zip library would (names with NUL or `..`, lying sizes, flags, methods).
#[derive(Clone)]
pub struct RawMember {
    pub name: Vec<u8>,
    /// The member's bytes as stored in the archive (already deflated for method 8).
    pub data: Vec<u8>,
    pub method: u16,
    pub flags: u16,
    pub crc: u32,
    /// The declared uncompressed size.
    pub size: u64,
    /// A unix mode recorded in the external attributes (made by "Unix").
    pub mode: Option<u32>,
}

impl RawMember {
    /// A stored member with honest size and CRC, mode 0100644.
    pub fn stored(name: &[u8], content: &[u8]) -> Self {
        RawMember {
            name: name.to_vec(),
            data: content.to_vec(),
            method: 0,
            flags: 0,
            crc: crc32fast::hash(content),
            size: content.len() as u64,
            mode: Some(0o100644),
        }
    }

    /// A deflated member with honest size and CRC, mode 0100644.
    pub fn deflated(name: &[u8], content: &[u8]) -> Self {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(content).expect("deflate to memory");
        RawMember {
            data: enc.finish().expect("deflate to memory"),
            method: 8,
            ..RawMember::stored(name, content)
        }
    }
}

/// Writes `members` as a zip, ZIP64 extra fields where a size needs them.
pub fn write_raw_zip(path: &Path, members: &[RawMember]) {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let zip64 = m.size >= 0xFFFF_FFFF || m.data.len() as u64 >= 0xFFFF_FFFF;
        let (size32, csize32) = if zip64 {
            (0xFFFF_FFFFu32, 0xFFFF_FFFFu32)
        } else {
            (m.size as u32, m.data.len() as u32)
        };
        let mut extra = Vec::new();
        if zip64 {
            extra.extend_from_slice(&1u16.to_le_bytes());
            extra.extend_from_slice(&16u16.to_le_bytes());
            extra.extend_from_slice(&m.size.to_le_bytes());
            extra.extend_from_slice(&(m.data.len() as u64).to_le_bytes());
        }
        let needed: u16 = if zip64 { 45 } else { 20 };
        let common = |h: &mut Vec<u8>| {
            h.extend_from_slice(&m.flags.to_le_bytes());
            h.extend_from_slice(&m.method.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // time
            h.extend_from_slice(&0x21u16.to_le_bytes()); // 1980-01-01
            h.extend_from_slice(&m.crc.to_le_bytes());
            h.extend_from_slice(&csize32.to_le_bytes());
            h.extend_from_slice(&size32.to_le_bytes());
            h.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        };
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&needed.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(&m.name);
        out.extend_from_slice(&extra);
        out.extend_from_slice(&m.data);

        central.extend_from_slice(b"PK\x01\x02");
        let made_by: u16 = if m.mode.is_some() { 3 << 8 | 45 } else { 45 };
        central.extend_from_slice(&made_by.to_le_bytes());
        central.extend_from_slice(&needed.to_le_bytes());
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&(m.mode.unwrap_or(0) << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&m.name);
        central.extend_from_slice(&extra);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).expect("write a hand-built zip");
}
