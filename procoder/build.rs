//! Embeds the sandbox helper: `PROCODER_EMBED_HELPER=/path/to/procoder-return` (a Linux
//! x86-64 executable, static in release builds: scripts/release-build.sh) puts its bytes into
//! this binary, so that a `procoder` for any host needs no second file. Without the variable
//! the embedded helper is empty and prepare looks only on disk.

#[allow(dead_code)]
#[path = "src/helper/elf.rs"]
mod elf;

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=PROCODER_EMBED_HELPER");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out.join("embedded-helper");
    let bytes = match std::env::var_os("PROCODER_EMBED_HELPER").filter(|v| !v.is_empty()) {
        None => Vec::new(),
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo::rerun-if-changed={}", path.display());
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "PROCODER_EMBED_HELPER={}: cannot read it: {e}",
                    path.display()
                )
            });
            if let Err(why) = elf::check(&bytes) {
                panic!("PROCODER_EMBED_HELPER={}: {why}", path.display());
            }
            bytes
        }
    };
    // Written only when it changed, so an unchanged helper does not rebuild procoder.
    if std::fs::read(&dest).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&dest, &bytes).expect("OUT_DIR is writable");
    }
}
