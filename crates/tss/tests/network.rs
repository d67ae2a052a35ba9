//! The TSS network end to end, at production parameters: a dev node in this process (over its
//! real JSON-RPC socket) and six TSS processes (the real `keywheel-tss` binary, Noise over
//! loopback TCP), in one test whose phases share the network and run in order:
//!
//! 1. `jumpstart`: the chain picks a committee of 5 of the 6 (threshold 3), which runs the DKG.
//! 2. `sign_after_jumpstart`: a signature for a registered account under its child key.
//! 3. `refuse_bad_requests`: bad sign requests refused, each with its status and a reason.
//! 4. `admit_a_burst`: a burst over a TSS's signing queue: the admitted are signed in turn, the
//!    rest refused with `503` and `Retry-After`, and one of those, sent again, is signed.
//! 5. `refuse_a_node_of_another_network`: a member, pointed at a node of another network,
//!    halts (and signs nothing) with its keystore unchanged; a copy of its keystore is kept.
//! 6. `crash_a_staying_member_mid_rotation`: the next rotation starts; that member is SIGKILLed
//!    in the middle of it, its keystore restored from the copy taken before it began the attempt
//!    (an operator's restore), and restarted: it must not rejoin the attempt.
//! 7. `rotate_without_the_crashed_member`: the retry without it rotates; it was slashed.
//! 8. `departed_member_cannot_coordinate`: its TSS answers at once that it cannot sign.
//! 9. `sign_after_rotation`: the new committee signs under the same child key.
//! 10. `sign_past_a_member_down_for_good`: a member goes down for good; the request whose first
//!     pick needs it signs on a later round, the next such request on round 0 without it.
//! 11. `departed_share_retired`: the crashed member retired (kept, sealed — not erased) its
//!     share once the chain rotated.
//! 12. `every_keystore_opens`: after the run; members hold exactly the chain's sharing.
//!
//! The fixture (node, processes, clients) is `support::Network`.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keywheel_chain::{AccountId, Call, Event, Params, Punishment, ReshareKind, SessionIndex};
use keywheel_mpc::PartySigner;
use keywheel_rpc::sign_request::{now_ms, SignRequest, SignResponse, ToSign};
use keywheel_rpc::{Bytes, CommitteeView, KeywheelApiClient, RuntimeCall};
use keywheel_tss::keystore::Slot;
use keywheel_tss::signing::choose_signers;

use support::{account, signer, wait_for, Network, SIGN_QUEUE};

const VALIDATORS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpstart_sign_reshare_through_a_crash_rotate_and_sign_again() {
    let params = Params {
        committee_size: 5,
        threshold: 3,
        session_length: 200,
        reshare_deadline: 400,
        max_attempts: 3,
        slash_permill: 100_000,
        barred_sessions: 2,
        unbonding_period: 10,
        min_bond: 1_000,
    };
    let mut net = Network::start(VALIDATORS, params.clone()).await;
    let parent = jumpstart(&mut net).await;
    let first = sign_after_jumpstart(&net, &parent).await;
    refuse_bad_requests(&net).await;
    admit_a_burst(&net, &parent).await;
    let (victim, copy) = refuse_a_node_of_another_network(&mut net, params).await;
    let session = crash_a_staying_member_mid_rotation(&mut net, victim, &copy).await;
    let rotated = rotate_without_the_crashed_member(&mut net, &parent, session, victim).await;
    departed_member_cannot_coordinate(&net, &rotated).await;
    sign_after_rotation(&net, &parent, &rotated, &first).await;
    sign_past_a_member_down_for_good(&mut net, &parent, &rotated).await;
    departed_share_retired(&net, &rotated).await;
    every_keystore_opens(&mut net, &rotated);
    net.stop().await;
}

/// What the rotation left, for the phases after it.
struct Rotated {
    /// The chain's committee after the rotation.
    committee: CommitteeView,
    /// Its members' TSS accounts.
    members: BTreeSet<AccountId>,
    /// The staying member that crashed mid-rotation (restarted, no longer a member).
    victim: usize,
    /// A member of the new committee, the TSS the later requests go through.
    member: usize,
}

/// Jumpstart: the chain picks 5 of the 6; their TSSs run the DKG and confirm. Returns the
/// parent key; the user is registered for a child key under it.
async fn jumpstart(net: &mut Network) -> Vec<u8> {
    net.submit(&net.root, RuntimeCall::Sudo(Call::Jumpstart)).await;
    let created = net
        .next_event(Duration::from_secs(300), |e| {
            matches!(e, Event::ParentKeyCreated { .. } | Event::ReshareAborted { .. })
        })
        .await;
    let Event::ParentKeyCreated { verifying_key: parent } = created else {
        net.dump_logs();
        panic!("jumpstart aborted: {created:?}");
    };
    // No session starts until `refuse_a_node_of_another_network` is done.
    let quiet = Params {
        session_length: 1_000_000,
        ..net.client.params().await.unwrap()
    };
    net.submit(&net.root, RuntimeCall::Sudo(Call::SetParams { params: quiet }))
        .await;
    net.submit(&net.user, RuntimeCall::Signed(Call::Register)).await;
    parent
}

/// A signature for the user's child key, through a TSS that may or may not sign itself: it
/// verifies under the child key derived from the parent key, and names that key's address.
async fn sign_after_jumpstart(net: &Network, parent: &[u8]) -> SignResponse {
    let first = net.sign(0, b"before the rotation", 1).await;
    let address = net
        .verify(parent, &first)
        .expect("the signature verifies under the child key derived from the parent key");
    assert_eq!(first.address, address);
    first
}

/// Bad sign requests over HTTP: each refused with its status and a reason, none reaching a
/// signer, the TSS unharmed (it signs again later).
async fn refuse_bad_requests(net: &Network) {
    let stranger = signer(6, 0);
    let post_raw = async |body: String| {
        let reply = net
            .http
            .post(net.tsss[1].url("/v1/sign"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    };
    let fresh = |who: &PartySigner, id: u8, expires: u64| {
        SignRequest::new(who, net.genesis_hash, ToSign::Hash([id; 32]), [id; 16], expires)
    };
    let mut tampered = fresh(&net.user, 20, now_ms() + 60_000);
    tampered.signature[5] ^= 1;
    let mut impersonated = fresh(&net.user, 21, now_ms() + 60_000);
    impersonated.account = account(&stranger);
    let mut short_hash = fresh(&net.user, 22, now_ms() + 60_000);
    short_hash.hash = Some(Bytes(vec![1; 31]));
    let unregistered = fresh(&stranger, 23, now_ms() + 60_000);
    let json = |r: &SignRequest| serde_json::to_string(r).unwrap();
    let cases: Vec<(&str, String, u16)> = vec![
        ("a tampered signature", json(&tampered), 401),
        ("signed by another account", json(&impersonated), 401),
        ("expired", json(&fresh(&net.user, 24, now_ms() - 1)), 400),
        (
            "valid for too long",
            json(&fresh(&net.user, 25, now_ms() + 3_600_000)),
            400,
        ),
        ("a 31-byte hash", json(&short_hash), 400),
        ("not JSON", "{ not json".into(), 400),
        ("not a request", "{\"account\": 7}".into(), 400),
        ("an unregistered account", json(&unregistered), 403),
        // Refused before it is remembered: the same again is refused the same way, not as a
        // replay (throwaway accounts cannot fill the replay cache).
        ("the same unregistered request again", json(&unregistered), 403),
        (
            "an oversized body",
            format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024)),
            413,
        ),
    ];
    for (what, body, expected) in cases {
        let (code, text) = post_raw(body).await;
        assert_eq!(code, expected, "{what}: {text}");
        assert!(!text.is_empty(), "{what}: the refusal says why");
    }
}

/// A burst of valid requests at one TSS (admitting `SIGN_QUEUE`, one at a time): those
/// admitted are signed in turn; the rest are refused at once with `503`, code `busy` and a
/// `Retry-After`, and — nothing having been remembered of them — one sent again as it is, once
/// the burst is over, is signed.
async fn admit_a_burst(net: &Network, parent: &[u8]) {
    const BURST: usize = 6;
    let requests: Vec<SignRequest> = (0..BURST)
        .map(|i| net.request(ToSign::Message(format!("burst {i}").into_bytes()), [40 + i as u8; 16]))
        .collect();
    let mut burst = tokio::task::JoinSet::new();
    for (i, request) in requests.iter().cloned().enumerate() {
        let (http, url) = (net.http.clone(), net.tsss[1].url("/v1/sign"));
        burst.spawn(async move {
            let reply = http.post(url).json(&request).send().await.unwrap();
            let retry_after = reply
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (i, reply.status().as_u16(), retry_after, reply.text().await.unwrap())
        });
    }
    let replies = burst.join_all().await;
    let mut signed = 0;
    let mut refused = Vec::new();
    for (i, code, retry_after, body) in replies {
        match code {
            200 => {
                let response: SignResponse = serde_json::from_str(&body).unwrap();
                net.verify(parent, &response)
                    .expect("a signature from the burst verifies");
                signed += 1;
            }
            503 => {
                assert!(body.contains("\"busy\""), "a refusal names the cause: {body}");
                let seconds: u64 = retry_after.expect("a busy refusal says when to retry").parse().unwrap();
                assert!(seconds >= 1);
                refused.push(i);
            }
            other => panic!("request {i} of the burst: {other} {body}"),
        }
    }
    assert!(
        signed >= SIGN_QUEUE,
        "every admitted request is signed: {signed} of {BURST}"
    );
    assert!(
        !refused.is_empty(),
        "a burst over the queue is refused in part: {signed} signed"
    );
    let again = net.send_sign(1, &requests[refused[0]]).await;
    net.verify(parent, &again)
        .expect("a refused request sent again is signed");
}

/// What a TSS's keystore says: its slots, the retired shares, the started marker, the chain it
/// is bound to and how far it has seen (opened while the TSS is stopped).
fn keystore_facts(net: &Network, i: usize) -> String {
    let ks = net.tsss[i].keystore();
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        ks.info(Slot::Current).unwrap(),
        ks.info(Slot::Next).unwrap(),
        ks.retired().unwrap(),
        ks.started().unwrap(),
        ks.chain_binding().unwrap(),
        ks.high_water().unwrap()
    )
}

/// The newest committee member (sure to stay in the next rotation: the oldest leaves) is
/// pointed at a node of another network. It halts — says why, signs nothing — and its keystore
/// is unchanged; back on its own node it resumes. Then session boundaries resume (`params`).
/// Returns the member and a copy of its keystore taken while it was stopped.
async fn refuse_a_node_of_another_network(net: &mut Network, params: Params) -> (usize, PathBuf) {
    assert!(net.client.reshare().await.unwrap().is_none(), "no reshare in flight");
    let committee = net.client.committee().await.unwrap();
    let newest = committee.members.iter().max_by_key(|m| m.join_seq).unwrap().tss;
    let i = net.tsss.iter().position(|t| t.account == newest).unwrap();
    net.tsss[i].stop();
    let before = keystore_facts(net, i);
    let copy = net.tsss[i].keystore_file().with_extension("before-rotation");
    std::fs::copy(net.tsss[i].keystore_file(), &copy).unwrap();

    let foreign = net.start_foreign_node().await;
    net.tsss[i].spawn(&foreign.ws_url());
    let status = wait_for(
        "the TSS to halt on another network",
        Duration::from_secs(60),
        async || {
            net.status(i)
                .await
                .filter(|s| s.halted.as_deref().is_some_and(|h| h.contains("another network")))
        },
    )
    .await;
    let why = status.halted.unwrap();
    assert!(why.contains("another network"), "{why}");
    assert!(status.current.is_some(), "its share is still there");
    let refused = net
        .http
        .post(net.tsss[i].url("/v1/sign"))
        .json(&net.request(ToSign::Hash([9; 32]), [9; 16]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    let body = refused.text().await.unwrap();
    assert!(body.contains("does not sign now"), "{body}");
    net.tsss[i].stop();
    foreign.stop().await.unwrap();
    assert_eq!(keystore_facts(net, i), before, "nothing in the keystore changed");

    net.tsss[i].spawn(&net.node_url);
    wait_for(
        "the TSS to resume on its own node",
        Duration::from_secs(60),
        async || {
            net.status(i)
                .await
                .filter(|s| s.halted.is_none() && s.chain_session.is_some())
        },
    )
    .await;
    net.submit(&net.root, RuntimeCall::Sudo(Call::SetParams { params }))
        .await;
    (i, copy)
}

/// The next session's rotation starts; `victim`, a staying member, is SIGKILLed in the middle
/// of it, its keystore replaced by `copy` (taken before the attempt began: no started marker for
/// it), and restarted. Its log must say it sits the attempt out. Session boundaries stop, so
/// later phases look at exactly this rotation. Returns the rotation's session.
async fn crash_a_staying_member_mid_rotation(net: &mut Network, victim: usize, copy: &Path) -> SessionIndex {
    let started = net
        .next_event(Duration::from_secs(300), |e| {
            matches!(
                e,
                Event::ReshareStarted {
                    kind: ReshareKind::Rotation,
                    ..
                }
            )
        })
        .await;
    let Event::ReshareStarted { session, staying, .. } = started else {
        unreachable!()
    };
    let mut quiet = net.client.params().await.unwrap();
    quiet.session_length = 1_000_000;
    net.submit(&net.root, RuntimeCall::Sudo(Call::SetParams { params: quiet }))
        .await;
    assert!(staying.contains(&net.tsss[victim].account), "the newest member stays");
    tokio::time::sleep(Duration::from_secs(3)).await;
    net.tsss[victim].kill();
    assert_eq!(
        net.tsss[victim].keystore().started().unwrap(),
        Some((session, 1)),
        "it began the attempt"
    );
    let restored = net.tsss[victim].open_keystore(copy).started().unwrap();
    assert!(restored < Some((session, 1)), "the copy predates it: {restored:?}");
    std::fs::copy(copy, net.tsss[victim].keystore_file()).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    net.tsss[victim].spawn(&net.node_url);
    wait_for(
        "the restarted TSS to sit the attempt out",
        Duration::from_secs(60),
        async || {
            net.tsss[victim]
                .log()
                .contains("the attempt began before this process started following the chain")
                .then_some(())
        },
    )
    .await;
    session
}

/// The rotation of `session` happens on a later attempt (the crashed member cannot have let the
/// first finish), without it: the parent key is unchanged, the crashed member is out of the
/// committee and slashed as silent.
async fn rotate_without_the_crashed_member(
    net: &mut Network,
    parent: &[u8],
    session: SessionIndex,
    victim: usize,
) -> Rotated {
    let rotated = net
        .next_event(Duration::from_secs(400), |e| {
            matches!(e, Event::RotateKey { .. } | Event::ReshareAbandoned { .. })
        })
        .await;
    let Event::RotateKey {
        session: rotated_session,
        attempt,
    } = rotated
    else {
        net.dump_logs();
        panic!("the rotation did not happen: {rotated:?}");
    };
    assert_eq!(rotated_session, session);
    assert!(
        attempt >= 2,
        "the crashed member cannot have let the first attempt finish"
    );

    let committee = net.client.committee().await.unwrap();
    assert_eq!(
        committee.parent_key.as_deref(),
        Some(parent),
        "the parent key never changes"
    );
    let members: BTreeSet<AccountId> = committee.members.iter().map(|m| m.tss).collect();
    let crashed = net.tsss[victim].account;
    assert!(!members.contains(&crashed), "the crashed member left the committee");
    let slashes = net.client.slashes().await.unwrap();
    assert!(
        slashes
            .iter()
            .any(|s| s.tss == crashed && s.kind == Punishment::Excluded),
        "the crashed member was named silent: {slashes:?}"
    );
    let member = net.tsss.iter().position(|t| members.contains(&t.account)).unwrap();
    Rotated {
        committee,
        members,
        victim,
        member,
    }
}

/// The departed member's TSS is no validator's any more: the committee refuses its
/// connections, so it answers at once that it cannot coordinate.
async fn departed_member_cannot_coordinate(net: &Network, rotated: &Rotated) {
    let request = net.request(ToSign::Hash([7; 32]), [3; 16]);
    let refused = net
        .http
        .post(net.tsss[rotated.victim].url("/v1/sign"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503, "{}", refused.text().await.unwrap());
}

/// Signing again through a member: the new committee signs, under the same child key (the
/// same address) as before the rotation, a signature that verifies.
async fn sign_after_rotation(net: &Network, parent: &[u8], rotated: &Rotated, first: &SignResponse) {
    let second = net.sign(rotated.member, b"after the rotation", 2).await;
    assert_eq!(second.signature.child_key, first.signature.child_key);
    assert_eq!(second.address, first.address);
    net.verify(parent, &second).expect("the second signature verifies");
    assert!(
        second.signers.iter().all(|s| rotated.members.contains(s)),
        "the new committee signed"
    );
}

/// A member goes down for good. A request whose first pick needs it loses that round and
/// signs on the next; the coordinator, having found it unreachable, leaves it out of the
/// first pick of the next request that would have needed it.
async fn sign_past_a_member_down_for_good(net: &mut Network, parent: &[u8], rotated: &Rotated) {
    let threshold = rotated.committee.sharing.as_ref().expect("a sharing").threshold as usize;
    let member = rotated.member;
    let down = net
        .tsss
        .iter()
        .position(|t| rotated.members.contains(&t.account) && t.account != net.tsss[member].account)
        .unwrap();
    let down_account = net.tsss[down].account;
    net.tsss[down].kill();
    let needing_down = |first_id: u8| {
        (first_id..=u8::MAX)
            .map(|id| (id, net.request(ToSign::Hash([id; 32]), [id; 16])))
            .find(|(_, request)| {
                let hash = request.hash(&net.genesis_hash).unwrap();
                choose_signers(&hash, 0, &rotated.members, threshold)
                    .unwrap()
                    .contains(&down_account)
            })
            .expect("some request's first pick includes the member that is down")
    };
    let (id, lost_round) = needing_down(10);
    let reply = net.send_sign(member, &lost_round).await;
    assert!(reply.round >= 1, "round 0 needed the member that is down");
    signed_without(net, parent, &reply, id, down_account);
    let (id, avoided) = needing_down(id + 1);
    let reply = net.send_sign(member, &avoided).await;
    assert_eq!(
        reply.round, 0,
        "the coordinator left the unreachable member out of its first pick"
    );
    signed_without(net, parent, &reply, id, down_account);
}

/// `reply` was signed without `down`, over the hash `[id; 32]` asked for, and verifies.
fn signed_without(net: &Network, parent: &[u8], reply: &SignResponse, id: u8, down: AccountId) {
    assert!(!reply.signers.contains(&down), "{:?}", reply.signers);
    assert_eq!(reply.prehash, [id; 32], "the hash asked for was signed");
    net.verify(parent, reply).expect("it verifies");
}

/// The restarted member rejoined nothing and, once the chain rotated, no longer signs with its
/// share — but keeps it retired (sealed), not erased: it is shredded only sessions later.
async fn departed_share_retired(net: &Network, rotated: &Rotated) {
    let victim = rotated.victim;
    let victim_status = wait_for(
        "the departed member to retire its share",
        Duration::from_secs(30),
        async || {
            net.status(victim)
                .await
                .filter(|s| s.current.is_none() && s.next.is_none())
        },
    )
    .await;
    assert_eq!(victim_status.account, net.tsss[victim].account);
    assert!(
        !victim_status.retired.is_empty(),
        "the departed member's share is retired, not lost"
    );
    assert_eq!(victim_status.halted, None, "the node is the chain the TSS followed");
}

/// Every TSS stopped, every keystore opens; members hold exactly the chain's sharing, the
/// others no share, and no one a leftover next share.
fn every_keystore_opens(net: &mut Network, rotated: &Rotated) {
    let sharing = rotated
        .committee
        .sharing
        .as_ref()
        .expect("a sharing after the rotation");
    let chain_sharing = sharing.digest();
    for tss in &mut net.tsss {
        tss.stop();
    }
    for tss in &net.tsss {
        let keystore = tss.keystore();
        let current = keystore.info(Slot::Current).unwrap();
        if rotated.members.contains(&tss.account) {
            let current = current.expect("a member holds a current share");
            assert_eq!(
                current.sharing_digest(),
                chain_sharing,
                "a member's share is the chain's sharing"
            );
        } else {
            assert!(current.is_none(), "a non-member keeps no share");
        }
        assert!(
            keystore.get(Slot::Next).unwrap().is_none(),
            "no held share is left over"
        );
    }
}
