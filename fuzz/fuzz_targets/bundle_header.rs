//! `BundleHeader::read`: BUNDLE_VERIFY_FAILED or UNSUPPORTED_PROTOCOL, or a header with refs,
//! each well-formed (HEAD aside) and named once, the reader left at the first pack byte, and
//! what it writes back re-reads identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procoder_bundle::BundleHeader;
use procoder_manifest::{check_ref_name, ErrorCode};

fuzz_target!(|data: &[u8]| {
    let mut r = data;
    let h = match BundleHeader::read(&mut r) {
        Err(f) => {
            assert!(
                matches!(
                    f.code,
                    ErrorCode::BundleVerifyFailed | ErrorCode::UnsupportedProtocol
                ),
                "BundleHeader::read failed with {f}"
            );
            return;
        }
        Ok(h) => h,
    };
    assert!(!h.refs.is_empty(), "accepted a header without refs");
    for (name, _) in &h.refs {
        // HEAD is let through for the caller to match against the updates.
        if name != "HEAD" {
            if let Err(why) = check_ref_name(name) {
                panic!("accepted a bad ref name {name:?}: {why}");
            }
        }
    }
    let names: std::collections::HashSet<_> = h.refs.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names.len(),
        h.refs.len(),
        "accepted a header naming a ref twice"
    );
    let end = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("accepted a header without a blank line")
        + 2;
    assert!(
        r == &data[end..],
        "the reader is not left at the first pack byte"
    );
    let mut out = Vec::new();
    h.write(&mut out).expect("writing to memory");
    let again = BundleHeader::read(&mut out.as_slice())
        .unwrap_or_else(|f| panic!("a written header does not re-read: {f}"));
    assert_eq!(
        (again.prerequisites, again.refs),
        (h.prerequisites, h.refs),
        "header round trip changed it"
    );
});
