//! The documents procoder exchanges, and the rules every document obeys.
//!
//! Field for field the Go procoder's `procoder-exchange/v1` and `procoder-return/v1`, so
//! packages move between the two tools in both directions. This crate is pure data and
//! validation: it does no I/O and knows nothing of git objects beyond their ids.
#![warn(missing_docs)]

mod code;
mod exchange;
mod failure;
mod family;
mod id;
mod journal;
mod oid;
mod refname;
mod return_doc;
mod text;
mod time;

pub use code::ErrorCode;
pub use exchange::{Context, Exchange, Source, TaskRefs, EXCHANGE_PROTOCOL};
pub use failure::{Failure, Result, Style};
pub use family::{family_prefix, is_in_family, map_namespace, root_ref};
pub use id::ExchangeId;
pub use journal::{CheckoutStep, Entry, LogRecord, RefEdit, JOURNAL_VERSION};
pub use oid::ObjectId;
pub use refname::{check_ref_name, validate_namespace};
pub use return_doc::{
    RefUpdate, Replaced, ReturnDoc, ReturnTask, MAX_REPLACED_COMMITS, RETURN_PROTOCOL,
};
pub use text::{count, paint};
pub use time::{format_rfc3339, parse_rfc3339, utc_fields, UtcFields};

/// Largest document procoder reads. Real ones are a few KiB; this bounds hostile input.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
