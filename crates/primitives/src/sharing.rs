//! The public side of a sharing of the parent key, and the digest that names it. The chain
//! records the current [`Sharing`]; a TSS's keystore slot holds a share of one, and the two are
//! compared by digest.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::AccountId;

/// The public side of a sharing of the parent key, as confirmed by its holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sharing {
    /// Threshold of the sharing.
    pub threshold: u32,
    /// Public key share (compressed SEC1) per holder's TSS account; share ids are `1..=n` in
    /// account order.
    #[serde(with = "crate::account::hex_map")]
    pub public_shares: BTreeMap<AccountId, Vec<u8>>,
}

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
