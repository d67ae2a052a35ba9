//! A signer's side of a signing request: every check again, then the signing protocol session
//! on the account's child of this TSS's share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_mpc::backend::{self, BackendKind, MemberKey};
use keywheel_mpc::child_key::account_path;
use keywheel_mpc::driver::{called_off, Cancel, Outcome};
use keywheel_mpc::ops::Attempt;
use keywheel_rpc::sign_request::{now_ms, SignError, SignatureReply};
use rand_core::SeedableRng;
use tracing::{debug, error, warn};
use zeroize::Zeroizing;

use super::committee::{
    check_registered, refuse_if_halted, round_budget, signing_committee, MAX_DKLS_TRIES, MAX_ROUNDS,
};
use super::compute::SigningRuntime;
use super::pair_locks::{PairLocks, Priority, Wound};
use super::replay::ReplayCache;
use crate::keystore::Slot;
use crate::metrics::Refusal;
use crate::resources::Resources;
use crate::sync::Locked;
use crate::transport::ProtocolNet;
use crate::wire::{Frame, SignCancel, SignFailure, SignJob, SignOutcome, SignWorking, Tag};

/// A job in flight, by its coordinator, request hash and round.
type JobKey = (AccountId, [u8; 32], u32);

/// A signer: runs the signing jobs coordinators send it, after checking each again.
pub(super) struct Signer {
    res: Arc<Resources>,
    jobs_seen: Locked<ReplayCache>,
    /// This TSS's side of its DKLs23 pairs, locked per signing (`pair_locks`).
    pair_locks: PairLocks,
    /// How to call off each job in flight (one entry per job the admission let run).
    running: Arc<Locked<HashMap<JobKey, CallOff>>>,
    runtime: SigningRuntime,
    /// One signer's work for one counterpart (what round timeouts derive from).
    per_counterpart: Duration,
    /// The current key as last decoded, beside its stored form: decoding a DKLs23 key (its
    /// pairs' OT state) costs more than its signing (`BENCHMARKS.md`). A key stored anew
    /// (rotated, a pair dropped) differs from it and is decoded again. Compared byte for byte:
    /// a SHA-256 of the stored form each job cost half as much as reading it.
    /// Forgotten whenever the keystore's current slot changes (`Keystore::current_changes`): a
    /// member that left keeps no copy of its retired share in memory.
    decoded: Arc<Locked<Option<DecodedKey>>>,
}

/// What calls a job off (its coordinator, or an older signing that wounds it).
type CallOff = Arc<tokio::sync::watch::Sender<bool>>;

/// A job enrolled with [`Signer::enrol`]: its coordinator can call it off until it is dropped.
pub(super) struct Enrolled {
    running: Arc<Locked<HashMap<JobKey, CallOff>>>,
    /// `None` for a second job under a key already in flight (the replay check refuses it).
    key: Option<JobKey>,
    call_off: CallOff,
    cancel: Cancel,
}

impl Drop for Enrolled {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.running.lock().remove(&key);
        }
    }
}

impl Signer {
    /// A signer over the TSS's resources, computing on `runtime`.
    pub(super) fn new(res: Arc<Resources>, runtime: SigningRuntime, per_counterpart: Duration) -> Self {
        let decoded: Arc<Locked<Option<DecodedKey>>> = Arc::default();
        let mut changes = res.keystore().current_changes();
        let forget = Arc::downgrade(&decoded);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(decoded) = forget.upgrade() else { return };
                *decoded.lock() = None;
            }
        });
        Self {
            res,
            jobs_seen: Locked::default(),
            pair_locks: PairLocks::default(),
            running: Arc::default(),
            runtime,
            per_counterpart,
            decoded,
        }
    }

    /// Enrols a job from the coordinator `from` before it runs, so that a [`SignCancel`] the
    /// coordinator sends right after the job (on the same connection) finds it.
    pub(super) fn enrol(&self, from: AccountId, job: &SignJob) -> Enrolled {
        let request = job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default();
        let (tx, cancel) = tokio::sync::watch::channel(false);
        let call_off = Arc::new(tx);
        let key = (from, request, job.round);
        let mut running = self.running.lock();
        let key = match running.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(call_off.clone());
                Some(key)
            }
            std::collections::hash_map::Entry::Occupied(_) => None,
        };
        Enrolled {
            running: self.running.clone(),
            key,
            call_off,
            cancel,
        }
    }

    /// Calls off the job `cancel` names, if `from` is the coordinator that sent it: its
    /// session ends as at its deadline, and it releases its pairs.
    pub(super) fn call_off(&self, from: AccountId, cancel: SignCancel) {
        if let Some(tx) = self.running.lock().get(&(from, cancel.request, cancel.round)) {
            debug!(?from, round = cancel.round, "the coordinator called a signing job off");
            tx.send_replace(true);
        }
    }

    /// Runs a signing job from the coordinator `from` on the signing runtime (below reshare
    /// work in CPU priority); the outcome goes back to it.
    pub(super) async fn run_job(self: &Arc<Self>, from: AccountId, job: &SignJob, enrolled: Enrolled) -> SignOutcome {
        let request = job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default();
        debug!(?from, round = job.round, "signing job");
        let (signer, owned, off) = (self.clone(), job.clone(), enrolled.cancel.clone());
        let result = match self
            .runtime
            .spawn(async move {
                let result = sign_as_member(&signer, &owned, &enrolled).await;
                drop(enrolled);
                result
            })
            .await
        {
            Ok(result) => result,
            Err(e) => Err(SignFailure::from(SignError::Failed(format!(
                "the signing task ended: {e}"
            )))),
        };
        match &result {
            Err(e) if e.busy => {
                self.res.metrics.sign_refused(Refusal::PairsBusy);
                debug!(?from, "signing job gave way: {}", e.message);
            }
            // Called off: its coordinator ended the round (another signer's pairs were busy,
            // or the round failed there), which that coordinator reports.
            Err(e) if *off.borrow() => debug!(?from, "signing job called off: {}", e.message),
            Err(e) => warn!(?from, "signing job failed: {}", e.message),
            Ok(_) => {}
        }
        SignOutcome {
            request,
            round: job.round,
            result,
        }
    }
}

/// How often a signer tells the coordinator that a job still runs.
pub(super) const WORKING_EVERY: Duration = Duration::from_secs(5);

impl Signer {
    /// [`Signer::run_job`] for a remote coordinator `from`, telling it every [`WORKING_EVERY`]
    /// that the job still runs (from the main runtime, so a signing computation that waits for
    /// the cores does not delay the word).
    pub(super) async fn run_job_telling(
        self: &Arc<Self>,
        from: AccountId,
        job: &SignJob,
        enrolled: Enrolled,
    ) -> SignOutcome {
        let working = SignWorking {
            request: job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default(),
            round: job.round,
        };
        let run = self.run_job(from, job, enrolled);
        tokio::pin!(run);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + WORKING_EVERY, WORKING_EVERY);
        loop {
            tokio::select! {
                outcome = &mut run => return outcome,
                _ = every.tick() => self.res.transport.send(from, &Frame::SignWorking(working)).await,
            }
        }
    }
}

async fn sign_as_member(signing: &Signer, job: &SignJob, enrolled: &Enrolled) -> Result<SignatureReply, SignFailure> {
    let genesis = signing.res.chain.genesis_hash();
    let now = now_ms();
    let request = &job.request;
    let prehash = request.check(&genesis, now)?;
    let hash = request.hash(&genesis)?;
    if job.round >= MAX_DKLS_TRIES {
        return Err(SignError::Malformed(format!("round {} is past the last try", job.round)).into());
    }
    let mut key = hash.to_vec();
    key.extend_from_slice(&job.round.to_be_bytes());
    // Registered before it is remembered: throwaway accounts must not fill the replay cache.
    check_registered(&signing.res, &request.account).await?;
    signing.jobs_seen.lock().insert(key, request.expires_at_ms, now)?;
    // This TSS runs this request's round once: when the job ends, however it ends, its session
    // is closed, and the co-signers' frames that wait for it (it may never have opened) go.
    let mut close = CloseOnEnd {
        transport: &signing.res.transport,
        request: hash,
        round: job.round,
        backend: None,
    };

    let me = signing.res.identity.account();
    let committee = signing_committee(&signing.res).await?;
    if job.signers.len() != committee.threshold
        || !job.signers.contains(&me)
        || !job.signers.is_subset(&committee.eligible)
    {
        return Err(SignError::Malformed(format!(
            "the signers are not {} members of the current committee (whose validators still validate) including this TSS",
            committee.threshold
        ))
        .into());
    }
    let signers: BTreeSet<AccountId> = job.signers.iter().copied().collect();
    let mut share = signing.current_share(&committee.sharing)?;
    close.backend = Some(share.kind());
    // A synedrion signing costs seconds of CPU: a coordinator gets MAX_ROUNDS of them per
    // request. DKLs23's cost milliseconds, and its tries also end on busy pairs.
    if share.kind() == BackendKind::Synedrion && job.round >= MAX_ROUNDS {
        return Err(SignError::Malformed(format!("round {} is past the last round", job.round)).into());
    }
    refuse_without_pairs(&share, &signers)?;
    // A session that progresses runs for the round's budget; one that hears nothing for a
    // round's timeout (its key's backend's) ends and names whom it waited for.
    let timeout = committee.round_timeout(share.kind(), signing.per_counterpart);
    let deadline = tokio::time::Instant::now() + round_budget(job.round, timeout, request.expires_at_ms, now_ms());
    let mut off = Some(enrolled.cancel.clone());
    let wound = Wound::new(enrolled.call_off.clone());
    // On DKLs23, this side of the pairs with the co-signers is locked by wound-wait
    // (`pair_locks`), for no longer than the round may run nor after the job is called off (by
    // its coordinator, or by an older signing that wounds it). The key is read again after:
    // a pair dropped by the last signing with it is gone from what this one reads. synedrion's
    // signings run side by side as before.
    let _pairs = if share.kind() == BackendKind::Dkls23 {
        let priority = Priority {
            expires_at_ms: request.expires_at_ms,
            request: hash,
            round: job.round,
        };
        let counterparts: Vec<AccountId> = signers.iter().filter(|s| **s != me).copied().collect();
        let guards = tokio::select! {
            locked = tokio::time::timeout_at(deadline, signing.pair_locks.lock(counterparts, priority, &wound)) => {
                locked.map_err(|_| SignFailure::from(SignError::Unavailable(
                    "this TSS's DKLs23 pairs with the co-signers stayed busy with other signings for the round's time"
                        .into(),
                )))?
            }
            _ = called_off(&mut off) => return Err(ended_early(&wound)),
        };
        share = signing.current_share(&committee.sharing)?;
        refuse_without_pairs(&share, &signers)?;
        guards
    } else {
        Vec::new()
    };
    let attempt = Attempt {
        context: keywheel_primitives::domain::signing_context(&signing.res.transport.network(), &hash, job.round),
        deadline,
        stall: Some(timeout),
        cancel: Some(enrolled.cancel.clone()),
    };
    let net = ProtocolNet::signing(
        &signing.res.transport,
        hash,
        job.round,
        job.signers.clone(),
        share.kind(),
    );
    let mut rng = rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng)
        .map_err(|e| SignFailure::from(SignError::Failed(e.to_string())))?;
    let signed = backend::sign(
        &mut rng,
        signing.res.identity.signer(),
        &share,
        &signers,
        &account_path(&request.account),
        &prehash,
        &attempt,
        &net,
    )
    .await
    .map_err(|e| SignFailure::from(SignError::Failed(e.to_string())))?;
    if let Some(counterparty) = signed.drop_pair {
        drop_pair(&signing.res, &committee.sharing, &share, &counterparty);
    }
    if wound.was_wounded() && !matches!(signed.outcome, Outcome::Done(_)) {
        return Err(ended_early(&wound));
    }
    match signed.outcome {
        Outcome::Done(sig) => Ok(SignatureReply {
            r: sig.r,
            s: sig.s,
            v: sig.v,
            child_key: sig.child_key,
        }),
        Outcome::Failed { offenders } => Err(SignFailure {
            message: format!(
                "the signing session failed; named: {:?}",
                offenders.iter().map(|o| o.party).collect::<Vec<_>>()
            ),
            unresponsive: offenders.iter().map(|o| o.party).collect(),
            no_pair_with: Vec::new(),
            busy: false,
            refused: false,
        }),
    }
}

/// A key's stored form and the key decoded from it. No `Debug`: both are secret.
struct DecodedKey {
    stored: Zeroizing<Vec<u8>>,
    key: Arc<MemberKey>,
}

/// Closes a signing round's protocol session when dropped: of the key's backend once known,
/// else of both (the router remembers a bounded number of closed sessions).
struct CloseOnEnd<'a> {
    transport: &'a crate::transport::Transport,
    request: [u8; 32],
    round: u32,
    backend: Option<BackendKind>,
}

impl Drop for CloseOnEnd<'_> {
    fn drop(&mut self) {
        let (request, round) = (self.request, self.round);
        if self.backend != Some(BackendKind::Dkls23) {
            self.transport.close_protocol_session(Tag::Signing { request, round });
        }
        if self.backend != Some(BackendKind::Synedrion) {
            self.transport
                .close_protocol_session(Tag::DklsSigning { request, round });
        }
    }
}

/// Why a job its call-off ended did not sign: an older signing took a pair it held (busy: no
/// one's fault, tried again), or its coordinator called the round off.
fn ended_early(wound: &Wound) -> SignFailure {
    if wound.was_wounded() {
        SignFailure {
            message: "a DKLs23 pair of this TSS's with a co-signer went to a signing ahead in line; try again".into(),
            unresponsive: Vec::new(),
            no_pair_with: Vec::new(),
            busy: true,
            refused: false,
        }
    } else {
        SignError::Unavailable("the coordinator called the round off".into()).into()
    }
}

/// Drops this member's pair with `counterparty` from its current key, in memory and in the
/// keystore, after the library demanded it (a failed OT check). If the key cannot be rewritten
/// the TSS halts its signing loudly rather than sign on with the pair: the next job reads the
/// stored key, which still has it.
fn drop_pair(res: &Resources, sharing: &[u8; 32], key: &MemberKey, counterparty: &AccountId) {
    warn!(
        ?counterparty,
        "the DKLs23 library demands the pair with this co-signer be dropped; dropping it"
    );
    let result = (|| -> Result<(), String> {
        let without = key.without_pair(counterparty).map_err(|e| e.to_string())?;
        let keystore = res.keystore();
        let held = keystore
            .get(Slot::Current)
            .map_err(|e| e.to_string())?
            .filter(|h| h.info.sharing_digest() == *sharing)
            .ok_or("the current slot no longer holds this sharing")?;
        let stored = MemberKey::from_bytes(&held.secret).map_err(|e| e.to_string())?;
        if stored.share().secret() != without.share().secret() {
            return Err("the stored share is not the one that signed".into());
        }
        let stored_without = stored.without_pair(counterparty).map_err(|e| e.to_string())?;
        let secret = stored_without.to_bytes().map_err(|e| e.to_string())?;
        keystore
            .replace_current(&crate::keystore::Held {
                info: held.info,
                secret,
            })
            .map_err(|e| e.to_string())
    })();
    if let Err(e) = result {
        error!("could not drop the DKLs23 pair with {counterparty:?} from the stored key ({e}); signing halts");
        res.set_halted(Some(format!(
            "a DKLs23 pair the library demanded be dropped is still in the stored key: {e}"
        )));
    }
}

/// Refuses at once a signing set with a co-signer `key` holds no DKLs23 pair state with (its
/// pair setup failed, or the pair was dropped), naming them so that the coordinator picks
/// around the pair: the session could only fail, after its co-signers waited out a round.
fn refuse_without_pairs(key: &MemberKey, signers: &BTreeSet<AccountId>) -> Result<(), SignFailure> {
    let no_pair_with: Vec<AccountId> = key.missing_pairs().intersection(signers).copied().collect();
    if no_pair_with.is_empty() {
        return Ok(());
    }
    Err(SignFailure {
        message: format!(
            "this TSS holds no DKLs23 pair state with {} of the co-signers (a pair setup failed or the pair was dropped); \
             another set must sign",
            no_pair_with.len()
        ),
        unresponsive: Vec::new(),
        no_pair_with,
        busy: false,
        refused: true,
    })
}

impl Signer {
    /// This TSS's current key, if it is of the sharing the chain names now: read from the
    /// keystore each time, decoded only when its stored form changed.
    fn current_share(&self, sharing: &[u8; 32]) -> Result<Arc<MemberKey>, SignFailure> {
        let result = self.read_current(sharing);
        if result.is_err() {
            // No key to sign with now (rotated out, halted, another sharing): a decoded one
            // kept from before is not kept longer.
            *self.decoded.lock() = None;
        }
        result
    }

    fn read_current(&self, sharing: &[u8; 32]) -> Result<Arc<MemberKey>, SignFailure> {
        refuse_if_halted(&self.res)?;
        let (held, generation) = {
            let keystore = self.res.keystore();
            (keystore.get(Slot::Current), keystore.current_generation())
        };
        let held = held
            .map_err(|e| SignFailure::from(SignError::Unavailable(e.to_string())))?
            .ok_or_else(|| SignFailure::from(SignError::Unavailable("this TSS holds no current share".into())))?;
        if held.info.sharing_digest() != *sharing {
            return Err(SignError::Unavailable(
                "this TSS's share is not of the sharing the chain names now (a rotation is under way); retry".into(),
            )
            .into());
        }
        if let Some(decoded) = &*self.decoded.lock() {
            if decoded.stored.as_slice() == held.secret.as_slice() {
                return Ok(decoded.key.clone());
            }
        }
        let key = Arc::new(MemberKey::from_bytes(&held.secret).map_err(|e| {
            SignFailure::from(SignError::Unavailable(format!("the stored share does not decode: {e}")))
        })?);
        // Kept only if the current slot did not change since it was read: the forgetting of a
        // change that came in between must not be undone (the keystore's lock orders the two).
        let keystore = self.res.keystore();
        if keystore.current_generation() == generation {
            *self.decoded.lock() = Some(DecodedKey {
                stored: held.secret,
                key: key.clone(),
            });
        }
        drop(keystore);
        Ok(key)
    }
}
