//! procoder: move real git history between a repository and an offline coding sandbox.
//!
//! Each command is a module with a `run` that returns an outcome and never prints; `ui`
//! renders outcomes and failures. The binary is only argument parsing and exit codes.

pub mod abort;
pub mod apply;
pub mod cli;
pub mod context;
mod exclude;
pub mod lock;
pub mod prepare;
pub mod status;
pub mod store;
pub mod ui;

use cli::{Cli, Command};
use context::Context;
use procoder_manifest::{ErrorCode, ExchangeId, Failure, Result};
use ui::Ui;

/// The version stamped into exchange records.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs one command and renders its result; returns the process exit status.
pub fn run(cli: Cli) -> u8 {
    let (json, name) = match &cli.command {
        Command::Prepare(a) => (a.json, "prepare"),
        Command::Apply(a) => (a.json, "apply"),
        Command::Status(a) => (a.json, "status"),
        Command::Abort(a) => (a.json, "abort"),
    };
    let ui = Ui {
        json,
        verbose: cli.verbose,
    };
    limit_pack_windows();
    match dispatch(&cli, &ui) {
        Ok(code) => code,
        Err(boxed) => {
            let (failure, extra) = *boxed;
            ui.failure(name, &failure, extra);
            1
        }
    }
}

/// A failure and, for a dry run that found conflicts, the plan to print with it.
/// libgit2 maps packs in 1 GiB windows by default, so every page an enumeration touches of a
/// large pack stays resident: git.git peaked at 387 MB. 32 MiB windows under a 128 MiB limit
/// cost nothing in speed and keep prepare near 100 MB.
#[allow(unsafe_code)]
fn limit_pack_windows() {
    // SAFETY: git2 marks these global setters unsafe because they race with concurrent libgit2
    // use; this runs once, single-threaded, before any repository is opened.
    unsafe {
        let _ = git2::opts::set_mwindow_size(32 << 20);
        let _ = git2::opts::set_mwindow_mapped_limit(128 << 20);
    }
}

type Outcome = std::result::Result<u8, Box<(Failure, Option<serde_json::Value>)>>;

fn dispatch(cli: &Cli, ui: &Ui) -> Outcome {
    let plain = |f: Failure| Box::new((f, None));
    let cwd = match &cli.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()
            .map_err(|e| plain(Failure::internal("cannot read the current directory", e)))?,
    };
    let ctx = Context::open(&cwd).map_err(plain)?;
    match &cli.command {
        Command::Prepare(a) => {
            let opts = prepare::Options {
                output: a.output.clone(),
                helper: a.helper.clone(),
                depth: a.depth,
            };
            let outcome =
                prepare::run(&ctx, &opts, &mut ui::progress::Bars::new(a.json)).map_err(plain)?;
            let (value, text) = ui::render_prepare(&outcome);
            ui.success("prepare", value, &text);
            Ok(0)
        }
        Command::Apply(a) => {
            if let Some(id) = &a.cont {
                return recover(&ctx, ui, id.as_deref(), apply::recover::Direction::Continue)
                    .map_err(plain);
            }
            if let Some(id) = &a.abort {
                return recover(&ctx, ui, id.as_deref(), apply::recover::Direction::Abort)
                    .map_err(plain);
            }
            let zip = a.zip.as_ref().ok_or_else(|| {
                plain(Failure::new(
                    ErrorCode::InvalidReturnPackage,
                    "no return package given",
                ))
            })?;
            let opts = apply::Options {
                dry_run: a.dry_run,
                namespace: a.namespace.clone(),
                checkout: a.checkout,
                adopt: a.adopt,
            };
            let outcome = apply::run(&ctx, zip, &opts, &mut ui::progress::Bars::new(a.json))
                .map_err(plain)?;
            let (value, text) = ui::render_apply(&outcome);
            if let Some(first) = outcome.conflicts.first() {
                // A dry run that found conflicts: the plan is printed, and the verdict is a failure.
                if ui.json {
                    let mut failure = Failure::new(first.code, first.message.clone())
                        .details(first.details.clone());
                    failure.hint = first.hint.clone();
                    return Err(Box::new((failure, Some(value))));
                }
                print!("{text}");
                return Ok(1);
            }
            ui.success("apply", value, &text);
            Ok(0)
        }
        Command::Status(_) => {
            let rows = status::run(&ctx).map_err(plain)?;
            let (value, text) = ui::render_status(&rows);
            ui.success("status", value, &text);
            Ok(0)
        }
        Command::Abort(a) => {
            let id = parse_id(&a.id).map_err(plain)?;
            let outcome = abort::run(&ctx, &id, a.force).map_err(plain)?;
            let (value, text) = ui::render_abort(id.as_str(), &outcome);
            ui.success("abort", value, &text);
            Ok(0)
        }
    }
}

fn recover(
    ctx: &Context,
    ui: &Ui,
    id: Option<&str>,
    direction: apply::recover::Direction,
) -> Result<u8> {
    let id = id.map(parse_id).transpose()?;
    let outcome = apply::recover::run(ctx, id.as_ref(), direction)?;
    let (value, text) = ui::render_recover(&outcome);
    ui.success("apply", value, &text);
    Ok(0)
}

fn parse_id(s: &str) -> Result<ExchangeId> {
    ExchangeId::parse(s).map_err(|m| {
        Failure::new(ErrorCode::UnknownExchange, m)
            .hint("procoder status lists the exchanges of this repository")
    })
}
