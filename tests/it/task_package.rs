//! The task package `procoder prepare` writes: only the allowed members, and nothing that
//! must never leak (credentials, hooks, reflogs, stash, notes, unreachable objects).

use crate::common::*;
use std::collections::BTreeSet;

const TOKEN: &str = "SECRET_TOKEN_123";
const HOOK_MARKER: &str = "HOOK_MARKER_7f3a";
const STASH_MARKER: &str = "STASH_MARKER_91c2";
const UNREACHABLE_MARKER: &str = "UNREACHABLE_MARKER_5d1e";
const UNREACHABLE_BLOB_MARKER: &str = "UNREACHABLE_BLOB_MARKER_0a9b";
const NOTES_MARKER: &str = "NOTES_MARKER_2b44";
const ALIAS_MARKER: &str = "ALIAS_MARKER_6c01";
const MARKERS: &[&str] = &[
    TOKEN,
    HOOK_MARKER,
    STASH_MARKER,
    UNREACHABLE_MARKER,
    UNREACHABLE_BLOB_MARKER,
    NOTES_MARKER,
    ALIAS_MARKER,
];

/// Plants everything prepare must leave out: a remote with a credential, a hook, reflogs,
/// a stash, notes, unreachable objects, remote-tracking refs, FETCH_HEAD and ORIG_HEAD.
fn plant_secrets(local: &TestRepo) {
    local.git(&[
        "remote",
        "add",
        "origin",
        &format!("https://user:{TOKEN}@example.com/r.git"),
    ]);
    local.git(&["config", "alias.secret", &format!("!echo {ALIAS_MARKER}")]);
    local.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    write_file(
        &local.dir,
        ".git/hooks/pre-commit",
        format!("#!/bin/sh\necho {HOOK_MARKER}\n").as_bytes(),
    );
    set_mode(&local.dir.join(".git/hooks/pre-commit"), 0o755);
    let head = local.rev("HEAD");
    write_file(
        &local.dir,
        ".git/FETCH_HEAD",
        format!("{head}\t\tbranch 'main' of https://user:{TOKEN}@example.com/r.git\n").as_bytes(),
    );
    write_file(&local.dir, ".git/ORIG_HEAD", format!("{head}\n").as_bytes());
    local.git(&["notes", "add", "-m", NOTES_MARKER, "HEAD"]);

    write_file(
        &local.dir,
        "notes.txt",
        format!("{STASH_MARKER}\n").as_bytes(),
    );
    local.git(&["stash", "-q"]);
    assert_eq!(
        local.git(&["status", "--porcelain"]),
        "",
        "stash left a clean tree"
    );

    let tree = local.rev("HEAD^{tree}");
    let unreachable = local.git(&["commit-tree", &tree, "-p", "HEAD", "-m", UNREACHABLE_MARKER]);
    assert_eq!(unreachable.len(), 40);
    let blob_file = local.dir.join(".git/unreachable-blob.txt");
    std::fs::write(&blob_file, UNREACHABLE_BLOB_MARKER).expect("write blob source");
    local.git(&["hash-object", "-w", blob_file.to_str().expect("utf-8")]);
    std::fs::remove_file(&blob_file).expect("remove blob source");
    assert!(
        local.dir.join(".git/logs/HEAD").is_file(),
        "commits made a reflog"
    );
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn task_package_holds_only_allowed_members_and_leaks_nothing() {
    let local = TestRepo::new();
    plant_secrets(&local);
    let prepared = local.prepare();

    let raw = std::fs::read(&prepared.zip).expect("read the task zip");
    for marker in MARKERS {
        assert!(
            !contains(&raw, marker),
            "{marker} appears in the raw task zip"
        );
    }

    let tracked: BTreeSet<String> = local
        .git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(str::to_owned)
        .collect();
    let members = zip_members(&prepared.zip);
    let mut seen = BTreeSet::new();
    for m in &members {
        for marker in MARKERS {
            assert!(
                !contains(&m.data, marker),
                "{marker} appears in member {}",
                m.name
            );
        }
        let rel = m
            .name
            .strip_prefix("repo/")
            .unwrap_or_else(|| panic!("member {} is outside the top folder `repo/`", m.name));
        assert!(
            allowed(rel, &tracked),
            "member {} is not allowed in a task package",
            m.name
        );
        for banned in [
            "hooks/",
            "logs/",
            "refs/remotes",
            "refs/stash",
            "refs/notes",
            "FETCH_HEAD",
            "ORIG_HEAD",
        ] {
            assert!(
                !m.name.contains(banned),
                "member {} must not be exported",
                m.name
            );
        }
        seen.insert(rel.trim_end_matches('/').to_owned());
    }
    for required in [
        ".git/HEAD",
        ".git/index",
        ".git/config",
        ".git/info/exclude",
        ".git/procoder/exchange.json",
        "procoder-return",
    ] {
        assert!(seen.contains(required), "member repo/{required} is missing");
    }
    for file in &tracked {
        assert!(
            seen.contains(file),
            "tracked file {file} is missing from the package"
        );
    }
    assert!(
        seen.iter()
            .any(|s| s.starts_with(".git/objects/pack/") && s.ends_with(".pack")),
        "no pack in the package"
    );
    let mode = |name: &str| {
        members
            .iter()
            .find(|m| m.name == format!("repo/{name}"))
            .and_then(|m| m.mode)
            .unwrap_or_else(|| panic!("repo/{name} has no unix mode"))
    };
    assert_eq!(mode("procoder-return") & 0o777, 0o755);
    assert_eq!(mode("scripts/run.sh") & 0o777, 0o755);
    assert_eq!(mode("link-to-readme") & 0o170000, 0o120000, "symlink kept");

    // Unzip and ask git: only core/user/commit.gpgsign config, only reachable objects.
    let sandbox = prepared.unzip();
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
    sandbox.git(&["fsck", "--strict"]);
    let config = sandbox.git(&["config", "--file", ".git/config", "--list"]);
    for line in config.lines() {
        let key = line.split('=').next().expect("key");
        assert!(
            key.starts_with("core.") || key.starts_with("user.") || key == "commit.gpgsign",
            "config key {key} must not be exported:\n{config}"
        );
        assert!(!line.contains("remote") && !line.contains("url"), "{line}");
    }
    assert!(
        config.lines().any(|l| l == "commit.gpgsign=false"),
        "{config}"
    );
    let exclude = std::fs::read_to_string(sandbox.root.join(".git/info/exclude")).expect("exclude");
    assert!(
        exclude.lines().any(|l| l.trim() == "procoder-return"),
        "{exclude}"
    );
    assert!(
        exclude.lines().any(|l| l.trim() == "procoder-return-*.zip"),
        "{exclude}"
    );

    let refs = sandbox.git(&["for-each-ref", "--format=%(refname)"]);
    for r in refs.lines() {
        assert!(
            r.starts_with("refs/heads/") || r.starts_with("refs/tags/"),
            "ref {r} exported"
        );
    }
    let local_refs = local.git(&[
        "for-each-ref",
        "--format=%(refname) %(objectname)",
        "refs/heads",
        "refs/tags",
    ]);
    assert_eq!(
        sandbox.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        local_refs,
        "every local head and tag is exported, at the same object"
    );
    let reachable = reachable_ids(&local.dir);
    let exported = object_ids(&sandbox.root);
    assert_eq!(
        exported, reachable,
        "exactly the objects reachable from heads and tags"
    );
    let dump = git_output(
        &sandbox.root,
        &["cat-file", "--batch-all-objects", "--batch"],
    );
    assert!(dump.status.success());
    for marker in MARKERS {
        assert!(
            !contains(&dump.stdout, marker),
            "{marker} is in an exported object"
        );
    }
}

/// The package paths a task zip may hold, relative to its top folder.
fn allowed(rel: &str, tracked: &BTreeSet<String>) -> bool {
    if let Some(dir) = rel.strip_suffix('/') {
        let prefix = format!("{dir}/");
        return tracked.iter().any(|t| t.starts_with(&prefix))
            || matches!(
                dir,
                ".git"
                    | ".git/info"
                    | ".git/objects"
                    | ".git/objects/pack"
                    | ".git/objects/info"
                    | ".git/refs"
                    | ".git/procoder"
            )
            || dir.starts_with(".git/refs/heads")
            || dir.starts_with(".git/refs/tags");
    }
    if tracked.contains(rel) || rel == "procoder-return" {
        return true;
    }
    let Some(git) = rel.strip_prefix(".git/") else {
        return false;
    };
    matches!(
        git,
        "HEAD"
            | "index"
            | "config"
            | "description"
            | "info/exclude"
            | "packed-refs"
            | "procoder/exchange.json"
            | "procoder/symlink-probe"
            | "procoder/procoder-return"
    ) || git.starts_with("refs/heads/")
        || git.starts_with("refs/tags/")
        || (git.starts_with("objects/pack/pack-")
            && (git.ends_with(".pack") || git.ends_with(".idx")))
}
