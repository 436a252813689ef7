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
