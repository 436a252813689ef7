//! What procoder prints when it meets a bug rather than a state of the user's repository: an
//! `INTERNAL` failure or a panic. color-eyre reports both: it says this is a bug, lists the
//! cause chain, and adds a backtrace when `RUST_BACKTRACE` asks for one. Coded failures never
//! come here (their shape is `Failure::render`'s), and neither does `--json`, whose stdout holds
//! exactly one object: the report goes to stderr, and only in human mode.

use color_eyre::config::{HookBuilder, Theme};
use color_eyre::Section;
use procoder_manifest::Failure;

/// What an `INTERNAL` report asks of the reader. `INTERNAL` also covers a failing disk or a
/// permission procoder could not expect, so it does not claim a bug for certain.
const PLEASE_REPORT: &str = "this is a procoder bug or an environment failure (a disk, a permission); please report it with the output above";

/// What a panic's report asks: a panic is always a bug.
const PANIC_SECTION: &str =
    "Suggestion: this is a procoder bug; please report it with the output above";

/// Installs the panic hook and the report style, first thing in `main`; `color` when stderr
/// is a terminal that allows it.
pub(crate) fn install(color: bool) {
    let theme = if color { Theme::dark() } else { Theme::new() };
    // Installing twice fails and keeps the first hook, which is as good; nothing to say.
    let _ = HookBuilder::blank()
        .add_default_filters()
        .theme(theme)
        .panic_section(PANIC_SECTION)
        .install();
}

/// The report printed under an `INTERNAL` failure's own lines: the cause chain, the request to
/// report it, and a backtrace under `RUST_BACKTRACE` (of where the failure was reported; the
/// chain names where it happened).
pub(crate) fn report(failure: &Failure) -> String {
    let report = color_eyre::Report::new(failure.clone()).suggestion(PLEASE_REPORT);
    format!("{report:?}")
}
