//! prepare's secret scan: every rule finds its planted key at its path and line, no output
//! shows a key, binary and oversized files are skipped as README says, `--strict-secrets`
//! refuses and leaves nothing behind, the allow list accepts exactly its findings, and
//! `--scan-history` finds a key that only history holds.
//!
//! Every key is built here at run time from pieces and a fixed pseudo-random stream: the
//! repository never holds a literal that a push protection scanner would flag.

use crate::common::*;
use serde_json::Value;

/// A deterministic stream of characters from `alphabet` (no two runs differ, no key repeats).
struct Chars(u64);

impl Chars {
    fn take(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(a[((self.0 >> 33) % a.len() as u64) as usize])
            })
            .collect()
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWYZ0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789+/";
const HEX: &str = "0123456789abcdef";

/// One planted key: the rule that must find it, the file and its content, the line of the
/// key, the shown prefix, and the key itself (which must never be printed).
struct Plant {
    rule: &'static str,
    path: String,
    content: String,
    line: u64,
    shown: String,
    secret: String,
    /// The first characters after the public prefix: no output may show them either.
    hidden: String,
}

/// Two lines of filler, then `line`: every key sits on line 3.
fn plant(rule: &'static str, path: &str, shown: &str, secret: String, line: String) -> Plant {
    Plant {
        rule,
        path: path.to_owned(),
        content: format!("// configuration\n\n{line}\n// end\n"),
        line: 3,
        shown: format!("{shown}…"),
        hidden: secret
            .strip_prefix(shown)
            .unwrap_or(&secret)
            .chars()
            .take(12)
            .collect(),
        secret,
    }
}

/// One key of every rule of README's table.
fn plants(seed: u64) -> Vec<Plant> {
    let mut c = Chars(seed);
    let mut p = Vec::new();
    let mut token = |rule, path: &str, shown: &str, secret: String| {
        let line = format!("value = \"{secret}\"");
        p.push(plant(rule, path, shown, secret, line));
    };
    let gh = ["gh", "p_"].concat();
    token(
        "github-token",
        "src/gh.rs",
        &gh,
        format!("{gh}{}", c.take(ALNUM, 36)),
    );
    let pat = ["github", "_pat_"].concat();
    let fine = format!("{pat}{}_{}", c.take(ALNUM, 22), c.take(ALNUM, 59));
    token("github-fine-grained-token", "src/pat.rs", &pat, fine);
    let gl = ["gl", "pat-"].concat();
    token(
        "gitlab-token",
        "ci/gl.yml",
        &gl,
        format!("{gl}{}", c.take(ALNUM, 20)),
    );
    let akia = ["AK", "IA"].concat();
    token(
        "aws-access-key-id",
        "aws/id.txt",
        &akia,
        format!("{akia}{}", c.take(UPPER, 16)),
    );
    let aiza = ["AI", "za"].concat();
    token(
        "google-api-key",
        "web/maps.js",
        &aiza,
        format!("{aiza}{}", c.take(ALNUM, 35)),
    );
    let xoxb = ["xo", "xb-"].concat();
    let slack = format!("{xoxb}{}-{}", c.take("0123456789", 12), c.take(ALNUM, 24));
    token("slack-token", "bot/slack.py", &xoxb, slack);
    let hook = ["https://hooks.", "slack.com/services/"].concat();
    let webhook = format!(
        "{hook}T{}/B{}/{}",
        c.take(UPPER, 8),
        c.take(UPPER, 8),
        c.take(ALNUM, 24)
    );
    token("slack-webhook", "bot/hook.py", &hook, webhook);
    let sk_live = ["sk", "_live_"].concat();
    token(
        "stripe-secret-key",
        "pay/stripe.rb",
        &sk_live,
        format!("{sk_live}{}", c.take(ALNUM, 24)),
    );
    let ant = ["sk-", "ant-"].concat();
    let anthropic = format!("{ant}api03-{}", c.take(ALNUM, 93));
    token("anthropic-api-key", "ai/claude.py", &ant, anthropic);
    let marker = ["T3Bl", "bkFJ"].concat();
    let openai = format!("sk-proj-{}{marker}{}", c.take(ALNUM, 20), c.take(ALNUM, 20));
    token("openai-api-key", "ai/openai.py", "sk-", openai);
    let twilio = format!("{}{}", ["S", "K"].concat(), c.take(HEX, 32));
    token("twilio-api-key", "sms/twilio.go", "SK", twilio);
    let sg = ["S", "G."].concat();
    let sendgrid = format!("{sg}{}.{}", c.take(ALNUM, 22), c.take(ALNUM, 43));
    token("sendgrid-api-key", "mail/sendgrid.ts", &sg, sendgrid);
    let npm = ["np", "m_"].concat();
    token(
        "npm-token",
        "pkg/npmrc.txt",
        &npm,
        format!("{npm}{}", c.take(ALNUM, 36)),
    );
    let pypi = ["py", "pi-AgEIcHlwaS5vcmc"].concat();
    token(
        "pypi-token",
        "pkg/pypirc.txt",
        "pypi-",
        format!("{pypi}{}", c.take(ALNUM, 60)),
    );

    let aws_secret = c.take(B64, 40);
    let line = format!("aws_secret_access_key = {aws_secret}");
    p.push(plant(
        "aws-secret-access-key",
        "aws/credentials",
        "aws_secret_access_key",
        aws_secret,
        line,
    ));
    let header = ["-----BEGIN RSA ", "PRIVATE KEY-----"].concat();
    let body = c.take(B64, 64);
    let pem = format!(
        "{header}\n{body}\n{}\n-----END RSA PRIVATE KEY-----",
        c.take(B64, 64)
    );
    p.push(plant("private-key", "keys/id_rsa", &header, body, pem));
    let gcp_body = c.take(B64, 64);
    let json = format!(
        "{{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{gcp_body}\\n-----END PRIVATE KEY-----\\n\"}}"
    );
    p.push(plant(
        "gcp-service-account",
        "deploy/sa.json",
        "\"private_key\"",
        gcp_body,
        json,
    ));
    let password = c.take(ALNUM, 14);
    let env = format!("DB_PASSWORD={password}");
    p.push(plant(
        "dotenv-assignment",
        "config/.env",
        "DB_PASSWORD=",
        password,
        env,
    ));
    p
}

/// A test repository with `plants` committed.
fn planted(plants: &[Plant]) -> TestRepo {
    let local = TestRepo::new();
    for p in plants {
        write_file(&local.dir, &p.path, p.content.as_bytes());
    }
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Add configuration"]);
    local
}

fn findings(json: &Value) -> Vec<Value> {
    json["secret_scan"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("prepare --json has secret_scan.findings: {json}"))
        .clone()
}

/// No stream shows a key, nor the first 12 characters of what follows its shown prefix.
fn assert_redacted(out: &std::process::Output, plants: &[Plant]) {
    let (o, e) = (stdout(out), stderr(out));
    for p in plants {
        for (name, text) in [("stdout", &o), ("stderr", &e)] {
            assert!(
                !text.contains(&p.secret),
                "{name} shows the {} key:\n{text}",
                p.rule
            );
            assert!(
                !text.contains(&p.hidden),
                "{name} shows part of the {} key:\n{text}",
                p.rule
            );
        }
    }
}

#[test]
fn every_rule_finds_its_key_with_path_line_and_rule_and_never_prints_it() {
    let plants = plants(1);
    let local = planted(&plants);
    let out = local.procoder(&["prepare", "--json"]);
    assert_success(&out, "prepare --json with planted keys");
    assert_redacted(&out, &plants);
    let json = json_stdout(&out);
    let found = findings(&json);
    for p in &plants {
        let f = found
            .iter()
            .find(|f| f["rule"] == p.rule)
            .unwrap_or_else(|| panic!("no {} finding in {json}", p.rule));
        assert_eq!(f["path"], p.path.as_str(), "{f}");
        assert_eq!(f["line"], p.line, "{f}");
        assert_eq!(f["shown"], p.shown.as_str(), "{f}");
        assert_eq!(f["fingerprint"].as_str().map(str::len), Some(16), "{f}");
        let warned = json["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| {
                w.as_str()
                    .is_some_and(|w| w.contains(&format!("{}:{}: {}", p.path, p.line, p.rule)))
            });
        assert!(
            warned,
            "no warning names {}:{} {}: {json}",
            p.path, p.line, p.rule
        );
    }
    assert_eq!(found.len(), plants.len(), "one finding per key: {json}");

    // The human output: one warning per key, and still no key.
    local.procoder(&["abort", json["exchange_id"].as_str().expect("id")]);
    let out = local.procoder(&["prepare"]);
    assert_success(&out, "prepare with planted keys");
    assert_redacted(&out, &plants);
    let text = stdout(&out);
    for p in &plants {
        let line = format!(
            "warning: possible secret at {}:{}: {} ({})",
            p.path, p.line, p.rule, p.shown
        );
        assert!(text.contains(&line), "no `{line}` in:\n{text}");
    }
    assert!(
        text.contains(&format!("{} findings", plants.len())),
        "{text}"
    );
}

#[test]
fn binary_and_oversized_files_are_skipped_text_up_to_the_bound_is_scanned() {
    let mut c = Chars(2);
    let key = format!("{}{}", ["gh", "p_"].concat(), c.take(ALNUM, 36));
    let local = TestRepo::new();
    // A NUL in the first 8000 bytes makes a file binary, as git decides it...
    let mut binary = b"\0header\n".to_vec();
    binary.extend_from_slice(format!("{key}\n").as_bytes());
    write_file(&local.dir, "blob/binary.dat", &binary);
    // ...a NUL after them does not.
    let mut late_nul = vec![b'a'; 8000];
    late_nul.extend_from_slice(format!("\0\n{key}\n").as_bytes());
    write_file(&local.dir, "blob/late-nul.dat", &late_nul);
    // 1 MiB is scanned, one byte more is not.
    let pad = |total: usize| {
        let line = format!("{key}\n");
        let mut v = vec![b'.'; total - line.len() - 1];
        v.push(b'\n');
        v.extend_from_slice(line.as_bytes());
        v
    };
    write_file(&local.dir, "big/at-bound.txt", &pad(1 << 20));
    write_file(&local.dir, "big/over-bound.txt", &pad((1 << 20) + 1));
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Data"]);

    let out = local.procoder(&["prepare", "--json"]);
    assert_success(&out, "prepare");
    assert_redacted_key(&out, &key);
    let json = json_stdout(&out);
    let mut paths: Vec<String> = findings(&json)
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap_or(""), f["line"]))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["big/at-bound.txt:2", "blob/late-nul.dat:2"],
        "{json}"
    );
    let scan = &json["secret_scan"];
    // The test repository's own assets/data.bin is binary too.
    assert_eq!(scan["skipped_binary"], 2, "{scan}");
    assert_eq!(scan["skipped_large"], 1, "{scan}");
    assert_eq!(scan["max_bytes"], 1 << 20, "{scan}");
}

fn assert_redacted_key(out: &std::process::Output, key: &str) {
    assert!(!stdout(out).contains(key), "stdout shows the key");
    assert!(!stderr(out).contains(key), "stderr shows the key");
}

/// `--strict-secrets` refuses with SECRETS_FOUND; the repository is as before, with no task
/// branch, no exchange record and no package.
fn refuse(local: &TestRepo, extra: &[&str]) -> std::process::Output {
    let before = local.snapshot();
    let mut args = vec!["prepare", "--strict-secrets"];
    args.extend_from_slice(extra);
    let out = local.procoder(&args);
    if extra.contains(&"--json") {
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert_eq!(json_stdout(&out)["error"]["code"], "SECRETS_FOUND");
    } else {
        assert_code(&out, "SECRETS_FOUND");
    }
    // The snapshot holds the refs and the exchange records: none is added.
    before.assert_unchanged(&local.dir, "prepare refused with SECRETS_FOUND");
    assert!(
        !before.refs.contains("refs/heads/procoder/"),
        "no task branch"
    );
    assert_no_package(&local.dir);
    out
}

#[test]
fn strict_secrets_refuses_with_secrets_found_and_leaves_nothing_behind() {
    let plants = plants(3);
    let local = planted(&plants);
    let out = refuse(&local, &[]);
    assert_redacted(&out, &plants);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} possible secrets", plants.len())),
        "{err}"
    );
    for p in &plants {
        assert!(
            err.contains(&format!("{}:{}: {}", p.path, p.line, p.rule)),
            "{err}"
        );
    }
    assert!(
        err.contains(".procoder-allow-secrets"),
        "the hint names the allow list:\n{err}"
    );

    let out = refuse(&local, &["--json"]);
    assert_redacted(&out, &plants);
    let details = json_stdout(&out)["error"]["details"].clone();
    assert_eq!(
        details.as_array().map(Vec::len),
        Some(plants.len()),
        "{details}"
    );
}

#[test]
fn the_allow_list_accepts_its_finding_and_no_other() {
    let mut c = Chars(4);
    let npm = ["np", "m_"].concat();
    let known = format!("{npm}{}", c.take(ALNUM, 36));
    let local = TestRepo::new();
    write_file(
        &local.dir,
        "fixtures/npmrc",
        format!("//registry/:_authToken={known}\n").as_bytes(),
    );
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Fixture"]);
    let out = refuse(&local, &["--json"]);
    let fingerprint = json_stdout(&out)["error"]["details"][0]
        .as_str()
        .and_then(|d| d.rsplit("fingerprint ").next())
        .expect("the detail ends with the fingerprint")
        .to_owned();

    let list = format!(
        "# not secrets\n{fingerprint}  fixtures/npmrc: a revoked test token\nnot a fingerprint\n"
    );
    write_file(&local.dir, ".procoder-allow-secrets", list.as_bytes());
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Allow the fixture's token"]);
    let out = local.procoder(&["prepare", "--strict-secrets", "--json"]);
    assert_success(&out, "prepare --strict-secrets with the finding allowed");
    let json = json_stdout(&out);
    assert_eq!(json["secret_scan"]["allowed"], 1, "{json}");
    assert_eq!(findings(&json).len(), 0, "{json}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains(".procoder-allow-secrets has no fingerprint (16 hex digits) on line 3"),
        "{warnings}"
    );
    local.procoder(&["abort", json["exchange_id"].as_str().expect("id")]);
    let text = stdout(&local.procoder(&["prepare"]));
    assert!(
        text.contains("1 allowed by .procoder-allow-secrets"),
        "{text}"
    );
    let id = text
        .split_whitespace()
        .nth(2)
        .expect("Prepared exchange <id>.")
        .trim_end_matches('.');
    local.procoder(&["abort", id]);

    // Another token on the same line of the same file is not covered by the entry.
    let other = format!("{npm}{}", c.take(ALNUM, 36));
    write_file(
        &local.dir,
        "fixtures/npmrc",
        format!("//registry/:_authToken={other}\n").as_bytes(),
    );
    local.git(&["commit", "-q", "-am", "Another token"]);
    let out = refuse(&local, &["--json"]);
    assert_redacted_key(&out, &other);
    let details = json_stdout(&out)["error"]["details"].clone();
    assert_eq!(details.as_array().map(Vec::len), Some(1), "{details}");
    assert!(!details.to_string().contains(&fingerprint), "{details}");
}

#[test]
fn scan_history_finds_a_key_deleted_from_head_once_a_path() {
    let mut c = Chars(5);
    let key = format!("{}{}", ["AK", "IA"].concat(), c.take(UPPER, 16));
    let local = TestRepo::new();
    write_file(
        &local.dir,
        "deploy/env.sh",
        format!("# deploy\nexport AWS_ID={key}\n").as_bytes(),
    );
    local.git(&["add", "-A"]);
    local.git(&["commit", "-q", "-m", "Deploy script"]);
    // A second version of the file keeps the key: one finding, at the newest version.
    write_file(
        &local.dir,
        "deploy/env.sh",
        format!("# deploy\nexport AWS_ID={key}\nexport REGION=eu\n").as_bytes(),
    );
    local.git(&["commit", "-q", "-am", "Deploy to eu"]);
    let added = local.rev("HEAD");
    local.git(&["rm", "-q", "deploy/env.sh"]);
    local.git(&["commit", "-q", "-m", "Remove the key"]);

    let p = local.prepare();
    assert_eq!(findings(&p.json).len(), 0, "HEAD holds no key: {}", p.json);
    assert_eq!(p.json["secret_scan"]["history"], false);
    local.procoder(&["abort", &p.id]);

    let out = refuse(&local, &["--scan-history", "--json"]);
    assert_redacted_key(&out, &key);
    let detail = json_stdout(&out)["error"]["details"][0]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let expect = format!(
        "deploy/env.sh:2 in commit {}: aws-access-key-id (AKIA…)",
        &added[..12]
    );
    assert!(detail.starts_with(&expect), "{detail}");

    let p = local.prepare_with(&["--scan-history"]);
    let f = findings(&p.json);
    assert_eq!(f.len(), 1, "{}", p.json);
    assert_eq!(f[0]["commit"], added.as_str());
    assert_eq!(p.json["secret_scan"]["history"], true);
    local.procoder(&["abort", &p.id]);

    // --depth 1 exports no commit that holds the key, so there is nothing to find.
    let p = local.prepare_with(&["--scan-history", "--depth", "1", "--strict-secrets"]);
    assert_eq!(findings(&p.json).len(), 0, "{}", p.json);
}

#[test]
fn no_finding_in_the_test_repository_or_in_this_repository_with_its_history() {
    let local = TestRepo::new();
    let p = local.prepare_with(&["--strict-secrets", "--scan-history"]);
    assert_eq!(findings(&p.json).len(), 0, "{}", p.json);

    // This workspace's own tree and history, fixtures included: a clone of its branch.
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = tempfile::TempDir::new().expect("tmp");
    let clone = tmp.path().join("procoder");
    let out = git_output(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            &workspace.display().to_string(),
            "procoder",
        ],
    );
    assert_success(&out, "git clone of this workspace");
    let out = run_procoder(
        &clone,
        &["prepare", "--strict-secrets", "--scan-history", "--json"],
    );
    assert_success(
        &out,
        "prepare --strict-secrets --scan-history of this repository",
    );
    let json = json_stdout(&out);
    assert!(
        json["secret_scan"]["scanned"].as_u64().unwrap_or(0) > 100,
        "{json}"
    );
}
