//! Issue 6: every repository prepares, and the sandbox starts from a clean, faithful copy.
//! One generated repository holds everything at once; `git clone` of the same commit is the
//! oracle for what the extracted work tree must hold, byte for byte and mode for mode.

use crate::common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A file, a symlink (its target) or an empty directory, as found on disk.
#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    File { exec: bool, bytes: Vec<u8> },
    Link(Vec<u8>),
    EmptyDir,
}

/// Everything under `root` but `.git`, the helper and return zips, by relative path bytes.
pub fn tree_on_disk(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries = 0;
        for entry in std::fs::read_dir(&dir).expect("read a folder") {
            let entry = entry.expect("folder entry");
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("under root");
            let rel_bytes = rel.as_os_str().as_bytes().to_vec();
            if rel_bytes == b".git"
                || rel_bytes == b"procoder-return"
                || rel_bytes.starts_with(b"procoder-return-")
            {
                continue;
            }
            entries += 1;
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.insert(
                    rel_bytes,
                    Node::Link(target.as_os_str().as_bytes().to_vec()),
                );
            } else if meta.is_dir() {
                stack.push(path);
            } else {
                let exec = meta.permissions().mode() & 0o111 != 0;
                let bytes = std::fs::read(&path).expect("read a file");
                out.insert(rel_bytes, Node::File { exec, bytes });
            }
        }
        if entries == 0 && dir != root {
            let rel = dir.strip_prefix(root).expect("under root");
            out.insert(rel.as_os_str().as_bytes().to_vec(), Node::EmptyDir);
        }
    }
    out
}

/// A repository with every kind of entry and attribute issue 6 names, HEAD on `main`.
pub fn everything_repo() -> TestRepo {
    let repo = TestRepo::empty();
    let d = &repo.dir;
    // A blob committed with CRLF before an attribute made it `text`: git reports it modified
    // whenever it re-hashes it, so the sandbox must trust the index as a checkout does.
    write_file(d, "legacy/win.txt", b"one\r\ntwo\r\n");
    // An old mtime keeps the index entry from being "racily clean": git would otherwise hash
    // the file again at the next `git add -A`, after the attribute exists, and store LF.
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(d.join("legacy/win.txt"))
        .and_then(|f| f.set_modified(old))
        .expect("backdate legacy/win.txt");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Windows file"]);

    // Deep history with merges.
    for i in 0..12 {
        write_file(d, &format!("history/{i}.txt"), format!("{i}\n").as_bytes());
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", &format!("History {i}")]);
        if i % 4 == 1 {
            repo.git(&["checkout", "-q", "-b", &format!("side{i}"), "HEAD~1"]);
            write_file(d, &format!("side/{i}.txt"), b"side\n");
            repo.git(&["add", "-A"]);
            repo.git(&["commit", "-q", "-m", &format!("Side {i}")]);
            repo.git(&["checkout", "-q", "main"]);
            repo.git(&[
                "merge",
                "-q",
                "--no-ff",
                "-m",
                &format!("Merge side{i}"),
                &format!("side{i}"),
            ]);
        }
    }
    repo.git(&["tag", "-a", "v1", "-m", "Version 1"]);

    write_file(
        d,
        ".gitattributes",
        b"[attr]windows text eol=crlf\n*.win windows\n\
          *.bat text eol=crlf\n*.auto text=auto eol=crlf\n*.txt text\n*.id ident\n\
          *.bin filter=lfs diff=lfs merge=lfs -text\nraw/** -text\n",
    );
    write_file(d, "scripts/build.bat", b"@echo off\necho build\n");
    write_file(d, "mixed.auto", b"already\r\ncrlf\n");
    write_file(d, "plain.auto", b"lf only\nlines\n");
    write_file(d, "keyword.id", b"version $Id$\n");
    write_file(
        d,
        "assets/model.bin",
        b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    );
    write_file(d, "raw/data.raw", b"kept\r\nas is\n");
    write_file(d, "scripts/run.sh", b"#!/bin/sh\necho run\n");
    set_mode(&d.join("scripts/run.sh"), 0o755);
    write_file(d, "empty", b"");
    write_file(d, "deep/a/b/c/d/e/leaf.txt", b"leaf\n");
    // A nested attributes file, whose macro git ignores (macros only count at the top level),
    // and a macro defined at the top level.
    write_file(
        d,
        "deep/a/.gitattributes",
        b"[attr]ignored -text\n*.txt eol=crlf ignored\n",
    );
    write_file(d, "scripts/setup.win", b"setup\n");
    write_file(d, "caf\u{e9}-nfc.txt", b"nfc\n");
    write_file(d, "cafe\u{301}-nfd.txt", b"nfd\n");
    write_file(d, "with space.txt", b"space\n");
    write_file(d, "sh$ell;&'q\".txt", b"shell\n");
    write_file(d, "\u{65e5}\u{672c}/\u{6587}\u{66f8}.txt", b"cjk\n");
    let mut big = Vec::with_capacity(3 << 20);
    let mut x: u32 = 0x1234_5678;
    while big.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    write_file(d, "assets/large.dat", &big);
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, d.join(name)).expect("symlink");
    };
    link("scripts/run.sh", "run-link");
    link("deep/a", "dir-link");
    link("nowhere/at/all", "dangling-link");
    link("/etc/hostname", "absolute-link");
    link("../scripts/run.sh", "deep/up-link");
    // A submodule: a gitlink plus .gitmodules, its directory empty as after a plain clone.
    write_file(
        d,
        ".gitmodules",
        b"[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = https://example.com/lib.git\n",
    );
    std::fs::create_dir_all(d.join("vendor/lib")).expect("submodule folder");
    repo.git(&["add", "-A"]);
    let gitlink = repo.rev("HEAD~3");
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{gitlink},vendor/lib"),
    ]);
    repo.git(&["commit", "-q", "-m", "Everything at once"]);
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the source is clean"
    );
    assert_eq!(
        repo.git(&["cat-file", "-p", "HEAD:legacy/win.txt"])
            .as_bytes(),
        b"one\r\ntwo",
        "the CRLF blob survived (a test of the fixture)"
    );
    repo
}

/// The work tree `git clone` writes for `rev` of `repo`.
fn cloned(repo: &TestRepo, dest: &Path) -> BTreeMap<Vec<u8>, Node> {
    let clone = dest.join("clone");
    git(
        dest,
        &[
            "clone",
            "-q",
            "--no-checkout",
            &repo.dir.display().to_string(),
            "clone",
        ],
    );
    git(&clone, &["checkout", "-q", "main"]);
    tree_on_disk(&clone)
}

#[test]
fn unzip_gives_the_work_tree_git_clone_gives_and_a_clean_status() {
    let local = everything_repo();
    let prepared = local.prepare();
    let warnings: Vec<String> = prepared.json["warnings"]
        .as_array()
        .expect("warnings array")
        .iter()
        .map(|w| w.as_str().expect("string").to_owned())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("submodule") && w.contains("vendor/lib")),
        "a submodule warning naming the path: {warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("LFS") && w.contains("assets/model.bin")),
        "an LFS warning naming the path: {warnings:?}"
    );

    let sandbox = prepared.unzip();
    assert_eq!(
        sandbox.git(&["status", "--porcelain", "--ignored"]),
        "!! procoder-return",
        "clean, and only the helper is ignored"
    );
    sandbox.git(&["fsck", "--strict", "--no-dangling"]);
    assert_eq!(sandbox.git(&["rev-parse", "HEAD"]), local.rev("main"));
    assert_eq!(
        sandbox.git(&["log", "--format=%H", "--all"]),
        local.git(&["log", "--format=%H", "--branches", "--tags", "main"]),
        "the whole history, merges included"
    );

    let tmp = tempfile::TempDir::new().expect("tmp");
    let want = cloned(&local, tmp.path());
    let got = tree_on_disk(&sandbox.root);
    for (path, node) in &want {
        assert_eq!(
            got.get(path),
            Some(node),
            "{} differs from git clone's",
            String::from_utf8_lossy(path)
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the same paths as git clone's work tree"
    );
    // The conversions really happened (the oracle agrees with each).
    let file = |p: &str| match got.get(p.as_bytes()) {
        Some(Node::File { bytes, .. }) => bytes.clone(),
        other => panic!("{p} is {other:?}"),
    };
    assert_eq!(file("scripts/build.bat"), b"@echo off\r\necho build\r\n");
    assert!(file("keyword.id").starts_with(b"version $Id: "));
    assert_eq!(file("legacy/win.txt"), b"one\r\ntwo\r\n");
    assert_eq!(file("deep/a/b/c/d/e/leaf.txt"), b"leaf\r\n");
    assert_eq!(file("scripts/setup.win"), b"setup\r\n");
    assert_eq!(got.get(&b"vendor/lib"[..]), Some(&Node::EmptyDir));

    // The sandbox's git trusts the index: the CRLF blob stays clean even after a status that
    // refreshed the index, and touching nothing keeps it so.
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    assert_eq!(
        sandbox.git(&["config", "core.checkStat"]),
        "minimal",
        "the export trusts size and mtime"
    );

    // A round trip from this sandbox lands exactly the agent's commit.
    sandbox.write(
        "scripts/build.bat",
        b"@echo off\r\necho build\r\necho more\r\n",
    );
    sandbox.write("notes/new file.txt", b"new\n");
    sandbox.git(&["rm", "-q", "history/3.txt"]);
    sandbox.git(&["add", "-A"]);
    sandbox.git(&["commit", "-q", "-m", "Agent work"]);
    let tip = sandbox.git(&["rev-parse", "HEAD"]);
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    assert_eq!(local.rev(&prepared.task_ref), tip);
    local.git(&["fsck", "--strict", "--no-dangling"]);
    let changed = local.git(&["diff", "--name-status", &prepared.base_oid, &tip]);
    assert_eq!(
        changed, "D\thistory/3.txt\nA\tnotes/new file.txt\nM\tscripts/build.bat",
        "only the agent's changes"
    );
    assert_eq!(
        local.git(&["show", &format!("{tip}:scripts/build.bat")]),
        "@echo off\necho build\necho more",
        "stored with LF, as the eol attribute asks"
    );
}
