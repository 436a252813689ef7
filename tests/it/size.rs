//! The package's size, decided before writing: the estimate against the real size on a
//! generated and a real repository, `PACKAGE_TOO_LARGE` with what takes the room and the
//! `--single-branch --depth N` that fits (taken literally, it fits, and N+1 does not), and
//! the ways to change or turn off the limit.

use crate::common::*;
use std::path::Path;

/// Text that deflates like source code: words from a seeded generator, in lines.
fn text(rng: &mut Rng, lines: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "fn", "let", "mut", "self", "return", "match", "Some", "None", "impl", "struct", "pub",
        "use", "crate", "if", "else", "for", "in", "while", "loop", "break", "value", "count",
        "index", "buffer", "error", "result", "options", "entry", "path", "tree",
    ];
    let mut out = Vec::new();
    for _ in 0..lines {
        let n = 3 + rng.below(9);
        let words: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
        out.extend_from_slice(words.join(" ").as_bytes());
        out.extend_from_slice(format!(" {};\n", rng.below(100_000)).as_bytes());
    }
    out
}

fn noise(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next() as u8).collect()
}

/// A repository of 120 text files over 30 commits (edits make deltas in the packs), a binary
/// file, a repacked history and a few loose objects on top.
fn generated() -> TestRepo {
    let repo = TestRepo::empty();
    let mut rng = Rng(0x5eed_0015);
    for i in 0..120 {
        let lines = 20 + rng.below(300);
        write_file(
            &repo.dir,
            &format!("src/m{}/f{i}.rs", i % 7),
            &text(&mut rng, lines),
        );
    }
    write_file(&repo.dir, "assets/blob.bin", &noise(&mut rng, 60_000));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "start"]);
    for c in 0..30 {
        for _ in 0..6 {
            let i = rng.below(120);
            let path = repo.dir.join(format!("src/m{}/f{i}.rs", i % 7));
            let mut body = std::fs::read(&path).expect("read a generated file");
            body.extend_from_slice(&text(&mut rng, 5));
            std::fs::write(&path, body).expect("edit a generated file");
        }
        repo.git(&["commit", "-q", "-am", &format!("edit {c}")]);
        if c == 24 {
            repo.git(&["tag", "v1"]);
            repo.git(&["gc", "-q"]);
        }
    }
    repo
}

/// Estimate and real size from `prepare --json`, checked to agree within `percent`.
fn assert_estimate_close(dir: &Path, extra: &[&str], percent: f64) -> (u64, u64) {
    let mut args = vec!["prepare", "--json"];
    args.extend_from_slice(extra);
    let out = run_procoder(dir, &args);
    assert_success(&out, "prepare");
    let json = json_stdout(&out);
    let size = &json["size"];
    let estimate = size["estimate"].as_u64().expect("an estimate");
    let bytes = size["bytes"].as_u64().expect("a size");
    assert_eq!(
        bytes,
        json["package_bytes"].as_u64().expect("package_bytes")
    );
    let real = std::fs::metadata(json["package"].as_str().expect("a package path"))
        .expect("the package exists")
        .len();
    assert_eq!(bytes, real, "size.bytes is the file's size");
    // The helper (deflated once, exactly) is most of a small package: hold the rest to the
    // bound on its own.
    let helper = size["helper"].as_u64().expect("the helper's part");
    let (rest_est, rest) = (estimate - helper, bytes - helper);
    let off = (rest_est as f64 - rest as f64).abs() / rest as f64 * 100.0;
    assert!(
        off <= percent,
        "{extra:?}: estimate {estimate} vs real {bytes} ({rest_est} vs {rest} without the helper): {off:.2}% off (at most {percent}%)"
    );
    assert_eq!(size["limit"], 512_000_000u64, "{json}");
    (estimate, bytes)
}

#[test]
fn the_estimate_is_within_three_percent_on_a_generated_repository() {
    let repo = generated();
    // Loose objects on top of the packs: written whole, estimated from the blobs' ratio.
    write_file(&repo.dir, "late.txt", &text(&mut Rng(7), 200));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "late"]);
    for extra in [
        &[][..],
        &["--depth", "1"],
        &["--depth", "3", "--single-branch"],
    ] {
        assert_estimate_close(&repo.dir, extra, 3.0);
        // Each prepare leaves an exchange; the next must start from a clean tree all the same.
    }
}

#[test]
fn the_estimate_is_within_three_percent_on_a_real_repository() {
    // This project's own repository: real history, real source, whatever CI cloned.
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let top = git(&own, &["rev-parse", "--show-toplevel"]);
    let tmp = tempfile::TempDir::new().expect("a temporary folder");
    let clone = tmp.path().join("procoder");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--no-local", &top])
        .arg(&clone)
        .output()
        .expect("git runs");
    assert_success(&out, "git clone of this repository");
    git(&clone, &["config", "user.name", "Test"]);
    git(&clone, &["config", "user.email", "test@example.com"]);
    let (estimate, bytes) = assert_estimate_close(&clone, &[], 3.0);
    assert!(
        bytes > 500_000,
        "a real repository: {bytes} bytes (estimate {estimate})"
    );
    assert_estimate_close(&clone, &["--depth", "1", "--single-branch"], 3.0);
}

/// What the helper takes in every package here (the debug build's, a few MB): the limits of
/// these tests are set above it.
fn helper_bytes() -> u64 {
    let out = TestRepo::new().procoder(&["prepare", "--json"]);
    assert_success(&out, "prepare");
    json_stdout(&out)["size"]["helper"]
        .as_u64()
        .expect("the helper's part")
}

/// `MB` megabytes more than the helper takes, as a `--max-size` argument.
fn limit(mb: f64) -> String {
    (helper_bytes() + (mb * 1e6) as u64).to_string()
}

/// A repository whose history holds a 3 MB file deleted since, under 13 commits of 40 KB
/// files: the whole history does not fit 1.5 MB (beside the helper), the last 13 commits do.
fn heavy_history() -> TestRepo {
    let repo = TestRepo::empty();
    let mut rng = Rng(0x0b16_b10b);
    write_file(&repo.dir, "big/dump.bin", &noise(&mut rng, 3_000_000));
    write_file(&repo.dir, "src/a.rs", &text(&mut rng, 50));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "with the dump"]);
    repo.git(&["rm", "-q", "big/dump.bin"]);
    repo.git(&["commit", "-q", "-m", "drop the dump"]);
    for c in 0..12 {
        write_file(&repo.dir, &format!("src/f{c}.rs"), &noise(&mut rng, 40_000));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", &format!("add f{c}")]);
    }
    repo
}

/// The command of the hint, as the user would copy it: `procoder prepare …` between backticks.
fn hinted_command(err: &str) -> Vec<String> {
    let start = err
        .find("`procoder prepare")
        .expect("the hint names a command")
        + 1;
    let len = err[start..].find('`').expect("the command ends");
    err[start..start + len]
        .split_whitespace()
        .skip(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_oversized_history_is_refused_before_writing_with_the_depth_that_fits() {
    let repo = heavy_history();
    let max = limit(1.5);
    let before = repo.snapshot();
    let out = repo.procoder(&["prepare", "--max-size", &max]);
    let err = assert_code(&out, "PACKAGE_TOO_LARGE");
    assert!(err.contains("the task package would be about"), "{err}");
    assert!(
        err.contains("in history only: big/dump.bin (blob"),
        "the deleted dump is named with its path: {err}"
    );
    assert!(err.contains("at HEAD: src/f"), "{err}");
    assert!(err.contains("--no-max-size"), "{err}");
    assert_eq!(repo.snapshot(), before, "a refusal changes nothing");
    assert_no_package(&repo.dir);
    assert!(repo.git(&["branch", "--list", "procoder/*"]).is_empty());
    assert!(exchange_ids(&repo.dir).is_empty(), "no exchange record");

    // Computed, not guessed: the 13 commits since the dump fit, the 14th brings it back.
    let args = hinted_command(&err);
    assert_eq!(
        args,
        [
            "--single-branch",
            "--depth",
            "13",
            "--max-size",
            max.as_str()
        ],
        "{err}"
    );
    let mut typed = vec!["prepare", "--json"];
    typed.extend(args.iter().map(String::as_str));
    let fits = repo.procoder(&typed);
    assert_success(&fits, "the hinted prepare");
    let json = json_stdout(&fits);
    let bytes = json["package_bytes"].as_u64().expect("a size");
    let max_bytes: u64 = max.parse().expect("a number");
    assert!(bytes <= max_bytes, "{bytes} bytes fit {max_bytes}");
    assert_eq!(json["size"]["limit"], max_bytes);
    assert_eq!(json["shallow_commits"], 1, "{json}");
    let deeper = [
        "prepare",
        "--single-branch",
        "--depth",
        "14",
        "--max-size",
        &max,
    ];
    assert_code(&repo.procoder(&deeper), "PACKAGE_TOO_LARGE");
}

#[test]
fn a_heavy_other_branch_is_left_out_by_single_branch() {
    let repo = TestRepo::empty();
    let mut rng = Rng(42);
    write_file(&repo.dir, "a.txt", &text(&mut rng, 100));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "small"]);
    repo.git(&["checkout", "-q", "-b", "assets"]);
    write_file(&repo.dir, "video.bin", &noise(&mut rng, 2_500_000));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "the video"]);
    repo.git(&["checkout", "-q", "main"]);
    let max = limit(1.5);
    let err = assert_code(
        &repo.procoder(&["prepare", "--max-size", &max]),
        "PACKAGE_TOO_LARGE",
    );
    assert!(err.contains("in history only: video.bin"), "{err}");
    assert_eq!(
        hinted_command(&err),
        ["--single-branch", "--max-size", max.as_str()],
        "{err}"
    );
    let ok = repo.procoder(&["prepare", "--single-branch", "--max-size", &max]);
    assert_success(&ok, "prepare --single-branch");
}

#[test]
fn when_head_alone_is_too_large_no_depth_is_offered() {
    let repo = TestRepo::empty();
    write_file(&repo.dir, "huge.bin", &noise(&mut Rng(9), 1_500_000));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "huge"]);
    let err = assert_code(
        &repo.procoder(&["prepare", "--max-size", &limit(1.0)]),
        "PACKAGE_TOO_LARGE",
    );
    assert!(err.contains("at HEAD: huge.bin"), "{err}");
    assert!(err.contains("no --depth fits"), "{err}");
    assert!(
        !err.contains("`procoder prepare"),
        "no command to run: {err}"
    );
    assert_no_package(&repo.dir);
}

#[test]
fn the_limit_can_be_raised_or_turned_off() {
    let repo = heavy_history();
    let off = repo.procoder(&["prepare", "--json", "--no-max-size"]);
    assert_success(&off, "prepare --no-max-size");
    let json = json_stdout(&off);
    assert!(json["size"]["limit"].is_null(), "{json}");
    assert!(json["package_bytes"].as_u64().expect("a size") > helper_bytes() + 3_000_000);
    let raised = repo.procoder(&["prepare", "--json", "--max-size", "1GiB"]);
    assert_success(&raised, "prepare --max-size 1GiB");
    assert_eq!(json_stdout(&raised)["size"]["limit"], 1u64 << 30);
}

#[test]
fn bad_sizes_are_usage_errors() {
    let repo = TestRepo::new();
    for args in [
        &["prepare", "--max-size", "12XB"][..],
        &["prepare", "--max-size", "0"],
        &["prepare", "--max-size", "1MB", "--no-max-size"],
    ] {
        let out = repo.procoder(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_no_package(&repo.dir);
}
