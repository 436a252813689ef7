//! `ReturnDoc::from_json`, the document of a return package: a coded refusal or a document
//! whose refs are well-formed, in the exchange's family, and that re-reads identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procoder_manifest::{check_ref_name, is_in_family, ErrorCode, ReturnDoc};

fuzz_target!(|data: &[u8]| {
    match ReturnDoc::from_json(data) {
        Err(f) => assert!(
            matches!(
                f.code,
                ErrorCode::InvalidReturnPackage
                    | ErrorCode::UnsupportedProtocol
                    | ErrorCode::RefOutOfScope
            ),
            "ReturnDoc::from_json failed with {f}"
        ),
        Ok(doc) => {
            for u in &doc.updates {
                if let Err(why) = check_ref_name(&u.name) {
                    panic!("accepted a bad ref name {:?}: {why}", u.name);
                }
                assert!(
                    is_in_family(&doc.exchange_id, &u.name),
                    "accepted {} outside the family",
                    u.name
                );
            }
            let again = ReturnDoc::from_json(doc.to_json().as_bytes())
                .unwrap_or_else(|f| panic!("an accepted document does not re-read: {f}"));
            assert_eq!(again, doc, "round trip changed the document");
        }
    }
});
