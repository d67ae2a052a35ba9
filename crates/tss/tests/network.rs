//! One dev node (in this process, over its real JSON-RPC socket) and six TSS processes (the
//! real `keywheel-tss` binary, Noise over loopback TCP), at production parameters: jumpstart of
//! a committee of 5 (threshold 3), a signature for a registered account, a reshare during
//! which one staying member is SIGKILLed and restarted, the retry without it, the rotation,
//! and a second signature under the same child key; bad sign requests are refused on the way.
//! Then a member goes down for good: the request that needs it signs on a later round, and the
//! next one is signed on its first round by members the coordinator can reach.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keywheel_chain::{AccountId, Call, Event, Params, ReshareKind, SlashKind};
use keywheel_mpc::PartySigner;
use keywheel_node::genesis::{GenesisBalance, GenesisConfig, GenesisValidator};
use keywheel_node::{keyfile, NodeConfig};
use keywheel_rpc::jsonrpsee::core::client::Subscription;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignRequest, SignResponse, ToSign};
use keywheel_rpc::{Bytes, EventRecord, Extrinsic, KeywheelApiClient, RuntimeCall};
use keywheel_tss::api::TssStatus;
use keywheel_tss::identity::Identity;
use keywheel_tss::keystore::{sharing_digest, KeySource, Keystore, Slot, KEYSTORE_FILE};
use keywheel_tss::signing::choose_signers;

const VALIDATORS: usize = 6;
const BLOCK_MS: u64 = 250;

fn signer(tag: u8, i: usize) -> PartySigner {
    let mut seed = [tag; 32];
    seed[31] = i as u8;
    PartySigner::from_seed(&seed)
}

fn account(s: &PartySigner) -> AccountId {
    s.account()
}

/// A free loopback port (bound, then released: a small race on a busy machine).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Tss {
    dir: PathBuf,
    account: AccountId,
    x25519: [u8; 32],
    p2p: u16,
    api: u16,
    child: Option<Child>,
}

impl Tss {
    fn spawn(&mut self, node_url: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tss.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_keywheel-tss"))
            .args(["run", "--data-dir"])
            .arg(&self.dir)
            .args(["--node", node_url])
            .args(["--p2p", &format!("127.0.0.1:{}", self.p2p)])
            .args(["--api", &format!("127.0.0.1:{}", self.api)])
            .env("RUST_LOG", "info,keywheel_tss=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the keywheel-tss binary starts");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the process to end (it releases its keystore).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("tss.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Tss {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn status(http: &reqwest::Client, tss: &Tss) -> Option<TssStatus> {
    http.get(tss.url("/v1/status")).send().await.ok()?.json().await.ok()
}

async fn wait_for<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn next_event(
    events: &mut Subscription<EventRecord>,
    limit: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    tokio::time::timeout(limit, async {
        loop {
            let record = events.next().await.expect("subscription open").expect("event decodes");
            if pred(&record.event) {
                return record.event;
            }
        }
    })
    .await
    .expect("the event came in time")
}

async fn submit(client: &WsClient, genesis_hash: [u8; 32], who: &PartySigner, call: RuntimeCall) {
    let nonce = client.next_nonce(account(who)).await.unwrap();
    let ext = Extrinsic::sign(who, genesis_hash, nonce, call);
    client
        .submit_and_wait(Bytes(ext.encode()))
        .await
        .expect("the chain takes the call");
}

async fn sign(
    http: &reqwest::Client,
    tsss: &[Tss],
    via: usize,
    user: &PartySigner,
    genesis_hash: [u8; 32],
    message: &[u8],
    id: u8,
) -> SignResponse {
    let request = SignRequest::new(
        user,
        genesis_hash,
        ToSign::Message(message.to_vec()),
        [id; 16],
        now_ms() + 300_000,
    );
    send_sign(http, tsss, via, &request).await
}

async fn send_sign(http: &reqwest::Client, tsss: &[Tss], via: usize, request: &SignRequest) -> SignResponse {
    let reply = http.post(tsss[via].url("/v1/sign")).json(request).send().await.unwrap();
    let code = reply.status();
    let body = reply.text().await.unwrap();
    if !code.is_success() {
        dump_logs(tsss);
        panic!("sign failed with {code}: {body}");
    }
    serde_json::from_str(&body).unwrap()
}

fn keystore_of(tss: &Tss) -> Keystore {
    Keystore::open(
        &tss.dir.join(KEYSTORE_FILE),
        tss.account,
        &KeySource::KeyFile(tss.dir.join("keystore.key")),
    )
    .expect("the keystore opens after every restart")
}

fn dump_logs(tsss: &[Tss]) {
    for t in tsss {
        eprintln!("---- {:?} ----\n{}", t.account, t.log_tail());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumpstart_sign_reshare_through_a_crash_rotate_and_sign_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = signer(1, 0);
    let author_seed = [2u8; 32];
    keyfile::write_seed(&tmp.path().join("author.key"), &author_seed).unwrap();
    let author = PartySigner::from_seed(&author_seed);
    let user = signer(5, 0);

    let mut tsss: Vec<Tss> = (0..VALIDATORS)
        .map(|i| {
            let dir = tmp.path().join(format!("tss{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let identity = Identity::load_or_generate(&dir).unwrap();
            Tss {
                dir,
                account: identity.account(),
                x25519: identity.x25519_public(),
                p2p: free_port(),
                api: free_port(),
                child: None,
            }
        })
        .collect();
    let stashes: Vec<PartySigner> = (0..VALIDATORS).map(|i| signer(3, i)).collect();
    let validators = stashes
        .iter()
        .zip(&tsss)
        .map(|(stash, tss)| GenesisValidator {
            stash: account(stash),
            bond: 10_000,
            tss_account: tss.account,
            endpoint: format!("127.0.0.1:{}", tss.p2p),
            x25519: tss.x25519,
        })
        .collect();
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
    let mut balances: Vec<GenesisBalance> = stashes
        .iter()
        .chain([&root, &user])
        .map(|s| GenesisBalance {
            account: account(s),
            amount: 1_000_000,
        })
        .collect();
    balances.dedup_by_key(|b| b.account);
    let genesis = GenesisConfig {
        name: "keywheel-tss-test".into(),
        root: account(&root),
        author: account(&author),
        params,
        balances,
        validators,
    };
    let genesis_hash = genesis.hash();
    let node = keywheel_node::start(NodeConfig {
        genesis,
        data_dir: tmp.path().join("node"),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        block_time: Duration::from_millis(BLOCK_MS),
        author_key: tmp.path().join("author.key"),
    })
    .await
    .unwrap();
    let node_url = node.ws_url();
    let client = keywheel_rpc::connect_ws(&node_url).await.unwrap();
    let mut events = client.subscribe_events().await.unwrap();
    for tss in &mut tsss {
        tss.spawn(&node_url);
    }
    let http = reqwest::Client::new();
    for tss in &tsss {
        wait_for("every TSS's API", Duration::from_secs(60), async || {
            status(&http, tss).await
        })
        .await;
    }

    // Jumpstart: the chain picks 5 of the 6; their TSSs run the DKG and confirm.
    submit(&client, genesis_hash, &root, RuntimeCall::Sudo(Call::Jumpstart)).await;
    let created = next_event(&mut events, Duration::from_secs(300), |e| {
        matches!(e, Event::ParentKeyCreated { .. } | Event::ReshareAborted { .. })
    })
    .await;
    let Event::ParentKeyCreated { verifying_key: parent } = created else {
        dump_logs(&tsss);
        panic!("jumpstart aborted: {created:?}");
    };
    submit(&client, genesis_hash, &user, RuntimeCall::Signed(Call::Register)).await;

    // A signature for the user's child key, through a TSS that may or may not sign itself.
    let first = sign(&http, &tsss, 0, &user, genesis_hash, b"before the rotation", 1).await;
    let address = verify_reply(
        &parent,
        &account(&user),
        &first.prehash.clone().try_into().unwrap(),
        &first.signature,
    )
    .expect("the signature verifies under the child key derived from the parent key");
    assert_eq!(first.address, address);

    // Bad sign requests over HTTP: each refused with its status and a reason, none reaching a
    // signer, the TSS unharmed (it signs again below).
    let stranger = signer(6, 0);
    let post_raw = async |body: String| {
        let reply = http
            .post(tsss[1].url("/v1/sign"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    };
    let fresh = |who: &PartySigner, id: u8, expires: u64| {
        SignRequest::new(who, genesis_hash, ToSign::Hash([id; 32]), [id; 16], expires)
    };
    let mut tampered = fresh(&user, 20, now_ms() + 60_000);
    tampered.signature[5] ^= 1;
    let mut impersonated = fresh(&user, 21, now_ms() + 60_000);
    impersonated.account = account(&stranger);
    let mut short_hash = fresh(&user, 22, now_ms() + 60_000);
    short_hash.hash = Some(Bytes(vec![1; 31]));
    let unregistered = fresh(&stranger, 23, now_ms() + 60_000);
    let json = |r: &SignRequest| serde_json::to_string(r).unwrap();
    let cases: Vec<(&str, String, u16)> = vec![
        ("a tampered signature", json(&tampered), 401),
        ("signed by another account", json(&impersonated), 401),
        ("expired", json(&fresh(&user, 24, now_ms() - 1)), 400),
        ("valid for too long", json(&fresh(&user, 25, now_ms() + 3_600_000)), 400),
        ("a 31-byte hash", json(&short_hash), 400),
        ("not JSON", "{ not json".into(), 400),
        ("not a request", "{\"account\": 7}".into(), 400),
        ("an unregistered account", json(&unregistered), 403),
        ("the same request again", json(&unregistered), 409),
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

    // The next session's rotation: kill a staying member in the middle of it, restart it.
    let started = next_event(&mut events, Duration::from_secs(300), |e| {
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
    // No further session boundaries: the test looks at exactly this rotation.
    let mut quiet = client.params().await.unwrap();
    quiet.session_length = 1_000_000;
    submit(
        &client,
        genesis_hash,
        &root,
        RuntimeCall::Sudo(Call::SetParams { params: quiet }),
    )
    .await;
    let victim = tsss.iter().position(|t| staying.contains(&t.account)).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tsss[victim].kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    tsss[victim].spawn(&node_url);

    let rotated = next_event(&mut events, Duration::from_secs(400), |e| {
        matches!(e, Event::RotateKey { .. } | Event::ReshareAbandoned { .. })
    })
    .await;
    let Event::RotateKey {
        session: rotated_session,
        attempt,
    } = rotated
    else {
        dump_logs(&tsss);
        panic!("the rotation did not happen: {rotated:?}");
    };
    assert_eq!(rotated_session, session);
    assert!(
        attempt >= 2,
        "the crashed member cannot have let the first attempt finish"
    );

    let committee = client.committee().await.unwrap();
    assert_eq!(
        committee.parent_key.as_deref(),
        Some(parent.as_slice()),
        "the parent key never changes"
    );
    let members: BTreeSet<AccountId> = committee.members.iter().map(|m| m.tss).collect();
    assert!(
        !members.contains(&tsss[victim].account),
        "the crashed member left the committee"
    );
    let slashes = client.slashes().await.unwrap();
    assert!(
        slashes
            .iter()
            .any(|s| s.tss == tsss[victim].account && s.kind == SlashKind::Excluded),
        "the crashed member was named silent: {slashes:?}"
    );

    // The departed member's TSS is no validator's any more: the committee refuses its
    // connections, so it answers at once that it cannot coordinate.
    let request = SignRequest::new(&user, genesis_hash, ToSign::Hash([7; 32]), [3; 16], now_ms() + 300_000);
    let refused = http
        .post(tsss[victim].url("/v1/sign"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503, "{}", refused.text().await.unwrap());

    // Signing again through a member: the same child key, a signature that verifies.
    let member = tsss.iter().position(|t| members.contains(&t.account)).unwrap();
    let second = sign(&http, &tsss, member, &user, genesis_hash, b"after the rotation", 2).await;
    assert_eq!(second.signature.child_key, first.signature.child_key);
    assert_eq!(second.address, first.address);
    verify_reply(
        &parent,
        &account(&user),
        &second.prehash.clone().try_into().unwrap(),
        &second.signature,
    )
    .expect("the second signature verifies");
    assert!(
        second.signers.iter().all(|s| members.contains(s)),
        "the new committee signed"
    );

    // A member goes down for good. A request whose first pick needs it loses that round and
    // signs on the next; the coordinator, having found it unreachable, leaves it out of the
    // first pick of the next request that would have needed it.
    let threshold = committee.sharing.as_ref().expect("a sharing").threshold as usize;
    let down = tsss
        .iter()
        .position(|t| members.contains(&t.account) && t.account != tsss[member].account)
        .unwrap();
    let down_account = tsss[down].account;
    tsss[down].kill();
    let needing_down = |first_id: u8| {
        (first_id..=u8::MAX)
            .map(|id| {
                let request = SignRequest::new(
                    &user,
                    genesis_hash,
                    ToSign::Hash([id; 32]),
                    [id; 16],
                    now_ms() + 300_000,
                );
                (id, request)
            })
            .find(|(_, request)| {
                let hash = request.hash(&genesis_hash).unwrap();
                choose_signers(&hash, 0, &members, threshold)
                    .unwrap()
                    .contains(&down_account)
            })
            .expect("some request's first pick includes the member that is down")
    };
    let (id, lost_round) = needing_down(10);
    let reply = send_sign(&http, &tsss, member, &lost_round).await;
    assert!(reply.round >= 1, "round 0 needed the member that is down");
    assert!(!reply.signers.contains(&down_account), "{:?}", reply.signers);
    let prehash: [u8; 32] = reply.prehash.clone().try_into().unwrap();
    assert_eq!(prehash, [id; 32], "the hash asked for was signed");
    verify_reply(&parent, &account(&user), &prehash, &reply.signature).expect("it verifies");
    let (id, avoided) = needing_down(id + 1);
    let reply = send_sign(&http, &tsss, member, &avoided).await;
    assert_eq!(
        reply.round, 0,
        "the coordinator left the unreachable member out of its first pick"
    );
    assert!(!reply.signers.contains(&down_account), "{:?}", reply.signers);
    let prehash: [u8; 32] = reply.prehash.clone().try_into().unwrap();
    assert_eq!(prehash, [id; 32], "the hash asked for was signed");
    verify_reply(&parent, &account(&user), &prehash, &reply.signature).expect("it verifies");

    // The restarted member rejoined nothing and erased its share once the chain rotated.
    let victim_status = wait_for(
        "the departed member to erase its share",
        Duration::from_secs(30),
        async || {
            status(&http, &tsss[victim])
                .await
                .filter(|s| s.current.is_none() && s.next.is_none())
        },
    )
    .await;
    assert_eq!(victim_status.account, tsss[victim].account);

    // Every keystore opens after the run; members hold exactly the chain's sharing.
    let sharing = committee.sharing.expect("a sharing after the rotation");
    let chain_sharing = sharing_digest(sharing.threshold, &sharing.public_shares);
    for tss in &mut tsss {
        tss.stop();
    }
    for tss in &tsss {
        let keystore = keystore_of(tss);
        let current = keystore.info(Slot::Current).unwrap();
        if members.contains(&tss.account) {
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
    node.stop().await.unwrap();
}
