//! Seeds of the bundle-header reader's fuzz target (fuzz/fuzz_targets/bundle_header.rs): it checks
//! what the mutation loop that was here checked, coverage-guided.
use crate::harness::*;
use crate::zip::fake_bundle;

pub(crate) fn header_seeds() -> Vec<Vec<u8>> {
    vec![
        fake_bundle(),
        format!(
            "# v3 git bundle\n@object-format=sha1\n-{BASE}\n-{OID_A} second\n{OID_B} {FAMILY}/task\n\nPACK"
        )
        .into_bytes(),
        format!("# v2 git bundle\n{OID_B} {FAMILY}/task\n\n").into_bytes(),
    ]
}
