//! procoder: move real git history between a repository and an offline coding sandbox.
//!
//! Each command is a module with a `run` that returns an outcome and never prints; `ui`
//! renders outcomes and failures. The binary is only argument parsing and exit codes.
//! Only [`main`] is public: no other crate links this library, and the end-to-end tests drive
//! the built binary, so every other item is the crate's own; [`read_log`] is the one exception,
//! for the fuzz target of the log reader (fuzz/).

mod abort;
mod apply;
mod archive;
mod bug;
mod cli;
mod close;
mod context;
mod exclude;
mod helper;
mod journal;
mod lock;
mod prepare;
mod refs;
mod status;
mod store;
mod ui;
mod worktrees;

use cli::{Cli, Command};
use context::Context;
use procoder_manifest::{ErrorCode, ExchangeId, Failure, Result};
use ui::Ui;

#[doc(hidden)]
pub use journal::Parsed as ParsedLog;

/// How the journal reads an exchange's `log.jsonl` bytes, and what status folds them into
/// (`Debug` text): public only for the fuzz target `log_lines` (fuzz/), which feeds it hostile
/// logs. `Err` is the number of the damaged line.
#[doc(hidden)]
pub fn read_log(bytes: &[u8]) -> std::result::Result<(ParsedLog, String), usize> {
    let parsed = journal::parse(bytes).map_err(|d| d.line)?;
    let summary = format!("{:?}", journal::fold(&parsed.records));
    Ok((parsed, summary))
}

/// The version stamped into exchange records.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs one command and renders its result; returns the process exit status.
fn run(cli: Cli) -> u8 {
    let ui = Ui::new(cli.json, cli.quiet, cli.verbose);
    limit_pack_windows(&cli.command);
    match dispatch(&cli, &ui) {
        Ok(code) => code,
        Err(boxed) => {
            let (failure, extra) = *boxed;
            ui.failure(cli.command.name(), &failure, extra);
            1
        }
    }
}

/// Parses the command line and runs it. Usage errors exit 2 as clap prints them, except under
/// `--json`, where stdout still gets exactly one object.
pub fn main() -> u8 {
    use clap::Parser;
    bug::install(ui::stderr_color());
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => run(cli),
        Err(e) => {
            let json = args.iter().skip(1).any(|a| a == "--json");
            if e.kind() == clap::error::ErrorKind::DisplayVersion {
                // clap's own text would not say which helper prepare ships.
                let ui = Ui::new(json, false, false);
                let helper = helper::find(None);
                let (value, text) = ui::render_version(VERSION, &helper);
                ui.success("version", value, &text);
                return 0;
            }
            let help = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if !json || help {
                e.exit();
            }
            let command = args
                .iter()
                .skip(1)
                .filter_map(|a| a.to_str())
                .find(|a| Command::NAMES.contains(a));
            println!("{}", ui::usage_error_json(command, &e.render().to_string()));
            2
        }
    }
}

impl Command {
    /// Every command's name, as typed.
    pub const NAMES: [&'static str; 8] = [
        "prepare",
        "apply",
        "status",
        "abort",
        "archive",
        "close",
        "completions",
        "man",
    ];

    /// The command's name, as typed and as JSON's `command` says it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Prepare(_) => "prepare",
            Command::Apply(_) => "apply",
            Command::Status(_) => "status",
            Command::Abort(_) => "abort",
            Command::Archive(_) => "archive",
            Command::Close(_) => "close",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

/// A failure and, for a dry run that found conflicts, the plan to print with it.
/// libgit2 maps packs in 1 GiB windows by default, so every page an enumeration touches of a
/// large pack stays resident: git.git peaked at 387 MB. 32 MiB windows under a 128 MiB limit
/// cost nothing in speed and keep prepare near 100 MB. The other commands read a few hundred
/// objects scattered over the pack (apply's checks and review): 1 MiB windows under 8 MiB
/// keep what they touch from staying resident (apply on git.git: 28.7 MB of RSS with the
/// larger windows, of which 2 MB heap).
#[allow(unsafe_code)]
fn limit_pack_windows(command: &cli::Command) {
    let (window, limit) = match command {
        cli::Command::Prepare(_) | cli::Command::Archive(_) => (32 << 20, 128 << 20),
        _ => (1 << 20, 8 << 20),
    };
    // SAFETY: git2 marks these global setters unsafe because they race with concurrent libgit2
    // use; this runs once, single-threaded, before any repository is opened.
    unsafe {
        let _ = git2::opts::set_mwindow_size(window);
        let _ = git2::opts::set_mwindow_mapped_limit(limit);
    }
}

type Outcome = std::result::Result<u8, Box<(Failure, Option<serde_json::Value>)>>;

fn dispatch(cli: &Cli, ui: &Ui) -> Outcome {
    let plain = |f: Failure| Box::new((f, None));
    match &cli.command {
        Command::Archive(a) => archive::command(cli.dir.as_deref(), a, ui).map_err(plain),
        // Generated from the command line definitions; no repository needed.
        Command::Completions(a) => {
            let script = ui::completions(a.shell);
            let value = serde_json::json!({ "shell": a.shell.to_string(), "script": script });
            ui.success("completions", value, &script);
            Ok(0)
        }
        Command::Man(a) => {
            let page = ui::man_page(a.command.as_deref()).map_err(plain)?;
            let value = serde_json::json!({ "page": a.command.as_ref().map_or("procoder".to_owned(), |c| format!("procoder-{c}")), "roff": page });
            ui.success("man", value, &page);
            Ok(0)
        }
        Command::Prepare(a) => {
            let ctx = open(cli).map_err(plain)?;
            let opts = prepare::Options {
                output: a.output.clone(),
                helper: a.helper.clone(),
                depth: a.depth,
                include_uncommitted: a.include_uncommitted,
                single_branch: a.single_branch,
                strict_secrets: a.strict_secrets,
                scan_history: a.scan_history,
                size_limit: match (a.no_max_size, a.max_size) {
                    (true, _) => prepare::size::SizeLimit::Off,
                    (false, Some(n)) => prepare::size::SizeLimit::Bytes(n),
                    (false, None) => prepare::size::SizeLimit::Upload,
                },
            };
            let outcome = prepare::run(&ctx, &opts, &mut ui.bars()).map_err(plain)?;
            let (value, text) = ui::render_prepare(&outcome, ui.quiet);
            ui.success("prepare", value, &text);
            Ok(0)
        }
        Command::Apply(a) => {
            let ctx = open(cli).map_err(plain)?;
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
                replace: a.replace,
            };
            let outcome = apply::run(&ctx, zip, &opts, &mut ui.bars()).map_err(plain)?;
            let (value, text) = ui::render_apply(&outcome, ui.quiet);
            if let Some(first) = outcome.conflicts.first() {
                // A dry run that found conflicts: the plan is printed, and the verdict is a failure.
                if ui.json {
                    return Err(Box::new((first.clone(), Some(value))));
                }
                print!("{text}");
                return Ok(1);
            }
            ui.success("apply", value, &text);
            Ok(0)
        }
        Command::Status(_) => {
            let ctx = open(cli).map_err(plain)?;
            let rows = status::run(&ctx).map_err(plain)?;
            let (value, text) = ui::render_status(&rows, ui.quiet, ui.color_out);
            ui.success("status", value, &text);
            Ok(0)
        }
        Command::Abort(a) => {
            let ctx = open(cli).map_err(plain)?;
            let id = a.id.as_deref().map(parse_id).transpose().map_err(plain)?;
            let id = store::one_open(&ctx, id, "abort").map_err(plain)?;
            let outcome = abort::run(&ctx, &id, a.force).map_err(plain)?;
            let (value, text) = ui::render_abort(id.as_str(), &outcome);
            ui.success("abort", value, &text);
            Ok(0)
        }
        Command::Close(a) => {
            let ctx = open(cli).map_err(plain)?;
            let id = a.id.as_deref().map(parse_id).transpose().map_err(plain)?;
            let id = store::one_open(&ctx, id, "close").map_err(plain)?;
            let outcome = close::run(&ctx, &id).map_err(plain)?;
            let (value, text) = ui::render_close(id.as_str(), &outcome);
            ui.success("close", value, &text);
            Ok(0)
        }
    }
}

/// The repository of the current directory, or of `-C PATH`.
fn open(cli: &Cli) -> Result<Context> {
    let cwd = match &cli.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()
            .map_err(|e| Failure::internal("cannot read the current directory", e))?,
    };
    Context::open(&cwd)
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
