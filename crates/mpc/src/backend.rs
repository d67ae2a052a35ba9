//! The signing backend: what a committee runs beside keywheel's resharing so that it can sign,
//! what each member keeps, and how it signs. keywheel's resharing moves the shares whatever the
//! backend; only the committee's setup (synedrion's AuxGen, or DKLs23's pairwise setup) and the
//! signing protocol differ.
//!
//! [`SigningBackend`] is implemented by [`Synedrion`] (CGGMP'24 through synedrion: Paillier,
//! attributable signing) and [`Dkls23`] (OT-based, milliseconds, unattributable aborts). A
//! member's key is a [`MemberKey`] of either, so a network switches backends at a reshare: the
//! old committee's shares are resharded as always and the new committee runs the new backend's
//! setup ([`reshare_on`]); the parent key does not change.

use crate::prelude::*;
use core::fmt;
use core::future::Future;
use core::str::FromStr;
use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use synedrion::bip32::DerivationPath;
use synedrion::AuxInfo;
use zeroize::Zeroizing;

use keywheel_primitives::Dealt;

use crate::dkls::{DklsKeyShare, PairState};
use crate::driver::Outcome;
use crate::driver::ProtocolKind;
use crate::error::MpcError;
use crate::identity::{AccountId, PartySigner};
use crate::ops::{self, Attempt, Network};
use crate::reshare::{Reshare, ReshareInputs, ReshareProtocol};
use crate::share::{ParentKeyShare, ThresholdShare};
use crate::ProductionParams as P;
use manul::protocol::EntryPoint;
use rand_core::CryptoRngCore;

/// Which backend a committee signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// synedrion's CGGMP'24 (AuxGen beside each reshare; attributable signing).
    Synedrion,
    /// DKLs23 on the `dkls23` crate (pairwise setup beside each reshare; unattributable aborts).
    Dkls23,
}

impl BackendKind {
    /// The name in configuration files and command lines.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Synedrion => "synedrion",
            Self::Dkls23 => "dkls23",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = MpcError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "synedrion" => Ok(Self::Synedrion),
            "dkls23" => Ok(Self::Dkls23),
            other => Err(MpcError::InvalidInput(format!(
                "unknown signing backend {other:?}: expected \"synedrion\" or \"dkls23\""
            ))),
        }
    }
}

/// What a committee member keeps of one sharing: its share (and what it was dealt from) with
/// what its backend signs with. Secret; never printed.
pub enum MemberKey {
    /// synedrion: the share with the committee's AuxGen output.
    Synedrion(Box<ParentKeyShare<P>>),
    /// DKLs23: the share with this member's pair states.
    Dkls23(Arc<DklsKeyShare>),
}

impl fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberKey")
            .field("backend", &self.kind())
            .field("owner", &self.share().owner())
            .finish_non_exhaustive()
    }
}

impl MemberKey {
    /// The backend this key signs with.
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::Synedrion(_) => BackendKind::Synedrion,
            Self::Dkls23(_) => BackendKind::Dkls23,
        }
    }

    /// keywheel's share (what the next reshare starts from, whatever the backend).
    pub fn share(&self) -> &ThresholdShare<P> {
        match self {
            Self::Synedrion(key) => &key.share,
            Self::Dkls23(key) => key.share(),
        }
    }

    /// What the share was dealt from (what a confirmation carries).
    pub fn dealt(&self) -> &Dealt {
        match self {
            Self::Synedrion(key) => &key.dealt,
            Self::Dkls23(key) => key.dealt(),
        }
    }

    /// The parent verifying key, compressed SEC1.
    pub fn verifying_key_bytes(&self) -> Vec<u8> {
        crate::curve::point_to_bytes::<P>(&self.share().verifying_key_point())
    }

    /// The other members this key holds no DKLs23 pair state with, so cannot sign together
    /// with (none for a synedrion key).
    pub fn missing_pairs(&self) -> BTreeSet<AccountId> {
        match self {
            Self::Synedrion(_) => BTreeSet::new(),
            Self::Dkls23(key) => key.missing_pairs(),
        }
    }

    /// The same key without its pair state with `counterparty` (DKLs23; a synedrion key is
    /// returned unchanged): what a member keeps after the library demanded that pair be dropped.
    pub fn without_pair(&self, counterparty: &AccountId) -> Result<Self, MpcError> {
        Ok(match self {
            Self::Synedrion(key) => Self::Synedrion(key.clone()),
            Self::Dkls23(key) => Self::Dkls23(Arc::new(key.without_pair(counterparty)?)),
        })
    }

    /// The key's byte form: synedrion's key-share envelope (formats 1 and 2) or the DKLs23 one
    /// (format 3). Secret: seal it.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, MpcError> {
        match self {
            Self::Synedrion(key) => key.to_bytes(),
            Self::Dkls23(key) => key.to_bytes(),
        }
    }

    /// Reads either form back, telling them apart by the envelope's version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let version = postcard::take_from_bytes::<u16>(bytes).ok().map(|(v, _)| v);
        if version == Some(crate::dkls::key_share::DKLS_SHARE_FORMAT_VERSION) {
            return DklsKeyShare::from_bytes(bytes).map(|key| Self::Dkls23(Arc::new(key)));
        }
        ParentKeyShare::<P>::from_bytes(bytes).map(|key| Self::Synedrion(Box::new(key)))
    }
}

/// A signing backend: the setup a committee runs beside each reshare (and jumpstart), how its
/// output joins a member's share into a [`MemberKey`], and signing.
pub trait SigningBackend {
    /// Which backend this is.
    const KIND: BackendKind;
    /// What the committee's setup gives one member.
    type Setup: Send + 'static;

    /// This member's part of the setup of `committee`, beside the reshare of `attempt`.
    /// `previous` is this member's key of the sharing being replaced, if it holds one (a
    /// backend may reuse part of it).
    fn setup(
        rng: &mut rand_chacha::ChaCha20Rng,
        signer: &PartySigner,
        previous: Option<&MemberKey>,
        committee: &BTreeSet<AccountId>,
        attempt: &Attempt,
        net: &(impl Network + ?Sized),
    ) -> impl Future<Output = Result<Outcome<Self::Setup>, MpcError>> + Send;

    /// The member's key of the new sharing: its share with the setup's output (and what it
    /// keeps from `previous`).
    fn member_key(
        share: ThresholdShare<P>,
        dealt: Dealt,
        setup: Self::Setup,
        previous: Option<&MemberKey>,
    ) -> Result<MemberKey, MpcError>;
}

/// synedrion's CGGMP'24: AuxGen beside each reshare.
#[derive(Debug, Clone, Copy)]
pub struct Synedrion;

impl SigningBackend for Synedrion {
    const KIND: BackendKind = BackendKind::Synedrion;
    type Setup = AuxInfo<P, AccountId>;

    fn setup(
        rng: &mut rand_chacha::ChaCha20Rng,
        signer: &PartySigner,
        _previous: Option<&MemberKey>,
        committee: &BTreeSet<AccountId>,
        attempt: &Attempt,
        net: &(impl Network + ?Sized),
    ) -> impl Future<Output = Result<Outcome<Self::Setup>, MpcError>> + Send {
        ops::aux_gen::<P>(rng, signer, committee, attempt, net)
    }

    fn member_key(
        share: ThresholdShare<P>,
        dealt: Dealt,
        setup: Self::Setup,
        _previous: Option<&MemberKey>,
    ) -> Result<MemberKey, MpcError> {
        Ok(MemberKey::Synedrion(Box::new(
            ParentKeyShare::new(share, setup)?.with_dealt(dealt),
        )))
    }
}

/// DKLs23: the pairwise setup beside each reshare, for the pairs that involve a member new to
/// the committee (all pairs when the previous key is another backend's, or there is none).
#[derive(Debug, Clone, Copy)]
pub struct Dkls23;

/// The committee `previous` was a DKLs23 key of, whose pairs carry over.
fn previous_dkls_committee(previous: Option<&MemberKey>) -> Option<BTreeSet<AccountId>> {
    match previous {
        Some(MemberKey::Dkls23(key)) => Some(key.share().public().share_ids.keys().copied().collect()),
        _ => None,
    }
}

impl SigningBackend for Dkls23 {
    const KIND: BackendKind = BackendKind::Dkls23;
    type Setup = std::collections::BTreeMap<AccountId, PairState>;

    fn setup(
        rng: &mut rand_chacha::ChaCha20Rng,
        signer: &PartySigner,
        previous: Option<&MemberKey>,
        committee: &BTreeSet<AccountId>,
        attempt: &Attempt,
        net: &(impl Network + ?Sized),
    ) -> impl Future<Output = Result<Outcome<Self::Setup>, MpcError>> + Send {
        let before = previous_dkls_committee(previous);
        let with = crate::dkls::key_share::counterparties_to_set_up(&signer.account(), before.as_ref(), committee);
        async move {
            // A pair's failure never fails the reshare: the chain cannot judge it (a pair's
            // messages are private, so a withheld one has a single witness), and an honest
            // member must not go unconfirmed for it. The member keeps its share with the pairs
            // that finished and cannot sign with the others' counterparties (see
            // `DklsKeyShare::missing_pairs`).
            let result = ops::dkls_pair_setup(rng, signer, with, attempt, net).await;
            if !result.offenders.is_empty() {
                let named: Vec<AccountId> = result.offenders.iter().map(|o| o.party).collect();
                tracing::warn!(
                    ?named,
                    "DKLs23 pairs with these members did not finish; the new key lacks them"
                );
            }
            Ok(Outcome::Done(result.pairs))
        }
    }

    fn member_key(
        share: ThresholdShare<P>,
        dealt: Dealt,
        setup: Self::Setup,
        previous: Option<&MemberKey>,
    ) -> Result<MemberKey, MpcError> {
        let committee: BTreeSet<AccountId> = share.public().share_ids.keys().copied().collect();
        let mut pairs = match previous {
            Some(MemberKey::Dkls23(key)) => key.carried_pairs(&committee),
            _ => Default::default(),
        };
        pairs.extend(setup);
        Ok(MemberKey::Dkls23(Arc::new(
            DklsKeyShare::new(share, pairs)?.with_dealt(dealt),
        )))
    }
}

/// [`ops::jumpstart`] on the signing backend `B`: the key as always, `B`'s setup of the committee
/// beside it.
pub async fn jumpstart_on<B: SigningBackend>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    committee: &BTreeSet<AccountId>,
    threshold: u32,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<MemberKey>, MpcError> {
    ops::check_jumpstart(&signer.account(), committee, threshold)?;
    let (mut setup_rng, mut key_rng) = (ops::child_rng(rng), ops::child_rng(rng));
    let (setup, key) = tokio::join!(
        B::setup(&mut setup_rng, signer, None, committee, attempt, net),
        ops::jumpstart_key::<P>(&mut key_rng, signer, committee, threshold, attempt, net)
    );
    ops::combine(setup, key, |setup, output| {
        let output = output.ok_or_else(|| ops::local("a committee member got no share"))?;
        B::member_key(output.share, output.dealt, setup, None)
    })
}

/// [`ops::reshare`] on the signing backend `B`: keywheel's resharing and, for members of the new
/// committee, `B`'s setup of it, concurrently. `previous` is this member's key of the sharing
/// being replaced (any backend: a network switches backends at a reshare like this one).
/// `Done(None)`: an old holder that leaves.
pub async fn reshare_on<B: SigningBackend>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    inputs: ReshareInputs<P>,
    previous: Option<&MemberKey>,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Option<MemberKey>>, MpcError> {
    let (new_committee, participants) = (inputs.new_committee.clone(), inputs.participants());
    let entry = Reshare::new(inputs, previous.map(|key| key.share().clone()), signer.clone());
    reshare_entry_on::<B, _>(rng, signer, new_committee, participants, entry, previous, attempt, net).await
}

/// [`reshare_on`] with the resharing session's entry point given (the honest one, or one of
/// `misbehave`'s).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reshare_entry_on<B, EP>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    new_committee: BTreeSet<AccountId>,
    participants: BTreeSet<AccountId>,
    entry: EP,
    previous: Option<&MemberKey>,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Option<MemberKey>>, MpcError>
where
    B: SigningBackend,
    EP: EntryPoint<AccountId, Protocol = ReshareProtocol<P>> + Send + 'static,
{
    let me = signer.account();
    let (mut setup_rng, mut key_rng) = (ops::child_rng(rng), ops::child_rng(rng));
    let reshare = ops::run_in_attempt(
        &mut key_rng,
        signer,
        attempt,
        ProtocolKind::Reshare,
        &participants,
        entry,
        net,
    );
    if !new_committee.contains(&me) {
        return Ok(reshare.await?.map(|_| None));
    }
    let (setup, output) = tokio::join!(
        B::setup(&mut setup_rng, signer, previous, &new_committee, attempt, net),
        reshare
    );
    ops::combine(setup, output, |setup, output| {
        let output = output.ok_or_else(|| ops::local("a new member got no share"))?;
        B::member_key(output.share, output.dealt, setup, previous).map(Some)
    })
}

/// Signs `prehash` for the child key at `path` with `key`, on its backend, as one of exactly
/// `threshold` `signers`. On DKLs23 the result may also name a co-signer whose pair state must
/// be dropped ([`ops::Signed::drop_pair`]): the caller does so, in the stored key too,
/// before this member signs with that co-signer again.
#[allow(clippy::too_many_arguments)]
pub async fn sign(
    rng: &mut (impl rand_core::CryptoRngCore + Send),
    signer: &PartySigner,
    key: &MemberKey,
    signers: &BTreeSet<AccountId>,
    path: &DerivationPath,
    prehash: &[u8; 32],
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<ops::Signed, MpcError> {
    match key {
        MemberKey::Synedrion(key) => Ok(ops::Signed {
            outcome: ops::sign::<P>(rng, signer, key, signers, path, prehash, attempt, net).await?,
            drop_pair: None,
        }),
        MemberKey::Dkls23(key) => ops::dkls_sign(rng, signer, key.clone(), signers, path, prehash, attempt, net).await,
    }
}
