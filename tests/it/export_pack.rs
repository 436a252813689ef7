//! The export pack is made by copying entries out of the source packs. These tests build the
//! layouts that make copying hard (several packs, loose objects, delta bases that must not be
//! exported, alternates) and let git judge the result.

use crate::common::*;

fn check_export(local: &TestRepo, sandbox: &Sandbox) {
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    let idx: Vec<_> = std::fs::read_dir(sandbox.root.join(".git/objects/pack"))
        .expect("objects/pack")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    assert_eq!(idx.len(), 1, "one export pack");
    let idx = idx[0].to_str().expect("utf-8").to_owned();
    sandbox.git(&["verify-pack", &idx]);
    sandbox.git(&["fsck", "--strict", "--no-dangling"]);
    assert_eq!(
        object_ids(&sandbox.root),
        reachable_ids(&local.dir),
        "the export holds exactly the reachable objects"
    );
}

/// A blob big enough for git to store later versions as deltas.
fn big_text(version: usize, lines: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..lines {
        s.push_str(&format!(
            "line {i} of a long file that compresses and deltifies well\n"
        ));
        if i % 500 == 0 {
            s.push_str(&format!("version {version}\n"));
        }
    }
    s.into_bytes()
}

#[test]
fn export_from_several_packs_loose_objects_and_unexported_delta_bases() {
    let repo = TestRepo::new();
    let d = &repo.dir;
    // A branch whose blobs become delta bases of main's, then is deleted: its objects stay in
    // the pack, unreachable, and must not be exported; main's deltas against them are stored whole.
    // The scratch versions are the largest, so git picks them as delta bases.
    repo.git(&["checkout", "-q", "-b", "scratch"]);
    let mut scratch_blobs = Vec::new();
    for v in 0..3 {
        write_file(d, "big.txt", &big_text(100 + v, 2600));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", &format!("scratch {v}")]);
        scratch_blobs.push(repo.rev("HEAD:big.txt"));
    }
    repo.git(&["checkout", "-q", "main"]);
    for v in 0..4 {
        write_file(d, "big.txt", &big_text(v, 2000));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", &format!("big {v}")]);
    }
    repo.git(&["gc", "-q", "--aggressive"]);
    // Some exported blob is stored as a delta against a blob that will not be exported.
    let source = git(d, &["verify-pack", "-v", &first_idx(d)]);
    let main_blobs: Vec<String> = (0..4)
        .map(|i| repo.rev(&format!("main~{}:big.txt", 3 - i)))
        .collect();
    assert!(
        source.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() == 7
                && main_blobs.contains(&f[0].to_owned())
                && scratch_blobs.contains(&f[6].to_owned())
        }),
        "the source pack stores a main blob as a delta against a scratch blob:\n{source}"
    );
    let scratch_tip = repo.rev("scratch");
    repo.git(&["branch", "-D", "-q", "scratch"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    // A second pack of newer objects, then loose objects on top.
    write_file(d, "big.txt", &big_text(10, 2000));
    repo.git(&["commit", "-q", "-am", "second pack"]);
    repo.git(&["repack", "-q", "-d"]);
    write_file(d, "big.txt", &big_text(11, 2000));
    write_file(d, "loose.txt", b"a loose object\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "loose objects"]);
    let packs = std::fs::read_dir(d.join(".git/objects/pack"))
        .expect("packs")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "pack"))
        })
        .count();
    assert!(packs >= 2, "the source has several packs ({packs})");
    let verbose = git(d, &["verify-pack", "-v", &first_idx(d)]);
    assert!(
        verbose.contains("chain length"),
        "the source pack has deltas"
    );

    let prepared = repo.prepare();
    let sandbox = prepared.unzip();
    check_export(&repo, &sandbox);
    assert!(
        !git_output(&sandbox.root, &["cat-file", "-e", &scratch_tip])
            .status
            .success(),
        "the deleted branch's commit is not exported"
    );
    let exported = git(
        &sandbox.root,
        &["verify-pack", "-v", &first_idx(&sandbox.root)],
    );
    assert!(
        exported.contains("chain length"),
        "deltas were kept, not all objects stored whole:\n{exported}"
    );
}

fn first_idx(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .expect("objects/pack")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("an index")
        .to_str()
        .expect("utf-8")
        .to_owned()
}

#[test]
fn export_reads_objects_through_alternates() {
    let upstream = TestRepo::new();
    upstream.git(&["gc", "-q"]);
    let tmp = tempfile::TempDir::new().expect("tmp");
    let borrower = tmp.path().join("borrower");
    let up = upstream.dir.to_str().expect("utf-8");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--shared",
            up,
            borrower.to_str().expect("utf-8"),
        ],
    );
    git(&borrower, &["checkout", "-q", "-B", "main", "origin/main"]);
    write_file(&borrower, "mine.txt", b"only in the borrower\n");
    git(&borrower, &["add", "-A"]);
    git(&borrower, &["commit", "-q", "-m", "borrower commit"]);
    assert!(borrower.join(".git/objects/info/alternates").exists());

    let out = run_procoder(&borrower, &["prepare", "--json"]);
    assert_success(&out, "prepare in a repository with alternates");
    let zip = json_stdout(&out)["package"]
        .as_str()
        .expect("package")
        .to_owned();
    let dest = tempfile::TempDir::new().expect("tmp");
    let root = unzip_to(std::path::Path::new(&zip), dest.path());
    assert!(
        !root.join(".git/objects/info/alternates").exists(),
        "alternates never travel"
    );
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    git(&root, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(
        git(&root, &["rev-parse", "HEAD"]),
        git(&borrower, &["rev-parse", "HEAD"])
    );
}

#[test]
fn export_from_a_repository_with_a_multi_pack_index() {
    let repo = TestRepo::new();
    repo.git(&["repack", "-q", "-d"]);
    write_file(&repo.dir, "second.txt", b"in a second pack\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "second pack"]);
    repo.git(&["repack", "-q", "-d"]);
    repo.git(&["multi-pack-index", "write"]);
    assert!(repo.dir.join(".git/objects/pack/multi-pack-index").exists());
    let prepared = repo.prepare();
    let sandbox = prepared.unzip();
    check_export(&repo, &sandbox);
}

/// `lines` lines from `from` on, with `edit` changed: versions of one file for git to chain.
fn lines_text(from: usize, lines: usize, edit: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in from..from + lines {
        match i == edit {
            true => s.push_str(&format!("line {i} was edited here, once\n")),
            false => s.push_str(&format!(
                "line {i}: {:08x} of a long file that deltifies\n",
                i.wrapping_mul(2_654_435_761) % 0xffff_ffff
            )),
        }
    }
    s.into_bytes()
}

/// verify-pack -v's line of `oid`: (size in pack, delta base if a delta).
fn pack_line(verbose: &str, oid: &str) -> (u64, Option<String>) {
    let line = verbose
        .lines()
        .find(|l| l.starts_with(oid))
        .unwrap_or_else(|| panic!("{oid} is in the pack:\n{verbose}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    let in_pack = f
        .get(3)
        .and_then(|s| s.parse().ok())
        .expect("a size in pack");
    (in_pack, f.get(6).map(|s| (*s).to_owned()))
}

#[test]
fn a_delta_whose_base_is_only_on_an_unexported_ref_is_rebased_on_an_exported_one() {
    let repo = TestRepo::new();
    let d = &repo.dir;
    // Sizes decreasing, each version close to the next: git stores exported <- remote-only
    // <- main's newest, the middle one reachable only from refs/remotes/x/main.
    write_file(d, "big.txt", &lines_text(0, 3000, usize::MAX));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "exported"]);
    let exported = repo.rev("HEAD:big.txt");
    repo.git(&["checkout", "-q", "-b", "x"]);
    write_file(d, "big.txt", &lines_text(200, 2800, 1500));
    repo.git(&["commit", "-q", "-am", "only on a remote"]);
    let remote_only = repo.rev("HEAD:big.txt");
    repo.git(&["update-ref", "refs/remotes/x/main", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "x"]);
    write_file(d, "big.txt", &lines_text(300, 2700, 1500));
    repo.git(&["commit", "-q", "-am", "newest"]);
    let newest = repo.rev("HEAD:big.txt");
    repo.git(&["gc", "-q", "--aggressive"]);
    let source = git(d, &["verify-pack", "-v", &first_idx(d)]);
    assert_eq!(
        pack_line(&source, &newest).1,
        Some(remote_only.clone()),
        "{source}"
    );
    assert_eq!(
        pack_line(&source, &remote_only).1,
        Some(exported.clone()),
        "{source}"
    );

    let prepared = repo.prepare();
    let sandbox = prepared.unzip();
    check_export(&repo, &sandbox);
    assert!(
        !git_output(&sandbox.root, &["cat-file", "-e", &remote_only])
            .status
            .success(),
        "the remote's blob is not exported"
    );
    let idx = first_idx(&sandbox.root);
    let verbose = git(&sandbox.root, &["verify-pack", "-v", &idx]);
    let (in_pack, base) = pack_line(&verbose, &newest);
    assert_eq!(
        base,
        Some(exported),
        "rebased on the exported version:\n{verbose}"
    );
    // Written whole (before rebasing), it would take its content deflated as the export does.
    let content = std::process::Command::new("git")
        .args(["cat-file", "blob", &newest])
        .current_dir(&sandbox.root)
        .output()
        .expect("git cat-file")
        .stdout;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(4));
    std::io::Write::write_all(&mut z, &content).expect("deflate");
    let whole = z.finish().expect("deflate").len() as u64;
    assert!(
        in_pack * 10 < whole,
        "the delta ({in_pack} bytes) is far smaller than the object whole ({whole})"
    );
    git(
        &sandbox.root,
        &["index-pack", "--verify", &idx.replace(".idx", ".pack")],
    );
}
