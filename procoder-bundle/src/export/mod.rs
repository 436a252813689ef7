//! The task package: one top folder holding the work tree at HEAD, a minimal `.git` and the
//! helper; and the repository archive (`archive.rs`), made of the same `.git`. Written by
//! streaming into a zip; nothing is checked out on disk. It lives here, beside the return
//! package and the export pack, because it is format knowledge (a zip layout, a `.git`
//! skeleton, an index file); `procoder prepare` and `procoder archive` only decide when to
//! write it and where it goes, and undo it on failure.

mod archive;
mod attrs;
mod deflate_pack;
mod estimate;
mod helper;
mod index;
mod worktree;

use crate::{layout, pack_in_progress, package::zip_time, write_export_pack, Progress, Reachable};
pub use archive::{write_archive, ArchiveInput, ArchiveStats};
use attrs::Attrs;
use deflate_pack::Deflating;
pub use deflate_pack::LEVEL as PACK_LEVEL;
pub use estimate::{estimate, SizeEstimate};
pub use helper::DeflatedHelper;
use procoder_manifest::{Exchange, Failure, Result};
use std::io::{Seek, Write};
use std::path::Path;
use worktree::Stamp;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// Everything the package is made of.
pub struct Input<'a> {
    /// The user's repository.
    pub repo: &'a git2::Repository,
    /// The folder name inside the zip (the repository's directory name).
    pub top: &'a str,
    /// The record, exported as `.git/procoder/exchange.json`.
    pub exchange: &'a Exchange,
    /// The tree checked out in the export (HEAD's).
    pub head_tree: git2::Oid,
    /// Every exported ref (heads, tags, the task branch) and its target.
    pub refs: &'a [(String, git2::Oid)],
    /// The `procoder-return` executable's bytes.
    pub helper: &'a DeflatedHelper,
    /// Scratch space for the pack and the attribute lookups, removed by the caller.
    pub scratch: &'a Path,
    /// The time of every entry (prepare's).
    pub unix_time: i64,
}

/// What went into the zip.
#[derive(Debug, Default)]
pub struct Stats {
    /// Work tree files (gitlinks not counted).
    pub files: usize,
    /// Objects in the export pack.
    pub objects: usize,
    /// Commits whose parents were left out by `--depth`.
    pub shallow: usize,
    /// Submodule paths, exported as gitlinks over empty directories.
    pub submodules: Vec<String>,
    /// Paths with a filter driver (LFS and others), exported as stored, and the driver.
    pub filtered: Vec<(String, String)>,
    /// Paths with a `working-tree-encoding`, exported as stored.
    pub encoded: Vec<String>,
}

/// The zip writer makes several small writes an entry: 301,085 write calls for libgit2's
/// package unbuffered.
fn buffered<W: Write + Seek>(out: W) -> std::io::BufWriter<W> {
    std::io::BufWriter::with_capacity(1 << 20, out)
}

fn unbuffer<W: Write + Seek>(out: std::io::BufWriter<W>) -> Result<W> {
    out.into_inner()
        .map_err(|e| Failure::internal("cannot write the package", e.into_error()))
}

fn zerr(what: &str) -> impl FnOnce(zip::result::ZipError) -> Failure + '_ {
    move |e| Failure::internal(format!("cannot write {what} into the task package"), e)
}

fn ioerr(what: &str) -> impl FnOnce(std::io::Error) -> Failure + '_ {
    move |e| Failure::internal(format!("cannot write {what} into the task package"), e)
}

/// The zip options every package entry starts from, all stamped with one time.
#[derive(Clone, Copy)]
struct Opts {
    /// A small file, deflated, 0644.
    file: SimpleFileOptions,
    /// A pack file, 0444.
    pack: SimpleFileOptions,
    /// A folder, 0755.
    dir: SimpleFileOptions,
}

impl Opts {
    fn at(unix_time: i64) -> Self {
        let opts = SimpleFileOptions::default().last_modified_time(zip_time(unix_time));
        Self {
            file: opts
                .unix_permissions(0o644)
                .compression_method(CompressionMethod::Deflated),
            pack: opts.unix_permissions(0o444),
            dir: opts.unix_permissions(0o755),
        }
    }
}

/// `git/name` holding `body`.
fn small<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    opts: Opts,
    git: &str,
    name: &str,
    body: &[u8],
) -> Result<()> {
    zip.start_file(format!("{git}/{name}"), opts.file)
        .map_err(zerr(name))?;
    zip.write_all(body).map_err(ioerr(name))
}

/// What one package's `.git` says of itself.
struct Skeleton<'a> {
    /// `HEAD`'s line: `ref: <branch>` or an object id.
    head_line: &'a str,
    description: &'a [u8],
    /// `info/exclude`, if any.
    exclude: Option<&'a [u8]>,
    /// Folders besides git's own.
    extra_dirs: &'a [&'a str],
}

/// The `.git` both packages share: its folders, `HEAD`, the config, the description,
/// `info/exclude` and every ref in `packed-refs`.
fn skeleton<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    opts: Opts,
    git: &str,
    repo: &git2::Repository,
    refs: &[(String, git2::Oid)],
    what: &Skeleton<'_>,
) -> Result<()> {
    let Skeleton {
        head_line,
        description,
        exclude,
        extra_dirs,
    } = *what;
    let base = [
        "",
        "/info",
        "/objects",
        "/objects/info",
        "/objects/pack",
        "/refs",
        "/refs/heads",
        "/refs/tags",
    ];
    for d in base.iter().chain(extra_dirs) {
        zip.add_directory(format!("{git}{d}/"), opts.dir)
            .map_err(zerr("a directory"))?;
    }
    small(zip, opts, git, "HEAD", format!("{head_line}\n").as_bytes())?;
    small(zip, opts, git, "config", config(&identity(repo)).as_bytes())?;
    small(zip, opts, git, "description", description)?;
    if let Some(exclude) = exclude {
        small(zip, opts, git, "info/exclude", exclude)?;
    }
    small(
        zip,
        opts,
        git,
        "packed-refs",
        packed_refs(repo, refs)?.as_bytes(),
    )
}

/// The pack (and `.git/shallow` when the walk cut history) of the objects `found`: the index
/// is written now, the pack is being deflated for [`Deflating::finish`] to add at the end.
/// Returns that, the pack's entry name, the object count and the commits cut off.
fn pack<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    opts: Opts,
    git: &str,
    repo: &git2::Repository,
    found: Reachable,
    scratch: &Path,
    progress: &mut dyn Progress,
) -> Result<(Deflating, String, usize, usize)> {
    let dir = scratch.join("pack");
    std::fs::create_dir_all(&dir).map_err(ioerr("the pack"))?;
    let deflating = deflate_pack::start(&pack_in_progress(&dir), opts.pack, scratch)?;
    let pack = write_export_pack(repo, found.objects, &dir, progress, &mut |n| {
        deflating.on_disk(n)
    })?;
    let pack_len = std::fs::metadata(&pack.pack)
        .map_err(ioerr("the pack"))?
        .len();
    deflating.written(pack_len);
    if !found.shallow.is_empty() {
        let list: String = found.shallow.iter().map(|c| format!("{c}\n")).collect();
        small(zip, opts, git, "shallow", list.as_bytes())?;
    }
    let name = |path: &Path| -> String {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("{git}/objects/pack/{}", name.unwrap_or_default())
    };
    // The index deflates by 1.4% only (object ids and CRCs do not), but it costs little.
    zip.start_file(
        name(&pack.idx),
        opts.pack
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(i64::from(deflate_pack::LEVEL))),
    )
    .map_err(zerr("the pack index"))?;
    let mut src = std::fs::File::open(&pack.idx).map_err(ioerr("the pack index"))?;
    std::io::copy(&mut src, zip).map_err(ioerr("the pack index"))?;
    Ok((
        deflating,
        name(&pack.pack),
        pack.objects,
        found.shallow.len(),
    ))
}

/// `.git/index` for `entries`, whose trusted files carry `unix_time`.
fn index_member<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    git: &str,
    entries: Vec<index::Entry>,
    unix_time: i64,
) -> Result<()> {
    // Newer than every work tree file: an entry as new as its index would be "racily clean"
    // and hashed again by git.
    let index_time = unix_time.saturating_add(2);
    let index = index::encode(entries, u32::try_from(unix_time).unwrap_or(0));
    let index_name = format!("{git}/index");
    let index_opts = Stamp { unix: index_time }
        .options(index_name.as_bytes())?
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o644);
    zip.start_file_with_options(index_opts)
        .map_err(zerr("the index"))?;
    zip.write_all(&index).map_err(ioerr("the index"))
}

/// Writes the package of `found` (what [`reachable`](crate::reachable) found from
/// `input.refs`, with its depth) into `out`.
pub fn write<W: Write + Seek>(
    input: &Input<'_>,
    found: Reachable,
    out: W,
    progress: &mut dyn Progress,
) -> Result<(W, Stats)> {
    let mut zip = zip::ZipWriter::new(buffered(out));
    let opts = Opts::at(input.unix_time);
    let file = opts.file;
    let top = input.top;
    let git = format!("{top}/.git");
    let mut stats = Stats::default();

    let record_dir = format!("/{}", layout::DIR);
    let task_ref = &input.exchange.task.root_ref;
    let exclude = layout::export_exclude();
    let what = Skeleton {
        head_line: &format!("ref: {task_ref}"),
        description: b"procoder task package\n",
        exclude: Some(exclude.as_bytes()),
        extra_dirs: &[&record_dir],
    };
    skeleton(&mut zip, opts, &git, input.repo, input.refs, &what)?;
    let record = format!("{}/{}", layout::DIR, layout::RECORD);
    small(
        &mut zip,
        opts,
        &git,
        &record,
        input.exchange.to_json().as_bytes(),
    )?;

    let (deflating, pack_name);
    (deflating, pack_name, stats.objects, stats.shallow) = pack(
        &mut zip,
        opts,
        &git,
        input.repo,
        found,
        input.scratch,
        progress,
    )?;

    let index = head_index(input.repo, input.head_tree)?;
    progress.phase(crate::Phase::Packaging, Some(index.len() as u64));
    let attrs = Attrs::new(input.repo, index, input.scratch)?;
    let stamp = Stamp {
        unix: input.unix_time,
    };
    let walk = worktree::write(
        &mut zip,
        input.repo,
        input.head_tree,
        top,
        stamp,
        &attrs,
        progress,
    )?;
    stats.files = walk.entries.iter().filter(|e| e.mode != 0o160000).count();
    stats.submodules = walk.submodules;
    stats.filtered = walk.filtered;
    stats.encoded = walk.encoded;
    index_member(&mut zip, &git, walk.entries, input.unix_time)?;
    // A symlink the helper looks at: still a symlink after extraction means modes and
    // symlinks survived; a plain file means a lossy extractor (Python's zipfile) ran.
    zip.add_symlink(
        format!("{git}/{}/{}", layout::DIR, layout::SYMLINK_PROBE),
        layout::RECORD,
        file.unix_permissions(0o777),
    )
    .map_err(zerr("the symlink probe"))?;

    input
        .helper
        .copy_into(&mut zip, format!("{top}/{}", layout::HELPER))?;
    input
        .helper
        .copy_into(&mut zip, format!("{git}/{}", layout::HELPER_COPY))?;
    deflating.finish(&mut zip, &pack_name)?;
    let out = unbuffer(zip.finish().map_err(zerr("the zip directory"))?)?;
    Ok((out, stats))
}

/// The exported tree as an index (paths and modes), read once for prepare's checks and once
/// for the export's attributes.
pub fn head_index(repo: &git2::Repository, tree: git2::Oid) -> Result<git2::Index> {
    let fail = |what: &'static str| move |e| Failure::internal(what, e);
    let tree = repo
        .find_tree(tree)
        .map_err(fail("cannot read the HEAD tree"))?;
    let mut index = git2::Index::new().map_err(fail("cannot create an index"))?;
    index
        .read_tree(&tree)
        .map_err(fail("cannot read the HEAD tree"))?;
    Ok(index)
}

/// The identity the agent commits with: the repository's (local, then global), else procoder's.
fn identity(repo: &git2::Repository) -> (String, String) {
    let config = repo.config().ok();
    let get = |key: &str| {
        config
            .as_ref()
            .and_then(|c| c.get_string(key).ok())
            .filter(|v| !v.trim().is_empty())
    };
    (
        get("user.name").unwrap_or_else(|| "procoder".into()),
        get("user.email").unwrap_or_else(|| "procoder@local".into()),
    )
}

/// Core settings, the user's identity and no signing: nothing else of the user's config.
fn config((name, email): &(String, String)) -> String {
    let quote = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(['\n', '\r'], " ")
    };
    format!(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n\tcheckStat = minimal\n\
         [user]\n\tname = \"{}\"\n\temail = \"{}\"\n[commit]\n\tgpgsign = false\n",
        quote(name),
        quote(email)
    )
}

/// All exported refs in one sorted `packed-refs`, annotated tags with their peeled commit.
fn packed_refs(repo: &git2::Repository, refs: &[(String, git2::Oid)]) -> Result<String> {
    let mut sorted: Vec<&(String, git2::Oid)> = refs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    for (name, oid) in sorted {
        out.push_str(&format!("{oid} {name}\n"));
        if let Ok(tag) = repo.find_tag(*oid) {
            let peeled = tag
                .peel()
                .map_err(|e| Failure::internal(format!("cannot peel {name}"), e))?;
            out.push_str(&format!("^{}\n", peeled.id()));
        }
    }
    Ok(out)
}
