//! One line of `.git/procoder/exchanges/<id>/log.jsonl`. Versioned like the documents.

use crate::ObjectId;
use serde::{Deserialize, Serialize};

/// The version written in every record's `v` field.
pub const JOURNAL_VERSION: u32 = 1;

/// A log line: `{"v","seq","at","op","step",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// [`JOURNAL_VERSION`].
    pub v: u32,
    /// 1, 2, 3, … within one exchange's log.
    pub seq: u64,
    /// RFC 3339 UTC time of the record.
    pub at: String,
    /// Which command wrote it: `prepare`, `apply`, `abort` or `close`.
    pub op: String,
    /// The step and its facts.
    #[serde(flatten)]
    pub entry: Entry,
}

/// A ref change an apply intends: `old` is `None` for a ref that did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefEdit {
    /// The local ref (after any `--namespace` mapping).
    pub name: String,
    /// Its value when the plan was made.
    #[serde(with = "crate::oid::optional")]
    pub old: Option<ObjectId>,
    /// Its value after the apply.
    pub new: ObjectId,
}

/// The steps of prepare, apply and abort. `step` is the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Entry {
    /// prepare: the record is written; nothing else exists yet.
    Begin {
        /// The task branch to create.
        task_ref: String,
        /// Its commit.
        base_oid: ObjectId,
        /// Absolute path the task package is written to.
        package: String,
    },
    /// prepare: the task branch exists.
    BranchCreated,
    /// prepare: the task package is in place.
    PackageWritten,
    /// prepare: done (the exclude line is written too).
    Prepared,
    /// apply: every check passed and objects are in the store; nothing moved yet.
    Plan {
        /// Transaction id, unique within the exchange.
        tx: u64,
        /// The return package applied.
        package: String,
        /// Every ref to move.
        edits: Vec<RefEdit>,
        /// Whether the apply checks anything out (`--checkout`).
        #[serde(default)]
        checkout: bool,
        /// The work trees `--checkout` moves once every ref is in place (added after v1's
        /// first release: absent in older logs, whose checkouts ran before the refs moved).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        checkouts: Vec<CheckoutStep>,
    },
    /// apply: one ref of the plan is at its new value.
    RefUpdated {
        /// The transaction.
        tx: u64,
        /// The ref moved.
        name: String,
    },
    /// apply `--checkout`: one work tree of the plan is on its branch at its new tip.
    CheckedOut {
        /// The transaction.
        tx: u64,
        /// The work tree, as the plan names it.
        worktree: String,
    },
    /// apply: the transaction is complete. The only point of truth for "applied".
    Committed {
        /// The transaction.
        tx: u64,
    },
    /// apply --abort: every ref of the transaction is back at its old value.
    RolledBack {
        /// The transaction.
        tx: u64,
    },
    /// abort: the exchange is closed.
    Aborted,
    /// close: the exchange is finished; its branches stay (they are the user's work now).
    Closed,
}

/// One work tree an apply `--checkout` moves: from `from` (what its HEAD, index and files
/// hold when the plan is made) to `branch` at `to`, like `git switch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutStep {
    /// The work tree's path.
    pub worktree: String,
    /// The branch HEAD is on when the plan is made (`None`: detached), which `--abort` puts back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The commit checked out when the plan is made.
    pub from: ObjectId,
    /// The branch checked out at the end.
    pub branch: String,
    /// Its tip after the apply.
    pub to: ObjectId,
}

impl Entry {
    /// The record's `step` tag (what `PROCODER_TEST_CRASH_AFTER` names): one name per step,
    /// spelled here once so the log, the state and the crash hook cannot disagree.
    pub fn step(&self) -> &'static str {
        match self {
            Entry::Begin { .. } => "begin",
            Entry::BranchCreated => "branch_created",
            Entry::PackageWritten => "package_written",
            Entry::Prepared => "prepared",
            Entry::Plan { .. } => "plan",
            Entry::RefUpdated { .. } => "ref_updated",
            Entry::CheckedOut { .. } => "checked_out",
            Entry::Committed { .. } => "committed",
            Entry::RolledBack { .. } => "rolled_back",
            Entry::Aborted => "aborted",
            Entry::Closed => "closed",
        }
    }

    /// The command that writes this step.
    pub fn op(&self) -> &'static str {
        match self {
            Entry::Begin { .. }
            | Entry::BranchCreated
            | Entry::PackageWritten
            | Entry::Prepared => "prepare",
            Entry::Plan { .. }
            | Entry::RefUpdated { .. }
            | Entry::CheckedOut { .. }
            | Entry::Committed { .. }
            | Entry::RolledBack { .. } => "apply",
            Entry::Aborted => "abort",
            Entry::Closed => "close",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_flat_json_lines() {
        let oid = ObjectId::parse("b39e6197ab2068454f2e6481c5e982dc88b4edfa").expect("valid");
        let rec = LogRecord {
            v: JOURNAL_VERSION,
            seq: 2,
            at: "2026-11-25T01:09:41Z".into(),
            op: "apply".into(),
            entry: Entry::Plan {
                tx: 1,
                package: "/p.zip".into(),
                edits: vec![RefEdit {
                    name: "refs/heads/x".into(),
                    old: None,
                    new: oid,
                }],
                checkout: true,
                checkouts: vec![CheckoutStep {
                    worktree: "/w".into(),
                    head: None,
                    from: oid,
                    branch: "refs/heads/x".into(),
                    to: oid,
                }],
            },
        };
        let line = serde_json::to_string(&rec).expect("serialises");
        assert!(
            line.starts_with(
                r#"{"v":1,"seq":2,"at":"2026-11-25T01:09:41Z","op":"apply","step":"plan","tx":1"#
            ),
            "{line}"
        );
        assert_eq!(
            serde_json::from_str::<LogRecord>(&line).expect("parses"),
            rec
        );
    }

    #[test]
    fn a_plan_of_an_older_log_has_no_checkouts() {
        let line = r#"{"v":1,"seq":5,"at":"2026-11-25T01:09:41Z","op":"apply","step":"plan","tx":1,"package":"/r.zip","edits":[],"checkout":true}"#;
        let rec: LogRecord = serde_json::from_str(line).expect("parses");
        assert!(
            matches!(rec.entry, Entry::Plan { checkouts, .. } if checkouts.is_empty()),
            "{line}"
        );
    }

    #[test]
    fn step_is_the_serialised_tag() {
        let oid = ObjectId::parse("b39e6197ab2068454f2e6481c5e982dc88b4edfa").expect("valid");
        let every = [
            Entry::Begin {
                task_ref: "refs/heads/procoder/x/task".into(),
                base_oid: oid,
                package: "/p.zip".into(),
            },
            Entry::BranchCreated,
            Entry::PackageWritten,
            Entry::Prepared,
            Entry::Plan {
                tx: 1,
                package: "/r.zip".into(),
                edits: Vec::new(),
                checkout: false,
                checkouts: Vec::new(),
            },
            Entry::RefUpdated {
                tx: 1,
                name: "refs/heads/x".into(),
            },
            Entry::CheckedOut {
                tx: 1,
                worktree: "/w".into(),
            },
            Entry::Committed { tx: 1 },
            Entry::RolledBack { tx: 1 },
            Entry::Aborted,
            Entry::Closed,
        ];
        for entry in every {
            let value = serde_json::to_value(&entry).expect("serialises");
            assert_eq!(value["step"], entry.step(), "{value}");
        }
    }
}
