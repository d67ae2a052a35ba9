//! The operations a committee member runs, each as one party: jumpstart (the DKG), reshare, and
//! signing for a child key. Each runs its protocol sessions through [`run_protocol_session`] over channels
//! that a [`Network`] opens per session.

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ecdsa::signature::hazmat::PrehashVerifier;
use ecdsa::{SigningKey, VerifyingKey};
use elliptic_curve::FieldBytes;
use manul::protocol::{EntryPoint, Protocol};
use manul::session::SessionId;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};
use synedrion::bip32::DerivationPath;
use synedrion::{
    AuxGen, AuxInfo, InteractiveSigning, KeyInit, PublicTweakable, SchemeParams, SecretTweakable, ThresholdKeyShare,
};
use tokio::time::Instant;

pub use crate::child_key::ChildSignature;

use crate::child_key::child_verifying_key;
use crate::dkls::protocol::{DklsSigningEntry, PairSetupEntry};
use crate::dkls::{DklsKeyShare, PairState, SignRequest};
use crate::driver::{
    merge_all, protocol_session_id, run_protocol_session, Cancel, Channels, Fault, MissingRound, Offender, Outcome,
    ProtocolKind, ProtocolSessionSpec,
};
use crate::error::MpcError;
use crate::identity::{AccountId, PartySigner};
use crate::reshare::{Reshare, ReshareInputs, ReshareOutput, ReshareProtocol};
use crate::share::{ParentKeyShare, ThresholdShare};

/// Opens the channel pair for one session of one party.
pub trait Network: Send + Sync {
    /// Channels for `me` in `protocol_session_id`; messages that arrived before are delivered first.
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels;
}

/// What makes an attempt unique, and how long it may run.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Bytes unique to this attempt (network, session, attempt number), the same for every
    /// participant and for the chain; session ids derive from it.
    pub context: Vec<u8>,
    /// When every session of this attempt gives up and names the silent parties.
    pub deadline: Instant,
    /// How long a round of its sessions may go without progress before it ends as at the
    /// deadline (see [`ProtocolSessionSpec::stall`]); `None` for resharing, whose deadline the
    /// chain sets.
    pub stall: Option<std::time::Duration>,
    /// Calls the attempt's sessions off early (see [`ProtocolSessionSpec::cancel`]).
    pub cancel: Option<Cancel>,
}

impl Attempt {
    /// The spec of this attempt's session of `kind` (participants to be filled in, see
    /// [`Attempt::spec_among`]).
    pub fn spec(&self, kind: ProtocolKind) -> ProtocolSessionSpec {
        self.spec_among(kind, BTreeSet::new())
    }

    /// The spec of this attempt's session of `kind` among `participants`.
    pub fn spec_among(&self, kind: ProtocolKind, participants: BTreeSet<AccountId>) -> ProtocolSessionSpec {
        ProtocolSessionSpec {
            kind,
            protocol_session_id: protocol_session_id(kind, &self.context),
            deadline: self.deadline,
            stall: self.stall,
            cancel: self.cancel.clone(),
            participants,
        }
    }
}

pub(crate) fn child_rng(rng: &mut impl CryptoRngCore) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    ChaCha20Rng::from_seed(seed)
}

pub(crate) fn local(e: impl std::fmt::Display) -> MpcError {
    MpcError::InvalidInput(e.to_string())
}

/// Joins two concurrent sessions' outcomes: both done → `f`; otherwise every party named by
/// either, each once, with its strongest accusation and the rounds of both. A local error in one session does not hide
/// the parties the other one named: they are still reported (the error is logged); only when
/// no session named anyone is the local error the result.
pub(crate) fn combine<A, B, C>(
    a: Result<Outcome<A>, MpcError>,
    b: Result<Outcome<B>, MpcError>,
    f: impl FnOnce(A, B) -> Result<C, MpcError>,
) -> Result<Outcome<C>, MpcError> {
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), Ok(Outcome::Failed { offenders })) | (Ok(Outcome::Failed { offenders }), Err(e)) => {
            tracing::error!("one session of the attempt failed locally ({e}); reporting whom the other named");
            return Ok(Outcome::Failed { offenders });
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    match (a, b) {
        (Outcome::Done(a), Outcome::Done(b)) => f(a, b).map(Outcome::Done),
        (a, b) => {
            let all = [a.map(|_| ()), b.map(|_| ())];
            let named = all.into_iter().flat_map(|outcome| match outcome {
                Outcome::Failed { offenders } => offenders,
                Outcome::Done(()) => Vec::new(),
            });
            Ok(Outcome::Failed {
                offenders: merge_all(named),
            })
        }
    }
}

/// Runs this party's session of `kind` in `attempt` over channels `net` opens for it.
pub(crate) async fn run_in_attempt<EP>(
    rng: &mut ChaCha20Rng,
    signer: &PartySigner,
    attempt: &Attempt,
    kind: ProtocolKind,
    participants: &BTreeSet<AccountId>,
    entry_point: EP,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<<EP::Protocol as Protocol<AccountId>>::Result>, MpcError>
where
    EP: EntryPoint<AccountId> + Send + 'static,
    <EP::Protocol as Protocol<AccountId>>::Result: Send,
    <EP::Protocol as Protocol<AccountId>>::ProtocolError: Send + Sync,
{
    let spec = attempt.spec_among(kind, participants.clone());
    let mut channels = net.open(signer.account(), &spec.protocol_session_id);
    run_protocol_session(rng, signer.clone(), &spec, entry_point, &mut channels).await
}

/// Jumpstart (DKG) for an initial committee: synedrion KeyInit n-of-n, then keywheel's resharing
/// to `threshold`-of-n, with AuxGen for the committee running concurrently.
pub async fn jumpstart<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    committee: &BTreeSet<AccountId>,
    threshold: u32,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<ParentKeyShare<P>>, MpcError> {
    check_jumpstart(&signer.account(), committee, threshold)?;
    let (mut aux_rng, mut key_rng) = (child_rng(rng), child_rng(rng));
    let (aux, key) = tokio::join!(
        aux_gen::<P>(&mut aux_rng, signer, committee, attempt, net),
        jumpstart_key::<P>(&mut key_rng, signer, committee, threshold, attempt, net)
    );
    combine(aux, key, |aux, output| {
        let output = output.ok_or_else(|| local("a committee member got no share"))?;
        Ok(ParentKeyShare::new(output.share, aux)?.with_dealt(output.dealt))
    })
}

/// This member's AuxGen among `committee` in `attempt`: synedrion's setup of a committee.
pub(crate) async fn aux_gen<P: SchemeParams>(
    rng: &mut ChaCha20Rng,
    signer: &PartySigner,
    committee: &BTreeSet<AccountId>,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<AuxInfo<P, AccountId>>, MpcError> {
    let entry = AuxGen::<P, AccountId>::new(committee.clone()).map_err(local)?;
    run_in_attempt(rng, signer, attempt, ProtocolKind::AuxGen, committee, entry, net).await
}

/// The key half of a jumpstart: synedrion KeyInit (n-of-n), then keywheel's resharing of its
/// additive shares to `threshold`-of-n among the same committee.
pub(crate) async fn jumpstart_key<P: SchemeParams>(
    rng: &mut ChaCha20Rng,
    signer: &PartySigner,
    committee: &BTreeSet<AccountId>,
    threshold: u32,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Option<ReshareOutput<P>>>, MpcError> {
    let entry = KeyInit::<P, AccountId>::new(committee.clone()).map_err(local)?;
    let key_share = match run_in_attempt(rng, signer, attempt, ProtocolKind::KeyInit, committee, entry, net).await? {
        Outcome::Done(k) => k,
        Outcome::Failed { offenders } => return Ok(Outcome::Failed { offenders }),
    };
    // KeyInit gives additive (n-of-n) shares; as Shamir shares with ids 1..=n they are the
    // old sharing of a reshare to threshold-of-n among the same committee.
    let full = ThresholdShare::from_synedrion(&ThresholdKeyShare::from_key_share(&key_share))?;
    let inputs = ReshareInputs {
        old: full.public().clone(),
        staying: committee.clone(),
        new_committee: committee.clone(),
        new_threshold: threshold,
    };
    let entry = Reshare::new(inputs, Some(full), signer.clone());
    run_in_attempt(rng, signer, attempt, ProtocolKind::Reshare, committee, entry, net).await
}

/// Checks that `me` can take part in a jumpstart of `committee` to `threshold`.
pub(crate) fn check_jumpstart(me: &AccountId, committee: &BTreeSet<AccountId>, threshold: u32) -> Result<(), MpcError> {
    if !committee.contains(me) {
        return Err(MpcError::InvalidInput(format!(
            "{me:?} is not in the jumpstart committee"
        )));
    }
    if threshold == 0 || threshold as usize > committee.len() {
        return Err(MpcError::InvalidInput(format!(
            "threshold {threshold} does not fit a committee of {}",
            committee.len()
        )));
    }
    Ok(())
}

/// One reshare as one party: the new shares by keywheel's resharing and, for members of the
/// new committee, AuxGen for that committee — concurrently (AuxGen does not depend on the key).
/// Returns [`Reshared::Holder`] with the new `ParentKeyShare` for new members,
/// [`Reshared::Left`] for old holders that leave.
pub async fn reshare<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    inputs: ReshareInputs<P>,
    old_share: Option<ThresholdShare<P>>,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Reshared<P>>, MpcError> {
    let (new_committee, participants) = (inputs.new_committee.clone(), inputs.participants());
    let entry = Reshare::new(inputs, old_share, signer.clone());
    reshare_with(rng, signer, new_committee, participants, entry, attempt, net).await
}

/// [`reshare`] with the resharing session's entry point given (the honest one, or one of
/// `misbehave`'s): the resharing among `participants` and, for members of `new_committee`,
/// AuxGen beside it.
pub(crate) async fn reshare_with<P, EP>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    new_committee: BTreeSet<AccountId>,
    participants: BTreeSet<AccountId>,
    entry: EP,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Reshared<P>>, MpcError>
where
    P: SchemeParams,
    EP: EntryPoint<AccountId, Protocol = ReshareProtocol<P>> + Send + 'static,
{
    let me = signer.account();
    let (mut aux_rng, mut key_rng) = (child_rng(rng), child_rng(rng));
    let reshare = run_in_attempt(
        &mut key_rng,
        signer,
        attempt,
        ProtocolKind::Reshare,
        &participants,
        entry,
        net,
    );
    if !new_committee.contains(&me) {
        return Ok(reshare.await?.map(|_| Reshared::Left));
    }
    let (aux, output) = tokio::join!(
        aux_gen::<P>(&mut aux_rng, signer, &new_committee, attempt, net),
        reshare
    );
    combine(aux, output, |aux, output| {
        let output = output.ok_or_else(|| local("a new member got no share"))?;
        Ok(Reshared::Holder(
            ParentKeyShare::new(output.share, aux)?.with_dealt(output.dealt),
        ))
    })
}

/// What a reshare leaves one participant with.
#[derive(Debug)]
pub enum Reshared<P: SchemeParams> {
    /// A member of the new committee: its new share, for the holding slot.
    Holder(ParentKeyShare<P>),
    /// A leaving holder: it helped reshare and keeps no new share.
    Left,
}

impl<P: SchemeParams> Reshared<P> {
    /// The new share, if this participant holds one.
    pub fn into_share(self) -> Option<ParentKeyShare<P>> {
        match self {
            Self::Holder(share) => Some(share),
            Self::Left => None,
        }
    }
}

/// The prehash as the curve's field bytes (leftmost bytes, as ECDSA truncates).
pub(crate) fn prehash_bytes<P: SchemeParams>(prehash: &[u8; 32]) -> FieldBytes<P::Curve> {
    let mut bytes = FieldBytes::<P::Curve>::default();
    let n = bytes.len().min(32);
    bytes[..n].copy_from_slice(&prehash[..n]);
    bytes
}

/// Signs `prehash` with the child key at `path`, as one of exactly `threshold` `signers` of the
/// current committee. The signature is checked against the child key derived from the parent
/// verifying key alone before it is returned.
#[allow(clippy::too_many_arguments)]
pub async fn sign<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    share: &ParentKeyShare<P>,
    signers: &BTreeSet<AccountId>,
    path: &DerivationPath,
    prehash: &[u8; 32],
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<ChildSignature>, MpcError>
where
    VerifyingKey<P::Curve>: PublicTweakable,
    SigningKey<P::Curve>: SecretTweakable,
{
    let me = signer.account();
    let threshold = share.share.public().threshold as usize;
    if signers.len() != threshold || !signers.contains(&me) {
        return Err(MpcError::InvalidInput(format!(
            "signing needs exactly {threshold} signers including this party"
        )));
    }
    if let Some(outsider) = signers.iter().find(|s| !share.share.public().share_ids.contains_key(s)) {
        return Err(MpcError::InvalidInput(format!(
            "{outsider:?} holds no share of this key"
        )));
    }
    let child_key = child_verifying_key::<P>(&share.verifying_key()?, path)?;
    let child_share = share
        .share
        .to_synedrion()?
        .derive_bip32(path)
        .map_err(|e| MpcError::Derivation(e.to_string()))?;
    let key_share = child_share.to_key_share(signers).map_err(local)?;
    let aux = share.aux.clone().subset(signers).map_err(local)?;
    let message = prehash_bytes::<P>(prehash);
    let entry = InteractiveSigning::new(message.clone(), key_share, aux).map_err(local)?;

    let mut session_rng = child_rng(rng);
    let outcome = run_in_attempt(
        &mut session_rng,
        signer,
        attempt,
        ProtocolKind::Signing,
        signers,
        entry,
        net,
    )
    .await?;
    let Outcome::Done(signature) = outcome else {
        return Ok(outcome.map(|_| unreachable!("failed outcome has no result")));
    };
    let (signature, recovery_id) = signature.to_backend();
    child_key
        .verify_prehash(&message, &signature)
        .map_err(|_| MpcError::BadSignature)?;
    let (r, s) = signature.split_bytes();
    Ok(Outcome::Done(ChildSignature {
        r: r.to_vec(),
        s: s.to_vec(),
        v: recovery_id.to_byte(),
        child_key: elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(child_key.as_affine(), true)
            .as_bytes()
            .to_vec(),
    }))
}

/// What a DKLs23 pair setup left this member with.
#[derive(Debug, Default)]
pub struct PairSetupOutcome {
    /// Every pair that finished, whatever happened to the others.
    pub pairs: BTreeMap<AccountId, PairState>,
    /// Who the session named when some pair did not finish (empty when all did).
    pub offenders: Vec<Offender>,
}

/// This member's DKLs23 pairwise setup with `counterparties` in `attempt` (see
/// [`crate::dkls::pair_setup`]): the pairs that finished, and who failed. It never fails as a
/// whole: a session that ends in a local error (logged) still gives the pairs it finished, so a
/// pair setup can never cost a member its reshare. No counterparties: nothing to run.
pub async fn dkls_pair_setup(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    counterparties: BTreeSet<AccountId>,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> PairSetupOutcome {
    if counterparties.is_empty() {
        return PairSetupOutcome::default();
    }
    let mut participants = counterparties.clone();
    participants.insert(signer.account());
    let finished = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let entry = PairSetupEntry {
        counterparties,
        finished: finished.clone(),
    };
    let mut session_rng = child_rng(rng);
    let offenders = match run_in_attempt(
        &mut session_rng,
        signer,
        attempt,
        ProtocolKind::PairSetup,
        &participants,
        entry,
        net,
    )
    .await
    {
        Ok(Outcome::Done(_)) => Vec::new(),
        Ok(Outcome::Failed { offenders }) => offenders,
        Err(e) => {
            tracing::error!("the DKLs23 pair setup ended in a local error ({e}); keeping the pairs it finished");
            Vec::new()
        }
    };
    // A poisoned lock means a pair's insertion panicked: whatever is inside is still whole.
    let pairs = core::mem::take(&mut *finished.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    PairSetupOutcome { pairs, offenders }
}

/// What a signing left this member with.
#[derive(Debug)]
pub struct Signed {
    /// The signature, or who was named.
    pub outcome: Outcome<ChildSignature>,
    /// The co-signer whose pair state this member must never use again: the library's check of
    /// that pair's OT extension failed, and a failed check leaks part of the reused
    /// correlation, so signing on with it would let that co-signer learn this member's
    /// multiplication inputs over repeated signings. The caller drops the pair from the stored
    /// key before this member signs with that co-signer again.
    pub drop_pair: Option<AccountId>,
}

/// Signs `prehash` with the child key at `path` on the DKLs23 path, as one of exactly
/// `threshold` `signers`. A library abort names the signer it blames as an unprovable
/// accusation (or nobody, when the library cannot tell), and says when the pair with it must be
/// dropped; the signature is checked under the child key before it is returned.
#[allow(clippy::too_many_arguments)]
pub async fn dkls_sign(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    share: Arc<DklsKeyShare>,
    signers: &BTreeSet<AccountId>,
    path: &DerivationPath,
    prehash: &[u8; 32],
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Signed, MpcError> {
    let request = SignRequest {
        sign_id: Vec::new(),
        signers: signers.clone(),
        prehash: *prehash,
        path: path.clone(),
    };
    let mut session_rng = child_rng(rng);
    let outcome = run_in_attempt(
        &mut session_rng,
        signer,
        attempt,
        ProtocolKind::DklsSigning,
        signers,
        DklsSigningEntry { share, request },
        net,
    )
    .await?;
    Ok(match outcome {
        Outcome::Done(Ok(signature)) => Signed {
            outcome: Outcome::Done(signature),
            drop_pair: None,
        },
        Outcome::Done(Err(fault)) => {
            tracing::warn!(%fault, ban = fault.ban, "DKLs23 signing aborted");
            let round = MissingRound {
                protocol: ProtocolKind::DklsSigning,
                number: fault.round,
                echo: false,
            };
            Signed {
                drop_pair: fault.offender.filter(|_| fault.ban),
                outcome: Outcome::Failed {
                    offenders: fault
                        .offender
                        .map(|party| Offender::new(party, Fault::Unprovable { reason: fault.reason }, round))
                        .into_iter()
                        .collect(),
                },
            }
        }
        Outcome::Failed { offenders } => Signed {
            outcome: Outcome::Failed { offenders },
            drop_pair: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Fault, MissingRound, Offender};

    fn round(protocol: ProtocolKind, number: u8) -> MissingRound {
        MissingRound {
            protocol,
            number,
            echo: false,
        }
    }

    fn named(party: u8) -> Result<Outcome<()>, MpcError> {
        Ok(Outcome::Failed {
            offenders: vec![Offender::new(
                AccountId([party; 32]),
                Fault::Unresponsive,
                round(ProtocolKind::AuxGen, 1),
            )],
        })
    }

    /// One session waited for the party's round-1 messages; the other took an unprovable
    /// message from it in round 2. Both rounds go to the chain: its causal rule needs the
    /// earliest, or the party looks silent only where its victims (blocked by its round-1
    /// silence) were silent too.
    #[test]
    fn a_stronger_accusation_keeps_the_rounds_of_the_weaker() {
        let party = AccountId([9; 32]);
        let silent = Ok::<_, MpcError>(Outcome::<()>::Failed {
            offenders: vec![Offender::new(
                party,
                Fault::Unresponsive,
                round(ProtocolKind::Reshare, 1),
            )],
        });
        let unprovable = Ok::<_, MpcError>(Outcome::<()>::Failed {
            offenders: vec![Offender::new(
                party,
                Fault::Unprovable {
                    reason: "garbled".into(),
                },
                round(ProtocolKind::AuxGen, 2),
            )],
        });
        let Outcome::Failed { offenders } = combine(silent, unprovable, |_, _| Ok(())).unwrap() else {
            panic!("both sessions failed");
        };
        assert_eq!(offenders.len(), 1);
        assert!(
            matches!(offenders[0].fault, Fault::Unprovable { .. }),
            "{:?}",
            offenders[0].fault
        );
        assert_eq!(
            offenders[0].rounds,
            vec![round(ProtocolKind::Reshare, 1), round(ProtocolKind::AuxGen, 2)]
        );
    }

    #[test]
    fn a_local_error_in_one_session_does_not_hide_whom_the_other_named() {
        let broken = || Err::<Outcome<()>, _>(MpcError::ChannelClosed("aux".into()));
        for outcome in [
            combine(broken(), named(7), |_, _| Ok(())),
            combine(named(7), broken(), |_, _| Ok(())),
        ] {
            assert_eq!(
                outcome.expect("reported, not an error").offenders(),
                vec![AccountId([7; 32])]
            );
        }
        // Nobody named and a local error: the error is the result.
        let done = || Ok::<_, MpcError>(Outcome::Done(()));
        assert!(matches!(
            combine(broken(), done(), |_, _| Ok(())),
            Err(MpcError::ChannelClosed(_))
        ));
        assert!(matches!(
            combine(done(), broken(), |_, _| Ok(())),
            Err(MpcError::ChannelClosed(_))
        ));
    }
}
