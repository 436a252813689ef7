//! Issue 6: `--depth N` exports a shallow repository whose return applies to the full one, and
//! an oversized package says so and suggests `--depth`.

use crate::common::*;
use crate::faithful::everything_repo;

#[test]
fn a_shallow_export_round_trips_into_the_full_repository() {
    let local = everything_repo();
    let all_objects = local
        .git(&["rev-list", "--objects", "--branches", "--tags"])
        .lines()
        .count() as u64;
    let prepared = local.prepare_with(&["--depth", "2"]);
    assert_eq!(prepared.json["depth"], 2);
    let shallow = prepared.json["shallow_commits"].as_u64().expect("a count");
    assert!(shallow >= 1, "{}", prepared.json);
    let objects = prepared.json["objects"].as_u64().expect("a count");
    assert!(
        objects < all_objects,
        "fewer objects than the full history: {objects} vs {all_objects}"
    );
    let sandbox = prepared.unzip();
    assert_eq!(
        sandbox.git(&["rev-parse", "--is-shallow-repository"]),
        "true"
    );
    assert_eq!(
        sandbox.git(&["rev-list", "--count", "HEAD"]),
        "3",
        "the tip, its parent (which v1 tags) and v1's own parent"
    );
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    sandbox.git(&["fsck", "--strict", "--no-dangling"]);
    assert_eq!(
        sandbox.git(&["rev-parse", "refs/tags/v1"]),
        local.rev("refs/tags/v1"),
        "tags come along, each with its own last commits"
    );

    sandbox.commit_file("history/0.txt", "changed in a shallow sandbox\n");
    let tip = sandbox.commit_file("notes/shallow.txt", "second commit\n");
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    assert_eq!(local.rev(&prepared.task_ref), tip);
    assert_eq!(
        local.git(&[
            "rev-list",
            "--count",
            &format!("{}..{tip}", prepared.base_oid)
        ]),
        "2"
    );
    local.git(&["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn depth_zero_is_a_usage_error() {
    let local = TestRepo::new();
    let out = local.procoder(&["prepare", "--depth", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn single_branch_with_depth_one_exports_one_commit_of_one_branch() {
    let local = everything_repo();
    let branch = local.git(&["symbolic-ref", "--short", "HEAD"]);
    let shallow = local.prepare_with(&["--depth", "1"]);
    let single = local.prepare_with(&["--depth", "1", "--single-branch"]);
    assert_eq!(single.json["single_branch"], true, "{}", single.json);
    let bytes = |p: &Prepared| p.json["package_bytes"].as_u64().expect("a size");
    let objects = |p: &Prepared| p.json["objects"].as_u64().expect("a count");
    assert!(
        objects(&single) < objects(&shallow) && bytes(&single) < bytes(&shallow),
        "single-branch is smaller: {} objects / {} bytes against {} / {}",
        objects(&single),
        bytes(&single),
        objects(&shallow),
        bytes(&shallow)
    );
    // What a `git clone --depth 1 --single-branch --no-tags` holds, plus the task branch.
    let tree_objects = local
        .git(&["ls-tree", "-r", "-t", "HEAD"])
        .lines()
        .filter(|l| !l.contains(" commit "))
        .map(|l| l.split_whitespace().nth(2).expect("an id").to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    assert_eq!(
        objects(&single),
        tree_objects + 2,
        "the commit, its root tree, every entry"
    );
    let sandbox = single.unzip();
    assert_eq!(
        sandbox.git(&["for-each-ref", "--format=%(refname)"]),
        format!("refs/heads/{branch}\n{}", single.task_ref),
        "no other branch and no tag"
    );
    assert_eq!(sandbox.git(&["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    sandbox.git(&["fsck", "--strict", "--no-dangling"]);
    // The helper does not miss the branches and tags left out; the return applies.
    let tip = sandbox.commit_file("notes/single.txt", "from a one-commit sandbox\n");
    let zip = sandbox.run_return();
    assert_success(
        &local.procoder(&["apply", &zip.display().to_string()]),
        "apply",
    );
    assert_eq!(local.rev(&single.task_ref), tip);
    local.git(&["fsck", "--strict", "--no-dangling"]);
}
