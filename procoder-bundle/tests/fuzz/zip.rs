//! Seeds of the return-zip reader's fuzz target (fuzz/fuzz_targets/return_zip.rs): it checks
//! what the mutation loop that was here checked, coverage-guided.
use crate::harness::*;
use procoder_bundle::package::write_return_zip;
use procoder_manifest::ReturnDoc;
use std::io::{Cursor, Write};

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
