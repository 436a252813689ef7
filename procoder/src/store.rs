//! The exchange store: `exchanges/<id>/exchange.json`, written once by prepare, and
//! `exchanges/<id>/log.jsonl`, the append-only transaction log. State is derived from the
//! log alone; a torn last line (a crash mid-write) is ignored.

use crate::context::{now_rfc3339, Context};
use procoder_manifest::{
    Entry, ErrorCode, Exchange, ExchangeId, Failure, LogRecord, ObjectId, RefEdit, Result,
    JOURNAL_VERSION,
};
use std::collections::BTreeMap;
use std::io::Write;

/// Reads the local record of `id`, or `None` when it was not prepared here.
pub fn read_exchange(ctx: &Context, id: &ExchangeId) -> Result<Option<Exchange>> {
    let path = ctx.exchange_dir(id).join("exchange.json");
    match std::fs::read(&path) {
        Ok(bytes) => Exchange::from_json(&bytes).map(Some).map_err(|e| {
            Failure::internal(
                format!(
                    "the local record {} is damaged: {}",
                    path.display(),
                    e.message
                ),
                e,
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::internal(
            format!("cannot read {}", path.display()),
            e,
        )),
    }
}

/// Writes the record of a new exchange (write-once: an existing record is an error).
pub fn write_exchange(ctx: &Context, exchange: &Exchange) -> Result<()> {
    let dir = ctx.exchange_dir(&exchange.exchange_id);
    fs_err::create_dir_all(&dir)
        .map_err(|e| Failure::internal("cannot create the exchange directory", e))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("exchange.json"))
        .map_err(|e| Failure::internal("cannot create the exchange record", e))?;
    file.write_all(exchange.to_json().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::internal("cannot write the exchange record", e))
}

/// Every exchange id in the store, newest first.
pub fn list_exchanges(ctx: &Context) -> Vec<ExchangeId> {
    let mut ids: Vec<ExchangeId> = std::fs::read_dir(ctx.store.join("exchanges"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()
                .and_then(|n| ExchangeId::parse(n).ok())
        })
        .collect();
    ids.sort();
    ids.reverse();
    ids
}

/// The log of an exchange. Lines that do not parse are skipped only at the end (torn write);
/// a damaged line in the middle is an error, because skipping it could hide a moved ref.
pub fn read_log(ctx: &Context, id: &ExchangeId) -> Result<Vec<LogRecord>> {
    let path = ctx.exchange_dir(id).join("log.jsonl");
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Failure::internal(
                format!("cannot read {}", path.display()),
                e,
            ))
        }
    };
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let complete = text.ends_with(b"\n");
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<LogRecord>(line) {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == lines.len() && !complete => break, // torn last line
            Err(e) => {
                return Err(Failure::internal(
                    format!("{} line {} is damaged", path.display(), i + 1),
                    e,
                ))
            }
        }
    }
    Ok(records)
}

/// Appends `entry` and syncs it before returning: once this returns, the step counts as done.
/// Under `PROCODER_TEST_CRASH_AFTER=<step>` the process aborts right after the sync.
pub fn append(ctx: &Context, id: &ExchangeId, entry: Entry) -> Result<()> {
    let seq = read_log(ctx, id)?.last().map_or(1, |r| r.seq + 1);
    let path = ctx.exchange_dir(id).join("log.jsonl");
    // A torn last line (a crash mid-write) was never a record: cut it off before appending,
    // or it would become a damaged line in the middle of the log.
    if let Ok(bytes) = std::fs::read(&path) {
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(keep as u64).and_then(|()| f.sync_data()))
                .map_err(|e| {
                    Failure::internal(format!("cannot trim the torn end of {}", path.display()), e)
                })?;
        }
    }
    let step = entry.step();
    let record = LogRecord {
        v: JOURNAL_VERSION,
        seq,
        at: now_rfc3339(),
        op: entry.op().to_owned(),
        entry,
    };
    let mut line = serde_json::to_string(&record)
        .map_err(|e| Failure::internal("cannot encode a log record", e))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Failure::internal(format!("cannot open {}", path.display()), e))?;
    file.write_all(line.as_bytes())
        .and_then(|()| {
            if fsync_enabled() {
                file.sync_data()
            } else {
                Ok(())
            }
        })
        .map_err(|e| Failure::internal(format!("cannot write {}", path.display()), e))?;
    crash_point(step);
    Ok(())
}

/// `PROCODER_TEST_NO_FSYNC=1` skips the log's fsyncs, only to measure what they cost
/// (scripts/bench.sh); never set it for real work.
pub fn fsync_enabled() -> bool {
    std::env::var_os("PROCODER_TEST_NO_FSYNC").is_none()
}

/// Test hook: abort the process right after the named step was synced.
pub fn crash_point(step: &str) {
    if std::env::var("PROCODER_TEST_CRASH_AFTER").is_ok_and(|v| v == step) {
        std::process::abort();
    }
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
    /// An apply recorded its plan but neither committed nor rolled back.
    Interrupted {
        tx: u64,
        edits: Vec<RefEdit>,
        done: Vec<String>,
        checkout: bool,
        package: String,
    },
}

/// Derives the state from the records.
pub fn state(records: &[LogRecord]) -> State {
    // A record with no log at all: prepare stopped right after writing it.
    let mut state = State::Preparing { step: "record" };
    let mut applied = 0;
    for r in records {
        match &r.entry {
            Entry::Begin { .. } | Entry::BranchCreated | Entry::PackageWritten => {
                state = State::Preparing {
                    step: r.entry.step(),
                }
            }
            Entry::Prepared => state = State::Prepared,
            Entry::Plan {
                tx,
                edits,
                checkout,
                package,
            } => {
                state = State::Interrupted {
                    tx: *tx,
                    edits: edits.clone(),
                    done: Vec::new(),
                    checkout: *checkout,
                    package: package.clone(),
                }
            }
            Entry::RefUpdated { name, .. } => {
                if let State::Interrupted { done, .. } = &mut state {
                    done.push(name.clone());
                }
            }
            Entry::Committed { .. } => {
                applied += 1;
                state = State::Applied { times: applied };
            }
            Entry::RolledBack { .. } => {
                state = if applied > 0 {
                    State::Applied { times: applied }
                } else {
                    State::Prepared
                }
            }
            Entry::Aborted => state = State::Aborted,
        }
    }
    state
}

/// The task package path prepare recorded.
pub fn package_of(records: &[LogRecord]) -> Option<String> {
    records.iter().find_map(|r| match &r.entry {
        Entry::Begin { package, .. } => Some(package.clone()),
        _ => None,
    })
}

/// The value each ref had after the last committed apply of this exchange: a later return may
/// fast-forward over these without `BRANCH_MOVED`.
pub fn applied_values(records: &[LogRecord]) -> BTreeMap<String, ObjectId> {
    let mut planned: BTreeMap<u64, &Vec<RefEdit>> = BTreeMap::new();
    let mut values = BTreeMap::new();
    for r in records {
        match &r.entry {
            Entry::Plan { tx, edits, .. } => {
                planned.insert(*tx, edits);
            }
            Entry::Committed { tx } => {
                for e in planned.get(tx).into_iter().flat_map(|v| v.iter()) {
                    values.insert(e.name.clone(), e.new);
                }
            }
            _ => {}
        }
    }
    values
}

/// The next transaction id of an exchange.
pub fn next_tx(records: &[LogRecord]) -> u64 {
    records
        .iter()
        .filter_map(|r| {
            if let Entry::Plan { tx, .. } = r.entry {
                Some(tx)
            } else {
                None
            }
        })
        .max()
        .unwrap_or(0)
        + 1
}

/// Refuses to run while any exchange has an interrupted apply.
pub fn refuse_if_interrupted(ctx: &Context) -> Result<()> {
    for id in list_exchanges(ctx) {
        if let State::Interrupted { edits, done, .. } = state(&read_log(ctx, &id)?) {
            return Err(Failure::new(ErrorCode::ApplyInterrupted, format!("an apply of exchange {id} was interrupted ({} of {} refs moved)", done.len(), edits.len()))
                .hint(format!("finish it with `procoder apply --continue {id}` or undo it with `procoder apply --abort {id}`")));
        }
    }
    Ok(())
}
