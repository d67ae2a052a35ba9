//! keywheel's chain rules: the single source of truth for who holds the parent network key.
//!
//! A pure, deterministic state machine (`no_std` + `alloc`): no clock, no IO. The driver (the
//! dev node, later a FRAME pallet) feeds it blocks with their randomness ([`Chain::on_block`])
//! and signed calls ([`Chain::apply`]), and passes in the cryptography it cannot do itself
//! through [`Crypto`]. Every call either succeeds with its events or fails with a typed
//! [`ChainError`] and changes nothing.
//!
//! - [`staking`]: balances, bond, validate, chill, unbond, withdraw;
//! - [`committee`]: who leaves and who joins at a reshare, chosen with chain randomness;
//! - [`reshare`]: jumpstart, sessions, confirmations, offence and silence reports, aborts,
//!   slashing and retries;
//! - [`registry`]: accounts registered for signing and their BIP32 child paths;
//! - `mpc_crypto` (feature `mpc-crypto`): [`Crypto`] done for real with `keywheel-mpc`.

#![no_std]

extern crate alloc;

pub mod call;
pub mod committee;
pub mod crypto;
pub mod error;
pub mod event;
#[cfg(feature = "mpc-crypto")]
pub mod mpc_crypto;
pub mod registry;
pub mod reshare;
pub mod rules;
pub mod staking;
pub mod state;
pub mod store;
pub mod types;

pub use call::{Call, Origin};
pub use crypto::{Crypto, EvidenceCost, OffenceContext};
pub use error::ChainError;
pub use event::{AbortReason, Event};
pub use keywheel_primitives::domain::{
    attempt_context, proof_context, tss_declaration, DEAL_ENDORSEMENT, TSS_DECLARATION,
};
pub use keywheel_primitives::encoding::{self, to_hex};
pub use keywheel_primitives::AccountParseError;
#[cfg(feature = "mpc-crypto")]
pub use mpc_crypto::MpcCrypto;
pub use rules::{dispatch, on_block};
pub use state::{Chain, Genesis, State};
pub use store::Store;
pub use types::*;
