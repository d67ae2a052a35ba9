//! Signing for users' child keys.
//!
//! A user signs a [`SignRequest`] with its sr25519 account key and posts it to any TSS. That
//! TSS — the coordinator — checks it, picks `t` signers of the current committee from the
//! request's hash, and sends each a [`SignJob`]. Every signer checks the request itself (the
//! user's signature, its expiry, that the account is registered on chain, that the signers are
//! `t` members of the current committee including itself), runs synedrion's signing on the
//! account's BIP32 child of its share, and answers the coordinator. The coordinator checks the
//! signature against the child key derived from the parent key alone before it answers.
//!
//! A round that fails (a signer silent, or a rotation happened in between) is retried as a new
//! round — a new signing session — on the committee the chain names then, without the signers
//! that did not answer.
//!
//! Members the peer transport cannot reach (its last dial failed) are left out of the pick
//! while enough others remain, and probed so that one that is back is picked again; a round
//! whose signer turns out unreachable after its job was sent ends at once instead of waiting
//! out [`ROUND_TIMEOUT`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecdsa::signature::hazmat::PrehashVerifier;
use keywheel_chain::encoding::hex_vec;
use keywheel_chain::AccountId;
use keywheel_mpc::child_key::{account_path, child_verifying_key, eth_address, eth_address_string};
use keywheel_mpc::driver::Outcome;
use keywheel_mpc::ops::{self, Attempt};
use keywheel_mpc::{ParentKeyShare, PartyId, PartySignature, PartySigner};
use keywheel_rpc::{Bytes, KeywheelApiClient};
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sha3::Keccak256;
use tokio::sync::mpsc;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::keystore::{sharing_digest, Slot};
use crate::service::Shared;
use crate::transport::SessionNet;
use crate::wire::{Frame, SignJob, SignOutcome};
use crate::P;

/// The sr25519 signing context of sign requests.
pub const SIGN_REQUEST_CONTEXT: &[u8] = b"keywheel/sign-request";
/// The longest a request may stay valid.
pub const MAX_VALIDITY: Duration = Duration::from_secs(600);
/// The largest message a request may carry (larger ones: send their hash).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How many rounds a coordinator tries.
pub const MAX_ROUNDS: u32 = 3;
/// How long one signing round may take.
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(40);
/// How often a waiting coordinator looks for signers the transport cannot reach.
const REACH_CHECK: Duration = Duration::from_millis(200);

/// What a user asks the network to sign, signed by the user's account key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The registered account whose child key signs.
    pub account: AccountId,
    /// The message; what is signed is its Keccak-256 hash (as Ethereum signs a transaction's
    /// encoding). Exactly one of `message` and `hash` is given.
    #[serde(default)]
    pub message: Option<Bytes>,
    /// A 32-byte hash to sign as it is.
    #[serde(default)]
    pub hash: Option<Bytes>,
    /// 16 bytes the user picks at random: two requests never share them.
    #[serde(with = "hex_vec")]
    pub request_id: Vec<u8>,
    /// Unix time (ms) after which the request is void (at most [`MAX_VALIDITY`] ahead).
    pub expires_at_ms: u64,
    /// The account's sr25519 signature over everything above, bound to the network.
    #[serde(with = "hex_vec")]
    pub signature: Vec<u8>,
}

/// What the signature of a request covers.
#[derive(Serialize)]
struct RequestPayload<'a> {
    domain: &'static str,
    genesis_hash: &'a [u8; 32],
    account: &'a AccountId,
    prehash: &'a [u8; 32],
    request_id: &'a [u8],
    expires_at_ms: u64,
}

/// Why a sign request gets no signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SignError {
    /// The request is not well formed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The user's signature does not verify.
    #[error(
        "the request's signature does not verify for account {0}; sign it with that account's key for this network"
    )]
    BadSignature(AccountId),
    /// Expired, or valid for too long.
    #[error("the request is expired or valid for too long: {0}")]
    Expiry(String),
    /// The same request was seen before.
    #[error("this request was already handled (same request_id); send a new one")]
    Replay,
    /// The account is not registered on chain.
    #[error("account {0} is not registered; submit `register` from it first")]
    Unregistered(AccountId),
    /// No parent key yet, or not enough reachable committee members.
    #[error("cannot sign now: {0}")]
    Unavailable(String),
    /// Every round failed.
    #[error("signing failed: {0}")]
    Failed(String),
}

impl SignError {
    /// The HTTP status that fits.
    pub fn http_status(&self) -> u16 {
        match self {
            SignError::Malformed(_) | SignError::Expiry(_) => 400,
            SignError::BadSignature(_) => 401,
            SignError::Unregistered(_) => 403,
            SignError::Replay => 409,
            SignError::Unavailable(_) => 503,
            SignError::Failed(_) => 502,
        }
    }

    /// A stable short name.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::Malformed(_) => "malformed",
            SignError::BadSignature(_) => "bad_signature",
            SignError::Expiry(_) => "expiry",
            SignError::Replay => "replay",
            SignError::Unregistered(_) => "unregistered",
            SignError::Unavailable(_) => "unavailable",
            SignError::Failed(_) => "failed",
        }
    }
}

/// What to sign.
#[derive(Debug, Clone)]
pub enum ToSign {
    /// A message (its Keccak-256 hash is signed).
    Message(Vec<u8>),
    /// A 32-byte hash.
    Hash([u8; 32]),
}

impl SignRequest {
    /// A request signed by `user` for the network `genesis_hash`.
    pub fn new(
        user: &PartySigner,
        genesis_hash: [u8; 32],
        what: ToSign,
        request_id: [u8; 16],
        expires_at_ms: u64,
    ) -> Self {
        let (message, hash) = match what {
            ToSign::Message(m) => (Some(Bytes(m)), None),
            ToSign::Hash(h) => (None, Some(Bytes(h.to_vec()))),
        };
        let mut request = Self {
            account: AccountId(user.party_id().0),
            message,
            hash,
            request_id: request_id.to_vec(),
            expires_at_ms,
            signature: Vec::new(),
        };
        let prehash = request.prehash().expect("a request built here is well formed");
        request.signature = user
            .sign(SIGN_REQUEST_CONTEXT, &request.payload(&genesis_hash, &prehash))
            .0
            .to_vec();
        request
    }

    /// The 32 bytes that are signed.
    pub fn prehash(&self) -> Result<[u8; 32], SignError> {
        match (&self.message, &self.hash) {
            (Some(message), None) => {
                if message.0.len() > MAX_MESSAGE_BYTES {
                    return Err(SignError::Malformed(format!(
                        "the message is {} bytes; the limit is {MAX_MESSAGE_BYTES} (send its hash instead)",
                        message.0.len()
                    )));
                }
                Ok(Keccak256::digest(&message.0).into())
            }
            (None, Some(hash)) => hash
                .0
                .as_slice()
                .try_into()
                .map_err(|_| SignError::Malformed(format!("the hash is {} bytes, not 32", hash.0.len()))),
            _ => Err(SignError::Malformed("give exactly one of `message` and `hash`".into())),
        }
    }

    fn payload(&self, genesis_hash: &[u8; 32], prehash: &[u8; 32]) -> Vec<u8> {
        postcard::to_allocvec(&RequestPayload {
            domain: "keywheel/sign-request/v1",
            genesis_hash,
            account: &self.account,
            prehash,
            request_id: &self.request_id,
            expires_at_ms: self.expires_at_ms,
        })
        .expect("plain data serializes")
    }

    /// The request's hash: names it in signing sessions and replay caches.
    pub fn hash(&self, genesis_hash: &[u8; 32]) -> Result<[u8; 32], SignError> {
        let prehash = self.prehash()?;
        Ok(Sha256::digest(self.payload(genesis_hash, &prehash)).into())
    }

    /// The checks that need no state: form, expiry at `now_ms`, the user's signature. Returns
    /// the prehash to sign.
    pub fn check(&self, genesis_hash: &[u8; 32], now_ms: u64) -> Result<[u8; 32], SignError> {
        let prehash = self.prehash()?;
        if self.request_id.len() != 16 {
            return Err(SignError::Malformed("request_id must be 16 bytes".into()));
        }
        if self.expires_at_ms <= now_ms {
            return Err(SignError::Expiry("it has expired".into()));
        }
        if self.expires_at_ms > now_ms + MAX_VALIDITY.as_millis() as u64 {
            return Err(SignError::Expiry(format!(
                "it may be valid for at most {MAX_VALIDITY:?}"
            )));
        }
        let signature: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| SignError::Malformed("the signature must be 64 bytes".into()))?;
        let valid = PartyId(self.account.0).verify(
            SIGN_REQUEST_CONTEXT,
            &self.payload(genesis_hash, &prehash),
            &PartySignature(signature),
        );
        if !valid {
            return Err(SignError::BadSignature(self.account));
        }
        Ok(prehash)
    }
}

/// A recoverable signature by a child key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReply {
    /// `r`, 32 bytes big-endian.
    #[serde(with = "hex_vec")]
    pub r: Vec<u8>,
    /// `s`, 32 bytes big-endian, in the lower half.
    #[serde(with = "hex_vec")]
    pub s: Vec<u8>,
    /// Recovery id (0 or 1; Ethereum's `v` is this + 27).
    pub v: u8,
    /// The child verifying key (compressed SEC1).
    #[serde(with = "hex_vec")]
    pub child_key: Vec<u8>,
}

/// Why a signer produced no signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignFailure {
    /// What went wrong.
    pub message: String,
    /// Signers the session named as not answering.
    pub unresponsive: Vec<AccountId>,
}

impl From<SignError> for SignFailure {
    fn from(e: SignError) -> Self {
        Self {
            message: e.to_string(),
            unresponsive: Vec::new(),
        }
    }
}

/// What `POST /v1/sign` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignResponse {
    /// The signature.
    #[serde(flatten)]
    pub signature: SignatureReply,
    /// The child key's Ethereum address (EIP-55).
    pub address: String,
    /// The 32 bytes that were signed.
    #[serde(with = "hex_vec")]
    pub prehash: Vec<u8>,
    /// Who signed.
    pub signers: Vec<AccountId>,
    /// Which round succeeded (0 = the first).
    pub round: u32,
}

/// Checks `reply` for `account` against the parent key alone: the child key is derived from
/// `parent_key`, the signature must verify under it and `v` must recover it. Returns the
/// child key's address.
pub fn verify_reply(
    parent_key: &[u8],
    account: &AccountId,
    prehash: &[u8; 32],
    reply: &SignatureReply,
) -> Result<String, String> {
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(parent_key).map_err(|e| format!("parent key: {e}"))?;
    let child = child_verifying_key::<P>(&parent, &account_path(&account.0)).map_err(|e| e.to_string())?;
    let child_bytes = child.to_encoded_point(true).as_bytes().to_vec();
    if child_bytes != reply.child_key {
        return Err("the reply names another child key".into());
    }
    let r: [u8; 32] = reply.r.as_slice().try_into().map_err(|_| "r is not 32 bytes")?;
    let s: [u8; 32] = reply.s.as_slice().try_into().map_err(|_| "s is not 32 bytes")?;
    let signature = k256::ecdsa::Signature::from_scalars(r, s).map_err(|e| format!("signature: {e}"))?;
    child
        .verify_prehash(prehash, &signature)
        .map_err(|_| "the signature does not verify under the child key".to_string())?;
    let recovery = k256::ecdsa::RecoveryId::from_byte(reply.v).ok_or("v is not 0 or 1")?;
    let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(prehash, &signature, recovery)
        .map_err(|e| format!("recovery: {e}"))?;
    if recovered != child {
        return Err("v does not recover the child key".into());
    }
    Ok(eth_address_string(&eth_address(&child)))
}

/// Chooses `threshold` signers among `eligible` from the request's hash and round.
pub fn choose_signers(
    request: &[u8; 32],
    round: u32,
    eligible: &BTreeSet<AccountId>,
    threshold: usize,
) -> Option<BTreeSet<AccountId>> {
    if eligible.len() < threshold {
        return None;
    }
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"keywheel/signers")
        .chain_update(request)
        .chain_update(round.to_be_bytes())
        .finalize()
        .into();
    Some(
        keywheel_chain::committee::pick(eligible.iter().copied().collect(), threshold, &seed)
            .into_iter()
            .collect(),
    )
}

/// Requests seen, kept until they expire.
#[derive(Default)]
pub struct ReplayCache {
    seen: HashMap<Vec<u8>, u64>,
}

/// Entries a replay cache holds at most.
const REPLAY_CAPACITY: usize = 100_000;

impl ReplayCache {
    /// Records `key` (valid until `expires_at_ms`); refuses one seen before.
    pub fn insert(&mut self, key: Vec<u8>, expires_at_ms: u64, now_ms: u64) -> Result<(), SignError> {
        if self.seen.len() >= REPLAY_CAPACITY / 2 {
            self.seen.retain(|_, expiry| *expiry > now_ms);
        }
        if self.seen.len() >= REPLAY_CAPACITY {
            return Err(SignError::Unavailable(
                "too many requests in flight; try again shortly".into(),
            ));
        }
        if self.seen.insert(key, expires_at_ms).is_some() {
            return Err(SignError::Replay);
        }
        Ok(())
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The committee a round signs with: its members that still validate (so the transport knows
/// where they are), the threshold and the parent key.
struct SigningCommittee {
    eligible: BTreeSet<AccountId>,
    /// Whether this TSS is declared by a validating validator (peers accept only those).
    declared: bool,
    threshold: usize,
    parent_key: Vec<u8>,
    sharing: [u8; 32],
}

async fn signing_committee(shared: &Shared) -> Result<SigningCommittee, SignError> {
    let unavailable = |e: String| SignError::Unavailable(e);
    let client = shared.chain.client().await.map_err(|e| unavailable(e.to_string()))?;
    let view = client.committee().await.map_err(|e| unavailable(e.to_string()))?;
    let (Some(parent_key), Some(sharing)) = (view.parent_key, view.sharing) else {
        return Err(unavailable(
            "the network has no parent key yet (jumpstart first)".into(),
        ));
    };
    let validating: BTreeSet<AccountId> = client
        .validators()
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .into_iter()
        .map(|v| v.tss.account)
        .collect();
    let eligible = view
        .members
        .iter()
        .map(|m| m.tss)
        .filter(|tss| validating.contains(tss))
        .collect();
    Ok(SigningCommittee {
        eligible,
        declared: validating.contains(&shared.identity.account()),
        threshold: sharing.threshold as usize,
        parent_key,
        sharing: sharing_digest(sharing.threshold, &sharing.public_shares),
    })
}

async fn check_registered(shared: &Shared, account: &AccountId) -> Result<(), SignError> {
    let client = shared
        .chain
        .client()
        .await
        .map_err(|e| SignError::Unavailable(e.to_string()))?;
    match client.registry(*account).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(SignError::Unregistered(*account)),
        Err(e) => Err(SignError::Unavailable(e.to_string())),
    }
}

/// Coordinates a user's request: checks it, runs rounds with chosen signers until one returns
/// a signature that verifies under the child key, and answers.
pub async fn coordinate(shared: &Arc<Shared>, request: SignRequest) -> Result<SignResponse, SignError> {
    let started = tokio::time::Instant::now();
    let result = coordinate_rounds(shared, request).await;
    match &result {
        Ok(_) => {
            shared
                .metrics
                .signatures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            shared.metrics.observe_signing(started.elapsed());
        }
        Err(_) => {
            shared
                .metrics
                .sign_errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    result
}

async fn coordinate_rounds(shared: &Arc<Shared>, request: SignRequest) -> Result<SignResponse, SignError> {
    let genesis = shared.chain.genesis_hash();
    let now = now_ms();
    let prehash = request.check(&genesis, now)?;
    let hash = request.hash(&genesis)?;
    shared
        .requests_seen()
        .insert(hash.to_vec(), request.expires_at_ms, now)?;
    check_registered(shared, &request.account).await?;

    let mut silent: BTreeSet<AccountId> = BTreeSet::new();
    let mut failures = Vec::new();
    for round in 0..MAX_ROUNDS {
        let committee = signing_committee(shared).await?;
        if !committee.declared {
            return Err(SignError::Unavailable(
                "this TSS is not declared by a validating validator, so the committee does not accept its \
                 connections; send the request to a validator's TSS"
                    .into(),
            ));
        }
        let eligible: BTreeSet<AccountId> = committee.eligible.difference(&silent).copied().collect();
        let pool = reachable_pool(shared, &eligible, committee.threshold);
        let Some(signers) = choose_signers(&hash, round, &pool, committee.threshold) else {
            failures.push(format!(
                "round {round}: only {} of the committee can be reached, {} are needed",
                eligible.len(),
                committee.threshold
            ));
            break;
        };
        let span = info_span!("signing", request = %hex::encode(&hash[..6]), round);
        let outcome = run_round(shared, &request, hash, round, &signers)
            .instrument(span)
            .await;
        match outcome {
            RoundResult::Signed(reply) => match verify_reply(&committee.parent_key, &request.account, &prehash, &reply)
            {
                Ok(address) => {
                    return Ok(SignResponse {
                        signature: reply,
                        address,
                        prehash: prehash.to_vec(),
                        signers: signers.into_iter().collect(),
                        round,
                    })
                }
                Err(e) => failures.push(format!("round {round}: a signer's reply does not verify: {e}")),
            },
            RoundResult::Failed { reasons, unresponsive } => {
                failures.push(format!("round {round}: {}", reasons.join("; ")));
                silent.extend(unresponsive);
            }
        }
        info!(
            round,
            "signing round failed; trying again on the committee the chain names now"
        );
    }
    Err(SignError::Failed(failures.join(" | ")))
}

/// The members a round picks from: those the transport can reach, if there are at least
/// `threshold` of them, else all of `eligible`. Those left out are probed, so a member that is
/// back is picked again once it answers.
fn reachable_pool(shared: &Shared, eligible: &BTreeSet<AccountId>, threshold: usize) -> BTreeSet<AccountId> {
    let me = shared.identity.account();
    let unreachable = shared.transport.unreachable();
    let reachable: BTreeSet<AccountId> = eligible
        .iter()
        .filter(|a| **a == me || !unreachable.contains_key(a))
        .copied()
        .collect();
    for a in eligible.difference(&reachable) {
        shared.transport.probe(*a);
    }
    if reachable.len() >= threshold {
        reachable
    } else {
        eligible.clone()
    }
}

enum RoundResult {
    Signed(SignatureReply),
    Failed {
        reasons: Vec<String>,
        unresponsive: BTreeSet<AccountId>,
    },
}

async fn run_round(
    shared: &Arc<Shared>,
    request: &SignRequest,
    hash: [u8; 32],
    round: u32,
    signers: &BTreeSet<AccountId>,
) -> RoundResult {
    let me = shared.identity.account();
    let (tx, mut rx) = mpsc::channel(signers.len() + 1);
    shared.waiters().insert((hash, round), tx);
    let job = SignJob {
        request: request.clone(),
        round,
        signers: signers.clone(),
    };
    let sent_at = tokio::time::Instant::now();
    for signer in signers {
        if *signer == me {
            let (shared, job) = (shared.clone(), job.clone());
            tokio::spawn(async move { handle_job(&shared, me, job).await });
        } else {
            shared.transport.send(*signer, &Frame::SignJob(job.clone())).await;
        }
    }
    let mut answered = BTreeSet::new();
    let mut reasons = Vec::new();
    let mut unresponsive = BTreeSet::new();
    let deadline = sent_at + ROUND_TIMEOUT + Duration::from_secs(5);
    let mut reach_check = tokio::time::interval(REACH_CHECK);
    let result = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, rx.recv()) => next,
            _ = reach_check.tick() => {
                // A signer the job could not be delivered to cannot take part: end the round now.
                let down: BTreeSet<AccountId> = shared
                    .transport
                    .unreachable()
                    .into_iter()
                    .filter(|(a, since)| signers.contains(a) && !answered.contains(a) && *since >= sent_at)
                    .map(|(a, _)| a)
                    .collect();
                if down.is_empty() {
                    continue;
                }
                reasons.push(format!("{} signer(s) cannot be reached", down.len()));
                unresponsive.extend(down);
                break RoundResult::Failed { reasons, unresponsive };
            }
        };
        let Ok(Some((from, outcome))) = next else {
            unresponsive.extend(signers.difference(&answered).copied());
            reasons.push(format!(
                "{} signer(s) did not answer in time",
                signers.len() - answered.len()
            ));
            break RoundResult::Failed { reasons, unresponsive };
        };
        if !signers.contains(&from) || !answered.insert(from) {
            continue;
        }
        match outcome.result {
            Ok(reply) => break RoundResult::Signed(reply),
            Err(failure) => {
                reasons.push(format!("{from}: {}", failure.message));
                unresponsive.extend(failure.unresponsive);
            }
        }
        if answered.len() == signers.len() {
            break RoundResult::Failed { reasons, unresponsive };
        }
    };
    shared.waiters().remove(&(hash, round));
    result
}

/// Delivers a signer's outcome to the round waiting for it (if any).
pub(crate) async fn deliver_outcome(shared: &Shared, from: AccountId, outcome: SignOutcome) {
    let waiter = shared.waiters().get(&(outcome.request, outcome.round)).cloned();
    match waiter {
        Some(tx) => {
            let _ = tx.send((from, outcome)).await;
        }
        None => warn!(?from, "a signing outcome for no round in progress; ignored"),
    }
}

/// Runs a signing job as one signer and answers the coordinator `from`.
pub(crate) async fn handle_job(shared: &Arc<Shared>, from: AccountId, job: SignJob) {
    let request = job.request.hash(&shared.chain.genesis_hash()).unwrap_or_default();
    debug!(?from, round = job.round, "signing job");
    let result = sign_as_member(shared, &job).await;
    if let Err(e) = &result {
        warn!(?from, "signing job failed: {}", e.message);
    }
    let outcome = SignOutcome {
        request,
        round: job.round,
        result,
    };
    if from == shared.identity.account() {
        deliver_outcome(shared, from, outcome).await;
    } else {
        shared.transport.send(from, &Frame::SignOutcome(outcome)).await;
    }
}

async fn sign_as_member(shared: &Arc<Shared>, job: &SignJob) -> Result<SignatureReply, SignFailure> {
    let genesis = shared.chain.genesis_hash();
    let now = now_ms();
    let request = &job.request;
    let prehash = request.check(&genesis, now)?;
    let hash = request.hash(&genesis)?;
    if job.round >= MAX_ROUNDS {
        return Err(SignError::Malformed(format!("round {} is past the last round", job.round)).into());
    }
    let mut key = hash.to_vec();
    key.extend_from_slice(&job.round.to_be_bytes());
    shared.jobs_seen().insert(key, request.expires_at_ms, now)?;
    check_registered(shared, &request.account).await?;

    let me = shared.identity.account();
    let committee = signing_committee(shared).await?;
    if job.signers.len() != committee.threshold
        || !job.signers.contains(&me)
        || !job.signers.is_subset(&committee.eligible)
    {
        return Err(SignError::Malformed(format!(
            "the signers are not {} reachable members of the current committee including this TSS",
            committee.threshold
        ))
        .into());
    }
    let share = current_share(shared, &committee.sharing)?;
    let signers: BTreeSet<PartyId> = job.signers.iter().map(|a| PartyId(a.0)).collect();
    let attempt = Attempt {
        context: crate::wire::signing_context(&shared.transport.network(), &hash, job.round),
        deadline: tokio::time::Instant::now() + ROUND_TIMEOUT,
    };
    let net = SessionNet::signing(&shared.transport, hash, job.round, job.signers.clone());
    let mut rng = rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng)
        .map_err(|e| SignFailure::from(SignError::Failed(e.to_string())))?;
    let outcome = ops::sign::<P>(
        &mut rng,
        shared.identity.signer(),
        &share,
        &signers,
        &account_path(&request.account.0),
        &prehash,
        &attempt,
        &net,
    )
    .await
    .map_err(|e| SignFailure::from(SignError::Failed(e.to_string())))?;
    match outcome {
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
            unresponsive: offenders.iter().map(|o| AccountId(o.party.0)).collect(),
        }),
    }
}

/// This TSS's current share, if it is a share of the sharing the chain names now.
fn current_share(shared: &Shared, sharing: &[u8; 32]) -> Result<ParentKeyShare<P>, SignFailure> {
    let held = shared
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
    ParentKeyShare::<P>::from_bytes(&held.secret)
        .map_err(|e| SignFailure::from(SignError::Unavailable(format!("the stored share does not decode: {e}"))))
}

/// The rounds waiting for signers' outcomes, by request hash and round.
pub(crate) type Waiters = HashMap<([u8; 32], u32), mpsc::Sender<(AccountId, SignOutcome)>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> PartySigner {
        PartySigner::from_seed(&[9; 32])
    }

    const GENESIS: [u8; 32] = [1; 32];
    const NOW: u64 = 1_000_000;

    fn request() -> SignRequest {
        SignRequest::new(
            &user(),
            GENESIS,
            ToSign::Message(b"hello".to_vec()),
            [3; 16],
            NOW + 60_000,
        )
    }

    #[test]
    fn a_signed_request_checks_and_every_alteration_is_refused() {
        let r = request();
        assert_eq!(
            r.check(&GENESIS, NOW).unwrap(),
            <[u8; 32]>::from(Keccak256::digest(b"hello"))
        );
        assert!(
            matches!(r.check(&[2; 32], NOW), Err(SignError::BadSignature(_))),
            "another network"
        );

        let mut other = r.clone();
        other.message = Some(Bytes(b"hellO".to_vec()));
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.account = AccountId([4; 32]);
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.expires_at_ms += 1;
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.signature[0] ^= 1;
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::BadSignature(_))));
        let mut other = r.clone();
        other.hash = Some(Bytes(vec![0; 32]));
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::Malformed(_))));
        let mut other = r.clone();
        other.signature.pop();
        assert!(matches!(other.check(&GENESIS, NOW), Err(SignError::Malformed(_))));

        assert!(matches!(r.check(&GENESIS, NOW + 60_000), Err(SignError::Expiry(_))));
        let long = SignRequest::new(&user(), GENESIS, ToSign::Hash([5; 32]), [3; 16], NOW + 3_600_000);
        assert!(matches!(long.check(&GENESIS, NOW), Err(SignError::Expiry(_))));
        let big = SignRequest {
            message: Some(Bytes(vec![0; MAX_MESSAGE_BYTES + 1])),
            ..r.clone()
        };
        assert!(matches!(big.check(&GENESIS, NOW), Err(SignError::Malformed(_))));
    }

    #[test]
    fn requests_travel_as_json_with_ss58_and_hex() {
        let r = request();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(&r.account.to_ss58()), "{json}");
        assert!(json.contains("\"message\":\"0x68656c6c6f\""), "{json}");
        let back: SignRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let without_hash = json.replace(",\"hash\":null", "");
        assert_ne!(without_hash, json);
        assert_eq!(
            serde_json::from_str::<SignRequest>(&without_hash).unwrap(),
            r,
            "an omitted field is None"
        );
        // The binary form (a signing job between TSSs) round-trips too.
        let job = crate::wire::Frame::SignJob(crate::wire::SignJob {
            request: r,
            round: 1,
            signers: [AccountId([1; 32])].into(),
        });
        assert_eq!(
            crate::wire::decode_frame(&crate::wire::encode_frame(&job)).unwrap(),
            job
        );
    }

    #[test]
    fn replays_are_refused_until_they_expire() {
        let mut cache = ReplayCache::default();
        cache.insert(vec![1], NOW + 10, NOW).unwrap();
        assert_eq!(cache.insert(vec![1], NOW + 10, NOW), Err(SignError::Replay));
        cache.insert(vec![2], NOW + 10, NOW).unwrap();
    }

    #[test]
    fn signers_are_a_deterministic_subset_that_changes_with_the_round() {
        let eligible: BTreeSet<AccountId> = (0..5).map(|i| AccountId([i; 32])).collect();
        let a = choose_signers(&[7; 32], 0, &eligible, 3).unwrap();
        assert_eq!(a, choose_signers(&[7; 32], 0, &eligible, 3).unwrap());
        assert_eq!(a.len(), 3);
        assert!(a.is_subset(&eligible));
        let rounds: BTreeSet<_> = (0..8)
            .map(|r| choose_signers(&[7; 32], r, &eligible, 3).unwrap())
            .collect();
        assert!(rounds.len() > 1, "the choice never changes with the round");
        assert!(choose_signers(&[7; 32], 0, &eligible, 6).is_none());
    }
}
