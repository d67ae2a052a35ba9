//! The deterministic BIP32 path of an account's child key. Anyone derives the child verifying
//! key from the parent key and this path (`keywheel-mpc::child_key`), and the chain's registry
//! shows it, so both use this one definition.

use sha2::{Digest, Sha256};

use crate::account::AccountId;
use crate::domain;

/// Non-hardened levels in an account's path.
pub const ACCOUNT_PATH_DEPTH: usize = 4;

/// Four non-hardened indices from `SHA-256("keywheel/account" || account)`.
pub fn account_path(account: &AccountId) -> [u32; ACCOUNT_PATH_DEPTH] {
    let digest = Sha256::new()
        .chain_update(domain::ACCOUNT_PATH)
        .chain_update(account.0)
        .finalize();
    let mut path = [0u32; ACCOUNT_PATH_DEPTH];
    for (index, chunk) in path.iter_mut().zip(digest.chunks_exact(4)) {
        *index = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) & 0x7fff_ffff;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_deterministic_non_hardened_and_distinct() {
        let a = account_path(&AccountId([1; 32]));
        assert_eq!(a, account_path(&AccountId([1; 32])));
        assert_ne!(a, account_path(&AccountId([2; 32])));
        assert!(a.iter().all(|i| *i < 0x8000_0000));
    }
}
