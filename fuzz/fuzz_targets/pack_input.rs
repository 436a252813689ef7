//! What the pack target feeds `read_bundle`. Byte mutations of a real pack stop at its
//! SHA-1 trailer or inside a zlib stream, so most would never reach the object checks:
//!
//! - an input starting with `#` is a bundle, taken as it is except that the pack's trailer is
//!   recomputed (the checksum itself is libgit2's, not ours, and not instrumented);
//! - any other input is a list of objects, `kind: u8, len: u16 le, bytes`, packed here
//!   (deflated, trailer computed) behind a v2 header whose prerequisite is the base commit and
//!   whose one ref names the last commit (or the last object). In an object's bytes `\xffN`
//!   (N a digit) becomes object N's binary id and `%N` its hex id, `%B` the base commit's hex
//!   id: trees and commits keep naming their (mutated) children. Kind 7 (ref delta) takes its
//!   first 20 bytes as the base id, uncompressed.

use sha1::{Digest, Sha1};
use std::io::Write;

pub fn bundle(data: &[u8], base: &str) -> Vec<u8> {
    if data.first() == Some(&b'#') {
        return with_trailer(data);
    }
    let mut objects: Vec<(u8, Vec<u8>, [u8; 20])> = Vec::new();
    let mut rest = data;
    while rest.len() >= 3 && objects.len() < 64 {
        let kind = rest[0] & 7;
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let raw = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let bytes = substitute(raw, &objects, base);
        let id = match kind {
            1..=4 => {
                let name = ["", "commit", "tree", "blob", "tag"][usize::from(kind)];
                let mut h = Sha1::new();
                h.update(format!("{name} {}\0", bytes.len()).as_bytes());
                h.update(&bytes);
                h.finalize().into()
            }
            _ => [0; 20],
        };
        objects.push((kind, bytes, id));
    }
    let tip = objects
        .iter()
        .rev()
        .find(|o| o.0 == 1)
        .or(objects.last())
        .map_or([0x11; 20], |o| o.2);
    let mut out = format!(
        "# v2 git bundle\n-{base} Base\n{} refs/heads/fuzz\n\n",
        hex(&tip)
    )
    .into_bytes();
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for (kind, bytes, _) in &objects {
        let (prefix, body) = if *kind == 7 && bytes.len() >= 20 {
            bytes.split_at(20)
        } else {
            (&[][..], &bytes[..])
        };
        let mut size = body.len();
        let mut byte = (kind << 4) | (size & 15) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        pack.extend_from_slice(prefix);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(body).expect("deflating to memory");
        pack.extend_from_slice(&z.finish().expect("deflating to memory"));
    }
    let sum: [u8; 20] = Sha1::digest(&pack).into();
    pack.extend_from_slice(&sum);
    out.extend_from_slice(&pack);
    out
}

/// `data` with its pack's last 20 bytes replaced by the SHA-1 of what precedes them.
fn with_trailer(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let Some(start) = data.windows(2).position(|w| w == b"\n\n").map(|p| p + 2) else {
        return out;
    };
    if out.len() >= start + 32 {
        let end = out.len() - 20;
        let sum: [u8; 20] = Sha1::digest(&out[start..end]).into();
        out[end..].copy_from_slice(&sum);
    }
    out
}

fn substitute(raw: &[u8], objects: &[(u8, Vec<u8>, [u8; 20])], base: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let next = raw.get(i + 1).copied();
        let target = next
            .filter(u8::is_ascii_digit)
            .and_then(|d| objects.get(usize::from(d - b'0')));
        match (raw[i], next, target) {
            (0xff, _, Some(o)) => out.extend_from_slice(&o.2),
            (b'%', _, Some(o)) => out.extend_from_slice(hex(&o.2).as_bytes()),
            (b'%', Some(b'B'), _) => out.extend_from_slice(base.as_bytes()),
            _ => {
                out.push(raw[i]);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    out
}

fn hex(id: &[u8; 20]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
