//! Progress of procoder's own steps, on top of the bundle phases (`procoder_bundle::Progress`).
//! Library code reports here and never prints; `ui::progress` draws.

pub use procoder_bundle::{Phase, Progress as BundleProgress, Silent};

/// A step of procoder itself that can take more than a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening a return package: the zip, its documents, the bundle header.
    Reading,
    /// Moving refs by compare-and-swap, one logged record each.
    UpdatingRefs,
    /// Updating a checked-out work tree (`apply --checkout`).
    CheckingOut,
}

/// A progress sink for whole commands: the bundle phases plus procoder's own steps.
pub trait Progress: BundleProgress {
    /// A step starts, with its total when known; `advance` reports within it.
    fn step(&mut self, step: Step, total: Option<u64>);
    /// The same sink, for library calls that take a bundle progress.
    fn as_bundle(&mut self) -> &mut dyn BundleProgress;
}

impl Progress for Silent {
    fn step(&mut self, _: Step, _: Option<u64>) {}
    fn as_bundle(&mut self) -> &mut dyn BundleProgress {
        self
    }
}

/// Passes everything on, but gives a phase the total its caller knows and the bundle code
/// does not (the bundle member's size, for indexing).
pub struct WithTotal<'a> {
    pub inner: &'a mut dyn BundleProgress,
    pub phase: Phase,
    pub total: u64,
}

impl BundleProgress for WithTotal<'_> {
    fn phase(&mut self, phase: Phase, total: Option<u64>) {
        let total = if phase == self.phase {
            total.or(Some(self.total))
        } else {
            total
        };
        self.inner.phase(phase, total);
    }

    fn advance(&mut self, done: u64) {
        self.inner.advance(done);
    }
}
