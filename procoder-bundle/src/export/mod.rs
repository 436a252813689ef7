//! The task package: one top folder holding the work tree at HEAD, a minimal `.git` and the
//! helper. Written by streaming into a zip; nothing is checked out on disk. It lives here, beside
//! the return package and the export pack, because it is format knowledge (a zip layout, a
//! `.git` skeleton, an index file); `procoder prepare` only decides when to write it and where
//! it goes, and undoes it on failure.

mod attrs;
mod index;
mod worktree;

use crate::{layout, package::zip_time, reachable, write_export_pack, Progress};
use attrs::Attrs;
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
    pub helper: &'a [u8],
    /// Scratch space for the pack and the attribute lookups, removed by the caller.
    pub scratch: &'a Path,
    /// The time of every entry (prepare's).
    pub unix_time: i64,
    /// Only the last N commits of each ref.
    pub depth: Option<u32>,
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

fn zerr(what: &str) -> impl FnOnce(zip::result::ZipError) -> Failure + '_ {
    move |e| Failure::internal(format!("cannot write {what} into the task package"), e)
}

fn ioerr(what: &str) -> impl FnOnce(std::io::Error) -> Failure + '_ {
    move |e| Failure::internal(format!("cannot write {what} into the task package"), e)
}

/// Writes the package into `out`.
pub fn write<W: Write + Seek>(
    input: &Input<'_>,
    out: W,
    progress: &mut dyn Progress,
) -> Result<(W, Stats)> {
    let mut zip = zip::ZipWriter::new(out);
    let opts = SimpleFileOptions::default().last_modified_time(zip_time(input.unix_time));
    let file = opts
        .unix_permissions(0o644)
        .compression_method(CompressionMethod::Deflated);
    let stored = opts
        .unix_permissions(0o444)
        .compression_method(CompressionMethod::Stored);
    let dir = opts.unix_permissions(0o755);
    let top = input.top;
    let git = format!("{top}/.git");
    let mut stats = Stats::default();

    let record_dir = format!("/{}", layout::DIR);
    for d in [
        "",
        "/info",
        "/objects",
        "/objects/info",
        "/objects/pack",
        "/refs",
        "/refs/heads",
        "/refs/tags",
        &record_dir,
    ] {
        zip.add_directory(format!("{git}{d}/"), dir)
            .map_err(zerr("a directory"))?;
    }
    let task_ref = &input.exchange.task.root_ref;
    let small = |zip: &mut zip::ZipWriter<W>, name: &str, body: &[u8]| -> Result<()> {
        zip.start_file(format!("{git}/{name}"), file)
            .map_err(zerr(name))?;
        zip.write_all(body).map_err(ioerr(name))
    };
    small(&mut zip, "HEAD", format!("ref: {task_ref}\n").as_bytes())?;
    small(&mut zip, "config", config(&identity(input.repo)).as_bytes())?;
    small(&mut zip, "description", b"procoder task package\n")?;
    small(
        &mut zip,
        "info/exclude",
        layout::export_exclude().as_bytes(),
    )?;
    small(
        &mut zip,
        "packed-refs",
        packed_refs(input.repo, input.refs)?.as_bytes(),
    )?;
    small(
        &mut zip,
        &format!("{}/{}", layout::DIR, layout::RECORD),
        input.exchange.to_json().as_bytes(),
    )?;

    let tips: Vec<git2::Oid> = input.refs.iter().map(|(_, oid)| *oid).collect();
    let found = reachable(input.repo, &tips, input.depth, progress)?;
    let pack = write_export_pack(
        input.repo,
        found.objects,
        &input.scratch.join("pack"),
        progress,
    )?;
    stats.objects = pack.objects;
    stats.shallow = found.shallow.len();
    if !found.shallow.is_empty() {
        let list: String = found.shallow.iter().map(|c| format!("{c}\n")).collect();
        small(&mut zip, "shallow", list.as_bytes())?;
    }
    for path in [&pack.pack, &pack.idx] {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("pack files are named pack-<hex>.{pack,idx}");
        let len = std::fs::metadata(path).map_err(ioerr(name))?.len();
        zip.start_file(
            format!("{git}/objects/pack/{name}"),
            stored.large_file(len >= u32::MAX as u64),
        )
        .map_err(zerr(name))?;
        let mut src = std::fs::File::open(path).map_err(ioerr(name))?;
        std::io::copy(&mut src, &mut zip).map_err(ioerr(name))?;
    }

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
    // Newer than every work tree file: an entry as new as its index would be "racily clean"
    // and hashed again by git.
    let index_time = input.unix_time.saturating_add(2);
    let index = index::encode(walk.entries, u32::try_from(input.unix_time).unwrap_or(0));
    let index_name = format!("{git}/index");
    let index_opts = Stamp { unix: index_time }
        .options(index_name.as_bytes())?
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o644);
    zip.start_file_with_options(index_opts)
        .map_err(zerr("the index"))?;
    zip.write_all(&index).map_err(ioerr("the index"))?;
    // A symlink the helper looks at: still a symlink after extraction means modes and
    // symlinks survived; a plain file means a lossy extractor (Python's zipfile) ran.
    zip.add_symlink(
        format!("{git}/{}/{}", layout::DIR, layout::SYMLINK_PROBE),
        layout::RECORD,
        file.unix_permissions(0o777),
    )
    .map_err(zerr("the symlink probe"))?;

    // 0755 whatever the helper's mode on disk (or the host's file system) says.
    zip.start_file(
        format!("{top}/{}", layout::HELPER),
        file.unix_permissions(0o755),
    )
    .map_err(zerr("the helper"))?;
    zip.write_all(input.helper).map_err(ioerr("the helper"))?;
    zip.start_file(
        format!("{git}/{}", layout::HELPER_COPY),
        file.unix_permissions(0o755),
    )
    .map_err(zerr("the helper's copy"))?;
    zip.write_all(input.helper)
        .map_err(ioerr("the helper's copy"))?;
    let out = zip.finish().map_err(zerr("the zip directory"))?;
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
