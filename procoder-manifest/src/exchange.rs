//! `procoder-exchange/v1`: what prepare recorded, locally and inside the task package.

use crate::{check_ref_name, family_prefix, root_ref, ErrorCode, ExchangeId, Failure, ObjectId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol string of the exchange record.
pub const EXCHANGE_PROTOCOL: &str = "procoder-exchange/v1";

/// `.git/procoder/exchanges/<id>/exchange.json` and, in the export, `.git/procoder/exchange.json`.
/// Field order is the Go procoder's, so the JSON text matches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Always [`EXCHANGE_PROTOCOL`].
    pub protocol: String,
    /// The exchange this record describes.
    pub exchange_id: ExchangeId,
    /// RFC 3339 UTC time of prepare.
    pub created_at: String,
    /// Version of the tool that prepared.
    pub tool_version: String,
    /// The branch prepare ran on.
    pub source: Source,
    /// The task family.
    pub task: TaskRefs,
    /// Every head and tag exported with the task (tags by their own id, not peeled).
    pub context: Context,
}

/// The branch checked out when prepare ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `refs/heads/...`
    pub head_ref: String,
    /// Its tip at prepare time (equals `task.base_oid`).
    pub head_oid: ObjectId,
}

/// The task family of an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRefs {
    /// `refs/heads/procoder/<id>/task`
    pub root_ref: String,
    /// `refs/heads/procoder/<id>`
    pub ref_prefix: String,
    /// The commit every returned tip must descend from.
    pub base_oid: ObjectId,
}

/// Local heads and tags at prepare time. Empty maps are left out, as Go does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// `refs/heads/*` → commit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub heads: BTreeMap<String, ObjectId>,
    /// `refs/tags/*` → tag object or commit, unpeeled.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, ObjectId>,
}

impl Exchange {
    /// Reads and validates a record. Errors carry `code` (for this document, malformed means
    /// `INVALID_EXCHANGE`; an unknown protocol is `UNSUPPORTED_PROTOCOL`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Failure> {
        let doc: Self = crate::return_doc::parse_versioned(
            bytes,
            EXCHANGE_PROTOCOL,
            ErrorCode::InvalidExchange,
            "exchange record",
        )?;
        doc.validate()
            .map_err(|message| Failure::new(ErrorCode::InvalidExchange, message))?;
        Ok(doc)
    }

    /// Two-space JSON with a trailing newline, as Go writes it.
    pub fn to_json(&self) -> String {
        crate::return_doc::go_json(self)
    }

    fn validate(&self) -> Result<(), String> {
        let id = &self.exchange_id;
        if crate::parse_rfc3339(&self.created_at).is_none() {
            return Err(format!(
                "created_at {:?} is not an RFC 3339 time",
                self.created_at
            ));
        }
        check_ref_name(&self.source.head_ref)?;
        if !self.source.head_ref.starts_with("refs/heads/") {
            return Err(format!(
                "source.head_ref {:?} is not a branch",
                self.source.head_ref
            ));
        }
        if self.task.root_ref != root_ref(id) {
            return Err(format!(
                "task.root_ref {:?} is not {}",
                self.task.root_ref,
                root_ref(id)
            ));
        }
        if self.task.ref_prefix != family_prefix(id) {
            return Err(format!(
                "task.ref_prefix {:?} is not {}",
                self.task.ref_prefix,
                family_prefix(id)
            ));
        }
        for (name, kind) in self
            .context
            .heads
            .keys()
            .map(|n| (n, "refs/heads/"))
            .chain(self.context.tags.keys().map(|n| (n, "refs/tags/")))
        {
            check_ref_name(name)?;
            if !name.starts_with(kind) {
                return Err(format!("context ref {name:?} is not under {kind}"));
            }
        }
        Ok(())
    }
}
