//! Just enough of the ELF header to tell whether a file can run in the sandbox (Linux on
//! x86-64). Shared with `build.rs`, which refuses to embed anything else.

/// Why `bytes` is not an x86-64 ELF executable, or `Ok` with whether it is static (no
/// program interpreter: it needs no dynamic loader and no libc in the sandbox).
pub fn check(bytes: &[u8]) -> Result<Linkage, String> {
    let Some(head) = bytes.get(..64) else {
        return Err("it is too short to be an executable".into());
    };
    if &head[..4] != b"\x7fELF" {
        return Err("it is not an ELF executable (a Linux x86-64 build is needed)".into());
    }
    // ELFCLASS64, little endian, e_machine (offset 18) 0x3e: x86-64.
    if head[4] != 2 || head[5] != 1 || u16_at(head, 18) != 0x3e {
        return Err("it is not an x86-64 executable".into());
    }
    // e_type: ET_EXEC, or ET_DYN for position-independent executables (static-pie included).
    if !matches!(u16_at(head, 16), 2 | 3) {
        return Err("it is not an executable".into());
    }
    let phoff = u64_at(head, 32);
    let (entsize, count) = (u64::from(u16_at(head, 54)), u64::from(u16_at(head, 56)));
    let mut interp = false;
    for i in 0..count {
        let at = phoff
            .checked_add(i.saturating_mul(entsize))
            .and_then(|at| usize::try_from(at).ok())
            .filter(|&at| entsize >= 4 && at.checked_add(4).is_some_and(|end| end <= bytes.len()))
            .ok_or("its program headers are cut off")?;
        // PT_INTERP: the path of the dynamic loader.
        interp |= u32_at(bytes, at) == 3;
    }
    Ok(if interp {
        Linkage::Dynamic
    } else {
        Linkage::Static
    })
}

/// Whether the executable needs a dynamic loader (and so the sandbox's glibc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    Static,
    Dynamic,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}
