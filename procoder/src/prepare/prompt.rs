//! The text the user pastes to the agent with the package. Every name in it comes from
//! `procoder_bundle::layout`, so the prompt says what the package and the helper really do.

use procoder_bundle::layout::{return_zip, task_zip, HELPER, HELPER_COPY};
use procoder_manifest::ExchangeId;
use std::path::Path;

/// Tells the agent how to extract, where to commit, what to run and give back, and the two
/// ways out when the helper fails it: follow its hint, or restore it from `.git`.
/// Every line stays within 100 columns with a real id and the two-space indent prepare adds.
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
         2. Work and commit on the checked-out branch procoder/{id}/task.\n\
         \x20  You may add procoder/{id}/<name> branches; move no other branch or tag.\n\
         3. When done, commit everything (git status must be clean), then run:\n\
         \x20  ./{HELPER}\n\
         \x20  If it refuses, run the command its Hint line names, then rerun it.\n\
         \x20  Gone after git clean? cp .git/{HELPER_COPY} . && chmod +x {HELPER}\n\
         4. It prints the path of {back}: give me that file as a link.\n"
    )
}
