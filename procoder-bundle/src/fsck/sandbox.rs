//! The same checks inside the sandbox, before `./procoder-return` writes anything: a return
//! that apply would refuse as `UNSAFE_OBJECT` is refused where the agent can still rewrite it.
//! Every object is in the one repository there, so what is trusted is what prepare exported:
//! the base's history and tree, and the exported branch tips and their history.

use super::{walk, Fault, Trust, Walked};
use crate::base_trees::BaseTrees;
use std::collections::HashSet;

/// Checks the commits each of `tips` adds to `base` (and the trees and blobs they name that
/// the base's tree lacks), tip by tip in the order given. On a refusal, returns the index in
/// `tips` whose history holds the faulty object and the fault.
pub fn check_sandbox_commits(
    repo: &git2::Repository,
    tips: &[git2::Oid],
    base_trees: &BaseTrees,
    base: git2::Oid,
    exported: &[git2::Oid],
) -> std::result::Result<usize, Box<(usize, Fault)>> {
    let fail = |failure| {
        (
            0,
            Fault {
                failure,
                commit: base,
            },
        )
    };
    let odb = crate::odb(repo).map_err(fail)?;
    let exported: HashSet<git2::Oid> = exported.iter().copied().collect();
    // An ancestor of the base was exported; `graph_descendant_of` reads only commits libgit2
    // can parse, so a corrupt one is never taken for one.
    let trusted = |oid: git2::Oid, kind: Trust, path: &str| match kind {
        Trust::Commit => {
            exported.contains(&oid) || repo.graph_descendant_of(base, oid).unwrap_or(false)
        }
        Trust::Tree => base_trees.holds(oid, path.as_bytes()),
        Trust::Blob => false,
        Trust::FileAt => base_trees
            .at_path(path.as_bytes())
            .is_some_and(|at| at == (oid, Some(git2::ObjectType::Blob))),
    };
    let mut seen = Walked::default();
    let mut checked = 0;
    for (i, &tip) in tips.iter().enumerate() {
        checked +=
            walk(&odb, &trusted, &[tip], base, &mut seen).map_err(|fault| Box::new((i, fault)))?;
    }
    Ok(checked)
}
