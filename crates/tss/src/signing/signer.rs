//! A signer's side of a signing request: every check again, then the signing protocol session
//! on the account's child of this TSS's share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_mpc::backend::{self, BackendKind, MemberKey};
use keywheel_mpc::child_key::account_path;
use keywheel_mpc::driver::Outcome;
use keywheel_mpc::ops::Attempt;
use keywheel_rpc::sign_request::{now_ms, SignError, SignatureReply};
use rand_core::SeedableRng;
use tracing::{debug, error, warn};

use super::committee::{check_registered, refuse_if_halted, round_budget, signing_committee, MAX_ROUNDS};
use super::compute::SigningRuntime;
use super::replay::ReplayCache;
use crate::keystore::Slot;
use crate::resources::Resources;
use crate::sync::Locked;
use crate::transport::ProtocolNet;
use crate::wire::{Frame, SignFailure, SignJob, SignOutcome, SignWorking};

/// A signer: runs the signing jobs coordinators send it, after checking each again.
pub(super) struct Signer {
    res: Arc<Resources>,
    jobs_seen: Locked<ReplayCache>,
    /// One lock per co-signer, held for a DKLs23 signing with it: at most one signing per pair
    /// at a time, so a co-signer probing the pair's OT state (each failed probe drops the pair)
    /// learns at most one bit before the pair is gone. One entry per member of the committee.
    pair_locks: Locked<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>,
    runtime: SigningRuntime,
    /// One signer's work for one counterpart (what round timeouts derive from).
    per_counterpart: Duration,
}

impl Signer {
    /// A signer over the TSS's resources, computing on `runtime`.
    pub(super) fn new(res: Arc<Resources>, runtime: SigningRuntime, per_counterpart: Duration) -> Self {
        Self {
            res,
            jobs_seen: Locked::default(),
            pair_locks: Locked::default(),
            runtime,
            per_counterpart,
        }
    }

    /// Runs a signing job from the coordinator `from` on the signing runtime (below reshare
    /// work in CPU priority); the outcome goes back to it.
    pub(super) async fn run_job(self: &Arc<Self>, from: AccountId, job: &SignJob) -> SignOutcome {
        let request = job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default();
        debug!(?from, round = job.round, "signing job");
        let (signer, owned) = (self.clone(), job.clone());
        let result = match self
            .runtime
            .spawn(async move { sign_as_member(&signer, &owned).await })
            .await
        {
            Ok(result) => result,
            Err(e) => Err(SignFailure::from(SignError::Failed(format!(
                "the signing task ended: {e}"
            )))),
        };
        if let Err(e) = &result {
            warn!(?from, "signing job failed: {}", e.message);
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
    pub(super) async fn run_job_telling(self: &Arc<Self>, from: AccountId, job: &SignJob) -> SignOutcome {
        let working = SignWorking {
            request: job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default(),
            round: job.round,
        };
        let run = self.run_job(from, job);
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

async fn sign_as_member(signing: &Signer, job: &SignJob) -> Result<SignatureReply, SignFailure> {
    let genesis = signing.res.chain.genesis_hash();
    let now = now_ms();
    let request = &job.request;
    let prehash = request.check(&genesis, now)?;
    let hash = request.hash(&genesis)?;
    if job.round >= MAX_ROUNDS {
        return Err(SignError::Malformed(format!("round {} is past the last round", job.round)).into());
    }
    let mut key = hash.to_vec();
    key.extend_from_slice(&job.round.to_be_bytes());
    // Registered before it is remembered: throwaway accounts must not fill the replay cache.
    check_registered(&signing.res, &request.account).await?;
    signing.jobs_seen.lock().insert(key, request.expires_at_ms, now)?;

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
    let mut share = current_share(&signing.res, &committee.sharing)?;
    refuse_without_pairs(&share, &signers)?;
    // A session that progresses runs for the round's budget; one that hears nothing for a
    // round's timeout (its key's backend's) ends and names whom it waited for.
    let timeout = committee.round_timeout(share.kind(), signing.per_counterpart);
    let deadline = tokio::time::Instant::now() + round_budget(job.round, timeout, request.expires_at_ms, now_ms());
    // On DKLs23, the pairs with the co-signers are locked (in account order, so two jobs of
    // this TSS never deadlock each other; jobs of different TSSs can, see `BENCHMARKS.md`,
    // sixth session), for no longer than the round may run, and the key is read again
    // after: a pair dropped by the last signing with it is gone from what this one reads.
    // synedrion's signings run side by side as before.
    let _pairs = if share.kind() == BackendKind::Dkls23 {
        let guards = tokio::time::timeout_at(deadline, signing.lock_pairs(&signers, &committee.eligible))
            .await
            .map_err(|_| {
                SignFailure::from(SignError::Unavailable(
                    "this TSS's DKLs23 pairs with the co-signers stayed busy with other signings for the round's time"
                        .into(),
                ))
            })?;
        share = current_share(&signing.res, &committee.sharing)?;
        refuse_without_pairs(&share, &signers)?;
        guards
    } else {
        Vec::new()
    };
    let attempt = Attempt {
        context: keywheel_primitives::domain::signing_context(&signing.res.transport.network(), &hash, job.round),
        deadline,
        stall: Some(timeout),
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
        }),
    }
}

impl Signer {
    /// Locks this member's pair with each other signer (for a DKLs23 key). Entries of accounts
    /// outside `committee` are dropped, so the map holds one lock per member at most.
    async fn lock_pairs(
        &self,
        signers: &BTreeSet<AccountId>,
        committee: &BTreeSet<AccountId>,
    ) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let me = self.res.identity.account();
        let locks: Vec<Arc<tokio::sync::Mutex<()>>> = {
            let mut all = self.pair_locks.lock();
            all.retain(|member, _| committee.contains(member));
            signers
                .iter()
                .filter(|s| **s != me)
                .map(|s| all.entry(*s).or_default().clone())
                .collect()
        };
        let mut guards = Vec::with_capacity(locks.len());
        for lock in locks {
            guards.push(lock.lock_owned().await);
        }
        guards
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
    })
}

/// This TSS's current key, if it is of the sharing the chain names now.
fn current_share(res: &Resources, sharing: &[u8; 32]) -> Result<MemberKey, SignFailure> {
    refuse_if_halted(res)?;
    let held = res
        .keystore()
        .get(Slot::Current)
        .map_err(|e| SignFailure::from(SignError::Unavailable(e.to_string())))?
        .ok_or_else(|| SignFailure::from(SignError::Unavailable("this TSS holds no current share".into())))?;
    if held.info.sharing_digest() != *sharing {
        return Err(SignError::Unavailable(
            "this TSS's share is not of the sharing the chain names now (a rotation is under way); retry".into(),
        )
        .into());
    }
    MemberKey::from_bytes(&held.secret)
        .map_err(|e| SignFailure::from(SignError::Unavailable(format!("the stored share does not decode: {e}"))))
}
