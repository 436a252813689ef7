//! The exchange store under `.git/procoder`: `exchanges/<id>/exchange.json`, written once by
//! prepare, and the lock guard, [`Locked`], the only way to write anything there: the
//! journal, the records, and the `tmp` scratch folder. So "this code holds the lock" is a type.
//! Reading records and logs needs no lock. The log itself is `journal`'s.

use crate::context::Context;
use crate::journal::{self, Journal, State};
use crate::lock::Lock;
use procoder_bundle::layout;
use procoder_manifest::{ErrorCode, Exchange, ExchangeId, Failure, Result};
use std::io::Write;
use std::path::PathBuf;

/// Reads the local record of `id`, or `None` when it was not prepared here.
pub fn read_exchange(ctx: &Context, id: &ExchangeId) -> Result<Option<Exchange>> {
    let path = ctx.exchange_dir(id).join(layout::RECORD);
    match std::fs::read(&path) {
        Ok(bytes) => Exchange::from_json(&bytes).map(Some).map_err(|e| {
            e.recode(
                ErrorCode::Internal,
                format!("the local record {} is damaged", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::internal(
            format!("cannot read {}", path.display()),
            e,
        )),
    }
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

/// Proof that this process holds `.git/procoder/lock`; the lock is released on drop.
pub struct Locked<'a> {
    ctx: &'a Context,
    _lock: Lock,
}

impl<'a> Locked<'a> {
    /// Takes the lock of `ctx`'s store and clears `.git/procoder/tmp`: only a lock holder
    /// creates files there, so whatever is there now was left by a crash (a quarantine, a half
    /// zip).
    pub fn take(ctx: &'a Context) -> Result<Self> {
        let lock = Lock::acquire(&ctx.store)?;
        for entry in std::fs::read_dir(ctx.store.join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
        Ok(Self { ctx, _lock: lock })
    }

    /// The repository the lock is held in.
    pub fn ctx(&self) -> &'a Context {
        self.ctx
    }

    /// The log of exchange `id`, ready to append to.
    pub fn journal(&self, id: &ExchangeId) -> Result<Journal<'_>> {
        Journal::open(self, id)
    }

    /// Scratch space on the repository's file system, so finished files are renamed into place.
    pub fn tmp_dir(&self) -> Result<PathBuf> {
        let dir = self.ctx.store.join("tmp");
        fs_err::create_dir_all(&dir)
            .map_err(|e| Failure::internal("cannot create .git/procoder/tmp", e))?;
        Ok(dir)
    }

    /// Writes the record of a new exchange (write-once: an existing record is an error).
    pub fn write_exchange(&self, exchange: &Exchange) -> Result<()> {
        let dir = self.ctx.exchange_dir(&exchange.exchange_id);
        fs_err::create_dir_all(&dir)
            .map_err(|e| Failure::internal("cannot create the exchange directory", e))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(layout::RECORD))
            .map_err(|e| Failure::internal("cannot create the exchange record", e))?;
        file.write_all(exchange.to_json().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Failure::internal("cannot write the exchange record", e))
    }

    /// Refuses to run while any exchange has an interrupted apply.
    pub fn refuse_if_interrupted(&self) -> Result<()> {
        for id in list_exchanges(self.ctx) {
            if let State::Interrupted { edits, done, .. } =
                journal::fold(&journal::read(self.ctx, &id)?).state
            {
                return Err(Failure::new(ErrorCode::ApplyInterrupted, format!("an apply of exchange {id} was interrupted ({} of {} refs moved)", done.len(), edits.len()))
                    .hint(format!("finish it with `procoder apply --continue {id}` or undo it with `procoder apply --abort {id}`")));
            }
        }
        Ok(())
    }
}

/// The exchange a command that takes an optional id means: `id` when given, else the only
/// open one (not aborted, not closed). None open, or several, is `EXCHANGE_ID_REQUIRED`,
/// listing the open ids.
pub fn one_open(ctx: &Context, id: Option<ExchangeId>, command: &str) -> Result<ExchangeId> {
    if let Some(id) = id {
        return Ok(id);
    }
    let mut open = Vec::new();
    for id in list_exchanges(ctx) {
        let state = journal::fold(&journal::read(ctx, &id)?).state;
        if !matches!(state, State::Aborted | State::Closed) {
            open.push(id);
        }
    }
    match open.len() {
        1 => Ok(open.remove(0)),
        0 => Err(Failure::new(
            ErrorCode::ExchangeIdRequired,
            format!("no exchange is open, so procoder {command} needs an id"),
        )
        .hint("procoder status lists every exchange and its state")),
        n => Err(Failure::new(
            ErrorCode::ExchangeIdRequired,
            format!("{n} exchanges are open: name the one to {command}"),
        )
        .details(open.iter().map(|id| format!("open: {id}")))
        .hint(format!(
            "name one: {}",
            open.iter()
                .map(|id| format!("procoder {command} {id}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))),
    }
}
