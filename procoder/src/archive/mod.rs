//! `procoder archive`: a zip of the repository for an agent that only reads it. The work tree
//! as it is on disk (uncommitted changes and untracked files, not ignored ones), every local
//! branch and tag with its history, and nothing prepare never exports. The source repository
//! is only read: no lock, no record, no ref, no exclude line, nothing in `.git` or the work
//! tree (the default output lies beside the repository's folder, not in it). The zip is
//! written by `procoder_bundle::export::write_archive`; this module picks the files, the name
//! and the place, and shows the result.

pub(crate) mod files;
mod reveal;

use crate::cli::ArchiveArgs;
use crate::context::{now, Context};
use crate::ui::Ui;
use procoder_bundle::export;
use procoder_manifest::{count, utc_fields, ErrorCode, Failure, Result};
pub use reveal::Opened;
use std::path::{Path, PathBuf};

/// What the archive holds and where it went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub archive: PathBuf,
    pub archive_bytes: u64,
    /// The work tree root.
    pub repository: PathBuf,
    /// The branch HEAD names, or None when detached.
    pub head_ref: Option<String>,
    /// HEAD's commit (None on an unborn branch).
    pub head_oid: Option<git2::Oid>,
    pub branches: usize,
    pub tags: usize,
    pub files: usize,
    pub objects: usize,
    /// HEAD's paths whose disk state differs from HEAD (staged or not).
    pub uncommitted: usize,
    /// Files taken from disk that HEAD does not have (untracked, or staged as new).
    pub untracked: usize,
    pub warnings: Vec<String>,
    pub opened: Opened,
}

/// Runs the command: opens the repository of `PATH` (from `-C` or the current directory),
/// writes the archive, shows it unless told not to.
pub fn command(dir: Option<&Path>, args: &ArchiveArgs, ui: &Ui) -> Result<u8> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::internal("cannot read the current directory", e))?;
    // As with git -C: every relative path is taken from the -C folder.
    let base = dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
    let repo_dir = args
        .path
        .as_ref()
        .map_or_else(|| base.clone(), |p| base.join(p));
    let ctx = Context::open(&repo_dir)?;
    let output = args.output.as_ref().map(|o| base.join(o));
    let mut outcome = run(&ctx, output, &mut ui.bars())?;
    let quiet_run = args.no_open || ui.json || ui.quiet || crate::ui::progress::ci();
    if !quiet_run {
        outcome.opened = reveal::reveal(&outcome.archive);
    }
    let (value, text) = crate::ui::render_archive(&outcome);
    ui.success("archive", value, &text);
    Ok(0)
}

/// Writes the archive of `ctx` to `output` (default: beside the work tree's folder).
pub fn run(
    ctx: &Context,
    output: Option<PathBuf>,
    progress: &mut dyn procoder_bundle::Progress,
) -> Result<Outcome> {
    let repo = &ctx.repo;
    let (head_ref, head_oid) = head(repo)?;
    let (refs, _) = crate::prepare::exported_refs(repo)?;
    let selection = files::select(repo)?;
    let mut tracked = Vec::new();
    if let Some(oid) = head_oid {
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| Failure::internal("cannot read the HEAD commit", e))?;
        tracked = export::head_index(repo, tree.id())?
            .iter()
            .map(|e| e.path)
            .collect();
    }
    files::check_names(tracked.iter().chain(&selection.extra))?;

    let (secs, _) = now();
    let top = ctx.top_name();
    let output = output.unwrap_or_else(|| {
        let root = ctx
            .workdir
            .canonicalize()
            .unwrap_or_else(|_| ctx.workdir.clone());
        let dir = root.parent().map_or(root.clone(), Path::to_path_buf);
        dir.join(default_name(&top, secs))
    });
    refuse_existing(&output)?;
    let out_dir = output.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !out_dir.is_dir() {
        return Err(Failure::internal(
            format!("cannot write the archive into {}", out_dir.display()),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    // Beside the output, so the finished zip is renamed into place, never copied; both are
    // removed on any failure.
    let scratch = tempfile::Builder::new()
        .prefix(".procoder-archive-")
        .tempdir_in(&out_dir)
        .map_err(|e| Failure::internal("cannot create a scratch directory", e))?;
    let tmp_zip = tempfile::Builder::new()
        .prefix(".procoder-archive-")
        .suffix(".zip")
        .tempfile_in(&out_dir)
        .map_err(|e| Failure::internal("cannot create the archive", e))?;
    let input = export::ArchiveInput {
        repo,
        workdir: &ctx.workdir,
        top: &top,
        head_ref: head_ref.as_deref(),
        head_oid,
        refs: &refs,
        extra: &selection.extra,
        changed: &selection.changed,
        scratch: scratch.path(),
        unix_time: secs,
    };
    let (tmp_zip, stats) = export::write_archive(&input, tmp_zip, progress)?;
    tmp_zip
        .as_file()
        .sync_all()
        .map_err(|e| Failure::internal("cannot sync the archive", e))?;
    let archive_bytes = tmp_zip.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    procoder_bundle::host::make_readable(tmp_zip.as_file());
    // No clobbering even now: a file that appeared at `output` meanwhile is kept.
    tmp_zip.persist_noclobber(&output).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists(&output)
        } else {
            Failure::internal(format!("cannot write {}", output.display()), e.error)
        }
    })?;

    let mut warnings = Vec::new();
    let list = |paths: &[String]| {
        let mut s: String = paths.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if paths.len() > 5 {
            s.push_str(&format!(" and {} more", paths.len() - 5));
        }
        s
    };
    if !stats.submodules.is_empty() {
        warnings.push(format!(
            "{} archived as gitlinks with empty directories (their contents are not in the archive): {}",
            count(stats.submodules.len(), "submodule"),
            list(&stats.submodules)
        ));
    }
    if !selection.nested.is_empty() {
        warnings.push(format!(
            "{} left out (a repository of its own inside the work tree): {}",
            count(selection.nested.len(), "folder"),
            list(&selection.nested)
        ));
    }
    if !stats.skipped.is_empty() {
        warnings.push(format!(
            "{} left out (neither a file, a symlink nor a folder): {}",
            count(stats.skipped.len(), "path"),
            list(&stats.skipped)
        ));
    }
    let branches = refs
        .iter()
        .filter(|(n, _)| n.starts_with("refs/heads/"))
        .count();
    Ok(Outcome {
        archive: output,
        archive_bytes,
        repository: ctx.workdir.components().collect(),
        head_ref,
        head_oid,
        branches,
        tags: refs.len() - branches,
        files: stats.files,
        objects: stats.objects,
        uncommitted: selection.changed.len(),
        untracked: selection.extra.len(),
        warnings,
        opened: Opened::No,
    })
}

/// HEAD's branch (None when detached) and commit (None on an unborn branch).
fn head(repo: &git2::Repository) -> Result<(Option<String>, Option<git2::Oid>)> {
    let head = repo
        .find_reference("HEAD")
        .map_err(|e| Failure::internal("cannot read HEAD", e))?;
    let branch = head
        .symbolic_target_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let oid = match head.resolve() {
        Ok(r) => r.target(),
        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(Failure::internal("cannot resolve HEAD", e)),
    };
    Ok((branch, oid))
}

/// `<repo>-archive-YYYYMMDD-HHMMSS.zip` (UTC), the name made safe for any file system.
fn default_name(top: &str, secs: i64) -> String {
    let safe: String = top
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let t = utc_fields(secs);
    format!(
        "{safe}-archive-{:04}{:02}{:02}-{:02}{:02}{:02}.zip",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn exists(output: &Path) -> Failure {
    Failure::new(
        ErrorCode::OutputExists,
        format!("{} already exists", output.display()),
    )
    .hint(format!(
        "choose another name (procoder archive --output <new-file.zip>), or move {} away, then rerun",
        output.display()
    ))
}

/// `OUTPUT_EXISTS` before any work, when something is already at `output`.
fn refuse_existing(output: &Path) -> Result<()> {
    if std::fs::symlink_metadata(output).is_ok() {
        return Err(exists(output));
    }
    Ok(())
}
