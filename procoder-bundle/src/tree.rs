//! Reading raw tree objects of a repository we trust (our own, or the sandbox's): the entries
//! and what kind each is. The strict reading of untrusted trees is `fsck.rs`.

/// What a tree entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tree,
    /// A file or a symlink.
    Blob,
    /// A submodule commit, which lives in another repository.
    Gitlink,
}

/// One entry: kind, name, id.
pub type Entry<'a> = (Kind, &'a [u8], git2::Oid);

/// The entries of a raw tree, or `None` when it is truncated.
pub fn entries(mut data: &[u8]) -> Option<Vec<Entry<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let sp = data.iter().position(|&c| c == b' ')?;
        let kind = match &data[..sp] {
            b"40000" | b"040000" => Kind::Tree,
            b"160000" => Kind::Gitlink,
            _ => Kind::Blob,
        };
        let rest = &data[sp + 1..];
        let nul = rest.iter().position(|&c| c == 0)?;
        let oid = git2::Oid::from_bytes(rest.get(nul + 1..nul + 21)?).ok()?;
        out.push((kind, &rest[..nul], oid));
        data = &rest[nul + 21..];
    }
    Some(out)
}

/// `dir/name`, or `name` at the root.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 1);
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}
