//! The rules' types as the pallet stores them, each with the largest encoding it can have under
//! the runtime's limits (`MaxEncodedLen`), so FRAME can bound the storage proof a block needs.
//!
//! [`Bounded`] encodes exactly as the value it holds, and its type information is that value's:
//! the storage a TSS reads is the rules' types, unchanged. The rules' types are not bounded by
//! their Rust types (`Vec`, `BTreeMap`), so each bound below follows from what the rules and the
//! pallet check before they store a value:
//!
//! - a committee, a new committee, its dealers, its public shares and its confirmations' holders
//!   have at most `Config::MaxCommitteeSize` members (`set_params` and genesis refuse larger);
//! - every point a confirmation carries (verifying key, public shares, commitments) parsed as a
//!   secp256k1 point, so it is at most [`POINT`] bytes (SEC1 uncompressed); a dealer commits to
//!   `threshold < committee_size` coefficients; an endorsement verified as a 64-byte sr25519
//!   signature; a share proof decoded exactly, with a point and a 32-byte scalar;
//! - a ledger has at most `Ledger::MAX_UNLOCKING` unlocking entries; an endpoint at most
//!   `Config::MaxEndpointLen` bytes; a registration is a path of `ACCOUNT_PATH_DEPTH` indices;
//! - a reporter's claims are distinct, each naming a participant (at most the committee) in one
//!   of three protocols' rounds `1..=ReportedRound::MAX_NUMBER`, echo or not.
//!
//! The sizes that the crypto checks imply (points, endorsements, proofs, how many deals and
//! commitments) are also checked by the pallet itself before the rules run
//! ([`confirmation_fits`]), so the bounds hold whatever `Config::Crypto` a runtime sets.
//!
//! `tests/pallet.rs` checks, after every step of every rule test, that each stored value
//! encodes within its item's bound.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use codec::{Decode, Encode, EncodeLike, Error, Input, MaxEncodedLen, Output};
use keywheel_chain::registry::ACCOUNT_PATH_DEPTH;
use keywheel_chain::{Confirmation, Ledger, Member, ReportedRound, ReshareRecord, Sharing, Silence, TssInfo};
use scale_info::TypeInfo;

/// The largest SEC1 encoding of a secp256k1 point (uncompressed).
pub const POINT: usize = 65;
/// The largest encoded share proof: postcard's one-byte lengths, a point and a 32-byte scalar.
pub const SHARE_PROOF: usize = 1 + POINT + 1 + 32;
/// An sr25519 signature.
const SIGNATURE: usize = 64;
/// The largest SCALE length prefix (`Compact<u32>`).
const LEN: usize = 5;
/// Distinct silence claims a reporter can make about one party: three protocols, echo or not,
/// `ReportedRound::MAX_NUMBER` rounds each.
const CLAIMS_PER_PARTY: usize = 3 * 2 * ReportedRound::MAX_NUMBER as usize;

/// The runtime's limits the bounds follow from (every `Config` has them: `lib.rs`). This module
/// does not import the pallet, so the pallet's storage can use it.
pub trait Limits {
    /// `Config::MaxCommitteeSize`.
    fn max_committee_size() -> u32;
    /// `Config::MaxEndpointLen`.
    fn max_endpoint_len() -> u32;
}

/// A stored value of the rules (`V`), bounded by runtime `T`'s limits; encodes as `V`.
pub struct Bounded<V, T>(V, PhantomData<T>);

impl<V, T> Bounded<V, T> {
    /// Wraps a value the rules checked (see the module's documentation for why it fits).
    pub fn new(value: V) -> Self {
        Self(value, PhantomData)
    }

    /// The value.
    pub fn into_inner(self) -> V {
        self.0
    }
}

impl<V, T> Deref for Bounded<V, T> {
    type Target = V;
    fn deref(&self) -> &V {
        &self.0
    }
}

impl<V, T> DerefMut for Bounded<V, T> {
    fn deref_mut(&mut self) -> &mut V {
        &mut self.0
    }
}

impl<V: Default, T> Default for Bounded<V, T> {
    fn default() -> Self {
        Self::new(V::default())
    }
}

impl<V: Clone, T> Clone for Bounded<V, T> {
    fn clone(&self) -> Self {
        Self::new(self.0.clone())
    }
}

impl<V: core::fmt::Debug, T> core::fmt::Debug for Bounded<V, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl<V: Encode, T> Encode for Bounded<V, T> {
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }
    fn encode_to<O: Output + ?Sized>(&self, dest: &mut O) {
        self.0.encode_to(dest)
    }
}

impl<V: Encode, T> EncodeLike for Bounded<V, T> {}

impl<V: Decode, T> Decode for Bounded<V, T> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, Error> {
        V::decode(input).map(Self::new)
    }
}

impl<V: TypeInfo + 'static, T: 'static> TypeInfo for Bounded<V, T> {
    type Identity = V;
    fn type_info() -> scale_info::Type {
        V::type_info()
    }
}

/// Whether `confirmation` fits the bound of a stored confirmation, checked by its parts: at
/// most a committee of holders and of dealers, points of at most [`POINT`] bytes, fewer
/// commitments per dealer than a committee, endorsements of [`SIGNATURE`] bytes and a proof of
/// at most [`SHARE_PROOF`] bytes.
pub fn confirmation_fits<T: Limits>(confirmation: &Confirmation) -> bool {
    let n = committee::<T>();
    confirmation.verifying_key.len() <= POINT
        && confirmation.public_shares.len() <= n
        && confirmation.public_shares.values().all(|share| share.len() <= POINT)
        && confirmation.proof.len() <= SHARE_PROOF
        && confirmation.dealt.len() <= n
        && confirmation.dealt.values().all(|endorsed| {
            endorsed.commitments.len() < n
                && endorsed.commitments.iter().all(|c| c.len() <= POINT)
                && endorsed.endorsement.len() == SIGNATURE
        })
}

fn committee<T: Limits>() -> usize {
    T::max_committee_size() as usize
}

/// A map of committee members to points. (Sizes saturate: a `usize` is 32 bits in Wasm.)
fn shares<T: Limits>() -> usize {
    LEN.saturating_add(committee::<T>().saturating_mul(32 + LEN + POINT))
}

fn members<T: Limits>() -> usize {
    LEN.saturating_add(committee::<T>().saturating_mul(Member::max_encoded_len()))
}

impl<T: Limits> MaxEncodedLen for Bounded<Vec<Member>, T> {
    fn max_encoded_len() -> usize {
        members::<T>()
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<Sharing, T> {
    fn max_encoded_len() -> usize {
        shares::<T>().saturating_add(4)
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<Vec<u8>, T> {
    /// The parent key: a point.
    fn max_encoded_len() -> usize {
        LEN + POINT
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<ReshareRecord, T> {
    fn max_encoded_len() -> usize {
        let accounts = LEN.saturating_add(committee::<T>().saturating_mul(32));
        // kind, session, attempt, first attempt; staying, leaving, new committee; threshold,
        // started, deadline.
        (1 + 4 + 4 + 4 + 4 + 8 + 8usize)
            .saturating_add(accounts.saturating_mul(2))
            .saturating_add(members::<T>())
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<Confirmation, T> {
    fn max_encoded_len() -> usize {
        let n = committee::<T>();
        let endorsed = LEN
            .saturating_add(n.saturating_mul(LEN + POINT))
            .saturating_add(LEN + SIGNATURE);
        let dealt = LEN.saturating_add(n.saturating_mul(endorsed.saturating_add(32)));
        (LEN + POINT + LEN + SHARE_PROOF)
            .saturating_add(shares::<T>())
            .saturating_add(dealt)
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<Ledger, T> {
    fn max_encoded_len() -> usize {
        16 + LEN + Ledger::MAX_UNLOCKING * (16 + 8)
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<TssInfo, T> {
    fn max_encoded_len() -> usize {
        (32 + LEN + 32usize).saturating_add(T::max_endpoint_len() as usize)
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<BTreeSet<Silence>, T> {
    fn max_encoded_len() -> usize {
        LEN.saturating_add(
            committee::<T>()
                .saturating_mul(CLAIMS_PER_PARTY)
                .saturating_mul(Silence::max_encoded_len()),
        )
    }
}

impl<T: Limits> MaxEncodedLen for Bounded<Vec<u32>, T> {
    /// A registration's BIP32 path.
    fn max_encoded_len() -> usize {
        LEN + ACCOUNT_PATH_DEPTH * 4
    }
}
