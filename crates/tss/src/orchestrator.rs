//! Follows the chain and does what it says: runs jumpstart and reshare attempts this TSS takes
//! part in, keeps the result in the holding slot and confirms it, rotates when the chain has
//! rotated, erases shares of sharings that are no longer the chain's, and reports offenders.
//!
//! Everything happens in [`reconcile`], which compares the chain's state with the keystore and
//! acts on the difference. Events only trigger it (and a timer does too), so a TSS that was down
//! — or missed events — does the right thing as soon as it reads the chain again:
//!
//! - `RotateKey` passed while it was down and `next` holds the confirmed sharing: it rotates;
//! - it is no longer in the committee: its old share is erased;
//! - the attempt in flight is one it began before a crash: it waits for the attempt to end (it
//!   cannot take part again — fresh randomness in the same session would be equivocation), and
//!   the other participants report it;
//! - it holds `next` for the attempt in flight but has not confirmed: it confirms.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::{
    proof_context, AccountId, Call, Confirmation, Event, ReshareKind, ReshareRecord, Sharing, TssInfo,
};
use keywheel_mpc::driver::{Fault, Outcome};
use keywheel_mpc::ops::{self, Attempt};
use keywheel_mpc::proof::ShareProof;
use keywheel_mpc::reshare::ReshareInputs;
use keywheel_mpc::{ParentKeyShare, PartyId, PublicSharing};
use keywheel_rpc::{KeywheelApiClient, ReshareView};
use rand_core::SeedableRng;
use serde::Serialize;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::chain::{query_error, SubmitError};
use crate::error::TssError;
use crate::keystore::{sharing_digest, Held, Slot, SlotInfo};
use crate::service::Shared;
use crate::transport::{Directory, Peer, SessionNet};
use crate::P;

/// How often the TSS reads the chain even without events.
const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// The share of the chain deadline a TSS gives its protocol sessions, so that its silence
/// reports reach the chain before the chain's own deadline.
const LOCAL_DEADLINE_SHARE: f64 = 0.75;

/// What happened to the last attempt this TSS took part in.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    /// Session.
    pub session: u32,
    /// Attempt.
    pub attempt: u32,
    /// `confirmed`, `left`, `failed: …`, `error: …`.
    pub result: String,
    /// Wall time of the protocol run, in ms.
    pub took_ms: u64,
}

/// Keeps following the chain until the process stops.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        let client = match shared.chain.client().await {
            Ok(client) => client,
            Err(e) => {
                warn!("{e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut events = match client.subscribe_events().await {
            Ok(events) => events,
            Err(e) => {
                warn!("cannot subscribe to the node's events ({e}); retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tokio::select! {
                record = events.next() => match record {
                    Some(Ok(record)) => if relevant(&record.event) { reconcile_logged(&shared).await },
                    Some(Err(e)) => { warn!("event does not decode: {e}"); }
                    None => break,
                },
                _ = tick.tick() => reconcile_logged(&shared).await,
            }
        }
        warn!("the node's event subscription ended; resubscribing");
    }
}

fn relevant(event: &Event) -> bool {
    matches!(
        event,
        Event::ReshareStarted { .. }
            | Event::RotateKey { .. }
            | Event::ReshareAborted { .. }
            | Event::Confirmed { .. }
            | Event::Validating { .. }
    )
}

async fn reconcile_logged(shared: &Arc<Shared>) {
    if let Err(e) = reconcile(shared).await {
        warn!("could not follow the chain this time: {e}");
    }
}

/// The transport's directory from the chain's validators.
pub fn directory(validators: &[keywheel_rpc::ValidatorInfo]) -> Directory {
    Directory::new(validators.iter().map(|v| {
        let TssInfo {
            account,
            endpoint,
            x25519,
        } = &v.tss;
        (
            *account,
            Peer {
                endpoint: endpoint.clone(),
                x25519: *x25519,
            },
        )
    }))
}

/// Compares the chain with the keystore and acts on the difference.
pub(crate) async fn reconcile(shared: &Arc<Shared>) -> Result<(), TssError> {
    let client = shared.chain.client().await?;
    let validators = client.validators().await.map_err(query_error)?;
    shared.transport.set_directory(directory(&validators));
    let committee = client.committee().await.map_err(query_error)?;
    let reshare = client.reshare().await.map_err(query_error)?;
    *shared.chain_session.lock().unwrap_or_else(|p| p.into_inner()) = Some(committee.session);

    if let Some(sharing) = &committee.sharing {
        settle_slots(shared, sharing, reshare.as_ref())?;
    }
    let Some(view) = reshare else { return Ok(()) };
    let record = &view.record;
    shared.transport.set_floor(record.session, record.attempt);
    let me = shared.identity.account();
    if !record.participants().contains(&me) {
        return Ok(());
    }
    let key = (record.session, record.attempt);
    if record.new_tss().contains(&me) {
        let next = shared.keystore().get(Slot::Next)?;
        if let Some(held) = next.filter(|h| (h.info.session, h.info.attempt) == key) {
            let confirmed_here = shared
                .last_attempt
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_some_and(|r| (r.session, r.attempt) == key && r.result == "confirmed");
            if !view.confirmations.contains_key(&me) && shared.running() != Some(key) && !confirmed_here {
                confirm(shared, record, &held).await;
            }
            return Ok(());
        }
    }
    if shared.running() == Some(key) {
        return Ok(());
    }
    if shared.keystore().started()? == Some(key) {
        debug!(
            session = key.0,
            attempt = key.1,
            "this TSS began this attempt before it restarted and cannot rejoin it; waiting for it to end"
        );
        return Ok(());
    }
    shared.keystore().mark_started(record.session, record.attempt)?;
    *shared.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(key);
    let (shared, view, sharing) = (shared.clone(), view.clone(), committee.sharing.clone());
    let span = info_span!("reshare", kind = ?view.record.kind, session = key.0, attempt = key.1);
    tokio::spawn(async move { run_attempt(&shared, &view, sharing.as_ref()).await }.instrument(span));
    Ok(())
}

/// Rotates to `next` once the chain's sharing is `next`'s, and erases shares of any sharing that
/// is not the chain's (a departed member's, or a holding slot no rotation will use).
fn settle_slots(shared: &Shared, sharing: &Sharing, reshare: Option<&ReshareView>) -> Result<(), TssError> {
    let chain = sharing_digest(sharing.threshold, &sharing.public_shares);
    let mut keystore = shared.keystore();
    let current = keystore.info(Slot::Current)?;
    let next = keystore.info(Slot::Next)?;
    let current_ok = current.as_ref().is_some_and(|c| c.sharing_digest() == chain);
    if let Some(n) = &next {
        if n.sharing_digest() == chain && !current_ok {
            let info = keystore.rotate()?;
            shared
                .metrics
                .rotations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            info!(
                session = info.session,
                attempt = info.attempt,
                "rotated: the confirmed share is current now"
            );
            return Ok(());
        }
    }
    if current.is_some() && !current_ok {
        keystore.erase(Slot::Current)?;
        info!("erased a share of a sharing the chain no longer uses (this TSS left the committee)");
    }
    if let Some(n) = next {
        let in_flight = reshare.map(|v| (v.record.session, v.record.attempt));
        if in_flight != Some((n.session, n.attempt)) {
            keystore.erase(Slot::Next)?;
            info!(
                session = n.session,
                attempt = n.attempt,
                "erased a held share of an attempt that ended without rotating to it"
            );
        }
    }
    Ok(())
}

fn party(account: &AccountId) -> PartyId {
    PartyId(account.0)
}

fn parties(accounts: &BTreeSet<AccountId>) -> BTreeSet<PartyId> {
    accounts.iter().map(party).collect()
}

/// When this TSS's sessions of `record` give up: a share of the time to the chain deadline.
async fn local_deadline(shared: &Shared, record: &ReshareRecord) -> Result<tokio::time::Instant, TssError> {
    let status = shared.chain.client().await?.status().await.map_err(query_error)?;
    let blocks = record.deadline.saturating_sub(status.height);
    let remaining = shared.chain.block_time().mul_f64(blocks as f64 * LOCAL_DEADLINE_SHARE);
    Ok(tokio::time::Instant::now() + remaining)
}

async fn run_attempt(shared: &Arc<Shared>, view: &ReshareView, sharing: Option<&Sharing>) {
    let record = &view.record;
    let started = tokio::time::Instant::now();
    shared
        .metrics
        .attempts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    info!(participants = record.participants().len(), "taking part in the attempt");
    let result = match protocol(shared, record, sharing).await {
        Ok(Outcome::Done(Some(share))) => match hold(shared, record, &share) {
            Ok(held) => {
                if confirm(shared, record, &held).await {
                    "confirmed".to_string()
                } else {
                    // Not taken (the node may be down): the next reconcile confirms again.
                    "held, not confirmed yet".to_string()
                }
            }
            Err(e) => {
                error!("could not keep the new share: {e}");
                format!("error: {e}")
            }
        },
        Ok(Outcome::Done(None)) => "left".to_string(),
        Ok(Outcome::Failed { offenders }) => {
            shared
                .metrics
                .attempt_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let named: Vec<AccountId> = offenders.iter().map(|o| AccountId(o.party.0)).collect();
            warn!(?named, "the attempt failed");
            report(shared, record, offenders).await;
            format!("failed: named {named:?}")
        }
        Err(e) => {
            error!("the attempt could not run: {e}");
            format!("error: {e}")
        }
    };
    *shared.last_attempt.lock().unwrap_or_else(|p| p.into_inner()) = Some(AttemptReport {
        session: record.session,
        attempt: record.attempt,
        result,
        took_ms: started.elapsed().as_millis() as u64,
    });
    *shared.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

async fn protocol(
    shared: &Shared,
    record: &ReshareRecord,
    sharing: Option<&Sharing>,
) -> Result<Outcome<Option<ParentKeyShare<P>>>, TssError> {
    let me = shared.identity.account();
    let attempt = Attempt {
        context: keywheel_chain::attempt_context(&shared.transport.network(), record.session, record.attempt),
        deadline: local_deadline(shared, record).await?,
    };
    let net = SessionNet::attempt(&shared.transport, record.session, record.attempt, record.participants());
    let mut rng = rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng).map_err(|e| TssError::Config(e.to_string()))?;
    let signer = shared.identity.signer();
    match record.kind {
        ReshareKind::Jumpstart => {
            let committee = parties(&record.new_tss());
            let outcome =
                ops::jumpstart::<P>(&mut rng, signer, &committee, record.new_threshold, &attempt, &net).await?;
            Ok(outcome.map(Some))
        }
        ReshareKind::Rotation => {
            let sharing = sharing.ok_or_else(|| TssError::Node("a rotation without a current sharing".into()))?;
            let old_shares = sharing
                .public_shares
                .iter()
                .map(|(a, b)| (party(a), b.clone()))
                .collect();
            let old = PublicSharing::<P>::from_encoded(sharing.threshold, &old_shares)?;
            let old_share = if record.staying.contains(&me) {
                let held = shared
                    .keystore()
                    .get(Slot::Current)?
                    .filter(|h| h.info.sharing_digest() == sharing_digest(sharing.threshold, &sharing.public_shares))
                    .ok_or_else(|| {
                        TssError::Config("this TSS stays but holds no share of the current sharing".into())
                    })?;
                Some(ParentKeyShare::<P>::from_bytes(&held.secret)?.share)
            } else {
                None
            };
            let inputs = ReshareInputs {
                old,
                staying: parties(&record.staying),
                new_committee: parties(&record.new_tss()),
                new_threshold: record.new_threshold,
            };
            #[cfg(feature = "fault-injection")]
            let fault = match shared.fault.as_ref().map(crate::fault::FaultSwitch::current) {
                Some(Ok(fault)) => fault,
                Some(Err(e)) => {
                    warn!("fault injection: {e}; running honestly");
                    None
                }
                None => None,
            };
            #[cfg(feature = "fault-injection")]
            match fault {
                Some(crate::fault::InjectedFault::Silent) => {
                    warn!("fault injection: taking part without sending anything");
                    let muted = crate::fault::Muted(&net);
                    return Ok(ops::reshare::<P>(&mut rng, signer, inputs, old_share, &attempt, &muted).await?);
                }
                Some(crate::fault::InjectedFault::Malicious) if old_share.is_some() => {
                    warn!("fault injection: sending corrupted subshares");
                    let cheat = keywheel_mpc::misbehave::Cheat::BadSubshare;
                    return Ok(keywheel_mpc::misbehave::reshare::<P>(
                        &mut rng, signer, inputs, old_share, cheat, &attempt, &net,
                    )
                    .await?);
                }
                _ => {}
            }
            Ok(ops::reshare::<P>(&mut rng, signer, inputs, old_share, &attempt, &net).await?)
        }
    }
}

/// Puts a new share into the holding slot.
fn hold(shared: &Shared, record: &ReshareRecord, share: &ParentKeyShare<P>) -> Result<Held, TssError> {
    let public = share.share.public();
    let held = Held {
        info: SlotInfo {
            session: record.session,
            attempt: record.attempt,
            verifying_key: share.verifying_key_bytes(),
            threshold: public.threshold,
            public_shares: public
                .encoded_public_shares()
                .into_iter()
                .map(|(id, bytes)| (AccountId(id.0), bytes))
                .collect(),
        },
        secret: share.to_bytes()?,
    };
    shared.keystore().put_next(&held)?;
    info!("the new share is in the holding slot");
    Ok(held)
}

/// Confirms the held share to the chain, with a proof of knowledge of its secret; `true` if the
/// chain took the confirmation.
async fn confirm(shared: &Shared, record: &ReshareRecord, held: &Held) -> bool {
    let me = shared.identity.account();
    let share = match ParentKeyShare::<P>::from_bytes(&held.secret) {
        Ok(share) => share,
        Err(e) => {
            error!("the held share does not decode: {e}");
            return false;
        }
    };
    let context = proof_context(&shared.transport.network(), record.session, record.attempt, &me);
    let proof = ShareProof::prove::<P>(&mut rand_core::OsRng, share.share.secret(), &context).to_bytes();
    let call = Call::Confirm {
        session: record.session,
        attempt: record.attempt,
        confirmation: Confirmation {
            verifying_key: held.info.verifying_key.clone(),
            public_shares: held.info.public_shares.clone(),
            proof,
        },
    };
    match shared.chain.submit(call).await {
        Ok(_) => {
            shared
                .metrics
                .confirmations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            info!("confirmed the new share to the chain");
            true
        }
        Err(SubmitError::Refused(e)) => {
            warn!("the chain refused the confirmation: {e}");
            false
        }
        Err(e) => {
            warn!("could not confirm now ({e}); will retry");
            false
        }
    }
}

/// Reports the offenders a failed attempt named: evidence as offences, the rest as silent.
async fn report(shared: &Shared, record: &ReshareRecord, offenders: Vec<keywheel_mpc::driver::Offender>) {
    let mut silent = Vec::new();
    for offender in offenders {
        let accused = AccountId(offender.party.0);
        match offender.fault {
            Fault::Evidence(blob) => {
                let call = Call::ReportOffence {
                    session: record.session,
                    attempt: record.attempt,
                    offender: accused,
                    evidence: blob.to_bytes(),
                };
                submit_report(shared, call, "offence").await;
            }
            Fault::Unresponsive { .. } | Fault::Unprovable { .. } => silent.push(accused),
        }
    }
    if !silent.is_empty() {
        let call = Call::ReportUnresponsive {
            session: record.session,
            attempt: record.attempt,
            parties: silent,
        };
        submit_report(shared, call, "silence").await;
    }
}

async fn submit_report(shared: &Shared, call: Call, what: &str) {
    match shared.chain.submit(call).await {
        Ok(_) => {
            shared
                .metrics
                .reports
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            info!("reported {what}");
        }
        // Another participant's report may have ended the attempt first.
        Err(e) => info!("the {what} report was not taken: {e}"),
    }
}
