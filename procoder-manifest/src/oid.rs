//! Object ids as the documents spell them: 40 lowercase hex digits (sha1 repositories).

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A sha1 object id. Parsing accepts exactly 40 lowercase hex digits, as git prints them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 20]);

impl ObjectId {
    /// The id from its raw 20 bytes.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Parses a document field: 40 lowercase hex digits, nothing else.
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        if b.len() != 40 {
            return Err(format!("object id {s:?} is not 40 hex digits"));
        }
        let mut out = [0u8; 20];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            let hi =
                hex_val(pair[0]).ok_or_else(|| format!("object id {s:?} is not lowercase hex"))?;
            let lo =
                hex_val(pair[1]).ok_or_else(|| format!("object id {s:?} is not lowercase hex"))?;
            out[i] = hi << 4 | lo;
        }
        Ok(Self(out))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// `old_oid` of a created ref is the empty string in the documents.
pub(crate) mod optional {
    use super::ObjectId;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(oid) => s.collect_str(oid),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.is_empty() {
            return Ok(None);
        }
        ObjectId::parse(&s).map(Some).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_shapes() {
        let s = "b39e6197ab2068454f2e6481c5e982dc88b4edfa";
        assert_eq!(ObjectId::parse(s).expect("valid").to_string(), s);
        for bad in [
            "",
            "b39e",
            &s.to_uppercase(),
            &format!("{s}0"),
            &s.replace('b', "g"),
        ] {
            assert!(ObjectId::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
