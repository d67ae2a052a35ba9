//! What the orchestrator submits to the chain: confirmations of held shares (with a proof of
//! knowledge of the secret share) and reports of the offenders an attempt named.

use keywheel_chain::{
    proof_context, AccountId, AttemptProtocol, Call, Confirmation, ReportedRound, ReshareRecord, Silence,
};
use keywheel_mpc::backend::MemberKey;
use keywheel_mpc::driver::{Fault, MissingRound, Offender, ProtocolKind};
use keywheel_mpc::proof::ShareProof;
use tracing::{error, info, warn};

use crate::chain::SubmitError;
use crate::keystore::Held;
use crate::metrics::count;
use crate::resources::Resources;
use crate::P;

/// Where a confirmation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Confirmed {
    /// A sealed block holds it.
    Sealed,
    /// It may be in no block (the node is down, or stopped before sealing): send it again.
    NotYet,
    /// The chain refused it.
    Refused,
}

/// Confirms the held share to the chain, with a proof of knowledge of its secret, and waits
/// until a sealed block holds the confirmation.
pub(super) async fn confirm(res: &Resources, record: &ReshareRecord, held: &Held) -> Confirmed {
    // A node that is behind or foreign would refuse it (no such attempt) for good; the chain
    // this TSS follows has not said anything yet. Wait for it.
    if let Some(why) = res.halted() {
        info!("not confirming while halted ({why}); will confirm once the node is right");
        return Confirmed::NotYet;
    }
    let me = res.identity.account();
    let share = match MemberKey::from_bytes(&held.secret) {
        Ok(share) => share,
        Err(e) => {
            error!("the held share does not decode: {e}");
            return Confirmed::Refused;
        }
    };
    let context = proof_context(&res.transport.network(), record.session, record.attempt, &me);
    let proof = ShareProof::prove::<P>(&mut rand_core::OsRng, share.share().secret(), &context).to_bytes();
    let call = Call::Confirm {
        session: record.session,
        attempt: record.attempt,
        confirmation: Confirmation {
            verifying_key: held.info.verifying_key.clone(),
            public_shares: held.info.public_shares.clone(),
            proof,
            dealt: share.dealt().clone(),
        },
    };
    match res.chain.submit(call).await {
        Ok(_) => {
            count(&res.metrics.confirmations);
            info!("confirmed the new share to the chain (sealed)");
            Confirmed::Sealed
        }
        Err(SubmitError::Refused(e)) => {
            warn!("the chain refused the confirmation: {e}");
            Confirmed::Refused
        }
        Err(e) => {
            warn!("could not confirm now ({e}); will retry");
            Confirmed::NotYet
        }
    }
}

/// Reports the offenders a failed attempt named: evidence as offences, and every named party's
/// missing rounds as silence. The silence report also carries the parties named with evidence:
/// when the chain takes the evidence the attempt ends and the silence report is moot; when it
/// refuses the evidence, the party still did not deliver those rounds, and saying nothing would
/// leave this member unable to account for why it could not finish.
/// Returns the reports no sealed block holds yet (the node could not be reached).
pub(super) async fn report(res: &Resources, record: &ReshareRecord, offenders: Vec<Offender>) -> Vec<Call> {
    let mut silent = Vec::new();
    let mut unsent = Vec::new();
    for offender in offenders {
        let accused = offender.party;
        if let Fault::Evidence(blob) = offender.fault {
            let call = Call::ReportOffence {
                session: record.session,
                attempt: record.attempt,
                offender: accused,
                evidence: blob.to_bytes(),
            };
            unsent.extend(submit_report(res, call).await);
        }
        silent.extend(offender.rounds.into_iter().filter_map(|r| silence(accused, r)));
    }
    if !silent.is_empty() {
        let call = Call::ReportUnresponsive {
            session: record.session,
            attempt: record.attempt,
            missing: silent,
        };
        unsent.extend(submit_report(res, call).await);
    }
    unsent
}

/// The chain's form of "`party`'s messages of `round` were missing".
fn silence(party: AccountId, round: MissingRound) -> Option<Silence> {
    let protocol = match round.protocol {
        ProtocolKind::KeyInit => AttemptProtocol::KeyInit,
        ProtocolKind::Reshare => AttemptProtocol::Reshare,
        ProtocolKind::AuxGen => AttemptProtocol::AuxGen,
        ProtocolKind::Signing | ProtocolKind::DklsSigning => {
            warn!("a signing round in a reshare attempt's report; left out");
            return None;
        }
        // A pair setup message is private to its pair: nobody else can forward it, so one
        // withheld message would leave its victim alone in naming the sender, and the chain
        // judges silence by `t` reporters. A failed pair only stops that pair signing together.
        ProtocolKind::PairSetup => return None,
    };
    Some(Silence {
        party,
        round: ReportedRound {
            protocol,
            number: round.number,
            echo: round.echo,
        },
    })
}

/// Submits a report and waits until a sealed block holds it; returns it back if it may be in
/// no block (to send again), `None` once the chain took or refused it.
pub(super) async fn submit_report(res: &Resources, call: Call) -> Option<Call> {
    let what = match call {
        Call::ReportOffence { .. } => "offence",
        _ => "silence",
    };
    if res.halted().is_some() {
        info!("not reporting {what} while halted; kept to send once the node is right");
        return Some(call);
    }
    match res.chain.submit(call.clone()).await {
        Ok(_) => {
            count(&res.metrics.reports);
            info!("reported {what} (sealed)");
            None
        }
        // Another participant's report may have ended the attempt first.
        Err(SubmitError::Refused(e)) => {
            info!("the {what} report was not taken: {e}");
            None
        }
        Err(e) => {
            warn!("could not report {what} now ({e}); will send it again");
            Some(call)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round the driver says was missing is reported as the chain names it; signing rounds are
    /// never reported (signing is not part of an attempt).
    #[test]
    fn a_missing_round_is_reported_as_the_chain_names_it() {
        let party = AccountId([7; 32]);
        let pairs = [
            (ProtocolKind::KeyInit, AttemptProtocol::KeyInit),
            (ProtocolKind::Reshare, AttemptProtocol::Reshare),
            (ProtocolKind::AuxGen, AttemptProtocol::AuxGen),
        ];
        for (kind, protocol) in pairs {
            for (number, echo) in [(1, false), (2, true), (ReportedRound::MAX_NUMBER, false)] {
                let round = MissingRound {
                    protocol: kind,
                    number,
                    echo,
                };
                let reported = silence(party, round).expect("an attempt protocol");
                assert_eq!(reported.party, party);
                assert_eq!(reported.round, ReportedRound { protocol, number, echo });
            }
        }
        let signing = MissingRound {
            protocol: ProtocolKind::Signing,
            number: 1,
            echo: false,
        };
        assert!(silence(party, signing).is_none(), "signing rounds are never reported");
    }
}
