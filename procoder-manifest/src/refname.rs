//! git's ref-name rules (`git check-ref-format`), applied to every name a document carries.

/// Checks a full ref name (`refs/...`) against git's rules. The error names the rule broken.
pub fn check_ref_name(name: &str) -> Result<(), String> {
    let fail = |why: &str| Err(format!("ref name {name:?} is invalid: {why}"));
    if !name.starts_with("refs/") {
        return fail("it does not start with refs/");
    }
    if name.len() > 1024 {
        return fail("it is longer than 1024 bytes");
    }
    if name.ends_with('/') || name.contains("//") {
        return fail("it has an empty component");
    }
    if name.ends_with('.') {
        return fail("it ends with a dot");
    }
    if name.contains("..") {
        return fail("it contains '..'");
    }
    if name.contains("@{") {
        return fail("it contains '@{'");
    }
    if let Some(c) = name.chars().find(|&c| {
        c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return fail(&format!("it contains the character {c:?}"));
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return fail("a component starts with a dot");
        }
        if component.ends_with(".lock") {
            return fail("a component ends with .lock");
        }
    }
    Ok(())
}

/// Checks a `--namespace` prefix: one or more ref-name components, no leading `refs/`.
pub fn validate_namespace(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.starts_with("refs/") {
        return Err(format!(
            "namespace {prefix:?} must be a branch prefix such as procoder-import"
        ));
    }
    check_ref_name(&format!("refs/heads/{prefix}/x"))
        .map_err(|_| format!("namespace {prefix:?} is not usable in a branch name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "refs/heads/main",
            "refs/heads/procoder/20261125-010941-04c604/task",
            "refs/tags/v1.0",
            "refs/heads/a-b_c",
        ] {
            check_ref_name(ok).expect(ok);
        }
    }

    #[test]
    fn refuses_every_rule_of_check_ref_format() {
        for bad in [
            "heads/main",
            "refs/heads/",
            "refs/heads//x",
            "refs/heads/x.",
            "refs/heads/a..b",
            "refs/heads/x@{1}",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[",
            "refs/heads/a\\b",
            "refs/heads/.hidden",
            "refs/heads/x.lock",
            "refs/heads/a\u{7f}",
            "refs/heads/a\nb",
            "refs/heads/a\0b",
        ] {
            assert!(check_ref_name(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn namespace_rules() {
        validate_namespace("procoder-import").expect("plain prefix");
        validate_namespace("team/import").expect("nested prefix");
        for bad in ["", "refs/heads/x", "a..b", "x.lock", "a b"] {
            assert!(validate_namespace(bad).is_err(), "{bad:?}");
        }
    }
}
