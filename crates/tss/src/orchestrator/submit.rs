//! What the orchestrator submits to the chain: confirmations of held shares (with a proof of
//! knowledge of the secret share) and reports of the offenders an attempt named.

use keywheel_chain::{proof_context, Call, Confirmation, ReshareRecord};
use keywheel_mpc::driver::{Fault, Offender};
use keywheel_mpc::proof::ShareProof;
use keywheel_mpc::ParentKeyShare;
use tracing::{error, info, warn};

use crate::chain::SubmitError;
use crate::keystore::Held;
use crate::metrics::count;
use crate::resources::Resources;
use crate::P;

/// Confirms the held share to the chain, with a proof of knowledge of its secret; `true` if the
/// chain took the confirmation.
pub(super) async fn confirm(res: &Resources, record: &ReshareRecord, held: &Held) -> bool {
    let me = res.identity.account();
    let share = match ParentKeyShare::<P>::from_bytes(&held.secret) {
        Ok(share) => share,
        Err(e) => {
            error!("the held share does not decode: {e}");
            return false;
        }
    };
    let context = proof_context(&res.transport.network(), record.session, record.attempt, &me);
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
    match res.chain.submit(call).await {
        Ok(_) => {
            count(&res.metrics.confirmations);
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
pub(super) async fn report(res: &Resources, record: &ReshareRecord, offenders: Vec<Offender>) {
    let mut silent = Vec::new();
    for offender in offenders {
        let accused = offender.party;
        match offender.fault {
            Fault::Evidence(blob) => {
                let call = Call::ReportOffence {
                    session: record.session,
                    attempt: record.attempt,
                    offender: accused,
                    evidence: blob.to_bytes(),
                };
                submit_report(res, call, "offence").await;
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
        submit_report(res, call, "silence").await;
    }
}

async fn submit_report(res: &Resources, call: Call, what: &str) {
    match res.chain.submit(call).await {
        Ok(_) => {
            count(&res.metrics.reports);
            info!("reported {what}");
        }
        // Another participant's report may have ended the attempt first.
        Err(e) => info!("the {what} report was not taken: {e}"),
    }
}
