//! `procoder-return/v1`: the document inside a return package, and strict reading of both documents.

use crate::{
    check_ref_name, is_in_family, root_ref, ErrorCode, ExchangeId, Failure, ObjectId,
    MAX_DOCUMENT_BYTES,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The protocol string of the return document.
pub const RETURN_PROTOCOL: &str = "procoder-return/v1";

/// More ref updates than any real task has; bounds hostile input.
const MAX_UPDATES: usize = 10_000;

/// `procoder-return.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnDoc {
    /// Always [`RETURN_PROTOCOL`].
    pub protocol: String,
    /// The exchange being returned.
    pub exchange_id: ExchangeId,
    /// RFC 3339 UTC time of the return.
    pub created_at: String,
    /// Version of the helper.
    pub tool_version: String,
    /// Name of the bundle member of the zip: a plain file name.
    pub bundle_file: String,
    /// The task family, as the export knew it.
    pub task: ReturnTask,
    /// Every family ref the agent created or moved, sorted by name.
    pub updates: Vec<RefUpdate>,
    /// Added by procoder (not in the Go tool, which ignores it): the updated refs whose tips an
    /// earlier return of this sandbox sent and that this return no longer contains (the agent
    /// amended or rebased them). Absent when empty, so a Go document round-trips as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<Replaced>,
}

/// What one ref of a return rewrites (procoder addition, see [`ReturnDoc::replaces`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    /// The ref, one of the document's updates.
    #[serde(rename = "ref")]
    pub name: String,
    /// Tips earlier returns sent for it that its new tip does not contain.
    pub earlier_tips: Vec<ObjectId>,
    /// The commits of those tips the new tip drops, newest first (at most
    /// [`MAX_REPLACED_COMMITS`]).
    pub commits: Vec<ObjectId>,
}

/// Most commits a [`Replaced`] lists; a rebase of a long branch is named by its first ones.
pub const MAX_REPLACED_COMMITS: usize = 1000;

/// The task part of a return document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnTask {
    /// `refs/heads/procoder/<id>/task`
    pub root_ref: String,
    /// Must equal the local exchange record's base.
    pub base_oid: ObjectId,
}

/// One ref the return moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefUpdate {
    /// A ref inside the family.
    #[serde(rename = "ref")]
    pub name: String,
    /// Its value in the exported package; `None` (empty string in JSON) for a ref the agent created.
    #[serde(with = "crate::oid::optional")]
    pub old_oid: Option<ObjectId>,
    /// Its value in the sandbox.
    pub new_oid: ObjectId,
}

impl ReturnDoc {
    /// Reads and validates a return document; malformed is `INVALID_RETURN_PACKAGE`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Failure> {
        let doc: Self = parse_versioned(
            bytes,
            RETURN_PROTOCOL,
            ErrorCode::InvalidReturnPackage,
            "procoder-return.json",
        )?;
        // A well-formed ref outside the family is out of scope (DESIGN.md: "a ref outside
        // the task family (or a tag) ... is named"), not a malformed document.
        for u in &doc.updates {
            if check_ref_name(&u.name).is_ok() && !is_in_family(&doc.exchange_id, &u.name) {
                return Err(Failure::new(
                    ErrorCode::RefOutOfScope,
                    format!("procoder-return.json names {:?}, outside refs/heads/procoder/{}/", u.name, doc.exchange_id),
                )
                .hint("a return may only carry branches named procoder/<id>/<name>; ask the agent to rename the branch and return again"));
            }
        }
        doc.validate().map_err(|message| {
            Failure::new(
                ErrorCode::InvalidReturnPackage,
                format!("procoder-return.json: {message}"),
            )
        })?;
        Ok(doc)
    }

    /// Two-space JSON with a trailing newline, as Go writes it.
    pub fn to_json(&self) -> String {
        go_json(self)
    }

    fn validate(&self) -> Result<(), String> {
        let id = &self.exchange_id;
        // An RFC 3339 time is ASCII; checking that first keeps non-ASCII input away from
        // `parse_rfc3339`, which slices by byte and panicked on e.g. "…41.1\u{feff}06Z"
        // (found by tests/fuzz_documents.rs).
        if !self.created_at.is_ascii() || crate::parse_rfc3339(&self.created_at).is_none() {
            return Err(format!(
                "created_at {:?} is not an RFC 3339 time",
                self.created_at
            ));
        }
        if self.tool_version.len() > 256 || self.tool_version.chars().any(char::is_control) {
            return Err("tool_version is not a short printable string".into());
        }
        check_plain_file_name(&self.bundle_file)?;
        if self.task.root_ref != root_ref(id) {
            return Err(format!(
                "task.root_ref {:?} is not {}",
                self.task.root_ref,
                root_ref(id)
            ));
        }
        if self.updates.is_empty() {
            return Err("updates is empty".into());
        }
        if self.updates.len() > MAX_UPDATES {
            return Err(format!(
                "updates lists {} refs, more than {MAX_UPDATES}",
                self.updates.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for u in &self.updates {
            check_ref_name(&u.name)?;
            if !is_in_family(id, &u.name) {
                return Err(format!(
                    "update {:?} is outside refs/heads/procoder/{id}/",
                    u.name
                ));
            }
            if !seen.insert(u.name.as_str()) {
                return Err(format!("update {:?} is listed twice", u.name));
            }
            if u.old_oid == Some(u.new_oid) {
                return Err(format!("update {:?} does not change the ref", u.name));
            }
        }
        for r in &self.replaces {
            if !seen.contains(r.name.as_str()) {
                return Err(format!(
                    "replaces names {:?}, which is not one of the updates",
                    r.name
                ));
            }
            if r.earlier_tips.is_empty() || r.earlier_tips.len() > MAX_UPDATES {
                return Err(format!(
                    "replaces {:?} lists {} earlier tips",
                    r.name,
                    r.earlier_tips.len()
                ));
            }
            if r.commits.len() > MAX_REPLACED_COMMITS {
                return Err(format!(
                    "replaces {:?} lists more than {MAX_REPLACED_COMMITS} commits",
                    r.name
                ));
            }
        }
        Ok(())
    }

    /// What this return says it replaces on `name`, if anything.
    pub fn replaced(&self, name: &str) -> Option<&Replaced> {
        self.replaces.iter().find(|r| r.name == name)
    }
}

/// A member name with no directory part, no traversal and nothing unprintable.
fn check_plain_file_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if plain {
        Ok(())
    } else {
        Err(format!("bundle_file {name:?} is not a plain file name"))
    }
}

/// Two-space JSON with a trailing newline, as Go writes both documents.
pub(crate) fn go_json<T: Serialize>(doc: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(doc).expect("plain strings, maps and lists always serialise");
    s.push('\n');
    s
}

/// Bounded, protocol-first parsing shared by both documents: an unknown protocol is reported as
/// such even when the rest of the document would not parse as this version.
pub(crate) fn parse_versioned<T: DeserializeOwned>(
    bytes: &[u8],
    protocol: &str,
    invalid: ErrorCode,
    what: &str,
) -> Result<T, Failure> {
    #[derive(Deserialize)]
    struct Probe {
        protocol: Option<serde_json::Value>,
    }
    let fail = |code, message: String| Failure::new(code, message);
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(fail(
            invalid,
            format!(
                "{what} is {} bytes, more than {MAX_DOCUMENT_BYTES}",
                bytes.len()
            ),
        ));
    }
    // serde_json refuses nesting deeper than 128 levels, so hostile depth fails fast here.
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| fail(invalid, format!("{what} is not valid JSON: {e}")))?;
    match probe.protocol {
        Some(serde_json::Value::String(p)) if p == protocol => {}
        Some(serde_json::Value::String(p)) => {
            return Err(fail(
                ErrorCode::UnsupportedProtocol,
                format!("{what} has protocol {p:?}; this procoder reads {protocol:?}"),
            ))
        }
        _ => return Err(fail(invalid, format!("{what} has no protocol string"))),
    }
    serde_json::from_slice(bytes).map_err(|e| fail(invalid, format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_RETURN: &str = include_str!("../tests/fixtures/procoder-return.json");

    #[test]
    fn go_return_document_round_trips_byte_for_byte() {
        let doc = ReturnDoc::from_json(GO_RETURN.as_bytes()).expect("the Go fixture is valid");
        assert_eq!(doc.updates.len(), 2);
        assert_eq!(doc.updates[0].old_oid, None);
        assert_eq!(doc.to_json(), GO_RETURN);
    }

    fn mutate(f: impl FnOnce(&mut serde_json::Value)) -> Result<ReturnDoc, Failure> {
        let mut v: serde_json::Value = serde_json::from_str(GO_RETURN).expect("fixture is JSON");
        f(&mut v);
        ReturnDoc::from_json(v.to_string().as_bytes())
    }

    #[test]
    fn unknown_fields_are_ignored() {
        mutate(|v| v["bundle_sha256"] = "abc".into()).expect("a new optional field is fine");
    }

    #[test]
    fn replaces_is_optional_and_checked() {
        let root = "refs/heads/procoder/20261125-010941-04c604/task";
        let tip = "1111111111111111111111111111111111111111";
        let doc = mutate(|v| {
            v["replaces"] = serde_json::json!([{"ref": root, "earlier_tips": [tip], "commits": [tip], "note": "x"}])
        })
        .expect("a replaces entry naming an update is fine, unknown keys in it too");
        assert_eq!(doc.replaced(root).map(|r| r.commits.len()), Some(1));
        let again = ReturnDoc::from_json(doc.to_json().as_bytes()).expect("round trip");
        assert_eq!(again, doc);
        for (what, entry) in [
            (
                "not an update",
                serde_json::json!({"ref": "refs/heads/procoder/20261125-010941-04c604/other", "earlier_tips": [tip], "commits": []}),
            ),
            (
                "no earlier tip",
                serde_json::json!({"ref": root, "earlier_tips": [], "commits": []}),
            ),
            (
                "bad oid",
                serde_json::json!({"ref": root, "earlier_tips": ["xyz"], "commits": []}),
            ),
        ] {
            let err = mutate(|v| v["replaces"] = serde_json::json!([entry])).expect_err(what);
            assert_eq!(err.code, ErrorCode::InvalidReturnPackage, "{what}: {err}");
        }
    }

    #[test]
    fn unknown_protocol_is_its_own_code() {
        let err =
            mutate(|v| v["protocol"] = "procoder-return/v2".into()).expect_err("v2 is unknown");
        assert_eq!(err.code, ErrorCode::UnsupportedProtocol);
    }

    #[test]
    fn every_field_is_checked() {
        type Mutation = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "no protocol",
                Box::new(|v| v["protocol"] = serde_json::Value::Null),
            ),
            ("bad id", Box::new(|v| v["exchange_id"] = "2026-x".into())),
            (
                "bad time",
                Box::new(|v| v["created_at"] = "yesterday".into()),
            ),
            (
                "non-ascii time",
                Box::new(|v| v["created_at"] = "2026-11-25T01:09:51.1\u{feff}06Z".into()),
            ),
            (
                "bundle path",
                Box::new(|v| v["bundle_file"] = "../x.bundle".into()),
            ),
            ("bundle dir", Box::new(|v| v["bundle_file"] = "a/b".into())),
            (
                "root ref",
                Box::new(|v| v["task"]["root_ref"] = "refs/heads/main".into()),
            ),
            (
                "base oid",
                Box::new(|v| v["task"]["base_oid"] = "B39E".into()),
            ),
            (
                "no updates",
                Box::new(|v| v["updates"] = serde_json::json!([])),
            ),
            (
                "bad ref",
                Box::new(|v| {
                    v["updates"][0]["ref"] =
                        "refs/heads/procoder/20261125-010941-04c604/a..b".into()
                }),
            ),
            (
                "duplicate",
                Box::new(|v| v["updates"][1]["ref"] = v["updates"][0]["ref"].clone()),
            ),
            (
                "bad new",
                Box::new(|v| v["updates"][0]["new_oid"] = "".into()),
            ),
            (
                "no-op",
                Box::new(|v| v["updates"][1]["new_oid"] = v["updates"][1]["old_oid"].clone()),
            ),
            (
                "missing field",
                Box::new(|v| {
                    v.as_object_mut().expect("object").remove("updates");
                }),
            ),
        ];
        for (what, f) in cases {
            let err = mutate(f).expect_err(what);
            assert_eq!(err.code, ErrorCode::InvalidReturnPackage, "{what}: {err}");
        }
    }

    #[test]
    fn refs_outside_the_family_are_out_of_scope() {
        for name in [
            "refs/heads/main",
            "refs/tags/procoder/20261125-010941-04c604/x",
            "refs/heads/procoder/20261125-010941-04c604",
        ] {
            let err = mutate(|v| v["updates"][0]["ref"] = name.into()).expect_err(name);
            assert_eq!(err.code, ErrorCode::RefOutOfScope, "{name}: {err}");
        }
    }

    #[test]
    fn hostile_shapes_fail_fast() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            ReturnDoc::from_json(deep.as_bytes())
                .expect_err("deep")
                .code,
            ErrorCode::InvalidReturnPackage
        );
        let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(
            ReturnDoc::from_json(&huge).expect_err("huge").code,
            ErrorCode::InvalidReturnPackage
        );
    }

    #[test]
    fn go_exchange_record_round_trips_byte_for_byte() {
        let text = include_str!("../tests/fixtures/exchange.json");
        let doc = crate::Exchange::from_json(text.as_bytes()).expect("the Go fixture is valid");
        assert_eq!(doc.context.heads.len(), 2);
        assert_eq!(doc.to_json(), text);
    }
}
