//! Moving the refs of an apply, compare-and-swap both ways: `forward` from `old` to `new`,
//! `backward` from `new` to `old`. Also the one step that moves a ref and then logs it, and
//! clearing the ref locks a killed procoder left. `apply::execute` and `apply::recover` move
//! refs only through here, so neither needs the other.

use crate::journal::Journal;
use procoder_manifest::{Entry, ErrorCode, Failure, RefEdit, Result};

/// Why [`move_and_log`] failed.
#[derive(Debug)]
pub enum MoveError {
    /// The ref did not move (someone else moved it, or it is locked).
    Refused(Failure),
    /// The ref moved but the log does not say so: the apply is interrupted, and `--continue`
    /// or `--abort` resolves it from the ref's value.
    Unlogged(Failure),
}

impl From<MoveError> for Failure {
    fn from(e: MoveError) -> Self {
        match e {
            MoveError::Refused(f) | MoveError::Unlogged(f) => f,
        }
    }
}

/// Moves `edit` forward, then logs `ref_updated` for transaction `tx`. The log follows the
/// move: a record is never written for a ref that did not move.
pub fn move_and_log(
    repo: &git2::Repository,
    journal: &mut Journal,
    tx: u64,
    edit: &RefEdit,
    msg: &str,
) -> std::result::Result<(), MoveError> {
    forward(repo, edit, msg).map_err(MoveError::Refused)?;
    journal
        .append(Entry::RefUpdated {
            tx,
            name: edit.name.clone(),
        })
        .map_err(MoveError::Unlogged)
}

/// Compare-and-swap of one ref from `old` to `new` (create when `old` is `None`).
pub fn forward(repo: &git2::Repository, edit: &RefEdit, msg: &str) -> Result<()> {
    let new = procoder_bundle::to_git(edit.new);
    let result = match edit.old {
        Some(old) => repo
            .reference_matching(&edit.name, new, true, procoder_bundle::to_git(old), msg)
            .map(drop),
        None => repo.reference(&edit.name, new, false, msg).map(drop),
    };
    result.map_err(|e| {
        let current = repo.refname_to_id(&edit.name).ok();
        let show = |o: Option<git2::Oid>| o.map_or("(none)".to_owned(), |o| o.to_string());
        if e.code() == git2::ErrorCode::Locked {
            return Failure::new(ErrorCode::Locked, format!("{} is locked: {}.lock exists", edit.name, edit.name))
                .detail(e.message().to_owned())
                .hint("another git process may be writing this ref; if none is, an earlier procoder was killed: run procoder apply --abort or --continue, which clear it");
        }
        let code = if edit.old.is_none() { ErrorCode::RefExists } else { ErrorCode::BranchMoved };
        Failure::new(code, format!("{} changed while procoder was moving it", edit.name))
            .detail(format!("Expected old OID: {}", show(edit.old.map(procoder_bundle::to_git))))
            .detail(format!("Current local OID: {}", show(current)))
            .detail(e.message().to_owned())
            .hint("another process moved the ref; look at it, then run procoder apply again")
    })
}

/// Puts one ref back from `new` to `old` (deleting a ref the apply created), compare-and-swap.
pub fn backward(repo: &git2::Repository, edit: &RefEdit) -> Result<()> {
    let new = procoder_bundle::to_git(edit.new);
    match edit.old {
        Some(old) => repo
            .reference_matching(
                &edit.name,
                procoder_bundle::to_git(old),
                true,
                new,
                "procoder apply --abort",
            )
            .map(drop)
            .map_err(|e| Failure::internal(format!("cannot put {} back", edit.name), e)),
        None => {
            let mut r = repo
                .find_reference(&edit.name)
                .map_err(|e| Failure::internal(format!("cannot read {}", edit.name), e))?;
            if r.target() != Some(new) {
                return Err(Failure::new(
                    ErrorCode::BranchMoved,
                    format!("{} moved; not deleting it", edit.name),
                ));
            }
            r.delete()
                .map_err(|e| Failure::internal(format!("cannot delete {}", edit.name), e))
        }
    }
}

/// A kill in the middle of a ref update leaves `<ref>.lock` behind, and libgit2 then refuses
/// to touch the ref. Only procoder moves refs of an exchange's family, and procoder's own lock
/// is held (`_held`, a journal, proves it), so a lock file of a ref in the interrupted plan is
/// a dead procoder's leftover.
pub fn clear_stale_locks(repo: &git2::Repository, _held: &Journal, edits: &[RefEdit]) {
    for edit in edits {
        let lock = repo.commondir().join(format!("{}.lock", edit.name));
        let _ = std::fs::remove_file(lock);
    }
}

/// Every ref of `repo` whose name `keep` accepts, with its target (`None` if symbolic).
pub fn matching(
    repo: &git2::Repository,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Option<git2::Oid>)>> {
    Ok(repo
        .references()
        .map_err(|e| Failure::internal("cannot list refs", e))?
        .flatten()
        .filter_map(|r| {
            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
            keep(&name).then(|| (name, r.target()))
        })
        .collect())
}
