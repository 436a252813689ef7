//! `Exchange::from_json`, the exchange record prepare writes and every later command reads:
//! a coded refusal (never INTERNAL) or a record that re-reads identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procoder_manifest::{ErrorCode, Exchange};

fuzz_target!(|data: &[u8]| {
    match Exchange::from_json(data) {
        Err(f) => assert!(f.code != ErrorCode::Internal, "INTERNAL: {f}"),
        Ok(record) => {
            let again = Exchange::from_json(record.to_json().as_bytes())
                .unwrap_or_else(|f| panic!("an accepted record does not re-read: {f}"));
            assert_eq!(again, record, "round trip changed the record");
        }
    }
});
