//! Refs and objects: reflogs (messages, and a commit only a reflog reaches), stash, notes,
//! refs outside heads and tags (loose, packed by hand, and stale packed entries shadowed by
//! loose heads), pseudo-refs, a linked worktree's HEAD, replace refs, and unreachable objects:
//! loose, in a cruft pack, and in packs where a reachable blob is a delta against a secret.

use super::*;

#[test]
fn issue_6_refs_reflogs_stash_notes_and_unreachable_objects_do_not_leak() {
    let local = TestRepo::new();
    let canaries = plant_canaries(&local);
    let mut p = Plants::default();
    let d = &local.dir;
    let head = local.rev("HEAD");

    // Reflogs: entry messages, and a commit only a reflog entry reaches.
    let reflog_only = p.side_commit(d, "reflog-only", "a commit only a reflog entry reaches");
    let away = p.secret("reflog-message-away", "a reflog entry's message");
    local.git(&["update-ref", "-m", &away, "refs/heads/main", &reflog_only]);
    let back = p.secret("reflog-message-back", "a reflog entry's message");
    local.git(&["update-ref", "-m", &back, "refs/heads/main", &head]);
    let created = p.secret("reflog-create", "the reflog of a branch created with -m");
    local.git(&[
        "update-ref",
        "--create-reflog",
        "-m",
        &created,
        "refs/heads/side",
        &head,
    ]);

    // A stash: a tracked change, an untracked file, a message.
    let changed = p.secret("stash-change", "a change in a stash");
    write_file(d, "notes.txt", format!("{changed}\n").as_bytes());
    let untracked = p.secret("stash-untracked", "an untracked file in a stash");
    write_file(
        d,
        "stash-untracked.txt",
        format!("{untracked}\n").as_bytes(),
    );
    let stash_msg = p.secret("stash-message", "a stash's message");
    local.git(&["stash", "push", "-q", "-u", "-m", &stash_msg]);
    assert_eq!(
        local.git(&["status", "--porcelain"]),
        "",
        "stash left a clean tree"
    );

    // Notes, in the default notes ref and another one.
    local.git(&[
        "notes",
        "add",
        "-m",
        &p.secret("notes", "a note on HEAD"),
        "HEAD",
    ]);
    let review = p.secret("notes-review", "a note in refs/notes/review");
    local.git(&["notes", "--ref=review", "add", "-m", &review, "HEAD~1"]);

    // Refs outside heads and tags, loose, each at a commit nothing else reaches.
    for (name, refname) in [
        ("remote-feature", "refs/remotes/origin/feature"),
        ("remote-main", "refs/remotes/origin/main"),
        ("pull-head", "refs/pull/1/head"),
        ("keep-loose", "refs/keep/loose"),
        ("original-loose", "refs/original/refs/heads/dev"),
        ("prefetch-loose", "refs/prefetch/remotes/origin/dev"),
        ("bisect-bad", "refs/bisect/bad"),
        ("worktree-ref", "refs/worktree/scratch"),
        ("rewritten", "refs/rewritten/onto"),
    ] {
        let commit = p.side_commit(d, name, &format!("a commit only {refname} reaches"));
        local.git(&["update-ref", refname, &commit]);
    }
    local.git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);
    let bisect = p.secret("bisect-log", ".git/BISECT_LOG");
    write_file(
        d,
        ".git/BISECT_LOG",
        format!("# bad: {bisect}\n").as_bytes(),
    );
    // A cruft pack (git gc's home for unreachable objects); everything else planted so far
    // goes into one pack beside it, the reflogs' and stash's and notes' objects included.
    p.dangling_blob(
        d,
        "dangling-cruft-blob",
        "a blob nothing reaches, in a cruft pack",
    );
    local.git(&["repack", "-q", "-d", "--cruft"]);
    assert!(
        std::fs::read_dir(d.join(".git/objects/pack"))
            .expect("objects/pack")
            .any(|e| e
                .expect("an entry")
                .path()
                .extension()
                .is_some_and(|x| x == "mtimes")),
        "repack --cruft wrote a cruft pack"
    );
    // The same kinds written straight into packed-refs.
    let mut packed = Vec::new();
    for (name, refname) in [
        ("keep-packed", "refs/keep/x"),
        ("original-packed", "refs/original/refs/heads/main"),
        ("prefetch-packed", "refs/prefetch/remotes/origin/main"),
        ("pull-merge-packed", "refs/pull/2/merge"),
        ("remote-packed", "refs/remotes/upstream/main"),
        ("custom-packed", "refs/custom/deep/name"),
    ] {
        let commit = p.side_commit(
            d,
            name,
            &format!("a commit only {refname} (packed) reaches"),
        );
        packed.push((refname, commit));
    }
    // Stale packed entries of heads and a tag that exist loose: git reads the loose ones.
    for (name, refname) in [
        ("shadowed-main", "refs/heads/main"),
        ("shadowed-dev", "refs/heads/dev"),
        ("shadowed-tag", "refs/tags/light"),
    ] {
        let commit = p.side_commit(
            d,
            name,
            &format!("a commit only a stale packed entry of {refname} (shadowed by the loose ref) reaches"),
        );
        packed.push((refname, commit));
    }
    let packed: Vec<(&str, &str)> = packed.iter().map(|(r, c)| (*r, c.as_str())).collect();
    add_packed_refs(d, &packed);

    // Pseudo-refs and a linked worktree's HEAD, each at a commit nothing else reaches.
    let orig = p.side_commit(d, "orig-head", "a commit only ORIG_HEAD reaches");
    write_file(d, ".git/ORIG_HEAD", format!("{orig}\n").as_bytes());
    let fetched = p.side_commit(d, "fetch-head", "a commit only FETCH_HEAD reaches");
    let fetch_line = p.secret("fetch-head-line", "FETCH_HEAD's description of a fetch");
    write_file(
        d,
        ".git/FETCH_HEAD",
        format!("{fetched}\t\tbranch '{fetch_line}' of https://example.com/r.git\n").as_bytes(),
    );
    let detached = p.side_commit(
        d,
        "worktree-head",
        "a commit only a linked worktree's HEAD reaches",
    );
    let worktree = d.parent().expect("a parent").join("linked");
    local.git(&[
        "worktree",
        "add",
        "-q",
        "--detach",
        worktree.to_str().expect("utf-8"),
        &detached,
    ]);

    // Unreachable objects, loose.
    p.dangling_blob(d, "dangling-loose-blob", "a loose blob nothing reaches");
    p.dangling_commit(d, "dangling-loose-commit", "a loose commit nothing reaches");
    // Two big reachable files (committed after the cruft repack, so that only the packs made
    // next hold them) ...
    write_file(d, "big-ofs.txt", big_text("ofs", 300).as_bytes());
    write_file(d, "big-ref.txt", big_text("ref", 300).as_bytes());
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Big files"]);
    // ... packed: in a pack with offset deltas and in one with ref deltas, each holding a
    // reachable blob stored as a delta against a secret (bigger, so git picks it as the base).
    for (kind, ofs) in [("ofs", true), ("ref", false)] {
        let file = format!("big-{kind}.txt");
        let reachable = local.rev(&format!("HEAD:{file}"));
        let base_marker = p.secret(
            &format!("delta-base-{kind}"),
            &format!("a packed blob nothing reaches, the {kind}-delta base of a reachable one"),
        );
        let mut base_text = big_text(kind, 300);
        base_text.insert_str(base_text.len() / 2, &format!("{base_marker}\n"));
        base_text.push_str("one more line to be the bigger one\n");
        let base = git_stdin(d, &["hash-object", "-w", "--stdin"], base_text.as_bytes());
        let commit = p.dangling_commit(
            d,
            &format!("dangling-packed-commit-{kind}"),
            "a packed commit nothing reaches",
        );
        pack_objects(d, &[&reachable, &base, &commit], ofs);
        assert_eq!(
            stored_in_packs(&d.join(".git/objects"), &reachable),
            [Some(base.clone())],
            "{file} is in one pack, as a delta against the secret blob"
        );
    }

    // Replace refs: git would show the replacement in place of the original commit.
    let replacement = p.side_commit(d, "replace", "a commit only refs/replace reaches");
    let replaced = local.rev("HEAD~1");
    local.git(&[
        "update-ref",
        &format!("refs/replace/{replaced}"),
        &replacement,
    ]);

    assert_eq!(local.git(&["status", "--porcelain"]), "");
    audit(&local, &p, &canaries, &[]);
}
