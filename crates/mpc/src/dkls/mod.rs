//! The DKLs23 signing path (OT-based threshold ECDSA, no Paillier), on the `dkls23` crate.
//!
//! keywheel's own resharing still moves the parent key between committees and produces each
//! member's Shamir share ([`ThresholdShare`](crate::ThresholdShare)); DKLs23 only replaces what
//! a committee needs to *sign*:
//!
//! - [`pair_setup`]: the pairwise setup among a committee (both directions of the two-party
//!   multiplication's oblivious transfer, and the pair's zero-share seed), run after a reshare
//!   for the pairs that involve a joiner;
//! - [`key_share`]: a member's [`DklsKeyShare`](key_share::DklsKeyShare): its Shamir share and
//!   one [`PairState`](pair_setup::PairState) per other member, from which it builds the
//!   library's `Party` for one signing;
//! - [`sign`]: one signing among exactly `threshold` signers, round by round, for a child key;
//! - [`protocol`]: both as manul protocols, which [`crate::ops::dkls_pair_setup`] and
//!   [`crate::ops::dkls_sign`] run through the session driver.
//!
//! Values cross between keywheel's curve stack (k256 0.13, synedrion's) and the library's (k256
//! 0.14) as bytes ([`convert`]). Everything here needs `std` (the library does).
//!
//! What the library can and cannot prove about a failed signing is in `docs/architecture.md`
//! ("The DKLs23 backend"): its aborts name a counterparty locally, but nothing here is evidence a
//! third party can check, so the chain never punishes on it.

pub mod convert;
pub mod key_share;
pub mod pair_setup;
pub mod protocol;
pub mod sign;

pub use convert::{Curve, P};
pub use key_share::DklsKeyShare;
pub use pair_setup::{PairSetup, PairSetupMessage, PairState};
pub use sign::{SignFault, SignRequest, Signing};
