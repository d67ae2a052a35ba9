//! keywheel's accounts and the runtime's: both are 32-byte sr25519 public keys.

/// keywheel's account (an sr25519 public key) as the runtime's `AccountId32`, and back.
pub fn to_runtime(account: keywheel_chain::AccountId) -> sp_runtime::AccountId32 {
    sp_runtime::AccountId32::new(account.0)
}

/// The runtime's `AccountId32` as keywheel's account.
pub fn from_runtime(account: &sp_runtime::AccountId32) -> keywheel_chain::AccountId {
    keywheel_chain::AccountId(*<sp_runtime::AccountId32 as AsRef<[u8; 32]>>::as_ref(account))
}
