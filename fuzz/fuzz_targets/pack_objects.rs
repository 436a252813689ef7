//! A return bundle against a small fixed repository (one base commit, made once per process in
//! a temp dir): `read_bundle` indexes the pack into a quarantine, then `check_new_objects`
//! checks what it brought. Only BUNDLE_VERIFY_FAILED, UNSUPPORTED_PROTOCOL, UNSAFE_OBJECT or
//! PACK_TOO_LARGE refuse, and no quarantine is left behind whatever the verdict.
//!
//! The input is a bundle or a list of objects (pack_input.rs). The repository's base commit
//! is 7fcbe70c… (see `receiver`); the seeds are on it.
#![no_main]

mod pack_input;

use libfuzzer_sys::fuzz_target;
use procoder_bundle::{check_new_objects, read_bundle, to_git, Silent};
use procoder_manifest::{ErrorCode, Failure};
use std::path::PathBuf;

struct Receiver {
    // Kept for its drop, which libFuzzer's exit may skip: scripts/fuzz.sh runs the target
    // under a TMPDIR of its own and removes it.
    _tmp: tempfile::TempDir,
    repo: git2::Repository,
    base: git2::Oid,
    base_hex: String,
    /// `PROCODER_FUZZ_VERBOSE=1`: print each verdict (to see what a seed reaches).
    verbose: bool,
    quarantines: PathBuf,
}

/// The same repository as procoder-bundle/tests/fuzz/objects.rs `receiver`: a fixed time and
/// author, so the base commit id is always the same and the seeds' prerequisite matches.
fn receiver() -> Receiver {
    let tmp = tempfile::TempDir::new().expect("a temp dir");
    let repo = git2::Repository::init(tmp.path().join("repo")).expect("git init");
    let base = {
        let blob = repo.blob(b"hello\n").expect("blob");
        let mut tb = repo.treebuilder(None).expect("treebuilder");
        tb.insert("a.txt", blob, 0o100644).expect("insert");
        let tree = repo.find_tree(tb.write().expect("tree")).expect("tree");
        let sig = git2::Signature::new("A", "a@example.com", &git2::Time::new(1_700_000_000, 0))
            .expect("signature");
        repo.commit(Some("refs/heads/main"), &sig, &sig, "Base", &tree, &[])
            .expect("commit")
    };
    let quarantines = tmp.path().join("quarantines");
    Receiver {
        _tmp: tmp,
        repo,
        base,
        base_hex: base.to_string(),
        verbose: std::env::var_os("PROCODER_FUZZ_VERBOSE").is_some(),
        quarantines,
    }
}

thread_local! {
    static RECEIVER: Receiver = receiver();
}

fn allowed(f: &Failure, codes: &[ErrorCode], what: &str) {
    assert!(codes.contains(&f.code), "{what} failed with {f}");
}

fuzz_target!(|data: &[u8]| {
    RECEIVER.with(|rx| {
        let bundle = pack_input::bundle(data, &rx.base_hex);
        match read_bundle(&rx.repo, &mut &bundle[..], &rx.quarantines, &mut Silent) {
            // UNSAFE_OBJECT: a malformed object that leaves others of the pack unreached is
            // named as such. PACK_TOO_LARGE: an object whose declared size passes the bounds.
            Err(f) => {
                if rx.verbose {
                    eprintln!("read_bundle: {f}");
                }
                allowed(
                    &f,
                    &[
                        ErrorCode::BundleVerifyFailed,
                        ErrorCode::UnsupportedProtocol,
                        ErrorCode::UnsafeObject,
                        ErrorCode::PackTooLarge,
                    ],
                    "read_bundle",
                )
            }
            Ok((header, q)) => {
                let view = q
                    .view(&rx.repo)
                    .unwrap_or_else(|f| panic!("a quarantine view fails: {f}"));
                let tips: Vec<_> = header.refs.iter().map(|(_, o)| to_git(*o)).collect();
                let checked = check_new_objects(&view, &rx.repo, &tips, rx.base);
                if rx.verbose {
                    eprintln!("check_new_objects: {checked:?}");
                }
                if let Err(f) = checked {
                    allowed(
                        &f,
                        &[ErrorCode::BundleVerifyFailed, ErrorCode::UnsafeObject],
                        "check_new_objects",
                    );
                }
            }
        }
        let left = std::fs::read_dir(&rx.quarantines).map_or(0, |d| d.count());
        assert_eq!(left, 0, "{left} quarantine(s) left behind");
    });
});
