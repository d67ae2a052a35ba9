//! One attempt this TSS takes part in: its protocol (jumpstart or rotation), the new share into
//! the holding slot, the confirmation, or the report of the offenders it named.

use std::sync::Arc;

use keywheel_chain::{ReshareKind, ReshareRecord, Sharing};
use keywheel_mpc::backend::{self, BackendKind, Dkls23, MemberKey, Synedrion};
use keywheel_mpc::driver::Outcome;
use keywheel_mpc::ops::Attempt;
use keywheel_mpc::reshare::ReshareInputs;
use keywheel_mpc::PublicSharing;
use keywheel_rpc::{KeywheelApiClient, ReshareView};
use rand_core::SeedableRng;
use tracing::{error, info, warn};

use super::status::{AttemptReport, AttemptResult, AttemptStatus};
use super::submit::{confirm, report, Confirmed};
use crate::chain::query_error;
use crate::error::TssError;
use crate::fault::Faults;
use crate::keystore::{Held, Slot, SlotInfo};
use crate::metrics::count;
use crate::resources::Resources;
use crate::sync::Locked;
use crate::transport::ProtocolNet;
use crate::P;

/// The share of the chain deadline a TSS gives its protocol sessions, so that its silence
/// reports reach the chain before the chain's own deadline.
const LOCAL_DEADLINE_SHARE: f64 = 0.75;

/// Runs this TSS's part of the attempt `view` and records how it ended in `status`.
pub(super) async fn run(
    res: &Arc<Resources>,
    faults: &Faults,
    status: &Locked<AttemptStatus>,
    view: &ReshareView,
    sharing: Option<&Sharing>,
) {
    let record = &view.record;
    let key = (record.session, record.attempt);
    let started = tokio::time::Instant::now();
    count(&res.metrics.attempts);
    info!(participants = record.participants().len(), "taking part in the attempt");
    let result = match protocol(res, faults, record, sharing).await {
        Ok(Outcome::Done(Some(new_key))) => match hold(res, record, &new_key) {
            Ok(held) => match confirm(res, record, &held).await {
                Confirmed::Sealed => AttemptResult::Confirmed,
                // The next reconcile confirms again while no sealed block holds it.
                Confirmed::NotYet => AttemptResult::HeldNotConfirmed,
                Confirmed::Refused => {
                    status.lock().confirmation_refused = Some(key);
                    AttemptResult::HeldNotConfirmed
                }
            },
            Err(e) => {
                error!("could not keep the new share: {e}");
                AttemptResult::Error(e.to_string())
            }
        },
        Ok(Outcome::Done(None)) => AttemptResult::Left,
        Ok(Outcome::Failed { offenders }) => {
            count(&res.metrics.attempt_failures);
            let named: Vec<_> = offenders.iter().map(|o| o.party).collect();
            warn!(?named, "the attempt failed");
            let unsent = report(res, record, offenders).await;
            status
                .lock()
                .unsent_reports
                .extend(unsent.into_iter().map(|call| (key, call)));
            AttemptResult::Failed { named }
        }
        Err(e) => {
            error!("the attempt could not run: {e}");
            AttemptResult::Error(e.to_string())
        }
    };
    let report = AttemptReport {
        session: record.session,
        attempt: record.attempt,
        result,
        took_ms: started.elapsed().as_millis() as u64,
    };
    status.lock().finish(key, report);
}

/// When this TSS's protocol sessions of `record` give up: a share of the time to the chain
/// deadline.
async fn local_deadline(res: &Resources, record: &ReshareRecord) -> Result<tokio::time::Instant, TssError> {
    let status = res.chain.client().await?.status().await.map_err(query_error)?;
    let blocks = record.deadline.saturating_sub(status.height);
    let remaining = res.chain.block_time().mul_f64(blocks as f64 * LOCAL_DEADLINE_SHARE);
    Ok(tokio::time::Instant::now() + remaining)
}

async fn protocol(
    res: &Resources,
    faults: &Faults,
    record: &ReshareRecord,
    sharing: Option<&Sharing>,
) -> Result<Outcome<Option<MemberKey>>, TssError> {
    let attempt = Attempt {
        context: keywheel_chain::attempt_context(&res.transport.network(), record.session, record.attempt),
        deadline: local_deadline(res, record).await?,
        stall: None,
        cancel: None,
    };
    let net = ProtocolNet::attempt(&res.transport, record.session, record.attempt, record.participants());
    let mut rng = rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng).map_err(|e| TssError::Config(e.to_string()))?;
    let signer = res.identity.signer();
    // DKLs23 signs with at least two signers: at threshold 1 every TSS configured for it makes a
    // synedrion key instead (the same rule on every TSS, so the committee stays on one backend).
    let backend = match res.backend {
        BackendKind::Dkls23 if record.new_threshold < 2 => {
            warn!("DKLs23 needs a threshold of at least 2; this attempt makes synedrion keys");
            BackendKind::Synedrion
        }
        configured => configured,
    };
    match record.kind {
        ReshareKind::Jumpstart => {
            let (committee, t) = (record.new_tss(), record.new_threshold);
            let outcome = match backend {
                BackendKind::Synedrion => {
                    backend::jumpstart_on::<Synedrion>(&mut rng, signer, &committee, t, &attempt, &net).await?
                }
                BackendKind::Dkls23 => {
                    backend::jumpstart_on::<Dkls23>(&mut rng, signer, &committee, t, &attempt, &net).await?
                }
            };
            Ok(outcome.map(Some))
        }
        ReshareKind::Rotation => {
            let sharing = sharing.ok_or_else(|| TssError::Node("a rotation without a current sharing".into()))?;
            let old = PublicSharing::<P>::from_encoded(sharing.threshold, &sharing.public_shares)?;
            let previous = if record.staying.contains(&res.identity.account()) {
                let held = res
                    .keystore()
                    .get(Slot::Current)?
                    .filter(|h| h.info.sharing_digest() == sharing.digest())
                    .ok_or_else(|| {
                        TssError::Config("this TSS stays but holds no share of the current sharing".into())
                    })?;
                Some(MemberKey::from_bytes(&held.secret)?)
            } else {
                None
            };
            let inputs = ReshareInputs {
                old,
                staying: record.staying.clone(),
                new_committee: record.new_tss(),
                new_threshold: record.new_threshold,
            };
            Ok(faults
                .reshare(
                    &mut rng,
                    signer,
                    backend,
                    inputs,
                    previous.as_ref(),
                    &attempt,
                    record.attempt,
                    &net,
                )
                .await?)
        }
    }
}

/// Puts a new share into the holding slot.
fn hold(res: &Resources, record: &ReshareRecord, share: &MemberKey) -> Result<Held, TssError> {
    let public = share.share().public();
    let held = Held {
        info: SlotInfo {
            session: record.session,
            attempt: record.attempt,
            verifying_key: share.verifying_key_bytes(),
            threshold: public.threshold,
            public_shares: public.encoded_public_shares(),
        },
        secret: share.to_bytes()?,
    };
    res.keystore().put_next(&held)?;
    info!(backend = %share.kind(), "the new share is in the holding slot");
    Ok(held)
}
