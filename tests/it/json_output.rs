//! `--json`: exactly one JSON object on stdout (the whole of stdout parses as one value),
//! for success and for failure, with the exit status of the human mode.

use crate::common::*;
use serde_json::Value;

fn assert_error_object(json: &Value, code: &str) {
    assert_eq!(json["ok"], false, "{json}");
    let error = &json["error"];
    assert_eq!(error["code"], code, "{json}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error.message is a non-empty string: {json}"
    );
    assert!(
        error["details"].is_array(),
        "error.details is an array: {json}"
    );
    assert!(
        error
            .get("hint")
            .is_some_and(|h| h.is_string() || h.is_null()),
        "error.hint is present (string or null): {json}"
    );
}

#[test]
fn prepare_json_success_is_one_object_with_the_contract_fields() {
    let local = TestRepo::new();
    let out = local.procoder(&["prepare", "--json"]);
    assert_success(&out, "prepare --json");
    let json = json_stdout(&out);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["command"], "prepare", "{json}");
    let id = json["exchange_id"].as_str().expect("exchange_id");
    assert!(crate::prepare_output::is_exchange_id(id), "{id}");
    assert_eq!(
        json["task_ref"],
        format!("refs/heads/procoder/{id}/task").as_str()
    );
    assert_eq!(json["base_oid"], local.rev("HEAD").as_str());
    let package = std::path::PathBuf::from(json["package"].as_str().expect("package"));
    assert!(package.is_absolute());
    assert_eq!(
        package.canonicalize().expect("package exists"),
        local
            .dir
            .join(format!("procoder-task-{id}.zip"))
            .canonicalize()
            .expect("default location")
    );
    let bytes = std::fs::metadata(&package).expect("package").len();
    assert_eq!(json["package_bytes"].as_u64(), Some(bytes), "{json}");
    assert!(json["warnings"].is_array(), "{json}");
    let prompt = json["prompt"].as_str().expect("prompt is a string");
    assert!(
        prompt.contains("procoder-return"),
        "the prompt tells the agent to run the helper"
    );
    assert_eq!(
        local.rev(&format!("refs/heads/procoder/{id}/task")),
        local.rev("HEAD")
    );
}

#[test]
fn prepare_json_failure_is_one_error_object() {
    let local = TestRepo::new();
    write_file(&local.dir, "notes.txt", b"dirty\n");
    let before = local.snapshot();
    let out = local.procoder(&["prepare", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_stdout(&out);
    assert_error_object(&json, "WORKTREE_DIRTY");
    let details = json["error"]["details"].to_string();
    assert!(
        details.contains("notes.txt"),
        "details name the path: {json}"
    );
    before.assert_unchanged(&local.dir, "prepare --json refusal");
}

#[test]
fn apply_json_success_is_one_object() {
    let r = Returned::new();
    let out = r.apply(&["--json"]);
    assert_success(&out, "apply --json");
    let json = json_stdout(&out);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["command"], "apply", "{json}");
    assert_eq!(r.local.rev(&r.prepared.task_ref), r.tip);
}

#[test]
fn apply_json_failure_is_one_error_object() {
    let r = Returned::new();
    let task_short = r.prepared.task_ref.trim_start_matches("refs/heads/");
    r.local.git(&["branch", "-f", task_short, "HEAD~1"]);
    let before = r.local.snapshot();
    let out = r.apply(&["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json = json_stdout(&out);
    assert_error_object(&json, "BRANCH_MOVED");
    before.assert_unchanged(&r.local.dir, "apply --json refusal");
}

#[test]
fn apply_dry_run_json_is_one_object() {
    let r = Returned::new();
    let before = r.local.snapshot();
    let out = r.apply(&["--dry-run", "--json"]);
    assert_success(&out, "apply --dry-run --json");
    let json = json_stdout(&out);
    assert_eq!(json["ok"], true, "{json}");
    before.assert_unchanged(&r.local.dir, "apply --dry-run --json");
}
