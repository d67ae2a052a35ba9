//! The node's chain judges offences with `keywheel-mpc`'s real evidence verification: a forged
//! or misdirected accusation is refused and slashes no one; evidence from a real cheating
//! reshare (run here at production parameters, resharing sessions only) slashes the cheater
//! and the chain retries without it. Also covers jumpstart, confirmations and rotation
//! queries over RPC (confirmations are dealt by a test dealer; the node verifies them for real).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use keywheel_chain::{AccountId, Call, Event, Punishment, ReshareKind};
use keywheel_mpc::dealer::Dealer;
use keywheel_mpc::driver::{Fault, Outcome};
use keywheel_mpc::local_net::LocalNetwork;
use keywheel_mpc::misbehave::{reshare_session, Cheat};
use keywheel_mpc::ops::Attempt;
use keywheel_mpc::reshare::ReshareInputs;
use keywheel_mpc::PublicSharing;
use keywheel_rpc::{connect_ws, ErrorCode, KeywheelApiClient};
use rand_core::OsRng;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_evidence_slashes_no_one_and_real_evidence_slashes_the_cheater() {
    let net = TestNet::new(4, fast_params());
    let network = net.genesis.network_id();
    let node = keywheel_node::start(net.config(Duration::from_millis(100)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let mut events = ws.subscribe_events().await.unwrap();

    // Jumpstart: every member confirms a dealt sharing; the chain rotates to it.
    sudo(&ws, &net, Call::Jumpstart).await.unwrap();
    let record = ws.reshare().await.unwrap().expect("jumpstart in flight").record;
    assert_eq!(record.kind, ReshareKind::Jumpstart);
    let mut dealer = Dealer::<P>::new(7);
    let dealt = deal(&mut dealer, &net, &network, &record);
    for member in record.new_tss() {
        let c = confirmation(&mut dealer, &network, &record, &dealt, &member);
        let call = Call::Confirm {
            session: record.session,
            attempt: record.attempt,
            confirmation: c,
        };
        send(&ws, &net, net.tss_signer(&member), call).await.unwrap();
    }
    next_event(&mut events, |r| matches!(r.event, Event::RotateKey { .. })).await;
    let committee = ws.committee().await.unwrap();
    assert_eq!(committee.parent_key, Some(dealer.verifying_key()));
    assert_eq!(ws.parent_key().await.unwrap().unwrap().0, dealer.verifying_key());
    assert_eq!(committee.members.len(), 3);

    // The session boundary starts a rotation.
    let started = next_event(&mut events, |r| {
        matches!(
            r.event,
            Event::ReshareStarted {
                kind: ReshareKind::Rotation,
                ..
            }
        )
    })
    .await;
    let view = ws.reshare().await.unwrap().expect("rotation in flight");
    let record = view.record;
    assert!(view.confirmations.is_empty());
    assert_eq!(record.started, started.block);

    // Run the resharing sessions for real, one staying holder cheating.
    let cheater = *record.staying.iter().next().unwrap();
    let sharing = committee.sharing.clone().unwrap();
    let old = PublicSharing::<P>::from_encoded(
        sharing.threshold,
        &sharing.public_shares.iter().map(|(a, s)| (*a, s.clone())).collect(),
    )
    .unwrap();
    let inputs = ReshareInputs {
        old,
        staying: record.staying.iter().copied().collect(),
        new_committee: record.new_tss().iter().copied().collect(),
        new_threshold: record.new_threshold,
    };
    let attempt = Attempt {
        context: context_of(&network, &record),
        deadline: tokio::time::Instant::now() + Duration::from_secs(60),
        stall: None,
        cancel: None,
    };
    let local = LocalNetwork::new();
    let mut tasks = Vec::new();
    for participant in record.participants() {
        let signer = net.tss_signer(&participant).clone();
        let (inputs, attempt, local) = (inputs.clone(), attempt.clone(), local.clone());
        let old_share = dealt.0.get(&participant).cloned();
        let cheat = (participant == cheater).then_some(Cheat::BadSubshare);
        tasks.push((
            participant,
            tokio::spawn(async move {
                reshare_session::<P>(&mut OsRng, &signer, inputs, old_share, cheat, &attempt, &local).await
            }),
        ));
    }
    let (reporter, blob) = {
        let mut found = None;
        let mut cheating = None;
        for (participant, task) in tasks {
            if participant == cheater {
                // Aborted only once the honest parties are done: earlier, it could be stopped
                // before it sent anything, and its fault would look like mere silence.
                cheating = Some(task);
                continue;
            }
            if let Outcome::Failed { offenders } = task.await.unwrap().unwrap() {
                if let Some(Fault::Evidence(blob)) =
                    offenders.into_iter().find(|o| o.party.0 == cheater.0).map(|o| o.fault)
                {
                    found = Some((participant, blob));
                }
            }
        }
        if let Some(task) = cheating {
            task.abort();
        }
        found.expect("an honest new holder names the cheater with evidence")
    };
    let reporter_signer = net.tss_signer(&reporter).clone();
    let report = |offender: AccountId, evidence: Vec<u8>| Call::ReportOffence {
        session: record.session,
        attempt: record.attempt,
        offender,
        evidence,
    };

    // Forged accusations: tampered evidence, evidence pinned on an honest party, garbage.
    let mut tampered = blob.to_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let honest = *record
        .participants()
        .iter()
        .find(|a| **a != cheater && **a != reporter)
        .unwrap();
    let mut misdirected = blob.clone();
    misdirected.offender = honest;
    for (offender, evidence) in [
        (cheater, tampered),
        (honest, misdirected.to_bytes()),
        (honest, blob.to_bytes()),
        (cheater, b"trust me".to_vec()),
    ] {
        let err = api_error(send(&ws, &net, &reporter_signer, report(offender, evidence)).await);
        assert_eq!(err.code, ErrorCode::Refused, "{err}");
        assert!(err.message.contains("evidence"), "{err}");
    }
    assert!(
        ws.slashes().await.unwrap().is_empty(),
        "no one is slashed on a forged accusation"
    );
    assert_eq!(ws.reshare().await.unwrap().unwrap().record.attempt, record.attempt);

    // The real evidence slashes the cheater's stake and aborts the attempt.
    let inclusion = send(&ws, &net, &reporter_signer, report(cheater, blob.to_bytes()))
        .await
        .unwrap();
    let cheater_stash = ws.account(cheater).await.unwrap().tss_of.unwrap();
    assert!(inclusion.events.iter().any(|e| matches!(
        e,
        Event::Slashed { validator, kind: Punishment::Stake, amount, .. } if *validator == cheater_stash && *amount == BOND / 10
    )), "{:?}", inclusion.events);
    let slashes = ws.slashes().await.unwrap();
    assert_eq!(slashes.len(), 1);
    assert_eq!((slashes[0].tss, slashes[0].kind), (cheater, Punishment::Stake));
    assert_eq!(
        ws.account(cheater_stash).await.unwrap().ledger.unwrap().bonded,
        BOND - BOND / 10
    );

    // The same offence cannot be punished twice, and the retry goes on without the cheater.
    let again = api_error(send(&ws, &net, &reporter_signer, report(cheater, blob.to_bytes())).await);
    assert_eq!(again.code, ErrorCode::Refused);
    let deadline = Instant::now() + Duration::from_secs(30);
    let retry = loop {
        if let Some(view) = ws.reshare().await.unwrap() {
            if view.record.attempt > record.attempt {
                break view.record;
            }
        }
        assert!(Instant::now() < deadline, "the chain retries");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!retry.participants().contains(&cheater));
    let validators: BTreeMap<AccountId, bool> = ws
        .validators()
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.stash, v.in_committee))
        .collect();
    assert!(!validators.contains_key(&cheater_stash), "the offender is chilled");
    let _: BTreeSet<AccountId> = retry.new_tss();
    node.stop().await.unwrap();
}
