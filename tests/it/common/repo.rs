//! Real temporary repositories, the task package unzipped as a sandbox, and a prepared
//! return package.

use super::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use tempfile::TempDir;

/// A real repository in a temporary folder named `repo`, with several commits, a
/// second branch, an annotated and a lightweight tag, an executable file, a file
/// symlink, a binary file and a nested tree. HEAD is on `main`.
pub struct TestRepo {
    _tmp: TempDir,
    pub dir: PathBuf,
}

impl TestRepo {
    /// An empty repository (unborn `main`).
    pub fn empty() -> Self {
        let tmp = TempDir::new().expect("a temporary folder");
        let dir = tmp.path().join("repo");
        std::fs::create_dir(&dir).expect("create the repo folder");
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["config", "user.name", "Test Author"]);
        git(&dir, &["config", "user.email", "author@example.com"]);
        TestRepo { _tmp: tmp, dir }
    }

    pub fn new() -> Self {
        let repo = TestRepo::empty();
        let d = &repo.dir;
        write_file(d, "README.md", b"# Demo\n\nA small repository.\n");
        write_file(d, "notes.txt", b"first note\n");
        write_file(d, "src/lib/nested/deep.txt", b"deep file\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "Initial commit"]);
        repo.git(&["tag", "light"]);

        write_file(d, "scripts/run.sh", b"#!/bin/sh\necho hello\n");
        set_mode(&d.join("scripts/run.sh"), 0o755);
        std::os::unix::fs::symlink("README.md", d.join("link-to-readme")).expect("symlink");
        let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        write_file(d, "assets/data.bin", &binary);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "Add script, link and binary"]);
        repo.git(&["tag", "-a", "v1", "-m", "Version 1"]);

        repo.git(&["checkout", "-q", "-b", "dev"]);
        write_file(d, "dev.txt", b"dev work\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "Dev work"]);
        repo.git(&["checkout", "-q", "main"]);

        write_file(
            d,
            "README.md",
            b"# Demo\n\nA small repository.\n\nMore text.\n",
        );
        repo.git(&["commit", "-q", "-am", "Update readme"]);
        repo
    }

    /// A copy (`cp -a`) of this repository in a fresh temporary folder, under the same
    /// folder name: crash tests recover one crashed state two ways. Absolute paths the
    /// exchange log records (the task package) still name the original.
    pub fn copy(&self) -> Self {
        let tmp = TempDir::new().expect("a temporary folder");
        let dir = tmp.path().join("repo");
        let out = Command::new("cp")
            .arg("-a")
            .arg(&self.dir)
            .arg(&dir)
            .output()
            .expect("cp is on PATH for every test run");
        assert_success(&out, "cp -a of a test repository");
        TestRepo { _tmp: tmp, dir }
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }

    pub fn procoder(&self, args: &[&str]) -> Output {
        run_procoder(&self.dir, args)
    }

    pub fn snapshot(&self) -> RepoSnapshot {
        RepoSnapshot::take(&self.dir)
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev])
    }

    /// Runs `procoder prepare --json` and checks the basics of its answer.
    pub fn prepare(&self) -> Prepared {
        self.prepare_with(&[])
    }

    pub fn prepare_with(&self, extra: &[&str]) -> Prepared {
        let mut args = vec!["prepare", "--json"];
        args.extend_from_slice(extra);
        let out = self.procoder(&args);
        assert_success(&out, "procoder prepare --json");
        let json = json_stdout(&out);
        assert_eq!(json["ok"], true, "{json}");
        let id = json["exchange_id"]
            .as_str()
            .expect("exchange_id is a string")
            .to_owned();
        let task_ref = json["task_ref"]
            .as_str()
            .expect("task_ref is a string")
            .to_owned();
        assert_eq!(task_ref, format!("refs/heads/procoder/{id}/task"));
        let zip = PathBuf::from(json["package"].as_str().expect("package is a string"));
        assert!(zip.is_absolute(), "package path is not absolute: {json}");
        assert!(zip.is_file(), "package {} does not exist", zip.display());
        let base_oid = json["base_oid"]
            .as_str()
            .expect("base_oid is a string")
            .to_owned();
        Prepared {
            id,
            task_ref,
            base_oid,
            zip,
            json,
        }
    }
}

/// What `procoder prepare --json` reported.
pub struct Prepared {
    pub id: String,
    pub task_ref: String,
    pub base_oid: String,
    pub zip: PathBuf,
    pub json: Value,
}

impl Prepared {
    /// Unzips the task package into a fresh temporary folder.
    pub fn unzip(&self) -> Sandbox {
        let tmp = TempDir::new().expect("a temporary folder");
        let root = unzip_to(&self.zip, tmp.path());
        self.sandbox(tmp, root)
    }

    fn sandbox(&self, tmp: TempDir, root: PathBuf) -> Sandbox {
        Sandbox {
            _tmp: tmp,
            root,
            id: self.id.clone(),
            task_ref: self.task_ref.clone(),
            base_oid: self.base_oid.clone(),
        }
    }

    /// `refs/heads/procoder/<id>/<name>`
    pub fn family_ref(&self, name: &str) -> String {
        format!("refs/heads/procoder/{}/{name}", self.id)
    }

    /// Extracts the task package the lossy way an agent might: Python's `zipfile`, which
    /// keeps no mode bits and writes symlinks as plain files holding their targets.
    pub fn unzip_with_python(&self) -> Sandbox {
        let tmp = TempDir::new().expect("a temporary folder");
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
            ])
            .arg(&self.zip)
            .arg(tmp.path())
            .output()
            .expect("python3 is on PATH for every test run");
        assert_success(&out, "python3 zipfile extractall");
        let root = std::fs::read_dir(tmp.path())
            .expect("read the extraction folder")
            .next()
            .expect("one top folder")
            .expect("folder entry")
            .path();
        self.sandbox(tmp, root)
    }
}

/// An unzipped task package (the sandbox side).
pub struct Sandbox {
    _tmp: TempDir,
    pub root: PathBuf,
    pub id: String,
    pub task_ref: String,
    pub base_oid: String,
}

impl Sandbox {
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.root, args)
    }

    pub fn snapshot(&self) -> RepoSnapshot {
        RepoSnapshot::take(&self.root)
    }

    /// Writes `rel` as the agent would, minutes after prepare: its mtime is set a few seconds
    /// ahead, since a same-size edit in prepare's own second would match the exported index's
    /// stat data under `core.checkStat=minimal` and git would not see it (a flake of
    /// `bundle_written_by_git_bundle_create_is_accepted`).
    pub fn write(&self, rel: &str, content: &[u8]) {
        write_file(&self.root, rel, content);
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(self.root.join(rel))
            .and_then(|f| f.set_modified(later))
            .expect("set the edit's mtime");
    }

    /// Writes one file and commits it on the current branch; returns the new commit id.
    pub fn commit_file(&self, rel: &str, content: &str) -> String {
        self.write(rel, content.as_bytes());
        self.git(&["add", "--", rel]);
        self.git(&["commit", "-q", "-m", &format!("Change {rel}")]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Writes an executable (0755) file and commits it; returns the new commit id.
    pub fn commit_exec_file(&self, rel: &str, content: &str) -> String {
        self.write(rel, content.as_bytes());
        set_mode(&self.root.join(rel), 0o755);
        self.git(&["add", "--", rel]);
        self.git(&["commit", "-q", "-m", &format!("Add executable {rel}")]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `refs/heads/procoder/<id>/<name>`
    pub fn family_ref(&self, name: &str) -> String {
        format!("refs/heads/procoder/{}/{name}", self.id)
    }

    /// Runs `./procoder-return` (the copy inside the package) in the sandbox root.
    pub fn run_return_output(&self) -> Output {
        hermetic(Command::new(self.root.join("procoder-return")).current_dir(&self.root))
            .output()
            .expect("./procoder-return can be started")
    }

    /// Runs `./procoder-return`, asserts success and returns the zip it reports.
    pub fn run_return(&self) -> PathBuf {
        let out = self.run_return_output();
        assert_success(&out, "./procoder-return");
        let text = stdout(&out);
        let reported = text
            .lines()
            .find_map(|l| l.strip_prefix("Return package: "))
            .unwrap_or_else(|| panic!("no `Return package:` line in:\n{text}"));
        let path = reported.split(" (").next().expect("a path").trim();
        let path = PathBuf::from(path);
        assert!(path.is_absolute(), "not absolute: {}", path.display());
        assert!(path.is_file(), "{} does not exist", path.display());
        assert!(
            text.lines()
                .any(|l| l == format!("Sandbox hint: sandbox:{}", path.display())),
            "no `Sandbox hint: sandbox:<path>` line in:\n{text}"
        );
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some(format!("procoder-return-{}.zip", self.id).as_str())
        );
        assert_eq!(
            path.parent().map(|p| p.canonicalize().expect("canonical")),
            Some(self.root.canonicalize().expect("canonical")),
            "the return package is written at the repository root"
        );
        path
    }
}

/// A local repository, its exchange, the sandbox and one return package with one commit
/// on the task branch (`feature.txt`).
pub struct Returned {
    pub local: TestRepo,
    pub prepared: Prepared,
    pub sandbox: Sandbox,
    pub zip: PathBuf,
    pub tip: String,
}

impl Returned {
    pub fn new() -> Self {
        let local = TestRepo::new();
        let prepared = local.prepare();
        let sandbox = prepared.unzip();
        let tip = sandbox.commit_file("feature.txt", "a feature\n");
        let zip = sandbox.run_return();
        Returned {
            local,
            prepared,
            sandbox,
            zip,
            tip,
        }
    }

    /// `procoder apply <zip> <extra...>` in the local repository.
    pub fn apply(&self, extra: &[&str]) -> Output {
        let zip = self.zip.to_str().expect("utf-8 temp path");
        let mut args = vec!["apply", zip];
        args.extend_from_slice(extra);
        self.local.procoder(&args)
    }
}

/// Saves a copy of `path` into `dir` under `name` (return zips are overwritten in place
/// by a second `./procoder-return`).
pub fn keep_copy(path: &Path, dir: &Path, name: &str) -> PathBuf {
    let dest = dir.join(name);
    std::fs::copy(path, &dest).expect("copy a package");
    dest
}
