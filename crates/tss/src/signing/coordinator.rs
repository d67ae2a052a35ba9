//! The coordinator's side of a signing request: its rounds, the signers it picks, and the
//! outcomes it waits for.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignError, SignRequest, SignResponse, SignatureReply};
use tokio::sync::mpsc;
use tracing::{info, info_span, warn, Instrument};

use super::admission::Admission;
use super::committee::{
    check_registered, choose_signers, refuse_if_halted, signing_committee, MAX_ROUNDS, ROUND_TIMEOUT,
};
use super::replay::ReplayCache;
use super::signer::Signer;
use crate::metrics::count;
use crate::resources::Resources;
use crate::sync::Locked;
use crate::wire::{Frame, SignJob, SignOutcome};

/// How often a waiting coordinator looks for signers the transport cannot reach.
const REACH_CHECK: Duration = Duration::from_millis(200);

/// The rounds waiting for signers' outcomes, by request hash and round.
type Waiters = HashMap<([u8; 32], u32), mpsc::Sender<(AccountId, SignOutcome)>>;

/// The coordinator of the requests users send this TSS: the rounds it runs and the requests it
/// has seen.
pub(super) struct Coordinator {
    res: Arc<Resources>,
    signer: Arc<Signer>,
    waiters: Locked<Waiters>,
    requests_seen: Locked<ReplayCache>,
    admission: Arc<Admission>,
}

impl Coordinator {
    /// A coordinator that asks `signer` when this TSS is one of a round's signers.
    pub(super) fn new(res: Arc<Resources>, signer: Arc<Signer>, admission: Arc<Admission>) -> Self {
        Self {
            res,
            signer,
            waiters: Locked::default(),
            requests_seen: Locked::default(),
            admission,
        }
    }

    /// Coordinates a user's request: checks it, runs rounds with chosen signers until one
    /// returns a signature that verifies under the child key, and answers.
    pub(super) async fn coordinate(self: &Arc<Self>, request: SignRequest) -> Result<SignResponse, SignError> {
        let started = tokio::time::Instant::now();
        let result = coordinate_rounds(self, request).await;
        match &result {
            Ok(_) => {
                count(&self.res.metrics.signatures);
                self.res.metrics.observe_signing(started.elapsed());
            }
            Err(_) => count(&self.res.metrics.sign_errors),
        }
        result
    }

    /// Delivers a signer's outcome to the round waiting for it (if any).
    pub(super) async fn deliver(&self, from: AccountId, outcome: SignOutcome) {
        let waiter = self.waiters.lock().get(&(outcome.request, outcome.round)).cloned();
        match waiter {
            Some(tx) => {
                let _ = tx.send((from, outcome)).await;
            }
            None => warn!(?from, "a signing outcome for no round in progress; ignored"),
        }
    }
}

async fn coordinate_rounds(coordinator: &Arc<Coordinator>, request: SignRequest) -> Result<SignResponse, SignError> {
    // What the node says (registrations, the committee) is not to be acted on while halted.
    refuse_if_halted(&coordinator.res)?;
    let genesis = coordinator.res.chain.genesis_hash();
    let now = now_ms();
    let prehash = request.check(&genesis, now)?;
    let hash = request.hash(&genesis)?;
    // Registered before it is remembered: throwaway accounts must not fill the replay cache.
    check_registered(&coordinator.res, &request.account).await?;
    // Admitted before it is remembered: a request refused as busy may be sent again as it is.
    let refused = |r: super::admission::Refused| {
        coordinator.res.metrics.sign_refused(r.why);
        r.error(request.account)
    };
    let mut ticket = coordinator.admission.admit(request.account).map_err(refused)?;
    coordinator
        .requests_seen
        .lock()
        .insert(hash.to_vec(), request.expires_at_ms, now)?;
    ticket
        .turn(patience(request.expires_at_ms, now))
        .await
        .map_err(refused)?;

    let mut excluded: BTreeSet<AccountId> = BTreeSet::new();
    let mut failures = Vec::new();
    for round in 0..MAX_ROUNDS {
        let committee = signing_committee(&coordinator.res).await?;
        if !committee.declared {
            return Err(SignError::Unavailable(
                "this TSS is not declared by a validating validator, so the committee does not accept its \
                 connections; send the request to a validator's TSS"
                    .into(),
            ));
        }
        let eligible: BTreeSet<AccountId> = committee.eligible.difference(&excluded).copied().collect();
        let pool = reachable_pool(coordinator, &eligible, committee.threshold);
        let Some(signers) = choose_signers(&hash, round, &pool, committee.threshold) else {
            failures.push(format!(
                "round {round}: only {} of the committee can be reached, {} are needed",
                eligible.len(),
                committee.threshold
            ));
            break;
        };
        let span = info_span!("signing", request = %hex::encode(&hash[..6]), round);
        let verify = |reply: &SignatureReply| verify_reply(&committee.parent_key, &request.account, &prehash, reply);
        let outcome = run_round(coordinator, &request, hash, round, &signers, verify)
            .instrument(span)
            .await;
        match outcome {
            RoundResult::Signed { reply, address } => {
                return Ok(SignResponse {
                    signature: reply,
                    address,
                    prehash: prehash.to_vec(),
                    signers: signers.into_iter().collect(),
                    round,
                })
            }
            RoundResult::Failed { reasons, excluded: out } => {
                failures.push(format!("round {round}: {}", reasons.join("; ")));
                excluded.extend(out);
            }
        }
        info!(
            round,
            "coordinator round failed; trying again on the committee the chain names now"
        );
    }
    Err(SignError::Failed(failures.join(" | ")))
}

/// How long a request may wait for a turn: while enough of its validity is left for all its
/// rounds (signers refuse an expired request).
fn patience(expires_at_ms: u64, now_ms: u64) -> Duration {
    let left = Duration::from_millis(expires_at_ms.saturating_sub(now_ms));
    left.saturating_sub(ROUND_TIMEOUT * MAX_ROUNDS)
}

/// The members a round picks from: those the transport can reach, if there are at least
/// `threshold` of them, else all of `eligible`. Those left out are probed, so a member that is
/// back is picked again once it answers.
fn reachable_pool(coordinator: &Coordinator, eligible: &BTreeSet<AccountId>, threshold: usize) -> BTreeSet<AccountId> {
    let me = coordinator.res.identity.account();
    let unreachable = coordinator.res.transport.unreachable();
    let reachable: BTreeSet<AccountId> = eligible
        .iter()
        .filter(|a| **a == me || !unreachable.contains_key(a))
        .copied()
        .collect();
    for a in eligible.difference(&reachable) {
        coordinator.res.transport.probe(*a);
    }
    if reachable.len() >= threshold {
        reachable
    } else {
        eligible.clone()
    }
}

enum RoundResult {
    /// A reply that verifies under the child key, and the child address.
    Signed { reply: SignatureReply, address: String },
    /// No reply verified; the signers to leave out of the request's later rounds.
    Failed {
        reasons: Vec<String>,
        excluded: BTreeSet<AccountId>,
    },
}

/// What a round learnt from the signers that answered it without a signature that verifies.
#[derive(Default)]
struct Answers {
    /// Signers the coordinator heard from in this round.
    heard: BTreeSet<AccountId>,
    /// Signers whose reply did not verify.
    bogus: BTreeSet<AccountId>,
    /// Signers some signer said did not answer it.
    claimed_unresponsive: BTreeSet<AccountId>,
    reasons: Vec<String>,
}

impl Answers {
    /// Signers the round excludes from the next: those whose reply did not verify, those the
    /// coordinator itself did not hear (`missing`), and those others called unresponsive that
    /// the coordinator did not hear either — a signer's word against one that answered is
    /// not believed.
    fn failed(mut self, missing: impl IntoIterator<Item = AccountId>) -> RoundResult {
        let mut excluded = self.bogus;
        excluded.extend(missing);
        excluded.extend(self.claimed_unresponsive.difference(&self.heard));
        if excluded.is_empty() && self.reasons.is_empty() {
            self.reasons.push("no signer returned a signature".into());
        }
        RoundResult::Failed {
            reasons: self.reasons,
            excluded,
        }
    }
}

async fn run_round(
    coordinator: &Arc<Coordinator>,
    request: &SignRequest,
    hash: [u8; 32],
    round: u32,
    signers: &BTreeSet<AccountId>,
    verify: impl Fn(&SignatureReply) -> Result<String, String>,
) -> RoundResult {
    let me = coordinator.res.identity.account();
    let (tx, mut rx) = mpsc::channel(signers.len() + 1);
    coordinator.waiters.lock().insert((hash, round), tx);
    let job = SignJob {
        request: request.clone(),
        round,
        signers: signers.clone(),
    };
    let sent_at = tokio::time::Instant::now();
    for signer in signers {
        if *signer == me {
            let (coordinator, job) = (coordinator.clone(), job.clone());
            tokio::spawn(async move {
                let outcome = coordinator.signer.run_job(me, &job).await;
                coordinator.deliver(me, outcome).await;
            });
        } else {
            coordinator
                .res
                .transport
                .send(*signer, &Frame::SignJob(job.clone()))
                .await;
        }
    }
    let mut answers = Answers::default();
    let deadline = sent_at + ROUND_TIMEOUT + Duration::from_secs(5);
    let mut reach_check = tokio::time::interval(REACH_CHECK);
    let result = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, rx.recv()) => next,
            _ = reach_check.tick() => {
                // A signer the job could not be delivered to cannot take part: end the round now.
                let down: BTreeSet<AccountId> = coordinator
                    .res.transport
                    .unreachable()
                    .into_iter()
                    .filter(|(a, since)| signers.contains(a) && !answers.heard.contains(a) && *since >= sent_at)
                    .map(|(a, _)| a)
                    .collect();
                if down.is_empty() {
                    continue;
                }
                answers.reasons.push(format!("{} signer(s) cannot be reached", down.len()));
                break answers.failed(down);
            }
        };
        let Ok(Some((from, outcome))) = next else {
            let missing: BTreeSet<AccountId> = signers.difference(&answers.heard).copied().collect();
            answers
                .reasons
                .push(format!("{} signer(s) did not answer in time", missing.len()));
            break answers.failed(missing);
        };
        if !signers.contains(&from) || !answers.heard.insert(from) {
            continue;
        }
        match outcome.result {
            Ok(reply) => match verify(&reply) {
                Ok(address) => break RoundResult::Signed { reply, address },
                Err(e) => {
                    warn!(?from, "a signer's reply does not verify: {e}");
                    answers.reasons.push(format!("{from}: its reply does not verify: {e}"));
                    answers.bogus.insert(from);
                }
            },
            Err(failure) => {
                answers.reasons.push(format!("{from}: {}", failure.message));
                answers.claimed_unresponsive.extend(failure.unresponsive);
            }
        }
        if answers.heard.len() == signers.len() {
            break answers.failed([]);
        }
    };
    coordinator.waiters.lock().remove(&(hash, round));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    fn excluded(result: RoundResult) -> BTreeSet<AccountId> {
        match result {
            RoundResult::Failed { excluded, .. } => excluded,
            RoundResult::Signed { .. } => panic!("a failed round signed"),
        }
    }

    #[test]
    fn a_bogus_reply_excludes_its_signer_and_a_claim_against_a_signer_that_answered_is_not_believed() {
        let mut answers = Answers::default();
        answers.heard.extend([a(1), a(2), a(3)]);
        answers.bogus.insert(a(1));
        // Signer 2 says 3 and 4 did not answer it; the coordinator heard 3 itself.
        answers.claimed_unresponsive.extend([a(3), a(4)]);
        assert_eq!(excluded(answers.failed([])), BTreeSet::from([a(1), a(4)]));
    }

    #[test]
    fn signers_the_coordinator_did_not_hear_are_excluded() {
        let mut answers = Answers::default();
        answers.heard.insert(a(1));
        answers.claimed_unresponsive.insert(a(1));
        assert_eq!(excluded(answers.failed([a(2), a(3)])), BTreeSet::from([a(2), a(3)]));
    }
}
