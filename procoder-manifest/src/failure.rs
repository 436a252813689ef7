//! The one error shape every procoder crate returns: a code from DESIGN.md, a message naming
//! the ref or path, detail lines, a hint with the command to run, and the underlying cause.
//! A shared struct rather than an enum per step: both binaries render every failure the same
//! way ([`Failure::render`]: `CODE: message`, details, `Hint:`) and scripts match on the code,
//! not on Rust types.

use crate::{paint, ErrorCode};
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

/// How [`Failure::render`] lays a failure out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Put before each detail line. procoder's start at the margin (DESIGN.md's example); the
    /// helper's are indented two spaces under the message, as an agent has always read them.
    pub indent: &'static str,
    /// The code in bold red and `Hint:` in bold (for a terminal).
    pub color: bool,
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

    /// The human form: `CODE: message`, one line per detail, then `Hint: …`; no final newline.
    pub fn render(&self, style: Style) -> String {
        let mut s = format!(
            "{}: {}",
            paint(self.code.as_str(), "1;31", style.color),
            self.message
        );
        for d in &self.details {
            s.push('\n');
            s.push_str(style.indent);
            s.push_str(d);
        }
        if let Some(h) = &self.hint {
            s.push('\n');
            s.push_str(&paint("Hint:", "1", style.color));
            s.push(' ');
            s.push_str(h);
        }
        s
    }

    /// The causes under this failure, nearest first.
    pub fn causes(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        std::iter::successors(std::error::Error::source(self), |e| e.source())
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
    fn renders_code_message_details_and_hint() {
        let render = |indent, color| moved().render(Style { indent, color });
        assert_eq!(
            render("", false),
            "BRANCH_MOVED: cannot update refs/heads/x\nExpected old OID: a\nCurrent local OID: b\nHint: rerun with --namespace procoder-import"
        );
        assert!(
            render("  ", false).contains("\n  Expected old OID: a\n  Current local OID: b\nHint:")
        );
        assert!(render("", true).starts_with("\x1b[1;31mBRANCH_MOVED\x1b[0m: cannot update"));
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
        let causes: Vec<String> = copy.causes().map(|c| c.to_string()).collect();
        assert_eq!(causes, ["disk on fire"]);
    }
}
