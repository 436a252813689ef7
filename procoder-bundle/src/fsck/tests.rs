//! Unit tests of the fsck-level checks.
use super::names::*;
use super::special_files::*;
use super::*;

#[test]
fn every_spelling_of_dotgit_is_refused() {
    for name in [
        ".git",
        ".GIT",
        ".Git",
        "git~1",
        "GIT~1",
        ".git.",
        ".git ",
        ".git. . ",
        ".git::$INDEX_ALLOCATION",
        "a\\.git",
        ".g\u{200c}it",
        "\u{feff}.GIT",
    ] {
        assert!(check_name(name.as_bytes()).is_err(), "{name:?}");
    }
    for name in [
        &b".git\xbc"[..],
        b".GIT\xffmodules",
        b".g\xe2\x80\x8cit\x80",
    ] {
        assert!(check_name(name).is_err(), "{name:?}");
    }
    assert!(is_gitmodules(b".gitmodules\xff"));
    for name in [".", "..", "", "a/b", "a\0b"] {
        assert!(check_name(name.as_bytes()).is_err(), "{name:?}");
    }
    for name in [
        ".gitignore",
        ".github",
        "git",
        "x.git",
        ".git~1x",
        ".gitmodules",
        ".gitx\u{e9}",
    ] {
        assert!(check_name(name.as_bytes()).is_ok(), "{name:?}");
    }
    assert!(
        check_name(b".gi\xff").is_ok(),
        "a prefix of .git is not .git"
    );
}

#[test]
fn gitmodules_spellings_and_contents() {
    assert!(
        is_gitmodules(b".gitmodules")
            && is_gitmodules(b".GITMODULES ")
            && is_gitmodules(b"GITMOD~1")
    );
    let oid = git2::Oid::ZERO_SHA1;
    check_gitmodules(
        oid,
        ".gitmodules",
        b"[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n",
    )
    .expect("ordinary");
    for hostile in [
        "[submodule \"../../hooks\"]\n\tpath = x\n",
        "[submodule \"x\"]\n\turl = --upload-pack=touch /tmp/pwned\n",
        "[submodule \"x\"]\n\tpath = -x\n",
        // What a line-based reading missed: git reads each of these as hostile.
        "[submodule \"x\"]\n\turl = \"\" --upload-pack=touch /tmp/pwned\n",
        "[submodule \"x\"]\n\turl = \\\n--upload-pack=touch /tmp/pwned\n",
        "[submodule \"x\"]\r\n\tpath = \"-x\" ; comment\r\n",
        "[submodule \"x\"]\n\tupdate = !touch /tmp/pwned\n",
        "[submodule.. \"/..\"]\n\tpath = x\n",
        "[SubModule \"..\\\\hooks\"]\n\tpath = x\n",
        "[submodule \"\"]\n\tpath = x\n",
        "[submodule \"x\"]\n\turl = https://a%0a@example.com/x\n",
        "\u{feff}[submodule \"../x\"]\n\tpath = x\n",
    ] {
        assert!(
            check_gitmodules(oid, ".gitmodules", hostile.as_bytes()).is_err(),
            "{hostile}"
        );
    }
}

#[test]
fn gitmodules_byte_ff_ends_the_input_as_in_git() {
    let blob = b"[submodule.. \"/..\"]\n\tp\xff\xff\x7f\0";
    assert!(check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).is_err());
}

#[test]
fn gitmodules_relative_urls_like_git() {
    let oid = git2::Oid::ZERO_SHA1;
    for bad in ["..//ib.git", "../../:x", "./../../..//host/x"] {
        let blob = format!("[submodule \"x\"]\n\turl = {bad}\n");
        assert!(
            check_gitmodules(oid, ".gitmodules", blob.as_bytes()).is_err(),
            "{bad}"
        );
    }
    for ok in ["../lib.git", "./x/../y", "../../org/lib.git"] {
        let blob = format!("[submodule \"x\"]\n\turl = {ok}\n");
        check_gitmodules(oid, ".gitmodules", blob.as_bytes()).expect(ok);
    }
}

#[test]
fn gitmodules_nul_cuts_names_as_in_git() {
    let blob = b"[submodule \".\0\x80ks\"]\n\tpath = x\n";
    assert!(check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).is_err());
    let blob = b"[submodule \"x\"]\n\tpath = \"ok\0\"\n";
    check_gitmodules(git2::Oid::ZERO_SHA1, ".gitmodules", blob).expect("git reads `ok`");
}

#[test]
fn gitmodules_that_git_reads_as_harmless() {
    let oid = git2::Oid::ZERO_SHA1;
    for ok in [
        "# comment\n[core]\n\tbare = false\n[submodule \"lib\"]\n\tpath = lib ; -x\n\turl = ../lib.git\n\tupdate = rebase\n",
        "[submodule \"a.b\"]\n\tpath = \" -x\"\n\tbranch\n",
        "[submodule.lib]\n\tpath = lib\n",
        "[submodule \"x\"]\n\turl = \"unterminated\n", // git cannot parse it: ignored
    ] {
        check_gitmodules(oid, ".gitmodules", ok.as_bytes()).expect(ok);
    }
}

#[test]
fn ntfs_short_names_of_gitmodules() {
    for name in [
        "GITMOD~2",
        "gitmod~4 . ",
        "gi7eba~1",
        "GI7EBA~9:x",
        "gi7eb~12",
        "gi~12345",
    ] {
        assert!(is_gitmodules(name.as_bytes()), "{name}");
    }
    for name in [
        "gitmod~5",
        "gi7eba~0",
        "gi7eba~12",
        "gitmodules",
        "gi7ebb~1",
    ] {
        assert!(!is_gitmodules(name.as_bytes()), "{name}");
    }
}

#[test]
fn duplicate_names_need_not_be_adjacent() {
    let mut raw = Vec::new();
    for (mode, name) in [("100644", "a"), ("100644", "a.b"), ("40000", "a")] {
        raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        raw.extend_from_slice(&[7u8; 20]);
    }
    let err = parse_tree(git2::Oid::ZERO_SHA1, "", &raw, &HashSet::new())
        .err()
        .expect("a file and a tree named a");
    assert!(err.message.contains("duplicate"), "{}", err.message);
}

#[test]
fn nul_in_a_commit() {
    let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let ok = format!("tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nmsg\n");
    check_commit(git2::Oid::ZERO_SHA1, ok.as_bytes()).expect("ordinary");
    let in_message =
        format!("tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nmsg\0 body\n");
    assert!(check_commit(git2::Oid::ZERO_SHA1, in_message.as_bytes()).is_err());
    let bad =
        format!("tree {tree}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\nx \0y\n\nmsg\n");
    assert!(check_commit(git2::Oid::ZERO_SHA1, bad.as_bytes()).is_err());
}

#[test]
fn gitattributes_git_would_not_read() {
    let oid = git2::Oid::ZERO_SHA1;
    check_gitattributes(oid, ".gitattributes", b"*.bin binary\n").expect("ordinary");
    let long = format!("{} binary\n", "x".repeat(2048));
    assert!(check_gitattributes(oid, ".gitattributes", long.as_bytes()).is_err());
    assert!(is_gitattributes(b".GITATTRIBUTES") && is_gitattributes(b"gitatt~1"));
}

#[test]
fn idents_like_git() {
    check_ident(b"A U Thor <a@example.com> 1234567890 +0000").expect("ordinary");
    for bad in [
        &b"<a@example.com> 1 +0000"[..],
        b"A <a@x> 0123 +0000",
        b"A<a@x> 1 +0000",
        b"A <a@x> 1",
        b"A <a@x 1 +0000",
        b"A <a@x> x +0000",
    ] {
        assert!(
            check_ident(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
