//! The return zip as `apply` opens it: `ReturnPackage::new`, then the bundle member through
//! `with_bundle` (header, then every byte). INVALID_RETURN_PACKAGE, UNSUPPORTED_PROTOCOL or
//! BUNDLE_VERIFY_FAILED, and never more bytes than the member declares.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procoder_bundle::package::ReturnPackage;
use procoder_bundle::BundleHeader;
use procoder_manifest::{ErrorCode, Failure};
use std::io::Cursor;

fn allowed(f: &Failure, what: &str) {
    assert!(
        matches!(
            f.code,
            ErrorCode::InvalidReturnPackage
                | ErrorCode::UnsupportedProtocol
                | ErrorCode::BundleVerifyFailed
        ),
        "{what} failed with {f}"
    );
}

fuzz_target!(|data: &[u8]| {
    // `open_return` maps every error of the zip crate's reader to INVALID_RETURN_PACKAGE.
    let Ok(archive) = zip::ZipArchive::new(Cursor::new(data)) else {
        return;
    };
    let mut pkg = match ReturnPackage::new(archive) {
        Ok(p) => p,
        Err(f) => return allowed(&f, "ReturnPackage::new"),
    };
    let declared = pkg.bundle_size;
    let read = pkg.with_bundle(|r| {
        BundleHeader::read(r)?;
        let mut n = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(n),
                Ok(k) => n += k as u64,
                Err(e) => return Err(Failure::new(ErrorCode::BundleVerifyFailed, e.to_string())),
            }
        }
    });
    match read {
        Ok(n) => assert!(
            n <= declared,
            "read {n} bytes of a member declaring {declared}"
        ),
        Err(f) => allowed(&f, "with_bundle"),
    }
});
