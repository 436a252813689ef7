//! What a return brings, for the person who reviews it: the incoming commits and a diffstat
//! against what the ref holds now (the base, or what an earlier apply set). It is computed in
//! the quarantine's view, so a dry run shows it too without any object joining the store.

use procoder_manifest::{Failure, Result};

/// How many incoming commits are listed; the rest are counted ("and N more").
pub const SHOWN: usize = 10;

/// One incoming commit, newest first.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub id: git2::Oid,
    pub subject: String,
    pub author: String,
}

/// The incoming work on one ref.
#[derive(Debug, Clone, Default)]
pub struct Review {
    /// Every commit `new` adds over `from`.
    pub commits: usize,
    /// The first [`SHOWN`] of them.
    pub log: Vec<LogLine>,
    pub files_changed: usize,
    pub insertions: usize,
    pub deletions: usize,
}

/// The commits `new` adds over `from`, and the diffstat of `from`'s tree to `new`'s.
pub fn of(view: &git2::Repository, new: git2::Oid, from: git2::Oid) -> Result<Review> {
    let fail = |what: &str, e: git2::Error| Failure::internal(what.to_owned(), e);
    let mut walk = view
        .revwalk()
        .map_err(|e| fail("cannot walk the incoming commits", e))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
        .map_err(|e| fail("cannot walk the incoming commits", e))?;
    walk.push(new)
        .and_then(|()| walk.hide(from))
        .map_err(|e| fail("cannot walk the incoming commits", e))?;
    let mut review = Review::default();
    for oid in walk {
        let oid = oid.map_err(|e| fail("cannot walk the incoming commits", e))?;
        review.commits += 1;
        if review.log.len() < SHOWN {
            let c = view
                .find_commit(oid)
                .map_err(|e| fail("cannot read an incoming commit", e))?;
            review.log.push(line(&c));
        }
    }
    let tree = |oid| {
        view.find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|e| fail("cannot read a tree to compare", e))
    };
    let (old, new) = (tree(from)?, tree(new)?);
    let stats = view
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .and_then(|d| d.stats())
        .map_err(|e| fail("cannot compute the diffstat", e))?;
    review.files_changed = stats.files_changed();
    review.insertions = stats.insertions();
    review.deletions = stats.deletions();
    Ok(review)
}

fn line(c: &git2::Commit) -> LogLine {
    LogLine {
        id: c.id(),
        subject: String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned(),
        author: String::from_utf8_lossy(c.author().name_bytes()).into_owned(),
    }
}

/// "2 files changed, 7 insertions(+), 1 deletion(-)", as git writes it.
pub fn diffstat(r: &Review) -> String {
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    let mut s = n(r.files_changed, "file changed", "files changed");
    if r.insertions > 0 || r.deletions == 0 {
        s.push_str(&format!(
            ", {}",
            n(r.insertions, "insertion(+)", "insertions(+)")
        ));
    }
    if r.deletions > 0 {
        s.push_str(&format!(
            ", {}",
            n(r.deletions, "deletion(-)", "deletions(-)")
        ));
    }
    s
}

/// The commits of `old` that `new` does not keep: what a rewriting return replaces.
pub fn replaced(view: &git2::Repository, old: git2::Oid, new: git2::Oid) -> Vec<LogLine> {
    let Ok(mut walk) = view.revwalk() else {
        return Vec::new();
    };
    if walk.push(old).and_then(|()| walk.hide(new)).is_err() {
        return Vec::new();
    }
    walk.filter_map(|o| o.ok())
        .filter_map(|oid| view.find_commit(oid).ok())
        .map(|c| line(&c))
        .collect()
}

/// `RETURN_REWRITES`: names the commits the return replaces and the two ways to take it.
/// `announced`: the return document says so too (its helper had sent those commits before).
pub fn rewrites(
    target: &str,
    backup: &str,
    replaced: &[LogLine],
    announced: bool,
    rerun: impl Fn(&str) -> String,
) -> Failure {
    let said = match announced {
        true => "; the agent's ./procoder-return said so when it wrote it (amended or rebased after an earlier return)",
        false => "",
    };
    let mut f = Failure::new(
        procoder_manifest::ErrorCode::ReturnRewrites,
        format!(
            "this return rewrites {target}: it replaces commits an earlier apply brought{said}"
        ),
    );
    for c in replaced {
        f = f.detail(format!(
            "replaces {}  {}  ({})",
            &c.id.to_string()[..7],
            c.subject,
            c.author
        ));
    }
    f.hint(format!(
        "to take it and keep the replaced commits at {backup}: {}; or keep both side by side: {}",
        rerun("--replace"),
        rerun("--namespace procoder-import")
    ))
}
