//! The fuzz harness: seeded random, mutations, and the loop that runs a target for a
//! bounded time and saves a failing input.

use procoder_manifest::{ErrorCode, Failure};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

pub(crate) const DOC: &str =
    include_str!("../../../procoder-manifest/tests/fixtures/procoder-return.json");
pub(crate) const OID_A: &str = "3563c76ee1e7ac0adf23d7754ad35b34f475d652";
pub(crate) const OID_B: &str = "d2d7081db7124acbf03cf34739ec6462dd801e34";
pub(crate) const BASE: &str = "b39e6197ab2068454f2e6481c5e982dc88b4edfa";
pub(crate) const FAMILY: &str = "refs/heads/procoder/20261125-010941-04c604";

// ---- harness ---------------------------------------------------------------------------

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `check` on inputs from `make` until the iteration or time budget is spent.
pub(crate) fn fuzz(
    name: &str,
    default_iters: u64,
    mut make: impl FnMut(&mut Rng) -> Vec<u8>,
    mut check: impl FnMut(&[u8]) -> Result<(), String>,
) {
    let seed = env_u64("PROCODER_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let secs = env_u64("PROCODER_FUZZ_SECS");
    let iters = env_u64("PROCODER_FUZZ_ITERS").unwrap_or(if secs.is_some() {
        u64::MAX
    } else {
        default_iters
    });
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut n = 0u64;
    while n < iters && deadline.is_none_or(|d| Instant::now() < d) {
        let input = make(&mut rng);
        let t = Instant::now();
        let verdict = catch_unwind(AssertUnwindSafe(|| check(&input)))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        let took = t.elapsed();
        let verdict = verdict.and_then(|()| {
            if took > Duration::from_secs(5) {
                Err(format!("took {took:?}"))
            } else {
                Ok(())
            }
        });
        if let Err(why) = verdict {
            let path = std::env::temp_dir().join(format!("procoder-fuzz-{name}-{seed}-{n}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!(
                "fuzz {name}: case {n} (PROCODER_FUZZ_SEED={seed}) failed: {why}\ninput saved to {}",
                path.display()
            );
        }
        n += 1;
    }
    eprintln!(
        "fuzz {name}: {n} executions in {:.1?}, PROCODER_FUZZ_SEED={seed}, no finding",
        start.elapsed()
    );
}

pub(crate) fn allowed(f: &Failure, codes: &[ErrorCode], what: &str) -> Result<(), String> {
    if codes.contains(&f.code) {
        Ok(())
    } else {
        Err(format!(
            "{what} failed with {}: {} {:?}",
            f.code, f.message, f.details
        ))
    }
}

pub(crate) const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// Generic byte-level mutations.
pub(crate) fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>) {
    let len = data.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(b"\0\x01\x7f\x80\xff\n\r /.\\~:-@");
        }
        2 if len >= 4 => {
            let width = *rng.pick(&[2usize, 4, 8]);
            if len >= width {
                let i = rng.below(len - width + 1);
                let v = *rng.pick(INTERESTING);
                data[i..i + width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        3 => data.truncate(rng.below(len + 1)),
        4 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(i..i, bytes);
        }
        5 if len > 1 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            data.drain(i..i + n);
        }
        6 if len > 1 => {
            // duplicate a chunk somewhere else
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            let chunk = data[i..i + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, chunk);
        }
        _ if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.next() as u8;
        }
        _ => data.push(rng.next() as u8),
    }
}
