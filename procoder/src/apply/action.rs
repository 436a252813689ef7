//! What apply does to each ref.

use super::review::Review;

/// What happens to one ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    /// A later return of the same exchange moves past what an earlier apply set.
    FastForward,
    Unchanged,
    /// Under `--replace`: a return that rewrites what an earlier apply set.
    Replace,
    /// An older return applied after a newer one: its tips are already in what an earlier
    /// apply of the exchange set, so nothing moves.
    Contained,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::FastForward => "fast-forward",
            Action::Unchanged => "unchanged",
            Action::Replace => "replace",
            Action::Contained => "contained",
        }
    }

    /// Whether the ref moves.
    pub fn moves(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Contained)
    }
}

/// One ref of the plan.
#[derive(Debug, Clone)]
pub struct PlannedRef {
    /// The ref as the return document names it.
    pub source: String,
    /// The local ref (after `--namespace`).
    pub target: String,
    /// Its value now.
    pub current: Option<git2::Oid>,
    pub new: git2::Oid,
    pub action: Action,
    /// Commits the new tip adds over the current one (or over the base).
    pub commits: usize,
    pub review: Review,
}
