//! The command line, as clap derives it. Nothing else lives here.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// Move real git commits between this repository and an offline coding sandbox.
#[derive(Debug, Parser)]
#[command(
    name = "procoder",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "\
Examples:
  procoder prepare                          # task branch + procoder-task-<id>.zip + a prompt
  procoder apply procoder-return-<id>.zip   # verify the agent's work, move the task branch
  procoder status                           # every exchange, interrupted applies first
  procoder close 20261125-010941-04c604     # done: keep the branches, delete the package
  procoder abort 20261125-010941-04c604     # give an exchange up
  procoder archive                          # a zip of the repository, only to read
  procoder completions bash > ~/.local/share/bash-completion/completions/procoder

Every command takes --json (one JSON object on stdout), --quiet and -C PATH.
Errors print as `CODE: message`, details and `Hint:`; exit status 1 (2 for usage errors)."
)]
pub struct Cli {
    /// Run as if started in PATH (like git -C).
    #[arg(short = 'C', value_name = "PATH", global = true, help_heading = GLOBAL)]
    pub dir: Option<PathBuf>,
    /// Print exactly one JSON object on stdout, for success and failure alike.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// No progress bars and no advice; results and errors still print.
    #[arg(long, short, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Show the cause chain of unexpected errors.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a task branch and a task package (zip) for the agent.
    #[command(after_help = "\
Examples:
  procoder prepare
  procoder prepare --output /tmp/task.zip --json
  procoder -C ~/src/my-repo prepare --quiet")]
    Prepare(PrepareArgs),
    /// Verify a return package and move the task branches to the agent's commits.
    #[command(after_help = "\
Examples:
  procoder apply procoder-return-20261125-010941-04c604.zip
  procoder apply ret.zip --dry-run
  procoder apply ret.zip --namespace procoder-import
  procoder apply ret.zip --checkout
  procoder apply --continue
  procoder apply --abort 20261125-010941-04c604")]
    Apply(ApplyArgs),
    /// List exchanges and their states, interrupted applies first.
    #[command(after_help = "\
Examples:
  procoder status
  procoder status --json | jq -r '.exchanges[] | select(.state == \"interrupted\") | .exchange_id'")]
    Status(StatusArgs),
    /// Give an exchange up: roll back, delete its untouched branches and its package.
    #[command(after_help = "\
Examples:
  procoder abort 20261125-010941-04c604
  procoder abort                                  # the only open exchange
  procoder abort 20261125-010941-04c604 --force   # also delete branches that have commits")]
    Abort(AbortArgs),
    /// Zip the repository for reading: the work tree as it is now, branches, tags, history.
    #[command(after_help = "\
Examples:
  procoder archive                          # ../<repo>-archive-<time>.zip, shown in the file manager
  procoder archive ~/src/my-repo --output /tmp/my-repo.zip --no-open
  procoder archive --json")]
    Archive(ArchiveArgs),
    /// Finish an applied exchange: keep its branches, delete its package, refuse later returns.
    #[command(after_help = "\
Examples:
  procoder close 20261125-010941-04c604
  procoder close                                  # the only open exchange")]
    Close(CloseArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  procoder completions bash > ~/.local/share/bash-completion/completions/procoder
  procoder completions zsh > ~/.zfunc/_procoder        # with fpath+=(~/.zfunc) in ~/.zshrc
  procoder completions fish > ~/.config/fish/completions/procoder.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), of procoder or of one command.
    #[command(after_help = "\
Examples:
  procoder man | man -l -
  procoder man > ~/.local/share/man/man1/procoder.1
  procoder man apply > ~/.local/share/man/man1/procoder-apply.1")]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Where to write the task package [default: ./procoder-task-<id>.zip in the work tree root].
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The procoder-return helper to ship [default: $PROCODER_RETURN_HELPER, else next to procoder, else the embedded one].
    #[arg(long, value_name = "PATH")]
    pub helper: Option<PathBuf>,
    /// Export only the last N commits of each branch and tag (a shallow repository); the
    /// return still applies to this full repository.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub depth: Option<u32>,
    /// Export only the branch you are on: no other branch, no tag (with --depth N, the
    /// smallest package: as git clone --depth N --single-branch --no-tags).
    #[arg(long)]
    pub single_branch: bool,
    /// Start the task from a snapshot commit of your uncommitted and untracked work; your
    /// branch, index, work tree and stash stay as they are.
    #[arg(long)]
    pub include_uncommitted: bool,
    /// Refuse (SECRETS_FOUND) instead of warning when the secret scan finds a possible credential.
    #[arg(long)]
    pub strict_secrets: bool,
    /// Scan every blob of the exported history for secrets, not only the files at HEAD.
    #[arg(long)]
    pub scan_history: bool,
    /// Refuse (PACKAGE_TOO_LARGE) a package estimated larger than SIZE, before writing it
    /// [default: 512MB, the sandbox's upload limit]; K/M/G are powers of 1000, KiB/MiB/GiB of 1024.
    #[arg(long, value_name = "SIZE", value_parser = crate::prepare::size::parse_size)]
    pub max_size: Option<u64>,
    /// Do not check the package's size against any limit.
    #[arg(long, conflicts_with = "max_size")]
    pub no_max_size: bool,
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
    /// Then check out the task branch (its --namespace copy) here, like git switch; refused
    /// before any ref moves if this work tree has changes or untracked files in the way. Also
    /// lets a checked-out branch move, updating that work tree.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub checkout: bool,
    /// Accept a package for an exchange prepared in another clone of this repository.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub adopt: bool,
    /// Take a return that rewrites commits an earlier apply brought; the replaced tip stays
    /// at refs/heads/procoder/<id>/<name>-replaced-<oid>.
    #[arg(long, conflicts_with_all = ["cont", "abort"])]
    pub replace: bool,
    /// Finish an interrupted apply.
    #[arg(long = "continue", id = "cont", value_name = "ID", num_args = 0..=1, conflicts_with_all = ["zip", "abort"])]
    pub cont: Option<Option<String>>,
    /// Undo an interrupted apply: every ref back to its recorded old value.
    #[arg(long, value_name = "ID", num_args = 0..=1, conflicts_with = "zip")]
    pub abort: Option<Option<String>>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {}

#[derive(Debug, Args)]
pub struct AbortArgs {
    /// The exchange id (see procoder status) [default: the only open exchange].
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Also delete family branches that have commits (never a checked-out one).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The repository (or a folder inside it) [default: the current directory, or -C PATH].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Where to write the zip [default: <repo>-archive-<YYYYMMDD-HHMMSS>.zip beside the
    /// repository's folder]; an existing file is never overwritten.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not show the zip in the file manager afterwards.
    #[arg(long)]
    pub no_open: bool,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The exchange id (see procoder status) [default: the only open exchange].
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// One command's page (procoder-COMMAND(1)) instead of procoder(1).
    #[arg(value_name = "COMMAND", value_parser = ["prepare", "apply", "status", "close", "abort", "archive", "completions", "man"])]
    pub command: Option<String>,
}
