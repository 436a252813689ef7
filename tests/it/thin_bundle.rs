//! Return bundles are thin (deltas against what the receiver has) and exact (a moved directory
//! ships new trees, not its unchanged blobs): never larger than what `git bundle create` writes
//! for the same range and ref, and always readable by git's own decoder.

use crate::common::*;

/// One scenario: agent work in `act`, then our bundle against git's for the same range.
fn compare(setup: impl FnOnce(&TestRepo), act: impl FnOnce(&Sandbox)) -> (u64, u64, u64) {
    let local = TestRepo::new();
    setup(&local);
    let prepared = local.prepare();
    let sandbox = prepared.unzip();
    act(&sandbox);
    let zip = sandbox.run_return();
    let (_, ours) = read_return(&zip);
    let tmp = tempfile::TempDir::new().expect("tmp");
    let range = format!("{}..{}", prepared.base_oid, prepared.task_ref);
    let git_bundle = tmp.path().join("git.bundle");
    let sparse_off = tmp.path().join("git-nonsparse.bundle");
    sandbox.git(&[
        "bundle",
        "create",
        "-q",
        git_bundle.to_str().expect("utf-8"),
        &range,
    ]);
    sandbox.git(&[
        "-c",
        "pack.useSparse=false",
        "bundle",
        "create",
        "-q",
        sparse_off.to_str().expect("utf-8"),
        &range,
    ]);

    // git's decoder reads ours: verify, then fetch into a clone of the local repository.
    let ours_path = tmp.path().join("ours.bundle");
    std::fs::write(&ours_path, &ours).expect("write bundle");
    let ours_str = ours_path.to_str().expect("utf-8");
    git(&local.dir, &["bundle", "verify", "-q", ours_str]);
    let clone = tmp.path().join("clone");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            local.dir.to_str().expect("utf-8"),
            clone.to_str().expect("utf-8"),
        ],
    );
    git(
        &clone,
        &[
            "-c",
            "transfer.fsckObjects=true",
            "fetch",
            "-q",
            ours_str,
            &format!("{}:refs/heads/fetched", prepared.task_ref),
        ],
    );
    assert_eq!(
        git(&clone, &["rev-parse", "fetched"]),
        sandbox.git(&["rev-parse", "HEAD"])
    );
    git(&clone, &["fsck", "--strict", "--no-dangling"]);
    // And procoder applies it.
    assert_success(
        &local.procoder(&["apply", zip.to_str().expect("utf-8")]),
        "apply",
    );
    assert_eq!(
        local.rev(&prepared.task_ref),
        sandbox.git(&["rev-parse", "HEAD"])
    );
    local.git(&["fsck", "--strict", "--no-dangling"]);

    let size = |p: &std::path::Path| std::fs::metadata(p).expect("bundle").len();
    (ours.len() as u64, size(&git_bundle), size(&sparse_off))
}

fn big_text(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("fn item_{i}() -> usize {{ {i} }} // a line of source text\n"))
        .collect()
}

/// A base holding one 300 KB source file, `src/big.rs`.
fn with_big_file(local: &TestRepo) {
    write_file(&local.dir, "src/big.rs", big_text(5000).as_bytes());
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "big file"]);
}

#[test]
fn s1_one_line_edit_in_a_large_file_ships_a_delta() {
    let (ours, git_size, _) = compare(with_big_file, |sb| {
        let text = big_text(5000).replacen("item_2500()", "item_2500_edited()", 1);
        sb.commit_file("src/big.rs", &text);
    });
    eprintln!("S1: ours {ours} B, git bundle create {git_size} B");
    assert!(ours <= git_size, "ours {ours} > git {git_size}");
    assert!(
        ours < 2000,
        "a one-line edit of a 300 KB file ships {ours} bytes"
    );
}

#[test]
fn s4_moved_directory_ships_trees_not_blobs() {
    let (ours, git_size, nonsparse) = compare(
        |local| {
            for i in 0..50 {
                write_file(
                    &local.dir,
                    &format!("lib/mod{i}.rs"),
                    format!("// module {i}\n{}", big_text(20)).as_bytes(),
                );
            }
            local.git(&["add", "-A"]);
            local.git(&["commit", "-q", "-m", "library"]);
        },
        |sb| {
            sb.git(&["mv", "lib", "core"]);
            sb.write(
                "core/mod7.rs",
                format!("// module 7, edited\n{}", big_text(20)).as_bytes(),
            );
            sb.git(&["commit", "-q", "-am", "move lib to core and edit one file"]);
        },
    );
    eprintln!("S4: ours {ours} B, git bundle create {git_size} B, non-sparse {nonsparse} B");
    assert!(ours <= git_size, "ours {ours} > git {git_size}");
    assert!(
        ours * 2 <= nonsparse * 3,
        "ours {ours} > 1.5 x non-sparse {nonsparse}"
    );
}

/// A file copied to a new path: its blob is the base's (packed, at another path), which only
/// the walk of the base's whole tree finds; the bundle ships the new trees and the commit.
#[test]
fn copied_file_ships_no_blob() {
    let (ours, git_size, _) = compare(with_big_file, |sb| {
        sb.commit_file("src/copy.rs", &big_text(5000));
    });
    eprintln!("copy: ours {ours} B, git bundle create {git_size} B");
    assert!(ours <= git_size, "ours {ours} > git {git_size}");
    assert!(ours < 1500, "a copied 300 KB file ships {ours} bytes");
}

#[test]
fn s5_binary_replaced_then_rewritten_in_part() {
    let noise = |seed: u32, len: usize| -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    };
    let (ours, git_size, _) = compare(
        |local| {
            write_file(&local.dir, "data/blob.bin", &noise(1, 1 << 20));
            local.git(&["add", "-A"]);
            local.git(&["commit", "-q", "-m", "binary"]);
        },
        |sb| {
            let replaced = noise(2, 1 << 20);
            sb.write("data/blob.bin", &replaced);
            sb.git(&["commit", "-q", "-am", "replace the binary"]);
            let mut rewritten = replaced;
            let patch = noise(3, (1 << 20) / 100);
            rewritten[4096..4096 + patch.len()].copy_from_slice(&patch);
            sb.write("data/blob.bin", &rewritten);
            sb.git(&["commit", "-q", "-am", "rewrite 1% of the binary"]);
        },
    );
    eprintln!("S5: ours {ours} B, git bundle create {git_size} B");
    assert!(ours <= git_size, "ours {ours} > git {git_size}");
    assert!(
        ours < (1 << 20) + (1 << 20) / 10,
        "the rewrite is a delta: {ours} bytes"
    );
}

/// libgit2's test fixtures hold identical directories: an edit under the second copy must still
/// find its base at the same path (the base's walk does not enter a tree it has seen).
#[test]
fn edit_under_a_duplicated_directory_still_deltas_against_the_base() {
    let dir_content = |lines: usize| big_text(lines);
    let (ours, git_size, _) = compare(
        |local| {
            for copy in ["fixtures/a/repo", "fixtures/b/repo"] {
                write_file(
                    &local.dir,
                    &format!("{copy}/objects/data.txt"),
                    dir_content(3000).as_bytes(),
                );
                write_file(
                    &local.dir,
                    &format!("{copy}/HEAD"),
                    b"ref: refs/heads/main\n",
                );
            }
            local.git(&["add", "-A"]);
            local.git(&["commit", "-q", "-m", "two identical fixture directories"]);
        },
        |sb| {
            let edited = dir_content(3000).replacen("item_1500()", "item_1500_edited()", 1);
            sb.commit_file("fixtures/b/repo/objects/data.txt", &edited);
        },
    );
    eprintln!("duplicated directory: ours {ours} B, git bundle create {git_size} B");
    assert!(ours <= git_size, "ours {ours} > git {git_size}");
}
