//! What every command runs against: the repository, its work tree and the procoder store.

use procoder_manifest::{ErrorCode, Failure, Result};
use std::path::{Path, PathBuf};

/// An opened repository with a work tree.
pub struct Context {
    /// The repository (of the current worktree).
    pub repo: git2::Repository,
    /// Its work tree.
    pub workdir: PathBuf,
    /// `<common dir>/procoder`: shared by all worktrees of the repository.
    pub store: PathBuf,
}

impl Context {
    /// Opens the repository containing `dir`; `NOT_GIT_REPO` when there is none or it is bare.
    pub fn open(dir: &Path) -> Result<Self> {
        let repo = git2::Repository::discover(dir).map_err(|e| {
            if e.code() == git2::ErrorCode::NotFound {
                return Failure::new(
                    ErrorCode::NotGitRepo,
                    format!("{} is not inside a git work tree", dir.display()),
                )
                .detail(e.message().to_owned())
                .hint("run procoder from inside the repository you want to hand to the agent");
            }
            // A repository is there but libgit2 cannot open it (for one, it rejects comment
            // lines in .git/info/grafts, which git accepts): say so, not "not a repository".
            Failure::internal(
                format!("cannot open the git repository at {}", dir.display()),
                e,
            )
        })?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| {
                Failure::new(
                    ErrorCode::NotGitRepo,
                    format!("{} is a bare repository", repo.path().display()),
                )
                .hint("run procoder in a clone with a work tree")
            })?
            .to_path_buf();
        let store = repo.commondir().join(procoder_bundle::layout::DIR);
        Ok(Self {
            repo,
            workdir,
            store,
        })
    }

    /// `store/exchanges/<id>`.
    pub fn exchange_dir(&self, id: &procoder_manifest::ExchangeId) -> PathBuf {
        self.store.join("exchanges").join(id.as_str())
    }

    /// The work tree folder's name, the top folder of a package or archive ("repo" when it
    /// has none, as for `/`).
    pub fn top_name(&self) -> String {
        self.workdir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .unwrap_or("repo")
            .to_owned()
    }

    /// Takes `.git/procoder/lock`: the guard is the only way to the journal and `tmp`.
    pub fn lock(&self) -> Result<crate::store::Locked<'_>> {
        crate::store::Locked::take(self)
    }
}

/// Unix time now, seconds and nanoseconds.
pub fn now() -> (i64, u32) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos())
}

/// RFC 3339 of now.
pub fn now_rfc3339() -> String {
    let (s, n) = now();
    procoder_manifest::format_rfc3339(s, n)
}
