//! Fuzzing the bundle-header reader.
use crate::harness::*;
use crate::zip::fake_bundle;
use procoder_bundle::BundleHeader;
use procoder_manifest::{check_ref_name, ErrorCode};

// ---- bundle header -----------------------------------------------------------------------

pub(crate) const HEADER_LINES: &[&str] = &[
    "# v2 git bundle",
    "# v3 git bundle",
    "# v4 git bundle",
    "# v2 git bundle ",
    "@object-format=sha1",
    "@object-format=sha256",
    "@filter=blob:none",
    "@",
    "-b39e6197ab2068454f2e6481c5e982dc88b4edfa",
    "-b39e6197ab2068454f2e6481c5e982dc88b4edfa subject with spaces",
    "-B39E6197AB2068454F2E6481C5E982DC88B4EDFA x",
    "-b39e6197ab2068454f2e6481c5e982dc88b4edf",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/procoder/20261125-010941-04c604/task",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/x..y",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/x.lock",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 HEAD",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652  refs/heads/x",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/a\rb",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/a\u{0}b",
    "3563c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/\u{200c}x",
    "zz63c76ee1e7ac0adf23d7754ad35b34f475d652 refs/heads/x",
    "",
    "PACK",
];

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

#[test]
pub(crate) fn fuzz_bundle_header() {
    let seeds = header_seeds();
    fuzz(
        "bundle-header",
        20_000,
        |rng| {
            let seed = rng.pick(&seeds).clone();
            let split = seed
                .windows(2)
                .position(|w| w == b"\n\n")
                .map_or(seed.len(), |p| p + 2);
            let (head, tail) = seed.split_at(split);
            let mut lines: Vec<Vec<u8>> = head
                .split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            for _ in 0..1 + rng.below(3) {
                let n = lines.len();
                match rng.below(6) {
                    0 if n > 0 => {
                        let i = rng.below(n);
                        lines[i] = rng.pick(HEADER_LINES).as_bytes().to_vec();
                    }
                    1 => {
                        let i = rng.below(n + 1);
                        lines.insert(i, rng.pick(HEADER_LINES).as_bytes().to_vec());
                    }
                    2 if n > 1 => {
                        let (a, b) = (rng.below(n), rng.below(n));
                        lines.swap(a, b);
                    }
                    3 if n > 0 => {
                        lines.remove(rng.below(n));
                    }
                    4 if n > 0 => {
                        let i = rng.below(n);
                        let mut l = lines[i].clone();
                        mutate_bytes(rng, &mut l);
                        lines[i] = l;
                    }
                    _ => {
                        let i = rng.below(n + 1);
                        let many = rng.pick(HEADER_LINES).as_bytes().to_vec();
                        for _ in 0..rng.below(2000) {
                            lines.insert(i, many.clone());
                        }
                    }
                }
            }
            let mut out = lines.join(&b'\n');
            out.extend_from_slice(b"\n\n");
            out.extend_from_slice(tail);
            if rng.below(4) == 0 {
                mutate_bytes(rng, &mut out);
            }
            out
        },
        |data| {
            let mut r = data;
            match BundleHeader::read(&mut r) {
                Err(f) => allowed(
                    &f,
                    &[
                        ErrorCode::BundleVerifyFailed,
                        ErrorCode::UnsupportedProtocol,
                    ],
                    "BundleHeader::read",
                ),
                Ok(h) => {
                    if h.refs.is_empty() {
                        return Err("accepted a header without refs".into());
                    }
                    for (name, _) in &h.refs {
                        // HEAD is let through for the caller to match against the updates.
                        if name != "HEAD" {
                            check_ref_name(name)?;
                        }
                    }
                    let names: std::collections::HashSet<_> =
                        h.refs.iter().map(|(n, _)| n).collect();
                    if names.len() != h.refs.len() {
                        return Err("accepted a header naming a ref twice".into());
                    }
                    let end = data
                        .windows(2)
                        .position(|w| w == b"\n\n")
                        .ok_or("accepted a header without a blank line")?
                        + 2;
                    if r != &data[end..] {
                        return Err("the reader is not left at the first pack byte".into());
                    }
                    // What we accept, we write back identically (as v2).
                    let mut out = Vec::new();
                    h.write(&mut out).map_err(|e| e.to_string())?;
                    let again = BundleHeader::read(&mut out.as_slice())
                        .map_err(|f| format!("a written header does not re-read: {f}"))?;
                    if (again.prerequisites, again.refs) != (h.prerequisites, h.refs) {
                        return Err("header round trip changed it".into());
                    }
                    Ok(())
                }
            }
        },
    );
}
