//! The public side of a sharing of the parent key, and the digest that names it. The chain
//! records the current [`Sharing`]; a TSS's keystore slot holds a share of one, and the two are
//! compared by digest. [`Dealt`] is where a reshared sharing came from: every staying holder's
//! endorsed commitments, which a confirmation carries so the chain can tell which sharing an
//! attempt really made.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::AccountId;

/// The public side of a sharing of the parent key, as confirmed by its holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct Sharing {
    /// Threshold of the sharing.
    pub threshold: u32,
    /// Public key share (compressed SEC1) per holder's TSS account; share ids are `1..=n` in
    /// account order.
    #[serde(with = "crate::account::hex_map")]
    pub public_shares: BTreeMap<AccountId, Vec<u8>>,
}

/// A staying holder's Feldman commitments to its resharing polynomial in one attempt, endorsed
/// with its TSS account's signature (`domain::DEAL_ENDORSEMENT` over
/// `domain::deal_endorsement`): what it dealt, in a form anyone can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct Endorsed {
    /// The commitments, compressed SEC1, lowest degree first.
    #[serde(with = "crate::encoding::hex_list")]
    pub commitments: Vec<Vec<u8>>,
    /// The holder's sr25519 signature (64 bytes).
    #[serde(with = "crate::encoding::hex_vec")]
    pub endorsement: Vec<u8>,
}

/// Every staying holder's endorsed commitments of one reshare, by TSS account: the new public
/// shares follow from them.
pub type Dealt = BTreeMap<AccountId, Endorsed>;

impl Sharing {
    /// The digest that names this sharing.
    pub fn digest(&self) -> [u8; 32] {
        Self::digest_of(self.threshold, &self.public_shares)
    }

    /// SHA-256 over a sharing's threshold and public shares (for a sharing held in parts).
    pub fn digest_of(threshold: u32, public_shares: &BTreeMap<AccountId, Vec<u8>>) -> [u8; 32] {
        let bytes = crate::envelope::encode(&(threshold, public_shares));
        Sha256::digest(bytes).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_names_threshold_and_shares() {
        let shares: BTreeMap<AccountId, Vec<u8>> = [(AccountId([1; 32]), alloc::vec![2; 33])].into();
        let sharing = Sharing {
            threshold: 1,
            public_shares: shares.clone(),
        };
        assert_eq!(sharing.digest(), Sharing::digest_of(1, &shares));
        assert_ne!(sharing.digest(), Sharing::digest_of(2, &shares));
        assert_ne!(sharing.digest(), Sharing::digest_of(1, &BTreeMap::new()));
    }
}
