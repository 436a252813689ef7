//! Planting: unique markers for secrets, commits that nothing reaches until a ref (or a file)
//! is pointed at them, `packed-refs` written by hand, hand-made packs, and the canaries every
//! package must carry (so that a scan that sees nothing cannot pass).

use super::scan::{Surface, TAG};
use crate::common::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The secrets planted in one repository: each a marker that must appear nowhere in the package.
#[derive(Default)]
pub struct Plants {
    /// (marker, what was planted)
    pub secrets: Vec<(String, String)>,
}

impl Plants {
    /// Registers a secret and returns its marker, `LEAK-<name>-7f3a`.
    pub fn secret(&mut self, name: &str, what: &str) -> String {
        let marker = format!("LEAK-{name}{TAG}");
        assert!(
            self.secrets.iter().all(|(m, _)| *m != marker),
            "two secrets named {name}"
        );
        self.secrets.push((marker.clone(), what.to_owned()));
        marker
    }

    /// A commit on top of HEAD that adds `<name>.txt` holding a marker, with a marker in its
    /// message (two secrets: `<name>-content`, `<name>-message`). Nothing reaches it yet.
    pub fn side_commit(&mut self, dir: &Path, name: &str, what: &str) -> String {
        let content = self.secret(
            &format!("{name}-content"),
            &format!("{what} (a file of it)"),
        );
        let message = self.secret(&format!("{name}-message"), &format!("{what} (its message)"));
        let blob = git_stdin(
            dir,
            &["hash-object", "-w", "--stdin"],
            format!("{content}\n").as_bytes(),
        );
        let mut listing = git(dir, &["ls-tree", "HEAD"]);
        listing.push_str(&format!("\n100644 blob {blob}\t{name}.txt\n"));
        let tree = git_stdin(dir, &["mktree"], listing.as_bytes());
        git(
            dir,
            &[
                "commit-tree",
                &tree,
                "-p",
                "HEAD",
                "-m",
                &format!("{message}\n"),
            ],
        )
    }

    /// A blob that nothing reaches, holding a marker; returns its id.
    pub fn dangling_blob(&mut self, dir: &Path, name: &str, what: &str) -> String {
        let marker = self.secret(name, what);
        git_stdin(
            dir,
            &["hash-object", "-w", "--stdin"],
            format!("{marker}\n").as_bytes(),
        )
    }

    /// A commit (HEAD's tree, HEAD as parent) that nothing reaches, a marker as its message.
    pub fn dangling_commit(&mut self, dir: &Path, name: &str, what: &str) -> String {
        let marker = self.secret(name, what);
        git(
            dir,
            &["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", &marker],
        )
    }

    /// Every marker.
    pub fn markers(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|(m, _)| m.as_str())
    }
}

/// Runs `git` in `dir` with `input` on stdin, asserts success, returns trimmed stdout.
pub fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = hermetic(Command::new("git").args(args).current_dir(dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git is on PATH for every test run");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("git reads its stdin");
    let out = child.wait_with_output().expect("git runs to its end");
    assert_success(&out, &format!("git {args:?} in {}", dir.display()));
    String::from_utf8(out.stdout)
        .expect("these git commands print utf-8")
        .trim_end()
        .to_owned()
}

/// Adds `refs` (name, object id) to `.git/packed-refs` by hand, keeping it sorted as its
/// header promises (git looks refs up by binary search in a sorted file). A ref that also
/// exists loose gets a stale packed entry, shadowed by the loose one (as after `pack-refs`
/// and a later commit).
pub fn add_packed_refs(dir: &Path, refs: &[(&str, &str)]) {
    let path = dir.join(".git/packed-refs");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    // Each record: its `<oid> <name>` line and any `^<peeled>` line after it.
    let mut records: Vec<(String, String)> = Vec::new();
    for line in old.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with('^') {
            let last = records.last_mut().expect("a peeled line follows a ref");
            last.1.push_str(line);
            last.1.push('\n');
        } else {
            let name = line.split(' ').nth(1).expect("`<oid> <name>`").to_owned();
            records.push((name, format!("{line}\n")));
        }
    }
    for (name, oid) in refs {
        records.push(((*name).to_owned(), format!("{oid} {name}\n")));
    }
    records.sort();
    let mut text = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    for (_, lines) in records {
        text.push_str(&lines);
    }
    std::fs::write(&path, text).expect("write packed-refs");
    for (name, oid) in refs {
        let seen = git(dir, &["rev-parse", name]);
        if dir.join(".git").join(name).is_file() {
            assert_ne!(&seen, oid, "the loose {name} shadows its packed entry");
        } else {
            assert_eq!(&seen, oid, "git reads {name}");
        }
    }
}

/// Packs exactly `ids` into one new pack of `dir` (offset deltas when `ofs`, else ref
/// deltas), then drops their loose copies.
pub fn pack_objects(dir: &Path, ids: &[&str], ofs: bool) {
    let mut args = vec!["pack-objects", "-q", "--window=250", "--depth=50"];
    if ofs {
        args.push("--delta-base-offset");
    }
    args.push(".git/objects/pack/pack");
    let mut list = ids.join("\n");
    list.push('\n');
    git_stdin(dir, &args, list.as_bytes());
    git(dir, &["prune-packed"]);
}

/// How each pack of the object folder `objects` that holds `id` stores it, as `verify-pack -v`
/// says: `Some(base)` for a delta, `None` for a whole object; one item per pack.
pub fn stored_in_packs(objects: &Path, id: &str) -> Vec<Option<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(objects.join("pack")).expect("objects/pack") {
        let path = entry.expect("a pack folder entry").path();
        if path.extension().is_none_or(|x| x != "idx") {
            continue;
        }
        let listing = git(
            objects,
            &["verify-pack", "-v", path.to_str().expect("utf-8 path")],
        );
        for line in listing.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.first() == Some(&id) && f.len() >= 5 {
                found.push(f.get(6).map(|b| (*b).to_owned()));
            }
        }
    }
    found
}

/// A text of `lines` lines, big enough for git to store a near copy as a delta against it.
pub fn big_text(seed: &str, lines: usize) -> String {
    (0..lines)
        .map(|i| format!("line {i} of {seed}, a long file that compresses and deltifies well\n"))
        .collect()
}

/// The objects an export must hold: those reachable from the heads and tags, as git sees them
/// with replace refs and grafts ignored (the export holds the objects as they are).
pub fn expected_objects(dir: &Path) -> BTreeSet<String> {
    let out = hermetic(
        Command::new("git")
            .args(["rev-list", "--objects", "--branches", "--tags"])
            .current_dir(dir),
    )
    .env("GIT_NO_REPLACE_OBJECTS", "1")
    .env("GIT_GRAFT_FILE", dir.join(".git/no-such-graft-file"))
    .output()
    .expect("git is on PATH for every test run");
    assert_success(&out, "git rev-list --objects --branches --tags");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A marker the package must carry, and the surfaces the scan must see it on.
pub struct Canary {
    pub marker: String,
    pub surfaces: &'static [Surface],
}

/// Commits a canary file (marker in its name and in its content), a symlink (marker in its
/// target) and a message with a marker, creates a branch with a marker in its name, and puts a
/// marker in `user.name` (the identity the package's config carries).
pub fn plant_canaries(local: &TestRepo) -> Vec<Canary> {
    use Surface::*;
    let content = format!("CANARY-content{TAG}");
    let name = format!("CANARY-name{TAG}");
    let message = format!("CANARY-message{TAG}");
    let branch = format!("CANARY-branch{TAG}");
    let identity = format!("CANARY-identity{TAG}");
    let target = format!("CANARY-symlink{TAG}");
    write_file(
        &local.dir,
        &format!("canary/{name}.txt"),
        format!("{content}\n").as_bytes(),
    );
    std::os::unix::fs::symlink(
        format!("../{target}/elsewhere"),
        local.dir.join("canary/link"),
    )
    .expect("symlink");
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", &format!("Canaries\n\n{message}\n")]);
    local.git(&["branch", &format!("canary/{branch}")]);
    local.git(&["config", "user.name", &format!("Test {identity}")]);
    vec![
        Canary {
            marker: content,
            surfaces: &[
                ZipLocalMember,
                Member,
                MemberZlib,
                PackEntry,
                ExtractedFile,
                ExtractedZlib,
                GitObjects,
            ],
        },
        Canary {
            marker: name,
            surfaces: &[
                ZipBytes,
                MemberName,
                MemberZlib,
                PackEntry,
                ExtractedPath,
                ExtractedZlib,
                GitObjects,
                Git,
            ],
        },
        Canary {
            marker: message,
            surfaces: &[MemberZlib, PackEntry, ExtractedZlib, GitObjects, Git],
        },
        Canary {
            marker: target,
            surfaces: &[ZipLocalMember, Member, SymlinkTarget, PackEntry, GitObjects],
        },
        Canary {
            marker: branch,
            surfaces: &[ZipLocalMember, Member, ExtractedFile, GitRefs],
        },
        Canary {
            marker: identity,
            surfaces: &[ZipLocalMember, Member, ExtractedFile, GitConfig],
        },
    ]
}
