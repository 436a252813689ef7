//! The documents procoder exchanges, and the rules every document obeys.
//!
//! Field for field the Go procoder's `procoder-exchange/v1` and `procoder-return/v1`, so
//! packages move between the two tools in both directions. This crate is pure data and
//! validation: it does no I/O and knows nothing of git objects beyond their ids.
#![warn(missing_docs)]

mod code;
mod exchange;
mod family;
mod id;
mod journal;
mod oid;
mod refname;
mod return_doc;
mod time;

pub use code::ErrorCode;
pub use exchange::{Context, Exchange, Source, TaskRefs, EXCHANGE_PROTOCOL};
pub use family::{family_prefix, is_in_family, map_namespace, root_ref};
pub use id::ExchangeId;
pub use journal::{Entry, LogRecord, RefEdit, JOURNAL_VERSION};
pub use oid::ObjectId;
pub use refname::{check_ref_name, validate_namespace};
pub use return_doc::{RefUpdate, ReturnDoc, ReturnTask, BUNDLE_FILE, RETURN_PROTOCOL};
pub use time::{format_rfc3339, parse_rfc3339, utc_fields, UtcFields};

/// Why a document was refused, with the code a caller reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    /// `INVALID_RETURN_PACKAGE`, `INVALID_EXCHANGE` or `UNSUPPORTED_PROTOCOL`.
    pub code: ErrorCode,
    /// Lowercase, names the field.
    pub message: String,
}

impl std::fmt::Display for DocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DocError {}

/// Largest document procoder reads. Real ones are a few KiB; this bounds hostile input.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
