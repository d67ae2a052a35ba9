//! A member's DKLs23 signing state for one sharing: its keywheel Shamir share and its state with
//! every other member of the committee, from which it builds the library's `Party` for one
//! signing.
//!
//! The library's party index is the keywheel share id (the member's 1-based rank in the sorted
//! committee), so the Lagrange coefficients it computes are those of keywheel's sharing. Pair
//! states are kept by account, not by index: a member's index changes from one committee to the
//! next, a pair's state does not. Every signer of one sharing holds the same library session id
//! ([`DklsKeyShare::session_id`], from the sharing's public shares), so a share of another
//! sharing — a stale one restored from a backup — is refused by its co-signers' first check.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use dkls23::protocols::derivation::DerivData;
use dkls23::protocols::{Parameters, PartyIndex};
use dkls23::utilities::zero_shares::{SeedPair, ZeroShare};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use keywheel_primitives::domain::{DKLS_SHARING, PARENT_CHAIN_CODE};
use keywheel_primitives::Dealt;

use super::convert::Party;
use super::convert::P;
use super::convert::{self, DklsPoint};
use super::pair_setup::PairState;
use crate::curve::{point_to_bytes, scalar_from_bytes, scalar_to_bytes};
use crate::error::MpcError;
use crate::identity::AccountId;
use crate::share::{PublicSharing, ThresholdShare};

/// The counterparties `me` runs the pair setup with when the committee becomes `committee`
/// after `previous` (`None`: no earlier committee shares state with it, as at jumpstart or when
/// a network switches backends): every pair that involves a member not in `previous`. Pairs of
/// two continuing members keep their state — sound because the setup does not depend on the key
/// (the library itself reuses one pair's state across all its signings and child keys), and
/// every signing binds the sharing's session id, so the new shares, not the pair state, are
/// what separate one committee's signing from the last.
pub fn counterparties_to_set_up(
    me: &AccountId,
    previous: Option<&BTreeSet<AccountId>>,
    committee: &BTreeSet<AccountId>,
) -> BTreeSet<AccountId> {
    let joined = |member: &AccountId| previous.is_none_or(|previous| !previous.contains(member));
    committee
        .iter()
        .filter(|other| *other != me && (joined(me) || joined(other)))
        .copied()
        .collect()
}

/// Version of the serialized [`DklsKeyShare`] envelope: after the two synedrion key-share
/// formats (1 and 2), so one decoder tells the backends apart by the version alone.
pub const DKLS_SHARE_FORMAT_VERSION: u16 = 3;

/// A member's DKLs23 signing state for one sharing. Secret; never printed.
pub struct DklsKeyShare {
    share: ThresholdShare<P>,
    pairs: BTreeMap<AccountId, PairState>,
    dealt: Dealt,
}

/// The byte form of a [`DklsKeyShare`] (secret: the keystore seals it).
#[derive(Serialize, Deserialize)]
struct Envelope {
    version: u16,
    owner: AccountId,
    threshold: u32,
    secret: Vec<u8>,
    public_shares: BTreeMap<AccountId, Vec<u8>>,
    pairs: BTreeMap<AccountId, PairState>,
    dealt: Dealt,
}

impl Drop for Envelope {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl fmt::Debug for DklsKeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DklsKeyShare")
            .field("owner", &self.share.owner())
            .field("counterparties", &self.pairs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl DklsKeyShare {
    /// Joins a member's share with its pair states. A pair may be missing (its setup failed, or
    /// the library demanded it be dropped): this member then cannot sign together with that
    /// counterparty ([`Self::missing_pairs`]), which a coordinator avoids; a reshare never fails
    /// for it. A pair with a non-member, a threshold below 2 (the library signs with at least
    /// two) or a committee over 255 is an error.
    pub fn new(share: ThresholdShare<P>, mut pairs: BTreeMap<AccountId, PairState>) -> Result<Self, MpcError> {
        let me = share.owner();
        let committee: BTreeSet<AccountId> = share.public().share_ids.keys().copied().collect();
        let threshold = share.public().threshold;
        if threshold < 2 {
            return Err(MpcError::InvalidInput(format!(
                "DKLs23 signs with at least 2 signers; this sharing's threshold is {threshold}"
            )));
        }
        if committee.len() > usize::from(u8::MAX) {
            return Err(MpcError::InvalidInput(format!(
                "DKLs23 numbers at most 255 members; this committee has {}",
                committee.len()
            )));
        }
        if let Some(stranger) = pairs.keys().find(|other| !committee.contains(other) || **other == me) {
            return Err(MpcError::InvalidInput(format!(
                "a pair state with {stranger:?}, who is not another member of this committee"
            )));
        }
        for pair in pairs.values_mut() {
            pair.check()?;
        }
        Ok(Self {
            share,
            pairs,
            dealt: Dealt::new(),
        })
    }

    /// The same state, with what its share was dealt from (what a confirmation carries).
    pub fn with_dealt(mut self, dealt: Dealt) -> Self {
        self.dealt = dealt;
        self
    }

    /// What this member's share was dealt from.
    pub fn dealt(&self) -> &Dealt {
        &self.dealt
    }

    /// The same state without the pair with `counterparty` (the library demanded it be dropped:
    /// see [`crate::ops::Signed::drop_pair`]).
    pub fn without_pair(&self, counterparty: &AccountId) -> Result<Self, MpcError> {
        let mut pairs = self.pairs.clone();
        pairs.remove(counterparty);
        Ok(Self::new(self.share.clone(), pairs)?.with_dealt(self.dealt.clone()))
    }

    /// The other members this one holds no pair state with, so cannot sign together with.
    pub fn missing_pairs(&self) -> BTreeSet<AccountId> {
        let me = self.share.owner();
        self.share
            .public()
            .share_ids
            .keys()
            .filter(|m| **m != me && !self.pairs.contains_key(m))
            .copied()
            .collect()
    }

    /// Serializes into the versioned envelope (the bytes hold secrets: seal them).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, MpcError> {
        let envelope = Envelope {
            version: DKLS_SHARE_FORMAT_VERSION,
            owner: self.share.owner(),
            threshold: self.share.public().threshold,
            secret: scalar_to_bytes::<P>(self.share.secret()),
            public_shares: self.share.public().encoded_public_shares(),
            pairs: self.pairs.clone(),
            dealt: self.dealt.clone(),
        };
        postcard::to_allocvec(&envelope)
            .map(Zeroizing::new)
            .map_err(MpcError::encode)
    }

    /// Parses the versioned envelope, refusing another version, a share that does not match its
    /// public key share, and damaged pair states.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut envelope: Envelope =
            keywheel_primitives::envelope::decode_versioned_exact(bytes, DKLS_SHARE_FORMAT_VERSION, usize::MAX)
                .map_err(|e| MpcError::Decode(format!("DKLs23 key share envelope: {e}")))?;
        let public = PublicSharing::<P>::from_encoded(envelope.threshold, &envelope.public_shares)?;
        let secret = Zeroizing::new(
            scalar_from_bytes::<P>(&envelope.secret)
                .ok_or_else(|| MpcError::Decode("DKLs23 key share: the secret is not a scalar".into()))?,
        );
        let share = ThresholdShare::new(envelope.owner, *secret, public)?;
        let pairs = core::mem::take(&mut envelope.pairs);
        let dealt = core::mem::take(&mut envelope.dealt);
        Ok(Self::new(share, pairs)?.with_dealt(dealt))
    }

    /// The keywheel share this state signs with.
    pub fn share(&self) -> &ThresholdShare<P> {
        &self.share
    }

    /// This member's pair states whose counterparty stays in `committee`: what it carries into
    /// the next committee's state (the rest is dropped, and zeroized).
    pub fn carried_pairs(&self, committee: &BTreeSet<AccountId>) -> BTreeMap<AccountId, PairState> {
        self.pairs
            .iter()
            .filter(|(other, _)| committee.contains(other))
            .map(|(other, pair)| (*other, pair.clone()))
            .collect()
    }

    /// The library session id of this sharing: the same for every member of it, and different
    /// for any other sharing of the same key.
    pub fn session_id(&self) -> Vec<u8> {
        let public = self.share.public();
        let mut hash = Sha256::new()
            .chain_update(DKLS_SHARING)
            .chain_update(public.threshold.to_be_bytes());
        for (holder, point) in &public.public_shares {
            hash.update(holder.0);
            hash.update(point_to_bytes::<P>(point));
        }
        hash.finalize().to_vec()
    }

    /// The library index of `member`: its keywheel share id.
    pub(crate) fn index_of(&self, member: &AccountId) -> Result<PartyIndex, MpcError> {
        let rank = self
            .share
            .public()
            .share_ids
            .keys()
            .position(|m| m == member)
            .ok_or_else(|| MpcError::InvalidInput(format!("{member:?} is not a member of this committee")))?;
        u8::try_from(rank + 1)
            .ok()
            .and_then(|i| PartyIndex::new(i).ok())
            .ok_or_else(|| MpcError::InvalidInput("a committee of more than 255".into()))
    }

    /// The parent key's derivation data (depth 0): the share, the key and the chain code every
    /// backend derives child keys with (SHA-256 of [`PARENT_CHAIN_CODE`] and the key).
    fn parent_derivation(&self) -> Result<DerivData<super::convert::Curve>, MpcError> {
        let pk: DklsPoint = convert::point(&self.share.verifying_key_point())?;
        let chain_code: [u8; 32] = Sha256::new()
            .chain_update(PARENT_CHAIN_CODE)
            .chain_update(point_to_bytes::<P>(&self.share.verifying_key_point()))
            .finalize()
            .into();
        Ok(DerivData {
            depth: 0,
            child_number: 0,
            parent_fingerprint: [0; 4],
            poly_point: convert::scalar(self.share.secret())?,
            pk,
            chain_code,
        })
    }

    /// The derivation data of the child key at `path` (non-hardened indices).
    fn derivation(&self, path: &[u32]) -> Result<DerivData<super::convert::Curve>, MpcError> {
        let mut data = self.parent_derivation()?;
        for index in path {
            data = data
                .derive_child(*index)
                .map_err(|e| MpcError::Derivation(e.description))?;
        }
        Ok(data)
    }

    /// The child verifying key at `path` (compressed SEC1), as the library derives it.
    pub fn child_key(&self, path: &[u32]) -> Result<Vec<u8>, MpcError> {
        Ok(convert::point_to_compressed(&self.derivation(path)?.pk))
    }

    /// The library's party for one signing among `signers` (this member included) with the
    /// child key at `path`: only the signers' pair states are copied in.
    pub(crate) fn party(&self, signers: &BTreeSet<AccountId>, path: &[u32]) -> Result<Party, MpcError> {
        let me = self.share.owner();
        if !signers.contains(&me) {
            return Err(MpcError::InvalidInput("this member is not among the signers".into()));
        }
        let public = self.share.public();
        let n = u8::try_from(public.share_ids.len())
            .map_err(|_| MpcError::InvalidInput("a committee of more than 255".into()))?;
        let t = u8::try_from(public.threshold).map_err(|_| MpcError::InvalidInput("a threshold over 255".into()))?;
        let parameters =
            Parameters::new(t, n).map_err(|_| MpcError::InvalidInput(format!("threshold {t} of {n} for DKLs23")))?;
        let my_index = self.index_of(&me)?;
        let derivation = self.derivation(path)?;
        let mut seeds = Vec::new();
        let mut mul_senders = BTreeMap::new();
        let mut mul_receivers = BTreeMap::new();
        for other in signers.iter().filter(|s| **s != me) {
            let index = self.index_of(other)?;
            let pair = self
                .pairs
                .get(other)
                .ok_or_else(|| MpcError::InvalidInput(format!("no pair state with {other:?}")))?;
            seeds.push(SeedPair {
                lowest_index: my_index < index,
                index_counterparty: index,
                seed: pair.zero_seed,
            });
            mul_senders.insert(index, pair.sender.clone());
            mul_receivers.insert(index, pair.receiver.clone());
        }
        Ok(Party {
            parameters,
            party_index: my_index,
            session_id: self.session_id(),
            poly_point: derivation.poly_point,
            pk: derivation.pk,
            zero_share: ZeroShare::initialize(seeds),
            mul_senders,
            mul_receivers,
            derivation_data: derivation,
            address: String::new(),
        })
    }
}
