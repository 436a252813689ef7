//! The documentation keeps up with the code: every error code of the contract has a README
//! row saying what to do about it, every command and flag is in the README, every JSON object
//! carries the schema version the README documents, and the generated completions and manual
//! pages come out of the real command line.

use crate::common::*;
use procoder_manifest::ErrorCode;

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cells of the README table row that starts with `` `CODE` ``.
fn error_row(readme: &str, code: &str) -> Option<Vec<String>> {
    let start = format!("| `{code}` |");
    readme.lines().find(|l| l.starts_with(&start)).map(|l| {
        l.trim()
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_owned())
            .collect()
    })
}

#[test]
fn every_error_code_has_a_readme_row_with_what_to_do() {
    let text = readme();
    let header = text
        .lines()
        .find(|l| l.starts_with("| code |"))
        .expect("the README has an error table starting `| code |`");
    assert!(
        header.contains("what to do"),
        "the error table has a `what to do` column: {header}"
    );
    let mut missing = Vec::new();
    for code in ErrorCode::ALL {
        match error_row(&text, code.as_str()) {
            Some(cells) if cells.len() >= 3 && cells.iter().all(|c| c.len() > 3) => {}
            Some(cells) => missing.push(format!("{code}: incomplete row {cells:?}")),
            None => missing.push(format!("{code}: no row `| `{code}` | when | what to do |`")),
        }
    }
    assert!(
        missing.is_empty(),
        "README error table:\n{}",
        missing.join("\n")
    );
}

/// Every `--flag` that `procoder <command> --help` lists.
fn flags(args: &[&str]) -> Vec<String> {
    let dir = tempfile::TempDir::new().expect("tmp");
    let out = run_procoder(dir.path(), args);
    assert_success(&out, "procoder --help");
    let mut found: Vec<String> = stdout(&out)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_owned()
        })
        .filter(|w| !matches!(w.as_str(), "--help" | "--version"))
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_command_and_flag_is_in_the_readme() {
    let text = readme();
    for cmd in COMMANDS {
        assert!(
            text.contains(&format!("### `procoder {cmd}")),
            "README has a section `### `procoder {cmd} …``"
        );
        for flag in flags(&[cmd, "--help"]) {
            assert!(
                text.contains(&flag),
                "README does not mention {flag} of procoder {cmd}"
            );
        }
    }
    for knob in [
        "PROCODER_PROGRESS_DELAY_MS",
        "NO_COLOR",
        "CI=true",
        "procoder/v1",
    ] {
        assert!(text.contains(knob), "README does not mention {knob}");
    }
}

#[test]
fn completions_for_every_shell_and_man_pages_for_every_command() {
    let dir = tempfile::TempDir::new().expect("tmp");
    for (shell, marker) in [
        ("bash", "_procoder()"),
        ("zsh", "#compdef procoder"),
        ("fish", "complete -c procoder"),
        ("elvish", "edit:completion:arg-completer[procoder]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run_procoder(dir.path(), &["completions", shell]);
        assert_success(&out, &format!("completions {shell}"));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: no {marker:?}:\n{script}");
        for word in ["prepare", "apply", "dry-run", "namespace"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = run_procoder(dir.path(), &["completions", "bash", "--json"]);
    assert_success(&out, "completions --json");
    let json = json_stdout(&out);
    assert_eq!(json["shell"], "bash", "{json}");
    assert!(json["script"]
        .as_str()
        .is_some_and(|s| s.contains("_procoder()")));

    let out = run_procoder(dir.path(), &["man"]);
    assert_success(&out, "man");
    let page = stdout(&out);
    assert!(page.contains(".TH procoder 1"), "{page}");
    for cmd in COMMANDS {
        assert!(
            page.contains(&format!("procoder\\-{cmd}(1)")),
            "procoder(1) lists procoder-{cmd}(1)"
        );
        let out = run_procoder(dir.path(), &["man", cmd]);
        assert_success(&out, &format!("man {cmd}"));
        let sub = stdout(&out);
        assert!(
            sub.contains(&format!(".TH procoder\\-{cmd} 1"))
                || sub.contains(&format!(".TH procoder-{cmd} 1")),
            "{sub}"
        );
        assert!(
            sub.contains(".SH EXAMPLES") || sub.contains("Examples:"),
            "the page of {cmd} has its examples:\n{sub}"
        );
    }
    let out = run_procoder(dir.path(), &["man", "bogus"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown page is a usage error"
    );
}
