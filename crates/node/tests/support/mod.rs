//! Fixtures for the node's tests: a genesis with known keys, a node on a loopback port, typed
//! clients, signed submissions and confirmations dealt by a trusted dealer (a test-only
//! shortcut from `keywheel-mpc`'s `test-utils`; the node verifies them for real).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use keywheel_chain::{
    attempt_context, proof_context, AccountId, Call, Confirmation, Dealt, Params, ReshareRecord, TssInfo,
};
use keywheel_mpc::dealer::{encoded_public_shares, Dealer};
use keywheel_mpc::driver::{protocol_session_id, ProtocolKind};
use keywheel_mpc::{PartySigner, ProductionParams, ThresholdShare};
use keywheel_node::genesis::{GenesisBalance, GenesisConfig, GenesisValidator};
use keywheel_node::{keyfile, NodeConfig};
use keywheel_rpc::jsonrpsee::core::client::Subscription;
use keywheel_rpc::jsonrpsee::core::ClientError;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::{Bytes, EventRecord, Extrinsic, Inclusion, KeywheelApiClient, RpcError, RuntimeCall};

pub type P = ProductionParams;

pub const FUNDS: u128 = 1_000_000;
pub const BOND: u128 = 10_000;

/// Deterministic test keys: `key(tag, i)`.
pub fn key(tag: u8, i: usize) -> PartySigner {
    let mut seed = [tag; 32];
    seed[31] = i as u8;
    PartySigner::from_seed(&seed)
}

pub fn account(signer: &PartySigner) -> AccountId {
    signer.account()
}

/// Everyone in a test network.
pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub genesis: GenesisConfig,
    pub root: PartySigner,
    pub stashes: Vec<PartySigner>,
    pub tss: Vec<PartySigner>,
    pub users: Vec<PartySigner>,
}

/// Params for fast tests: committee 3 of threshold 2, short sessions, and a deadline generous
/// enough (30 s at 100 ms blocks) that a loaded machine does not abort an attempt mid-test.
pub fn fast_params() -> Params {
    Params {
        committee_size: 3,
        threshold: 2,
        session_length: 40,
        reshare_deadline: 300,
        max_attempts: 3,
        slash_permill: 100_000,
        barred_sessions: 2,
        unbonding_period: 10,
        min_bond: 1_000,
    }
}

impl TestNet {
    pub fn new(validators: usize, params: Params) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = key(1, 0);
        let author = key(2, 0);
        keyfile::write_seed(&dir.path().join("author.key"), &seed_of(2, 0)).unwrap();
        let stashes: Vec<_> = (0..validators).map(|i| key(3, i)).collect();
        let tss: Vec<_> = (0..validators).map(|i| key(4, i)).collect();
        let users: Vec<_> = (0..3).map(|i| key(5, i)).collect();
        let mut balances = vec![GenesisBalance {
            account: account(&root),
            amount: FUNDS,
        }];
        balances.extend(stashes.iter().chain(&users).map(|s| GenesisBalance {
            account: account(s),
            amount: FUNDS,
        }));
        let genesis = GenesisConfig {
            name: "keywheel-test".into(),
            root: account(&root),
            author: account(&author),
            params,
            balances,
            validators: stashes
                .iter()
                .zip(&tss)
                .enumerate()
                .map(|(i, (stash, tss))| GenesisValidator {
                    stash: account(stash),
                    bond: BOND,
                    tss_account: account(tss),
                    endpoint: format!("127.0.0.1:{}", 40000 + i),
                    x25519: [i as u8; 32],
                })
                .collect(),
        };
        Self {
            dir,
            genesis,
            root,
            stashes,
            tss,
            users,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("node")
    }

    pub fn config(&self, block_time: Duration) -> NodeConfig {
        NodeConfig {
            genesis: self.genesis.clone(),
            data_dir: self.data_dir(),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            block_time,
            author_key: self.dir.path().join("author.key"),
        }
    }

    pub fn genesis_hash(&self) -> [u8; 32] {
        self.genesis.hash()
    }

    /// The TSS signer behind a TSS account.
    pub fn tss_signer(&self, account: &AccountId) -> &PartySigner {
        self.tss
            .iter()
            .find(|s| s.account().0 == account.0)
            .expect("a TSS of this net")
    }
}

pub fn seed_of(tag: u8, i: usize) -> [u8; 32] {
    let mut seed = [tag; 32];
    seed[31] = i as u8;
    seed
}

/// Signs `call` with the signer's next nonce.
pub async fn sign(client: &WsClient, net: &TestNet, signer: &PartySigner, call: RuntimeCall) -> Bytes {
    let nonce = client.next_nonce(account(signer)).await.unwrap();
    Bytes(Extrinsic::sign(signer, net.genesis_hash(), nonce, call).encode())
}

/// Submits a signed call and waits until its block is stored.
pub async fn send(
    client: &WsClient,
    net: &TestNet,
    signer: &PartySigner,
    call: Call,
) -> Result<Inclusion, ClientError> {
    let ext = sign(client, net, signer, RuntimeCall::Signed(call)).await;
    client.submit_and_wait(ext).await
}

/// Submits a root call and waits until its block is stored.
pub async fn sudo(client: &WsClient, net: &TestNet, call: Call) -> Result<Inclusion, ClientError> {
    let ext = sign(client, net, &net.root, RuntimeCall::Sudo(call)).await;
    client.submit_and_wait(ext).await
}

/// The API error of a failed call (panics if the call did not fail with one of ours).
pub fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> RpcError {
    let err = result.expect_err("the call must fail");
    RpcError::from_client(&err).unwrap_or_else(|| panic!("not an API error: {err}"))
}

/// Waits for the first event matching `pred`.
pub async fn next_event(
    events: &mut Subscription<EventRecord>,
    mut pred: impl FnMut(&EventRecord) -> bool,
) -> EventRecord {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let record = events.next().await.expect("subscription open").expect("event decodes");
            if pred(&record) {
                return record;
            }
        }
    })
    .await
    .expect("event in time")
}

/// A dealer's sharing for the committee of `record`, as shares by TSS account, dealt through
/// the attempt's dealers (each endorsing its part with its TSS key).
pub fn deal(
    dealer: &mut Dealer<P>,
    net: &TestNet,
    network: &[u8; 32],
    record: &ReshareRecord,
) -> (BTreeMap<AccountId, ThresholdShare<P>>, Dealt) {
    let committee: BTreeSet<AccountId> = record.new_tss().iter().copied().collect();
    let dealers: Vec<PartySigner> = record.dealers().iter().map(|d| net.tss_signer(d).clone()).collect();
    let sid = protocol_session_id(ProtocolKind::Reshare, &context_of(network, record));
    dealer.deal_through(&committee, record.new_threshold, &dealers, sid.as_ref())
}

/// The confirmation `member` sends for `shares` (dealt as `dealt`) in the attempt of `record`.
pub fn confirmation(
    dealer: &mut Dealer<P>,
    network: &[u8; 32],
    record: &ReshareRecord,
    (shares, dealt): &(BTreeMap<AccountId, ThresholdShare<P>>, Dealt),
    member: &AccountId,
) -> Confirmation {
    let share = &shares[member];
    let public_shares = encoded_public_shares::<P>(share.public()).into_iter().collect();
    let context = proof_context(network, record.session, record.attempt, member);
    Confirmation {
        verifying_key: dealer.verifying_key(),
        public_shares,
        proof: dealer.prove(share, &context),
        dealt: dealt.clone(),
    }
}

/// The attempt context of `record` on `network`.
pub fn context_of(network: &[u8; 32], record: &ReshareRecord) -> Vec<u8> {
    attempt_context(network, record.session, record.attempt)
}

/// Unused TSS declaration for validate calls.
pub fn tss_info(signer: &PartySigner, port: u16) -> TssInfo {
    TssInfo {
        account: account(signer),
        endpoint: format!("127.0.0.1:{port}"),
        x25519: account(signer).0,
    }
}
