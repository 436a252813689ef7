//! The `procoder-return` helper that travels in every task package: where it comes from, and
//! what `procoder --version` says of it.
//!
//! Lookup order: `--helper PATH`, `$PROCODER_RETURN_HELPER`, `procoder-return` beside this
//! executable, then the helper embedded at build time (`PROCODER_EMBED_HELPER`, see build.rs).
//! A helper named explicitly must be usable; one found beside the executable that is not (a
//! Mach-O or Windows build from a source install) is passed over for the embedded one.

pub mod elf;

use procoder_bundle::layout;
use procoder_manifest::{ErrorCode, Failure, Result};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use elf::Linkage;

/// The helper embedded by build.rs; empty when the build named none.
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded-helper"));

/// The environment variable that names a helper, after `--helper`.
pub const ENV: &str = "PROCODER_RETURN_HELPER";

/// Where the helper comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag(PathBuf),
    Env(PathBuf),
    Beside(PathBuf),
    Embedded,
}

impl Origin {
    /// For JSON: `flag`, `env`, `beside` or `embedded`.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Flag(_) => "flag",
            Origin::Env(_) => "env",
            Origin::Beside(_) => "beside",
            Origin::Embedded => "embedded",
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Flag(p) | Origin::Env(p) | Origin::Beside(p) => Some(p),
            Origin::Embedded => None,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(p) => write!(f, "{} (--helper)", p.display()),
            Origin::Env(p) => write!(f, "{} (${ENV})", p.display()),
            Origin::Beside(p) => write!(f, "{} (next to procoder)", p.display()),
            Origin::Embedded => f.write_str("embedded in procoder"),
        }
    }
}

/// A usable helper: an x86-64 ELF executable, read whole (it is a few MB).
#[derive(Debug)]
pub struct Helper {
    pub origin: Origin,
    pub bytes: Cow<'static, [u8]>,
    pub linkage: Linkage,
}

impl Helper {
    /// The version its marker states (`procoder_return::VERSION_MARK`); `None` for a helper
    /// without one, such as the Go procoder's.
    pub fn version(&self) -> Option<String> {
        let mark = layout::HELPER_VERSION_MARK.as_bytes();
        let at = self.bytes.windows(mark.len()).position(|w| w == mark)? + mark.len();
        let rest = &self.bytes[at..];
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end])
            .ok()
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .map(str::to_owned)
    }

    /// Lowercase hex SHA-256 of the bytes, as release sums give it.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(&self.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The helper prepare would ship: see the module doc for the order.
pub fn find(flag: Option<&Path>) -> Result<Helper> {
    if let Some(p) = flag {
        return load(Origin::Flag(p.to_path_buf()));
    }
    if let Some(p) = std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        return load(Origin::Env(PathBuf::from(p)));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(layout::HELPER)))
        .filter(|p| p.is_file());
    let passed_over = match beside.map(|p| load(Origin::Beside(p))) {
        Some(Ok(helper)) => return Ok(helper),
        Some(Err(why)) => Some(why),
        None => None,
    };
    if let Some(helper) = embedded() {
        return Ok(helper);
    }
    let mut failure = Failure::new(
        ErrorCode::HelperNotFound,
        "no Linux x86-64 procoder-return helper to put in the package",
    );
    if let Some(why) = passed_over {
        failure = failure.detail(why.message);
    }
    Err(failure
        .detail("this procoder has no helper embedded (a build from source without PROCODER_EMBED_HELPER)")
        .hint(format!("install a release build, which embeds the helper (npm install -g procoder-cli, or the installer of the release page); or pass --helper PATH or set {ENV} to a Linux x86-64 procoder-return; from a checkout on Linux x86-64: cargo install --locked --path procoder")))
}

/// The embedded helper, if this build has one.
pub fn embedded() -> Option<Helper> {
    if EMBEDDED.is_empty() {
        return None;
    }
    // build.rs checked it; a failure here would be a build that bypassed it.
    let linkage = elf::check(EMBEDDED).ok()?;
    Some(Helper {
        origin: Origin::Embedded,
        bytes: Cow::Borrowed(EMBEDDED),
        linkage,
    })
}

fn load(origin: Origin) -> Result<Helper> {
    let path = origin.path().expect("only file origins are loaded");
    let unusable = |why: String| {
        Failure::new(
            ErrorCode::HelperNotFound,
            format!("the helper {origin} is not usable: {why}"),
        )
        .hint(format!(
            "point --helper or {ENV} at a Linux x86-64 procoder-return binary"
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| unusable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unusable("it is not a file".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
    let linkage = elf::check(&bytes).map_err(unusable)?;
    Ok(Helper {
        origin,
        bytes: Cow::Owned(bytes),
        linkage,
    })
}
