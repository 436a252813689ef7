//! indicatif progress on stderr, only for a person watching: never off-TTY, under `--json`
//! or `CI=true`. Bars appear after about 250 ms, so quick runs stay quiet.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use procoder_bundle::{Phase, Progress};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Draws progress bars when `enabled`.
pub struct Bars {
    bar: Option<ProgressBar>,
    started: Instant,
    enabled: bool,
    phase: Option<(Phase, Option<u64>)>,
}

impl Bars {
    /// Bars for an interactive stderr, unless `quiet` (JSON mode) or CI.
    pub fn new(quiet: bool) -> Self {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let enabled = !quiet && !ci && std::io::stderr().is_terminal();
        Self {
            bar: None,
            started: Instant::now(),
            enabled,
            phase: None,
        }
    }

    fn draw(&mut self) {
        if self.bar.is_some()
            || !self.enabled
            || self.started.elapsed() < Duration::from_millis(250)
        {
            return;
        }
        let Some((phase, total)) = self.phase else {
            return;
        };
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{spinner} {msg:<20} [{bar:30}] {pos}/{len} ({elapsed})"
        } else {
            "{spinner} {msg:<20} {pos} ({elapsed})"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(label(phase));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
    }
}

fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Counting => "counting objects",
        Phase::Writing => "writing pack",
        Phase::Indexing => "indexing pack (bytes)",
        Phase::Checking => "checking objects",
        Phase::Packaging => "zipping work tree",
    }
}

impl Progress for Bars {
    fn phase(&mut self, phase: Phase, total: Option<u64>) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.phase = Some((phase, total));
        self.draw();
    }

    fn advance(&mut self, done: u64) {
        self.draw();
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
