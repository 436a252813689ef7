//! The error codes of DESIGN.md: part of the public contract, added to and never renamed.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable failure class. Scripts match on [`ErrorCode::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is documented by its row in DESIGN.md's table
pub enum ErrorCode {
    NotGitRepo,
    WorktreeDirty,
    UntrackedFilesPresent,
    DetachedHead,
    UnbornHead,
    HelperNotFound,
    Locked,
    InvalidExchange,
    NoNewCommits,
    RefOutOfScope,
    NotDescendant,
    InvalidReturnPackage,
    UnsupportedProtocol,
    BundleVerifyFailed,
    UnsafeObject,
    UnknownExchange,
    BranchMoved,
    RefExists,
    ReturnRewrites,
    TargetBranchCheckedOut,
    ApplyInterrupted,
    NothingInterrupted,
    UnsupportedPath,
    OutputExists,
    PackTooLarge,
    ExchangeClosed,
    NotApplied,
    ExchangeIdRequired,
    SecretsFound,
    PackageTooLarge,
    Internal,
}

impl ErrorCode {
    /// Every code, in DESIGN.md's order (tests check each has a README entry), then the codes
    /// procoder added (`UNSUPPORTED_PATH`, `OUTPUT_EXISTS`, `PACK_TOO_LARGE`, `EXCHANGE_CLOSED`,
    /// `NOT_APPLIED`, `EXCHANGE_ID_REQUIRED`, `SECRETS_FOUND`, `PACKAGE_TOO_LARGE`).
    pub const ALL: [ErrorCode; 31] = [
        Self::NotGitRepo,
        Self::WorktreeDirty,
        Self::UntrackedFilesPresent,
        Self::DetachedHead,
        Self::UnbornHead,
        Self::HelperNotFound,
        Self::Locked,
        Self::InvalidExchange,
        Self::NoNewCommits,
        Self::RefOutOfScope,
        Self::NotDescendant,
        Self::InvalidReturnPackage,
        Self::UnsupportedProtocol,
        Self::BundleVerifyFailed,
        Self::UnsafeObject,
        Self::UnknownExchange,
        Self::BranchMoved,
        Self::RefExists,
        Self::ReturnRewrites,
        Self::TargetBranchCheckedOut,
        Self::ApplyInterrupted,
        Self::NothingInterrupted,
        Self::UnsupportedPath,
        Self::OutputExists,
        Self::PackTooLarge,
        Self::ExchangeClosed,
        Self::NotApplied,
        Self::ExchangeIdRequired,
        Self::SecretsFound,
        Self::PackageTooLarge,
        Self::Internal,
    ];

    /// The code as printed: `BRANCH_MOVED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotGitRepo => "NOT_GIT_REPO",
            Self::WorktreeDirty => "WORKTREE_DIRTY",
            Self::UntrackedFilesPresent => "UNTRACKED_FILES_PRESENT",
            Self::DetachedHead => "DETACHED_HEAD",
            Self::UnbornHead => "UNBORN_HEAD",
            Self::HelperNotFound => "HELPER_NOT_FOUND",
            Self::Locked => "LOCKED",
            Self::InvalidExchange => "INVALID_EXCHANGE",
            Self::NoNewCommits => "NO_NEW_COMMITS",
            Self::RefOutOfScope => "REF_OUT_OF_SCOPE",
            Self::NotDescendant => "NOT_DESCENDANT",
            Self::InvalidReturnPackage => "INVALID_RETURN_PACKAGE",
            Self::UnsupportedProtocol => "UNSUPPORTED_PROTOCOL",
            Self::BundleVerifyFailed => "BUNDLE_VERIFY_FAILED",
            Self::UnsafeObject => "UNSAFE_OBJECT",
            Self::UnknownExchange => "UNKNOWN_EXCHANGE",
            Self::BranchMoved => "BRANCH_MOVED",
            Self::RefExists => "REF_EXISTS",
            Self::ReturnRewrites => "RETURN_REWRITES",
            Self::TargetBranchCheckedOut => "TARGET_BRANCH_CHECKED_OUT",
            Self::ApplyInterrupted => "APPLY_INTERRUPTED",
            Self::NothingInterrupted => "NOTHING_INTERRUPTED",
            Self::UnsupportedPath => "UNSUPPORTED_PATH",
            Self::OutputExists => "OUTPUT_EXISTS",
            Self::PackTooLarge => "PACK_TOO_LARGE",
            Self::ExchangeClosed => "EXCHANGE_CLOSED",
            Self::NotApplied => "NOT_APPLIED",
            Self::ExchangeIdRequired => "EXCHANGE_ID_REQUIRED",
            Self::SecretsFound => "SECRETS_FOUND",
            Self::PackageTooLarge => "PACKAGE_TOO_LARGE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_is_the_printed_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("a unit variant serialises");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
