//! `./procoder-return`, the sandbox helper, as a binary of this package: `cargo install` of
//! `procoder` then installs it beside `procoder`, where `prepare` finds it.

fn main() -> std::process::ExitCode {
    procoder_return::main()
}

/// The static helper (scripts/release-build.sh) links glibc statically, and libgit2 names two
/// glibc functions whose static versions bring NSS, the DNS resolver and the dynamic loader
/// with them (about 90 KB of the helper, and `dlopen` of the sandbox's own libnss at run
/// time): the host lookup of its network transports and the passwd lookup it makes only when
/// running setuid. The helper does neither (it has no remote, it is never setuid, and the
/// sandbox has no network), so these stand in and fail as glibc does when there is no answer.
#[cfg(all(target_os = "linux", target_env = "gnu", target_feature = "crt-static"))]
#[allow(unsafe_code)]
mod no_nss {
    use std::ffi::{c_char, c_int, c_void};

    /// `EAI_FAIL`: "a non-recoverable failure in name resolution".
    const EAI_FAIL: c_int = -4;
    /// `ENOENT`: no such entry.
    const ENOENT: c_int = 2;

    // SAFETY: the exported names replace glibc's archive members of the same names at link
    // time (an executable's own definition is taken first); the signatures are glibc's.
    #[no_mangle]
    extern "C" fn getaddrinfo(
        _node: *const c_char,
        _service: *const c_char,
        _hints: *const c_void,
        _res: *mut *mut c_void,
    ) -> c_int {
        EAI_FAIL
    }

    #[no_mangle]
    extern "C" fn freeaddrinfo(_res: *mut c_void) {}

    #[no_mangle]
    extern "C" fn getpwuid_r(
        _uid: u32,
        _pwd: *mut c_void,
        _buf: *mut c_char,
        _buflen: usize,
        result: *mut *mut c_void,
    ) -> c_int {
        if !result.is_null() {
            // SAFETY: a non-null `result` points to the caller's `struct passwd *`, which
            // POSIX says is set to NULL when no entry is returned.
            unsafe { *result = std::ptr::null_mut() };
        }
        ENOENT
    }
}
