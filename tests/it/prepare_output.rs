//! What `procoder prepare` prints and where it writes: the human output, `--output`, the
//! exclude line, the exchange record, and the helper lookup order.

use crate::common::*;
use std::path::Path;

#[test]
fn prepare_human_output_names_task_branch_and_package_and_excludes_it() {
    let local = TestRepo::new();
    let out = local.procoder(&["prepare"]);
    assert_success(&out, "procoder prepare");
    let text = stdout(&out);
    let task_ref = text
        .lines()
        .find_map(|l| l.strip_prefix("Task branch: "))
        .unwrap_or_else(|| panic!("no `Task branch:` line:\n{text}"))
        .trim()
        .to_owned();
    let id = task_ref
        .strip_prefix("refs/heads/procoder/")
        .and_then(|s| s.strip_suffix("/task"))
        .unwrap_or_else(|| {
            panic!(
                "the line must be exactly `Task branch: refs/heads/procoder/<id>/task` \
                 (as the Go procoder prints it), got `Task branch: {task_ref}`"
            )
        });
    assert!(is_exchange_id(id), "bad exchange id {id}");
    let package = text
        .lines()
        .find_map(|l| l.strip_prefix("Task package: "))
        .unwrap_or_else(|| panic!("no `Task package:` line:\n{text}"))
        .trim();
    let expected = local.dir.join(format!("procoder-task-{id}.zip"));
    assert_eq!(
        Path::new(package).canonicalize().expect("package exists"),
        expected.canonicalize().expect("default package location")
    );
    assert_eq!(local.rev(&task_ref), local.rev("HEAD"));
    assert_eq!(local.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(
        local.git(&["status", "--porcelain"]),
        "",
        "the package is excluded"
    );
    let name = format!("procoder-task-{id}.zip");
    assert_eq!(
        local.git(&["check-ignore", &name]),
        name,
        "git ignores the package"
    );
    let exclude = std::fs::read_to_string(local.dir.join(".git/info/exclude")).expect("exclude");
    assert!(
        exclude
            .lines()
            .any(|l| l.trim().trim_start_matches('/') == name),
        "the package name (optionally anchored with `/`) is in .git/info/exclude:\n{exclude}"
    );
    let record = local
        .dir
        .join(format!(".git/procoder/exchanges/{id}/exchange.json"));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record).expect("exchange record")).expect("JSON");
    assert_eq!(record["protocol"], "procoder-exchange/v1");
    assert_eq!(record["exchange_id"], id);
    assert_eq!(record["task"]["root_ref"], task_ref.as_str());
    assert_eq!(record["task"]["base_oid"], local.rev("HEAD").as_str());
    assert_eq!(record["source"]["head_ref"], "refs/heads/main");
}

pub fn is_exchange_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 22
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'-'
        && b[16..]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[test]
fn prepare_output_flag_writes_the_package_there() {
    let local = TestRepo::new();
    let elsewhere = tempfile::TempDir::new().expect("tmp");
    let target = elsewhere.path().join("my-task.zip");
    let prepared = local.prepare_with(&["--output", target.to_str().expect("utf-8")]);
    assert_eq!(
        prepared.zip.canonicalize().expect("package"),
        target.canonicalize().expect("--output path")
    );
    let leftovers: Vec<_> = std::fs::read_dir(&local.dir)
        .expect("repo dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("procoder-task-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "no default package when --output is given"
    );
    let sandbox = prepared.unzip();
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
}

/// A copy of the real helper with a marker appended (still a valid ELF executable).
fn marked_helper(dir: &Path, name: &str, marker: &str) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = std::fs::read(bin("procoder-return")).expect("read the helper");
    bytes.extend_from_slice(marker.as_bytes());
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("write the marked helper");
    set_mode(&path, 0o755);
    (path, bytes)
}

fn packaged_helper(zip: &Path) -> Vec<u8> {
    zip_members(zip)
        .into_iter()
        .find(|m| m.name == "repo/procoder-return")
        .expect("the helper member")
        .data
}

#[test]
fn helper_lookup_prefers_flag_then_env_then_next_to_the_executable() {
    let tmp = tempfile::TempDir::new().expect("tmp");
    let (flag_helper, flag_bytes) = marked_helper(tmp.path(), "flag-helper", "FLAG");
    let (env_helper, env_bytes) = marked_helper(tmp.path(), "env-helper", "ENVV");
    let env = [(
        "PROCODER_RETURN_HELPER",
        env_helper.to_str().expect("utf-8"),
    )];

    let local = TestRepo::new();
    let out = run_procoder_env(
        &local.dir,
        &[
            "prepare",
            "--json",
            "--helper",
            flag_helper.to_str().expect("utf-8"),
        ],
        &env,
    );
    assert_success(&out, "prepare --helper");
    let zip = json_stdout(&out)["package"]
        .as_str()
        .expect("package")
        .to_owned();
    assert!(
        packaged_helper(Path::new(&zip)) == flag_bytes,
        "--helper wins over the env"
    );

    let local = TestRepo::new();
    let out = run_procoder_env(&local.dir, &["prepare", "--json"], &env);
    assert_success(&out, "prepare with PROCODER_RETURN_HELPER");
    let zip = json_stdout(&out)["package"]
        .as_str()
        .expect("package")
        .to_owned();
    assert!(
        packaged_helper(Path::new(&zip)) == env_bytes,
        "the env helper is packaged"
    );

    let local = TestRepo::new();
    let prepared = local.prepare();
    let default = std::fs::read(bin("procoder-return")).expect("helper");
    assert!(
        packaged_helper(&prepared.zip) == default,
        "the helper next to procoder is packaged"
    );
}
