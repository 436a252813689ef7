//! The leak scanner: finds marker strings in bytes as they are, in every zlib stream wherever
//! one starts, in every entry of a pack (inflated one by one), and in every member a zip's local
//! headers announce (inflated), so that compression cannot hide a leak. Deciding what a finding
//! means (a leak, or a canary seen where it must be) is the caller's job. The test at the end
//! proves the scanner on hand-made bytes.

use crate::common::{write_raw_zip, RawMember};
use flate2::{Decompress, FlushDecompress, Status};
use std::collections::{BTreeMap, BTreeSet};

/// Every marker, secret or canary, ends with this tag: the scanner looks for the tag first.
pub const TAG: &str = "-7f3a";

/// No inflated stream is followed further than this (a test package is far smaller).
const INFLATE_LIMIT: usize = 256 << 20;

/// Where a marker was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Surface {
    /// The zip file's bytes as they are (member names, stored members).
    ZipBytes,
    /// A zlib stream starting anywhere in the zip file's bytes (a stored member's).
    ZipZlib,
    /// A member found by walking the zip's local headers, inflated (hidden members too).
    ZipLocalMember,
    /// A member name in the central directory (the zip crate).
    MemberName,
    /// A member inflated by the zip crate.
    Member,
    /// A zlib stream starting anywhere in an inflated member.
    MemberZlib,
    /// One entry of a pack file, inflated (a member or an extracted file).
    PackEntry,
    /// A path (file, folder or symlink) of the package extracted with `unzip`.
    ExtractedPath,
    /// An extracted file's bytes.
    ExtractedFile,
    /// A zlib stream starting anywhere in an extracted file.
    ExtractedZlib,
    /// The target of an extracted symlink.
    SymlinkTarget,
    /// `git cat-file --batch-all-objects --batch` in the extracted repository.
    GitObjects,
    /// `git for-each-ref` in the extracted repository.
    GitRefs,
    /// `git config --list --show-origin` in the extracted repository.
    GitConfig,
    /// Any other git command's output in the extracted repository (log, reflog, notes, ...).
    Git,
}

/// Finds markers and remembers where: marker → surface → places.
#[derive(Default)]
pub struct Scan {
    markers: Vec<String>,
    found: BTreeMap<String, BTreeMap<Surface, BTreeSet<String>>>,
}

impl Scan {
    /// A scanner for `markers`; every one must end with [`TAG`].
    pub fn new<I: IntoIterator<Item = String>>(markers: I) -> Self {
        let markers: Vec<String> = markers.into_iter().collect();
        for m in &markers {
            assert!(m.ends_with(TAG), "marker {m} does not end with {TAG}");
        }
        Scan {
            markers,
            found: BTreeMap::new(),
        }
    }

    /// The surfaces `marker` was seen on.
    pub fn surfaces(&self, marker: &str) -> BTreeSet<Surface> {
        self.found
            .get(marker)
            .map(|s| s.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Every sighting of `marker`, one line each (`Surface: place`).
    /// Each of `secrets` (marker, what it is) seen anywhere, with where it was seen.
    pub fn leaked(&self, secrets: &[(String, String)]) -> Vec<String> {
        secrets
            .iter()
            .filter(|(m, _)| !self.surfaces(m).is_empty())
            .map(|(m, what)| format!("{m} ({what}):\n  {}", self.sightings(m).join("\n  ")))
            .collect()
    }

    pub fn sightings(&self, marker: &str) -> Vec<String> {
        self.found
            .get(marker)
            .into_iter()
            .flatten()
            .flat_map(|(surface, places)| places.iter().map(move |p| format!("{surface:?}: {p}")))
            .collect()
    }

    /// Looks for every marker in `data` as it is.
    pub fn plain(&mut self, surface: Surface, place: &str, data: &[u8]) {
        let tag = TAG.as_bytes();
        let mut from = 0;
        while let Some(at) = find(&data[from..], tag) {
            let end = from + at + tag.len();
            for m in &self.markers {
                if data[..end].ends_with(m.as_bytes()) {
                    self.found
                        .entry(m.clone())
                        .or_default()
                        .entry(surface)
                        .or_default()
                        .insert(place.to_owned());
                }
            }
            from = end;
        }
    }

    /// Looks for every marker in every zlib stream that starts anywhere in `data` (a valid
    /// two-byte zlib header is tried as the start of a stream; garbage fails within bytes).
    pub fn zlib(&mut self, surface: Surface, place: &str, data: &[u8]) {
        for at in 0..data.len().saturating_sub(2) {
            let (cmf, flg) = (data[at], data[at + 1]);
            let header_ok = cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
            if !header_ok {
                continue;
            }
            let inflated = inflate(&data[at..], true, INFLATE_LIMIT);
            if inflated.out.len() >= TAG.len() {
                self.plain(
                    surface,
                    &format!("{place} (zlib at byte {at})"),
                    &inflated.out,
                );
            }
        }
    }

    /// Parses `data` as a pack file and looks for every marker in each inflated entry (delta
    /// entries as their delta data: a marker a delta inserts is there as it is). Panics when the
    /// pack does not parse to its last byte: bytes no entry accounts for could hide anything.
    /// Returns the number of entries.
    pub fn pack(&mut self, place: &str, data: &[u8]) -> usize {
        assert!(
            data.len() >= 32 && data.starts_with(b"PACK"),
            "{place} is not a pack"
        );
        let word = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        assert!(
            matches!(word(4), 2 | 3),
            "{place}: pack version {}",
            word(4)
        );
        let count = word(8) as usize;
        let mut pos = 12;
        for k in 0..count {
            let start = pos;
            let byte = |pos: usize| {
                *data
                    .get(pos)
                    .unwrap_or_else(|| panic!("{place}: entry {k} at {start} is cut short"))
            };
            let mut b = byte(pos);
            pos += 1;
            let kind = (b >> 4) & 7;
            let mut size = u64::from(b & 0x0f);
            let mut shift = 4;
            while b & 0x80 != 0 {
                b = byte(pos);
                pos += 1;
                size |= u64::from(b & 0x7f) << shift;
                shift += 7;
            }
            match kind {
                1..=4 => {}
                6 => {
                    // Offset delta: a base distance in git's varint.
                    while byte(pos) & 0x80 != 0 {
                        pos += 1;
                    }
                    pos += 1;
                }
                7 => pos += 20, // ref delta: the base's object id
                other => panic!("{place}: entry {k} at {start} has type {other}"),
            }
            let inflated = inflate(&data[pos.min(data.len())..], true, INFLATE_LIMIT);
            assert!(
                inflated.complete,
                "{place}: entry {k} at {start} is not a complete zlib stream"
            );
            assert_eq!(
                inflated.out.len() as u64,
                size,
                "{place}: entry {k} at {start} inflates to another size than its header says"
            );
            self.plain(
                Surface::PackEntry,
                &format!("{place} entry {k} (type {kind}) at byte {start}"),
                &inflated.out,
            );
            pos += inflated.used;
        }
        assert_eq!(
            pos + 20,
            data.len(),
            "{place}: the {count} entries and the checksum do not account for every byte"
        );
        count
    }

    /// Walks every local header (`PK\3\4`) in a zip's bytes and looks for every marker in the
    /// member behind it (inflated when deflated, as stored otherwise): finds members the central
    /// directory does not list. Returns the number of local headers.
    pub fn zip_local_members(&mut self, place: &str, data: &[u8]) -> usize {
        let mut headers = 0;
        let mut from = 0;
        while let Some(at) = find(&data[from..], b"PK\x03\x04") {
            let h = from + at;
            from = h + 4;
            let Some(fixed) = data.get(h..h + 30) else {
                continue;
            };
            let le16 = |at: usize| usize::from(u16::from_le_bytes([fixed[at], fixed[at + 1]]));
            let (method, name_len, extra_len) = (le16(8), le16(26), le16(28));
            let name_end = h + 30 + name_len;
            let Some(name) = data.get(h + 30..name_end) else {
                continue;
            };
            headers += 1;
            let body = (name_end + extra_len).min(data.len());
            let stored_len = u32::from_le_bytes(fixed[18..22].try_into().expect("4 bytes"));
            let member = match method {
                8 => inflate(&data[body..], false, INFLATE_LIMIT).out,
                _ => data[body..]
                    .get(..stored_len as usize)
                    .unwrap_or(&data[body..])
                    .to_vec(),
            };
            let name = String::from_utf8_lossy(name);
            self.plain(
                Surface::ZipLocalMember,
                &format!("{place}: local member {name} at byte {h}"),
                &member,
            );
        }
        headers
    }

    /// `plain`, then `zlib`, then `pack` when `data` is a pack.
    pub fn deep(&mut self, surface: Surface, zlib: Surface, place: &str, data: &[u8]) {
        self.plain(surface, place, data);
        self.zlib(zlib, place, data);
        if data.starts_with(b"PACK") {
            self.pack(place, data);
        }
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(at) = hay[from..].iter().position(|&b| b == first) {
        let start = from + at;
        if hay[start..].starts_with(needle) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// What inflating a stream gave.
pub struct Inflated {
    /// The bytes inflated before the stream ended, broke or hit the limit.
    pub out: Vec<u8>,
    /// Input bytes consumed.
    pub used: usize,
    /// Whether the stream ended properly.
    pub complete: bool,
}

/// Inflates the stream at the start of `data` (zlib, or raw deflate when `zlib` is false).
pub fn inflate(data: &[u8], zlib: bool, limit: usize) -> Inflated {
    let mut d = Decompress::new(zlib);
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut complete = false;
    loop {
        if out.len() == out.capacity() {
            if out.len() >= limit {
                break;
            }
            out.reserve(out.len().max(4096));
        }
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let rest = &data[(d.total_in() as usize).min(data.len())..];
        match d.decompress_vec(rest, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => {
                complete = true;
                break;
            }
            Ok(_) if d.total_in() == in_before && d.total_out() == out_before => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Inflated {
        out,
        used: d.total_in() as usize,
        complete,
    }
}

/// The scanner itself: it finds a marker as it is, in a zlib stream amid noise, in pack entries
/// (whole and delta), and in a deflated zip member that no central directory lists; and it does
/// not report what is not there.
#[test]
fn leak_scanner_sees_through_compression_packs_and_hidden_zip_members() {
    use std::io::Write as _;
    let marker = |name: &str| format!("LEAK-{name}{TAG}");
    let names = [
        "plain",
        "zlib",
        "pack-blob",
        "pack-delta",
        "hidden-member",
        "absent",
    ];
    let mut scan = Scan::new(names.iter().map(|n| marker(n)));
    let zlib = |data: &[u8]| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).expect("compress to memory");
        z.finish().expect("compress to memory")
    };
    let noise: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();

    let mut bytes = noise.clone();
    bytes.extend_from_slice(marker("plain").as_bytes());
    bytes.extend_from_slice(&noise);
    bytes.extend_from_slice(&zlib(format!("text {} text", marker("zlib")).as_bytes()));
    bytes.extend_from_slice(&noise);
    scan.plain(Surface::ZipBytes, "bytes", &bytes);
    scan.zlib(Surface::ZipZlib, "bytes", &bytes);
    assert_eq!(scan.surfaces(&marker("plain")), [Surface::ZipBytes].into());
    assert_eq!(scan.surfaces(&marker("zlib")), [Surface::ZipZlib].into());

    // A pack: a blob, then an offset delta against it whose inserted text is a marker.
    let blob = format!("a blob with {} inside\n", marker("pack-blob"));
    let insert = marker("pack-delta");
    let mut delta = vec![blob.len() as u8, insert.len() as u8, insert.len() as u8];
    delta.extend_from_slice(insert.as_bytes());
    let entry_header = |kind: u8, size: usize| {
        let mut h = vec![(kind << 4) | (size & 0x0f) as u8];
        let mut rest = size >> 4;
        while rest > 0 {
            *h.last_mut().expect("a byte") |= 0x80;
            h.push((rest & 0x7f) as u8);
            rest >>= 7;
        }
        h
    };
    let mut pack = b"PACK\0\0\0\x02\0\0\0\x02".to_vec();
    let blob_at = pack.len();
    pack.extend(entry_header(3, blob.len()));
    pack.extend(zlib(blob.as_bytes()));
    let delta_at = pack.len();
    pack.extend(entry_header(6, delta.len()));
    let distance = delta_at - blob_at;
    assert!(distance < 128, "a one-byte offset");
    pack.push(distance as u8);
    pack.extend(zlib(&delta));
    pack.extend([0u8; 20]); // the checksum (git checks it; the scanner does not need to)
    assert_eq!(scan.pack("pack", &pack), 2);
    assert_eq!(
        scan.surfaces(&marker("pack-blob")),
        [Surface::PackEntry].into()
    );
    assert_eq!(
        scan.surfaces(&marker("pack-delta")),
        [Surface::PackEntry].into()
    );

    // A deflated member hidden before a zip whose central directory does not list it.
    let tmp = tempfile::TempDir::new().expect("a temporary folder");
    let hidden = tmp.path().join("hidden.zip");
    let content = format!("{}\n", marker("hidden-member"));
    write_raw_zip(
        &hidden,
        &[RawMember::deflated(b"hidden.txt", content.as_bytes())],
    );
    let visible = tmp.path().join("visible.zip");
    write_raw_zip(
        &visible,
        &[RawMember::deflated(b"visible.txt", b"nothing\n")],
    );
    let mut zip = std::fs::read(&hidden).expect("read a zip");
    zip.extend(std::fs::read(&visible).expect("read a zip"));
    scan.plain(Surface::ZipBytes, "zip", &zip);
    assert!(
        scan.surfaces(&marker("hidden-member")).is_empty(),
        "deflated"
    );
    assert_eq!(scan.zip_local_members("zip", &zip), 2);
    assert_eq!(
        scan.surfaces(&marker("hidden-member")),
        [Surface::ZipLocalMember].into()
    );

    assert!(scan.surfaces(&marker("absent")).is_empty());
}
