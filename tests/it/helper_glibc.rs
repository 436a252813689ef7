//! The helper must run in the sandbox (Debian 13, x86-64, glibc 2.41): an x86-64 ELF
//! executable whose versioned glibc symbols are all ≤ GLIBC_2.41, or a static binary.

use crate::common::bin;
use std::process::Command;

const SANDBOX_GLIBC: (u32, u32, u32) = (2, 41, 0);

/// Every `GLIBC_x.y[.z]` version named in `text`.
fn glibc_versions(text: &str) -> Vec<(u32, u32, u32)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("GLIBC_") {
        let rest = &text[at + "GLIBC_".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let parts: Vec<u32> = rest[..end]
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect();
        match parts.as_slice() {
            [major, minor] => found.push((*major, *minor, 0)),
            [major, minor, patch, ..] => found.push((*major, *minor, *patch)),
            _ => {} // GLIBC_PRIVATE and the like
        }
    }
    found
}

#[test]
fn glibc_version_parser_reads_objdump_lines() {
    let sample = "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) memcpy\n\
                  0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) __libc_start_main\n\
                  0000000000000000  w   D  *UND*  0000000000000000  GLIBC_PRIVATE _x\n";
    assert_eq!(glibc_versions(sample), [(2, 2, 5), (2, 34, 0)]);
    assert!((2, 42, 0) > SANDBOX_GLIBC && (2, 41, 0) <= SANDBOX_GLIBC);
}

#[test]
fn helper_is_an_x86_64_elf_executable() {
    let bytes = std::fs::read(bin("procoder-return")).expect("read the helper");
    assert!(bytes.len() > 64, "too small for an ELF file");
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF file");
    assert_eq!(bytes[5], 1, "not little-endian");
    assert_eq!(
        u16::from_le_bytes([bytes[18], bytes[19]]),
        62,
        "e_machine is not x86-64"
    );
}

#[test]
fn helper_needs_no_glibc_newer_than_the_sandbox() {
    let helper = bin("procoder-return");
    let tools: [(&str, &[&str]); 2] = [("objdump", &["-T"]), ("readelf", &["--dyn-syms", "-W"])];
    for (tool, args) in tools {
        let Ok(out) = Command::new(tool).args(args).arg(&helper).output() else {
            continue; // tool not installed: try the next one
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let versions = glibc_versions(&text);
        if versions.is_empty() {
            // Only acceptable for a static binary: no dynamic section at all.
            let dynamic = Command::new("readelf")
                .arg("-d")
                .arg(&helper)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            assert!(
                dynamic.contains("There is no dynamic section")
                    || text.contains("not a dynamic object"),
                "{tool} found no GLIBC versions but the helper is not static:\n{text}\n{dynamic}"
            );
            return;
        }
        let newest = versions.iter().max().expect("non-empty");
        assert!(
            *newest <= SANDBOX_GLIBC,
            "the helper needs GLIBC_{}.{}.{} but the sandbox has glibc 2.41 ({tool} {args:?})",
            newest.0,
            newest.1,
            newest.2
        );
        return;
    }
    println!("note: neither objdump nor readelf is installed; glibc check skipped");
}
