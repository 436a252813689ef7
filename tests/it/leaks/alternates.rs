//! Alternates: the source repository borrows objects from another (absolute path), which
//! borrows from a third (relative path); both hold secrets no exported ref reaches, one of
//! them the delta base of a reachable blob. The export must hold every object the heads and
//! tags need, wherever it lives, and be self-contained: no alternates file, fsck clean alone.

use super::*;

/// Whether `id` is a loose object of the object folder `objects`.
fn is_loose(objects: &Path, id: &str) -> bool {
    objects.join(&id[..2]).join(&id[2..]).is_file()
}

#[test]
fn issue_6_alternates_export_is_self_contained_and_leaks_nothing() {
    let mut p = Plants::default();
    // C: history packed, a reachable blob packed as a delta against a secret blob, a secret
    // branch (its commit packed), a loose secret blob, a loose reachable commit.
    let c = TestRepo::new();
    let cd = &c.dir;
    c.git(&["repack", "-adq"]);
    write_file(cd, "big-alt.txt", big_text("alternate", 300).as_bytes());
    c.git(&["add", "-A"]);
    c.git(&["commit", "-q", "-m", "Big file in C"]);
    let big = c.rev("HEAD:big-alt.txt");
    let base_marker = p.secret(
        "alt-c-delta-base",
        "a blob of an alternate, the delta base of a reachable one",
    );
    let mut base_text = big_text("alternate", 300);
    base_text.insert_str(base_text.len() / 2, &format!("{base_marker}\n"));
    base_text.push_str("one more line to be the bigger one\n");
    let base = git_stdin(cd, &["hash-object", "-w", "--stdin"], base_text.as_bytes());
    let c_secret = p.side_commit(
        cd,
        "alt-c-branch",
        "a branch of an alternate that the exported refs do not reach",
    );
    c.git(&["branch", "c-secret", &c_secret]);
    pack_objects(
        cd,
        &[
            &big,
            &base,
            &c_secret,
            &c.rev("HEAD"),
            &c.rev("HEAD^{tree}"),
        ],
        true,
    );
    assert_eq!(
        stored_in_packs(&cd.join(".git/objects"), &big),
        [Some(base.clone())],
        "big-alt.txt is in one pack of C, as a delta against the secret blob"
    );
    p.dangling_blob(
        cd,
        "alt-c-dangling-blob",
        "a loose blob of an alternate that nothing reaches",
    );
    write_file(cd, "c-loose.txt", b"a loose commit of C\n");
    c.git(&["add", "-A"]);
    c.git(&["commit", "-q", "-m", "Loose in C"]);
    let c_loose = c.rev("HEAD");
    assert!(is_loose(&cd.join(".git/objects"), &c_loose));

    // B borrows C's objects (a relative alternate) and adds its own: a packed commit and a
    // packed secret, a loose commit and a loose secret branch.
    let bd = cd.parent().expect("a parent").join("b");
    git(
        cd.parent().expect("a parent"),
        &["clone", "-q", "--shared", "repo", "b"],
    );
    write_file(
        &bd,
        ".git/objects/info/alternates",
        b"../../../repo/.git/objects\n",
    );
    git(&bd, &["config", "user.name", "Test Author"]);
    git(&bd, &["config", "user.email", "author@example.com"]);
    write_file(&bd, "b-packed.txt", b"a packed commit of B\n");
    git(&bd, &["add", "-A"]);
    git(&bd, &["commit", "-q", "-m", "Packed in B"]);
    let b_packed = git(&bd, &["rev-parse", "HEAD"]);
    let b_dangling = p.dangling_commit(
        &bd,
        "alt-b-dangling-commit",
        "a packed commit of an alternate that nothing reaches",
    );
    let b_tree = git(&bd, &["rev-parse", "HEAD^{tree}"]);
    let b_blob = git(&bd, &["rev-parse", "HEAD:b-packed.txt"]);
    pack_objects(&bd, &[&b_packed, &b_tree, &b_blob, &b_dangling], true);
    let b_secret = p.side_commit(
        &bd,
        "alt-b-branch",
        "a loose branch of an alternate that the exported refs do not reach",
    );
    git(&bd, &["branch", "b-secret", &b_secret]);
    write_file(&bd, "b-loose.txt", b"a loose commit of B\n");
    git(&bd, &["add", "-A"]);
    git(&bd, &["commit", "-q", "-m", "Loose in B"]);
    let b_loose = git(&bd, &["rev-parse", "HEAD"]);
    assert!(is_loose(&bd.join(".git/objects"), &b_loose));
    assert!(!is_loose(&bd.join(".git/objects"), &b_packed));

    // A: no objects of its own until its last commit; its heads and tags are B's and C's.
    let a = TestRepo::empty();
    let ad = &a.dir;
    let alternates = format!("{}\n", bd.join(".git/objects").display());
    write_file(ad, ".git/objects/info/alternates", alternates.as_bytes());
    a.git(&["update-ref", "refs/heads/main", &b_loose]);
    a.git(&["update-ref", "refs/heads/dev", &c.rev("dev")]);
    a.git(&["update-ref", "refs/tags/v1", &c.rev("v1")]);
    a.git(&["update-ref", "refs/tags/light", &c.rev("light")]);
    a.git(&["reset", "-q", "--hard"]);
    let canaries = plant_canaries(&a);
    let a_objects = ad.join(".git/objects");
    let borrowed = [&big, &c_loose, &b_packed, &b_loose, &c.rev("v1")];
    for id in borrowed {
        assert!(!is_loose(&a_objects, id), "{id} is not A's own");
    }
    assert!(
        std::fs::read_dir(a_objects.join("pack")).map_or(true, |mut d| d.next().is_none()),
        "A has no pack of its own"
    );
    assert_eq!(a.git(&["status", "--porcelain"]), "");
    a.git(&["fsck", "--strict", "--no-dangling"]);

    let c_folder = cd.parent().expect("a parent");
    let sandbox = audit(&a, &p, &canaries, &[c_folder]);
    // Self-contained (`audit` checked that no objects/info/alternates was exported): with B and
    // C moved away, the borrowed objects are still there and fsck is still clean.
    let moved = c_folder.with_extension("moved");
    std::fs::rename(c_folder, &moved).expect("move B and C away");
    for id in borrowed {
        let out = git_output(&sandbox.root, &["cat-file", "-e", id]);
        assert!(out.status.success(), "{id} is not in the package");
    }
    let fsck = git_output(&sandbox.root, &["fsck", "--strict", "--no-dangling"]);
    std::fs::rename(&moved, c_folder).expect("move B and C back");
    assert_success(&fsck, "git fsck --strict without B and C");
    assert_eq!(sandbox.git(&["status", "--porcelain"]), "");
}
