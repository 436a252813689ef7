//! `procoder prepare`: the task branch, the exchange record and the task package, all or
//! nothing. Every check runs before anything is written; a failure after that undoes what
//! was written (`Rollback`), so a failed prepare leaves no branch, record or zip behind.

mod checks;
mod prompt;
pub mod size;
mod snapshot;

pub(crate) use checks::utf8_names;
pub use snapshot::Snapshot;
pub mod secrets;

use crate::context::{now, Context};
use procoder_bundle::{export, from_git, layout, reachable, Progress};
use procoder_manifest::{
    count, format_rfc3339, root_ref, Context as RefContext, Entry, ErrorCode, Exchange, ExchangeId,
    Failure, Result, Source, TaskRefs, EXCHANGE_PROTOCOL,
};
use std::path::{Path, PathBuf};

/// prepare's knobs.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Where to write the package (default `./procoder-task-<id>.zip` in the work tree root).
    pub output: Option<PathBuf>,
    /// The helper to ship (default: see `crate::helper::find`).
    pub helper: Option<PathBuf>,
    /// Export only the last N commits of each ref (a shallow repository).
    pub depth: Option<u32>,
    /// Start the task from a snapshot commit of the uncommitted work (`--include-uncommitted`).
    pub include_uncommitted: bool,
    /// Export only the source branch: no other branch, no tag (`--single-branch`).
    pub single_branch: bool,
    /// Refuse with `SECRETS_FOUND` instead of warning about possible secrets.
    pub strict_secrets: bool,
    /// Scan every exported blob of the history, not only HEAD's files.
    pub scan_history: bool,
    /// The size the package must not exceed (`--max-size`, `--no-max-size`).
    pub size_limit: size::SizeLimit,
}

/// What prepare made.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exchange_id: ExchangeId,
    pub task_ref: String,
    pub base_oid: git2::Oid,
    pub source_ref: String,
    pub package: PathBuf,
    pub package_bytes: u64,
    /// The size estimated before writing.
    pub estimate: export::SizeEstimate,
    /// The limit it was checked against (`None` under `--no-max-size`).
    pub size_limit: Option<u64>,
    pub files: usize,
    pub objects: usize,
    /// `--depth`, and the commits cut off at it (the export's `.git/shallow`).
    pub depth: Option<u32>,
    /// `--single-branch`: only the source branch was exported.
    pub single_branch: bool,
    pub shallow_commits: usize,
    /// The snapshot commit the task starts from (`--include-uncommitted` with work to take).
    pub snapshot: Option<Snapshot>,
    /// The secret scan; `None` when skipped for a measurement (`PROCODER_TEST_SKIP_SECRET_SCAN`).
    pub secrets: Option<secrets::Report>,
    pub warnings: Vec<String>,
    pub prompt: String,
}

/// Runs prepare in `ctx`.
pub fn run(ctx: &Context, opts: &Options, progress: &mut dyn Progress) -> Result<Outcome> {
    let locked = ctx.lock()?;
    // prepare reads hundreds of thousands of objects of the user's own repository once each:
    // like git, trust them on read (libgit2 re-hashes every read by default, which doubled the
    // enumeration time on git.git) and skip its object cache, which would only grow.
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
    locked.refuse_if_interrupted()?;
    let repo = &ctx.repo;
    let head = checks::head(repo)?;
    // Every refusal before the snapshot writes its objects.
    let helper = crate::helper::find(opts.helper.as_deref())?;
    let snapshot = if opts.include_uncommitted {
        snapshot::take(repo, head.oid, &head.branch)?
    } else {
        checks::clean(repo)?;
        None
    };
    // The task starts from the snapshot when there is one; the source stays the user's HEAD.
    let base = snapshot.as_ref().map_or(head.oid, |s| s.oid);

    let (secs, nanos) = now();
    let id = ExchangeId::new(secs, random3());
    let task_ref = root_ref(&id);
    let (mut refs, mut context) = exported_refs(repo)?;
    if opts.single_branch {
        // As `git clone --single-branch --no-tags`: the branch HEAD is on, and nothing else
        // (the helper then checks only that branch stays put).
        refs.retain(|(name, _)| *name == head.branch);
        context.heads.retain(|name, _| *name == head.branch);
        context.tags.clear();
    }
    let exchange = Exchange {
        protocol: EXCHANGE_PROTOCOL.to_owned(),
        exchange_id: id.clone(),
        created_at: format_rfc3339(secs, nanos),
        tool_version: crate::VERSION.to_owned(),
        source: Source {
            head_ref: head.branch.clone(),
            head_oid: from_git(head.oid),
        },
        task: TaskRefs {
            root_ref: task_ref.clone(),
            ref_prefix: procoder_manifest::family_prefix(&id),
            base_oid: from_git(base),
        },
        context,
    };
    let mut all_refs = refs;
    all_refs.push((task_ref.clone(), base));

    let top = ctx.top_name();
    let output = match &opts.output {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => std::env::current_dir()
            .map_err(|e| Failure::internal("cannot read the current directory", e))?
            .join(p),
        None => ctx.workdir.join(layout::task_zip(&id)),
    };
    // Never over a file the user has (the default name is new by its id). A folder there
    // fails when the package is placed, and everything is undone.
    if std::fs::symlink_metadata(&output).is_ok_and(|m| !m.is_dir()) {
        return Err(Failure::new(
            ErrorCode::OutputExists,
            format!("{} already exists", output.display()),
        )
        .hint(format!(
            "choose another name (procoder prepare --output <new-file.zip>), or move {} away, then rerun",
            output.display()
        )));
    }
    let out_dir = output.parent().unwrap_or(Path::new(".")).to_path_buf();
    let head_tree = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .map_err(|e| Failure::internal("cannot read the HEAD commit", e))?
        .id();
    let head_index = export::head_index(repo, head_tree)?;
    checks::names(&head_index)?;
    let scan = scan_secrets(repo, &head_index, &all_refs, opts, progress)?;

    let tips: Vec<git2::Oid> = all_refs.iter().map(|(_, oid)| *oid).collect();
    let found = reachable(repo, &tips, opts.depth, progress)?;
    let helper = export::DeflatedHelper::new(&helper.bytes, secs)?;
    let shape = size::Shape {
        repo,
        head: &head_index,
        refs: &all_refs,
        top: &top,
        helper: &helper,
    };
    let estimate = shape.estimate(&found)?;
    let limit = opts.size_limit.bytes();
    // The export that fits, if one does: the source branch and the task branch alone.
    let source_refs = [(head.branch.clone(), head.oid), (task_ref.clone(), base)];
    let source = size::Shape {
        refs: &source_refs,
        ..shape
    };
    if let Some(limit) = limit.filter(|&l| estimate.bytes > l) {
        return Err(size::too_large(
            &shape,
            &source,
            &estimate,
            None,
            limit,
            &kept_flags(opts),
        )?);
    }

    let scratch = tempfile::Builder::new()
        .prefix("prepare-")
        .tempdir_in(locked.tmp_dir()?)
        .map_err(|e| Failure::internal("cannot create a scratch directory", e))?;
    // Built under .git/procoder/tmp, not beside the output: a crash must not leave a stray
    // file in the work tree (the next prepare would refuse it as untracked).
    let tmp_zip = tempfile::Builder::new()
        .prefix("task-")
        .suffix(".zip")
        .tempfile_in(locked.tmp_dir()?)
        .map_err(|e| Failure::internal("cannot create the task package", e))?;
    if !out_dir.is_dir() {
        return Err(Failure::internal(
            format!("cannot write the package into {}", out_dir.display()),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let input = export::Input {
        repo,
        top: &top,
        exchange: &exchange,
        head_tree,
        refs: &all_refs,
        helper: &helper,
        scratch: scratch.path(),
        unix_time: secs,
    };
    let (tmp_zip, stats) = export::write(&input, found, tmp_zip, progress)?;
    tmp_zip
        .as_file()
        .sync_all()
        .map_err(|e| Failure::internal("cannot sync the task package", e))?;
    let package_bytes = tmp_zip.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    // The estimate can be off by a few percent: the limit holds for the real size too.
    if let Some(limit) = limit.filter(|&l| package_bytes > l) {
        let written = Some(package_bytes);
        return Err(size::too_large(
            &shape,
            &source,
            &estimate,
            written,
            limit,
            &kept_flags(opts),
        )?);
    }

    // Everything is checked and the package is built: now write, undoing on any failure.
    let mut rollback = Rollback {
        repo,
        branch: None,
        record: None,
        zip: None,
    };
    // Each step is logged once done; after a crash, status shows the exchange as preparing
    // and abort removes what the log says exists.
    rollback.record = Some(ctx.exchange_dir(&id));
    locked.write_exchange(&exchange)?;
    let mut journal = locked.journal(&id)?;
    let begin = Entry::Begin {
        task_ref: task_ref.clone(),
        base_oid: from_git(base),
        package: output.display().to_string(),
    };
    journal.append(begin)?;
    repo.reference(&task_ref, base, false, "procoder prepare: task branch")
        .map_err(|e| Failure::internal(format!("cannot create {task_ref}"), e))?;
    rollback.branch = Some((task_ref.clone(), base));
    journal.append(Entry::BranchCreated)?;
    place_package(tmp_zip, &output)?;
    rollback.zip = Some(output.clone());
    journal.append(Entry::PackageWritten)?;
    exclude_package(ctx, &output)?;
    journal.append(Entry::Prepared)?;
    rollback.disarm();

    let mut warnings = scan
        .as_ref()
        .map(|r| secret_warnings(r, &id))
        .unwrap_or_default();
    warnings.extend(self::warnings(&stats));
    let prompt = prompt::text(&id, &top, &output);
    Ok(Outcome {
        exchange_id: id,
        task_ref,
        base_oid: base,
        source_ref: head.branch,
        package: output,
        package_bytes,
        estimate,
        size_limit: limit,
        files: stats.files,
        objects: stats.objects,
        depth: opts.depth,
        single_branch: opts.single_branch,
        shallow_commits: stats.shallow,
        snapshot,
        secrets: scan,
        warnings,
        prompt,
    })
}

/// The secret scan of what the package will hold, before anything is written; under
/// `--strict-secrets`, `SECRETS_FOUND` when it found any.
fn scan_secrets(
    repo: &git2::Repository,
    head_index: &git2::Index,
    refs: &[(String, git2::Oid)],
    opts: &Options,
    progress: &mut dyn Progress,
) -> Result<Option<secrets::Report>> {
    // Only to measure what the scan costs; never under --strict-secrets, which must not be
    // switched off from the environment.
    if !opts.strict_secrets && std::env::var_os("PROCODER_TEST_SKIP_SECRET_SCAN").is_some() {
        return Ok(None);
    }
    let tips: Vec<git2::Oid> = refs.iter().map(|(_, oid)| *oid).collect();
    let history = opts.scan_history.then_some((tips.as_slice(), opts.depth));
    let report = secrets::scan(repo, head_index, history, progress)?;
    if opts.strict_secrets && !report.findings.is_empty() {
        let n = report.findings.len();
        return Err(Failure::new(
            ErrorCode::SecretsFound,
            format!(
                "{} in what prepare would export (--strict-secrets)",
                count(n, "possible secret")
            ),
        )
        .details(report.findings.iter().map(secrets::Finding::describe))
        .hint(format!(
            "remove {} and rotate {} (from history too: git filter-repo), or, if {} not secret, add {} fingerprint to {} and commit it; then run procoder prepare again",
            if n == 1 { "it" } else { "them" },
            if n == 1 { "it" } else { "them" },
            if n == 1 { "it is" } else { "they are" },
            if n == 1 { "its" } else { "each" },
            secrets::ALLOW_FILE
        )));
    }
    Ok(Some(report))
}

/// One warning a finding, then what to do about them, then a malformed allow list.
fn secret_warnings(report: &secrets::Report, id: &ExchangeId) -> Vec<String> {
    let mut out: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("possible secret at {}", f.describe()))
        .collect();
    if !report.findings.is_empty() {
        out.push(format!(
            "the package holds {}: if any is real, do not upload it (procoder abort {id}), remove and rotate the secret, and prepare again; if none is, add the fingerprints to {} and commit it (--strict-secrets refuses instead of warning)",
            count(report.findings.len(), "possible secret"),
            secrets::ALLOW_FILE
        ));
    }
    if !report.bad_allow_lines.is_empty() {
        let lines: Vec<String> = report
            .bad_allow_lines
            .iter()
            .map(usize::to_string)
            .collect();
        out.push(format!(
            "{} has no fingerprint (16 hex digits) on line {}, which therefore allows nothing",
            secrets::ALLOW_FILE,
            lines.join(", ")
        ));
    }
    out
}

/// What the user should know about the package: what it holds differently from the
/// repository (whether it fits the sandbox is decided before writing: `size`).
fn warnings(stats: &export::Stats) -> Vec<String> {
    let list = |paths: &[String]| {
        let shown: Vec<&str> = paths.iter().take(5).map(String::as_str).collect();
        let more = paths.len().saturating_sub(shown.len());
        let mut s = shown.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        s
    };
    let mut out = Vec::new();
    if !stats.submodules.is_empty() {
        out.push(format!(
            "{} exported as gitlinks with empty directories (their contents are not in the package): {}",
            count(stats.submodules.len(), "submodule"),
            list(&stats.submodules)
        ));
    }
    let (lfs, other): (Vec<_>, Vec<_>) = stats.filtered.iter().partition(|(_, d)| d == "lfs");
    if !lfs.is_empty() {
        let paths: Vec<String> = lfs.into_iter().map(|(p, _)| p.clone()).collect();
        out.push(format!(
            "{} exported as their pointer files (the sandbox cannot fetch LFS content): {}",
            count(paths.len(), "Git LFS file"),
            list(&paths)
        ));
    }
    if !other.is_empty() {
        let paths: Vec<String> = other
            .iter()
            .map(|(p, d)| format!("{p} (filter={d})"))
            .collect();
        out.push(format!(
            "{} with a filter driver exported as stored in git (the sandbox has no filter drivers): {}",
            count(paths.len(), "file"),
            list(&paths)
        ));
    }
    if !stats.encoded.is_empty() {
        out.push(format!(
            "{} with a working-tree-encoding exported as stored in git (UTF-8): {}",
            count(stats.encoded.len(), "file"),
            list(&stats.encoded)
        ));
    }
    out
}

/// The flags a suggested rerun keeps (those that change what is exported but not its size).
fn kept_flags(opts: &Options) -> Vec<String> {
    let mut flags = Vec::new();
    if opts.include_uncommitted {
        flags.push("--include-uncommitted".to_owned());
    }
    if opts.strict_secrets {
        flags.push("--strict-secrets".to_owned());
    }
    if opts.scan_history {
        flags.push("--scan-history".to_owned());
    }
    if let size::SizeLimit::Bytes(n) = opts.size_limit {
        flags.push(format!("--max-size {n}"));
    }
    flags
}

/// Local heads and tags (direct refs only) and the record's context of them.
pub(crate) fn exported_refs(
    repo: &git2::Repository,
) -> Result<(Vec<(String, git2::Oid)>, RefContext)> {
    let mut refs = Vec::new();
    let mut context = RefContext::default();
    for reference in repo
        .references()
        .map_err(|e| Failure::internal("cannot list refs", e))?
    {
        let reference = reference.map_err(|e| Failure::internal("cannot read a ref", e))?;
        let Ok(name) = std::str::from_utf8(reference.name_bytes()) else {
            continue;
        };
        let Some(oid) = reference.target() else {
            continue;
        }; // symbolic refs are not exported
        if name.starts_with("refs/heads/") {
            context.heads.insert(name.to_owned(), from_git(oid));
        } else if name.starts_with("refs/tags/") {
            context.tags.insert(name.to_owned(), from_git(oid));
        } else {
            continue;
        }
        refs.push((name.to_owned(), oid));
    }
    Ok((refs, context))
}

fn random3() -> [u8; 3] {
    use std::io::Read;
    let mut b = [0u8; 3];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        let (s, n) = now();
        let mix = (s as u64) ^ (u64::from(n) << 20) ^ u64::from(std::process::id());
        b = [(mix >> 16) as u8, (mix >> 8) as u8, mix as u8];
    }
    b
}

/// Moves the finished package to `output`: a rename when on the same file system, else a copy
/// into a temporary file beside `output` and a rename (so `output` never holds a partial zip).
fn place_package(tmp: tempfile::NamedTempFile, output: &Path) -> Result<()> {
    procoder_bundle::host::make_readable(tmp.as_file());
    let tmp = match tmp.persist(output) {
        Ok(_) => return Ok(()),
        Err(e) => e.file,
    };
    let dir = output.parent().unwrap_or(Path::new("."));
    let mut copy = tempfile::Builder::new()
        .prefix(".procoder-task-")
        .tempfile_in(dir)
        .map_err(|e| Failure::internal(format!("cannot write into {}", dir.display()), e))?;
    std::io::copy(
        &mut std::fs::File::open(tmp.path())
            .map_err(|e| Failure::internal("cannot read the package", e))?,
        copy.as_file_mut(),
    )
    .and_then(|_| copy.as_file().sync_all())
    .map_err(|e| Failure::internal(format!("cannot write {}", output.display()), e))?;
    procoder_bundle::host::make_readable(copy.as_file());
    copy.persist(output)
        .map_err(|e| Failure::internal(format!("cannot write {}", output.display()), e.error))?;
    Ok(())
}

/// Lists the package in `.git/info/exclude` when it lies inside the work tree, so `git status`
/// stays clean and the next prepare does not see it as untracked.
fn exclude_package(ctx: &Context, output: &Path) -> Result<()> {
    let workdir = ctx
        .workdir
        .canonicalize()
        .unwrap_or_else(|_| ctx.workdir.clone());
    let out = output
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.join(output.file_name().unwrap_or_default()));
    let Some(rel) = out.as_deref().and_then(|o| o.strip_prefix(&workdir).ok()) else {
        return Ok(());
    };
    let line = format!("/{}", rel.display());
    crate::exclude::add(&ctx.repo, &line)
}

/// Undoes a half-written prepare.
struct Rollback<'a> {
    repo: &'a git2::Repository,
    branch: Option<(String, git2::Oid)>,
    record: Option<PathBuf>,
    zip: Option<PathBuf>,
}

impl Rollback<'_> {
    fn disarm(&mut self) {
        self.branch = None;
        self.record = None;
        self.zip = None;
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if let Some((name, oid)) = self.branch.take() {
            if let Ok(mut r) = self.repo.find_reference(&name) {
                if r.target() == Some(oid) {
                    let _ = r.delete();
                }
            }
        }
        if let Some(dir) = self.record.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(zip) = self.zip.take() {
            let _ = std::fs::remove_file(zip);
        }
    }
}
