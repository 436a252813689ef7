//! Structure-aware mutation fuzzing of everything `apply` reads from a return package before
//! trusting it: the zip (`ReturnPackage::new`, `with_bundle`), the bundle header
//! (`BundleHeader::read`), and the pack and objects behind it (`read_bundle` into a quarantine,
//! then `check_new_objects`).
//!
//! No nightly toolchain here for cargo-fuzz, and proptest would add a dependency tree for what
//! a seeded loop does: start from valid inputs, mutate them (bit flips, truncation, insertions,
//! header fields set to boundary values, line and tree-entry swaps, hostile names and modes)
//! and require that every case ends in `Ok` or a coded failure of the expected classes (never
//! `INTERNAL`, never a panic) within a time bound, leaving no quarantine behind.
//!
//! Short by default (CI); `PROCODER_FUZZ_ITERS=N` or `PROCODER_FUZZ_SECS=S` run it long,
//! `PROCODER_FUZZ_SEED=N` replays a run, `PROCODER_FUZZ_ORACLE=1` also asks `git fsck --strict`
//! about every object set `check_new_objects` accepted.

use procoder_bundle::package::{write_return_zip, ReturnPackage};
use procoder_bundle::{check_new_objects, read_bundle, to_git, BundleHeader, Silent};
use procoder_manifest::{check_ref_name, ErrorCode, Failure, ReturnDoc};
use sha1::{Digest, Sha1};
use std::io::{Cursor, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../../procoder-manifest/tests/fixtures/procoder-return.json");
const OID_A: &str = "3563c76ee1e7ac0adf23d7754ad35b34f475d652";
const OID_B: &str = "d2d7081db7124acbf03cf34739ec6462dd801e34";
const BASE: &str = "b39e6197ab2068454f2e6481c5e982dc88b4edfa";
const FAMILY: &str = "refs/heads/procoder/20261125-010941-04c604";

// ---- harness ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `check` on inputs from `make` until the iteration or time budget is spent.
fn fuzz(
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

fn allowed(f: &Failure, codes: &[ErrorCode], what: &str) -> Result<(), String> {
    if codes.contains(&f.code) {
        Ok(())
    } else {
        Err(format!(
            "{what} failed with {}: {} {:?}",
            f.code, f.message, f.details
        ))
    }
}

const INTERESTING: &[u64] = &[
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
fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>) {
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

// ---- zip ---------------------------------------------------------------------------------

fn fake_bundle() -> Vec<u8> {
    let mut b = format!(
        "# v2 git bundle\n-{BASE} Base commit\n{OID_A} {FAMILY}/extra\n{OID_B} {FAMILY}/task\n\n"
    )
    .into_bytes();
    b.extend_from_slice(b"PACK\0\0\0\x02\0\0\0\0");
    b.extend_from_slice(&[0x5a; 20]);
    b
}

fn zip_seeds() -> Vec<Vec<u8>> {
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
fn mutate_zip_field(rng: &mut Rng, data: &mut [u8]) {
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

fn read_package(data: &[u8]) -> Result<(), String> {
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
fn fuzz_return_zip() {
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

// ---- bundle header -----------------------------------------------------------------------

const HEADER_LINES: &[&str] = &[
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

fn header_seeds() -> Vec<Vec<u8>> {
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
fn fuzz_bundle_header() {
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
                        check_ref_name(name)?;
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

// ---- pack and objects ----------------------------------------------------------------------

#[derive(Clone)]
enum Target {
    Blob(usize),
    Sub,
    Raw([u8; 20]),
}

#[derive(Clone)]
struct Entry {
    mode: Vec<u8>,
    name: Vec<u8>,
    target: Target,
}

/// A small commit: blobs, a subtree, a root tree and the commit, mutated structurally and then
/// serialised bottom-up so that every parent names its (possibly mutated) child.
#[derive(Clone)]
struct Spec {
    blobs: Vec<Vec<u8>>,
    sub: Vec<Entry>,
    root: Vec<Entry>,
    commit: Vec<u8>,
    /// Object (0 = first blob … then sub, root, commit) whose bytes get byte-level mutations.
    raw: Option<(usize, u64)>,
    /// Pack-level mutation seed (applied before the trailer is recomputed, or after).
    pack: Option<(u64, bool)>,
}

fn entry(mode: &str, name: &str, target: Target) -> Entry {
    Entry {
        mode: mode.as_bytes().to_vec(),
        name: name.as_bytes().to_vec(),
        target,
    }
}

fn seed_spec() -> Spec {
    Spec {
        blobs: vec![
            b"hello\n".to_vec(),
            b"[submodule \"lib\"]\n\tpath = lib\n\turl = ../lib.git\n".to_vec(),
            b"#!/bin/sh\necho hi\n".to_vec(),
        ],
        sub: vec![
            entry("120000", "link", Target::Blob(0)),
            entry("100755", "run.sh", Target::Blob(2)),
        ],
        root: vec![
            entry("100644", ".gitmodules", Target::Blob(1)),
            entry("100644", "a.txt", Target::Blob(0)),
            entry("160000", "lib", Target::Raw([0x11; 20])),
            entry("40000", "sub", Target::Sub),
        ],
        commit: b"tree {tree}\nparent {base}\nauthor A U Thor <a@example.com> 1764000000 +0000\ncommitter C O Mitter <c@example.com> 1764000000 +0100\n\nFuzzed commit\n".to_vec(),
        raw: None,
        pack: None,
    }
}

const NAMES: &[&str] = &[
    ".git",
    ".GIT",
    ".Git.",
    ".git ",
    "git~1",
    "GIT~1",
    ".git::$INDEX_ALLOCATION",
    "a\\.git",
    ".g\u{200c}it",
    "\u{feff}.git",
    ".",
    "..",
    "",
    "a/b",
    ".gitmodules",
    ".GITMODULES",
    "gitmod~1",
    "GI7EBA~1",
    ".gitmodules.",
    ".gitignore",
    "a",
    "a.b",
    "sub",
    "\u{ff}",
];
const MODES: &[&str] = &[
    "100644", "100755", "120000", "40000", "160000", "040000", "100664", "100600", "0100644",
    "40755", "", "1006440", "777777",
];
const GITMODULES: &[&str] = &[
    "[submodule \"x\"]\n\turl = --upload-pack=touch /tmp/pwned\n",
    "[submodule \"x\"]\n\turl = \"\" -x\n",
    "[submodule \"x\"]\n\turl = \\\n-x\n",
    "[submodule \"../../hooks\"]\n\tpath = x\n",
    "[submodule \"x\"]\n\tpath = -x\n",
    "[submodule \"x\"]\n\tupdate = !sh\n",
    "[submodule.. \"/..\"]\n\tpath = x\n",
    "[submodule \"x\"]\n\turl = a\u{1}b\n",
    "[submodule \"x\"\n",
    "[submodule \"x\"]\n\turl = \"unterminated\n",
];

fn mutate_entries(rng: &mut Rng, entries: &mut Vec<Entry>, blobs: usize) {
    let n = entries.len();
    match rng.below(7) {
        0 if n > 0 => {
            let i = rng.below(n);
            entries[i].name = rng.pick(NAMES).as_bytes().to_vec();
        }
        1 if n > 0 => {
            let i = rng.below(n);
            entries[i].mode = rng.pick(MODES).as_bytes().to_vec();
        }
        2 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            entries.swap(a, b);
        }
        3 if n > 0 => {
            let i = rng.below(n);
            entries.insert(i, entries[i].clone());
        }
        4 if n > 0 => {
            entries.remove(rng.below(n));
        }
        5 if n > 0 => {
            let i = rng.below(n);
            entries[i].target = match rng.below(3) {
                0 => Target::Blob(rng.below(blobs)),
                1 => Target::Sub,
                _ => Target::Raw([rng.next() as u8; 20]),
            };
        }
        _ => {
            let mode: &str = rng.pick::<&str>(MODES);
            let name: &str = rng.pick::<&str>(NAMES);
            entries.push(entry(mode, name, Target::Blob(rng.below(blobs))));
        }
    }
}

fn mutate_spec(rng: &mut Rng, spec: &mut Spec) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(9) {
            0 | 1 => mutate_entries(rng, &mut spec.root, spec.blobs.len()),
            2 => mutate_entries(rng, &mut spec.sub, spec.blobs.len()),
            3 => spec.blobs[1] = rng.pick(GITMODULES).as_bytes().to_vec(),
            4 => mutate_bytes(rng, &mut spec.blobs[1]),
            5 => mutate_bytes(rng, &mut spec.commit),
            6 => {
                let lines: [&[u8]; 6] = [
                    b"author A <a@x> 0123 +0000\n",
                    b"author <a@x> 1 +0000\n",
                    b"author A <a@x> 1 +00000\n",
                    b"committer\n",
                    b"tree 0000000000000000000000000000000000000000\n",
                    b"x \0y\n",
                ];
                let at = spec
                    .commit
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let line = rng.pick(&lines);
                spec.commit.splice(at..at, line.iter().copied());
            }
            7 => spec.raw = Some((rng.below(spec.blobs.len() + 3), rng.next())),
            _ => spec.pack = Some((rng.next(), rng.below(2) == 0)),
        }
    }
}

fn object_id(kind: &str, data: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(format!("{kind} {}\0", data.len()).as_bytes());
    h.update(data);
    h.finalize().into()
}

fn hex(oid: &[u8; 20]) -> String {
    oid.iter().map(|b| format!("{b:02x}")).collect()
}

fn tree_bytes(entries: &[Entry], blobs: &[[u8; 20]], sub: Option<[u8; 20]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.mode);
        out.push(b' ');
        out.extend_from_slice(&e.name);
        out.push(0);
        let oid = match &e.target {
            Target::Blob(i) => blobs[*i % blobs.len()],
            Target::Sub => sub.unwrap_or([0x22; 20]),
            Target::Raw(o) => *o,
        };
        out.extend_from_slice(&oid);
    }
    out
}

/// The bundle for `spec`, and the commit id it advertises.
fn build_bundle(spec: &Spec, base: &str) -> (Vec<u8>, String) {
    let mut index = 0usize;
    let mut objects: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut finish = |kind: u8, mut data: Vec<u8>, objects: &mut Vec<(u8, Vec<u8>)>| {
        if let Some((which, seed)) = spec.raw {
            if which == index {
                let mut rng = Rng(seed);
                for _ in 0..1 + rng.below(3) {
                    mutate_bytes(&mut rng, &mut data);
                }
            }
        }
        index += 1;
        let name = ["", "commit", "tree", "blob"][kind as usize];
        let oid = object_id(name, &data);
        objects.push((kind, data));
        oid
    };
    let blobs: Vec<[u8; 20]> = spec
        .blobs
        .iter()
        .map(|b| finish(3, b.clone(), &mut objects))
        .collect();
    let sub = finish(2, tree_bytes(&spec.sub, &blobs, None), &mut objects);
    let root = finish(2, tree_bytes(&spec.root, &blobs, Some(sub)), &mut objects);
    let text = String::from_utf8_lossy(&spec.commit)
        .replace("{tree}", &hex(&root))
        .replace("{base}", base);
    let commit = hex(&finish(1, text.into_bytes(), &mut objects));

    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for (kind, data) in &objects {
        let mut size = data.len();
        let mut byte = (kind << 4) | (size & 15) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(data).expect("deflate to memory");
        pack.extend_from_slice(&z.finish().expect("deflate to memory"));
    }
    let trailer = |pack: &mut Vec<u8>| {
        let sum: [u8; 20] = Sha1::digest(&pack[..]).into();
        pack.extend_from_slice(&sum);
    };
    match spec.pack {
        Some((seed, before_trailer)) => {
            let mut rng = Rng(seed);
            if before_trailer {
                mutate_bytes(&mut rng, &mut pack);
                trailer(&mut pack);
            } else {
                trailer(&mut pack);
                mutate_bytes(&mut rng, &mut pack);
            }
        }
        None => trailer(&mut pack),
    }
    let mut bundle =
        format!("# v2 git bundle\n-{base} Base\n{commit} refs/heads/fuzz\n\n").into_bytes();
    bundle.extend_from_slice(&pack);
    (bundle, commit)
}

/// A receiving repository holding one base commit.
fn receiver() -> (tempfile::TempDir, git2::Repository, git2::Oid) {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let repo = git2::Repository::init(tmp.path().join("repo")).expect("init");
    let base = {
        let blob = repo.blob(b"hello\n").expect("blob");
        let mut tb = repo.treebuilder(None).expect("treebuilder");
        tb.insert("a.txt", blob, 0o100644).expect("insert");
        let tree = repo.find_tree(tb.write().expect("tree")).expect("tree");
        let sig = git2::Signature::new("A", "a@example.com", &git2::Time::new(1_700_000_000, 0))
            .expect("sig");
        repo.commit(Some("refs/heads/main"), &sig, &sig, "Base", &tree, &[])
            .expect("commit")
    };
    (tmp, repo, base)
}

/// `git fsck --strict` on the receiver plus the quarantine's objects: does git agree that what
/// `check_new_objects` accepted is sound?
fn git_fsck_agrees(
    repo: &git2::Repository,
    quarantine_parent: &std::path::Path,
) -> Result<(), String> {
    let objects: Vec<_> = std::fs::read_dir(quarantine_parent)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("objects"))
        .collect();
    let alt = objects
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let full = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-dangling", "--no-progress"])
        .current_dir(repo.path())
        .env("GIT_ALTERNATE_OBJECT_DIRECTORIES", &alt)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&full.stderr);
    if err
        .lines()
        .any(|l| l.starts_with("error") || l.contains("error in"))
    {
        return Err(format!(
            "check_new_objects accepted what git fsck --strict refuses:\n{err}"
        ));
    }
    Ok(())
}

#[test]
fn fuzz_pack_and_objects() {
    let (tmp, repo, base) = receiver();
    let parent = tmp.path().join("quarantines");
    let oracle = std::env::var_os("PROCODER_FUZZ_ORACLE").is_some();
    let base_hex = base.to_string();
    // The unmutated seed is accepted end to end.
    let (seed_bundle, _) = build_bundle(&seed_spec(), &base_hex);
    {
        let (header, q) = read_bundle(&repo, &mut seed_bundle.as_slice(), &parent, &mut Silent)
            .expect("seed reads");
        let view = q.view(&repo).expect("view");
        let tips: Vec<_> = header.refs.iter().map(|(_, o)| to_git(*o)).collect();
        check_new_objects(&view, &repo, &tips, base).expect("the seed is well-formed");
    }
    let mut accepted = 0u64;
    fuzz(
        "pack-objects",
        300,
        |rng| {
            let mut spec = seed_spec();
            mutate_spec(rng, &mut spec);
            build_bundle(&spec, &base_hex).0
        },
        |bundle| {
            let verdict = match read_bundle(&repo, &mut &bundle[..], &parent, &mut Silent) {
                Err(f) => allowed(
                    &f,
                    &[
                        ErrorCode::BundleVerifyFailed,
                        ErrorCode::UnsupportedProtocol,
                    ],
                    "read_bundle",
                ),
                Ok((header, q)) => {
                    let view = q.view(&repo).map_err(|f| format!("view: {f}"))?;
                    let tips: Vec<_> = header.refs.iter().map(|(_, o)| to_git(*o)).collect();
                    match check_new_objects(&view, &repo, &tips, base) {
                        Err(f) => allowed(
                            &f,
                            &[ErrorCode::BundleVerifyFailed, ErrorCode::UnsafeObject],
                            "check_new_objects",
                        ),
                        Ok(_) => {
                            accepted += 1;
                            if oracle {
                                git_fsck_agrees(&repo, &parent)
                            } else {
                                Ok(())
                            }
                        }
                    }
                }
            };
            // Whatever happened, no quarantine is left behind.
            let left = std::fs::read_dir(&parent).map(|d| d.count()).unwrap_or(0);
            if left != 0 {
                return Err(format!("{left} quarantine(s) left behind"));
            }
            verdict
        },
    );
    eprintln!("fuzz pack-objects: {accepted} mutated packages passed every check");
}
