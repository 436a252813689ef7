//! Rendering outcomes and failures: human text on stdout, errors on stderr as
//! `CODE: message` / details / `Hint:`, or exactly one JSON object on stdout under `--json`.
//! Colour only on a terminal, never with `NO_COLOR` set or `TERM=dumb`.

mod archive;
mod docs;
pub mod progress;
mod render;
mod review;

pub use archive::render_archive;
pub use docs::{completions, man_page};
pub use render::{
    render_abort, render_apply, render_close, render_prepare, render_recover, render_status,
    render_version,
};

use procoder_manifest::{ErrorCode, Failure, Style};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};

/// The version of every JSON object procoder prints (`"schema"`). Fields may be added within
/// a version; removing, renaming or retyping one makes a new version.
pub const JSON_SCHEMA: &str = "procoder/v1";

/// How output is written.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub json: bool,
    /// `--quiet`: no progress, no advice; results and errors still print.
    pub quiet: bool,
    pub verbose: bool,
    /// ANSI colour on stdout.
    pub color_out: bool,
    /// ANSI colour on stderr.
    pub color_err: bool,
}

impl Ui {
    /// The output settings of a command line, colour decided from the environment.
    pub fn new(json: bool, quiet: bool, verbose: bool) -> Self {
        let allowed = color_allowed();
        Self {
            json,
            quiet,
            verbose,
            color_out: allowed && !json && std::io::stdout().is_terminal(),
            color_err: stderr_color(),
        }
    }

    /// Progress bars for a step, or none under `--json` and `--quiet`.
    pub fn bars(&self) -> progress::Bars {
        progress::Bars::new(self.json || self.quiet)
    }

    /// Prints a success value (JSON mode) or text.
    pub fn success(&self, command: &str, mut value: Value, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.json {
            if let Value::Object(map) = &mut value {
                map.insert("ok".into(), Value::Bool(true));
                map.insert("schema".into(), Value::String(JSON_SCHEMA.into()));
                map.insert("command".into(), Value::String(command.into()));
            }
            let _ = writeln!(out, "{}", ordered(value));
        } else {
            let _ = write!(out, "{text}");
        }
    }

    /// Prints a failure: `{"ok":false,"error":…}` on stdout, or the human form on stderr.
    pub fn failure(&self, command: &str, failure: &Failure, extra: Option<Value>) {
        if self.json {
            let mut value = json!({
                "ok": false,
                "schema": JSON_SCHEMA,
                "command": command,
                "error": error_json(failure),
            });
            if let (Value::Object(map), Some(Value::Object(more))) = (&mut value, extra) {
                for (k, v) in more {
                    map.entry(k).or_insert(v);
                }
            }
            let _ = writeln!(std::io::stdout().lock(), "{}", ordered(value));
            return;
        }
        let mut err = std::io::stderr().lock();
        let style = Style {
            indent: "",
            color: self.color_err,
        };
        let _ = writeln!(err, "{}", failure.render(style));
        if failure.code == ErrorCode::Internal {
            let _ = writeln!(err, "{}", crate::bug::report(failure));
        } else if self.verbose {
            for cause in failure.causes() {
                let _ = writeln!(err, "Caused by: {cause}");
            }
        }
    }
}

/// A command line clap could not parse, under `--json`: the error object on stdout (with code
/// `USAGE`, outside the contract's codes because nothing ran), exit status 2 as without it.
pub fn usage_error_json(command: Option<&str>, rendered: &str) -> String {
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"));
    let message = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_owned();
    let details: Vec<&str> = lines.collect();
    ordered(json!({
        "ok": false,
        "schema": JSON_SCHEMA,
        "command": command,
        "error": {
            "code": "USAGE",
            "message": message,
            "details": details,
            "hint": format!("procoder {}--help", command.map_or(String::new(), |c| format!("{c} "))),
        },
    }))
}

/// Whether stderr gets colour: a terminal, and the environment allows it.
pub(crate) fn stderr_color() -> bool {
    color_allowed() && std::io::stderr().is_terminal()
}

/// `NO_COLOR` (any non-empty value) and `TERM=dumb` turn colour off everywhere.
fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// The `error` object of the JSON shape.
pub fn error_json(f: &Failure) -> Value {
    json!({ "code": f.code.as_str(), "message": f.message, "details": f.details, "hint": f.hint })
}

/// The object with `ok`, `schema` and `command` first (a reader sees the verdict at once),
/// then the other keys in serde_json's sorted order.
fn ordered(value: Value) -> String {
    let Value::Object(mut map) = value else {
        return value.to_string();
    };
    let mut parts = Vec::new();
    for key in ["ok", "schema", "command"] {
        if let Some(v) = map.remove(key) {
            parts.push(format!("{}:{v}", Value::String(key.into())));
        }
    }
    for (k, v) in map {
        parts.push(format!("{}:{v}", Value::String(k)));
    }
    format!("{{{}}}", parts.join(","))
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

/// `just now`, `3 min ago`, `1 hour ago`, `2 days ago`, `5 months ago`, `2 years ago`.
pub fn human_age(seconds: i64) -> String {
    const MIN: i64 = 60;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    let s = seconds.max(0);
    let (n, unit) = match s {
        0..MIN => return "just now".to_owned(),
        MIN..HOUR => (s / MIN, "min"),
        HOUR..DAY => (s / HOUR, "hour"),
        _ if s < 60 * DAY => (s / DAY, "day"),
        _ if s < 730 * DAY => (s / (30 * DAY), "month"),
        _ => (s / (365 * DAY), "year"),
    };
    let plural = if n == 1 || unit == "min" { "" } else { "s" };
    format!("{n} {unit}{plural} ago")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_a_person_would_say_them() {
        let cases = [
            (-5, "just now"),
            (59, "just now"),
            (60, "1 min ago"),
            (3 * 60 + 59, "3 min ago"),
            (3600, "1 hour ago"),
            (5 * 3600, "5 hours ago"),
            (86_400, "1 day ago"),
            (2 * 86_400 + 7, "2 days ago"),
            (59 * 86_400, "59 days ago"),
            (90 * 86_400, "3 months ago"),
            (800 * 86_400, "2 years ago"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_age(secs), want, "{secs} s");
        }
    }

    #[test]
    fn json_objects_start_with_verdict_schema_and_command() {
        let v = json!({"b": 1, "command": "status", "a": [], "ok": true, "schema": JSON_SCHEMA});
        assert_eq!(
            ordered(v),
            r#"{"ok":true,"schema":"procoder/v1","command":"status","a":[],"b":1}"#
        );
    }

    #[test]
    fn usage_errors_become_one_json_object() {
        let text = "error: unexpected argument '--bogus' found\n\nUsage: procoder status [OPTIONS]\n\nFor more information, try '--help'.\n";
        let v: Value = serde_json::from_str(&usage_error_json(Some("status"), text)).expect("JSON");
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], "USAGE");
        assert_eq!(v["error"]["message"], "unexpected argument '--bogus' found");
        assert_eq!(
            v["error"]["details"],
            json!(["Usage: procoder status [OPTIONS]"])
        );
        assert_eq!(v["error"]["hint"], "procoder status --help");
    }
}
