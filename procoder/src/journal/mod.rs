//! `exchanges/<id>/log.jsonl`, the append-only transaction log. Anyone may `read` it (status
//! never waits for the lock); only a [`Journal`], which exists only under the store lock,
//! appends to it. What the records mean is `fold`'s business.

mod fold;

pub use fold::{fold, parse, Parsed, State, Summary};

use crate::context::{now_rfc3339, Context};
use crate::store::Locked;
use procoder_manifest::{Entry, ExchangeId, Failure, LogRecord, Result, JOURNAL_VERSION};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The records of `id`'s log (none when it has no log yet). A torn last line is left out; a
/// damaged line elsewhere is an error.
pub fn read(ctx: &Context, id: &ExchangeId) -> Result<Vec<LogRecord>> {
    Ok(load(&log_path(ctx, id))?.records)
}

/// The log of one exchange, read once, appended to under the lock.
pub struct Journal<'a> {
    path: PathBuf,
    records: Vec<LogRecord>,
    next_seq: u64,
    /// Where a torn end starts, when there is one; cut before the first append.
    torn: Option<(u64, bool)>,
    /// Opened at the first append, so a command that only reads creates no file.
    file: Option<std::fs::File>,
    /// A journal borrows the lock guard: it cannot outlive the lock.
    _held: PhantomData<&'a Locked<'a>>,
}

impl<'a> Journal<'a> {
    /// Reads the log of `id`. Only [`Locked::journal`] calls this: the guard is the proof.
    pub(crate) fn open(locked: &'a Locked<'_>, id: &ExchangeId) -> Result<Self> {
        let path = log_path(locked.ctx(), id);
        let (parsed, len) = load_with_len(&path)?;
        let torn = (parsed.whole < len).then_some((parsed.whole as u64, parsed.unterminated));
        Ok(Self {
            next_seq: parsed.records.last().map_or(1, |r| r.seq + 1),
            records: parsed.records,
            path,
            torn,
            file: None,
            _held: PhantomData,
        })
    }

    /// Every record, oldest first, including those this handle appended (tests compare it with
    /// what a fresh read finds).
    #[cfg(test)]
    pub fn records(&self) -> &[LogRecord] {
        &self.records
    }

    /// What the records say now.
    pub fn summary(&self) -> Summary {
        fold(&self.records)
    }

    /// Appends `entry` and syncs it before returning: once this returns, the step counts as done.
    /// Under `PROCODER_TEST_CRASH_AFTER=<step>` the process aborts right after the sync.
    pub fn append(&mut self, entry: Entry) -> Result<()> {
        let record = LogRecord {
            v: JOURNAL_VERSION,
            seq: self.next_seq,
            at: now_rfc3339(),
            op: entry.op().to_owned(),
            entry,
        };
        let mut line = serde_json::to_string(&record)
            .map_err(|e| Failure::internal("cannot encode a log record", e))?;
        line.push('\n');
        let path = self.path.display().to_string();
        let file = self.writer()?;
        file.write_all(line.as_bytes())
            .and_then(|()| {
                if fsync_enabled() {
                    file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| Failure::internal(format!("cannot write {path}"), e))?;
        crash_point(record.entry.step());
        self.next_seq += 1;
        self.records.push(record);
        Ok(())
    }

    /// The log opened for appending, its torn end cut off first: that partial line was never
    /// a record, and left in place it would become a damaged line in the middle of the log.
    fn writer(&mut self) -> Result<&mut std::fs::File> {
        if self.file.is_none() {
            if let Some((keep, unterminated)) = self.torn.take() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .and_then(|f| f.set_len(keep).and_then(|()| f.sync_data()))
                    .map_err(|e| {
                        let path = self.path.display();
                        Failure::internal(format!("cannot trim the torn end of {path}"), e)
                    })?;
                if unterminated {
                    self.records.pop();
                }
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| {
                    Failure::internal(format!("cannot open {}", self.path.display()), e)
                })?;
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened just above"))
    }
}

fn log_path(ctx: &Context, id: &ExchangeId) -> PathBuf {
    ctx.exchange_dir(id).join("log.jsonl")
}

fn load(path: &Path) -> Result<fold::Parsed> {
    load_with_len(path).map(|(parsed, _)| parsed)
}

/// The parsed log at `path` and its length in bytes; a missing file is an empty log.
fn load_with_len(path: &Path) -> Result<(fold::Parsed, usize)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Failure::internal(
                format!("cannot read {}", path.display()),
                e,
            ))
        }
    };
    let parsed = fold::parse(&bytes).map_err(|d| {
        Failure::internal(
            format!("{} line {} is damaged", path.display(), d.line),
            d.error,
        )
    })?;
    Ok((parsed, bytes.len()))
}

/// `PROCODER_TEST_NO_FSYNC=1` skips the log's fsyncs, only to measure what they cost
/// (scripts/bench.sh); never set it for real work.
fn fsync_enabled() -> bool {
    std::env::var_os("PROCODER_TEST_NO_FSYNC").is_none()
}

/// Test hook: abort the process right after the named step was synced.
fn crash_point(step: &str) {
    if std::env::var("PROCODER_TEST_CRASH_AFTER").is_ok_and(|v| v == step) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one exchange directory whose log holds `log`.
    fn repo_with_log(log: &[u8]) -> (tempfile::TempDir, Context, ExchangeId) {
        let dir = tempfile::tempdir().expect("a temp dir");
        git2::Repository::init(dir.path()).expect("git init");
        let ctx = Context::open(dir.path()).expect("a work tree");
        let id = ExchangeId::parse("20260320-113015-a1b2c3").expect("a valid id");
        std::fs::create_dir_all(ctx.exchange_dir(&id)).expect("the exchange dir");
        std::fs::write(log_path(&ctx, &id), log).expect("the log");
        (dir, ctx, id)
    }

    fn line(seq: u64, entry: &str) -> String {
        format!(
            r#"{{"v":1,"seq":{seq},"at":"2026-11-25T01:09:41Z","op":"prepare","step":"{entry}"}}"#
        )
    }

    #[test]
    fn append_cuts_a_torn_end_once_and_counts_on() {
        let whole = format!(
            "{}\n{}\n",
            line(1, "branch_created"),
            line(2, "package_written")
        );
        let (_dir, ctx, id) = repo_with_log(format!("{whole}{{\"v\":1,\"se").as_bytes());
        let locked = ctx.lock().expect("the lock");
        let mut journal = locked.journal(&id).expect("opens");
        assert_eq!(journal.records().len(), 2);
        journal.append(Entry::Prepared).expect("appends");
        journal.append(Entry::Aborted).expect("appends");
        let text = std::fs::read_to_string(log_path(&ctx, &id)).expect("the log");
        assert!(text.starts_with(&whole), "{text}");
        let seqs: Vec<u64> = read(&ctx, &id)
            .expect("a whole log")
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(journal.records(), read(&ctx, &id).expect("a whole log"));
        assert_eq!(journal.summary().state, State::Aborted);
    }

    #[test]
    fn opening_without_appending_leaves_the_log_as_it_was() {
        let torn = format!("{}\n{{\"v\":1", line(1, "branch_created"));
        let (_dir, ctx, id) = repo_with_log(torn.as_bytes());
        let locked = ctx.lock().expect("the lock");
        drop(locked.journal(&id).expect("opens"));
        let text = std::fs::read_to_string(log_path(&ctx, &id)).expect("the log");
        assert_eq!(text, torn);
    }

    #[test]
    fn an_unterminated_record_is_cut_but_its_seq_is_not_reused() {
        let log = format!(
            "{}\n{}",
            line(1, "branch_created"),
            line(2, "package_written")
        );
        let (_dir, ctx, id) = repo_with_log(log.as_bytes());
        let locked = ctx.lock().expect("the lock");
        let mut journal = locked.journal(&id).expect("opens");
        assert_eq!(journal.records().len(), 2);
        journal.append(Entry::Prepared).expect("appends");
        let records = read(&ctx, &id).expect("a whole log");
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!(journal.records(), records);
    }
}
