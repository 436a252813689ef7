//! The one error shape every procoder crate returns: a code from DESIGN.md, a message naming
//! the ref or path, detail lines, a hint with the command to run, and the underlying cause.
//! A shared struct rather than an enum per step: the CLI renders every failure the same way
//! (`CODE: message`, details, `Hint:`) and scripts match on the code, not on Rust types.

use crate::ErrorCode;
use std::fmt;
use std::sync::Arc;

/// A coded failure. `Internal` marks a bug; every other code is a state of the user's input.
/// Cloning shares the cause: a dry run keeps its conflicts and reports the first as its verdict.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The contract code.
    pub code: ErrorCode,
    /// Lowercase, no trailing period, names the ref or path.
    pub message: String,
    /// Lines printed after the message (`Expected old OID: …`).
    pub details: Vec<String>,
    /// What to run next.
    pub hint: Option<String>,
    /// The underlying error, for `--verbose` and `INTERNAL` reports.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
            hint: None,
            source: None,
        }
    }

    /// A bug or an environment failure that is no state of the user's repository.
    pub fn internal(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::new(ErrorCode::Internal, context).with_source(source)
    }

    /// Adds a detail line.
    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    /// Adds several detail lines.
    pub fn details<I: IntoIterator<Item = S>, S: Into<String>>(mut self, lines: I) -> Self {
        self.details.extend(lines.into_iter().map(Into::into));
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps the cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same failure under another code, its message prefixed with what the caller was
    /// doing (`context: message`). Details, hint and cause are kept; a caller with a better
    /// hint sets it after.
    pub fn recode(mut self, code: ErrorCode, context: impl fmt::Display) -> Self {
        self.code = code;
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results across the workspace.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn moved() -> Failure {
        Failure::new(ErrorCode::BranchMoved, "cannot update refs/heads/x")
            .detail("Expected old OID: a")
            .detail("Current local OID: b")
            .hint("rerun with --namespace procoder-import")
    }

    #[test]
    fn recode_keeps_message_details_and_cause() {
        let io = std::io::Error::other("disk on fire");
        let f = moved()
            .with_source(io)
            .recode(ErrorCode::Internal, "while testing");
        assert_eq!(f.code, ErrorCode::Internal);
        assert_eq!(f.message, "while testing: cannot update refs/heads/x");
        assert_eq!(f.details.len(), 2);
        let copy = f.clone();
        let cause = std::error::Error::source(&copy).map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("disk on fire"));
    }
}
