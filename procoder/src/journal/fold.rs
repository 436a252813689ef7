//! What a log says, as pure functions of its bytes: `parse` splits them into records (a torn
//! last line is not one) and `fold` reduces the records to the exchange's state. No I/O here,
//! so every rule recovery relies on is unit tested on its own; `journal` reads and writes.

use procoder_manifest::{CheckoutStep, Entry, LogRecord, ObjectId, RefEdit};
use std::collections::BTreeMap;

/// The records in a log's bytes.
#[derive(Debug)]
pub struct Parsed {
    /// Every record, an unterminated last line included when it still parses.
    pub records: Vec<LogRecord>,
    /// Bytes up to the last newline: what is left once a torn end is cut off.
    pub whole: usize,
    /// The last record is that unterminated line, so cutting the torn end drops it too.
    pub unterminated: bool,
}

/// A line that does not parse and is not the last one: skipping it could hide a moved ref.
#[derive(Debug)]
pub struct Damaged {
    /// Its number, counting non-empty lines from 1.
    pub line: usize,
    pub error: serde_json::Error,
}

/// Splits a log into records. Only the last line may fail to parse, and only when no newline
/// ends it: that is a crash in the middle of a write, and the record never counted.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Damaged> {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let complete = bytes.ends_with(b"\n");
    let mut records = Vec::with_capacity(lines.len());
    let mut unterminated = false;
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        match serde_json::from_slice::<LogRecord>(line) {
            Ok(r) => {
                records.push(r);
                unterminated = last && !complete;
            }
            Err(_) if last && !complete => break,
            Err(error) => return Err(Damaged { line: i + 1, error }),
        }
    }
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    Ok(Parsed {
        records,
        whole,
        unterminated,
    })
}

/// What the log says about an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// A prepare that did not finish (crash or kill): `step` is the last step logged.
    /// `procoder abort` cleans it up.
    Preparing { step: &'static str },
    /// Prepared, never applied.
    Prepared,
    /// At least one apply committed.
    Applied { times: usize },
    /// Closed by `procoder abort`.
    Aborted,
    /// Finished by `procoder close`: applied, and the branches kept.
    Closed,
    /// An apply recorded its plan but neither committed nor rolled back.
    Interrupted {
        tx: u64,
        edits: Vec<RefEdit>,
        done: Vec<String>,
        checkout: bool,
        /// The work trees `--checkout` moves after the refs, and those already moved.
        checkouts: Vec<CheckoutStep>,
        checked_out: Vec<String>,
        package: String,
    },
}

/// Everything the records of one exchange say, in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub state: State,
    /// The task package path prepare recorded.
    pub package: Option<String>,
    /// The value each ref had after the last committed apply of this exchange: a later return
    /// may fast-forward over these without `BRANCH_MOVED`.
    pub applied: BTreeMap<String, ObjectId>,
    /// The transaction id the next apply takes.
    pub next_tx: u64,
}

/// Folds `records`, oldest first, into their [`Summary`].
pub fn fold(records: &[LogRecord]) -> Summary {
    // A record with no log at all: prepare stopped right after writing it.
    let mut state = State::Preparing { step: "record" };
    let mut package = None;
    let mut times = 0;
    let mut planned: BTreeMap<u64, &Vec<RefEdit>> = BTreeMap::new();
    let mut applied = BTreeMap::new();
    let mut last_tx = None;
    for r in records {
        match &r.entry {
            Entry::Begin { package: p, .. } => {
                package.get_or_insert_with(|| p.clone());
                state = State::Preparing {
                    step: r.entry.step(),
                };
            }
            Entry::BranchCreated | Entry::PackageWritten => {
                state = State::Preparing {
                    step: r.entry.step(),
                }
            }
            Entry::Prepared => state = State::Prepared,
            Entry::Plan {
                tx,
                edits,
                checkout,
                checkouts,
                package,
            } => {
                planned.insert(*tx, edits);
                last_tx = last_tx.max(Some(*tx));
                state = State::Interrupted {
                    tx: *tx,
                    edits: edits.clone(),
                    done: Vec::new(),
                    checkout: *checkout,
                    checkouts: checkouts.clone(),
                    checked_out: Vec::new(),
                    package: package.clone(),
                }
            }
            Entry::RefUpdated { name, .. } => {
                if let State::Interrupted { done, .. } = &mut state {
                    done.push(name.clone());
                }
            }
            Entry::CheckedOut { worktree, .. } => {
                if let State::Interrupted { checked_out, .. } = &mut state {
                    checked_out.push(worktree.clone());
                }
            }
            Entry::Committed { tx } => {
                for e in planned.get(tx).into_iter().flat_map(|v| v.iter()) {
                    applied.insert(e.name.clone(), e.new);
                }
                // A transaction that moved no ref (`--checkout` of an applied exchange) only
                // switched a work tree: it is not another apply.
                if planned.get(tx).is_some_and(|edits| !edits.is_empty()) {
                    times += 1;
                }
                state = if times > 0 {
                    State::Applied { times }
                } else {
                    State::Prepared
                };
            }
            Entry::RolledBack { .. } => {
                state = if times > 0 {
                    State::Applied { times }
                } else {
                    State::Prepared
                }
            }
            Entry::Aborted => state = State::Aborted,
            Entry::Closed => state = State::Closed,
        }
    }
    Summary {
        state,
        package,
        applied,
        // A damaged or hand-edited log may name tx u64::MAX: the next apply then reuses that
        // id instead of overflowing, which the fold tolerates (a later plan of an id replaces
        // the earlier one).
        next_tx: last_tx.map_or(1, |tx| tx.saturating_add(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(c: char) -> ObjectId {
        ObjectId::parse(&c.to_string().repeat(40)).expect("40 hex digits")
    }

    fn edit(name: &str, old: Option<char>, new: char) -> RefEdit {
        RefEdit {
            name: name.into(),
            old: old.map(oid),
            new: oid(new),
        }
    }

    /// The log bytes of `entries`, one line each, numbered from 1.
    fn log(entries: &[Entry]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let record = LogRecord {
                v: procoder_manifest::JOURNAL_VERSION,
                seq: i as u64 + 1,
                at: "2026-11-25T01:09:41Z".into(),
                op: entry.op().into(),
                entry: entry.clone(),
            };
            out.extend(serde_json::to_vec(&record).expect("serialises"));
            out.push(b'\n');
        }
        out
    }

    fn summary(entries: &[Entry]) -> Summary {
        fold(&parse(&log(entries)).expect("a whole log").records)
    }

    /// Found while writing the fuzz target `log_lines`: `last_tx + 1` overflowed (a panic
    /// under debug assertions, tx 0 in release) on a plan with the largest tx.
    #[test]
    fn the_largest_tx_does_not_overflow() {
        let line = br#"{"v":1,"seq":1,"at":"2026-11-25T01:09:41Z","op":"apply","step":"plan","tx":18446744073709551615,"package":"/r.zip","edits":[]}
"#;
        let parsed = parse(line).expect("one whole line");
        assert_eq!(fold(&parsed.records).next_tx, u64::MAX);
    }

    fn prepared() -> Vec<Entry> {
        vec![
            Entry::Begin {
                task_ref: "refs/heads/procoder/x/task".into(),
                base_oid: oid('a'),
                package: "/w/procoder-task-x.zip".into(),
            },
            Entry::BranchCreated,
            Entry::PackageWritten,
            Entry::Prepared,
        ]
    }

    fn plan(tx: u64, edits: Vec<RefEdit>) -> Entry {
        Entry::Plan {
            tx,
            package: format!("/r{tx}.zip"),
            edits,
            checkout: false,
            checkouts: Vec::new(),
        }
    }

    /// A whole apply of `edits` as transaction `tx`.
    fn applied(tx: u64, edits: Vec<RefEdit>) -> Vec<Entry> {
        let mut out = vec![plan(tx, edits.clone())];
        out.extend(
            edits
                .into_iter()
                .map(|e| Entry::RefUpdated { tx, name: e.name }),
        );
        out.push(Entry::Committed { tx });
        out
    }

    #[test]
    fn a_record_without_a_log_is_a_prepare_that_stopped() {
        let s = fold(&[]);
        assert_eq!(s.state, State::Preparing { step: "record" });
        assert_eq!((s.package, s.next_tx), (None, 1));
    }

    #[test]
    fn every_prepare_step_but_the_last_is_preparing() {
        let steps = prepared();
        for n in 1..steps.len() {
            let s = summary(&steps[..n]);
            assert_eq!(
                s.state,
                State::Preparing {
                    step: steps[n - 1].step()
                }
            );
            assert_eq!(s.package.as_deref(), Some("/w/procoder-task-x.zip"));
        }
        assert_eq!(summary(&steps).state, State::Prepared);
    }

    #[test]
    fn a_torn_last_line_is_not_a_record() {
        let mut entries = prepared();
        entries.extend(applied(1, vec![edit("refs/heads/t", Some('a'), 'b')]));
        let bytes = log(&entries);
        let committed_starts = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .expect("several lines")
            + 1;
        let torn = &bytes[..committed_starts + 20];
        let parsed = parse(torn).expect("a torn end is not damage");
        assert_eq!(parsed.records.len(), entries.len() - 1);
        assert_eq!(parsed.whole, committed_starts);
        assert!(!parsed.unterminated);
        let State::Interrupted {
            tx, edits, done, ..
        } = fold(&parsed.records).state
        else {
            panic!("the plan has no committed line")
        };
        assert_eq!(
            (tx, edits.len(), done),
            (1, 1, vec!["refs/heads/t".to_owned()])
        );
    }

    #[test]
    fn an_unterminated_line_that_parses_is_a_record_cut_with_the_torn_end() {
        let bytes = log(&prepared());
        let parsed = parse(&bytes[..bytes.len() - 1]).expect("parses");
        assert_eq!(parsed.records.len(), 4);
        assert!(parsed.unterminated);
        assert!(parsed.whole < bytes.len() - 1);
        assert_eq!(parse(&bytes).expect("parses").whole, bytes.len());
    }

    #[test]
    fn a_damaged_line_is_an_error_unless_it_is_a_torn_end() {
        let mut bytes = log(&prepared()[..1]);
        let first = bytes.len();
        bytes.extend(b"{not json}\n");
        bytes.extend(log(&prepared()[1..2]));
        assert_eq!(parse(&bytes).expect_err("damaged in the middle").line, 2);
        let with_newline = &bytes[..first + 11];
        assert_eq!(
            parse(with_newline).expect_err("a whole damaged line").line,
            2
        );
        let torn = parse(&bytes[..first + 10]).expect("a torn end");
        assert_eq!((torn.records.len(), torn.whole), (1, first));
        assert!(!torn.unterminated);
    }

    #[test]
    fn rollback_after_a_commit_keeps_the_committed_values() {
        let mut entries = prepared();
        entries.extend(applied(1, vec![edit("refs/heads/t", Some('a'), 'b')]));
        entries.push(plan(2, vec![edit("refs/heads/t", Some('b'), 'c')]));
        entries.push(Entry::RefUpdated {
            tx: 2,
            name: "refs/heads/t".into(),
        });
        entries.push(Entry::RolledBack { tx: 2 });
        let s = summary(&entries);
        assert_eq!(s.state, State::Applied { times: 1 });
        assert_eq!(s.applied.get("refs/heads/t"), Some(&oid('b')));
        assert_eq!(s.next_tx, 3);
    }

    #[test]
    fn rollback_of_the_first_apply_is_prepared_again() {
        let mut entries = prepared();
        entries.push(plan(1, vec![edit("refs/heads/t", Some('a'), 'b')]));
        entries.push(Entry::RolledBack { tx: 1 });
        let s = summary(&entries);
        assert_eq!(s.state, State::Prepared);
        assert!(s.applied.is_empty());
        assert_eq!(s.next_tx, 2);
    }

    #[test]
    fn two_transactions_count_twice_and_the_later_values_win() {
        let mut entries = prepared();
        entries.extend(applied(
            1,
            vec![
                edit("refs/heads/t", Some('a'), 'b'),
                edit("refs/heads/e", None, 'd'),
            ],
        ));
        entries.extend(applied(2, vec![edit("refs/heads/t", Some('b'), 'c')]));
        let s = summary(&entries);
        assert_eq!(s.state, State::Applied { times: 2 });
        assert_eq!(s.applied.get("refs/heads/t"), Some(&oid('c')));
        assert_eq!(s.applied.get("refs/heads/e"), Some(&oid('d')));
        assert_eq!(s.next_tx, 3);
        assert_eq!(s.package.as_deref(), Some("/w/procoder-task-x.zip"));
    }

    #[test]
    fn an_interrupted_second_apply_counts_only_its_own_refs() {
        let mut entries = prepared();
        entries.extend(applied(1, vec![edit("refs/heads/t", Some('a'), 'b')]));
        entries.push(plan(2, vec![edit("refs/heads/t", Some('b'), 'c')]));
        let State::Interrupted { tx, done, .. } = summary(&entries).state else {
            panic!("the second plan neither committed nor rolled back")
        };
        assert_eq!((tx, done.len()), (2, 0));
    }

    #[test]
    fn close_after_an_apply_is_closed() {
        let mut entries = prepared();
        entries.extend(applied(1, vec![edit("refs/heads/t", Some('a'), 'b')]));
        entries.push(Entry::Closed);
        let s = summary(&entries);
        assert_eq!(s.state, State::Closed);
        assert_eq!(s.applied.get("refs/heads/t"), Some(&oid('b')));
    }

    #[test]
    fn a_checkout_step_is_done_only_once_logged() {
        let step = CheckoutStep {
            worktree: "/w".into(),
            head: Some("refs/heads/main".into()),
            from: oid('a'),
            branch: "refs/heads/t".into(),
            to: oid('b'),
        };
        let mut entries = prepared();
        entries.push(Entry::Plan {
            tx: 1,
            package: "/r.zip".into(),
            edits: vec![edit("refs/heads/t", Some('a'), 'b')],
            checkout: true,
            checkouts: vec![step.clone()],
        });
        entries.push(Entry::RefUpdated {
            tx: 1,
            name: "refs/heads/t".into(),
        });
        let State::Interrupted {
            checkouts,
            checked_out,
            ..
        } = summary(&entries).state
        else {
            panic!("no committed line")
        };
        assert_eq!((checkouts, checked_out.len()), (vec![step], 0));
        entries.push(Entry::CheckedOut {
            tx: 1,
            worktree: "/w".into(),
        });
        let State::Interrupted { checked_out, .. } = summary(&entries).state else {
            panic!("no committed line")
        };
        assert_eq!(checked_out, ["/w"]);
    }

    #[test]
    fn abort_closes_the_exchange() {
        let mut entries = prepared();
        entries.push(Entry::Aborted);
        assert_eq!(summary(&entries).state, State::Aborted);
    }
}
