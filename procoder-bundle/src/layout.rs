//! The names an exchange is made of on disk and in its zips, in one place: prepare writes them,
//! the helper looks for them, the prompt tells the agent about them and apply reads them, so a
//! name cannot change on one side only. Paths inside a git directory are relative to it (the
//! user's common dir locally, the export's `.git` in the sandbox).

use procoder_manifest::ExchangeId;
use std::path::{Path, PathBuf};

/// The helper's file name: at the top of the task package, and beside an installed `procoder`.
pub const HELPER: &str = "procoder-return";

/// What precedes the version in the helper's binary (`\0<this><version>\0`): `procoder
/// --version` reports the version of the helper it would ship without running it, which a
/// macOS or Windows host cannot do.
pub const HELPER_VERSION_MARK: &str = "\0procoder-return-version=";

/// procoder's folder in a git directory: the store locally, the exported record in the sandbox.
pub const DIR: &str = "procoder";

/// The exchange record's file name: `.git/procoder/exchange.json` in the export,
/// `.git/procoder/exchanges/<id>/exchange.json` in the local store.
pub const RECORD: &str = "exchange.json";

/// A symlink beside the exported record (`.git/procoder/<this>` -> [`RECORD`]). The helper
/// reads it to tell a faithful extraction from a lossy one (a plain file holding the link's
/// text: the extractor dropped symlinks and, with them, every mode bit).
pub const SYMLINK_PROBE: &str = "symlink-probe";

/// A second copy of the helper, `.git/procoder/<this>`: `git clean -fdx` removes the top-level
/// one (it is ignored by design) but never touches `.git`, so the prompt can say how to restore it.
pub const HELPER_COPY: &str = "procoder/procoder-return";

/// The helper's record of what it returned, `.git/procoder/<this>/<n>.json` (a copy of each
/// return document it wrote): a later return that rewrites those tips says so.
pub const RETURNS: &str = "procoder/returns";

/// The return document's member name in a return zip.
pub const DOC_FILE: &str = "procoder-return.json";

/// The bundle's member name in a return zip (the only name procoder writes; the document names
/// the one a package holds).
pub const BUNDLE_FILE: &str = "procoder-return.bundle";

/// Every task package's name, `*` standing for the exchange id.
const TASK_ZIP: &str = "procoder-task-*.zip";

/// Every return package's name, `*` standing for the exchange id: a glob as it stands.
const RETURN_ZIP: &str = "procoder-return-*.zip";

/// The lines of the export's `.git/info/exclude`: the helper and its output belong to the
/// exchange, not to the repository, so the agent's `git status` never shows them.
pub const EXPORT_EXCLUDE: [&str; 2] = [HELPER, RETURN_ZIP];

/// `procoder-task-<id>.zip`, the task package's default name.
pub fn task_zip(id: &ExchangeId) -> String {
    TASK_ZIP.replace('*', id.as_str())
}

/// `procoder-return-<id>.zip`, the name the helper writes.
pub fn return_zip(id: &ExchangeId) -> String {
    RETURN_ZIP.replace('*', id.as_str())
}

/// `<git_dir>/procoder/exchange.json`, the record of the export the helper runs in.
pub fn exported_record(git_dir: &Path) -> PathBuf {
    git_dir.join(DIR).join(RECORD)
}

/// `<git_dir>/procoder/returns`, the sandbox's record of earlier returns.
pub fn returns_dir(git_dir: &Path) -> PathBuf {
    git_dir.join(RETURNS)
}

/// `<git_dir>/procoder/symlink-probe`.
pub fn symlink_probe(git_dir: &Path) -> PathBuf {
    git_dir.join(DIR).join(SYMLINK_PROBE)
}

/// The text of the export's `.git/info/exclude`.
pub fn export_exclude() -> String {
    let mut text = String::from(
        "# procoder: the helper and its output belong to the exchange, not to the repository\n",
    );
    for line in EXPORT_EXCLUDE {
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exclude_list_covers_what_the_helper_writes() {
        let id = ExchangeId::parse("20260320-113015-a1b2c3").expect("a valid id");
        let name = return_zip(&id);
        assert_eq!(name, "procoder-return-20260320-113015-a1b2c3.zip");
        let (prefix, suffix) = RETURN_ZIP.split_once('*').expect("a glob");
        assert!(name.starts_with(prefix) && name.ends_with(suffix));
        assert!(EXPORT_EXCLUDE.contains(&HELPER) && EXPORT_EXCLUDE.contains(&RETURN_ZIP));
        assert_eq!(task_zip(&id), "procoder-task-20260320-113015-a1b2c3.zip");
    }
}
