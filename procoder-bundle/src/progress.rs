//! Progress reporting without printing: library code reports, the CLI draws.

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
    /// Writing files into a package.
    Packaging,
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
