//! Exchange ids: `YYYYMMDD-HHMMSS-xxxxxx`, the UTC time of prepare and 3 random bytes.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An exchange id, validated on construction.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeId(String);

impl ExchangeId {
    /// Makes the id for a prepare at `unix_seconds` with `random` bytes.
    /// The caller supplies time and randomness: this crate does no I/O.
    pub fn new(unix_seconds: i64, random: [u8; 3]) -> Self {
        let t = crate::time::utc_fields(unix_seconds);
        Self(format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}-{:02x}{:02x}{:02x}",
            t.year, t.month, t.day, t.hour, t.minute, t.second, random[0], random[1], random[2]
        ))
    }

    /// Accepts exactly `^\d{8}-\d{6}-[0-9a-f]{6}$`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        let ok = b.len() == 22
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'-'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && b[15] == b'-'
            && b[16..]
                .iter()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "exchange id {s:?} is not of the form YYYYMMDD-HHMMSS-xxxxxx"
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExchangeId({})", self.0)
    }
}

impl Serialize for ExchangeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExchangeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_time_and_random_hex() {
        // 2026-11-25T01:09:41Z, the Go fixture's exchange.
        let id = ExchangeId::new(1_795_568_981, [0x04, 0xc6, 0x04]);
        assert_eq!(id.as_str(), "20261125-010941-04c604");
        assert_eq!(ExchangeId::parse(id.as_str()).expect("valid"), id);
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "20261125-010941-04C604",
            "20261125-010941-04c60",
            "2026112a-010941-04c604",
            "20261125_010941-04c604",
            "../../x",
        ] {
            assert!(ExchangeId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
