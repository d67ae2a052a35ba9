//! Child keys: BIP32 non-hardened derivation from the parent verifying key alone (no secret
//! involved), the deterministic path of an account, and Ethereum-style addresses.

use crate::prelude::*;
use ecdsa::VerifyingKey;
use sha3::{Digest, Keccak256};
use synedrion::bip32::{ChildNumber, DerivationPath};
use synedrion::{DeriveChildKey, PublicTweakable, SchemeParams};

use crate::error::MpcError;
use crate::identity::AccountId;

/// A recoverable ECDSA signature made for a child key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSignature {
    /// `r`, big-endian.
    pub r: Vec<u8>,
    /// `s`, big-endian, normalised to the lower half.
    pub s: Vec<u8>,
    /// Recovery id (0 or 1; add 27 for Ethereum's `v`).
    pub v: u8,
    /// The child verifying key, compressed SEC1.
    pub child_key: Vec<u8>,
}

/// The BIP32 path of an account's child key (`keywheel_primitives::account_path`, four
/// non-hardened indices anyone can recompute).
pub fn account_path(account: &AccountId) -> DerivationPath {
    let mut path = DerivationPath::default();
    for index in keywheel_primitives::account_path(account) {
        path.push(ChildNumber::new(index, false).expect("index below 2^31 is a valid non-hardened child"));
    }
    path
}

/// Derives the child verifying key of `parent` at `path` (public derivation only).
pub fn child_verifying_key<P: SchemeParams>(
    parent: &VerifyingKey<P::Curve>,
    path: &DerivationPath,
) -> Result<VerifyingKey<P::Curve>, MpcError>
where
    VerifyingKey<P::Curve>: PublicTweakable,
{
    if path.iter().any(|c| c.is_hardened()) {
        return Err(MpcError::Derivation(
            "hardened steps need the secret key; keywheel derives non-hardened paths only".into(),
        ));
    }
    parent
        .derive_verifying_key_bip32(path)
        .map_err(|e| MpcError::Derivation(e.to_string()))
}

/// The Ethereum address of a secp256k1 key: the last 20 bytes of keccak256 of its
/// uncompressed encoding (without the 0x04 prefix).
pub fn eth_address(key: &k256::ecdsa::VerifyingKey) -> [u8; 20] {
    let uncompressed = key.to_encoded_point(false);
    let hash = Keccak256::digest(&uncompressed.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// The EIP-55 checksummed hex form of an address.
pub fn eth_address_string(address: &[u8; 20]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductionParams as P;

    #[test]
    fn account_path_is_deterministic_non_hardened_and_distinct() {
        let a = account_path(&AccountId([0xa1; 32]));
        assert_eq!(a, account_path(&AccountId([0xa1; 32])));
        assert_ne!(a, account_path(&AccountId([0xb0; 32])));
        assert_eq!(a.iter().count(), keywheel_primitives::ACCOUNT_PATH_DEPTH);
        assert!(a.iter().all(|c| !c.is_hardened()));
    }

    #[test]
    fn eth_address_matches_a_known_vector() {
        // Private key 1: its address is well known.
        let sk = k256::ecdsa::SigningKey::from_slice(&[[0u8; 31].as_slice(), &[1u8]].concat()).unwrap();
        let addr = eth_address(sk.verifying_key());
        assert_eq!(eth_address_string(&addr), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    }

    #[test]
    fn child_key_derivation_matches_synedrion_share_derivation() {
        use alloc::collections::BTreeSet;
        use rand_core::OsRng;
        let ids: BTreeSet<u8> = [1, 2, 3].into();
        let shares = synedrion::ThresholdKeyShare::<P, u8>::new_centralized(&mut OsRng, &ids, 2, None).unwrap();
        let share = shares.get(&1).unwrap();
        let path = account_path(&AccountId([0xc0; 32]));
        let from_parent = child_verifying_key::<P>(&share.verifying_key().unwrap(), &path).unwrap();
        let from_share = share.derive_bip32(&path).unwrap().verifying_key().unwrap();
        assert_eq!(from_parent, from_share);
        assert_ne!(from_parent, share.verifying_key().unwrap());
    }
}
