//! Will the package fit the sandbox's upload limit? Decided from an estimate before anything is
//! written; when it will not, `PACKAGE_TOO_LARGE` names what takes the room and the
//! `--single-branch --depth N` that fits, found by estimating each candidate depth.

use procoder_bundle::export::{estimate, SizeEstimate};
use procoder_bundle::{reachable, Reachable, Silent};
use procoder_manifest::{ErrorCode, Failure, Result};
use std::collections::{HashMap, HashSet};

/// ChatGPT's upload limit for one file (decimal megabytes, the smaller reading).
pub const UPLOAD_LIMIT: u64 = 512 * 1000 * 1000;

/// `--max-size` / `--no-max-size`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// The sandbox's upload limit.
    #[default]
    Upload,
    Bytes(u64),
    /// No check (`--no-max-size`).
    Off,
}

impl SizeLimit {
    pub fn bytes(self) -> Option<u64> {
        match self {
            Self::Upload => Some(UPLOAD_LIMIT),
            Self::Bytes(n) => Some(n),
            Self::Off => None,
        }
    }
}

/// `n` bytes in decimal megabytes, as upload limits are given.
pub fn mb(n: u64) -> String {
    match n {
        0..=999_999 => format!("{:.2} MB", n as f64 / 1e6),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// What the estimate of one export needs besides the objects.
pub struct Shape<'a> {
    pub repo: &'a git2::Repository,
    pub head: &'a git2::Index,
    pub refs: &'a [(String, git2::Oid)],
    pub top: &'a str,
    pub helper: &'a procoder_bundle::export::DeflatedHelper,
}

impl Shape<'_> {
    pub fn estimate(&self, found: &Reachable) -> Result<SizeEstimate> {
        estimate(
            self.repo,
            found,
            self.head,
            self.refs,
            self.top,
            self.helper,
        )
    }
}

/// The smallest export that fits: `Some(None)` when the source branch's whole history does,
/// `Some(Some(n))` for the largest depth that does, `None` when not even one commit does.
/// `source` exports the source branch and the task branch only. Each candidate is walked and
/// estimated; depths grow by doubling, then the last gap is halved.
fn fitting_depth(source: &Shape<'_>, limit: u64) -> Result<(Option<Option<u32>>, u64)> {
    let tips: Vec<git2::Oid> = source.refs.iter().map(|(_, oid)| *oid).collect();
    let size = |depth: Option<u32>| -> Result<(u64, usize)> {
        let found = reachable(source.repo, &tips, depth, &mut Silent)?;
        Ok((source.estimate(&found)?.bytes, found.commits))
    };
    let (full, all_commits) = size(None)?;
    if full <= limit {
        return Ok((Some(None), full));
    }
    let (one, _) = size(Some(1))?;
    if one > limit {
        return Ok((None, one));
    }
    let (mut fits, mut fits_bytes) = (1u32, one);
    // Doubling until a depth does not fit (or reaches the whole branch, which did not).
    let mut probe = 2u32;
    let mut over = loop {
        if probe as usize >= all_commits {
            break probe;
        }
        let (bytes, _) = size(Some(probe))?;
        if bytes > limit {
            break probe;
        }
        (fits, fits_bytes) = (probe, bytes);
        probe = probe.saturating_mul(2);
    };
    while over - fits > 1 {
        let mid = fits + (over - fits) / 2;
        let (bytes, _) = size(Some(mid))?;
        if bytes <= limit {
            (fits, fits_bytes) = (mid, bytes);
        } else {
            over = mid;
        }
    }
    Ok((Some(Some(fits)), fits_bytes))
}

/// Where the largest blobs of the export sit: the first path each is found at, walking the
/// history from `tips`, every tree once.
fn paths_of(
    repo: &git2::Repository,
    tips: &[git2::Oid],
    wanted: &HashSet<git2::Oid>,
) -> HashMap<git2::Oid, String> {
    let mut found = HashMap::new();
    let Ok(mut walk) = repo.revwalk() else {
        return found;
    };
    for tip in tips {
        if let Ok(c) = repo
            .find_object(*tip, None)
            .and_then(|o| o.peel_to_commit())
        {
            let _ = walk.push(c.id());
        }
    }
    let mut seen: HashSet<git2::Oid> = HashSet::new();
    for commit in walk.flatten() {
        let Ok(tree) = repo.find_commit(commit).and_then(|c| c.tree()) else {
            continue;
        };
        let mut stack = vec![(tree.id(), String::new())];
        while let Some((id, prefix)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Ok(tree) = repo.find_tree(id) else {
                continue;
            };
            for e in tree.iter() {
                let path = format!("{prefix}{}", String::from_utf8_lossy(e.name_bytes()));
                match e.kind() {
                    Some(git2::ObjectType::Tree) => stack.push((e.id(), format!("{path}/"))),
                    Some(git2::ObjectType::Blob) if wanted.contains(&e.id()) => {
                        found.entry(e.id()).or_insert(path);
                    }
                    _ => {}
                }
            }
        }
        if found.len() == wanted.len() {
            break;
        }
    }
    found
}

/// How many of the largest to name.
const SHOWN: usize = 5;

/// `PACKAGE_TOO_LARGE` for the export of `shape` estimated at `est` (or, `written`, measured),
/// with the largest files at HEAD and in history and the export of `source` (the source
/// branch only) that fits. `flags` are the user's other flags, kept in the command shown.
pub fn too_large(
    shape: &Shape<'_>,
    source: &Shape<'_>,
    est: &SizeEstimate,
    written: Option<u64>,
    limit: u64,
    flags: &[String],
) -> Result<Failure> {
    let mut details: Vec<String> = est
        .largest_at_head
        .iter()
        .take(SHOWN)
        .map(|(path, bytes)| format!("at HEAD: {path} ({})", mb(*bytes)))
        .collect();
    let head_ids: HashSet<git2::Oid> = shape.head.iter().map(|e| e.id).collect();
    let odb = shape
        .repo
        .odb()
        .map_err(|e| Failure::internal("cannot open the object database", e))?;
    let history: Vec<(git2::Oid, u64)> = est
        .largest
        .iter()
        .filter(|(oid, _)| !head_ids.contains(oid))
        .filter(|(oid, _)| {
            odb.read_header(*oid)
                .is_ok_and(|(_, kind)| kind == git2::ObjectType::Blob)
        })
        .take(SHOWN)
        .copied()
        .collect();
    let tips: Vec<git2::Oid> = shape.refs.iter().map(|(_, oid)| *oid).collect();
    let wanted: HashSet<git2::Oid> = history.iter().map(|(oid, _)| *oid).collect();
    let paths = paths_of(shape.repo, &tips, &wanted);
    for (oid, bytes) in &history {
        let short = &oid.to_string()[..12];
        let path = paths.get(oid).map_or("?", String::as_str);
        details.push(format!(
            "in history only: {path} (blob {short}, {})",
            mb(*bytes)
        ));
    }
    let (fit, fit_bytes) = fitting_depth(source, limit)?;
    let keep: String = flags.iter().map(|f| format!(" {f}")).collect();
    let raise = format!(
        "if your sandbox takes larger uploads, raise the limit (--max-size {}) or turn the check off (--no-max-size)",
        mb_arg(written.unwrap_or(est.bytes))
    );
    let hint = match fit {
        Some(None) => format!(
            "export only the source branch: run `procoder prepare --single-branch{keep}` (about {}); {raise}",
            mb(fit_bytes)
        ),
        Some(Some(n)) => format!(
            "export only the source branch's last {n} commits: run `procoder prepare --single-branch --depth {n}{keep}` (about {}); {raise}",
            mb(fit_bytes)
        ),
        None => format!(
            "no --depth fits: even --single-branch --depth 1 is about {}, the files at HEAD alone; remove or move out the largest files listed, commit, and run procoder prepare again; {raise}",
            mb(fit_bytes)
        ),
    };
    let what = match written {
        Some(n) => format!("the task package came to {}", mb(n)),
        None => format!("the task package would be about {}", mb(est.bytes)),
    };
    Ok(Failure::new(
        ErrorCode::PackageTooLarge,
        format!("{what}, over the {} limit (--max-size)", mb(limit)),
    )
    .details(details)
    .hint(hint))
}

/// A size `--max-size` takes that is above `n`: whole megabytes, rounded up.
fn mb_arg(n: u64) -> String {
    format!("{}MB", n.div_ceil(1_000_000) + 1)
}

/// Parses `--max-size`: bytes, or a number with `K`, `M`, `G` (powers of 1000, also `KB`,
/// `MB`, `GB`) or `KiB`, `MiB`, `GiB` (powers of 1024).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}`: use bytes or K, M, G (1000s), KiB, MiB, GiB (1024s), as in 512MB"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size: give a number and a unit, as in 512MB"))?;
    let bytes = value * unit_bytes as f64;
    if !(1.0..1e18).contains(&bytes) {
        return Err(format!("`{s}` is not a usable size: give at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_size("512MB"), Ok(512_000_000));
        assert_eq!(parse_size("512M"), Ok(512_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("300 KiB"), Ok(300 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn limit_suggestions_are_above_the_size() {
        assert_eq!(mb_arg(611_234_567), "613MB");
        assert_eq!(mb(1_500_000), "1.5 MB");
        assert_eq!(mb(12_345), "0.01 MB");
    }
}
