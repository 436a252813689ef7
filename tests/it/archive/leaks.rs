//! Nothing prepare never exports travels in an archive either: secrets planted in remotes,
//! credentials and other config, hooks, reflogs, the stash, notes, remote-tracking refs,
//! unreachable objects and ignored files are searched for in every byte, member, extracted
//! file and object of the archive (the scanner of `tests/it/leaks/`). Canaries in a committed
//! and in an untracked file prove the scan sees what the archive must carry.

use crate::common::*;
use crate::leaks::plant::Plants;
use crate::leaks::scan::{Scan, Surface, TAG};
use crate::leaks::{assert_planted, list_tree, scan_tree};
use tempfile::TempDir;

#[test]
fn archive_leaks_no_remote_credential_hook_reflog_stash_or_unreachable_object() {
    let local = TestRepo::new();
    let d = &local.dir;
    let mut p = Plants::default();
    for (key, value, name) in [
        (
            "remote.origin.url",
            "https://user:{}@example.com/r.git",
            "remote-url",
        ),
        (
            "credential.helper",
            "store --file=/tmp/{}",
            "credential-helper",
        ),
        (
            "http.extraHeader",
            "Authorization: Bearer {}",
            "extraheader",
        ),
        ("alias.x", "!echo {}", "alias"),
    ] {
        let marker = p.secret(name, &format!("config {key}"));
        local.git(&["config", key, &value.replace("{}", &marker)]);
    }
    let hook = p.secret("hook", ".git/hooks/pre-commit");
    write_file(
        d,
        ".git/hooks/pre-commit",
        format!("#!/bin/sh\necho {hook}\n").as_bytes(),
    );
    set_mode(&d.join(".git/hooks/pre-commit"), 0o755);

    // A commit only the reflogs reach, one only a remote-tracking ref reaches, a dangling blob.
    let reflog_only = p.side_commit(d, "reflog", "a commit only the reflog reaches");
    local.git(&["reset", "-q", "--soft", &reflog_only]);
    local.git(&["reset", "-q", "--soft", "HEAD@{1}"]);
    let remote_only = p.side_commit(d, "remote", "a commit only refs/remotes reaches");
    local.git(&["update-ref", "refs/remotes/origin/feature", &remote_only]);
    p.dangling_blob(d, "dangling", "an unreachable blob");
    let note = p.secret("note", "a git note");
    local.git(&["notes", "add", "-m", &note]);

    // The stash: a change stashed away, so the work tree no longer holds it.
    let stashed = p.secret("stash", "a stashed change");
    write_file(d, "notes.txt", format!("{stashed}\n").as_bytes());
    local.git(&["stash", "-q"]);

    // Ignored files, and canaries the archive must carry: committed, and untracked.
    write_file(d, ".gitignore", b"*.env\n");
    let ignored = p.secret("ignored", "an ignored file");
    write_file(d, "secret.env", format!("{ignored}\n").as_bytes());
    let committed = format!("CANARY-committed{TAG}");
    write_file(d, "canary.txt", format!("{committed}\n").as_bytes());
    local.git(&["add", "canary.txt", ".gitignore"]);
    local.git(&["commit", "-q", "-m", "Canary"]);
    let untracked = format!("CANARY-untracked{TAG}");
    write_file(d, "draft.txt", format!("{untracked}\n").as_bytes());
    assert_planted(&local, &p, &[]);
    let out = TempDir::new().expect("tmp");
    let zip = out.path().join("archive.zip");
    assert_success(
        &local.procoder(&["archive", "--output", zip.to_str().expect("utf-8")]),
        "archive",
    );

    let markers = p
        .markers()
        .map(str::to_owned)
        .chain([committed.clone(), untracked.clone()]);
    let mut scan = Scan::new(markers);
    let raw = std::fs::read(&zip).expect("read the archive");
    scan.plain(Surface::ZipBytes, "archive", &raw);
    scan.zlib(Surface::ZipZlib, "archive", &raw);
    scan.zip_local_members("archive", &raw);
    for m in zip_members(&zip) {
        scan.plain(Surface::MemberName, &m.name, m.name.as_bytes());
        scan.deep(Surface::Member, Surface::MemberZlib, &m.name, &m.data);
    }
    let x = TempDir::new().expect("tmp");
    let root = unzip_to(&zip, x.path());

    // The .git holds the package's files only, checked before git runs in it.
    let mut paths = Vec::new();
    list_tree(&root.join(".git"), &root.join(".git"), &mut paths);
    for (rel, is_dir) in &paths {
        let allowed = if *is_dir {
            [
                "info",
                "objects",
                "objects/info",
                "objects/pack",
                "refs",
                "refs/heads",
                "refs/tags",
            ]
            .contains(&rel.as_str())
        } else {
            ["HEAD", "config", "description", "index", "packed-refs"].contains(&rel.as_str())
                || (rel.starts_with("objects/pack/pack-")
                    && (rel.ends_with(".pack") || rel.ends_with(".idx")))
        };
        assert!(allowed, ".git/{rel} is in the archive");
    }
    scan_tree(&mut scan, x.path(), x.path());
    let objects = git_output(&root, &["cat-file", "--batch-all-objects", "--batch"]);
    assert_success(&objects, "cat-file");
    scan.plain(Surface::GitObjects, "cat-file", &objects.stdout);
    for args in [
        &["config", "--list", "--show-origin"][..],
        &["for-each-ref"],
        &["log", "--all", "--format=%H %s%n%b%n%N"],
        &["reflog", "show", "--all"],
        &["stash", "list"],
        &["notes", "list"],
        &["rev-list", "--all", "--objects", "--reflog"],
    ] {
        let out = git_output(&root, args);
        scan.plain(Surface::Git, &args.join(" "), &out.stdout);
    }
    for (canary, surface) in [
        (&committed, Surface::GitObjects),
        (&untracked, Surface::ExtractedFile),
    ] {
        assert!(
            scan.surfaces(canary).contains(&surface),
            "{canary} not seen on {surface:?}: the scan is blind"
        );
    }
    let leaks = scan.leaked(&p.secrets);
    assert!(
        leaks.is_empty(),
        "secrets leak into the archive:\n{}",
        leaks.join("\n")
    );
    git(&root, &["fsck", "--strict", "--no-dangling"]);
}
