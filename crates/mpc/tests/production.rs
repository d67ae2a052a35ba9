//! One committee's life at production parameters (`ProductionParams112`, secp256k1): jumpstart
//! of 3 members with threshold 2, a reshare in which the oldest leaves and a newcomer joins, and
//! a signature by two members of the new committee that recovers to the child key derived from
//! the ORIGINAL verifying key; then the network switches to the DKLs23 backend at a second
//! reshare (full pairwise setup), reshares once more on DKLs23 (the joiner's pairs only), and
//! signs on DKLs23 after each — the same child key every time. Parties talk over the in-process
//! `LocalNetwork` (a test-only transport); everything else is what the shipped binary runs.
//! AuxGen dominates the cost (~19 s of CPU per party per run), so this is the only
//! production-parameter test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use keywheel_mpc::backend::{self, BackendKind, Dkls23, MemberKey};
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
        cancel: None,
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
    let mut everyone: Vec<PartySigner> = (0..6).map(|_| PartySigner::random(&mut OsRng)).collect();
    everyone.sort_by_key(|s| s.account());
    let (first, joiner) = (&everyone[..3], everyone[3].clone());
    let later_joiners = [everyone[4].clone(), everyone[5].clone()];
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
    let tasks: Vec<_> = everyone[1..4]
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

    // The network switches to DKLs23 at the next reshare (the oldest leaves again, a newcomer
    // joins): keywheel's resharing as always, the full pairwise setup beside it.
    let mut keys: BTreeMap<AccountId, MemberKey> = new
        .into_iter()
        .map(|(s, share)| (s.account(), MemberKey::Synedrion(Box::new(share))))
        .collect();
    let mut members: Vec<PartySigner> = everyone[1..4].to_vec();
    for (round, newcomer) in later_joiners.iter().enumerate() {
        members.remove(0);
        members.push(newcomer.clone());
        keys = rotate_on_dkls(&everyone, &keys, &members, &format!("production-dkls-{round}"), &net).await;
        assert!(keys.values().all(|k| k.kind() == BackendKind::Dkls23));
        assert!(keys
            .values()
            .all(|k| k.verifying_key_bytes() == old[0].verifying_key_bytes()));
        // Two members, the newcomer among them, sign on DKLs23 for the same child key.
        let signers: Vec<PartySigner> = members[1..].to_vec();
        let set: BTreeSet<AccountId> = signers.iter().map(|s| s.account()).collect();
        let at = attempt(&format!("production-dkls-sign-{round}"));
        let tasks: Vec<_> = signers
            .into_iter()
            .map(|s| {
                let key = MemberKey::from_bytes(&keys[&s.account()].to_bytes().unwrap()).unwrap();
                let (set, at, net, path) = (set.clone(), at.clone(), net.clone(), path.clone());
                tokio::spawn(async move { backend::sign(&mut OsRng, &s, &key, &set, &path, &prehash, &at, &net).await })
            })
            .collect();
        for task in tasks {
            let signature = done(task.await.unwrap().unwrap().outcome, "DKLs23 signing");
            let sig = k256::ecdsa::Signature::from_scalars(
                <[u8; 32]>::try_from(signature.r.as_slice()).unwrap(),
                <[u8; 32]>::try_from(signature.s.as_slice()).unwrap(),
            )
            .unwrap();
            let recovery = k256::ecdsa::RecoveryId::from_byte(signature.v).unwrap();
            let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(&prehash, &sig, recovery).unwrap();
            assert_eq!(recovered, expected_child, "DKLs23 signs for the original key's child");
        }
    }
}

/// One rotation to `members` on the DKLs23 backend: the oldest holder of `keys` leaves, the last
/// of `members` joins. Returns the new committee's keys.
async fn rotate_on_dkls(
    everyone: &[PartySigner],
    keys: &BTreeMap<AccountId, MemberKey>,
    members: &[PartySigner],
    label: &str,
    net: &LocalNetwork,
) -> BTreeMap<AccountId, MemberKey> {
    let old = keys.values().next().unwrap().share().public().clone();
    let new_committee: BTreeSet<AccountId> = members.iter().map(|s| s.account()).collect();
    let staying: BTreeSet<AccountId> = keys.keys().copied().filter(|k| new_committee.contains(k)).collect();
    let inputs = ReshareInputs {
        old,
        staying: staying.clone(),
        new_committee: new_committee.clone(),
        new_threshold: 2,
    };
    let at = attempt(label);
    let participants: Vec<PartySigner> = everyone
        .iter()
        .filter(|s| staying.contains(&s.account()) || new_committee.contains(&s.account()))
        .cloned()
        .collect();
    let tasks: Vec<_> = participants
        .into_iter()
        .map(|s| {
            let (inputs, at, net) = (inputs.clone(), at.clone(), net.clone());
            let previous = keys
                .get(&s.account())
                .map(|k| MemberKey::from_bytes(&k.to_bytes().unwrap()).unwrap());
            tokio::spawn(async move {
                let outcome = backend::reshare_on::<Dkls23>(&mut OsRng, &s, inputs, previous.as_ref(), &at, &net).await;
                (s.account(), outcome)
            })
        })
        .collect();
    let mut out = BTreeMap::new();
    for task in tasks {
        let (who, outcome) = task.await.unwrap();
        if let Some(key) = done(outcome.unwrap(), "DKLs23 reshare") {
            out.insert(who, key);
        }
    }
    assert_eq!(out.keys().copied().collect::<BTreeSet<_>>(), new_committee);
    out
}
