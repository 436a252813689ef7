//! What differs between host platforms, in one place: the rest of the code stays portable.
//! The sandbox side is Linux; the user's side may be macOS or Windows, where git's byte paths
//! have no `OsStr` of their own (prepare refuses paths that are not UTF-8 before any of these
//! run, so the UTF-8 form is exact there).

use std::borrow::Cow;
use std::path::Path;

/// A path from a git tree or index (bytes, `/`-separated) as the platform's `Path`.
pub(crate) fn git_path(bytes: &[u8]) -> Cow<'_, Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        match String::from_utf8_lossy(bytes) {
            Cow::Borrowed(s) => Cow::Borrowed(Path::new(s)),
            Cow::Owned(s) => Cow::Owned(s.into()),
        }
    }
}

/// Makes a finished package world-readable (`0644`): temporary files are created `0600`, and
/// the package is an ordinary file the user uploads. Elsewhere files carry no mode bits.
pub fn make_readable(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = file;
}
