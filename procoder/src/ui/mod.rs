//! Rendering outcomes and failures: human text on stdout, errors on stderr as
//! `CODE: message` / details / `Hint:`, or exactly one JSON object on stdout under `--json`.

pub mod progress;
mod render;

pub use render::{render_abort, render_apply, render_prepare, render_recover, render_status};

use procoder_manifest::{ErrorCode, Failure};
use serde_json::{json, Value};
use std::io::Write;

/// How output is written.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub json: bool,
    pub verbose: bool,
}

impl Ui {
    /// Prints a success value (JSON mode) or text.
    pub fn success(&self, command: &str, mut value: Value, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.json {
            if let Value::Object(map) = &mut value {
                map.insert("ok".into(), Value::Bool(true));
                map.insert("command".into(), Value::String(command.into()));
            }
            let _ = writeln!(out, "{}", sort_ok_first(value));
        } else {
            let _ = write!(out, "{text}");
        }
    }

    /// Prints a failure: `{"ok":false,"error":…}` on stdout, or the human form on stderr.
    pub fn failure(&self, command: &str, failure: &Failure, extra: Option<Value>) {
        if self.json {
            let mut value =
                json!({ "ok": false, "command": command, "error": error_json(failure) });
            if let (Value::Object(map), Some(Value::Object(more))) = (&mut value, extra) {
                for (k, v) in more {
                    map.entry(k).or_insert(v);
                }
            }
            let _ = writeln!(std::io::stdout().lock(), "{value}");
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", failure_text(failure));
        if failure.code == ErrorCode::Internal || self.verbose {
            let mut source = std::error::Error::source(failure);
            while let Some(cause) = source {
                let _ = writeln!(err, "Caused by: {cause}");
                source = cause.source();
            }
        }
        if failure.code == ErrorCode::Internal {
            let _ = writeln!(err, "This is a procoder bug or an environment failure; please report it with the output above (run with --verbose for the cause chain).");
        }
    }
}

/// The human form: `CODE: message`, detail lines, `Hint:`.
pub fn failure_text(f: &Failure) -> String {
    let mut s = format!("{}: {}", f.code, f.message);
    for d in &f.details {
        s.push('\n');
        s.push_str(d);
    }
    if let Some(h) = &f.hint {
        s.push_str("\nHint: ");
        s.push_str(h);
    }
    s
}

/// The `error` object of the JSON shape.
pub fn error_json(f: &Failure) -> Value {
    json!({ "code": f.code.as_str(), "message": f.message, "details": f.details, "hint": f.hint })
}

fn sort_ok_first(value: Value) -> String {
    // serde_json keeps keys sorted; print "ok" first so a reader sees the verdict at once.
    match value {
        Value::Object(mut map) => {
            let ok = map.remove("ok").unwrap_or(Value::Bool(true));
            let rest = Value::Object(map).to_string();
            let inner = rest.strip_prefix('{').unwrap_or(&rest);
            if inner == "}" {
                format!("{{\"ok\":{ok}}}")
            } else {
                format!("{{\"ok\":{ok},{inner}")
            }
        }
        other => other.to_string(),
    }
}

/// `1.2 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `3 minutes ago`.
pub fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}
