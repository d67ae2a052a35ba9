//! Jumpstart → reshare → sign, the way a committee lives through sessions (fast test params).

use crate::prelude::*;
use std::collections::BTreeSet;

use ecdsa::signature::hazmat::PrehashVerifier;

use super::{ids, run_jumpstart, run_reshare, run_sign, signers, TP};
use crate::child_key::{account_path, child_verifying_key};
use crate::driver::Outcome;
use crate::identity::AccountId;
use crate::local_net::LocalNetwork;
use crate::ops::Reshared;
use crate::reshare::ReshareInputs;
use crate::share::ParentKeyShare;

fn verifies(
    child: &ecdsa::VerifyingKey<<TP as synedrion::SchemeParams>::Curve>,
    prehash: &[u8; 32],
    r: &[u8],
    s: &[u8],
) -> bool {
    let mut bytes = r.to_vec();
    bytes.extend_from_slice(s);
    let Ok(sig) = ecdsa::Signature::<<TP as synedrion::SchemeParams>::Curve>::from_slice(&bytes) else {
        return false;
    };
    let n = elliptic_curve::FieldBytes::<<TP as synedrion::SchemeParams>::Curve>::default().len();
    child.verify_prehash(&prehash[..n], &sig).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpstart_n5_t3_gives_every_member_the_same_verifying_key() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(5);
    let shares = run_jumpstart(&committee, 3, &net).await;
    assert_eq!(shares.len(), 5);
    let key = shares[0].verifying_key().unwrap();
    for (signer, share) in committee.iter().zip(&shares) {
        assert_eq!(share.verifying_key().unwrap(), key);
        assert_eq!(share.share.owner(), signer.account());
        assert_eq!(share.share.public().threshold, 3);
        assert_eq!(share.share.public().share_ids.len(), 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reshare_with_oldest_leaving_and_one_joining_keeps_key_child_keys_and_any_three_sign() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let everyone = signers(6);
    let (committee, joiner) = (&everyone[..5], &everyone[5]);
    let old_shares = run_jumpstart(committee, 3, &net).await;
    let original_key = old_shares[0].verifying_key().unwrap();

    let oldest = committee[0].account();
    let staying: BTreeSet<_> = ids(committee).into_iter().filter(|p| *p != oldest).collect();
    let mut new_committee = staying.clone();
    new_committee.insert(joiner.account());
    let inputs = ReshareInputs {
        old: old_shares[0].share.public().clone(),
        staying: staying.clone(),
        new_committee: new_committee.clone(),
        new_threshold: 3,
    };
    let old_by_owner = old_shares.iter().map(|s| (s.share.owner(), s.share.clone())).collect();
    // The leaver takes no part: the staying holders and the joiner run the reshare.
    let outcomes = run_reshare(&everyone[1..], &inputs, &old_by_owner, "session-1", &net).await;
    assert!(!outcomes.contains_key(&oldest));

    let mut new_shares = Vec::new();
    for signer in &everyone[1..] {
        match outcomes.get(&signer.account()).unwrap() {
            Outcome::Done(Reshared::Holder(share)) => new_shares.push((signer.clone(), share.clone())),
            other => panic!("every new member gets a share, got {other:?}"),
        }
    }
    assert_eq!(new_shares.len(), 5);
    for (_, share) in &new_shares {
        assert_eq!(
            share.verifying_key().unwrap(),
            original_key,
            "the parent key never changes"
        );
        assert_eq!(
            share.share.public().share_ids.keys().copied().collect::<BTreeSet<_>>(),
            new_committee
        );
    }
    // Child keys for several accounts are the same whether derived from the old or the new shares.
    for account in [AccountId([0xa1; 32]), AccountId([0xb0; 32]), AccountId([0xc0; 32])] {
        let path = account_path(&account);
        let before = child_verifying_key::<TP>(&old_shares[0].verifying_key().unwrap(), &path).unwrap();
        let after = child_verifying_key::<TP>(&new_shares[4].1.verifying_key().unwrap(), &path).unwrap();
        assert_eq!(before, after);
    }

    // Two different triples of the new committee (one with the joiner) sign; each signature
    // verifies under the child key derived from the ORIGINAL verifying key.
    let path = account_path(&AccountId([0xa1; 32]));
    let child = child_verifying_key::<TP>(&original_key, &path).unwrap();
    for (i, triple) in [[0usize, 1, 2], [2, 3, 4]].iter().enumerate() {
        let prehash = [i as u8 + 7; 32];
        let group: Vec<_> = triple.iter().map(|&k| new_shares[k].clone()).collect();
        for result in run_sign(&group, &path, prehash, &format!("sign-{i}"), 60, &net).await {
            match result.unwrap() {
                Outcome::Done(sig) => assert!(verifies(&child, &prehash, &sig.r, &sig.s)),
                Outcome::Failed { offenders } => panic!("signing failed: {offenders:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_share_cannot_sign_together_with_new_shares() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let everyone = signers(6);
    let (committee, joiner) = (&everyone[..5], &everyone[5]);
    let old_shares = run_jumpstart(committee, 3, &net).await;
    let key = old_shares[0].verifying_key().unwrap();
    let staying: BTreeSet<_> = ids(&committee[1..]);
    let mut new_committee = staying.clone();
    new_committee.insert(joiner.account());
    let inputs = ReshareInputs {
        old: old_shares[0].share.public().clone(),
        staying,
        new_committee,
        new_threshold: 3,
    };
    let old_by_owner = old_shares.iter().map(|s| (s.share.owner(), s.share.clone())).collect();
    let outcomes = run_reshare(&everyone[1..], &inputs, &old_by_owner, "session-1", &net).await;
    let new_share = |k: usize| -> ParentKeyShare<TP> {
        match outcomes.get(&everyone[k].account()).unwrap() {
            Outcome::Done(Reshared::Holder(s)) => s.clone(),
            other => panic!("expected a new share, got {other:?}"),
        }
    };

    // Member 1 tries with its OLD share (and old aux info) next to members 2 and 3 with new ones.
    let group = vec![
        (everyone[1].clone(), old_shares[1].clone()),
        (everyone[2].clone(), new_share(2)),
        (everyone[3].clone(), new_share(3)),
    ];
    let path = account_path(&AccountId([0xa1; 32]));
    let child = child_verifying_key::<TP>(&key, &path).unwrap();
    let prehash = [42u8; 32];
    let results = run_sign(&group, &path, prehash, "mixed", 10, &net).await;
    let mut refused = 0;
    for result in results {
        match result {
            Ok(Outcome::Done(sig)) => {
                assert!(
                    !verifies(&child, &prehash, &sig.r, &sig.s),
                    "a mixed-generation signature verified"
                )
            }
            Ok(Outcome::Failed { .. }) | Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 3, "every party must end without a valid signature");

    // The same three members with their new shares do sign.
    let group = vec![
        (everyone[1].clone(), new_share(1)),
        (everyone[2].clone(), new_share(2)),
        (everyone[3].clone(), new_share(3)),
    ];
    for result in run_sign(&group, &path, prehash, "all-new", 60, &net).await {
        assert!(matches!(result, Ok(Outcome::Done(_))));
    }
}
