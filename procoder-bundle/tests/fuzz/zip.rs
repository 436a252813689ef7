//! Fuzzing the return-zip reader.
use crate::harness::*;
use procoder_bundle::package::{write_return_zip, ReturnPackage};
use procoder_bundle::BundleHeader;
use procoder_manifest::{ErrorCode, Failure, ReturnDoc};
use std::io::{Cursor, Write};

// ---- zip ---------------------------------------------------------------------------------

pub(crate) fn fake_bundle() -> Vec<u8> {
    let mut b = format!(
        "# v2 git bundle\n-{BASE} Base commit\n{OID_A} {FAMILY}/extra\n{OID_B} {FAMILY}/task\n\n"
    )
    .into_bytes();
    b.extend_from_slice(b"PACK\0\0\0\x02\0\0\0\0");
    b.extend_from_slice(&[0x5a; 20]);
    b
}

pub(crate) fn zip_seeds() -> Vec<Vec<u8>> {
    let doc = ReturnDoc::from_json(DOC.as_bytes()).expect("the fixture is valid");
    let tmp = tempfile::TempDir::new().expect("tmp");
    let path = tmp.path().join("r.zip");
    let bundle = fake_bundle();
    write_return_zip(&path, &doc, 1_764_000_000, |w| {
        w.write_all(&bundle).expect("write to a zip");
        Ok(())
    })
    .expect("write a return zip");
    let ours = std::fs::read(&path).expect("read it back");
    let mut seeds = vec![ours];
    for (large, method) in [
        (false, zip::CompressionMethod::Deflated),
        (true, zip::CompressionMethod::Deflated),
        (true, zip::CompressionMethod::Stored),
    ] {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(large)
            .unix_permissions(0o644);
        w.start_file("procoder-return.json", opts).expect("start");
        w.write_all(DOC.as_bytes()).expect("write");
        w.start_file("procoder-return.bundle", opts).expect("start");
        w.write_all(&bundle).expect("write");
        // Some zeros after the pack make the deflated member compress well.
        w.write_all(&vec![0u8; 4096]).expect("write");
        seeds.push(w.finish().expect("finish").into_inner());
    }
    seeds
}

/// Sets a field of a zip record (local, central, end of directory) to a boundary value.
pub(crate) fn mutate_zip_field(rng: &mut Rng, data: &mut [u8]) {
    let sigs: [&[u8]; 5] = [
        b"PK\x03\x04",
        b"PK\x01\x02",
        b"PK\x05\x06",
        b"PK\x06\x06",
        b"PK\x06\x07",
    ];
    let starts: Vec<usize> = (0..data.len().saturating_sub(3))
        .filter(|&i| sigs.iter().any(|s| data[i..].starts_with(s)))
        .collect();
    if starts.is_empty() {
        return;
    }
    let at = *rng.pick(&starts) + 4 + rng.below(52);
    let width = *rng.pick(&[1usize, 2, 2, 4, 4, 8]);
    if at + width <= data.len() {
        let v = match rng.below(3) {
            0 => rng.next(),
            _ => *rng.pick(INTERESTING),
        };
        data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

pub(crate) fn read_package(data: &[u8]) -> Result<(), String> {
    // `open_return` maps every error of the zip crate's reader to INVALID_RETURN_PACKAGE.
    let Ok(archive) = zip::ZipArchive::new(Cursor::new(data)) else {
        return Ok(());
    };
    let codes = [
        ErrorCode::InvalidReturnPackage,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::BundleVerifyFailed,
    ];
    let mut pkg = match ReturnPackage::new(archive) {
        Ok(p) => p,
        Err(f) => return allowed(&f, &codes, "ReturnPackage::new"),
    };
    let declared = pkg.bundle_size;
    let result = pkg.with_bundle(|r| {
        BundleHeader::read(r)?;
        let mut n = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => n += k as u64,
                Err(e) => return Err(Failure::new(ErrorCode::BundleVerifyFailed, e.to_string())),
            }
        }
        Ok(n)
    });
    match result {
        Ok(n) if n > declared => Err(format!("read {n} bytes of a member declaring {declared}")),
        Ok(_) => Ok(()),
        Err(f) => allowed(&f, &codes, "with_bundle"),
    }
}

#[test]
pub(crate) fn fuzz_return_zip() {
    let seeds = zip_seeds();
    for s in &seeds {
        let archive = zip::ZipArchive::new(Cursor::new(s.as_slice())).expect("a valid seed");
        ReturnPackage::new(archive).expect("a valid seed opens");
    }
    fuzz(
        "return-zip",
        3000,
        |rng| {
            let mut data = rng.pick(&seeds).clone();
            for _ in 0..1 + rng.below(4) {
                if rng.below(2) == 0 {
                    mutate_zip_field(rng, &mut data);
                } else {
                    mutate_bytes(rng, &mut data);
                }
            }
            data
        },
        read_package,
    );
}
