//! The DKLs23 signing path on keywheel's own shares, in process (the library's real protocol and
//! the production curve; parties exchange messages through maps instead of sockets). Shares
//! come from a trusted dealer or from keywheel's real resharing; the library's pairwise setup
//! and signing run unchanged.

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use dkls23::protocols::signing::TransmitPhase1to2;
use ecdsa::signature::hazmat::PrehashVerifier;

use super::{attempt, ids, rng, signers};
use crate::child_key::{account_path, child_verifying_key, eth_address};
use crate::dealer::Dealer;
use crate::dkls::key_share::counterparties_to_set_up;
use crate::dkls::{DklsKeyShare, PairSetup, PairSetupMessage, PairState, SignFault, SignRequest, Signing, P};
use crate::driver::Outcome;
use crate::identity::{AccountId, PartySigner};
use crate::local_net::LocalNetwork;
use crate::misbehave::reshare_session;
use crate::ops::ChildSignature;
use crate::reshare::ReshareInputs;
use crate::share::ThresholdShare;

type Pairs = BTreeMap<AccountId, BTreeMap<AccountId, PairState>>;

/// Runs the pair setup of `committee` after `previous` (with its members' states), every
/// message delivered as sent; returns each member's complete pair states and how many pairs
/// were set up.
fn set_up(committee: &BTreeSet<AccountId>, previous: Option<&BTreeMap<AccountId, DklsKeyShare>>) -> (Pairs, usize) {
    let before: Option<BTreeSet<AccountId>> = previous.map(|p| p.keys().copied().collect());
    let mut setups = BTreeMap::new();
    let mut inboxes: BTreeMap<AccountId, BTreeMap<AccountId, PairSetupMessage>> = BTreeMap::new();
    let mut fresh = 0;
    for me in committee {
        let with = counterparties_to_set_up(me, before.as_ref(), committee);
        fresh += with.len();
        let (setup, out) = PairSetup::start(*me, &with, b"test setup").unwrap();
        for (to, message) in out {
            inboxes.entry(to).or_default().insert(*me, message);
        }
        setups.insert(*me, setup);
    }
    let mut pairs = Pairs::new();
    for (me, setup) in setups {
        let result = setup.finish(inboxes.remove(&me).unwrap_or_default());
        assert!(result.faults.is_empty(), "{:?}", result.faults);
        let mut mine = previous
            .and_then(|p| p.get(&me))
            .map(|old| old.carried_pairs(committee))
            .unwrap_or_default();
        mine.extend(result.pairs);
        pairs.insert(me, mine);
    }
    (pairs, fresh / 2)
}

fn dkls_shares(shares: BTreeMap<AccountId, ThresholdShare<P>>, mut pairs: Pairs) -> BTreeMap<AccountId, DklsKeyShare> {
    shares
        .into_iter()
        .map(|(id, share)| (id, DklsKeyShare::new(share, pairs.remove(&id).unwrap()).unwrap()))
        .collect()
}

/// What an adversarial signer does to a message on its way: `(round, from, to, bytes)` →
/// `None` to withhold it.
type Tamper<'a> = &'a dyn Fn(u8, &AccountId, &AccountId, Vec<u8>) -> Option<Vec<u8>>;

fn deliver(
    round: u8,
    outboxes: BTreeMap<AccountId, BTreeMap<AccountId, Vec<u8>>>,
    tamper: Tamper,
) -> BTreeMap<AccountId, BTreeMap<AccountId, Vec<u8>>> {
    let mut inboxes: BTreeMap<AccountId, BTreeMap<AccountId, Vec<u8>>> = BTreeMap::new();
    for (from, out) in outboxes {
        for (to, bytes) in out {
            if let Some(bytes) = tamper(round, &from, &to, bytes) {
                inboxes.entry(to).or_default().insert(from, bytes);
            }
        }
    }
    inboxes
}

/// Runs one signing among `request.signers`, in lock step, messages passing through `tamper`;
/// returns each signer's result (a signer that failed a round stops there and sends nothing
/// further, as a real one would).
fn sign(
    shares: &BTreeMap<AccountId, DklsKeyShare>,
    request: &SignRequest,
    tamper: Tamper,
) -> BTreeMap<AccountId, Result<ChildSignature, SignFault>> {
    let mut results = BTreeMap::new();
    let mut round1 = BTreeMap::new();
    let mut out = BTreeMap::new();
    for who in &request.signers {
        let (state, messages) = Signing::start(&shares[who], request).unwrap();
        round1.insert(*who, state);
        out.insert(*who, messages);
    }
    let mut inboxes = deliver(1, out, tamper);
    let mut round2 = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (who, state) in round1 {
        match state.receive(inboxes.remove(&who).unwrap_or_default()) {
            Ok((state, messages)) => {
                round2.insert(who, state);
                out.insert(who, messages);
            }
            Err(fault) => {
                results.insert(who, Err(fault));
            }
        }
    }
    let mut inboxes = deliver(2, out, tamper);
    let mut round3 = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (who, state) in round2 {
        match state.receive(inboxes.remove(&who).unwrap_or_default()) {
            Ok((state, broadcast)) => {
                round3.insert(who, state);
                let to_all = request
                    .signers
                    .iter()
                    .filter(|s| **s != who)
                    .map(|s| (*s, broadcast.clone()))
                    .collect();
                out.insert(who, to_all);
            }
            Err(fault) => {
                results.insert(who, Err(fault));
            }
        }
    }
    let mut inboxes = deliver(3, out, tamper);
    for (who, state) in round3 {
        results.insert(who, state.finish(inboxes.remove(&who).unwrap_or_default()));
    }
    results
}

fn honest(_: u8, _: &AccountId, _: &AccountId, bytes: Vec<u8>) -> Option<Vec<u8>> {
    Some(bytes)
}

fn request(signers: BTreeSet<AccountId>, account: &AccountId, label: &str) -> SignRequest {
    SignRequest {
        sign_id: label.as_bytes().to_vec(),
        signers,
        prehash: sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), label.as_bytes())).into(),
        path: account_path(account),
    }
}

/// Asserts every signer produced the same signature, valid under the child key keywheel derives
/// from the parent key alone (the synedrion path's derivation), and returns it.
fn assert_signed(
    results: &BTreeMap<AccountId, Result<ChildSignature, SignFault>>,
    parent: &[u8],
    req: &SignRequest,
) -> ChildSignature {
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(parent).unwrap();
    let child = child_verifying_key::<P>(&parent, &req.path).unwrap();
    let mut first: Option<&ChildSignature> = None;
    for (who, result) in results {
        let signature = result
            .as_ref()
            .unwrap_or_else(|fault| panic!("{who:?} failed: {fault}"));
        assert_eq!(signature.child_key, child.to_encoded_point(true).as_bytes());
        let sig = k256::ecdsa::Signature::from_scalars(
            <[u8; 32]>::try_from(signature.r.as_slice()).unwrap(),
            <[u8; 32]>::try_from(signature.s.as_slice()).unwrap(),
        )
        .unwrap();
        child
            .verify_prehash(&req.prehash, &sig)
            .expect("verifies under keywheel's child key");
        let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(
            &req.prehash,
            &sig,
            k256::ecdsa::RecoveryId::from_byte(signature.v).unwrap(),
        )
        .unwrap();
        assert_eq!(recovered, child, "the recovery id recovers the child key");
        if let Some(first) = first {
            assert_eq!(first, signature, "every signer assembles the same signature");
        }
        first = Some(signature);
    }
    first.expect("at least one signer").clone()
}

/// Six members, the first five a committee whose 10 pairs are set up once for every test here
/// (the setup costs about a second per pair in a test build; it does not depend on the key).
fn members_and_pairs() -> &'static (Vec<PartySigner>, Pairs) {
    static ONCE: std::sync::OnceLock<(Vec<PartySigner>, Pairs)> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let everyone = signers(6);
        let (pairs, fresh) = set_up(&ids(&everyone[..5]), None);
        assert_eq!(fresh, 10, "all 10 pairs of a new committee are set up");
        (everyone, pairs)
    })
}

/// A dealt 3-of-5 sharing for the committee of [`members_and_pairs`], with its pair states.
fn committee_of_five(seed: u64) -> (Vec<PartySigner>, Dealer<P>, BTreeMap<AccountId, DklsKeyShare>) {
    let (everyone, pairs) = members_and_pairs();
    let mut dealer = Dealer::<P>::new(seed);
    let shares = dkls_shares(dealer.deal(&ids(&everyone[..5]), 3), pairs.clone());
    (everyone.clone(), dealer, shares)
}

#[test]
fn child_keys_and_addresses_match_the_synedrion_derivation_for_every_account() {
    let (_, dealer, shares) = committee_of_five(1);
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(&dealer.verifying_key()).unwrap();
    let share = shares.values().next().unwrap();
    let mut seen = BTreeSet::new();
    for byte in [0x01u8, 0x42, 0x7f, 0x80, 0xc3, 0xff] {
        let account = AccountId([byte; 32]);
        let path = account_path(&account);
        let indices: Vec<u32> = path.iter().map(|c| c.index()).collect();
        let ours = share.child_key(&indices).unwrap();
        let theirs = child_verifying_key::<P>(&parent, &path).unwrap();
        assert_eq!(ours, theirs.to_encoded_point(true).as_bytes(), "account {byte:#x}");
        let address = eth_address(&k256::ecdsa::VerifyingKey::from_sec1_bytes(&ours).unwrap());
        assert_eq!(address, eth_address(&theirs));
        assert!(seen.insert(address), "each account has its own address");
    }
    // And the library signs for them: two accounts, two signer sets.
    let members: Vec<AccountId> = shares.keys().copied().collect();
    for (account, set) in [
        (AccountId([0x42; 32]), &members[..3]),
        (AccountId([0xc3; 32]), &members[2..]),
    ] {
        let req = request(set.iter().copied().collect(), &account, "child key");
        assert_signed(&sign(&shares, &req, &honest), &dealer.verifying_key(), &req);
    }
}

/// A real keywheel reshare (the oldest leaves, one joins), then the pair setup for the joiner's
/// pairs only: the new committee signs under the same parent key, with and without the joiner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_real_reshare_only_the_joiners_pairs_are_set_up_and_the_new_committee_signs() {
    let (everyone, dealer, old) = committee_of_five(2);
    let new_committee = ids(&everyone[1..]);
    let inputs = ReshareInputs::<P> {
        old: old.values().next().unwrap().share().public().clone(),
        staying: ids(&everyone[1..5]),
        new_committee: new_committee.clone(),
        new_threshold: 3,
    };
    let at = attempt("dkls reshare", 60);
    let net = LocalNetwork::new();
    let tasks: Vec<_> = everyone[1..]
        .iter()
        .map(|s| {
            let (s, inputs, at, net) = (s.clone(), inputs.clone(), at.clone(), net.clone());
            let old_share = old.get(&s.account()).map(|d| d.share().clone());
            tokio::spawn(async move {
                (
                    s.account(),
                    reshare_session(&mut rng(), &s, inputs, old_share, None, &at, &net).await,
                )
            })
        })
        .collect();
    let mut reshared = BTreeMap::new();
    for task in tasks {
        let (who, outcome) = task.await.unwrap();
        let Outcome::Done(Some(output)) = outcome.unwrap() else {
            panic!("{who:?}: the reshare did not finish")
        };
        reshared.insert(who, output.share);
    }
    let (pairs, fresh) = set_up(&new_committee, Some(&old));
    assert_eq!(
        fresh, 4,
        "only the joiner's 4 pairs are set up; the 6 continuing pairs keep theirs"
    );
    let new = dkls_shares(reshared, pairs);
    let joiner = everyone[5].account();
    let with_joiner: BTreeSet<AccountId> = [everyone[1].account(), everyone[3].account(), joiner].into();
    let continuing: BTreeSet<AccountId> = ids(&everyone[2..5]);
    for (set, label) in [(with_joiner, "with the joiner"), (continuing, "continuing only")] {
        let req = request(set, &AccountId([9; 32]), label);
        assert_signed(&sign(&new, &req, &honest), &dealer.verifying_key(), &req);
    }
}

/// A member restored from a backup still holds its old share and old pair states: with two
/// members of the new sharing it cannot sign, and each of them names it before any
/// multiplication work (the sharing's session id differs).
#[test]
fn a_stale_share_with_its_old_pair_state_cannot_sign_with_the_new_committee() {
    let (_, mut dealer, old) = committee_of_five(3);
    let committee: BTreeSet<AccountId> = old.keys().copied().collect();
    let (pairs, _) = set_up(&committee, Some(&old));
    let new = dkls_shares(dealer.deal(&committee, 3), pairs);
    let members: Vec<AccountId> = committee.iter().copied().collect();
    let stale = members[0];
    let mut mixed: BTreeMap<AccountId, DklsKeyShare> = BTreeMap::new();
    let (old, mut new) = (old, new);
    let mut old = old;
    mixed.insert(stale, old.remove(&stale).unwrap());
    for m in &members[1..3] {
        mixed.insert(*m, new.remove(m).unwrap());
    }
    let req = request(members[..3].iter().copied().collect(), &AccountId([5; 32]), "stale");
    let results = sign(&mixed, &req, &honest);
    assert!(results.values().all(Result::is_err), "nobody signs with a stale share");
    for m in &members[1..3] {
        let fault = results[m].as_ref().unwrap_err();
        assert_eq!(fault.offender, Some(stale), "{m:?}: {fault}");
    }
}

fn tamper_round1_sender(
    victim: AccountId,
    cheater: AccountId,
    claimed: u8,
) -> impl Fn(u8, &AccountId, &AccountId, Vec<u8>) -> Option<Vec<u8>> {
    move |round, from, to, bytes| {
        if round == 1 && *from == cheater && *to == victim {
            let mut message: TransmitPhase1to2 = postcard::from_bytes(&bytes).unwrap();
            message.parties.sender = dkls23::protocols::PartyIndex::new(claimed).unwrap();
            return Some(postcard::to_allocvec(&message).unwrap());
        }
        Some(bytes)
    }
}

/// A signer writes another signer's index into its message: the receiver names the real sender
/// (the transport's), not the one the message claims.
#[test]
fn a_message_claiming_another_sender_names_its_real_sender() {
    let (_, _, shares) = committee_of_five(4);
    let members: Vec<AccountId> = shares.keys().copied().collect();
    let (victim, other, cheater) = (members[0], members[1], members[2]);
    let req = request([victim, other, cheater].into(), &AccountId([6; 32]), "impersonation");
    let results = sign(&shares, &req, &tamper_round1_sender(victim, cheater, 2));
    let fault = results[&victim].as_ref().unwrap_err();
    assert_eq!(fault.offender, Some(cheater), "{fault}");
    assert!(!results.values().any(Result::is_ok), "no signature: the victim stopped");
}

/// A signer that corrupts one round-2 message (its multiplication data for one co-signer) or
/// withholds one round-1 message is named by its victim; the signing fails, and another set of
/// signers that leaves out everyone named signs the same request.
#[test]
fn a_signer_that_aborts_a_round_is_named_and_another_subset_signs_the_request() {
    let (_, dealer, shares) = committee_of_five(5);
    let members: Vec<AccountId> = shares.keys().copied().collect();
    let (victim, other, cheater) = (members[0], members[1], members[2]);
    let corrupt = move |round: u8, from: &AccountId, to: &AccountId, mut bytes: Vec<u8>| {
        if round == 2 && *from == cheater && *to == victim {
            let last = bytes.len() - 40;
            bytes[last] ^= 0x01;
        }
        Some(bytes)
    };
    let withhold = move |round: u8, from: &AccountId, to: &AccountId, bytes: Vec<u8>| {
        (round != 1 || *from != cheater || *to != victim).then_some(bytes)
    };
    let cheats: [(Tamper, &str); 2] = [(&corrupt, "corrupted"), (&withhold, "withheld")];
    for (tamper, label) in cheats {
        let req = request([victim, other, cheater].into(), &AccountId([7; 32]), label);
        let results = sign(&shares, &req, tamper);
        assert!(!results.values().any(Result::is_ok), "{label}: no signature");
        let fault = results[&victim].as_ref().unwrap_err();
        assert_eq!(fault.offender, Some(cheater), "{label}: {fault}");
        // The coordinator's retry: a signer set without anyone named by anyone.
        let named: BTreeSet<AccountId> = results.values().filter_map(|r| r.as_ref().err()?.offender).collect();
        let retry: BTreeSet<AccountId> = members.iter().filter(|m| !named.contains(m)).take(3).copied().collect();
        assert_eq!(retry.len(), 3, "{label}: enough signers are left");
        let req = SignRequest {
            signers: retry,
            sign_id: [req.sign_id.as_slice(), b"/retry"].concat(),
            ..req
        };
        assert_signed(&sign(&shares, &req, &honest), &dealer.verifying_key(), &req);
    }
}

/// A signer that spoils the OT extension data it sends one victim (its consistency check fails:
/// the probe of a selective-failure attack on the reused correlation) is named, and the library's
/// demand to drop the pair reaches the caller (`ban`). Without the pair, the victim refuses any
/// signing with that signer before a message leaves it, and still signs with the others.
#[test]
fn a_failed_ot_check_names_the_prober_and_its_pair_is_dropped() {
    let (_, dealer, shares) = committee_of_five(8);
    let members: Vec<AccountId> = shares.keys().copied().collect();
    let (victim, other, prober) = (members[0], members[1], members[2]);
    let probe = move |round: u8, from: &AccountId, to: &AccountId, bytes: Vec<u8>| {
        if round == 1 && *from == prober && *to == victim {
            let mut message: TransmitPhase1to2 = postcard::from_bytes(&bytes).unwrap();
            message.mul_transmit.verify_x[0] ^= 1;
            return Some(postcard::to_allocvec(&message).unwrap());
        }
        Some(bytes)
    };
    let req = request([victim, other, prober].into(), &AccountId([8; 32]), "probe");
    let results = sign(&shares, &req, &probe);
    let fault = results[&victim].as_ref().unwrap_err();
    assert_eq!(fault.offender, Some(prober), "{fault}");
    assert!(fault.ban, "a failed OT check demands the pair be dropped: {fault}");
    assert!(!results.values().any(Result::is_ok));

    let without = shares[&victim].without_pair(&prober).unwrap();
    assert_eq!(without.missing_pairs(), BTreeSet::from([prober]));
    assert!(
        Signing::start(&without, &req).is_err(),
        "no signing with the prober any more"
    );
    let mut after: BTreeMap<AccountId, DklsKeyShare> = BTreeMap::new();
    for m in &members {
        let key = &shares[m];
        after.insert(
            *m,
            DklsKeyShare::new(key.share().clone(), key.carried_pairs(&ids_of(&members))).unwrap(),
        );
    }
    after.insert(victim, without);
    let req = request(
        [victim, other, members[3]].into(),
        &AccountId([8; 32]),
        "after the probe",
    );
    assert_signed(&sign(&after, &req, &honest), &dealer.verifying_key(), &req);
}

fn ids_of(members: &[AccountId]) -> BTreeSet<AccountId> {
    members.iter().copied().collect()
}

#[test]
fn a_pair_setup_message_that_fails_its_proofs_names_its_sender_and_the_other_pairs_finish() {
    let committee = ids(&signers(3));
    let members: Vec<AccountId> = committee.iter().copied().collect();
    let (me, good, bad) = (members[0], members[1], members[2]);
    let (setup, _) = PairSetup::start(me, &[good, bad].into(), b"ctx").unwrap();
    let (_, mut from_good) = PairSetup::start(good, &[me, bad].into(), b"ctx").unwrap();
    let (_, mut from_bad) = PairSetup::start(bad, &[me, good].into(), b"ctx").unwrap();
    // The bad member's message for another context: its proofs are bound to that one.
    let (_, mut replayed) = PairSetup::start(bad, &[me].into(), b"another ctx").unwrap();
    let stranger = AccountId([0xee; 32]);
    let (_, mut from_stranger) = PairSetup::start(stranger, &[me].into(), b"ctx").unwrap();
    drop(from_bad.remove(&me));
    let received = BTreeMap::from([
        (good, from_good.remove(&me).unwrap()),
        (bad, replayed.remove(&me).unwrap()),
        (stranger, from_stranger.remove(&me).unwrap()),
    ]);
    let result = setup.finish(received);
    assert_eq!(result.pairs.keys().copied().collect::<Vec<_>>(), vec![good]);
    assert_eq!(
        result.faults.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([bad, stranger])
    );
}

#[test]
fn pair_setup_messages_and_key_shares_refuse_bad_input() {
    let committee = ids(&signers(3));
    let members: Vec<AccountId> = committee.iter().copied().collect();
    let (_, mut out) = PairSetup::start(members[0], &[members[1]].into(), b"ctx").unwrap();
    let bytes = out.remove(&members[1]).unwrap().to_bytes().unwrap();
    assert!(PairSetupMessage::from_bytes(&bytes).is_ok());
    assert!(
        PairSetupMessage::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err(),
        "trailing bytes"
    );
    assert!(
        PairSetupMessage::from_bytes(&bytes[..bytes.len() - 1]).is_err(),
        "truncated"
    );
    assert!(PairSetupMessage::from_bytes(&vec![0; crate::dkls::pair_setup::MAX_PAIR_SETUP_MESSAGE + 1]).is_err());
    assert!(
        PairSetup::start(members[0], &[members[0]].into(), b"ctx").is_err(),
        "a pair with itself"
    );

    let mut dealer = Dealer::<P>::new(6);
    let (mut pairs, _) = set_up(&committee, None);
    let shares = dealer.deal(&committee, 2);
    let me = members[0];
    let mine = pairs.remove(&me).unwrap();
    // A missing pair: the share is kept, and signing with that counterparty is refused before
    // any message (a coordinator picks other signers).
    let mut short = mine.clone();
    short.remove(&members[1]);
    let partial = DklsKeyShare::new(shares[&me].clone(), short).unwrap();
    assert_eq!(partial.missing_pairs(), BTreeSet::from([members[1]]));
    let req = request([me, members[1]].into(), &AccountId([1; 32]), "missing pair");
    assert!(Signing::start(&partial, &req).is_err());
    let req = request([me, members[2]].into(), &AccountId([1; 32]), "other pair");
    assert!(Signing::start(&partial, &req).is_ok());
    // Its byte form round-trips (missing pair and all); damaged bytes are refused.
    let bytes = partial.to_bytes().unwrap();
    let back = DklsKeyShare::from_bytes(&bytes).unwrap();
    assert_eq!(back.missing_pairs(), partial.missing_pairs());
    assert_eq!(back.session_id(), partial.session_id());
    assert!(DklsKeyShare::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut wrong_secret = bytes.to_vec();
    let at = wrong_secret
        .windows(32)
        .position(|w| w == crate::curve::scalar_to_bytes::<P>(shares[&me].secret()).as_slice())
        .expect("the secret is in the envelope");
    wrong_secret[at + 31] ^= 1;
    assert!(
        DklsKeyShare::from_bytes(&wrong_secret).is_err(),
        "a secret off its public share"
    );
    // A pair with a non-member.
    let mut extra = mine.clone();
    extra.insert(AccountId([0xee; 32]), mine[&members[1]].clone());
    assert!(DklsKeyShare::new(shares[&me].clone(), extra).is_err());
    // A threshold of 1.
    assert!(DklsKeyShare::new(dealer.deal(&committee, 1)[&me].clone(), mine.clone()).is_err());
    // Secrets are never printed.
    let share = DklsKeyShare::new(shares[&me].clone(), mine).unwrap();
    let printed = format!("{share:?} {:?}", out);
    let secret = hex::encode(crate::curve::scalar_to_bytes::<P>(shares[&me].secret()));
    assert!(
        !printed.contains(&secret) && !printed.to_lowercase().contains("seed:"),
        "{printed}"
    );
    // A signer set of the wrong size or without this member is refused before any message.
    let req = request([members[1], members[2]].into(), &AccountId([1; 32]), "not me");
    assert!(Signing::start(&share, &req).is_err());
    let req = request(committee.clone(), &AccountId([1; 32]), "too many");
    assert!(Signing::start(&share, &req).is_err());
}

/// Runs `dkls_sign` for each `(signer, share)` over `net`; returns each one's outcome.
async fn sign_over(
    shares: Vec<(PartySigner, std::sync::Arc<DklsKeyShare>)>,
    signer_set: &BTreeSet<AccountId>,
    account: &AccountId,
    label: &str,
    seconds: u64,
    net: &LocalNetwork,
) -> BTreeMap<AccountId, Outcome<ChildSignature>> {
    let at = attempt(label, seconds);
    let path = account_path(account);
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|(s, share)| {
            let (set, at, net, path) = (signer_set.clone(), at.clone(), net.clone(), path.clone());
            tokio::spawn(async move {
                let signed = crate::ops::dkls_sign(&mut rng(), &s, share, &set, &path, &[7; 32], &at, &net).await;
                (s.account(), signed.expect("no local error").outcome)
            })
        })
        .collect();
    let mut out = BTreeMap::new();
    for task in tasks {
        let (who, outcome) = task.await.unwrap();
        out.insert(who, outcome);
    }
    out
}

/// The pair setup and signing as manul sessions through keywheel's driver (signed messages,
/// deadlines): a committee of three sets up its pairs and signs; a signer whose share is of an
/// older sharing is named by the others with an unprovable accusation; a silent signer is named
/// unresponsive at the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_session_driver_a_committee_sets_up_signs_and_names_who_fails() {
    use crate::driver::Fault;
    use std::sync::Arc;
    let members = signers(3);
    let committee = ids(&members);
    let net = LocalNetwork::new();
    let at = attempt("dkls pair setup", 60);
    let tasks: Vec<_> = members
        .iter()
        .map(|s| {
            let (s, at, net) = (s.clone(), at.clone(), net.clone());
            let with = counterparties_to_set_up(&s.account(), None, &committee);
            tokio::spawn(async move {
                (
                    s.account(),
                    crate::ops::dkls_pair_setup(&mut rng(), &s, with, &at, &net).await,
                )
            })
        })
        .collect();
    let mut pairs = Pairs::new();
    for task in tasks {
        let (who, result) = task.await.unwrap();
        assert!(result.offenders.is_empty(), "{who:?}: {:?}", result.offenders);
        pairs.insert(who, result.pairs);
    }
    let mut dealer = Dealer::<P>::new(7);
    let old = dkls_shares(dealer.deal(&committee, 2), pairs.clone());
    let new = dkls_shares(dealer.deal(&committee, 2), pairs);
    let share = |who: &PartySigner, from: &BTreeMap<AccountId, DklsKeyShare>| {
        let s = &from[&who.account()];
        Arc::new(DklsKeyShare::new(s.share().clone(), s.carried_pairs(&committee)).unwrap())
    };

    // Two signers of the new sharing sign.
    let set: BTreeSet<AccountId> = ids(&members[..2]);
    let outcomes = sign_over(
        members[..2].iter().map(|m| (m.clone(), share(m, &new))).collect(),
        &set,
        &AccountId([3; 32]),
        "dkls driver sign",
        60,
        &net,
    )
    .await;
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(&dealer.verifying_key()).unwrap();
    let child = child_verifying_key::<P>(&parent, &account_path(&AccountId([3; 32]))).unwrap();
    for (who, outcome) in outcomes {
        let Outcome::Done(signature) = outcome else {
            panic!("{who:?} did not sign")
        };
        assert_eq!(signature.child_key, child.to_encoded_point(true).as_bytes());
    }

    // A stale share: the new-sharing signer names it (unprovably), in round 1.
    let (stale, honest) = (&members[0], &members[1]);
    let outcomes = sign_over(
        vec![
            (stale.clone(), share(stale, &old)),
            (honest.clone(), share(honest, &new)),
        ],
        &set,
        &AccountId([3; 32]),
        "dkls driver stale",
        60,
        &net,
    )
    .await;
    let Outcome::Failed { offenders } = &outcomes[&honest.account()] else {
        panic!("signed with a stale share")
    };
    assert_eq!(offenders.len(), 1);
    assert_eq!(offenders[0].party, stale.account());
    assert!(
        matches!(offenders[0].fault, Fault::Unprovable { .. }),
        "{:?}",
        offenders[0].fault
    );
    assert_eq!(offenders[0].rounds[0].number, 1);

    // A silent signer: named unresponsive at the deadline.
    let outcomes = sign_over(
        vec![(honest.clone(), share(honest, &new))],
        &set,
        &AccountId([3; 32]),
        "dkls driver silent",
        3,
        &net,
    )
    .await;
    let Outcome::Failed { offenders } = &outcomes[&honest.account()] else {
        panic!("signed alone")
    };
    assert_eq!(offenders.len(), 1);
    assert_eq!(offenders[0].party, stale.account());
    assert!(
        matches!(offenders[0].fault, Fault::Unresponsive),
        "{:?}",
        offenders[0].fault
    );
}

/// A member that stays silent in the pair setup is named unresponsive when the setup stalls, and
/// the others keep the pair they finished between themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_member_costs_the_others_only_their_pairs_with_it() {
    use crate::driver::Fault;
    let members = signers(3);
    let committee = ids(&members);
    let silent = members[2].account();
    let net = LocalNetwork::new();
    let at = crate::ops::Attempt {
        stall: Some(std::time::Duration::from_secs(3)),
        ..attempt("dkls pair setup, one silent", 60)
    };
    let tasks: Vec<_> = members[..2]
        .iter()
        .map(|s| {
            let (s, at, net) = (s.clone(), at.clone(), net.clone());
            let with = counterparties_to_set_up(&s.account(), None, &committee);
            tokio::spawn(async move {
                (
                    s.account(),
                    crate::ops::dkls_pair_setup(&mut rng(), &s, with, &at, &net).await,
                )
            })
        })
        .collect();
    for task in tasks {
        let (who, result) = task.await.unwrap();
        let other = members[..2].iter().map(|m| m.account()).find(|m| *m != who).unwrap();
        assert_eq!(
            result.pairs.keys().copied().collect::<Vec<_>>(),
            vec![other],
            "{who:?} keeps its finished pair"
        );
        assert_eq!(result.offenders.len(), 1, "{:?}", result.offenders);
        assert_eq!(result.offenders[0].party, silent);
        assert!(matches!(result.offenders[0].fault, Fault::Unresponsive));
    }
}
