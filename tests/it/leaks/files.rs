//! Files that are not HEAD's: ignored files and folders, work-tree changes git is told not to
//! look at, a submodule's checkout and git dir, and everything else a `.git` may hold besides
//! what procoder writes: `info/*`, `description`, message files, logs, modules, lfs, rr-cache,
//! stray object files, grafts.

use super::*;

/// Files written into `.git`: (path, content, secret name). `{}` in the content stands for the
/// secret's marker.
const GIT_DIR_FILES: &[(&str, &str, &str)] = &[
    ("info/attributes", "*.nothing diff={}\n", "info-attributes"),
    ("info/sparse-checkout", "/*\n/{}/\n", "info-sparse-checkout"),
    ("info/refs", "0000000000000000000000000000000000000000\trefs/heads/{}\n", "info-refs"),
    ("description", "{}\n", "description"),
    ("MERGE_MSG", "Merge {}\n", "merge-msg"),
    ("SQUASH_MSG", "Squash {}\n", "squash-msg"),
    ("COMMIT_EDITMSG", "{}\n", "commit-editmsg"),
    (
        "logs/refs/heads/gone",
        "0000000000000000000000000000000000000000 0000000000000000000000000000000000000000 A <a@b> 1700000000 +0000\t{}\n",
        "logs-gone-branch",
    ),
    (
        "modules/removed/config",
        "[remote \"origin\"]\n\turl = https://{}@example.com/lib.git\n",
        "modules-config",
    ),
    ("modules/removed/HEAD", "ref: refs/heads/{}\n", "modules-head"),
    ("lfs/objects/ab/cd/abcd0000", "{}\n", "lfs-object"),
    ("lfs/tmp/partial", "{}\n", "lfs-tmp"),
    (
        "rr-cache/0123456789abcdef0123456789abcdef01234567/preimage",
        "<<<<<<<\n{}\n=======\nother\n>>>>>>>\n",
        "rr-cache",
    ),
    ("objects/info/http-alternates", "https://{}@example.com/objects\n", "http-alternates"),
    ("objects/info/packs", "P pack-{}.pack\n", "objects-info-packs"),
    ("objects/pack/tmp_pack_Xy12Z", "half a pack: {}\n", "tmp-pack"),
    ("objects/ab/tmp_obj_Q1w2e3", "{}\n", "tmp-object"),
    ("gitk.cache", "{}\n", "gitk-cache"),
];

#[test]
fn issue_6_ignored_files_and_git_dir_extras_do_not_leak() {
    let local = TestRepo::new();
    let canaries = plant_canaries(&local);
    let mut p = Plants::default();
    let d = &local.dir;
    write_file(d, ".gitignore", b".env\n*.log\ncache/\n");
    local.git(&["add", ".gitignore"]);
    local.git(&["commit", "-q", "-m", "Ignore local files"]);

    // A real submodule: its git dir under .git/modules and its checkout hold secrets; the
    // package holds the gitlink and an empty folder.
    let sub = TestRepo::empty();
    let sub_file = p.secret(
        "submodule-content",
        "a file of a submodule (checkout and objects)",
    );
    write_file(&sub.dir, "lib.txt", format!("{sub_file}\n").as_bytes());
    sub.git(&["add", "-A"]);
    let sub_message = p.secret("submodule-message", "a submodule's commit message");
    sub.git(&["commit", "-q", "-m", &sub_message]);
    let sub_url = sub.dir.to_str().expect("utf-8 temp path");
    let allow_file = ["-c", "protocol.file.allow=always"];
    local.git(&[&allow_file[..], &["submodule", "add", "-q", sub_url, "sub"]].concat());
    local.git(&["commit", "-q", "-m", "Add a submodule"]);
    assert!(d.join(".git/modules/sub").is_dir() && d.join("sub/lib.txt").is_file());

    // A tracked symlink to the ignored .env: the package holds the link, never what it names.
    std::os::unix::fs::symlink(".env", d.join("env-link")).expect("symlink");
    local.git(&["add", "env-link"]);
    local.git(&["commit", "-q", "-m", "Link to the local environment"]);

    // Ignored files and folders (a folder's name carries a marker too), and files only the
    // user's own info/exclude ignores.
    let env = p.secret("dotenv", "an ignored .env");
    write_file(d, ".env", format!("API_TOKEN={env}\n").as_bytes());
    let log = p.secret("ignored-log", "an ignored *.log");
    write_file(d, "debug.log", log.as_bytes());
    let dir_name = p.secret("ignored-dir-name", "a folder's name in an ignored folder");
    let in_dir = p.secret("ignored-dir-file", "a file in an ignored folder");
    write_file(d, &format!("cache/{dir_name}/blob"), in_dir.as_bytes());
    let excluded = p.secret(
        "info-exclude-file",
        "a file the user's info/exclude ignores",
    );
    write_file(d, "local-only/notes.md", excluded.as_bytes());
    let exclude_line = p.secret("info-exclude-line", "a line of the user's info/exclude");
    let mut exclude = std::fs::read_to_string(d.join(".git/info/exclude")).unwrap_or_default();
    exclude.push_str(&format!("local-only/\n/{exclude_line}\n"));
    write_file(d, ".git/info/exclude", exclude.as_bytes());

    // Tracked files changed in the work tree that git is told not to look at: status stays
    // clean, and the package must hold HEAD's version, not the work tree's.
    let assumed = p.secret(
        "assume-unchanged",
        "a work-tree change under --assume-unchanged",
    );
    local.git(&["update-index", "--assume-unchanged", "notes.txt"]);
    write_file(d, "notes.txt", format!("{assumed}\n").as_bytes());
    let skipped = p.secret("skip-worktree", "a work-tree change under --skip-worktree");
    local.git(&["update-index", "--skip-worktree", "src/lib/nested/deep.txt"]);
    write_file(
        d,
        "src/lib/nested/deep.txt",
        format!("{skipped}\n").as_bytes(),
    );
    // The untracked cache records untracked and ignored paths in the user's index.
    local.git(&["config", "core.untrackedCache", "true"]);
    assert_eq!(
        local.git(&["status", "--porcelain"]),
        "",
        "only ignored files added"
    );

    for (rel, content, name) in GIT_DIR_FILES {
        let marker = p.secret(name, &format!(".git/{rel}"));
        write_file(
            d,
            &format!(".git/{rel}"),
            content.replace("{}", &marker).as_bytes(),
        );
    }
    let reflog_line = p.secret("logs-head-line", "a line appended to .git/logs/HEAD");
    let mut head_log = std::fs::read_to_string(d.join(".git/logs/HEAD")).expect("a HEAD reflog");
    head_log.push_str(&format!(
        "{} {} A <a@b> 1700000000 +0000\t{reflog_line}\n",
        local.rev("HEAD~1"),
        local.rev("HEAD")
    ));
    write_file(d, ".git/logs/HEAD", head_log.as_bytes());

    // Grafts: git (and libgit2) would show a secret commit as a parent of HEAD~1. No comment
    // line: git skips `#` lines, but libgit2 refuses the whole repository over one.
    let grafted = p.side_commit(d, "graft-parent", "a commit only info/grafts reaches");
    let grafts = format!("{} {grafted}\n", local.rev("HEAD~1"));
    write_file(d, ".git/info/grafts", grafts.as_bytes());

    assert_eq!(local.git(&["status", "--porcelain"]), "");
    audit(&local, &p, &canaries, &[]);
}
