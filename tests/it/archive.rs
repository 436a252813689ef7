//! `procoder archive`: the repository zipped for reading. git is the oracle: the unzipped
//! archive passes `git fsck --strict`, holds every branch and tag at its object, and its
//! `git status` and `git diff` are those of the source with its index reset to HEAD (the
//! archive's index is HEAD's); its work tree is the source's byte for byte, ignored files
//! left out. The source repository is only read, and no opener runs under CI or `--no-open`.

mod leaks;

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A path of a work tree as the tests compare it: a file (exec bit, bytes) or a symlink.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    File { exec: bool, bytes: Vec<u8> },
    Link(PathBuf),
}

/// Every file and symlink under `root`, `.git` left out.
fn work_tree(root: &Path) -> BTreeMap<String, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(dir).expect("read a folder") {
            let path = entry.expect("a folder entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    Node::Link(std::fs::read_link(&path).expect("readlink")),
                );
            } else if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let exec = meta.permissions().mode() & 0o100 != 0;
                let bytes = std::fs::read(&path).expect("read a file");
                out.insert(rel, Node::File { exec, bytes });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The source with every kind of uncommitted work: a modified, a deleted, a staged and a
/// mode-changed file, untracked files (one executable, one symlink, in a new folder) and
/// ignored ones (by `.gitignore` and by `.git/info/exclude`).
fn dirty_repo() -> TestRepo {
    let local = TestRepo::new();
    let d = &local.dir;
    write_file(d, ".gitignore", b"*.log\n/build/\n");
    local.git(&["add", ".gitignore"]);
    local.git(&["commit", "-q", "-m", "Ignore logs"]);
    write_file(d, "README.md", b"# Demo\n\nEdited, not committed.\n");
    std::fs::remove_file(d.join("notes.txt")).expect("delete notes.txt");
    write_file(d, "staged.txt", b"staged, not committed\n");
    local.git(&["add", "staged.txt"]);
    write_file(d, "src/lib/nested/deep.txt", b"staged edit\n");
    local.git(&["add", "src/lib/nested/deep.txt"]);
    set_mode(&d.join("assets/data.bin"), 0o755);
    write_file(d, "new/dir/untracked.txt", b"untracked\n");
    write_file(d, "new/tool.sh", b"#!/bin/sh\n");
    set_mode(&d.join("new/tool.sh"), 0o755);
    std::os::unix::fs::symlink("../README.md", d.join("new/readme-link")).expect("symlink");
    write_file(d, "debug.log", b"ignored by .gitignore\n");
    write_file(d, "build/out.o", b"ignored folder\n");
    write_file(d, ".git/info/exclude", b"secret.env\n");
    write_file(d, "secret.env", b"ignored by info/exclude\n");
    local
}

/// Runs `procoder archive --output <tmp>/archive.zip` in `local` and returns the zip's path.
fn archive(local: &TestRepo, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let zip = out_dir.join("archive.zip");
    let zip_arg = zip.to_str().expect("utf-8 temp path");
    let mut args = vec!["archive", "--output", zip_arg];
    args.extend_from_slice(extra);
    let out = local.procoder(&args);
    assert_success(&out, "procoder archive");
    zip
}

/// The raw bytes of `.git/index` (a snapshot runs git status, which may rewrite it).
fn index_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(".git/index")).expect("read .git/index")
}

/// Every path under `.git` with its size and modification time: a write anywhere shows.
fn git_dir_listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut paths = Vec::new();
    let git_dir = dir.join(".git");
    crate::leaks::list_tree(&git_dir, &git_dir, &mut paths);
    let mut out: Vec<_> = paths
        .into_iter()
        .map(|(rel, _)| {
            let meta = std::fs::symlink_metadata(git_dir.join(&rel)).expect("lstat");
            (rel, meta.len(), meta.modified().expect("mtime"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn archive_holds_the_work_tree_as_on_disk_and_every_branch_and_tag() {
    let local = dirty_repo();
    let before = local.snapshot();
    let index = index_bytes(&local.dir);
    let git_dir = git_dir_listing(&local.dir);
    let tree_before = work_tree(&local.dir);
    let out = TempDir::new().expect("tmp");
    let zip = archive(&local, out.path(), &[]);
    assert_eq!(index_bytes(&local.dir), index, "the index is not rewritten");
    assert_eq!(
        git_dir_listing(&local.dir),
        git_dir,
        "nothing in .git is written"
    );
    before.assert_unchanged(&local.dir, "archive");
    assert_eq!(
        work_tree(&local.dir),
        tree_before,
        "the work tree is not touched"
    );

    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert_eq!(root.file_name().and_then(|n| n.to_str()), Some("repo"));
    git(&root, &["fsck", "--strict", "--no-dangling"]);
    let refs = ["for-each-ref", "--format=%(refname) %(objectname)"];
    assert_eq!(
        git(&root, &refs),
        local.git(&[refs[0], refs[1], "refs/heads", "refs/tags"]),
        "every branch and tag at its object, no other ref"
    );
    assert_eq!(git(&root, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), local.rev("HEAD"));
    assert_eq!(
        object_ids(&root),
        reachable_ids(&local.dir),
        "exactly the objects the heads and tags reach"
    );

    // The work tree: the source's files byte for byte, modes and symlinks kept, minus ignored.
    let mut expected = work_tree(&local.dir);
    for ignored in ["debug.log", "build/out.o", "secret.env"] {
        assert!(expected.remove(ignored).is_some(), "{ignored} was planted");
    }
    assert_eq!(work_tree(&root), expected);

    // git's view: the source with its index reset to HEAD, which is what the archive's is.
    let reset = local.copy();
    reset.git(&["reset", "-q"]);
    let status = ["status", "--porcelain", "--untracked-files=all"];
    let want = reset.git(&status);
    assert_eq!(git(&root, &status), want);
    for path in [
        " M README.md",
        " D notes.txt",
        " M assets/data.bin",
        " M src/lib/nested/deep.txt",
        "?? staged.txt",
        "?? new/tool.sh",
        "?? new/readme-link",
        "?? new/dir/untracked.txt",
    ] {
        assert!(want.lines().any(|l| l == path), "{path} in:\n{want}");
    }
    assert_eq!(git(&root, &["diff"]), reset.git(&["diff"]));
    assert_eq!(
        git(&root, &["status", "--porcelain", "--ignored"]),
        git(&root, &["status", "--porcelain"]),
        "no ignored file is in the archive"
    );
}

#[test]
fn archive_of_a_clean_repository_is_clean_and_its_index_trusted() {
    let local = TestRepo::new();
    let out = TempDir::new().expect("tmp");
    let zip = archive(&local, out.path(), &[]);
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert_eq!(git(&root, &["status", "--porcelain", "--ignored"]), "");
    assert_eq!(
        git(&root, &["ls-files", "-s"]),
        local.git(&["ls-files", "-s"])
    );
    git(&root, &["fsck", "--strict", "--no-dangling"]);
    // Trusted entries carry the file's size; a clean archive needs no re-hash to be clean.
    let debug = git(&root, &["ls-files", "--debug", "README.md"]);
    assert!(!debug.contains("size: 0\t"), "{debug}");
}

#[test]
fn archive_of_a_detached_head_carries_its_commit() {
    let local = TestRepo::new();
    local.git(&["checkout", "-q", "--detach"]);
    write_file(&local.dir, "detached.txt", b"on no branch\n");
    local.git(&["add", "detached.txt"]);
    local.git(&["commit", "-q", "-m", "Detached work"]);
    let head = local.rev("HEAD");
    let out = TempDir::new().expect("tmp");
    let zip = archive(&local, out.path(), &[]);
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert_eq!(
        std::fs::read_to_string(root.join(".git/HEAD")).expect("HEAD"),
        format!("{head}\n")
    );
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    git(&root, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn archive_refuses_an_existing_output_and_changes_nothing() {
    let local = dirty_repo();
    let out = TempDir::new().expect("tmp");
    let zip = out.path().join("taken.zip");
    std::fs::write(&zip, b"someone else's file\n").expect("write");
    let before = local.snapshot();
    let zip_arg = zip.to_str().expect("utf-8");
    let err = assert_code(
        &local.procoder(&["archive", "--output", zip_arg]),
        "OUTPUT_EXISTS",
    );
    assert!(err.contains(zip_arg) && err.contains("Hint: "), "{err}");
    let json = json_stdout(&local.procoder(&["archive", "-o", zip_arg, "--json"]));
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["command"], "archive", "{json}");
    assert_eq!(json["error"]["code"], "OUTPUT_EXISTS", "{json}");
    assert_eq!(std::fs::read(&zip).expect("read"), b"someone else's file\n");
    let left: Vec<_> = std::fs::read_dir(out.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["taken.zip"], "no scratch file is left beside it");
    before.assert_unchanged(&local.dir, "a refused archive");
}

#[test]
fn archive_outside_a_repository_is_not_git_repo() {
    let dir = TempDir::new().expect("tmp");
    assert_code(&run_procoder(dir.path(), &["archive"]), "NOT_GIT_REPO");
    let local = TestRepo::new();
    let path = dir.path().to_str().expect("utf-8");
    assert_code(&local.procoder(&["archive", path]), "NOT_GIT_REPO");
    let json = json_stdout(&run_procoder(dir.path(), &["archive", "--json"]));
    assert_eq!(json["error"]["code"], "NOT_GIT_REPO", "{json}");
    let left = std::fs::read_dir(dir.path()).expect("ls").count();
    assert_eq!(left, 0, "nothing is written");
}

#[test]
fn archive_json_shape_and_default_name_beside_the_repository() {
    let local = dirty_repo();
    let before = local.snapshot();
    let out = local.procoder(&["archive", "--json"]);
    assert_success(&out, "archive --json");
    assert_eq!(stderr(&out), "", "--json prints nothing on stderr");
    let v = json_stdout(&out);
    let raw = stdout(&out);
    assert!(
        raw.starts_with(r#"{"ok":true,"schema":"procoder/v1","command":"archive","#),
        "{raw}"
    );
    let zip = PathBuf::from(v["archive"].as_str().expect("archive path"));
    let parent = local
        .dir
        .parent()
        .expect("parent")
        .canonicalize()
        .expect("real path");
    assert_eq!(
        zip.parent(),
        Some(parent.as_path()),
        "beside the repository: {v}"
    );
    let name = zip.file_name().and_then(|n| n.to_str()).expect("a name");
    let stamp = name
        .strip_prefix("repo-archive-")
        .and_then(|s| s.strip_suffix(".zip"))
        .expect("repo-archive-<stamp>.zip");
    assert!(
        stamp.len() == 15
            && stamp.as_bytes()[8] == b'-'
            && stamp.replace('-', "").bytes().all(|b| b.is_ascii_digit()),
        "YYYYMMDD-HHMMSS: {name}"
    );
    assert_eq!(
        v["archive_bytes"],
        std::fs::metadata(&zip).expect("zip").len()
    );
    assert_eq!(v["repository"], local.dir.to_str().expect("utf-8"));
    assert_eq!(v["head_ref"], "refs/heads/main");
    assert_eq!(v["head_oid"], local.rev("HEAD"));
    let count = |pattern: &str| {
        local
            .git(&["for-each-ref", "--format=x", pattern])
            .lines()
            .count()
    };
    assert_eq!(v["branches"], count("refs/heads"));
    assert_eq!(v["tags"], count("refs/tags"));
    assert_eq!(
        v["uncommitted"], 4,
        "README, notes, data.bin, deep.txt: {v}"
    );
    assert_eq!(v["untracked"], 4, "staged.txt and new/*: {v}");
    assert_eq!(v["objects"], reachable_ids(&local.dir).len());
    assert!(v["files"].as_u64().is_some_and(|n| n > 5), "{v}");
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert_eq!(v["opened"], false);
    assert_eq!(v["open_error"], serde_json::Value::Null);
    before.assert_unchanged(&local.dir, "archive --json");
    std::fs::remove_file(&zip).expect("clean up beside the temporary repository");
}

#[test]
fn archive_path_and_output_are_taken_from_dash_c() {
    let local = TestRepo::new();
    let parent = local.dir.parent().expect("parent").to_path_buf();
    let elsewhere = TempDir::new().expect("tmp");
    let dash_c = parent.to_str().expect("utf-8");
    let out = run_procoder(
        elsewhere.path(),
        &[
            "-C",
            dash_c,
            "archive",
            "repo/src",
            "--output",
            "from-c.zip",
            "-q",
        ],
    );
    assert_success(&out, "archive -C");
    let zip = parent.join("from-c.zip");
    assert!(zip.is_file(), "{}", stdout(&out));
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), local.rev("HEAD"));
    std::fs::remove_file(&zip).expect("clean up");
}

/// A fake `xdg-open` that records its arguments (or fails), first on PATH.
fn fake_opener(dir: &Path, fail: bool) -> (String, PathBuf) {
    let log = dir.join("opened.txt");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\n{}",
        log.display(),
        if fail { "exit 3\n" } else { "" }
    );
    write_file(dir, "xdg-open", script.as_bytes());
    set_mode(&dir.join("xdg-open"), 0o755);
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (path, log)
}

#[test]
fn archive_opens_the_file_manager_only_when_asked_and_never_fails_for_it() {
    let local = TestRepo::new();
    let bin_dir = TempDir::new().expect("tmp");
    let out_dir = TempDir::new().expect("tmp");
    let (path, log) = fake_opener(bin_dir.path(), false);
    let run = |name: &str, extra: &[&str], env: &[(&str, &str)]| {
        let zip = out_dir.path().join(name);
        let mut args = vec!["archive", "--output", zip.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        let mut all = vec![
            ("PATH", path.as_str()),
            ("DISPLAY", ":0"),
            ("WAYLAND_DISPLAY", ""),
        ];
        all.extend_from_slice(env);
        let out = run_procoder_env(&local.dir, &args, &all);
        assert_success(&out, name);
        out
    };
    // CI is set by run_procoder: nothing opens, nor with --no-open, --json or --quiet.
    run("ci.zip", &[], &[]);
    run("no-open.zip", &["--no-open"], &[("CI", "")]);
    run("json.zip", &["--json"], &[("CI", "")]);
    run("quiet.zip", &["-q"], &[("CI", "")]);
    run("no-display.zip", &[], &[("CI", ""), ("DISPLAY", "")]);
    assert!(
        !log.exists(),
        "an opener ran: {:?}",
        std::fs::read_to_string(&log)
    );
    // Asked for, with a desktop: the folder is opened.
    let out = run("shown.zip", &[], &[("CI", "")]);
    assert!(
        stdout(&out).contains("Opened in the file manager."),
        "{}",
        stdout(&out)
    );
    let opened = std::fs::read_to_string(&log).expect("the opener ran");
    assert_eq!(opened.trim(), out_dir.path().to_str().expect("utf-8"));
    // A failing opener is a warning; the archive is there.
    let (path, _) = fake_opener(bin_dir.path(), true);
    let zip = out_dir.path().join("failed.zip");
    let out = run_procoder_env(
        &local.dir,
        &["archive", "--output", zip.to_str().expect("utf-8")],
        &[
            ("PATH", path.as_str()),
            ("DISPLAY", ":0"),
            ("WAYLAND_DISPLAY", ""),
            ("CI", ""),
        ],
    );
    assert_success(&out, "archive with a failing opener");
    assert!(
        stdout(&out).contains("could not be opened"),
        "{}",
        stdout(&out)
    );
    assert!(zip.is_file());
}

#[test]
fn archive_of_a_shallow_clone_keeps_its_boundary() {
    let full = TestRepo::new();
    let tmp = TempDir::new().expect("tmp");
    let url = format!("file://{}", full.dir.display());
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            &url,
            "shallow",
        ],
    );
    let shallow = tmp.path().join("shallow");
    git(&shallow, &["branch", "-q", "dev", "origin/dev"]);
    let zip = tmp.path().join("shallow.zip");
    let out = run_procoder(&shallow, &["archive", "-o", zip.to_str().expect("utf-8")]);
    assert_success(&out, "archive of a shallow clone");
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    git(&root, &["fsck", "--strict", "--no-dangling"]);
    let boundary = |dir: &Path| {
        let mut lines: Vec<String> = std::fs::read_to_string(dir.join(".git/shallow"))
            .expect("a shallow file")
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(boundary(&root), boundary(&shallow));
    assert_eq!(git(&root, &["rev-parse", "dev"]), full.rev("dev"));
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
}

#[test]
fn archive_warns_of_submodules_and_nested_repositories() {
    let local = TestRepo::new();
    let sub = TestRepo::new();
    let url = format!("file://{}", sub.dir.display());
    local.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "lib",
    ]);
    local.git(&["commit", "-q", "-m", "Add a submodule"]);
    git(&local.dir, &["init", "-q", "nested"]);
    write_file(&local.dir, "nested/inner.txt", b"not in the archive\n");
    let out = TempDir::new().expect("tmp");
    let zip = out.path().join("a.zip");
    let run = local.procoder(&["archive", "-o", zip.to_str().expect("utf-8"), "--json"]);
    assert_success(&run, "archive with a submodule");
    let v = json_stdout(&run);
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("1 submodule") && warnings.contains("lib"),
        "{v}"
    );
    assert!(warnings.contains("nested/"), "{v}");
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert!(
        root.join("lib").is_dir() && std::fs::read_dir(root.join("lib")).expect("ls").count() == 0
    );
    assert!(!root.join("nested").exists());
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    git(&root, &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn archive_of_a_branch_with_no_commits_holds_its_files_untracked() {
    let local = TestRepo::empty();
    write_file(&local.dir, "first.txt", b"not committed yet\n");
    let out = TempDir::new().expect("tmp");
    let zip = archive(&local, out.path(), &[]);
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());
    assert_eq!(git(&root, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(&root, &["status", "--porcelain"]), "?? first.txt");
    assert_eq!(work_tree(&root), work_tree(&local.dir));
}
