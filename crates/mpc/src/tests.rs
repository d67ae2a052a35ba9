//! In-process multi-party tests. They use synedrion's `dev::TestParams` (a tiny curve and small
//! Paillier primes) so that AuxGen and signing take milliseconds; the production-parameter run
//! is in `tests/production.rs`.

mod dkls;
mod driver_faults;
mod lifecycle;
mod reshare_faults;

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use synedrion::dev::TestParams;
use tokio::time::Instant;

use crate::driver::Outcome;
use crate::identity::{AccountId, PartySigner};
use crate::local_net::LocalNetwork;
use crate::ops::{self, Attempt, ChildSignature, Reshared};
use crate::reshare::ReshareInputs;
use crate::share::{ParentKeyShare, ThresholdShare};

pub(crate) type TP = TestParams;

/// `n` signers sorted by party id (so index order is committee order).
pub(crate) fn signers(n: usize) -> Vec<PartySigner> {
    let mut v: Vec<PartySigner> = (0..n).map(|_| PartySigner::random(&mut OsRng)).collect();
    v.sort_by_key(|s| s.account());
    v
}

pub(crate) fn ids(signers: &[PartySigner]) -> BTreeSet<AccountId> {
    signers.iter().map(|s| s.account()).collect()
}

pub(crate) fn attempt(label: &str, seconds: u64) -> Attempt {
    Attempt {
        context: label.as_bytes().to_vec(),
        deadline: Instant::now() + Duration::from_secs(seconds),
        stall: None,
        cancel: None,
    }
}

pub(crate) fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_rng(OsRng).expect("OS randomness")
}

/// A t-of-n sharing of a random key made by a dealer (synedrion's `new_centralized`), converted
/// into keywheel's form — the starting point of reshare tests that do not need AuxGen.
pub(crate) fn dealt_shares(committee: &BTreeSet<AccountId>, t: usize) -> BTreeMap<AccountId, ThresholdShare<TP>> {
    synedrion::ThresholdKeyShare::<TP, AccountId>::new_centralized(&mut OsRng, committee, t, None)
        .expect("dealer")
        .iter()
        .map(|(id, s)| (*id, ThresholdShare::from_synedrion(s).expect("conversion")))
        .collect()
}

/// Runs jumpstart for every signer concurrently and returns each one's outcome.
pub(crate) async fn run_jumpstart(signers: &[PartySigner], t: u32, net: &LocalNetwork) -> Vec<ParentKeyShare<TP>> {
    let committee = ids(signers);
    let at = attempt("jumpstart", 120);
    let tasks: Vec<_> = signers
        .iter()
        .map(|s| {
            let (s, committee, at, net) = (s.clone(), committee.clone(), at.clone(), net.clone());
            tokio::spawn(async move { ops::jumpstart::<TP>(&mut rng(), &s, &committee, t, &at, &net).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        match task.await.expect("task").expect("no local error") {
            Outcome::Done(share) => out.push(share),
            Outcome::Failed { offenders } => panic!("jumpstart failed: {offenders:?}"),
        }
    }
    out
}

/// Runs a full reshare (with AuxGen) for every participant; old shares by owner.
pub(crate) async fn run_reshare(
    participants: &[PartySigner],
    inputs: &ReshareInputs<TP>,
    old: &BTreeMap<AccountId, ThresholdShare<TP>>,
    label: &str,
    net: &LocalNetwork,
) -> BTreeMap<AccountId, Outcome<Reshared<TP>>> {
    let at = attempt(label, 120);
    let tasks: Vec<_> = participants
        .iter()
        .map(|s| {
            let (s, inputs, at, net) = (s.clone(), inputs.clone(), at.clone(), net.clone());
            let old_share = old.get(&s.account()).cloned();
            tokio::spawn(async move {
                let outcome = ops::reshare::<TP>(&mut rng(), &s, inputs, old_share, &at, &net).await;
                (s.account(), outcome)
            })
        })
        .collect();
    let mut out = BTreeMap::new();
    for task in tasks {
        let (id, outcome) = task.await.expect("task");
        out.insert(id, outcome.expect("no local error"));
    }
    out
}

/// Has `signers` sign `prehash` for `path` with the given shares; returns each one's outcome.
pub(crate) async fn run_sign(
    shares: &[(PartySigner, ParentKeyShare<TP>)],
    path: &synedrion::bip32::DerivationPath,
    prehash: [u8; 32],
    label: &str,
    seconds: u64,
    net: &LocalNetwork,
) -> Vec<Result<Outcome<ChildSignature>, crate::MpcError>> {
    let set: BTreeSet<AccountId> = shares.iter().map(|(s, _)| s.account()).collect();
    let at = attempt(label, seconds);
    let tasks: Vec<_> = shares
        .iter()
        .map(|(s, share)| {
            let (s, share, set, at, net, path) = (
                s.clone(),
                share.clone(),
                set.clone(),
                at.clone(),
                net.clone(),
                path.clone(),
            );
            tokio::spawn(async move { ops::sign::<TP>(&mut rng(), &s, &share, &set, &path, &prehash, &at, &net).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

/// Flips every byte of `blob`'s signed evidence in turn and asserts that `verify` rejects each
/// result — except inside manul's free-text description, which is informational and not part of
/// what the evidence proves.
pub(crate) fn assert_every_flipped_byte_breaks<T>(
    blob: &crate::evidence::EvidenceBlob,
    verify: impl Fn(&crate::evidence::EvidenceBlob) -> Result<T, crate::MpcError>,
) {
    let text = blob.description.as_bytes();
    let start = blob
        .evidence
        .windows(text.len().max(1))
        .position(|w| w == text)
        .expect("the description is embedded in the evidence");
    let described = start..start + text.len();
    let verified: Vec<usize> = (0..blob.evidence.len())
        .filter(|i| !described.contains(i))
        .filter(|&i| {
            let mut tampered = blob.clone();
            tampered.evidence[i] ^= 0x01;
            verify(&tampered).is_ok()
        })
        .collect();
    assert!(
        verified.is_empty(),
        "tampered evidence verified with byte(s) {verified:?} flipped"
    );
}

/// Sends the driver's logs to the test output when `RUST_LOG` asks for them (e.g.
/// `RUST_LOG=keywheel_mpc=debug cargo test -- --nocapture`).
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
