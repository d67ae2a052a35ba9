//! How bytes look outside the process: `0x` hex in human-readable formats (JSON over RPC, TOML
//! genesis files), the plain byte layout in binary ones (postcard: state, blocks, extrinsics,
//! digests). Accounts print as SS58 addresses ([`crate::account`]).

use alloc::string::String;
use alloc::vec::Vec;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `0x`-prefixed lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    out.push_str(&hex::encode(bytes));
    out
}

/// Parses hex with or without a `0x` prefix.
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits).map_err(|e| alloc::format!("not hex: {e}"))
}

pub(crate) fn parse_hex_array<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let bytes = from_hex(s)?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| alloc::format!("expected {N} bytes of hex, got {}", b.len()))
}

/// Serde for `Vec<u8>`: hex when human-readable, bytes otherwise.
pub mod hex_vec {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&to_hex(bytes))
        } else {
            bytes.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        if deserializer.is_human_readable() {
            from_hex(&String::deserialize(deserializer)?).map_err(D::Error::custom)
        } else {
            Vec::deserialize(deserializer)
        }
    }
}

/// Serde for `Vec<Vec<u8>>`: a list of hex strings when human-readable, of bytes otherwise.
pub mod hex_list {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(items: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let hex: Vec<String> = items.iter().map(|b| to_hex(b)).collect();
            hex.serialize(serializer)
        } else {
            items.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Vec<u8>>, D::Error> {
        if deserializer.is_human_readable() {
            Vec::<String>::deserialize(deserializer)?
                .iter()
                .map(|s| from_hex(s).map_err(D::Error::custom))
                .collect()
        } else {
            Vec::deserialize(deserializer)
        }
    }
}

/// Serde for `Option<Vec<u8>>`: hex when human-readable, bytes otherwise.
pub mod hex_opt {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            bytes.as_deref().map(to_hex).serialize(serializer)
        } else {
            bytes.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        if deserializer.is_human_readable() {
            Option::<String>::deserialize(deserializer)?
                .map(|s| from_hex(&s).map_err(D::Error::custom))
                .transpose()
        } else {
            Option::deserialize(deserializer)
        }
    }
}

/// Serde for `Option<[u8; 32]>`: hex when human-readable, bytes otherwise.
pub mod hex_opt_array {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(bytes: &Option<[u8; 32]>, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            bytes.as_ref().map(|b| to_hex(b)).serialize(serializer)
        } else {
            bytes.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<[u8; 32]>, D::Error> {
        if deserializer.is_human_readable() {
            Option::<String>::deserialize(deserializer)?
                .map(|s| parse_hex_array(&s).map_err(D::Error::custom))
                .transpose()
        } else {
            Option::deserialize(deserializer)
        }
    }
}

/// Serde for `[u8; 32]`: hex when human-readable, bytes otherwise.
pub mod hex_array {
    use super::*;

    /// Serializes.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&to_hex(bytes))
        } else {
            bytes.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        if deserializer.is_human_readable() {
            parse_hex_array(&String::deserialize(deserializer)?).map_err(D::Error::custom)
        } else {
            <[u8; 32]>::deserialize(deserializer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms_round_trip() {
        assert_eq!(to_hex(&[0xab, 1]), "0xab01");
        assert_eq!(from_hex("0xab01").unwrap(), [0xab, 1]);
        assert_eq!(from_hex("ab01").unwrap(), [0xab, 1]);
        assert!(from_hex("0xzz").is_err());
        assert!(parse_hex_array::<32>("0x1234").is_err());
    }
}
