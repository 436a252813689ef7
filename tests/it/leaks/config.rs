//! Config and hooks: credentials in remote URLs, `pushurl`, `credential.*`, `url.*.insteadOf`,
//! `http.extraHeader`, every other key beyond core + identity + `commit.gpgsign`, the files
//! `include.path`, `includeIf` and friends name, `config.worktree`, and hooks in `.git/hooks`
//! and in the folder `core.hooksPath` names.

use super::*;

/// Keys set with `git config --add`: (key, value, secret name). `{}` in the key or the value
/// stands for the secret's marker.
const KEYS: &[(&str, &str, &str)] = &[
    (
        "remote.origin.url",
        "https://user:{}@example.com/r.git",
        "remote-url-token",
    ),
    (
        "remote.origin.pushurl",
        "https://user:{}@example.com/r.git",
        "remote-pushurl-token",
    ),
    (
        "remote.origin.proxy",
        "http://{}@proxy.example.com",
        "remote-proxy",
    ),
    (
        "remote.backup.url",
        "ssh://git@{}.example.com/r.git",
        "remote-backup-url",
    ),
    (
        "credential.helper",
        "store --file=/tmp/{}",
        "credential-helper",
    ),
    (
        "credential.https://example.com.username",
        "{}",
        "credential-username",
    ),
    ("url.https://{}@example.com/.insteadOf", "gh:", "insteadof"),
    (
        "url.https://{}@example.com/.pushInsteadOf",
        "ghp:",
        "pushinsteadof",
    ),
    (
        "http.extraHeader",
        "Authorization: Bearer {}",
        "http-extraheader",
    ),
    (
        "http.https://example.com.extraHeader",
        "X-Token: {}",
        "http-url-extraheader",
    ),
    ("http.proxy", "http://{}@proxy.example.com", "http-proxy"),
    ("alias.x", "!echo {}", "alias"),
    ("core.sshCommand", "ssh -i /keys/{}", "core-sshcommand"),
    ("core.askPass", "/bin/{}", "core-askpass"),
    ("core.editor", "vi -c {}", "core-editor"),
    ("user.signingKey", "{}", "user-signingkey"),
    ("gpg.program", "/bin/{}", "gpg-program"),
    ("sendemail.smtpPass", "{}", "sendemail-smtppass"),
    ("lfs.url", "https://{}@lfs.example.com", "lfs-url"),
    (
        "submodule.lib.url",
        "https://{}@example.com/lib.git",
        "submodule-url",
    ),
    ("branch.main.description", "{}", "branch-description"),
    ("secret.token", "{}", "custom-section"),
];

#[test]
fn issue_6_config_and_hooks_do_not_leak() {
    let local = TestRepo::new();
    let canaries = plant_canaries(&local);
    let mut p = Plants::default();
    let d = &local.dir;
    let outside = d.parent().expect("the repo folder has a parent");
    let set = |key: &str, value: &str| local.git(&["config", "--add", key, value]);
    let path_str = |path: &Path| path.to_str().expect("utf-8 temp path").to_owned();

    for (key, value, name) in KEYS {
        let marker = p.secret(name, &format!("config {key}"));
        set(&key.replace("{}", &marker), &value.replace("{}", &marker));
    }
    set("branch.main.remote", "origin");

    // Per-worktree config (config.worktree), read by git when the extension is on.
    set("extensions.worktreeConfig", "true");
    let per_worktree = p.secret("config-worktree", "a key of .git/config.worktree");
    local.git(&["config", "--worktree", "secret.perWorktree", &per_worktree]);
    assert!(d.join(".git/config.worktree").is_file(), "config.worktree");

    // Files the config names: their contents must not travel either.
    let included = outside.join("included.gitconfig");
    let inc = p.secret("include-path", "a key in the file include.path names");
    std::fs::write(&included, format!("[alias]\n\tinc = !echo {inc}\n")).expect("an include");
    set("include.path", &path_str(&included));
    let conditional = outside.join("conditional.gitconfig");
    let inc_if = p.secret("includeif-path", "a key in the file includeIf.*.path names");
    let body = format!("[secret]\n\tfromIncludeIf = {inc_if}\n");
    std::fs::write(&conditional, body).expect("a conditional include");
    set(
        &format!("includeIf.gitdir:{}/.path", d.display()),
        &path_str(&conditional),
    );
    set("includeIf.onbranch:main.path", &path_str(&conditional));
    let template = outside.join("template.txt");
    let tmpl = p.secret("commit-template", "the file commit.template names");
    std::fs::write(&template, format!("{tmpl}\n")).expect("a commit template");
    set("commit.template", &path_str(&template));
    let excludes = outside.join("excludes");
    let excl = p.secret(
        "core-excludesfile",
        "a line of the file core.excludesFile names",
    );
    std::fs::write(&excludes, format!("{excl}\n")).expect("an excludes file");
    set("core.excludesFile", &path_str(&excludes));
    let attributes = outside.join("attributes");
    let attr = p.secret(
        "core-attributesfile",
        "a line of the file core.attributesFile names",
    );
    std::fs::write(&attributes, format!("*.nothing diff={attr}\n")).expect("an attributes file");
    set("core.attributesFile", &path_str(&attributes));

    // Hooks: in .git/hooks, and in the folder core.hooksPath names.
    for hook in ["pre-commit", "post-checkout"] {
        let marker = p.secret(&format!("hook-{hook}"), &format!(".git/hooks/{hook}"));
        let rel = format!(".git/hooks/{hook}");
        write_file(d, &rel, format!("#!/bin/sh\necho {marker}\n").as_bytes());
        set_mode(&d.join(rel), 0o755);
    }
    let hooks_path = outside.join("shared-hooks");
    let pre_push = p.secret(
        "hookspath-pre-push",
        "a hook in the folder core.hooksPath names",
    );
    let hook = format!("#!/bin/sh\necho {pre_push}\n");
    write_file(&hooks_path, "pre-push", hook.as_bytes());
    set_mode(&hooks_path.join("pre-push"), 0o755);
    set("core.hooksPath", &path_str(&hooks_path));

    // git itself sees every key (includes, conditional includes and config.worktree too).
    let seen = local.git(&["config", "--list", "--show-origin"]);
    for (name, value) in [
        ("alias.inc", format!("!echo {inc}")),
        ("secret.fromincludeif", inc_if),
        ("secret.perworktree", per_worktree),
    ] {
        assert!(
            seen.contains(&format!("{name}={value}")),
            "git does not read {name}:\n{seen}"
        );
    }
    audit(&local, &p, &canaries, &[]);
}
