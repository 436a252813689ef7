//! The command line, as clap derives it. Nothing else lives here.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Move real git commits between this repository and an offline coding sandbox.
#[derive(Debug, Parser)]
#[command(name = "procoder", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Run as if started in PATH (like git -C).
    #[arg(short = 'C', value_name = "PATH", global = true)]
    pub dir: Option<PathBuf>,
    /// Show the cause chain of unexpected errors.
    #[arg(long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a task branch and a task package (zip) for the agent.
    #[command(
        after_help = "Examples:\n  procoder prepare\n  procoder prepare --output /tmp/task.zip --json"
    )]
    Prepare(PrepareArgs),
    /// Verify a return package and move the task branches to the agent's commits.
    #[command(
        after_help = "Examples:\n  procoder apply procoder-return-20261125-010941-04c604.zip\n  procoder apply ret.zip --dry-run\n  procoder apply ret.zip --namespace procoder-import\n  procoder apply --continue\n  procoder apply --abort 20261125-010941-04c604"
    )]
    Apply(ApplyArgs),
    /// List exchanges and their states.
    Status(StatusArgs),
    /// Close an exchange: roll back, delete its untouched branches and its package.
    Abort(AbortArgs),
}

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Where to write the task package [default: ./procoder-task-<id>.zip in the work tree root].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The procoder-return helper to ship [default: $PROCODER_RETURN_HELPER, else next to procoder].
    #[arg(long, value_name = "PATH")]
    pub helper: Option<PathBuf>,
    /// Export only the last N commits of each branch and tag (a shallow repository); the
    /// return still applies to this full repository.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub depth: Option<u32>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The return package (procoder-return-<id>.zip).
    #[arg(value_name = "ZIP", required_unless_present_any = ["cont", "abort"])]
    pub zip: Option<PathBuf>,
    /// Run every check and print the plan; change nothing. Exits 1 if the apply would fail.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub dry_run: bool,
    /// Put refs/heads/procoder/<id>/* under refs/heads/PREFIX/<id>/* instead.
    #[arg(long, value_name = "PREFIX", conflicts_with_all = ["cont", "abort"])]
    pub namespace: Option<String>,
    /// Also move a checked-out task branch and update that (clean) work tree.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub checkout: bool,
    /// Accept a package for an exchange prepared in another clone of this repository.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub adopt: bool,
    /// Finish an interrupted apply.
    #[arg(long = "continue", id = "cont", value_name = "ID", num_args = 0..=1, conflicts_with_all = ["zip", "abort"])]
    pub cont: Option<Option<String>>,
    /// Undo an interrupted apply: every ref back to its recorded old value.
    #[arg(long, value_name = "ID", num_args = 0..=1, conflicts_with = "zip")]
    pub abort: Option<Option<String>>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    /// The exchange id (see procoder status).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Also delete family branches that have commits (never a checked-out one).
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}
