//! Packages are interchangeable with the original Go procoder: our `apply` takes the Go
//! `return.zip`, and our `procoder-return` works inside the Go `task.zip`. The fixtures are
//! copies in tests/it/fixtures/go-procoder (see the README there).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "20261125-010941-04c604";
const BASE: &str = "b39e6197ab2068454f2e6481c5e982dc88b4edfa";
const DEV: &str = "27693dc0e2bb97c297ad4f5db0a737a7aa364aee";
const TAG_V1: &str = "cd9d07f68726f9eb733d3065654492e5a4b201fd";
const TASK_TIP: &str = "d2d7081db7124acbf03cf34739ec6462dd801e34";
const EXTRA_TIP: &str = "3563c76ee1e7ac0adf23d7754ad35b34f475d652";
const EXCHANGE_JSON: &[u8] = include_bytes!("fixtures/go-procoder/exchange.json");
const RETURN_ZIP: &[u8] = include_bytes!("fixtures/go-procoder/return.zip");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("it/fixtures/go-procoder")
        .join(name)
}

fn task_ref() -> String {
    format!("refs/heads/procoder/{ID}/task")
}

fn extra_ref() -> String {
    format!("refs/heads/procoder/{ID}/extra")
}

/// The refs the fixture README lists after a correct default apply.
fn expected_refs() -> String {
    [
        format!("refs/heads/dev {DEV}"),
        format!("refs/heads/main {BASE}"),
        format!("{} {EXTRA_TIP}", extra_ref()),
        format!("{} {TASK_TIP}", task_ref()),
        format!("refs/tags/v1 {TAG_V1}"),
    ]
    .join("\n")
}

/// Builds `<parent>/source-repo` with the fixture script and simulates the Go prepare:
/// the exact exchange record and the task branch at `main`.
fn prepared_source_repo(parent: &Path) -> PathBuf {
    let out = hermetic(
        Command::new("sh")
            .arg(fixture("make-source-repo.sh"))
            .current_dir(parent),
    )
    .output()
    .expect("sh is on PATH for every test run");
    assert_success(&out, "make-source-repo.sh");
    let repo = parent.join("source-repo");
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        BASE,
        "fixture ids are reproducible"
    );
    assert_eq!(git(&repo, &["rev-parse", "dev"]), DEV);
    write_file(
        &repo,
        &format!(".git/procoder/exchanges/{ID}/exchange.json"),
        EXCHANGE_JSON,
    );
    git(&repo, &["update-ref", &task_ref(), "main"]);
    repo
}

fn refs(repo: &Path) -> String {
    git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

#[test]
fn go_return_zip_applies_with_the_expected_refs() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let repo = prepared_source_repo(tmp.path());
    let zip = tmp.path().join("return.zip");
    std::fs::write(&zip, RETURN_ZIP).expect("copy return.zip");
    let zip = zip.to_str().expect("utf-8");

    let out = run_procoder(&repo, &["apply", zip]);
    assert_success(&out, "apply of the Go return.zip");
    assert_eq!(
        refs(&repo),
        expected_refs(),
        "exactly these refs, no import refs left"
    );
    assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    git(&repo, &["fsck", "--strict"]);
    assert_eq!(
        git(&repo, &["show", &format!("{TASK_TIP}:src/app/feature.txt")]),
        "new feature file"
    );

    // Unlike the Go apply, a second apply of the same package is "already applied".
    let before = RepoSnapshot::take(&repo);
    let again = run_procoder(&repo, &["apply", zip]);
    assert_success(&again, "re-apply of the Go return.zip");
    assert!(
        stdout(&again).to_lowercase().contains("already applied"),
        "{}",
        stdout(&again)
    );
    before.assert_unchanged(&repo, "re-apply of the Go return.zip");
}

#[test]
fn go_return_zip_dry_run_and_namespace() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let repo = prepared_source_repo(tmp.path());
    let zip = tmp.path().join("return.zip");
    std::fs::write(&zip, RETURN_ZIP).expect("copy return.zip");
    let zip = zip.to_str().expect("utf-8");

    let before = RepoSnapshot::take(&repo);
    assert_success(
        &run_procoder(&repo, &["apply", zip, "--dry-run"]),
        "dry-run",
    );
    before.assert_unchanged(&repo, "apply --dry-run of the Go return.zip");

    let out = run_procoder(&repo, &["apply", zip, "--namespace", "procoder-import"]);
    assert_success(&out, "apply --namespace procoder-import");
    assert_eq!(
        git(
            &repo,
            &[
                "rev-parse",
                &format!("refs/heads/procoder-import/{ID}/task")
            ]
        ),
        TASK_TIP
    );
    assert_eq!(
        git(
            &repo,
            &[
                "rev-parse",
                &format!("refs/heads/procoder-import/{ID}/extra")
            ]
        ),
        EXTRA_TIP
    );
    assert_eq!(
        git(&repo, &["rev-parse", &task_ref()]),
        BASE,
        "task branch untouched"
    );
    assert!(
        git_output(&repo, &["rev-parse", "--verify", "-q", &extra_ref()])
            .stdout
            .is_empty()
    );
    git(&repo, &["fsck", "--strict"]);
}

#[test]
fn go_return_zip_without_the_task_branch_is_branch_moved() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let repo = prepared_source_repo(tmp.path());
    git(&repo, &["update-ref", "-d", &task_ref()]);
    let zip = tmp.path().join("return.zip");
    std::fs::write(&zip, RETURN_ZIP).expect("copy return.zip");
    let before = RepoSnapshot::take(&repo);
    assert_code(
        &run_procoder(&repo, &["apply", zip.to_str().expect("utf-8")]),
        "BRANCH_MOVED",
    );
    before.assert_unchanged(&repo, "BRANCH_MOVED on the Go return.zip");
}

#[test]
fn our_helper_in_the_go_task_zip_returns_a_package_git_and_our_apply_accept() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let sandbox_parent = tmp.path().join("sandbox");
    std::fs::create_dir(&sandbox_parent).expect("mkdir");
    let sandbox = unzip_to(&fixture("task.zip"), &sandbox_parent);
    assert_eq!(
        sandbox.file_name().and_then(|n| n.to_str()),
        Some("source-repo")
    );
    assert_eq!(git(&sandbox, &["status", "--porcelain"]), "");
    let helper = sandbox.join("procoder-return");
    std::fs::copy(bin("procoder-return"), &helper).expect("replace the Go helper");
    set_mode(&helper, 0o755);

    let out = hermetic(
        Command::new("sh")
            .arg(fixture("make-task-commits.sh"))
            .arg("source-repo")
            .current_dir(&sandbox_parent),
    )
    .output()
    .expect("sh");
    assert_success(&out, "make-task-commits.sh");
    assert_eq!(git(&sandbox, &["rev-parse", &task_ref()]), TASK_TIP);
    assert_eq!(git(&sandbox, &["rev-parse", &extra_ref()]), EXTRA_TIP);

    let out = hermetic(Command::new(&helper).current_dir(&sandbox))
        .output()
        .expect("run our helper");
    assert_success(&out, "our procoder-return in the Go task");
    let zip = sandbox.join(format!("procoder-return-{ID}.zip"));
    assert!(zip.is_file(), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!(
        "Sandbox hint: sandbox:{}",
        zip.canonicalize().expect("zip").display()
    )));

    let (doc, bundle) = read_return(&zip);
    assert_eq!(doc["protocol"], "procoder-return/v1");
    assert_eq!(doc["exchange_id"], ID);
    assert_eq!(doc["bundle_file"], "procoder-return.bundle");
    assert_eq!(doc["task"]["root_ref"], task_ref().as_str());
    assert_eq!(doc["task"]["base_oid"], BASE);
    assert_eq!(
        doc["updates"],
        serde_json::json!([
            { "ref": extra_ref(), "old_oid": "", "new_oid": EXTRA_TIP },
            { "ref": task_ref(), "old_oid": BASE, "new_oid": TASK_TIP },
        ]),
        "the same updates as the Go helper wrote"
    );

    let local_parent = tmp.path().join("local");
    std::fs::create_dir(&local_parent).expect("mkdir");
    let repo = prepared_source_repo(&local_parent);
    let bundle_path = tmp.path().join("return.bundle");
    std::fs::write(&bundle_path, &bundle).expect("write bundle");
    git(
        &repo,
        &[
            "bundle",
            "verify",
            "-q",
            bundle_path.to_str().expect("utf-8"),
        ],
    );

    let out = run_procoder(&repo, &["apply", zip.to_str().expect("utf-8")]);
    assert_success(&out, "apply of our return from the Go task");
    assert_eq!(refs(&repo), expected_refs());
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    git(&repo, &["fsck", "--strict"]);
}
