//! Showing the finished archive in the file manager, as the Go tool does: only where a desktop
//! is there to show it, and never as a condition of success. A failure to open is a line of
//! output, not an error: the archive is written either way.

use std::path::Path;
use std::process::{Command, Stdio};

/// What became of the reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Shown in the file manager.
    Yes,
    /// Not tried: `--no-open`, `--json`, `--quiet`, `CI`, or no desktop here.
    No,
    /// Tried, and the opener failed (the reason).
    Failed(String),
}

/// The opener for this platform, if a desktop is there to show a file.
#[cfg(target_os = "macos")]
fn opener(zip: &Path) -> Option<Command> {
    let mut cmd = Command::new("open");
    cmd.arg("-R").arg(zip);
    Some(cmd)
}

#[cfg(windows)]
fn opener(zip: &Path) -> Option<Command> {
    use std::os::windows::process::CommandExt;
    // explorer parses its own command line: the path is quoted after the comma, which std's
    // quoting of the whole argument would not do.
    let mut cmd = Command::new("explorer");
    cmd.raw_arg(format!("/select,\"{}\"", zip.display()));
    Some(cmd)
}

#[cfg(not(any(target_os = "macos", windows)))]
fn opener(zip: &Path) -> Option<Command> {
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !desktop {
        return None;
    }
    let paths = std::env::var_os("PATH")?;
    let xdg = std::env::split_paths(&paths)
        .map(|d| d.join("xdg-open"))
        .find(|p| p.is_file())?;
    // xdg-open cannot select a file: it opens the folder that holds it.
    let mut cmd = Command::new(xdg);
    cmd.arg(zip.parent().unwrap_or(Path::new(".")));
    Some(cmd)
}

/// Shows `zip` in the file manager when a desktop is there.
pub fn reveal(zip: &Path) -> Opened {
    let Some(mut cmd) = opener(zip) else {
        return Opened::No;
    };
    // The opener's own chatter must not mix with procoder's output.
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        // explorer exits 1 even when it shows the file.
        Ok(s) if s.success() || cfg!(windows) => Opened::Yes,
        Ok(s) => Opened::Failed(format!("{:?} exited with {s}", cmd.get_program())),
        Err(e) => Opened::Failed(format!("cannot run {:?}: {e}", cmd.get_program())),
    }
}
