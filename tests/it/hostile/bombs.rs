//! Packs that inflate far beyond their size: one delta whose copy instructions turn 64 KiB
//! into 2 GiB, and many deltas each under the per-object bound whose sum is not. Both are
//! refused as `PACK_TOO_LARGE` while the pack streams in, before libgit2 allocates them; the
//! refusal's peak memory is measured (python3's `resource`, for the child) and bounded.

use super::*;
use sha1::{Digest, Sha1};

const ZEROS: usize = 64 * 1024;

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A pack entry header: type and inflated size.
fn entry_header(kind: u8, size: u64, out: &mut Vec<u8>) {
    let mut first = (kind << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    if rest > 0 {
        first |= 0x80;
    }
    out.push(first);
    while rest > 0 {
        let b = (rest & 0x7f) as u8;
        rest >>= 7;
        out.push(if rest > 0 { b | 0x80 } else { b });
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).expect("deflate");
    z.finish().expect("deflate")
}

/// A pack of a 64 KiB blob of zeros and `deltas` reference deltas on it, each copying it
/// `copies` times (one byte each: copy 64 KiB from offset 0).
fn bomb_pack(deltas: u32, copies: u64) -> Vec<u8> {
    let blob = vec![0u8; ZEROS];
    let blob_id = Sha1::digest([format!("blob {ZEROS}\0").as_bytes(), &blob].concat());
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(1 + deltas).to_be_bytes());
    entry_header(3, ZEROS as u64, &mut pack);
    pack.extend_from_slice(&deflate(&blob));
    let mut delta = Vec::new();
    varint(ZEROS as u64, &mut delta);
    varint(copies * ZEROS as u64, &mut delta);
    delta.extend(std::iter::repeat_n(0x80u8, copies as usize));
    let packed = deflate(&delta);
    for _ in 0..deltas {
        entry_header(7, delta.len() as u64, &mut pack);
        pack.extend_from_slice(&blob_id);
        pack.extend_from_slice(&packed);
    }
    let sum = Sha1::digest(&pack);
    pack.extend_from_slice(&sum);
    pack
}

/// The real return with its pack replaced by `pack`.
fn bomb_package(r: &Returned, name: &str, pack: &[u8]) -> PathBuf {
    with_bundle(r, name, |bundle| {
        let mut out = bundle[..pack_start(&bundle)].to_vec();
        out.extend_from_slice(pack);
        out
    })
}

/// Peak resident memory of `procoder apply --dry-run zip` in KiB, and its stderr.
fn peak_rss_kib(r: &Returned, zip: &Path) -> (u64, String) {
    let script = "import resource, subprocess, sys\n\
                  p = subprocess.run(sys.argv[1:], capture_output=True)\n\
                  sys.stderr.buffer.write(p.stderr)\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let out = hermetic(
        Command::new("python3")
            .args(["-c", script])
            .arg(bin("procoder"))
            .args(["apply", "--dry-run"])
            .arg(zip)
            .current_dir(&r.local.dir)
            .env("CI", "true"),
    )
    .output()
    .expect("python3 runs");
    let kib = stdout(&out).trim().parse().expect("a number of KiB");
    (kib, stderr(&out))
}

fn refused_within_bounds(pack: Vec<u8>, name: &str, says: &str) {
    let r = Returned::new();
    let zip = bomb_package(&r, name, &pack);
    let err = refuse(&r.local, &zip, &[], "PACK_TOO_LARGE");
    assert!(err.contains(says), "{err}");
    let (kib, err) = peak_rss_kib(&r, &zip);
    assert!(err.starts_with("PACK_TOO_LARGE: "), "{err}");
    eprintln!(
        "{name}: a {}-byte pack refused at {} MiB peak RSS",
        pack.len(),
        kib / 1024
    );
    assert!(kib < 200 * 1024, "peak RSS {kib} KiB for a refused bomb");
}

#[test]
fn one_delta_that_inflates_to_2_gib() {
    refused_within_bounds(bomb_pack(1, 32 * 1024), "delta-bomb", "2.0 GiB");
}

#[test]
fn many_deltas_each_within_bounds_whose_sum_is_not() {
    // 200 MiB each (under the per-object bound), 6 of them: 1.2 GiB in total.
    refused_within_bounds(bomb_pack(6, 3200), "delta-sum", "more than 1.0 GiB");
}
