//! What the keystore holds: the slots, a held share, retired shares, the chain binding and the
//! high-water mark, and the plaintext form of each sealed record.

use std::collections::BTreeMap;

use keywheel_chain::{to_hex, AccountId, AttemptIndex, SessionIndex, Sharing};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use keywheel_chain::encoding::hex_opt_array;

/// Version of the keystore layout (2: generations, index, retired shares, chain records).
pub(super) const FORMAT: u16 = 2;

/// The two slots of a parent key share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slot {
    /// The share the TSS signs with.
    Current,
    /// The holding slot: a reshare's result, until the chain says rotate.
    Next,
}

impl Slot {
    pub(super) fn name(self) -> &'static str {
        match self {
            Slot::Current => "current",
            Slot::Next => "next",
        }
    }
}

/// The public facts about a held share: which attempt made it and the sharing it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// The session of the attempt that made it.
    pub session: SessionIndex,
    /// The attempt.
    pub attempt: AttemptIndex,
    /// The parent verifying key (compressed SEC1).
    #[serde(with = "keywheel_chain::encoding::hex_vec")]
    pub verifying_key: Vec<u8>,
    /// The sharing's threshold.
    pub threshold: u32,
    /// Every holder's public key share (compressed SEC1).
    #[serde(with = "keywheel_primitives::account::hex_map")]
    pub public_shares: BTreeMap<AccountId, Vec<u8>>,
}

impl SlotInfo {
    /// SHA-256 over the threshold and the public shares: names one sharing.
    pub fn sharing_digest(&self) -> [u8; 32] {
        Sharing::digest_of(self.threshold, &self.public_shares)
    }
}

/// A slot's content: its public facts and the secret share bytes.
pub struct Held {
    /// The public facts.
    pub info: SlotInfo,
    /// The encoded `ParentKeyShare` (secret; zeroized on drop).
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("info", &self.info).finish_non_exhaustive()
    }
}

/// The public facts about a retired share (one taken out of a slot and kept, never deleted but by
/// [`Keystore::shred`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredInfo {
    /// Its id in the keystore, stable while it is kept: `s{session}-a{attempt}-{n}` (the
    /// attempt that made it, and `n` counting every share this keystore retired).
    pub id: String,
    /// The share's public facts.
    pub info: SlotInfo,
    /// The chain session in which it was retired.
    pub retired_in_session: SessionIndex,
}

/// The chain a keystore belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBinding {
    /// The network id.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub network: [u8; 32],
    /// The genesis block's hash.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub genesis_hash: [u8; 32],
}

impl std::fmt::Display for ChainBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "network {} and genesis {}",
            to_hex(&self.network),
            to_hex(&self.genesis_hash)
        )
    }
}

/// The furthest point of the chain the TSS has seen (and acted on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighWater {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub block_hash: [u8; 32],
    /// The chain's session at that block.
    pub session: SessionIndex,
    /// The digest of the chain's sharing at that block, if it had one.
    #[serde(with = "hex_opt_array")]
    pub sharing: Option<[u8; 32]>,
}

#[cfg(test)]
impl HighWater {
    /// A mark at `height` for tests: block hash `[hash; 32]`, session 3, sharing `[4; 32]`.
    pub(crate) fn at(height: u64, hash: u8) -> Self {
        Self {
            height,
            block_hash: [hash; 32],
            session: 3,
            sharing: Some([4; 32]),
        }
    }
}

impl std::fmt::Display for HighWater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "block {} ({}, session {})",
            self.height,
            to_hex(&self.block_hash),
            self.session
        )
    }
}

#[derive(Serialize)]
pub(super) struct HeldRecord<'a> {
    pub(super) info: &'a SlotInfo,
    #[serde(with = "serde_bytes")]
    pub(super) secret: &'a [u8],
}

#[derive(Deserialize)]
pub(super) struct HeldRecordOwned {
    pub(super) info: SlotInfo,
    #[serde(with = "serde_bytes")]
    pub(super) secret: Vec<u8>,
}

#[derive(Serialize)]
pub(super) struct RetiredRecord<'a> {
    pub(super) info: &'a SlotInfo,
    #[serde(with = "serde_bytes")]
    pub(super) secret: &'a [u8],
    pub(super) retired_in_session: SessionIndex,
}

#[derive(Deserialize)]
pub(super) struct RetiredRecordOwned {
    pub(super) info: SlotInfo,
    #[serde(with = "serde_bytes")]
    pub(super) secret: Vec<u8>,
    pub(super) retired_in_session: SessionIndex,
}

pub(super) fn encode_held(held: &Held) -> Zeroizing<Vec<u8>> {
    let record = HeldRecord {
        info: &held.info,
        secret: &held.secret,
    };
    Zeroizing::new(postcard::to_allocvec(&record).expect("plain data serializes"))
}

pub(super) fn decode_held(plain: &[u8]) -> Option<Held> {
    let record: HeldRecordOwned = postcard::from_bytes(plain).ok()?;
    Some(Held {
        info: record.info,
        secret: Zeroizing::new(record.secret),
    })
}

pub(super) fn decode_retired(id: &str, plain: &[u8]) -> Option<(RetiredInfo, Zeroizing<Vec<u8>>)> {
    let record: RetiredRecordOwned = postcard::from_bytes(plain).ok()?;
    let secret = Zeroizing::new(record.secret);
    let info = RetiredInfo {
        id: id.to_owned(),
        info: record.info,
        retired_in_session: record.retired_in_session,
    };
    Some((info, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records as they were written before their secrets were read as byte strings.
    #[derive(Serialize)]
    struct HeldBefore<'a> {
        info: &'a SlotInfo,
        secret: &'a [u8],
    }

    #[derive(Serialize)]
    struct RetiredBefore<'a> {
        info: &'a SlotInfo,
        secret: &'a [u8],
        retired_in_session: SessionIndex,
    }

    #[test]
    fn secrets_as_byte_strings_are_stored_as_they_were_and_old_records_still_read() {
        let info = SlotInfo {
            session: 7,
            attempt: 2,
            verifying_key: vec![2; 33],
            threshold: 3,
            public_shares: [(AccountId([9; 32]), vec![3; 33])].into_iter().collect(),
        };
        // Longer than one varint byte, with every byte value.
        let secret: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let held = Held {
            info: info.clone(),
            secret: Zeroizing::new(secret.clone()),
        };
        let before = postcard::to_allocvec(&HeldBefore {
            info: &info,
            secret: &secret,
        })
        .unwrap();
        assert_eq!(*encode_held(&held), before);
        let read = decode_held(&before).unwrap();
        assert_eq!((read.info, read.secret.to_vec()), (info.clone(), secret.clone()));

        let retired = postcard::to_allocvec(&RetiredBefore {
            info: &info,
            secret: &secret,
            retired_in_session: 9,
        })
        .unwrap();
        let now = postcard::to_allocvec(&RetiredRecord {
            info: &info,
            secret: &secret,
            retired_in_session: 9,
        })
        .unwrap();
        assert_eq!(now, retired);
        let (read, read_secret) = decode_retired("s7-a2", &retired).unwrap();
        assert_eq!((read.info, read.retired_in_session), (info, 9));
        assert_eq!(read_secret.to_vec(), secret);
        // A cut record is refused, not read short.
        assert!(decode_held(&before[..before.len() - 1]).is_none());
    }
}
