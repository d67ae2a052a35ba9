//! One committee's life at production parameters (`ProductionParams112`, secp256k1): jumpstart
//! of 3 members with threshold 2, a reshare in which the oldest leaves and a newcomer joins, and
//! a signature by two members of the new committee that recovers to the child key derived from
//! the ORIGINAL verifying key. Parties talk over the in-process `LocalNetwork` (a test-only
//! transport); everything else is what the shipped binary runs. AuxGen dominates the cost
//! (~19 s of CPU per party per run), so this is the only production-parameter test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use keywheel_mpc::child_key::{account_path, child_verifying_key, eth_address, eth_address_string};
use keywheel_mpc::driver::Outcome;
use keywheel_mpc::local_net::LocalNetwork;
use keywheel_mpc::ops::{self, Attempt};
use keywheel_mpc::reshare::ReshareInputs;
use keywheel_mpc::{AccountId, ParentKeyShare, PartySigner, ProductionParams};
use rand_core::OsRng;
use tokio::time::Instant;

type P = ProductionParams;

fn attempt(label: &str) -> Attempt {
    Attempt {
        context: label.as_bytes().to_vec(),
        deadline: Instant::now() + Duration::from_secs(1200),
        stall: None,
    }
}

fn done<T>(outcome: Outcome<T>, what: &str) -> T {
    match outcome {
        Outcome::Done(t) => t,
        Outcome::Failed { offenders } => panic!("{what} failed, naming {offenders:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_params_jumpstart_reshare_sign_keeps_the_child_key() {
    let net = LocalNetwork::new();
    let mut everyone: Vec<PartySigner> = (0..4).map(|_| PartySigner::random(&mut OsRng)).collect();
    everyone.sort_by_key(|s| s.account());
    let (first, joiner) = (&everyone[..3], everyone[3].clone());
    let committee: BTreeSet<AccountId> = first.iter().map(|s| s.account()).collect();

    // Jumpstart: 3 members, threshold 2.
    let at = attempt("production-jumpstart");
    let tasks: Vec<_> = first
        .iter()
        .map(|s| {
            let (s, committee, at, net) = (s.clone(), committee.clone(), at.clone(), net.clone());
            tokio::spawn(async move { ops::jumpstart::<P>(&mut OsRng, &s, &committee, 2, &at, &net).await })
        })
        .collect();
    let mut old: Vec<ParentKeyShare<P>> = Vec::new();
    for task in tasks {
        old.push(done(task.await.unwrap().unwrap(), "jumpstart"));
    }
    let parent = old[0].verifying_key().unwrap();
    assert!(old.iter().all(|s| s.verifying_key().unwrap() == parent));

    // The shares survive their own serialisation.
    let restored = ParentKeyShare::<P>::from_bytes(&old[1].to_bytes().unwrap()).unwrap();
    assert_eq!(restored.verifying_key().unwrap(), parent);

    // Reshare: the oldest (first by id) leaves, the joiner arrives.
    let leaver = first[0].account();
    let staying: BTreeSet<AccountId> = committee.iter().copied().filter(|p| *p != leaver).collect();
    let mut new_committee = staying.clone();
    new_committee.insert(joiner.account());
    let inputs = ReshareInputs {
        old: old[0].share.public().clone(),
        staying,
        new_committee: new_committee.clone(),
        new_threshold: 2,
    };
    let old_by_owner: BTreeMap<AccountId, _> = old.iter().map(|s| (s.share.owner(), s.share.clone())).collect();
    let at = attempt("production-session-1");
    let tasks: Vec<_> = everyone[1..]
        .iter()
        .map(|s| {
            let (s, inputs, at, net) = (s.clone(), inputs.clone(), at.clone(), net.clone());
            let share = old_by_owner.get(&s.account()).cloned();
            tokio::spawn(async move {
                (
                    s.clone(),
                    ops::reshare::<P>(&mut OsRng, &s, inputs, share, &at, &net).await,
                )
            })
        })
        .collect();
    let mut new = Vec::new();
    for task in tasks {
        let (signer, outcome) = task.await.unwrap();
        let share = done(outcome.unwrap(), "reshare")
            .into_share()
            .expect("every participant is in the new committee");
        assert_eq!(share.verifying_key().unwrap(), parent);
        new.push((signer, share));
    }

    // Two of the new committee — the joiner among them — sign for an account's child key.
    let path = account_path(&AccountId([0xa1; 32]));
    let expected_child = child_verifying_key::<P>(&parent, &path).unwrap();
    let prehash = [0x42u8; 32];
    let signing: Vec<_> = new
        .iter()
        .filter(|(s, _)| s.account() != new[0].0.account())
        .cloned()
        .collect();
    assert!(signing.iter().any(|(s, _)| s.account() == joiner.account()));
    let set: BTreeSet<AccountId> = signing.iter().map(|(s, _)| s.account()).collect();
    let at = attempt("production-sign");
    let tasks: Vec<_> = signing
        .into_iter()
        .map(|(s, share)| {
            let (set, at, net, path) = (set.clone(), at.clone(), net.clone(), path.clone());
            tokio::spawn(async move { ops::sign::<P>(&mut OsRng, &s, &share, &set, &path, &prehash, &at, &net).await })
        })
        .collect();
    for task in tasks {
        let signature = done(task.await.unwrap().unwrap(), "signing");
        let sig = k256::ecdsa::Signature::from_scalars(
            <[u8; 32]>::try_from(signature.r.as_slice()).unwrap(),
            <[u8; 32]>::try_from(signature.s.as_slice()).unwrap(),
        )
        .unwrap();
        let recovery = k256::ecdsa::RecoveryId::from_byte(signature.v).unwrap();
        let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(&prehash, &sig, recovery).unwrap();
        assert_eq!(
            recovered, expected_child,
            "(r, s, v) recovers to the original key's child"
        );
        assert_eq!(
            eth_address_string(&eth_address(&recovered)),
            eth_address_string(&eth_address(&expected_child))
        );
    }
}
