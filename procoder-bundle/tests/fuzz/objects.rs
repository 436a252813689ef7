//! Fuzzing packs of hostile objects, with git fsck --strict as the optional oracle.
use crate::harness::*;
use procoder_bundle::{check_new_objects, read_bundle, to_git, Silent};
use procoder_manifest::ErrorCode;
use sha1::{Digest, Sha1};
use std::io::Write;

// ---- pack and objects ----------------------------------------------------------------------

#[derive(Clone)]
pub(crate) enum Target {
    Blob(usize),
    Sub,
    Raw([u8; 20]),
}

#[derive(Clone)]
pub(crate) struct Entry {
    mode: Vec<u8>,
    name: Vec<u8>,
    target: Target,
}

/// A small commit: blobs, a subtree, a root tree and the commit, mutated structurally and then
/// serialised bottom-up so that every parent names its (possibly mutated) child.
#[derive(Clone)]
pub(crate) struct Spec {
    blobs: Vec<Vec<u8>>,
    sub: Vec<Entry>,
    root: Vec<Entry>,
    commit: Vec<u8>,
    /// Object (0 = first blob … then sub, root, commit) whose bytes get byte-level mutations.
    raw: Option<(usize, u64)>,
    /// Pack-level mutation seed (applied before the trailer is recomputed, or after).
    pack: Option<(u64, bool)>,
}

pub(crate) fn entry(mode: &str, name: &str, target: Target) -> Entry {
    Entry {
        mode: mode.as_bytes().to_vec(),
        name: name.as_bytes().to_vec(),
        target,
    }
}

pub(crate) fn seed_spec() -> Spec {
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

pub(crate) const NAMES: &[&str] = &[
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
pub(crate) const MODES: &[&str] = &[
    "100644", "100755", "120000", "40000", "160000", "040000", "100664", "100600", "0100644",
    "40755", "", "1006440", "777777",
];
pub(crate) const GITMODULES: &[&str] = &[
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

pub(crate) fn mutate_entries(rng: &mut Rng, entries: &mut Vec<Entry>, blobs: usize) {
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

pub(crate) fn mutate_spec(rng: &mut Rng, spec: &mut Spec) {
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

pub(crate) fn object_id(kind: &str, data: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(format!("{kind} {}\0", data.len()).as_bytes());
    h.update(data);
    h.finalize().into()
}

pub(crate) fn hex(oid: &[u8; 20]) -> String {
    oid.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn tree_bytes(entries: &[Entry], blobs: &[[u8; 20]], sub: Option<[u8; 20]>) -> Vec<u8> {
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
pub(crate) fn build_bundle(spec: &Spec, base: &str) -> (Vec<u8>, String) {
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
pub(crate) fn receiver() -> (tempfile::TempDir, git2::Repository, git2::Oid) {
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
pub(crate) fn git_fsck_agrees(
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
pub(crate) fn fuzz_pack_and_objects() {
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
                // UNSAFE_OBJECT: a malformed object that leaves others of the pack unreached
                // is named as such. PACK_TOO_LARGE: a mutated size field declaring more than
                // the inflation bounds allow (PROCODER_FUZZ_SEED=1796188601485331455).
                Err(f) => allowed(
                    &f,
                    &[
                        ErrorCode::BundleVerifyFailed,
                        ErrorCode::UnsupportedProtocol,
                        ErrorCode::UnsafeObject,
                        ErrorCode::PackTooLarge,
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
