//! keywheel's cryptographic core: the threshold protocols of the network behind a small typed
//! API that knows nothing about sockets or chains.
//!
//! - [`reshare`]: our own attributable resharing (every fault names its offender with evidence);
//! - [`ops`]: jumpstart (DKG), reshare (with the committee's setup run concurrently) and signing, per party;
//! - [`backend`]: the signing backends (synedrion, DKLs23) behind one trait, and a member's key of either;
//! - [`child_key`]: BIP32 child keys and Ethereum addresses derived from the parent key alone;
//! - [`driver`]: runs one protocol session over a pair of channels, with a deadline;
//! - [`evidence`]: serialisable, third-party-verifiable evidence of faults;
//! - [`proof`]: the Schnorr proof of share knowledge that confirmations carry;
//! - [`seal`]: subshares sealed to a new member's per-attempt key, and their public opening;
//! - [`dkls`]: the DKLs23 signing path (pairwise setup and signing on keywheel's own shares).
//!
//! Without its `std` feature the crate is `no_std` + `alloc` and holds only what a runtime needs
//! to judge a reshare: the protocols' types, evidence and its verification, share proofs and
//! sharings. The driver, the operations and the in-process network need `std` (tokio).
//!
//! Everything is generic over synedrion's `SchemeParams`: [`ProductionParams`] (secp256k1,
//! 112-bit Paillier) in the shipped binary; synedrion's `dev::TestParams` only inside tests.

#![no_std]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

/// What `std`'s prelude gives and `no_std` does not: every module imports it.
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

#[cfg(feature = "std")]
pub mod backend;
pub mod child_key;
pub mod curve;
#[cfg(any(test, feature = "test-utils"))]
pub mod dealer;
#[cfg(feature = "std")]
pub mod dkls;
#[cfg(feature = "std")]
pub mod driver;
pub mod error;
pub mod evidence;
pub mod identity;
pub mod kind;
#[cfg(feature = "std")]
pub mod local_net;
#[cfg(any(test, feature = "misbehave"))]
pub mod misbehave;
#[cfg(feature = "std")]
pub mod ops;
pub mod proof;
pub mod reshare;
pub mod seal;
pub mod share;

pub use error::MpcError;
pub use identity::{AccountId, PartySignature, PartySigner, ProtocolSessionParams};
pub use share::{ParentKeyShare, PublicSharing, ThresholdShare};

/// The scheme parameters of the shipped network: secp256k1 with 112-bit-security Paillier.
pub type ProductionParams = synedrion::k256::ProductionParams112;

pub use synedrion;

#[cfg(test)]
mod tests;
