//! Progress reporting without printing: library code reports, the CLI draws. One vocabulary for
//! every crate: the bundle's phases and procoder's own steps are one list, so one sink draws
//! them all and a caller passes the same sink to procoder's steps and to this crate.

/// What a long step is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Enumerating objects to pack.
    Counting,
    /// Writing pack entries (counted in objects).
    Writing,
    /// Copying pack entries into an export pack (counted in bytes).
    Exporting,
    /// Reading and indexing a received pack.
    Indexing,
    /// Checking received objects.
    Checking,
    /// Scanning exported files for credentials (counted in files).
    Scanning,
    /// Writing files into a package.
    Packaging,
    /// Opening a return package: the zip, its documents, the bundle header.
    Reading,
    /// Moving refs by compare-and-swap, one logged record each.
    UpdatingRefs,
    /// Updating a checked-out work tree (`apply --checkout`).
    CheckingOut,
}

/// A sink for progress. Calls are cheap and frequent; implementations throttle drawing.
pub trait Progress {
    /// A new phase starts, with its total when known.
    fn phase(&mut self, phase: Phase, total: Option<u64>);
    /// Absolute amount done in the current phase.
    fn advance(&mut self, done: u64);
}

/// Reports nothing: tests, `--json`, `--quiet` and the helper.
pub struct Silent;

impl Progress for Silent {
    fn phase(&mut self, _: Phase, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
}

/// Passes everything on, but gives a phase the total its caller knows and the reporting code
/// does not (the bundle member's size, for indexing: the zip knows it, the bundle reader not).
pub struct WithTotal<'a> {
    /// Where the reports go.
    pub inner: &'a mut dyn Progress,
    /// The phase whose total is filled in.
    pub phase: Phase,
    /// Its total, used when the report has none.
    pub total: u64,
}

impl Progress for WithTotal<'_> {
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
