//! One run of the helper: check the exported repository, collect the family updates, repair a
//! lossy extraction, write the return package.

use crate::earlier::{self, ReplacedCommit};
use crate::{lossy, objects, refs, worktree, Repairs, RERUN, VERSION};
use procoder_bundle::{layout, package, to_git, write_bundle, BaseTrees, Silent};
use procoder_manifest::{
    format_rfc3339, ErrorCode, Exchange, Failure, RefUpdate, Result, ReturnDoc, ReturnTask,
    RETURN_PROTOCOL,
};
use std::path::{Path, PathBuf};

/// What a successful run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Absolute path of the zip.
    pub zip_path: PathBuf,
    /// The ref updates it carries.
    pub updates: Vec<RefUpdate>,
    /// Objects in the bundle.
    pub objects: usize,
    /// Size of the zip in bytes.
    pub zip_bytes: u64,
    /// What was repaired after a lossy extraction, if anything.
    pub repairs: Option<Repairs>,
    /// Entries in `git stash list`: work the agent set aside, which is never returned.
    pub stashed: usize,
    /// Commits an earlier return sent that this one drops (amended or rebased since).
    pub replaced: Vec<ReplacedCommit>,
    /// Why this return could not be recorded for the next run, if it could not.
    pub unrecorded: Option<String>,
}

/// Runs the helper for the repository containing `cwd`.
pub fn run(cwd: &Path) -> Result<Outcome> {
    // libgit2 re-hashes every object it reads; git does not. Nothing is lost: the helper's
    // object check parses what the agent made, and apply's indexer hashes every object of
    // the bundle again, so a corrupt object fails there, never lands.
    git2::opts::strict_hash_verification(false);
    limit_pack_windows();
    let hint = match package_of_helper(cwd) {
        Some(dir) => format!(
            "run `cd {}` (the unzipped task package this helper belongs to), {RERUN}",
            crate::worktree::sh_quote(&dir.to_string_lossy())
        ),
        None => format!(
            "run ./procoder-return from the top folder of the unzipped procoder task package, {RERUN}"
        ),
    };
    let not_package = |why: String| Failure::new(ErrorCode::InvalidExchange, why).hint(&hint);
    let repo = git2::Repository::discover(cwd)
        .map_err(|_| not_package(format!("{} is not inside a git repository", cwd.display())))?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| not_package("the repository has no work tree".into()))?
        .to_path_buf();
    let record_path = layout::exported_record(repo.path());
    let bytes = std::fs::read(&record_path).map_err(|_| {
        not_package(format!(
            "{} is missing: this is not a prepared procoder package",
            record_path.display()
        ))
    })?;
    let exchange = Exchange::from_json(&bytes).map_err(|e| match e.code {
        // Another procoder prepared this record (or it was edited): no step in the sandbox
        // reads it, the package itself must come from a matching procoder.
        ErrorCode::UnsupportedProtocol => e
            .recode(
                ErrorCode::UnsupportedProtocol,
                format!("{} is not readable by this helper", record_path.display()),
            )
            .hint(format!(
                "ask the user to prepare the task again with procoder {} (this helper's version) and to give you that package, {RERUN}",
                crate::version()
            )),
        _ => e
            .recode(
                ErrorCode::InvalidExchange,
                format!("{} is invalid", record_path.display()),
            )
            .hint(&hint),
    })?;
    let base = to_git(exchange.task.base_oid);
    repo.find_commit(base).map_err(|_| {
        not_package(format!(
            "the task base {base} is missing from the repository"
        ))
    })?;

    // One walk of the base's trees at most, for the object check and the bundle both.
    let base_trees = BaseTrees::new(&repo, &[base])?;
    objects::check(&repo, &base_trees, &exchange)?;
    let repairs = lossy::repair(&repo, &exchange)?.filter(|r| !r.is_empty() || !r.kept.is_empty());
    worktree::check_clean(&repo, &exchange)?;
    let updates = refs::collect_updates(&repo, &exchange)?;
    let (replaces, replaced) = earlier::replaced(&repo, &updates);

    let id = &exchange.exchange_id;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let doc = ReturnDoc {
        protocol: RETURN_PROTOCOL.to_owned(),
        exchange_id: id.clone(),
        created_at: format_rfc3339(now.as_secs() as i64, now.subsec_nanos()),
        tool_version: VERSION.to_owned(),
        bundle_file: layout::BUNDLE_FILE.to_owned(),
        task: ReturnTask {
            root_ref: exchange.task.root_ref.clone(),
            base_oid: exchange.task.base_oid,
        },
        updates,
        replaces,
    };
    let tips: Vec<(String, git2::Oid)> = doc
        .updates
        .iter()
        .map(|u| (u.name.clone(), to_git(u.new_oid)))
        .collect();
    let zip_path = workdir.join(layout::return_zip(id));
    let (stats, zip_bytes) =
        package::write_return_zip(&zip_path, &doc, now.as_secs() as i64, |out| {
            write_bundle(&repo, &base_trees, &tips, out, &mut Silent)
        })?;
    let zip_path = zip_path.canonicalize().unwrap_or(zip_path);
    let unrecorded = earlier::record(repo.path(), &doc).err().map(|e| {
        format!(
            "could not record this return in {} ({e})",
            layout::returns_dir(repo.path()).display()
        )
    });
    Ok(Outcome {
        zip_path,
        updates: doc.updates,
        objects: stats.objects,
        zip_bytes,
        repairs,
        stashed: repo.reflog("refs/stash").map_or(0, |r| r.len()),
        replaced,
        unrecorded,
    })
}

/// libgit2 maps packs in 1 GiB windows by default, and every page the helper touches of the
/// package's pack stays resident: on git.git (a 300 MB pack) a one-commit return peaked at
/// 33 MB, 20 MB over `git status` + `git bundle create`. It reads a few objects scattered over
/// the pack, as apply does: the same 1 MiB windows under 8 MiB.
#[allow(unsafe_code)]
fn limit_pack_windows() {
    // SAFETY: git2 marks these global setters unsafe because they race with concurrent
    // libgit2 use; this runs once, single-threaded, before any repository is opened.
    unsafe {
        let _ = git2::opts::set_mwindow_size(1 << 20);
        let _ = git2::opts::set_mwindow_mapped_limit(8 << 20);
    }
}

/// The package the running helper was unzipped into, when that is not where it was run from:
/// `repo/procoder-return` started from the folder that holds `repo`. The helper sits at the
/// package's top, so its own path names the folder to `cd` into.
fn package_of_helper(cwd: &Path) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // A copy kept inside `.git/procoder/` belongs to the work tree two levels up.
    let dir = match dir.ends_with(".git/procoder") {
        true => dir.parent()?.parent()?,
        false => dir,
    };
    let here = cwd.canonicalize().ok()?;
    let inside = here.starts_with(dir.canonicalize().ok()?);
    (!inside && layout::exported_record(&dir.join(".git")).is_file()).then(|| dir.to_path_buf())
}
