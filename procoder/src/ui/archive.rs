//! `procoder archive`'s outcome as JSON and as text.

use super::human_bytes;
use crate::archive::{Opened, Outcome};
use procoder_manifest::count;
use serde_json::{json, Value};
use std::fmt::Write;

/// The JSON value and the text of an archive.
pub fn render_archive(o: &Outcome) -> (Value, String) {
    let (opened, open_error) = match &o.opened {
        Opened::Yes => (true, None),
        Opened::No => (false, None),
        Opened::Failed(why) => (false, Some(why.clone())),
    };
    let value = json!({
        "archive": o.archive.display().to_string(),
        "archive_bytes": o.archive_bytes,
        "repository": o.repository.display().to_string(),
        "head_ref": o.head_ref,
        "head_oid": o.head_oid.map(|h| h.to_string()),
        "branches": o.branches,
        "tags": o.tags,
        "files": o.files,
        "objects": o.objects,
        "uncommitted": o.uncommitted,
        "untracked": o.untracked,
        "warnings": o.warnings,
        "opened": opened,
        "open_error": open_error,
    });
    let mut t = String::new();
    let _ = writeln!(t, "Created repository archive.");
    let _ = writeln!(t, "Archive: {}", o.archive.display());
    let _ = writeln!(
        t,
        "  {}, {}, {}",
        human_bytes(o.archive_bytes),
        count(o.files, "file"),
        count(o.objects, "object")
    );
    let head = match (&o.head_ref, o.head_oid) {
        (Some(r), Some(oid)) => format!(
            "{} at {}",
            r.trim_start_matches("refs/heads/"),
            &oid.to_string()[..12]
        ),
        (Some(r), None) => format!("{} (no commits yet)", r.trim_start_matches("refs/heads/")),
        (None, Some(oid)) => format!("detached at {}", &oid.to_string()[..12]),
        (None, None) => "none".to_owned(),
    };
    let _ = writeln!(
        t,
        "History: {} {}, {}; HEAD: {head}",
        o.branches,
        if o.branches == 1 {
            "branch"
        } else {
            "branches"
        },
        count(o.tags, "tag")
    );
    if o.uncommitted + o.untracked > 0 {
        let _ = writeln!(
            t,
            "Work tree as on disk: {} and {} included (git status in the archive shows them)",
            count(o.uncommitted, "uncommitted change"),
            count(o.untracked, "untracked file")
        );
    }
    for w in &o.warnings {
        let _ = writeln!(t, "warning: {w}");
    }
    match &o.opened {
        Opened::Yes => {
            let _ = writeln!(t, "Opened in the file manager.");
        }
        Opened::Failed(why) => {
            let _ = writeln!(
                t,
                "warning: the archive is written, but the file manager could not be opened: {why}"
            );
        }
        Opened::No => {}
    }
    (value, t)
}
