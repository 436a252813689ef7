//! procoder's verdict against git's, case by case: each hand-made return goes through
//! `procoder apply` and, as the same bundle, through `git -c transfer.fsckObjects=true fetch`
//! into a clone of the same repository. The cases follow the categories of git's own tests:
//! t1450 (objects), t7450 (`.gitmodules`, `.gitattributes`), t0060 (NTFS and HFS names) and
//! t5607/t6020 (bundle formats). Where procoder is deliberately stricter, the case says why,
//! and the README lists the same differences.

use super::objects::{oid_bytes, raw_commit, raw_object, raw_tree, IDENTS};
use super::*;

/// What one side said about a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepts,
    Refuses,
}
use Verdict::*;

/// One case: what git says, and what procoder says (with its code, or why it is stricter).
struct Case {
    name: &'static str,
    git: Verdict,
    /// `None`: procoder accepts. `Some(code)`: it refuses with `code`.
    procoder: Option<&'static str>,
    /// Why procoder refuses what git accepts (required exactly then).
    stricter: Option<&'static str>,
}

/// A return package whose bundle advertises `refs` (name → tip) after the header's `lines`
/// (version, capabilities, prerequisites), with a pack of exactly `objects`; the document
/// updates the family branch `name` to `tip`. Returns the zip and the bundle's bytes.
fn package(
    r: &Returned,
    name: &str,
    tip: &str,
    header: &str,
    extra_refs: &[(&str, &str)],
    objects: &[&str],
) -> (PathBuf, Vec<u8>) {
    let s = &r.sandbox;
    let list: String = objects.iter().map(|o| format!("{o}\n")).collect();
    let pack = super::objects::git_stdin(
        &s.root,
        &["pack-objects", "-q", "--stdout"],
        list.as_bytes(),
    );
    let family = r.prepared.family_ref(name);
    let mut text = header.to_owned();
    text.push_str(&format!("{tip} {family}\n"));
    for (refname, oid) in extra_refs {
        text.push_str(&format!("{oid} {refname}\n"));
    }
    text.push('\n');
    let mut bundle = text.into_bytes();
    bundle.extend_from_slice(&pack);
    let (mut doc, _) = read_return(&r.zip);
    doc["updates"] = Value::Array(vec![serde_json::json!({
        "ref": family, "old_oid": "", "new_oid": tip,
    })]);
    let doc = serde_json::to_vec_pretty(&doc).expect("serialise");
    let zip = rebuild(
        r,
        &format!("{name}.zip"),
        &[
            ("procoder-return.json", &doc),
            ("procoder-return.bundle", &bundle),
        ],
    );
    (zip, bundle)
}

/// A v2 header needing the task base.
fn v2(r: &Returned) -> String {
    format!("# v2 git bundle\n-{} Base\n", r.prepared.base_oid)
}

/// git's verdict: the bundle fetched with transfer.fsckObjects into a fresh bare clone.
fn git_verdict(r: &Returned, case: &str, bundle: &[u8], family: &str) -> (Verdict, String) {
    let dir = r.sandbox.root.join(format!("git-{case}"));
    let path = r.sandbox.root.join(format!("{case}.bundle"));
    std::fs::write(&path, bundle).expect("write the bundle");
    git(
        &r.sandbox.root,
        &[
            "clone",
            "-q",
            "--bare",
            "--no-local",
            r.local.dir.to_str().expect("utf-8"),
            dir.to_str().expect("utf-8"),
        ],
    );
    let out = git_output(
        &dir,
        &[
            "-c",
            "transfer.fsckObjects=true",
            "fetch",
            "-q",
            path.to_str().expect("utf-8"),
            &format!("{family}:refs/heads/check"),
        ],
    );
    let verdict = if out.status.success() {
        Accepts
    } else {
        Refuses
    };
    (verdict, stderr(&out))
}

/// Runs `case` through both and returns where a verdict is not the one expected. A refusal
/// by procoder that matches is checked in full (`refuse`: exit 1, the code, nothing changed,
/// for apply and --dry-run).
fn check(r: &Returned, case: &Case, zip: &Path, bundle: &[u8]) -> Result<(), String> {
    let family = r.prepared.family_ref(case.name);
    let (git_says, git_err) = git_verdict(r, case.name, bundle, &family);
    let out = r.local.procoder(&["apply", zip.to_str().expect("utf-8")]);
    let err = stderr(&out);
    let ours = if out.status.success() {
        Accepts
    } else {
        Refuses
    };
    let code = err.split(':').next().unwrap_or_default().to_owned();
    let mut wrong = Vec::new();
    if git_says != case.git {
        wrong.push(format!("git says {git_says:?} ({})", git_err.trim()));
    }
    match (case.procoder, ours) {
        (None, Accepts) => {
            let tip = git(&r.local.dir, &["rev-parse", &family]);
            assert_eq!(tip.trim().len(), 40, "{}: the branch exists", case.name);
            r.local.git(&["fsck", "--strict"]);
        }
        (Some(expected), Refuses) if code == expected => {
            // Again, through the full check that nothing changed.
            refuse(&r.local, zip, &[], expected);
        }
        _ => wrong.push(format!(
            "procoder says {ours:?}: {}",
            err.lines().next().unwrap_or_default()
        )),
    }
    let expected_ours = if case.procoder.is_some() {
        Refuses
    } else {
        Accepts
    };
    assert_eq!(
        expected_ours != case.git,
        case.stricter.is_some(),
        "{}: a reason is given exactly where procoder and git differ",
        case.name
    );
    if case.stricter.is_some() {
        assert_eq!(
            (expected_ours, case.git),
            (Refuses, Accepts),
            "{}: only stricter",
            case.name
        );
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.name, wrong.join("; ")))
    }
}

/// Fails with every case that went wrong, not only the first.
fn all(results: impl IntoIterator<Item = Result<(), String>>) {
    let wrong: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        wrong.is_empty(),
        "verdicts not as expected:\n{}",
        wrong.join("\n")
    );
}

/// A tip commit on the base with raw header `idents` (after tree and parent) and the base's
/// tree.
fn commit_case(case: Case, text: impl FnOnce(&Returned, &str) -> String) -> Result<(), String> {
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let tip = raw_object(s, "commit", text(&r, &tree).as_bytes());
    let (zip, bundle) = package(&r, case.name, &tip, &v2(&r), &[], &[&tip, &tree, &blob]);
    check(&r, &case, &zip, &bundle)
}

/// A tip whose root tree is `entries` (mode, name, content of a new blob, or `None` for a
/// subtree holding one file).
/// One root-tree entry of [`tree_case`]: mode, name, content of a new blob or `None`.
type Entry<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

fn tree_case(case: Case, entries: &[Entry]) -> Result<(), String> {
    let r = Returned::new();
    let s = &r.sandbox;
    let inner_blob = raw_object(s, "blob", b"inner\n");
    let subtree = raw_tree(s, &[("100644", b"file", &inner_blob)]);
    // Only what the tip reaches: anything more is refused for riding along.
    let mut objects = Vec::new();
    if entries.iter().any(|(_, _, c)| c.is_none()) {
        objects.extend([inner_blob.clone(), subtree.clone()]);
    }
    let mut rows = Vec::new();
    for (mode, name, content) in entries {
        let oid = match content {
            Some(c) => {
                let b = raw_object(s, "blob", c);
                objects.push(b.clone());
                b
            }
            None => subtree.clone(),
        };
        rows.push((*mode, *name, oid));
    }
    let rows: Vec<(&str, &[u8], &str)> =
        rows.iter().map(|(m, n, o)| (*m, *n, o.as_str())).collect();
    let tree = raw_tree(s, &rows);
    let tip = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, case.name);
    objects.push(tree);
    objects.push(tip.clone());
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let (zip, bundle) = package(&r, case.name, &tip, &v2(&r), &[], &objects);
    check(&r, &case, &zip, &bundle)
}

const fn agree(name: &'static str, git: Verdict, procoder: Option<&'static str>) -> Case {
    Case {
        name,
        git,
        procoder,
        stricter: None,
    }
}

const UNSAFE: Option<&str> = Some("UNSAFE_OBJECT");

// ---- t1450: commits ---------------------------------------------------------------------------

#[test]
fn t1450_commits() {
    let mut results = Vec::new();
    let ids = IDENTS;
    results.push(commit_case(
        agree("good-commit", Accepts, None),
        |r, tree| format!("tree {tree}\nparent {}\n{ids}\nfine\n", r.prepared.base_oid),
    ));
    results.push(commit_case(
        agree("missing-tree", Refuses, UNSAFE),
        |r, _| format!("parent {}\n{ids}\nno tree\n", r.prepared.base_oid),
    ));
    results.push(commit_case(
        agree("bad-tree-id", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {}\nparent {}\n{ids}\nshort tree id\n",
                &tree[..39],
                r.prepared.base_oid
            )
        },
    ));
    results.push(commit_case(
        agree("bad-parent-id", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}x\n{ids}\nbad parent\n",
                &r.prepared.base_oid[..39]
            )
        },
    ));
    results.push(commit_case(
        agree("missing-author", Refuses, UNSAFE),
        |r, tree| {
            format!(
            "tree {tree}\nparent {}\ncommitter C <c@example.com> 1767225600 +0000\n\nno author\n",
            r.prepared.base_oid
        )
        },
    ));
    results.push(commit_case(
        agree("zero-padded-date", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}\nauthor A <a@example.com> 01767225600 +0000\n\
             committer C <c@example.com> 1767225600 +0000\n\npadded\n",
                r.prepared.base_oid
            )
        },
    ));
    results.push(commit_case(
        agree("bad-email", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}\nauthor A <a@example.com 1767225600 +0000\n\
             committer C <c@example.com> 1767225600 +0000\n\nbad email\n",
                r.prepared.base_oid
            )
        },
    ));
    results.push(commit_case(
        agree("bad-timezone", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}\nauthor A <a@example.com> 1767225600 +00\n\
             committer C <c@example.com> 1767225600 +0000\n\nbad zone\n",
                r.prepared.base_oid
            )
        },
    ));
    results.push(commit_case(
        agree("nul-in-header", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}\nauthor A <a@example.com> 1767225600 +0000\n\
             committer C\0 <c@example.com> 1767225600 +0000\n\nnul\n",
                r.prepared.base_oid
            )
        },
    ));
    results.push(commit_case(
        agree("unterminated-header", Refuses, UNSAFE),
        |r, tree| {
            format!(
                "tree {tree}\nparent {}\nauthor A <a@example.com> 1767225600 +0000\n\
             committer C <c@example.com> 1767225600 +0000",
                r.prepared.base_oid
            )
        },
    ));
    all(results);
}

// ---- t1450: trees -----------------------------------------------------------------------------

#[test]
fn t1450_trees() {
    let results = vec![
        tree_case(
            agree("good-tree", Accepts, None),
            &[("100644", b"a.txt", Some(b"a\n")), ("40000", b"dir", None)],
        ),
        tree_case(
            agree("not-sorted", Refuses, UNSAFE),
            &[
                ("100644", b"b", Some(b"b\n")),
                ("100644", b"a", Some(b"a\n")),
            ],
        ),
        tree_case(
            agree("duplicate-entries", Refuses, UNSAFE),
            &[
                ("100644", b"a", Some(b"a\n")),
                ("100644", b"a", Some(b"b\n")),
            ],
        ),
        tree_case(
            agree("dot-git", Refuses, UNSAFE),
            &[("40000", b".git", None)],
        ),
        tree_case(agree("dot-dot", Refuses, UNSAFE), &[("40000", b"..", None)]),
        tree_case(
            agree("empty-name", Refuses, UNSAFE),
            &[("100644", b"", Some(b"x\n"))],
        ),
        tree_case(
            agree("full-path", Refuses, UNSAFE),
            &[("100644", b"a/b", Some(b"x\n"))],
        ),
        tree_case(
            agree("zero-padded-mode", Refuses, UNSAFE),
            &[("040000", b"dir", None)],
        ),
        tree_case(
            Case {
                name: "group-writable-mode",
                git: Accepts,
                procoder: UNSAFE,
                stricter: Some(
                    "100664 is a mode git has not written since 2005; git's fsck reports it \
                 (badFilemode) but lets it in, and procoder keeps to the five modes git writes",
                ),
            },
            &[("100664", b"a", Some(b"x\n"))],
        ),
    ];
    all(results);
}

// ---- t7450: .gitmodules and .gitattributes ----------------------------------------------------

#[test]
fn t7450_special_files() {
    let long = format!("*.txt {}\n", "a".repeat(2100));
    let after_nul = format!("*.txt text\n\0{}\n", "a".repeat(2100));
    let results = vec![
        tree_case(
            agree("gitmodules-url-option", Refuses, UNSAFE),
            &[(
                "100644",
                b".gitmodules",
                Some(b"[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch evil\n"),
            )],
        ),
        tree_case(
            agree("gitmodules-name-escapes", Refuses, UNSAFE),
            &[(
                "100644",
                b".gitmodules",
                Some(b"[submodule \"../../hooks\"]\n\tpath = x\n\turl = ./x\n"),
            )],
        ),
        tree_case(
            agree("gitmodules-update-command", Refuses, UNSAFE),
            &[(
                "100644",
                b".gitmodules",
                Some(b"[submodule \"x\"]\n\tpath = x\n\turl = ./x\n\tupdate = !touch evil\n"),
            )],
        ),
        tree_case(
            agree("gitmodules-symlink", Refuses, UNSAFE),
            &[("120000", b".gitmodules", Some(b"elsewhere"))],
        ),
        tree_case(
            agree("gitmodules-tree", Refuses, UNSAFE),
            &[("40000", b".gitmodules", None)],
        ),
        tree_case(
            agree("gitmodules-good", Accepts, None),
            &[(
                "100644",
                b".gitmodules",
                Some(b"[submodule \"x\"]\n\tpath = x\n\turl = https://example.com/x.git\n"),
            )],
        ),
        tree_case(
            agree("gitattributes-tree", Refuses, UNSAFE),
            &[("40000", b".gitattributes", None)],
        ),
        tree_case(
            agree("gitattributes-long-line", Refuses, UNSAFE),
            &[("100644", b".gitattributes", Some(long.as_bytes()))],
        ),
        // git stops reading a .gitattributes at a NUL byte, so a long line after one is harmless.
        tree_case(
            agree("gitattributes-long-line-after-nul", Accepts, None),
            &[("100644", b".gitattributes", Some(after_nul.as_bytes()))],
        ),
        // A symbolic link named .gitattributes is only an INFO message to git: accepted.
        tree_case(
            agree("gitattributes-symlink", Accepts, None),
            &[("120000", b".gitattributes", Some(b"elsewhere"))],
        ),
    ];
    all(results);
}

// ---- t0060: NTFS and HFS+ names ---------------------------------------------------------------

#[test]
fn t0060_names() {
    let results = vec![
        tree_case(
            agree("ntfs-trailing-dot", Refuses, UNSAFE),
            &[("40000", b".git.", None)],
        ),
        tree_case(
            agree("ntfs-short-name", Refuses, UNSAFE),
            &[("40000", b"git~1", None)],
        ),
        tree_case(
            agree("ntfs-stream", Refuses, UNSAFE),
            &[("40000", b".git::$INDEX_ALLOCATION", None)],
        ),
        tree_case(
            agree("hfs-ignorable", Refuses, UNSAFE),
            &[("40000", ".g\u{200c}it".as_bytes(), None)],
        ),
        tree_case(
            agree("ntfs-gitmodules-short-name-symlink", Refuses, UNSAFE),
            &[("120000", b"gitmod~1", Some(b"elsewhere"))],
        ),
        tree_case(
            agree("harmless-lookalike", Accepts, None),
            &[
                ("100644", b".gitx", Some(b"x\n")),
                ("100644", b"git~2x", Some(b"x\n")),
            ],
        ),
    ];
    all(results);
}

// ---- t5607 / t6020: bundle formats ------------------------------------------------------------

/// A well-formed tip (the sandbox's real commit) under the bundle header `header`, with
/// `extra` refs advertised too.
fn bundle_case(
    case: Case,
    header: impl FnOnce(&Returned) -> String,
    extra: impl FnOnce(&Returned) -> Vec<(String, String)>,
) -> Result<(), String> {
    let r = Returned::new();
    let s = &r.sandbox;
    let tree = s.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = s.git(&["rev-parse", "HEAD:feature.txt"]);
    let extra = extra(&r);
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(n, o)| (n.as_str(), o.as_str()))
        .collect();
    let (zip, bundle) = package(
        &r,
        case.name,
        &r.tip,
        &header(&r),
        &extra,
        &[&r.tip, &tree, &blob],
    );
    check(&r, &case, &zip, &bundle)
}

#[test]
fn t5607_bundle_formats() {
    let mut results = Vec::new();
    let none = |_: &Returned| Vec::new();
    results.push(bundle_case(agree("v2", Accepts, None), v2, none));
    results.push(bundle_case(
        agree("v3-object-format", Accepts, None),
        |r| {
            format!(
                "# v3 git bundle\n@object-format=sha1\n-{} Base\n",
                r.prepared.base_oid
            )
        },
        none,
    ));
    // git writes HEAD into the ref list for `git bundle create … HEAD`; it names an updated
    // tip and changes nothing of its own.
    results.push(bundle_case(
        agree("head-in-ref-list", Accepts, None),
        v2,
        |r| vec![("HEAD".to_owned(), r.tip.clone())],
    ));
    results.push(bundle_case(
        Case {
            name: "head-names-another-commit",
            git: Accepts,
            procoder: Some("BUNDLE_VERIFY_FAILED"),
            stricter: Some("a HEAD that names no updated tip brings a commit no update takes: its objects would join the repository without a ref that explains them"),
        },
        v2,
        |r| vec![("HEAD".to_owned(), r.prepared.base_oid.clone())],
    ));
    results.push(bundle_case(
        Case {
            name: "v3-unknown-capability",
            git: Refuses,
            procoder: Some("UNSUPPORTED_PROTOCOL"),
            stricter: None,
        },
        |r| {
            format!(
                "# v3 git bundle\n@frobnicate=yes\n-{} Base\n",
                r.prepared.base_oid
            )
        },
        none,
    ));
    results.push(bundle_case(
        agree(
            "missing-prerequisite",
            Refuses,
            Some("BUNDLE_VERIFY_FAILED"),
        ),
        |_| "# v2 git bundle\n-1111111111111111111111111111111111111111 Gone\n".to_owned(),
        none,
    ));
    all(results);
}

/// A tree entry naming the null id, written byte by byte (`raw_tree` takes hex ids).
#[test]
fn t1450_tree_with_a_null_id() {
    let r = Returned::new();
    let s = &r.sandbox;
    let mut data = b"100644 a\0".to_vec();
    data.extend_from_slice(&oid_bytes(&"0".repeat(40)));
    let tree = raw_object(s, "tree", &data);
    let tip = raw_commit(s, &tree, &r.prepared.base_oid, IDENTS, "null id");
    // A warning to git's fsck, but fetch checks with --strict, which makes it an error.
    let case = agree("null-id", Refuses, UNSAFE);
    let (zip, bundle) = package(&r, case.name, &tip, &v2(&r), &[], &[&tip, &tree]);
    all([check(&r, &case, &zip, &bundle)]);
}
