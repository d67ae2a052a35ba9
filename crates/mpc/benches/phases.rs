//! Per-phase cost of keywheel's protocols at production parameters (`ProductionParams112`,
//! secp256k1): KeyInit, keywheel's resharing, AuxGen and signing, and the DKLs23 backend's pair
//! setup and signing, for committees of n parties.
//!
//! All parties of a phase run in this one process over the in-process network, one phase at a
//! time, so the process's CPU time during a phase is the phase's total CPU over all parties.
//!
//! ```text
//! cargo bench -p keywheel-mpc --bench phases -- 3 5 7
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant as WallInstant};

use std::sync::Arc;

use keywheel_mpc::child_key::account_path;
use keywheel_mpc::dkls::key_share::counterparties_to_set_up;
use keywheel_mpc::dkls::{DklsKeyShare, PairState};
use keywheel_mpc::driver::{run_protocol_session, Outcome, ProtocolKind};
use keywheel_mpc::local_net::LocalNetwork;
use keywheel_mpc::ops::{self, Attempt, Network};
use keywheel_mpc::reshare::{Reshare, ReshareInputs};
use keywheel_mpc::synedrion::{AuxGen, AuxInfo, KeyInit, ThresholdKeyShare};
use keywheel_mpc::{AccountId, ParentKeyShare, PartySigner, ProductionParams, ThresholdShare};
use rand_core::OsRng;
use tokio::time::Instant;

type P = ProductionParams;

/// CPU time (user + system) used by this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0, "getrusage");
        usage
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

struct Measured {
    wall: Duration,
    cpu: Duration,
    parties: usize,
}

/// Runs `phase` and measures it.
async fn measure<T>(parties: usize, phase: impl Future<Output = T>) -> (T, Measured) {
    let (cpu0, wall0) = (process_cpu(), WallInstant::now());
    let out = phase.await;
    let m = Measured {
        wall: wall0.elapsed(),
        cpu: process_cpu() - cpu0,
        parties,
    };
    (out, m)
}

fn attempt(label: String) -> Attempt {
    Attempt {
        context: label.into_bytes(),
        deadline: Instant::now() + Duration::from_secs(3600),
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

/// Runs one session of `kind` for every signer, the entry point made by `entry`.
async fn session<EP>(
    signers: &[PartySigner],
    label: String,
    kind: ProtocolKind,
    net: &LocalNetwork,
    entry: impl Fn(AccountId) -> EP,
) -> BTreeMap<AccountId, <EP::Protocol as manul::protocol::Protocol<AccountId>>::Result>
where
    EP: manul::protocol::EntryPoint<AccountId> + Send + 'static,
    <EP::Protocol as manul::protocol::Protocol<AccountId>>::Result: Send + 'static,
    <EP::Protocol as manul::protocol::Protocol<AccountId>>::ProtocolError: Send + Sync,
{
    let spec = attempt(label).spec(kind);
    let tasks: Vec<_> = signers
        .iter()
        .map(|s| {
            let me = s.account();
            let mut channels = net.open(me, &spec.protocol_session_id);
            let (s, spec, entry) = (s.clone(), spec.clone(), entry(me));
            tokio::spawn(async move {
                (
                    me,
                    run_protocol_session(&mut OsRng, s, &spec, entry, &mut channels).await,
                )
            })
        })
        .collect();
    let mut out = BTreeMap::new();
    for task in tasks {
        let (me, outcome) = task.await.expect("task");
        out.insert(me, done(outcome.expect("no local error"), kind.name()));
    }
    out
}

async fn bench(n: usize, net: &LocalNetwork) -> Vec<(&'static str, Measured)> {
    let t = n / 2 + 1;
    let mut everyone: Vec<PartySigner> = (0..=n).map(|_| PartySigner::random(&mut OsRng)).collect();
    everyone.sort_by_key(|s| s.account());
    let committee_signers = &everyone[..n];
    let committee: BTreeSet<AccountId> = committee_signers.iter().map(|s| s.account()).collect();
    let signer_of: BTreeMap<AccountId, PartySigner> = everyone.iter().map(|s| (s.account(), s.clone())).collect();
    let mut rows = Vec::new();

    let (key_shares, m) = measure(
        n,
        session(
            committee_signers,
            format!("kinit-{n}"),
            ProtocolKind::KeyInit,
            net,
            |_| KeyInit::<P, AccountId>::new(committee.clone()).expect("committee"),
        ),
    )
    .await;
    rows.push(("KeyInit (n-of-n)", m));

    let full: BTreeMap<AccountId, ThresholdShare<P>> = key_shares
        .iter()
        .map(|(id, k)| {
            (
                *id,
                ThresholdShare::from_synedrion(&ThresholdKeyShare::from_key_share(k)).expect("convert"),
            )
        })
        .collect();
    let inputs = ReshareInputs {
        old: full.values().next().expect("n > 0").public().clone(),
        staying: committee.clone(),
        new_committee: committee.clone(),
        new_threshold: t as u32,
    };
    let (threshold_shares, m) = measure(
        n,
        session(
            committee_signers,
            format!("to-threshold-{n}"),
            ProtocolKind::Reshare,
            net,
            |me| Reshare::new(inputs.clone(), full.get(&me).cloned(), signer_of[&me].clone()),
        ),
    )
    .await;
    rows.push(("Reshare n-of-n → t-of-n (jumpstart)", m));

    // A session reshare: the oldest leaves, a newcomer joins.
    let staying: BTreeSet<AccountId> = committee.iter().skip(1).copied().collect();
    let mut next_committee = staying.clone();
    next_committee.insert(everyone[n].account());
    let old: BTreeMap<AccountId, ThresholdShare<P>> = threshold_shares
        .into_iter()
        .map(|(id, s)| (id, s.expect("every member gets a share").share))
        .collect();
    let inputs = ReshareInputs {
        old: old.values().next().expect("n > 0").public().clone(),
        staying: staying.clone(),
        new_committee: next_committee.clone(),
        new_threshold: t as u32,
    };
    let (next_shares, m) = measure(
        n,
        session(
            &everyone[1..],
            format!("session-reshare-{n}"),
            ProtocolKind::Reshare,
            net,
            |me| Reshare::new(inputs.clone(), old.get(&me).cloned(), signer_of[&me].clone()),
        ),
    )
    .await;
    rows.push(("Reshare t-of-n → t-of-n' (session)", m));

    let (aux, m): (BTreeMap<AccountId, AuxInfo<P, AccountId>>, _) = measure(
        n,
        session(&everyone[1..], format!("aux-{n}"), ProtocolKind::AuxGen, net, |_| {
            AuxGen::<P, AccountId>::new(next_committee.clone()).expect("committee")
        }),
    )
    .await;
    rows.push(("AuxGen", m));

    let shares: Vec<(PartySigner, ParentKeyShare<P>)> = everyone[1..]
        .iter()
        .take(t)
        .map(|s| {
            let id = s.account();
            let share = next_shares[&id].clone().expect("new member").share;
            (
                s.clone(),
                ParentKeyShare::new(share, aux[&id].clone()).expect("matching share and aux"),
            )
        })
        .collect();
    let set: BTreeSet<AccountId> = shares.iter().map(|(s, _)| s.account()).collect();
    let path = account_path(&AccountId([0xbe; 32]));
    let at = attempt(format!("sign-{n}"));
    let (_, m) = measure(t, async {
        let tasks: Vec<_> = shares
            .iter()
            .map(|(s, share)| {
                let (s, share, set, path, at, net) = (
                    s.clone(),
                    share.clone(),
                    set.clone(),
                    path.clone(),
                    at.clone(),
                    net.clone(),
                );
                tokio::spawn(
                    async move { ops::sign::<P>(&mut OsRng, &s, &share, &set, &path, &[7u8; 32], &at, &net).await },
                )
            })
            .collect();
        for task in tasks {
            done(task.await.expect("task").expect("no local error"), "signing");
        }
    })
    .await;
    rows.push(("Signing (t parties, BIP32 child)", m));

    // DKLs23: the pair setup of the first committee (every pair, as at a jumpstart or a switch
    // of backends), then the next committee's (the joiner's pairs only), then signing.
    let first_pairs = pair_setup(committee_signers, None, format!("dkls-pairs-{n}"), net).await;
    rows.push(("DKLs23 pair setup, every pair", first_pairs.1));
    let (next_pairs, m) = pair_setup(
        &everyone[1..],
        Some(&first_pairs.0),
        format!("dkls-pairs-next-{n}"),
        net,
    )
    .await;
    rows.push(("DKLs23 pair setup, the joiner's pairs", m));
    let keys: Vec<(PartySigner, Arc<DklsKeyShare>)> = everyone[1..]
        .iter()
        .take(t)
        .map(|s| {
            let id = s.account();
            let share = next_shares[&id].clone().expect("new member").share;
            let mut pairs = first_pairs.0.get(&id).cloned().unwrap_or_default();
            pairs.retain(|other, _| next_committee.contains(other));
            pairs.extend(next_pairs[&id].clone());
            (
                s.clone(),
                Arc::new(DklsKeyShare::new(share, pairs).expect("a complete key")),
            )
        })
        .collect();
    const DKLS_SIGNATURES: usize = 20;
    let (_, mut m) = measure(t, async {
        for i in 0..DKLS_SIGNATURES {
            let at = attempt(format!("dkls-sign-{n}-{i}"));
            let tasks: Vec<_> = keys
                .iter()
                .map(|(s, key)| {
                    let (s, key, set, path, at, net) = (
                        s.clone(),
                        key.clone(),
                        set.clone(),
                        path.clone(),
                        at.clone(),
                        net.clone(),
                    );
                    tokio::spawn(async move {
                        ops::dkls_sign(&mut OsRng, &s, key, &set, &path, &[7u8; 32], &at, &net).await
                    })
                })
                .collect();
            for task in tasks {
                done(
                    task.await.expect("task").expect("no local error").outcome,
                    "DKLs23 signing",
                );
            }
        }
    })
    .await;
    // One signature's cost: the mean over the run.
    m.wall /= DKLS_SIGNATURES as u32;
    m.cpu /= DKLS_SIGNATURES as u32;
    rows.push(("DKLs23 signing (t parties, BIP32 child; mean of 20)", m));
    rows
}

type Pairs = BTreeMap<AccountId, BTreeMap<AccountId, PairState>>;

/// The DKLs23 pair setup of `members` after `previous` (their pairs, when they were a
/// committee before), every member at once; returns each member's new pairs.
async fn pair_setup(
    members: &[PartySigner],
    previous: Option<&Pairs>,
    label: String,
    net: &LocalNetwork,
) -> (Pairs, Measured) {
    let committee: BTreeSet<AccountId> = members.iter().map(|s| s.account()).collect();
    let before: Option<BTreeSet<AccountId>> = previous.map(|p| p.keys().copied().collect());
    let at = attempt(label);
    measure(members.len(), async {
        let tasks: Vec<_> = members
            .iter()
            .map(|s| {
                let with = counterparties_to_set_up(&s.account(), before.as_ref(), &committee);
                let (s, at, net) = (s.clone(), at.clone(), net.clone());
                tokio::spawn(async move { (s.account(), ops::dkls_pair_setup(&mut OsRng, &s, with, &at, &net).await) })
            })
            .collect();
        let mut out = Pairs::new();
        for task in tasks {
            let (me, result) = task.await.expect("task");
            assert!(result.offenders.is_empty(), "pair setup named {:?}", result.offenders);
            out.insert(me, result.pairs);
        }
        out
    })
    .await
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` adds `--bench`.
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse().expect("committee sizes are numbers"))
        .collect();
    let sizes = if sizes.is_empty() { vec![3, 5, 7] } else { sizes };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("keywheel phases at ProductionParams112 (secp256k1), {cores} cores, threshold t = n/2 + 1\n");
    println!("| n | t | phase | parties | wall (s) | CPU total (s) | CPU per party (s) |");
    println!("|---|---|-------|---------|----------|---------------|-------------------|");
    let net = LocalNetwork::new();
    for n in sizes {
        assert!(n >= 2, "a committee has at least 2 members");
        for (phase, m) in bench(n, &net).await {
            println!(
                "| {n} | {} | {phase} | {} | {:.2} | {:.2} | {:.2} |",
                n / 2 + 1,
                m.parties,
                m.wall.as_secs_f64(),
                m.cpu.as_secs_f64(),
                m.cpu.as_secs_f64() / m.parties as f64
            );
        }
    }
}
