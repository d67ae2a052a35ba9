//! The coordinator's side of a signing request: its rounds, the signers it picks, and the
//! outcomes it waits for.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_mpc::backend::BackendKind;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignError, SignRequest, SignResponse, SignatureReply};
use tokio::sync::mpsc;
use tracing::{debug, info, info_span, warn, Instrument};

use super::admission::Admission;
use super::committee::{
    check_registered, choose_signers_avoiding, refuse_if_halted, round_budget, round_timeout, signing_committee,
    SigningCommittee, MAX_DKLS_TRIES, MAX_ROUNDS,
};
use super::replay::ReplayCache;
use super::signer::{Signer, WORKING_EVERY};
use crate::metrics::count;
use crate::resources::Resources;
use crate::sync::Locked;
use crate::wire::{Frame, SignCancel, SignJob, SignOutcome, SignWorking};

/// How often a waiting coordinator looks for signers the transport cannot reach.
const REACH_CHECK: Duration = Duration::from_millis(200);

/// How long a signer of a round may go without a word (its outcome or [`SignWorking`]) before
/// the coordinator counts it as gone: several of the signer's [`WORKING_EVERY`].
const WORD_LAPSE: Duration = Duration::from_secs(30);

/// What a signer says to the coordinator of a round.
#[derive(Debug)]
enum Word {
    /// Its job still runs.
    Working,
    /// Its job ended.
    Outcome(SignOutcome),
}

/// After the others' answers settle that the signers left are silent, how long they still get
/// to answer (their sessions may have stalled a moment after the others').
const SETTLE_GRACE: Duration = Duration::from_secs(10);

/// A round waiting for its signers' words.
struct Waiter {
    /// Where the words go: at most one outcome and one working word per signer per
    /// `WORKING_EVERY / 2`, so the channel (4 per signer) never fills while the round reads it.
    tx: mpsc::Sender<(AccountId, Word)>,
    /// The round's signers: words from anyone else are dropped.
    signers: BTreeSet<AccountId>,
    /// Signers whose outcome went through (a second one is dropped).
    answered: BTreeSet<AccountId>,
    /// When each signer's last working word went through.
    working: HashMap<AccountId, tokio::time::Instant>,
}

impl Waiter {
    /// Passes `word` of `from` on if it is one the round takes (see [`Waiter::tx`]).
    fn pass(&mut self, from: AccountId, word: Word) {
        if !self.signers.contains(&from) {
            debug!(
                ?from,
                "a signing word from a party that is not a signer of the round; dropped"
            );
            return;
        }
        let now = tokio::time::Instant::now();
        let fresh = match &word {
            Word::Outcome(_) => self.answered.insert(from),
            Word::Working => match self.working.get(&from) {
                Some(at) if now.duration_since(*at) < WORKING_EVERY / 2 => false,
                _ => {
                    self.working.insert(from, now);
                    true
                }
            },
        };
        if fresh && self.tx.try_send((from, word)).is_err() {
            warn!(?from, "a signing round's words do not fit its channel; one dropped");
        }
    }
}

/// The rounds waiting for signers' words, by request hash and round.
type Waiters = HashMap<([u8; 32], u32), Waiter>;

/// Removes a round's [`Waiter`] when the round ends, however it ends (also when the user's
/// call is dropped).
struct Waiting<'a> {
    waiters: &'a Locked<Waiters>,
    key: ([u8; 32], u32),
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.waiters.lock().remove(&self.key);
    }
}

/// The coordinator of the requests users send this TSS: the rounds it runs and the requests it
/// has seen.
pub(super) struct Coordinator {
    res: Arc<Resources>,
    signer: Arc<Signer>,
    waiters: Locked<Waiters>,
    requests_seen: Locked<ReplayCache>,
    admission: Arc<Admission>,
    /// One signer's work for one counterpart (what round timeouts derive from).
    per_counterpart: Duration,
    /// The pairs of the current sharing's members that signers said hold no DKLs23 pair state.
    no_pairs: Locked<NoPairs>,
}

/// Pairs of members that cannot sign together (one side holds no DKLs23 pair state for the
/// other, its pair setup having failed), as signers reported them, for one sharing: what picks
/// avoid until the committee changes. Holds pairs of that sharing's members only, so at most
/// n(n-1)/2 of them.
#[derive(Default)]
struct NoPairs {
    sharing: [u8; 32],
    pairs: BTreeSet<(AccountId, AccountId)>,
}

impl NoPairs {
    /// The pairs known for `committee`'s sharing (none if it is another sharing than the
    /// last one learnt about).
    fn of(&mut self, committee: &SigningCommittee) -> BTreeSet<(AccountId, AccountId)> {
        self.follow(committee);
        self.pairs.clone()
    }

    /// Forgets the pairs of an earlier sharing than `committee`'s.
    fn follow(&mut self, committee: &SigningCommittee) {
        if self.sharing != committee.sharing {
            self.sharing = committee.sharing;
            self.pairs.clear();
        }
    }

    /// Remembers `pairs` of `committee`'s members, for its sharing.
    fn learn(&mut self, committee: &SigningCommittee, pairs: BTreeSet<(AccountId, AccountId)>) {
        self.follow(committee);
        let members =
            |(a, b): &(AccountId, AccountId)| committee.eligible.contains(a) && committee.eligible.contains(b);
        for p in pairs.into_iter().filter(members) {
            if self.pairs.insert(p) {
                warn!(a = ?p.0, b = ?p.1, "these two members hold no DKLs23 pair state together; signing sets avoid them");
            }
        }
    }
}

/// A pair of accounts in a fixed order.
fn pair(a: AccountId, b: AccountId) -> (AccountId, AccountId) {
    (a.min(b), a.max(b))
}

impl Coordinator {
    /// A coordinator that asks `signer` when this TSS is one of a round's signers.
    pub(super) fn new(
        res: Arc<Resources>,
        signer: Arc<Signer>,
        admission: Arc<Admission>,
        per_counterpart: Duration,
    ) -> Self {
        Self {
            res,
            signer,
            waiters: Locked::default(),
            requests_seen: Locked::default(),
            admission,
            per_counterpart,
            no_pairs: Locked::default(),
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

    /// Delivers a signer's outcome to the round waiting for it (if any). Never waits.
    pub(super) fn deliver(&self, from: AccountId, outcome: SignOutcome) {
        match self.waiters.lock().get_mut(&(outcome.request, outcome.round)) {
            Some(waiter) => waiter.pass(from, Word::Outcome(outcome)),
            None => debug!(
                ?from,
                "a signing outcome for no round in progress (it ended or was called off); ignored"
            ),
        }
    }

    /// Notes a signer's word that its job for a round in progress still runs. Never waits.
    pub(super) fn working(&self, from: AccountId, working: SignWorking) {
        if let Some(waiter) = self.waiters.lock().get_mut(&(working.request, working.round)) {
            waiter.pass(from, Word::Working);
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
    // Enough of its validity must be left for every round at the committee's threshold.
    let threshold = signing_committee(&coordinator.res).await?.threshold;
    let rounds = round_timeout(threshold, coordinator.per_counterpart) * MAX_ROUNDS;
    ticket
        .turn(patience(request.expires_at_ms, now, rounds))
        .await
        .map_err(refused)?;

    let mut excluded: BTreeSet<AccountId> = BTreeSet::new();
    let mut failures = Vec::new();
    let mut not_heard: BTreeSet<AccountId> = BTreeSet::new();
    // Rounds that failed (each a fault or a rotation) are at most MAX_ROUNDS; tries that found
    // a signer's DKLs23 pairs busy are not failures, and go on while the validity lasts.
    let (mut failed, mut busy_tries) = (0u32, 0u32);
    let mut busy_claims: HashMap<AccountId, u32> = HashMap::new();
    // The signer whose pairs were busy in the last try sits the next one out, if enough remain.
    let mut sits_out: Option<AccountId> = None;
    for round in 0..MAX_DKLS_TRIES {
        if failed >= MAX_ROUNDS {
            break;
        }
        let committee = signing_committee(&coordinator.res).await?;
        if !committee.declared {
            return Err(SignError::Unavailable(
                "this TSS is not declared by a validating validator, so the committee does not accept its \
                 connections; send the request to a validator's TSS"
                    .into(),
            ));
        }
        let eligible: BTreeSet<AccountId> = committee.eligible.difference(&excluded).copied().collect();
        let mut pool = reachable_pool(coordinator, &eligible, committee.threshold);
        if let Some(busy) = sits_out.take() {
            if pool.len() > committee.threshold {
                pool.remove(&busy);
            }
        }
        let avoid = coordinator.no_pairs.lock().of(&committee);
        let Some(signers) = choose_signers_avoiding(&hash, round, &pool, committee.threshold, &avoid) else {
            failures.push(format!(
                "round {round}: only {} of the committee can be reached, {} are needed",
                eligible.len(),
                committee.threshold
            ));
            break;
        };
        let span = info_span!("signing", request = %hex::encode(&hash[..6]), round);
        let verify = |reply: &SignatureReply| verify_reply(&committee.parent_key, &request.account, &prehash, reply);
        // The coordinator waits as long as the slower backend's signers may: each signer ends
        // its session by its own key's backend's timeout.
        let timeout = committee.round_timeout(BackendKind::Synedrion, coordinator.per_counterpart);
        let budget = round_budget(failed, timeout, request.expires_at_ms, now_ms());
        if budget < timeout {
            failures.push(format!(
                "round {round}: too little of the request's validity is left for a round"
            ));
            break;
        }
        let outcome = run_round(coordinator, &request, hash, round, &signers, budget, verify)
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
            RoundResult::Busy { signer, reason, bogus } => {
                excluded.extend(bogus);
                // A signer that keeps saying its pairs are busy sits the request out while
                // enough others remain: the claim costs the others a try each time.
                let claims = busy_claims.entry(signer).or_insert(0u32);
                *claims += 1;
                let left = committee.eligible.iter().filter(|a| !excluded.contains(a)).count();
                if *claims >= BUSY_CLAIMS && left > committee.threshold {
                    excluded.insert(signer);
                }
                busy_tries += 1;
                debug!(round, "a signer's DKLs23 pairs were busy; trying again");
                if failures.last().is_some_and(|f: &String| f.contains("pairs busy")) {
                    failures.pop();
                }
                failures.push(format!("{busy_tries} tries found pairs busy, the last: {reason}"));
                sits_out = Some(signer);
                tokio::time::sleep(busy_backoff(busy_tries)).await;
                continue;
            }
            RoundResult::Failed {
                reasons,
                bogus,
                unheard,
                no_pairs,
                refused,
            } => {
                failed += 1;
                failures.push(format!("round {round}: {}", reasons.join("; ")));
                coordinator.no_pairs.lock().learn(&committee, no_pairs);
                not_heard.extend(unheard.iter().copied());
                excluded.extend(bogus);
                let left = committee
                    .eligible
                    .iter()
                    .filter(|a| !excluded.contains(a) && !unheard.contains(a) && !refused.contains(a))
                    .count();
                if left >= committee.threshold {
                    excluded.extend(unheard);
                    excluded.extend(refused);
                } else {
                    info!(
                        round,
                        "the signers not heard from stay eligible: without them fewer than {} remain",
                        committee.threshold
                    );
                }
            }
        }
        info!(
            round,
            "coordinator round failed; trying again on the committee the chain names now"
        );
    }
    Err(SignError::Failed(failure_summary(&failures, &not_heard)))
}

/// How many times one signer may say its pairs are busy in one request before it sits the
/// request out (while enough others remain).
const BUSY_CLAIMS: u32 = 3;

/// How long a coordinator waits before its `tries`-th try after busy pairs: a random 1 ms up to
/// a cap that doubles per try from 2 ms to 32 ms, so that signings that met do not meet again
/// in step. A DKLs23 signing takes tens of milliseconds.
fn busy_backoff(tries: u32) -> Duration {
    let cap = 2u64 << tries.saturating_sub(1).min(4);
    Duration::from_millis(1 + rand_core::RngCore::next_u64(&mut rand_core::OsRng) % cap)
}

/// One short error for a request no round signed: how many rounds failed, what the last one
/// said, who was not heard from, and what to do.
fn failure_summary(failures: &[String], not_heard: &BTreeSet<AccountId>) -> String {
    let last = failures.last().map_or("no round could start", String::as_str);
    let mut text = format!("{} round(s) failed; {last}", failures.len());
    if !not_heard.is_empty() {
        let names: Vec<String> = not_heard.iter().map(short_name).collect();
        text.push_str(&format!("; not heard from: {}", names.join(", ")));
    }
    text.push_str(". Try again later, or ask another TSS.");
    text
}

/// A TSS account as errors name it: the start of its SS58 address.
fn short_name(account: &AccountId) -> String {
    account.to_ss58().chars().take(8).collect()
}

/// A signer's message, cut to a line.
fn shorten(message: &str) -> String {
    const MOST: usize = 160;
    match message.char_indices().nth(MOST) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

/// How long a request may wait for a turn: while enough of its validity is left for all its
/// `rounds` (signers refuse an expired request).
fn patience(expires_at_ms: u64, now_ms: u64, rounds: Duration) -> Duration {
    let left = Duration::from_millis(expires_at_ms.saturating_sub(now_ms));
    left.saturating_sub(rounds)
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
    /// A signer's DKLs23 pairs were held by a signing ahead in line: no fault; the round was
    /// called off at the others and the request is tried again. `bogus` as in `Failed`.
    Busy {
        signer: AccountId,
        reason: String,
        bogus: BTreeSet<AccountId>,
    },
    /// No reply verified.
    Failed {
        reasons: Vec<String>,
        /// Signers whose reply did not verify: left out of the request's later rounds.
        bogus: BTreeSet<AccountId>,
        /// Signers not heard from (nor by the coordinator, nor, by their word, by the others):
        /// left out of later rounds while enough others remain — a slow signer is not a lost one.
        unheard: BTreeSet<AccountId>,
        /// Pairs of this round's signers one of them said it holds no DKLs23 pair state for:
        /// later picks avoid them.
        no_pairs: BTreeSet<(AccountId, AccountId)>,
        /// The signer that refused its job (which ended the round): left out of later rounds
        /// while enough others remain, without being reported as unheard.
        refused: BTreeSet<AccountId>,
    },
}

/// What a round learnt from the signers that answered it without a signature that verifies.
#[derive(Default)]
struct Answers {
    /// Signers the coordinator heard from in this round.
    heard: BTreeSet<AccountId>,
    /// Signers whose reply did not verify.
    bogus: BTreeSet<AccountId>,
    /// Signers some signer said did not answer it, and by how many of the answers.
    named: HashMap<AccountId, usize>,
    /// Pairs of signers without DKLs23 pair state, by one side's word.
    no_pairs: BTreeSet<(AccountId, AccountId)>,
    reasons: Vec<String>,
}

impl Answers {
    /// The signers not heard from, when the others' answers settle that they will not be: at
    /// least two signers and as many as are left answered, and a majority of those answers
    /// named each one left. A signer that keeps saying it works but that its peers' sessions
    /// stalled on thus ends the round [`SETTLE_GRACE`] after they answer, not at the round's
    /// end; one signer's claim against others that still work does not.
    fn settled_silent(&self, signers: &BTreeSet<AccountId>) -> Option<BTreeSet<AccountId>> {
        let left: BTreeSet<AccountId> = signers.difference(&self.heard).copied().collect();
        let named_by_most = |s: &AccountId| 2 * self.named.get(s).copied().unwrap_or(0) > self.heard.len();
        let enough = self.heard.len() >= 2 && self.heard.len() >= left.len();
        (!left.is_empty() && enough && left.iter().all(named_by_most)).then_some(left)
    }

    /// Signers the round excludes from the next: those whose reply did not verify, those the
    /// coordinator itself did not hear (`missing`), and those others called unresponsive that
    /// the coordinator did not hear either — a signer's word against one that answered is
    /// not believed.
    fn failed(mut self, missing: impl IntoIterator<Item = AccountId>) -> RoundResult {
        let mut unheard: BTreeSet<AccountId> = missing.into_iter().collect();
        unheard.extend(self.named.keys().filter(|s| !self.heard.contains(s)));
        if self.reasons.is_empty() {
            self.reasons.push("no signer returned a signature".into());
        }
        RoundResult::Failed {
            reasons: self.reasons,
            bogus: self.bogus,
            unheard,
            no_pairs: self.no_pairs,
            refused: BTreeSet::new(),
        }
    }

    /// The round `refuser` ended by refusing its job. Signers not heard yet were still at work
    /// (or waiting for the refuser), so no claim against them is believed.
    fn ended_by_refusal(self, refuser: AccountId) -> RoundResult {
        RoundResult::Failed {
            reasons: self.reasons,
            bogus: self.bogus,
            unheard: BTreeSet::new(),
            no_pairs: self.no_pairs,
            refused: BTreeSet::from([refuser]),
        }
    }
}

async fn run_round(
    coordinator: &Arc<Coordinator>,
    request: &SignRequest,
    hash: [u8; 32],
    round: u32,
    signers: &BTreeSet<AccountId>,
    budget: Duration,
    verify: impl Fn(&SignatureReply) -> Result<String, String>,
) -> RoundResult {
    let me = coordinator.res.identity.account();
    let (tx, mut rx) = mpsc::channel(4 * signers.len() + 1);
    coordinator.waiters.lock().insert(
        (hash, round),
        Waiter {
            tx,
            signers: signers.clone(),
            answered: BTreeSet::new(),
            working: HashMap::new(),
        },
    );
    let _waiting = Waiting {
        waiters: &coordinator.waiters,
        key: (hash, round),
    };
    let job = SignJob {
        request: request.clone(),
        round,
        signers: signers.clone(),
    };
    let sent_at = tokio::time::Instant::now();
    for signer in signers {
        if *signer == me {
            let enrolled = coordinator.signer.enrol(me, &job);
            let (coordinator, job) = (coordinator.clone(), job.clone());
            tokio::spawn(async move {
                let outcome = coordinator.signer.run_job(me, &job, enrolled).await;
                coordinator.deliver(me, outcome);
            });
        } else {
            coordinator
                .res
                .transport
                .send(*signer, &Frame::SignJob(job.clone()))
                .await;
        }
    }
    // A signer's session runs for the round's budget while it progresses, and ends when it
    // stalls; the coordinator waits while the signers say they work, and gives their outcomes
    // a few seconds past the budget.
    let deadline = sent_at + budget + Duration::from_secs(5);
    // A signer the job could not be delivered to cannot take part, nor can one the directory no
    // longer declares (slashed or chilled meanwhile: everyone closed its connections).
    let down = |heard: &BTreeSet<AccountId>| -> BTreeSet<AccountId> {
        let transport = &coordinator.res.transport;
        let mut down: BTreeSet<AccountId> = transport
            .unreachable()
            .into_iter()
            .filter(|(a, since)| signers.contains(a) && !heard.contains(a) && *since >= sent_at)
            .map(|(a, _)| a)
            .collect();
        down.extend(
            signers
                .iter()
                .filter(|a| **a != me && !heard.contains(a) && !transport.is_declared(a)),
        );
        down
    };
    let result = collect_outcomes(&mut rx, signers, me, deadline, verify, down).await;
    if !matches!(result, RoundResult::Signed { .. }) {
        // Signers still at work end their jobs (releasing their DKLs23 pairs) now rather
        // than at their sessions' deadlines.
        let cancel = SignCancel { request: hash, round };
        for signer in signers {
            if *signer == me {
                coordinator.signer.call_off(me, cancel);
            } else {
                coordinator
                    .res
                    .transport
                    .send(*signer, &Frame::SignCancel(cancel))
                    .await;
            }
        }
    }
    result
}

/// Waits for a round's outcomes until a signature that verifies, every signer answered, the
/// others' answers settle that the rest are silent ([`Answers::settled_silent`], for
/// [`SETTLE_GRACE`]), the deadline, or a signer turns out gone: unreachable (`down`) or
/// without a word for [`WORD_LAPSE`] (checked every [`REACH_CHECK`]; `me`, whose job runs in
/// this process, always answers). Words from others than the round's signers, and a second outcome from one, are
/// ignored.
async fn collect_outcomes(
    rx: &mut mpsc::Receiver<(AccountId, Word)>,
    signers: &BTreeSet<AccountId>,
    me: AccountId,
    deadline: tokio::time::Instant,
    verify: impl Fn(&SignatureReply) -> Result<String, String>,
    down: impl Fn(&BTreeSet<AccountId>) -> BTreeSet<AccountId>,
) -> RoundResult {
    let mut answers = Answers::default();
    let started = tokio::time::Instant::now();
    let mut last_word: HashMap<AccountId, tokio::time::Instant> = signers.iter().map(|s| (*s, started)).collect();
    let mut reach_check = tokio::time::interval(REACH_CHECK);
    let mut settled_since: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, rx.recv()) => next,
            _ = reach_check.tick() => {
                let down = down(&answers.heard);
                let now = tokio::time::Instant::now();
                if settled_since.is_some_and(|at| now.duration_since(at) >= SETTLE_GRACE) {
                    if let Some(silent) = answers.settled_silent(signers) {
                        answers
                            .reasons
                            .push(format!("{} signer(s) named unresponsive by the others", silent.len()));
                        return answers.failed(silent);
                    }
                }
                let lapsed: BTreeSet<AccountId> = last_word
                    .iter()
                    .filter(|(s, at)| **s != me && !answers.heard.contains(*s) && now.duration_since(**at) > WORD_LAPSE)
                    .map(|(s, _)| *s)
                    .collect();
                if down.is_empty() && lapsed.is_empty() {
                    continue;
                }
                if !down.is_empty() {
                    answers.reasons.push(format!("{} signer(s) cannot be reached", down.len()));
                }
                if !lapsed.is_empty() {
                    answers.reasons.push(format!("{} signer(s) stopped answering", lapsed.len()));
                }
                return answers.failed(down.into_iter().chain(lapsed));
            }
        };
        let Ok(Some((from, word))) = next else {
            let missing: BTreeSet<AccountId> = signers.difference(&answers.heard).copied().collect();
            answers.reasons.push(format!(
                "{} signer(s) did not answer within the round's time",
                missing.len()
            ));
            return answers.failed(missing);
        };
        let Some(at) = last_word.get_mut(&from) else {
            continue;
        };
        *at = tokio::time::Instant::now();
        let outcome = match word {
            Word::Working => continue,
            Word::Outcome(outcome) => outcome,
        };
        if !answers.heard.insert(from) {
            continue;
        }
        match outcome.result {
            Ok(reply) => match verify(&reply) {
                Ok(address) => return RoundResult::Signed { reply, address },
                Err(e) => {
                    warn!(?from, "a signer's reply does not verify: {e}");
                    answers.reasons.push(format!(
                        "{}: its reply does not verify ({})",
                        short_name(&from),
                        shorten(&e)
                    ));
                    answers.bogus.insert(from);
                }
            },
            Err(failure) if failure.busy => {
                return RoundResult::Busy {
                    signer: from,
                    reason: format!("{}: {}", short_name(&from), shorten(&failure.message)),
                    bogus: answers.bogus,
                };
            }
            Err(failure) => {
                answers
                    .reasons
                    .push(format!("{}: {}", short_name(&from), shorten(&failure.message)));
                // A signer that ran no session cannot have heard anyone: its names are ignored.
                let named: BTreeSet<AccountId> = match failure.refused {
                    true => BTreeSet::new(),
                    false => failure.unresponsive.into_iter().collect(),
                };
                for s in named {
                    *answers.named.entry(s).or_default() += 1;
                }
                // A claim about a pair of this round's signers only (it cannot fill memory).
                for other in failure
                    .no_pair_with
                    .iter()
                    .filter(|o| **o != from && signers.contains(o))
                {
                    answers.no_pairs.insert(pair(from, *other));
                }
                // Without this signer's side the others' sessions can only stall: the round ends
                // now (and is called off at them).
                if failure.refused {
                    return answers.ended_by_refusal(from);
                }
            }
        }
        if answers.heard.len() == signers.len() {
            return answers.failed([]);
        }
        settled_since = match (answers.settled_silent(signers), settled_since) {
            (Some(_), None) => Some(tokio::time::Instant::now()),
            (Some(_), since) => since,
            (None, _) => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SignFailure;

    fn a(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    /// The bogus signers and the unheard ones of a failed round.
    fn left_out(result: RoundResult) -> (BTreeSet<AccountId>, BTreeSet<AccountId>) {
        match result {
            RoundResult::Failed { bogus, unheard, .. } => (bogus, unheard),
            RoundResult::Signed { .. } | RoundResult::Busy { .. } => panic!("the round did not fail"),
        }
    }

    #[test]
    fn a_bogus_reply_excludes_its_signer_and_a_claim_against_a_signer_that_answered_is_not_believed() {
        let mut answers = Answers::default();
        answers.heard.extend([a(1), a(2), a(3)]);
        answers.bogus.insert(a(1));
        // Signer 2 says 3 and 4 did not answer it; the coordinator heard 3 itself.
        answers.named.extend([(a(3), 1), (a(4), 1)]);
        assert_eq!(
            left_out(answers.failed([])),
            (BTreeSet::from([a(1)]), BTreeSet::from([a(4)]))
        );
    }

    fn reply(s: u8) -> SignatureReply {
        SignatureReply {
            r: vec![s; 32],
            s: vec![s; 32],
            v: 0,
            child_key: vec![2; 33],
        }
    }

    fn outcome(result: Result<SignatureReply, SignFailure>) -> SignOutcome {
        SignOutcome {
            request: [9; 32],
            round: 0,
            result,
        }
    }

    fn said(result: Result<SignatureReply, SignFailure>) -> Word {
        Word::Outcome(outcome(result))
    }

    /// A reply "verifies" here when its `r` is all 1s.
    fn verify(reply: &SignatureReply) -> Result<String, String> {
        match reply.r.iter().all(|b| *b == 1) {
            true => Ok("0xchild".into()),
            false => Err("not under the child key".into()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_bogus_ok_does_not_end_the_round_and_the_next_good_reply_signs() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        tx.send((a(1), said(Ok(reply(7))))).await.unwrap();
        // An outsider's "signature" and a second answer from the bogus signer are ignored.
        tx.send((a(9), said(Ok(reply(1))))).await.unwrap();
        tx.send((a(2), said(Ok(reply(1))))).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        match collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await {
            RoundResult::Signed { reply, address } => {
                assert_eq!((reply.r[0], address.as_str()), (1, "0xchild"));
            }
            RoundResult::Failed { reasons, .. } => panic!("the good reply was not taken: {reasons:?}"),
            RoundResult::Busy { reason, .. } => panic!("the good reply was not taken: {reason}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_round_excludes_the_bogus_signer_not_the_one_it_calls_unresponsive() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        tx.send((a(1), said(Ok(reply(7))))).await.unwrap();
        let blame = SignFailure {
            message: "the signing session failed".into(),
            unresponsive: vec![a(3)],
            no_pair_with: Vec::new(),
            busy: false,
            refused: false,
        };
        tx.send((a(2), said(Err(blame)))).await.unwrap();
        tx.send((a(3), said(Err(SignFailure::from(SignError::Failed("x".into()))))))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        assert_eq!(left_out(result), (BTreeSet::from([a(1)]), BTreeSet::new()));

        // A signer that never answers is excluded at the deadline.
        let (_tx, mut rx) = mpsc::channel::<(AccountId, Word)>(8);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        assert_eq!(left_out(result), (BTreeSet::new(), signers));
    }

    #[tokio::test(start_paused = true)]
    async fn a_signer_that_says_it_works_is_waited_for_and_one_without_a_word_is_left_out() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        // Signers 1 and 2 compute for four lapses, saying so; signer 1 then signs.
        let slow = tx.clone();
        tokio::spawn(async move {
            for _ in 0..(4 * WORD_LAPSE.as_secs() / WORKING_EVERY.as_secs()) {
                tokio::time::sleep(WORKING_EVERY).await;
                slow.send((a(1), Word::Working)).await.unwrap();
                slow.send((a(2), Word::Working)).await.unwrap();
            }
            slow.send((a(1), said(Ok(reply(1))))).await.unwrap();
        });
        let started = tokio::time::Instant::now();
        let result = collect_outcomes(&mut rx, &BTreeSet::from([a(1), a(2)]), a(0), deadline, verify, |_| {
            BTreeSet::new()
        })
        .await;
        assert!(
            matches!(result, RoundResult::Signed { .. }),
            "the working signers were not waited for"
        );
        assert!(started.elapsed() >= 4 * WORD_LAPSE);

        // Signer 3 says nothing: it is left out once its word lapses, long before the deadline;
        // the others, which keep saying they work, are not.
        let talk = tx.clone();
        let talking = tokio::spawn(async move {
            loop {
                tokio::time::sleep(WORKING_EVERY).await;
                talk.send((a(1), Word::Working)).await.unwrap();
                talk.send((a(2), Word::Working)).await.unwrap();
            }
        });
        let started = tokio::time::Instant::now();
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        talking.abort();
        assert_eq!(left_out(result), (BTreeSet::new(), BTreeSet::from([a(3)])));
        assert!(started.elapsed() <= WORD_LAPSE + 2 * REACH_CHECK);

        // The coordinator's own job never lapses: it answers in this process.
        let (_tx, mut rx) = mpsc::channel::<(AccountId, Word)>(8);
        let deadline = tokio::time::Instant::now() + 3 * WORD_LAPSE;
        let result = collect_outcomes(&mut rx, &BTreeSet::from([a(0)]), a(0), deadline, verify, |_| {
            BTreeSet::new()
        })
        .await;
        match result {
            RoundResult::Failed { reasons, unheard, .. } => {
                assert_eq!(unheard, BTreeSet::from([a(0)]));
                assert!(reasons[0].contains("within the round's time"), "{reasons:?}");
            }
            RoundResult::Signed { .. } | RoundResult::Busy { .. } => panic!("the round did not fail"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pairs_without_state_are_learnt_from_the_round_and_forgotten_with_the_sharing() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        // Signer 1 holds no pair with 2, nor (it says) with 9 and itself, who are not signers.
        let no_pair = SignFailure {
            message: "no DKLs23 pair state".into(),
            unresponsive: Vec::new(),
            no_pair_with: vec![a(2), a(9), a(1)],
            busy: false,
            refused: true,
        };
        tx.send((a(1), said(Err(no_pair)))).await.unwrap();
        tx.send((a(2), blame(&[a(1)]))).await.unwrap();
        tx.send((a(3), blame(&[a(1)]))).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let RoundResult::Failed { no_pairs, .. } =
            collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await
        else {
            panic!("nothing signed");
        };
        assert_eq!(no_pairs, BTreeSet::from([(a(1), a(2))]));

        let committee = |sharing: u8, members: &[u8]| SigningCommittee {
            eligible: members.iter().map(|i| a(*i)).collect(),
            declared: true,
            threshold: 3,
            parent_key: Vec::new(),
            sharing: [sharing; 32],
            resharing: false,
        };
        let mut known = NoPairs::default();
        let now = committee(1, &[1, 2, 3, 4]);
        // Pairs with a non-member are not kept.
        known.learn(&now, BTreeSet::from([(a(1), a(2)), (a(3), a(7))]));
        assert_eq!(known.of(&now), BTreeSet::from([(a(1), a(2))]));
        // Another sharing: a new committee, new pair setups.
        assert!(known.of(&committee(2, &[1, 2, 3, 4])).is_empty());
    }

    /// A signer whose pairs are busy ends the round at once, blaming nobody (a fault would
    /// exclude it, and the others' sessions would wait for it until their deadline).
    #[tokio::test(start_paused = true)]
    async fn a_busy_signer_ends_the_round_at_once_as_busy_not_failed() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        tx.send((a(1), Word::Working)).await.unwrap();
        let busy = SignFailure {
            message: "pair held by a signing ahead in line".into(),
            unresponsive: Vec::new(),
            no_pair_with: Vec::new(),
            busy: true,
            refused: false,
        };
        tx.send((a(2), said(Err(busy)))).await.unwrap();
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs(60);
        match collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await {
            RoundResult::Busy { signer, reason, .. } => {
                assert_eq!(signer, a(2));
                assert!(reason.contains("ahead in line"), "{reason}");
            }
            RoundResult::Signed { .. } | RoundResult::Failed { .. } => panic!("a busy signer is neither"),
        }
        assert_eq!(started.elapsed(), Duration::ZERO, "ended on the busy word, not a timer");
    }

    #[test]
    fn the_wait_after_busy_pairs_is_short_and_grows_to_a_cap() {
        for tries in [1, 2, 5, 50] {
            let most = Duration::from_millis(1 + (2u64 << (tries - 1).min(4)));
            for _ in 0..100 {
                let wait = busy_backoff(tries);
                assert!(
                    wait >= Duration::from_millis(1) && wait < most,
                    "{wait:?} after {tries}"
                );
            }
        }
    }

    /// A signer that refused its job (say, it rotated a moment before the others) ends the
    /// round at once: the others' sessions would only wait for it until they stall (40 s
    /// and more), holding their pairs.
    #[tokio::test(start_paused = true)]
    async fn a_signer_that_refused_its_job_ends_the_round_at_once_blaming_no_one() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let (tx, mut rx) = mpsc::channel(16);
        tx.send((a(1), Word::Working)).await.unwrap();
        // A refusal that names a signer still at work is not believed: it ran no session.
        let refused = SignFailure {
            unresponsive: vec![a(3)],
            ..SignFailure::from(SignError::Unavailable("not of the sharing the chain names now".into()))
        };
        tx.send((a(2), said(Err(refused)))).await.unwrap();
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs(60);
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        assert_eq!(started.elapsed(), Duration::ZERO, "ended on the refusal, not a timer");
        let RoundResult::Failed { refused, .. } = &result else {
            panic!("a refusal fails the round");
        };
        assert_eq!(refused, &BTreeSet::from([a(2)]), "the refuser sits later rounds out");
        assert_eq!(left_out(result), (BTreeSet::new(), BTreeSet::new()));
    }

    fn blame(named: &[AccountId]) -> Word {
        said(Err(SignFailure {
            message: "the signing session failed".into(),
            unresponsive: named.to_vec(),
            no_pair_with: Vec::new(),
            busy: false,
            refused: false,
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn a_signer_that_says_it_works_but_its_peers_stalled_on_ends_the_round_when_they_answer() {
        let signers = BTreeSet::from([a(1), a(2), a(3)]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        // Signer 3 says it works and never does; 1 and 2 work, stall on it and name it.
        let (tx, mut rx) = mpsc::channel(64);
        let talk = tx.clone();
        let talking = tokio::spawn(async move {
            loop {
                for s in [1, 2, 3] {
                    talk.send((a(s), Word::Working)).await.unwrap();
                }
                tokio::time::sleep(WORKING_EVERY).await;
            }
        });
        let answering = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(40)).await;
            tx.send((a(1), blame(&[a(3)]))).await.unwrap();
            tx.send((a(2), blame(&[a(3)]))).await.unwrap();
        });
        let started = tokio::time::Instant::now();
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        talking.abort();
        answering.await.unwrap();
        assert_eq!(left_out(result), (BTreeSet::new(), BTreeSet::from([a(3)])));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(40) + SETTLE_GRACE && took < Duration::from_secs(41) + SETTLE_GRACE,
            "{took:?}"
        );

        // One signer's word against two that still work ends nothing: they sign.
        let (tx, mut rx) = mpsc::channel(64);
        tx.send((a(1), blame(&[a(2), a(3)]))).await.unwrap();
        let working = tokio::spawn(async move {
            for _ in 0..12 {
                tokio::time::sleep(WORKING_EVERY).await;
                tx.send((a(2), Word::Working)).await.unwrap();
                tx.send((a(3), Word::Working)).await.unwrap();
            }
            tx.send((a(2), said(Ok(reply(1))))).await.unwrap();
        });
        let result = collect_outcomes(&mut rx, &signers, a(0), deadline, verify, |_| BTreeSet::new()).await;
        working.await.unwrap();
        assert!(
            matches!(result, RoundResult::Signed { .. }),
            "one claim ended the round"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_takes_one_outcome_per_signer_and_no_flood_of_words() {
        let (tx, mut rx) = mpsc::channel(4 * 2 + 1);
        let mut waiter = Waiter {
            tx,
            signers: BTreeSet::from([a(1), a(2)]),
            answered: BTreeSet::new(),
            working: HashMap::new(),
        };
        // An outsider's words, a signer's flood of working words and of outcomes.
        waiter.pass(a(9), said(Ok(reply(1))));
        waiter.pass(a(9), Word::Working);
        for _ in 0..1000 {
            waiter.pass(a(1), Word::Working);
            waiter.pass(a(1), blame(&[a(2)]));
        }
        // The honest signer's words still get through.
        waiter.pass(a(2), Word::Working);
        waiter.pass(a(2), said(Ok(reply(1))));
        let mut got = Vec::new();
        while let Ok((from, word)) = rx.try_recv() {
            got.push((from, matches!(word, Word::Working)));
        }
        assert_eq!(got, vec![(a(1), true), (a(1), false), (a(2), true), (a(2), false)]);
        // A signer's next working word goes through once half its interval has passed.
        tokio::time::advance(WORKING_EVERY / 2).await;
        waiter.pass(a(1), Word::Working);
        assert!(matches!(rx.try_recv(), Ok((_, Word::Working))));
    }

    #[test]
    fn a_request_that_cannot_be_signed_fails_with_one_short_error() {
        let long = "x".repeat(10_000);
        let failures = vec![
            format!("round 0: {}", shorten(&long)),
            "round 1: 2 signer(s) did not answer in time".to_string(),
        ];
        let text = failure_summary(&failures, &BTreeSet::from([a(1), a(2)]));
        assert!(
            text.starts_with("2 round(s) failed; round 1: 2 signer(s) did not answer in time"),
            "{text}"
        );
        assert!(text.contains(&format!("not heard from: {}, {}", short_name(&a(1)), short_name(&a(2)))));
        assert!(text.ends_with("Try again later, or ask another TSS."));
        assert!(text.len() < 300, "{} bytes: {text}", text.len());
        assert_eq!(shorten(&long).chars().count(), 161);
    }

    #[test]
    fn signers_the_coordinator_did_not_hear_are_excluded() {
        let mut answers = Answers::default();
        answers.heard.insert(a(1));
        answers.named.insert(a(1), 1);
        assert_eq!(
            left_out(answers.failed([a(2), a(3)])),
            (BTreeSet::new(), BTreeSet::from([a(2), a(3)]))
        );
    }
}
