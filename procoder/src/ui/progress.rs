//! indicatif progress on stderr, only for a person watching: never off-TTY, under `--json`,
//! `--quiet` or `CI=true`. Nothing is drawn until the command has run for about 250 ms
//! (`PROCODER_PROGRESS_DELAY_MS`, a testing knob), so quick runs stay quiet.

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use procoder_bundle::{Phase, Progress};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a command runs before bars appear.
const DEFAULT_DELAY: Duration = Duration::from_millis(250);

/// What a step counts, which decides how its bar reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Nothing countable: a spinner and the elapsed time.
    None,
    Bytes,
    Count(&'static str),
}

/// Draws progress bars when enabled; otherwise every call is a no-op.
pub struct Bars {
    shared: Option<Arc<Mutex<Shared>>>,
    /// The bar of the current step (a handle on the same bar as `Shared::bar`): `advance` is
    /// called per object and must not take a lock.
    current: Option<ProgressBar>,
}

/// The state the reveal timer shares with the command.
struct Shared {
    /// The current step's bar; hidden until `revealed`.
    bar: Option<ProgressBar>,
    revealed: bool,
    finished: bool,
}

impl Bars {
    /// Bars that draw nothing.
    pub fn off() -> Self {
        Self {
            shared: None,
            current: None,
        }
    }

    /// Bars for an interactive stderr, unless `quiet` (`--json`, `--quiet`) or CI.
    pub fn new(quiet: bool) -> Self {
        if quiet || ci() || !std::io::stderr().is_terminal() {
            return Self::off();
        }
        let shared = Arc::new(Mutex::new(Shared {
            bar: None,
            revealed: false,
            finished: false,
        }));
        let delay = delay();
        if delay.is_zero() {
            lock(&shared).revealed = true;
        } else {
            // One sleeping thread instead of a check in `advance`: a step that reports nothing
            // for a while (checking objects) must still appear after the delay.
            let timer = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("progress-delay".into())
                .spawn(move || {
                    std::thread::sleep(delay);
                    let mut s = lock(&timer);
                    if !s.finished {
                        s.revealed = true;
                        if let Some(bar) = &s.bar {
                            bar.set_draw_target(ProgressDrawTarget::stderr());
                            bar.force_draw();
                        }
                    }
                });
            if spawned.is_err() {
                return Self::off();
            }
        }
        Self {
            shared: Some(shared),
            current: None,
        }
    }

    fn start(&mut self, label: &'static str, unit: Unit, total: Option<u64>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut s = lock(shared);
        if let Some(old) = s.bar.take() {
            old.finish_and_clear();
        }
        let target = if s.revealed {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(total, target);
        bar.set_style(style(unit, total.is_some()));
        bar.set_message(label);
        bar.enable_steady_tick(Duration::from_millis(100));
        if s.revealed {
            bar.force_draw();
        }
        s.bar = Some(bar.clone());
        self.current = Some(bar);
    }
}

/// `CI` set to anything but `false`/`0`, as CI services do.
pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `PROCODER_PROGRESS_DELAY_MS`: only tests set it (to 0, to see bars on a quick run).
fn delay() -> Duration {
    std::env::var("PROCODER_PROGRESS_DELAY_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(DEFAULT_DELAY, Duration::from_millis)
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while drawing must not take the command down with it.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `{spinner} label elapsed [bar] done, rate`: bytes as `12.5 MiB/40.1 MiB, 8.20 MiB/s`,
/// counts as `1,204/3,000 objects, 5,120/s`, a step with nothing to count as a spinner.
fn style(unit: Unit, has_total: bool) -> ProgressStyle {
    let template = match (unit, has_total) {
        (Unit::None, _) => "{spinner} {msg:<18} {elapsed:>4}",
        (Unit::Bytes, true) => "{spinner} {msg:<18} {elapsed:>4} [{bar:30}] {binary_bytes}/{binary_total_bytes}, {binary_bytes_per_sec}",
        (Unit::Bytes, false) => "{spinner} {msg:<18} {elapsed:>4} {binary_bytes}, {binary_bytes_per_sec}",
        (Unit::Count(_), true) => "{spinner} {msg:<18} {elapsed:>4} [{bar:30}] {done}, {rate}",
        (Unit::Count(_), false) => "{spinner} {msg:<18} {elapsed:>4} {done}, {rate}",
    };
    let what = match unit {
        Unit::Count(what) => what,
        _ => "",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key(
            "done",
            move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = match s.len() {
                    Some(len) => write!(w, "{}/{} {what}", HumanCount(s.pos()), HumanCount(len)),
                    None => write!(w, "{} {what}", HumanCount(s.pos())),
                };
            },
        )
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let rate = s.per_sec();
            let _ = if rate >= 100.0 {
                write!(w, "{}/s", HumanCount(rate as u64))
            } else {
                write!(w, "{rate:.1}/s")
            };
        })
}

fn look(phase: Phase) -> (&'static str, Unit) {
    match phase {
        Phase::Counting => ("counting objects", Unit::Count("objects")),
        Phase::Writing => ("writing pack", Unit::Count("objects")),
        Phase::Exporting => ("writing pack", Unit::Bytes),
        Phase::Indexing => ("indexing pack", Unit::Bytes),
        Phase::Checking => ("checking objects", Unit::None),
        Phase::Scanning => ("scanning for secrets", Unit::Count("files")),
        Phase::Packaging => ("checking out (zip)", Unit::Count("files")),
        Phase::Reading => ("reading package", Unit::None),
        Phase::UpdatingRefs => ("updating refs", Unit::Count("refs")),
        Phase::CheckingOut => ("checking out", Unit::Count("work trees")),
    }
}

impl Progress for Bars {
    fn phase(&mut self, phase: Phase, total: Option<u64>) {
        let (label, unit) = look(phase);
        self.start(label, unit, total);
    }

    fn advance(&mut self, done: u64) {
        if let Some(bar) = &self.current {
            bar.set_position(done);
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let mut s = lock(shared);
            s.finished = true;
            if let Some(bar) = s.bar.take() {
                bar.finish_and_clear();
            }
        }
    }
}
