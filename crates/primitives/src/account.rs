//! The account: an sr25519 public key, 32 bytes. Validators' stashes, TSS accounts and users
//! are accounts, and so is every party of a protocol session (manul's party id), so a protocol
//! message, a piece of evidence and a chain call all name the same identity the same way.
//!
//! Human-readable forms (JSON, TOML) show an account as an SS58 address; binary forms as its
//! 32 bytes.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use blake2::{Blake2b512, Digest};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encoding::parse_hex_array;

/// An account: an sr25519 public key (validators' stashes, TSS accounts, users, protocol parties).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The raw public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// The SS58 address format keywheel prints: 42, Substrate's generic format.
pub const SS58_FORMAT: u8 = 42;

fn ss58_checksum(body: &[u8]) -> [u8; 2] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(body);
    let hash = hasher.finalize();
    [hash[0], hash[1]]
}

/// Why a string is not an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountParseError(String);

impl fmt::Display for AccountParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: give an SS58 address (e.g. 5GrwvaEF…) or 32 bytes of 0x-prefixed hex",
            self.0
        )
    }
}

impl AccountId {
    /// The account as an SS58 address in format [`SS58_FORMAT`].
    pub fn to_ss58(&self) -> String {
        let mut body = Vec::with_capacity(35);
        body.push(SS58_FORMAT);
        body.extend_from_slice(&self.0);
        let checksum = ss58_checksum(&body);
        body.extend_from_slice(&checksum);
        bs58::encode(body).into_string()
    }

    /// Parses an SS58 address with a one-byte format (0–63), checking its checksum.
    pub fn from_ss58(address: &str) -> Result<Self, AccountParseError> {
        let bytes = bs58::decode(address)
            .into_vec()
            .map_err(|_| AccountParseError(alloc::format!("`{address}` is not base58")))?;
        if bytes.len() != 35 || bytes[0] >= 64 {
            return Err(AccountParseError(alloc::format!(
                "`{address}` is not a 32-byte SS58 address with a one-byte format"
            )));
        }
        if ss58_checksum(&bytes[..33]) != bytes[33..] {
            return Err(AccountParseError(alloc::format!(
                "`{address}` has a wrong SS58 checksum"
            )));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[1..33]);
        Ok(Self(key))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl FromStr for AccountId {
    type Err = AccountParseError;

    /// Accepts an SS58 address or `0x` followed by 64 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(digits) = s.strip_prefix("0x") {
            return parse_hex_array(digits)
                .map(Self)
                .map_err(|e| AccountParseError(alloc::format!("`{s}`: {e}")));
        }
        Self::from_ss58(s)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_ss58())
        } else {
            serializer.serialize_newtype_struct("AccountId", &self.0)
        }
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let s = String::deserialize(deserializer)?;
            s.parse().map_err(|e: AccountParseError| D::Error::custom(e))
        } else {
            #[derive(Deserialize)]
            #[serde(rename = "AccountId")]
            struct Raw([u8; 32]);
            Ok(Self(Raw::deserialize(deserializer)?.0))
        }
    }
}

/// Serde for `BTreeMap<AccountId, Vec<u8>>`: hex values when human-readable, bytes otherwise.
pub mod hex_map {
    use alloc::collections::BTreeMap;

    use super::*;
    use crate::encoding::{from_hex, to_hex};

    /// Serializes.
    pub fn serialize<S: Serializer>(map: &BTreeMap<AccountId, Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let view: BTreeMap<&AccountId, String> = map.iter().map(|(k, v)| (k, to_hex(v))).collect();
            view.serialize(serializer)
        } else {
            map.serialize(serializer)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<AccountId, Vec<u8>>, D::Error> {
        if deserializer.is_human_readable() {
            BTreeMap::<AccountId, String>::deserialize(deserializer)?
                .into_iter()
                .map(|(k, v)| from_hex(&v).map(|v| (k, v)).map_err(D::Error::custom))
                .collect()
        } else {
            BTreeMap::deserialize(deserializer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// Substrate's well-known development account Alice (`//Alice`).
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_KEY: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn ss58_matches_substrate_for_alice() {
        let alice = AccountId(hex::decode(ALICE_KEY).unwrap().try_into().unwrap());
        assert_eq!(alice.to_ss58(), ALICE);
        assert_eq!(ALICE.parse::<AccountId>().unwrap(), alice);
        assert_eq!(alloc::format!("0x{ALICE_KEY}").parse::<AccountId>().unwrap(), alice);
    }

    #[test]
    fn a_bad_checksum_or_garbage_is_refused() {
        let mut broken = String::from(ALICE);
        broken.pop();
        broken.push('Z');
        assert!(broken.parse::<AccountId>().is_err());
        assert!("5Grwv".parse::<AccountId>().is_err());
        assert!("0x1234".parse::<AccountId>().is_err());
        assert!("not an address!".parse::<AccountId>().is_err());
    }

    #[test]
    fn binary_form_is_the_plain_bytes() {
        let account = AccountId([9; 32]);
        let bytes = postcard::to_allocvec(&account).unwrap();
        assert_eq!(bytes, [9u8; 32]);
        assert_eq!(postcard::from_bytes::<AccountId>(&bytes).unwrap(), account);
    }
}
