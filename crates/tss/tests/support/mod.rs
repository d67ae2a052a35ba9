//! The fixture for `network.rs`: a dev node in this process, `keywheel-tss` processes spawned
//! from the real binary, and the clients and helpers the scenario talks to them through.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keywheel_chain::{AccountId, Event, Params};
use keywheel_mpc::PartySigner;
use keywheel_node::genesis::{GenesisBalance, GenesisConfig, GenesisValidator};
use keywheel_node::{keyfile, NodeConfig, NodeHandle};
use keywheel_rpc::jsonrpsee::core::client::Subscription;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignRequest, SignResponse, ToSign};
use keywheel_rpc::{Bytes, EventRecord, Extrinsic, KeywheelApiClient, RuntimeCall};
use keywheel_tss::api::TssStatus;
use keywheel_tss::identity::Identity;
use keywheel_tss::keystore::{KeySource, Keystore, KEYSTORE_FILE};

const BLOCK_MS: u64 = 250;

/// Deterministic test keys: `signer(tag, i)`.
pub fn signer(tag: u8, i: usize) -> PartySigner {
    let mut seed = [tag; 32];
    seed[31] = i as u8;
    PartySigner::from_seed(&seed)
}

pub fn account(s: &PartySigner) -> AccountId {
    s.account()
}

/// A free loopback port outside the ephemeral range (see `keywheel_rpc::loopback`).
fn free_port() -> u16 {
    keywheel_rpc::loopback::reserve_port().unwrap()
}

/// Polls `f` every 250 ms until it answers; fails the test after `limit`.
pub async fn wait_for<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Sign requests each test TSS admits at once (`--sign-queue`), one coordinated at a time.
pub const SIGN_QUEUE: usize = 2;

/// One `keywheel-tss` process: its data directory, identity, ports and (while it runs) the child.
pub struct Tss {
    dir: PathBuf,
    pub account: AccountId,
    x25519: [u8; 32],
    p2p: u16,
    api: u16,
    child: Option<Child>,
}

impl Tss {
    fn new(dir: PathBuf) -> Self {
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
    }

    pub fn spawn(&mut self, node_url: &str) {
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
            // Small signing admission, so that `admit_a_burst` can fill it with a few requests.
            .args(["--sign-concurrency", "1", "--sign-queue", &SIGN_QUEUE.to_string()])
            .env("RUST_LOG", "info,keywheel_tss=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the keywheel-tss binary starts");
        self.child = Some(child);
    }

    /// SIGKILL, then reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the process to end (it releases its keystore).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Its keystore file.
    pub fn keystore_file(&self) -> PathBuf {
        self.dir.join(KEYSTORE_FILE)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tss.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api)
    }

    /// Opens the keystore the process left (it must not be running).
    pub fn keystore(&self) -> Keystore {
        self.open_keystore(&self.dir.join(KEYSTORE_FILE))
    }

    /// Opens a keystore file of this TSS's (a copy of its keystore, say).
    pub fn open_keystore(&self, path: &std::path::Path) -> Keystore {
        Keystore::open(path, self.account, &KeySource::KeyFile(self.dir.join("keystore.key")))
            .expect("the keystore opens after every restart")
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Tss {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The network under test: a dev node in this process (over its real JSON-RPC socket), one
/// `keywheel-tss` process per genesis validator (Noise over loopback TCP), the sudo root, a
/// user, and the clients the test talks to them through.
pub struct Network {
    pub tsss: Vec<Tss>,
    node: NodeHandle,
    pub node_url: String,
    pub client: WsClient,
    /// The node's events, subscribed to before any TSS started.
    events: Subscription<EventRecord>,
    pub http: reqwest::Client,
    pub genesis_hash: [u8; 32],
    pub root: PartySigner,
    pub user: PartySigner,
    /// The genesis the node runs.
    genesis: GenesisConfig,
    /// Last: removed once every process above is gone.
    _tmp: tempfile::TempDir,
}

impl Network {
    /// A genesis with `validators` bonded validators and `params`, the node, and every TSS
    /// running with its API answering.
    pub async fn start(validators: usize, params: Params) -> Network {
        let tmp = tempfile::tempdir().unwrap();
        let root = signer(1, 0);
        let author_seed = [2u8; 32];
        keyfile::write_seed(&tmp.path().join("author.key"), &author_seed).unwrap();
        let author = PartySigner::from_seed(&author_seed);
        let user = signer(5, 0);

        let mut tsss: Vec<Tss> = (0..validators)
            .map(|i| Tss::new(tmp.path().join(format!("tss{i}"))))
            .collect();
        let stashes: Vec<PartySigner> = (0..validators).map(|i| signer(3, i)).collect();
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
            genesis: genesis.clone(),
            data_dir: tmp.path().join("node"),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            block_time: Duration::from_millis(BLOCK_MS),
            author_key: tmp.path().join("author.key"),
        })
        .await
        .unwrap();
        let node_url = node.ws_url();
        let client = keywheel_rpc::connect_ws(&node_url).await.unwrap();
        let events = client.subscribe_events().await.unwrap();
        for tss in &mut tsss {
            tss.spawn(&node_url);
        }
        let net = Network {
            tsss,
            node,
            node_url,
            client,
            events,
            http: reqwest::Client::new(),
            genesis_hash,
            root,
            user,
            genesis,
            _tmp: tmp,
        };
        for i in 0..net.tsss.len() {
            wait_for("every TSS's API", Duration::from_secs(60), async || net.status(i).await).await;
        }
        net
    }

    /// A dev node of another network — the same validators, addresses and keys under another
    /// network name, so another genesis — that a TSS might be pointed at by mistake.
    pub async fn start_foreign_node(&self) -> NodeHandle {
        let dir = self._tmp.path().join("foreign");
        std::fs::create_dir_all(&dir).unwrap();
        keyfile::write_seed(&dir.join("author.key"), &[2; 32]).unwrap();
        keywheel_node::start(NodeConfig {
            genesis: GenesisConfig {
                name: "another-keywheel-network".into(),
                ..self.genesis.clone()
            },
            data_dir: dir.join("node"),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            block_time: Duration::from_millis(BLOCK_MS),
            author_key: dir.join("author.key"),
        })
        .await
        .unwrap()
    }

    /// Stops the node gracefully (after the test has stopped the TSSs it wants stopped).
    pub async fn stop(self) {
        self.node.stop().await.unwrap();
    }

    /// TSS `i`'s status, if its API answers.
    pub async fn status(&self, i: usize) -> Option<TssStatus> {
        let url = self.tsss[i].url("/v1/status");
        self.http.get(url).send().await.ok()?.json().await.ok()
    }

    /// The next event that matches `pred`, within `limit`.
    pub async fn next_event(&mut self, limit: Duration, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let events = &mut self.events;
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

    /// Signs `call` as `who` and waits until a block includes it.
    pub async fn submit(&self, who: &PartySigner, call: RuntimeCall) {
        let nonce = self.client.next_nonce(account(who)).await.unwrap();
        let ext = Extrinsic::sign(who, self.genesis_hash, nonce, call);
        self.client
            .submit_and_wait(Bytes(ext.encode()))
            .await
            .expect("the chain takes the call");
    }

    /// A sign request from the user, valid for five minutes.
    pub fn request(&self, to_sign: ToSign, id: [u8; 16]) -> SignRequest {
        SignRequest::new(&self.user, self.genesis_hash, to_sign, id, now_ms() + 300_000)
    }

    /// The user's request to sign `message`, through TSS `via`.
    pub async fn sign(&self, via: usize, message: &[u8], id: u8) -> SignResponse {
        let request = self.request(ToSign::Message(message.to_vec()), [id; 16]);
        self.send_sign(via, &request).await
    }

    /// Posts `request` to TSS `via`; fails the test, with every TSS's log tail, unless it signs.
    pub async fn send_sign(&self, via: usize, request: &SignRequest) -> SignResponse {
        let reply = self
            .http
            .post(self.tsss[via].url("/v1/sign"))
            .json(request)
            .send()
            .await
            .unwrap();
        let code = reply.status();
        let body = reply.text().await.unwrap();
        if !code.is_success() {
            self.dump_logs();
            panic!("sign failed with {code}: {body}");
        }
        serde_json::from_str(&body).unwrap()
    }

    /// Checks `reply` under the user's child key of `parent`; returns the child key's address.
    pub fn verify(&self, parent: &[u8], reply: &SignResponse) -> Result<String, String> {
        let prehash: [u8; 32] = reply.prehash.clone().try_into().unwrap();
        verify_reply(parent, &account(&self.user), &prehash, &reply.signature)
    }

    /// Every TSS's last log lines, to stderr: what a failing test shows of the processes.
    pub fn dump_logs(&self) {
        for t in &self.tsss {
            eprintln!("---- {:?} ----\n{}", t.account, t.log_tail());
        }
    }
}
