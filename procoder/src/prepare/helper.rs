//! Finding the `procoder-return` helper that travels in the package.

use procoder_manifest::{ErrorCode, Failure, Result};
use std::path::{Path, PathBuf};

/// `--helper`, then `PROCODER_RETURN_HELPER`, then `procoder-return` beside this executable.
pub fn find(flag: Option<&Path>) -> Result<PathBuf> {
    let (path, origin) = if let Some(p) = flag {
        (p.to_path_buf(), "--helper")
    } else if let Some(p) = std::env::var_os("PROCODER_RETURN_HELPER").filter(|v| !v.is_empty()) {
        (PathBuf::from(p), "PROCODER_RETURN_HELPER")
    } else {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("procoder-return")));
        match beside {
            Some(p) if p.is_file() => (p, "next to procoder"),
            _ => {
                return Err(Failure::new(ErrorCode::HelperNotFound, "no procoder-return helper found next to procoder")
                    .hint("install both binaries together (cargo install --path procoder-return && cargo install --path procoder), or pass --helper PATH / set PROCODER_RETURN_HELPER"))
            }
        }
    };
    check(&path).map_err(|why| {
        Failure::new(
            ErrorCode::HelperNotFound,
            format!(
                "the helper {} ({origin}) is not usable: {why}",
                path.display()
            ),
        )
        .hint("point --helper or PROCODER_RETURN_HELPER at a Linux x86-64 procoder-return binary")
    })?;
    Ok(path)
}

/// The sandbox runs Linux on x86-64: the helper must be an x86-64 ELF executable.
fn check(path: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a file".into());
    }
    let mut head = [0u8; 20];
    use std::io::Read;
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|_| "it is too short to be an executable".to_string())?;
    if &head[..4] != b"\x7fELF" {
        return Err("it is not an ELF executable".into());
    }
    // e_machine (offset 18, little endian) 0x3e is x86-64.
    if head[4] != 2 || head[18] != 0x3e || head[19] != 0 {
        return Err("it is not an x86-64 executable".into());
    }
    Ok(())
}
