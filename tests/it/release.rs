//! The release binaries in target/dist (scripts/release-build.sh, run by scripts/test.sh): the
//! static helper, `procoder` with it embedded and nothing beside it, the npm packages made
//! from them, and task packages whose entries do not depend on the host's file modes.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// target/dist, beside the target/debug that holds the test's other binaries.
fn dist(name: &str) -> PathBuf {
    let debug = bin("procoder")
        .parent()
        .expect("target/debug")
        .to_path_buf();
    let path = debug.parent().expect("target").join("dist").join(name);
    assert!(
        path.is_file(),
        "{} does not exist: scripts/test.sh builds it with scripts/release-build.sh",
        path.display()
    );
    path
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert_success(&out, "sha256sum");
    stdout(&out)
        .split_whitespace()
        .next()
        .expect("a sum")
        .to_owned()
}

fn readelf(args: &[&str], file: &Path) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .expect("readelf (binutils) is on PATH for every test run");
    assert_success(&out, "readelf");
    stdout(&out)
}

/// A folder holding only a copy of dist/procoder: no helper beside it.
fn lone_procoder() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().expect("tmp");
    let exe = tmp.path().join("procoder");
    std::fs::copy(dist("procoder"), &exe).expect("copy procoder");
    (tmp, exe)
}

fn run(exe: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    hermetic(Command::new(exe).args(args).current_dir(dir))
        .env("CI", "true")
        .output()
        .expect("procoder starts")
}

/// prepare with `exe` → unzip → commit → the package's own ./procoder-return → apply with
/// `exe`; asserts the task branch is the sandbox's tip and the result passes fsck.
fn round_trip(exe: &Path) -> (TestRepo, Prepared) {
    let local = TestRepo::new();
    let out = run(exe, &local.dir, &["prepare", "--json"]);
    assert_success(&out, "prepare");
    let prepared = prepared_from(&out);
    let sandbox = prepared.unzip();
    let tip = sandbox.commit_file("release.txt", "from the release build\n");
    let zip = sandbox.run_return();
    let out = run(exe, &local.dir, &["apply", zip.to_str().expect("utf-8")]);
    assert_success(&out, "apply");
    assert_eq!(local.rev(&prepared.task_ref), tip);
    local.git(&["fsck", "--strict", "--no-progress"]);
    (local, prepared)
}

/// `procoder --version --json` of `exe`.
fn version_json(exe: &Path) -> serde_json::Value {
    let out = run(exe, Path::new("/"), &["--version", "--json"]);
    assert_success(&out, "procoder --version --json");
    json_stdout(&out)
}

fn prepared_from(out: &std::process::Output) -> Prepared {
    let json = json_stdout(out);
    let s = |k: &str| json[k].as_str().expect(k).to_owned();
    Prepared {
        id: s("exchange_id"),
        task_ref: s("task_ref"),
        base_oid: s("base_oid"),
        zip: PathBuf::from(s("package")),
        json,
    }
}

fn packaged_helper(zip: &Path) -> Member {
    zip_members(zip)
        .into_iter()
        .find(|m| m.name == "repo/procoder-return")
        .expect("the helper member")
}

#[test]
fn static_helper_needs_no_loader_and_no_libraries() {
    let helper = dist("procoder-return");
    let headers = readelf(&["-lW"], &helper);
    assert!(
        headers.contains("Program Headers"),
        "readelf -l read no program headers:\n{headers}"
    );
    assert!(
        !headers.contains("INTERP"),
        "the helper asks for a program interpreter:\n{headers}"
    );
    let dynamic = readelf(&["-dW"], &helper);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "the helper needs shared libraries:\n{dynamic}"
    );
}

#[test]
fn embedded_helper_prepares_alone_and_round_trips() {
    let (_tmp, exe) = lone_procoder();
    let helper_sum = sha256(&dist("procoder-return"));

    let v = version_json(&exe);
    assert_eq!(v["helper"]["origin"], "embedded", "{v}");
    assert_eq!(v["helper"]["sha256"], helper_sum.as_str(), "{v}");
    assert_eq!(v["helper"]["linkage"], "static", "{v}");
    assert_eq!(v["helper"]["version"], v["version"], "{v}");
    let text = stdout(&run(&exe, Path::new("/"), &["--version"]));
    assert!(
        text.contains("embedded in procoder") && text.contains(&helper_sum),
        "--version names the embedded helper and its sha256:\n{text}"
    );

    let (_local, prepared) = round_trip(&exe);
    let member = packaged_helper(&prepared.zip);
    let unpacked = TempDir::new().expect("tmp");
    let copy = unpacked.path().join("procoder-return");
    std::fs::write(&copy, &member.data).expect("write the packaged helper");
    assert_eq!(
        sha256(&copy),
        helper_sum,
        "the package carries the embedded helper byte for byte"
    );
    assert_eq!(member.mode.map(|m| m & 0o7777), Some(0o755));
}

#[test]
fn static_helper_runs_in_an_empty_root() {
    if !is_root() {
        // chroot needs root: the CI machines run the tests as root, where this runs.
        eprintln!("skipped: chroot needs root (the test runs as root in CI)");
        return;
    }
    let (_tmp, exe) = lone_procoder();
    let local = TestRepo::new();
    let out = run(&exe, &local.dir, &["prepare", "--json"]);
    assert_success(&out, "prepare");
    let prepared = prepared_from(&out);
    // The root holds the unzipped package and nothing else: no libc, no loader, no git.
    let root = TempDir::new().expect("tmp");
    let repo = unzip_to(&prepared.zip, root.path());
    let name = repo.file_name().and_then(|n| n.to_str()).expect("folder");
    write_file(&repo, "chroot.txt", b"made in an empty root\n");
    git(&repo, &["add", "chroot.txt"]);
    git(&repo, &["commit", "-q", "-m", "Work done in an empty root"]);
    let tip = git(&repo, &["rev-parse", "HEAD"]);
    assert!(!root.path().join("lib").exists() && !root.path().join("usr").exists());
    let inside = format!("/{name}");
    let out = hermetic(Command::new("python3").args([
        "-c",
        "import os, sys; os.chroot(sys.argv[1]); os.chdir(sys.argv[2]); \
         os.execv('./procoder-return', ['./procoder-return'])",
    ]))
    .arg(root.path())
    .arg(&inside)
    .output()
    .expect("python3 runs");
    assert_success(&out, "./procoder-return in an empty root");
    let zip = repo.join(format!("procoder-return-{}.zip", prepared.id));
    let out = run(&exe, &local.dir, &["apply", zip.to_str().expect("utf-8")]);
    assert_success(&out, "apply of the return made in an empty root");
    assert_eq!(local.rev(&prepared.task_ref), tip);
    local.git(&["fsck", "--strict", "--no-progress"]);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| stdout(&o).trim() == "0")
}

#[test]
fn npm_packages_install_offline_and_round_trip() {
    let tmp = TempDir::new().expect("tmp");
    let tarballs = tmp.path().join("npm");
    let dist_dir = dist("procoder").parent().expect("dist").to_path_buf();
    let script = workspace().join("scripts/package-npm.sh");
    let out = Command::new(&script)
        .arg(&dist_dir)
        .arg(&tarballs)
        .output()
        .expect("package-npm.sh runs");
    assert_success(&out, "scripts/package-npm.sh");
    let made: Vec<PathBuf> = stdout(&out).lines().map(PathBuf::from).collect();
    assert_eq!(
        made.len(),
        2,
        "the main package and this platform's: {made:?}"
    );
    let prefix = tmp.path().join("prefix");
    let out = Command::new("npm")
        .args(["install", "-g", "--offline", "--no-audit", "--no-fund"])
        .arg("--prefix")
        .arg(&prefix)
        .args(&made)
        .env("npm_config_cache", tmp.path().join("npm-cache"))
        .output()
        .expect("npm runs");
    assert_success(&out, "npm install -g --offline");
    let exe = prefix.join("bin/procoder");
    assert!(
        std::fs::symlink_metadata(&exe).is_ok(),
        "npm put no procoder command in {}",
        prefix.join("bin").display()
    );
    let v = version_json(&exe);
    assert_eq!(v["helper"]["origin"], "embedded", "{v}");
    round_trip(&exe);

    // The launcher's override runs another binary: here the same one, from its own path.
    let out = hermetic(Command::new(&exe).arg("--version"))
        .env("PROCODER_BINARY_PATH", dist("procoder"))
        .output()
        .expect("the launcher runs");
    assert_success(&out, "PROCODER_BINARY_PATH");
    assert!(
        stdout(&out).contains("(next to procoder)"),
        "{}",
        stdout(&out)
    );
}

/// Every entry of a task package: name, unix mode, symlink or not, and bytes. Three members
/// name the exchange: its id is masked, and the record's creation time; the index's entries
/// carry the time of prepare, so only its length is compared.
fn entries(zip: &Path, id: &str) -> Vec<(String, Option<u32>, Vec<u8>)> {
    zip_members(zip)
        .into_iter()
        .map(|m| {
            let data = match m.name.strip_prefix("repo/.git/") {
                Some("HEAD" | "packed-refs") => String::from_utf8_lossy(&m.data)
                    .replace(id, "<id>")
                    .into_bytes(),
                Some("procoder/exchange.json") => {
                    let mut v: serde_json::Value =
                        serde_json::from_slice(&m.data).expect("the record is JSON");
                    v["created_at"] = "<time>".into();
                    v.to_string().replace(id, "<id>").into_bytes()
                }
                Some("index") => format!("{} bytes", m.data.len()).into_bytes(),
                _ => m.data,
            };
            (m.name, m.mode, data)
        })
        .collect()
}

#[test]
fn package_entries_do_not_depend_on_umask_or_file_modes() {
    let local = TestRepo::new();
    let tmp = TempDir::new().expect("tmp");
    let helper = bin("procoder-return");
    let first = local.prepare_with(&["--helper", helper.to_str().expect("utf-8")]);
    let kept = tmp.path().join("first.zip");
    std::fs::copy(&first.zip, &kept).expect("keep the first package");
    assert_success(&local.procoder(&["abort", &first.id]), "abort");

    // Now a umask of 077, a helper file of mode 0600, and a tracked file whose mode on disk
    // differs from git's (ignored under core.fileMode=false, so the tree is still clean).
    let private = tmp.path().join("procoder-return");
    std::fs::copy(&helper, &private).expect("copy the helper");
    set_mode(&private, 0o600);
    local.git(&["config", "core.fileMode", "false"]);
    set_mode(&local.dir.join("notes.txt"), 0o755);
    set_mode(&local.dir.join("scripts/run.sh"), 0o600);
    let out = hermetic(
        Command::new("sh")
            .args([
                "-c",
                "umask 077 && exec \"$0\" prepare --json --helper \"$1\"",
            ])
            .arg(bin("procoder"))
            .arg(&private)
            .current_dir(&local.dir),
    )
    .env("CI", "true")
    .output()
    .expect("sh runs");
    assert_success(&out, "prepare under umask 077");
    let second = prepared_from(&out);

    let a = entries(&kept, &first.id);
    let b = entries(&second.zip, &second.id);
    assert_eq!(a.len(), b.len(), "same number of entries");
    for (x, y) in a.iter().zip(&b) {
        assert!(
            x == y,
            "entry {} differs:\n{}\n{}",
            x.0,
            String::from_utf8_lossy(&x.2),
            String::from_utf8_lossy(&y.2)
        );
    }
    let mode = |name: &str| {
        b.iter()
            .find(|e| e.0 == name)
            .and_then(|e| e.1)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(mode("repo/procoder-return") & 0o7777, 0o755);
    assert_eq!(
        mode("repo/notes.txt") & 0o7777,
        0o644,
        "git's mode, not the disk's"
    );
    assert_eq!(
        mode("repo/scripts/run.sh") & 0o7777,
        0o755,
        "git's mode, not the disk's"
    );
    assert_eq!(
        mode("repo/link-to-readme") & 0o170000,
        0o120000,
        "a symlink"
    );
}

/// The workspace root: the tests crate's parent (target/ may live anywhere).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

#[test]
fn installer_checks_the_release_sum_and_installs() {
    let tmp = TempDir::new().expect("tmp");
    let rel = tmp.path().join("release");
    let script = |name: &str| workspace().join("scripts").join(name);
    let dist_dir = dist("procoder").parent().expect("dist").to_path_buf();
    let version = version_json(&dist("procoder"))["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    let out = Command::new(script("package-archive.sh"))
        .arg(&dist_dir)
        .arg(&rel)
        .args(["--target", "x86_64-unknown-linux-gnu"])
        .output()
        .expect("package-archive.sh runs");
    assert_success(&out, "package-archive.sh");
    let out = Command::new(script("release-publish.sh"))
        .arg(&rel)
        .arg(format!("v{version}"))
        .args(["example/procoder", "--dry-run"])
        .output()
        .expect("release-publish.sh runs");
    assert_success(&out, "release-publish.sh --dry-run");
    assert!(
        stdout(&out).contains("would run: gh release create"),
        "{}",
        stdout(&out)
    );
    let installer = rel.join("install.sh");
    let text = std::fs::read_to_string(&installer).expect("the rendered installer");
    assert!(
        text.contains("repo=\"example/procoder\"") && !text.contains("@VERSION@"),
        "the installer has the repository and version filled in"
    );
    let out = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&rel)
        .output()
        .expect("sha256sum runs");
    assert_success(&out, "sha256sum -c SHA256SUMS");

    let install = |dest: &Path| {
        Command::new("sh")
            .arg(&installer)
            .env("PROCODER_DOWNLOAD_URL", format!("file://{}", rel.display()))
            .env("PROCODER_INSTALL_DIR", dest)
            .output()
            .expect("sh runs")
    };
    let dest = tmp.path().join("bin");
    let out = install(&dest);
    assert_success(&out, "install.sh");
    let v = version_json(&dest.join("procoder"));
    assert_eq!(v["helper"]["origin"], "embedded", "{v}");
    assert_eq!(sha256(&dest.join("procoder")), sha256(&dist("procoder")));

    // A download whose sum does not match installs nothing.
    let sums = std::fs::read_to_string(rel.join("SHA256SUMS")).expect("sums");
    let archive = format!("procoder-{version}-x86_64-unknown-linux-gnu.tar.gz");
    let forged: String = sums
        .lines()
        .map(|l| {
            if l.ends_with(&archive) {
                format!("{} {archive}\n", "0".repeat(64))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(rel.join("SHA256SUMS"), forged).expect("forge the sums");
    let other = tmp.path().join("other-bin");
    let out = install(&other);
    assert!(!out.status.success(), "a wrong sum must fail the install");
    assert!(stderr(&out).contains("not installed"), "{}", stderr(&out));
    assert!(!other.join("procoder").exists(), "nothing installed");
}
