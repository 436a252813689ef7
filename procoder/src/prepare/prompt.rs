//! The text the user pastes to the agent with the package. Every name in it comes from
//! `procoder_bundle::layout`, so the prompt says what the package and the helper really do.

use procoder_bundle::layout::{return_zip, task_zip, HELPER};
use procoder_manifest::ExchangeId;
use std::path::Path;

/// Tells the agent how to extract, where to commit, and what to run and give back.
pub fn text(id: &ExchangeId, top: &str, package: &Path) -> String {
    let zip = package
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| task_zip(id));
    let back = return_zip(id);
    format!(
        "The attached {zip} is a git repository prepared for you.\n\
         1. Extract it with unzip, which keeps file modes and symlinks (Python's zipfile does not):\n\
         \x20  unzip -q {zip} && cd {top}\n\
         \x20  (Extracted another way? Run chmod +x {HELPER}; it repairs lost modes and symlinks.)\n\
         2. Work on the checked-out branch procoder/{id}/task and commit with git. You may also\n\
         \x20  create branches named procoder/{id}/<name>. Do not move other branches or tags.\n\
         3. When done, commit everything (git status must be clean), then run:\n\
         \x20  ./{HELPER}\n\
         4. It prints the path of {back}: give me that file as a download link.\n"
    )
}
