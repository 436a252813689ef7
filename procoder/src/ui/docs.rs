//! Shell completions (`clap_complete`) and manual pages (`clap_mangen`), both generated from
//! the clap definitions in `cli.rs`, so they cannot drift from the parser.

use crate::cli::Cli;
use clap::CommandFactory;
use procoder_manifest::{Failure, Result};

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "procoder", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// procoder(1), or procoder-`command`(1).
pub fn man_page(command: Option<&str>) -> Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => {
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                Failure::internal(
                    format!("no command {name}"),
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                )
            })?;
            // The page of `procoder apply` is named procoder-apply, as git's are.
            let full = format!("procoder-{name}");
            sub.name(full.clone()).bin_name(full.replace('-', " "))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| Failure::internal("cannot render the manual page", e))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
