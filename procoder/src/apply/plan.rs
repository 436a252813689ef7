//! Reading and verifying a return package. Writes nothing to the repository: received objects
//! stay in a quarantine until `execute` promotes them.

pub use super::action::{Action, PlannedRef};
use super::checkout;
use super::review::{self, Review};
use crate::journal;
use crate::store::{self, Locked};
use procoder_bundle::{
    check_new_objects, from_git, layout, package, read_bundle, to_git, Phase, Progress, Quarantine,
    WithTotal,
};
use procoder_manifest::{
    map_namespace, CheckoutStep, ErrorCode, Exchange, Failure, Result, ReturnDoc,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A verified package, ready to execute.
pub struct Plan {
    pub exchange: Exchange,
    pub adopted: bool,
    pub package: PathBuf,
    pub refs: Vec<PlannedRef>,
    pub checks: Vec<String>,
    pub conflicts: Vec<Failure>,
    /// What `--checkout` moves once the refs are in place.
    pub checkouts: Vec<CheckoutStep>,
    pub quarantine: Quarantine,
    pub objects_checked: usize,
}

/// apply's knobs.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub dry_run: bool,
    pub namespace: Option<String>,
    pub checkout: bool,
    pub adopt: bool,
    pub replace: bool,
}

/// Reads `package` and runs every check. Conflicts of the ref rules are collected (a dry run
/// lists them all); any other failure returns at once.
pub fn make(
    locked: &Locked,
    package_path: &Path,
    opts: &Options,
    progress: &mut dyn Progress,
) -> Result<Plan> {
    let ctx = locked.ctx();
    if let Some(ns) = &opts.namespace {
        procoder_manifest::validate_namespace(ns).map_err(|m| {
            Failure::new(ErrorCode::InvalidReturnPackage, m)
                .hint("pass a branch prefix such as --namespace procoder-import")
        })?;
    }
    let repo = &ctx.repo;
    let mut checks = Vec::new();
    progress.phase(Phase::Reading, None);
    let mut pkg = package::open_return(package_path)?;
    checks.push(format!(
        "return package structure: {} and {}",
        layout::DOC_FILE,
        pkg.doc.bundle_file
    ));
    let doc = pkg.doc.clone();
    let id = &doc.exchange_id;

    let (exchange, adopted) = match store::read_exchange(ctx, id)? {
        Some(e) => (e, false),
        None if opts.adopt => (adopted_exchange(repo, &doc)?, true),
        None => {
            return Err(Failure::new(
                ErrorCode::UnknownExchange,
                format!("exchange {id} was not prepared in this repository"),
            )
            .hint(format!(
                "if it was prepared in another clone of this repository, rerun with --adopt: {}",
                rerun(package_path, "--adopt")
            )))
        }
    };
    if exchange.task.base_oid != doc.task.base_oid {
        return Err(Failure::new(
            ErrorCode::InvalidReturnPackage,
            format!(
                "the package's task base {} is not the base {} recorded for exchange {id}",
                doc.task.base_oid, exchange.task.base_oid
            ),
        ));
    }
    checks.push(format!(
        "exchange {id}: known, base {}",
        short(to_git(exchange.task.base_oid))
    ));
    let base = to_git(exchange.task.base_oid);
    let summary = journal::fold(&journal::read(ctx, id)?);
    if summary.state == journal::State::Closed {
        return Err(Failure::new(
            ErrorCode::ExchangeClosed,
            format!("exchange {id} was closed with procoder close: it takes no more returns"),
        )
        .detail("its branches are as the last apply left them".to_owned())
        .hint("for more work, start a new exchange: procoder prepare"));
    }

    let tmp = locked.tmp_dir()?;
    // The bundle code does not know the size of what it reads; the zip does.
    let mut indexing = WithTotal {
        inner: progress,
        phase: Phase::Indexing,
        total: pkg.bundle_size,
    };
    let (header, quarantine) = pkg.with_bundle(|r| read_bundle(repo, r, &tmp, &mut indexing))?;
    checks.push(format!(
        "bundle: {} present, pack indexed",
        plural(header.prerequisites.len(), "prerequisite")
    ));
    // A HEAD in the list (git's `bundle create … HEAD`) changes nothing of its own; it must
    // name an updated tip, or it would bring objects that no update explains.
    let (head, advertised): (Vec<_>, Vec<_>) = header.refs.iter().partition(|(n, _)| n == "HEAD");
    let advertised: BTreeMap<&str, _> = advertised.iter().map(|(n, o)| (n.as_str(), *o)).collect();
    let promised: BTreeMap<&str, _> = doc
        .updates
        .iter()
        .map(|u| (u.name.as_str(), u.new_oid))
        .collect();
    if let Some((_, oid)) = head.first() {
        if !promised.values().any(|tip| tip == oid) {
            return Err(Failure::new(
                ErrorCode::BundleVerifyFailed,
                format!("the bundle's HEAD names {oid}, which is none of the updated tips"),
            ));
        }
    }
    if advertised != promised {
        let mut details: Vec<String> = header
            .refs
            .iter()
            .map(|(n, o)| format!("bundle: {o} {n}"))
            .collect();
        details.extend(
            doc.updates
                .iter()
                .map(|u| format!("document: {} {}", u.new_oid, u.name)),
        );
        return Err(Failure::new(
            ErrorCode::BundleVerifyFailed,
            "the bundle's refs are not exactly the document's updates",
        )
        .details(details));
    }
    checks.push("bundle tips: exactly the document's updates".to_owned());

    let view = quarantine.view(repo)?;
    let tips: Vec<git2::Oid> = doc.updates.iter().map(|u| to_git(u.new_oid)).collect();
    // Objects first, from their raw bytes: a malformed commit is then UNSAFE_OBJECT rather
    // than whatever libgit2's own parser makes of it in the ancestry check.
    progress.phase(Phase::Checking, None);
    let objects_checked = check_new_objects(&view, repo, &tips, base)?;
    checks.push(format!(
        "objects: {} well-formed and connected",
        plural(objects_checked, "new object")
    ));
    for u in &doc.updates {
        let tip = to_git(u.new_oid);
        view.find_commit(tip).map_err(|_| {
            Failure::new(
                ErrorCode::BundleVerifyFailed,
                format!(
                    "{} points at {tip}, which is not a commit in the bundle",
                    u.name
                ),
            )
        })?;
        if tip != base && !view.graph_descendant_of(tip, base).unwrap_or(false) {
            return Err(Failure::new(ErrorCode::NotDescendant, format!("{} at {tip} does not descend from the task base {base}", u.name))
                .hint("the agent must build on the task base; ask it to rebase onto the base and return again"));
        }
    }
    checks.push(format!("ancestry: every tip descends from {}", short(base)));

    let applied = summary.applied;
    let mut refs = Vec::new();
    let mut conflicts = Vec::new();
    for u in &doc.updates {
        let target = map_namespace(id, &u.name, opts.namespace.as_deref());
        let current = repo.refname_to_id(&target).ok();
        let new = to_git(u.new_oid);
        // Under --namespace, or for an adopted exchange whose task branch never existed here,
        // the target is new: it must not exist yet.
        let expected = if opts.namespace.is_some() || (adopted && current.is_none()) {
            None
        } else {
            u.old_oid.map(to_git)
        };
        let earlier = applied.get(&target).map(|o| to_git(*o));
        let action = if current == Some(new) {
            Action::Unchanged
        } else if current == expected {
            if current.is_none() {
                Action::Create
            } else {
                Action::Update
            }
        } else if earlier
            .is_some_and(|e| e == new || view.graph_descendant_of(e, new).unwrap_or(false))
        {
            Action::Contained
        } else if let Some(e) = earlier.filter(|e| current == Some(*e)) {
            if view.graph_descendant_of(new, e).unwrap_or(false) {
                Action::FastForward
            } else {
                // The agent amended or rebased what it had returned: the old tip is kept
                // under a ref of the family, created (and logged) before the branch moves.
                let backup = format!("{target}-replaced-{}", short(e));
                if !opts.replace {
                    let gone = review::replaced(&view, e, new);
                    let announced = doc.replaced(&u.name).is_some();
                    conflicts.push(review::rewrites(&target, &backup, &gone, announced, |f| {
                        rerun(package_path, f)
                    }));
                    continue;
                }
                refs.push(PlannedRef {
                    source: u.name.clone(),
                    target: backup,
                    current: None,
                    new: e,
                    action: Action::Create,
                    commits: 0,
                    review: Review::default(),
                });
                Action::Replace
            }
        } else {
            conflicts.push(conflict(
                &target,
                expected,
                current,
                new,
                opts.namespace.is_some(),
                package_path,
            ));
            continue;
        };
        let from = current.unwrap_or(base);
        let review = if action.moves() {
            review::of(&view, new, from)?
        } else {
            Review::default()
        };
        refs.push(PlannedRef {
            source: u.name.clone(),
            target,
            current,
            new,
            action,
            commits: review.commits,
            review,
        });
    }
    let task = map_namespace(id, &exchange.task.root_ref, opts.namespace.as_deref());
    let checkouts = checkout::plan(
        ctx,
        &refs,
        &task,
        opts,
        &quarantine,
        package_path,
        &mut conflicts,
    )?;
    drop(view);
    Ok(Plan {
        exchange,
        adopted,
        package: package_path.to_path_buf(),
        refs,
        checks,
        conflicts,
        checkouts,
        quarantine,
        objects_checked,
    })
}

fn conflict(
    target: &str,
    expected: Option<git2::Oid>,
    current: Option<git2::Oid>,
    new: git2::Oid,
    namespaced: bool,
    package: &Path,
) -> Failure {
    let show = |o: Option<git2::Oid>| o.map_or("(none)".to_owned(), |o| o.to_string());
    let hint = if namespaced {
        format!(
            "rerun with another --namespace prefix: {}",
            rerun(package, "--namespace <prefix>")
        )
    } else {
        format!(
            "rerun with --namespace procoder-import: {}",
            rerun(package, "--namespace procoder-import")
        )
    };
    match expected {
        None => Failure::new(
            ErrorCode::RefExists,
            format!("cannot create {target} because it already exists"),
        )
        .detail(format!("Existing local OID: {}", show(current)))
        .detail(format!("Incoming OID: {new}"))
        .hint(hint),
        Some(_) => Failure::new(ErrorCode::BranchMoved, format!("cannot update {target}"))
            .detail(format!("Expected old OID: {}", show(expected)))
            .detail(format!("Current local OID: {}", show(current)))
            .detail(format!("Incoming OID: {new}"))
            .hint(hint),
    }
}

/// The record an `--adopt` creates: what the return document tells about the exchange.
fn adopted_exchange(repo: &git2::Repository, doc: &ReturnDoc) -> Result<Exchange> {
    let base = to_git(doc.task.base_oid);
    repo.find_commit(base).map_err(|_| {
        Failure::new(
            ErrorCode::BundleVerifyFailed,
            format!("the task base {base} is not in this repository"),
        )
        .hint("fetch the history the task was prepared from, then rerun with --adopt")
    })?;
    let id = &doc.exchange_id;
    Ok(Exchange {
        protocol: procoder_manifest::EXCHANGE_PROTOCOL.to_owned(),
        exchange_id: id.clone(),
        created_at: doc.created_at.clone(),
        tool_version: crate::VERSION.to_owned(),
        source: procoder_manifest::Source {
            head_ref: doc.task.root_ref.clone(),
            head_oid: from_git(base),
        },
        task: procoder_manifest::TaskRefs {
            root_ref: doc.task.root_ref.clone(),
            ref_prefix: procoder_manifest::family_prefix(id),
            base_oid: doc.task.base_oid,
        },
        context: procoder_manifest::Context::default(),
    })
}

pub fn short(oid: git2::Oid) -> String {
    oid.to_string()[..12].to_owned()
}

use procoder_manifest::count as plural;

/// The apply command line to paste: `procoder apply '<package>' <flags>`.
pub(super) fn rerun(package: &Path, flags: &str) -> String {
    format!(
        "procoder apply {} {flags}",
        shell_word(&package.display().to_string())
    )
}

/// `s` as one shell word: as is when it needs no quoting, else in single quotes.
pub(super) fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
