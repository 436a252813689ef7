//! The task family: `refs/heads/procoder/<id>/*`, the only refs an exchange may touch.

use crate::ExchangeId;

/// `refs/heads/procoder/<id>`, the prefix of every ref in the family.
pub fn family_prefix(id: &ExchangeId) -> String {
    format!("refs/heads/procoder/{id}")
}

/// `refs/heads/procoder/<id>/task`, the branch prepare creates.
pub fn root_ref(id: &ExchangeId) -> String {
    format!("refs/heads/procoder/{id}/task")
}

/// Whether `name` lies strictly inside the family (`<prefix>/<rest>`, rest non-empty).
pub fn is_in_family(id: &ExchangeId, name: &str) -> bool {
    let prefix = family_prefix(id);
    name.strip_prefix(prefix.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|rest| !rest.is_empty())
}

/// Where `--namespace P` puts a family ref: `refs/heads/procoder/<id>/x` → `refs/heads/P/<id>/x`.
/// `None` keeps the name. A name outside the family is returned unchanged (callers refuse those earlier).
pub fn map_namespace(id: &ExchangeId, name: &str, namespace: Option<&str>) -> String {
    let Some(ns) = namespace else {
        return name.to_owned();
    };
    match name.strip_prefix(family_prefix(id).as_str()) {
        Some(rest) => format!("refs/heads/{ns}/{id}{rest}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ExchangeId {
        ExchangeId::parse("20261125-010941-04c604").expect("valid id")
    }

    #[test]
    fn family_membership() {
        let id = id();
        assert!(is_in_family(
            &id,
            "refs/heads/procoder/20261125-010941-04c604/task"
        ));
        assert!(is_in_family(
            &id,
            "refs/heads/procoder/20261125-010941-04c604/a/b"
        ));
        assert!(!is_in_family(
            &id,
            "refs/heads/procoder/20261125-010941-04c604"
        ));
        assert!(!is_in_family(
            &id,
            "refs/heads/procoder/20261125-010941-04c604/"
        ));
        assert!(!is_in_family(
            &id,
            "refs/heads/procoder/20261125-010941-04c6045/task"
        ));
        assert!(!is_in_family(&id, "refs/heads/main"));
        assert!(!is_in_family(
            &id,
            "refs/tags/procoder/20261125-010941-04c604/task"
        ));
    }

    #[test]
    fn namespace_mapping() {
        let id = id();
        let task = root_ref(&id);
        assert_eq!(map_namespace(&id, &task, None), task);
        assert_eq!(
            map_namespace(&id, &task, Some("procoder-import")),
            "refs/heads/procoder-import/20261125-010941-04c604/task"
        );
    }
}
