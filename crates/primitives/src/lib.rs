//! keywheel's shared vocabulary, used by the protocols (`keywheel-mpc`), the chain rules
//! (`keywheel-chain`) and everything that drives them. `no_std` + `alloc`.
//!
//! - [`account`]: [`AccountId`], the one 32-byte identity: chain account and protocol party;
//! - [`domain`]: every domain-separation tag and context constructor;
//! - [`child_path`]: the deterministic BIP32 path of an account's child key;
//! - [`envelope`]: the exact, canonical decoder every versioned binary envelope goes through;
//! - [`sharing`]: [`Sharing`], the public side of a sharing of the parent key, and its digest;
//! - [`encoding`]: `0x` hex in human-readable forms, plain bytes in binary ones;
//! - [`signature`] (feature `sr25519`): an account's sr25519 signatures and their verification.

#![no_std]

extern crate alloc;

pub mod account;
pub mod child_path;
pub mod domain;
pub mod encoding;
pub mod envelope;
pub mod sharing;
#[cfg(feature = "sr25519")]
pub mod signature;

/// An amount of the chain's token.
pub type Balance = u128;
/// A block height.
pub type BlockNumber = u64;
/// A session number (`block / session_length`).
pub type SessionIndex = u32;
/// The number of a reshare attempt within its session, from 1.
pub type AttemptIndex = u32;

pub use account::{AccountId, AccountParseError};
pub use child_path::{account_path, ACCOUNT_PATH_DEPTH};
pub use sharing::{Dealt, Endorsed, Sharing};
#[cfg(feature = "sr25519")]
pub use signature::PartySignature;
