//! Accounts registered for signing, and the BIP32 path of each.

use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::types::AccountId;

/// Non-hardened levels in an account's path.
pub const ACCOUNT_PATH_DEPTH: usize = 4;

/// The deterministic BIP32 path of an account: four non-hardened indices from
/// `SHA-256("keywheel/account" || account)`. The same as `keywheel-mpc`'s `account_path`, so
/// anyone derives the child verifying key from the parent key and this path.
pub fn account_path(account: &AccountId) -> Vec<u32> {
    let digest = Sha256::new()
        .chain_update(b"keywheel/account")
        .chain_update(account.0)
        .finalize();
    digest
        .chunks_exact(4)
        .take(ACCOUNT_PATH_DEPTH)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) & 0x7fff_ffff)
        .collect()
}
