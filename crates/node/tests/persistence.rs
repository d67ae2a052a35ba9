//! A stopped or killed node restarts at the height and state digest it stored and goes on; a
//! damaged, foreign or other network's database is refused with a clear error and left as it
//! was.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keywheel_chain::Call;
use keywheel_node::service::{read_head, DB_FILE};
use keywheel_node::NodeError;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::{connect_ws, KeywheelApiClient};
use redb::ReadableTable;
use sha2::{Digest, Sha256};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_resumes_at_the_same_height_and_digest() {
    let net = TestNet::new(4, fast_params());
    let node = keywheel_node::start(net.config(Duration::from_millis(50)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let pay = Call::Transfer {
        to: account(&net.users[1]),
        amount: 42,
    };
    send(&ws, &net, &net.users[0], pay).await.unwrap();
    let before = node.stop().await.unwrap();

    // A long block time: the restarted node has sealed nothing new when it is asked.
    let node = keywheel_node::start(net.config(Duration::from_secs(3))).await.unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let after = ws.status().await.unwrap();
    assert_eq!(
        (after.height, after.best_hash, after.state_digest),
        (before.height, before.best_hash, before.state_digest)
    );
    assert_eq!(ws.account(account(&net.users[1])).await.unwrap().free, FUNDS + 42);
    assert_eq!(ws.next_nonce(account(&net.users[0])).await.unwrap(), 1);

    // And it goes on from there, its randomness chained over the stored block's.
    let mut blocks = ws.subscribe_blocks().await.unwrap();
    let next = blocks.next().await.unwrap().unwrap();
    assert_eq!(next.header.number, before.height + 1);
    assert_eq!(next.header.parent_hash, before.best_hash);
    let parent = ws.block(Some(before.height)).await.unwrap().unwrap();
    next.header
        .verify_randomness(&net.genesis_hash(), &net.genesis.author, &parent.header.randomness)
        .unwrap();
    node.stop().await.unwrap();
}

/// A free loopback port outside the ephemeral range (see `keywheel_rpc::loopback`).
fn free_port() -> u16 {
    keywheel_rpc::loopback::reserve_port().unwrap()
}

fn spawn_node(net: &TestNet, genesis: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keywheel-node"))
        .args(["run", "--genesis"])
        .arg(genesis)
        .arg("--data-dir")
        .arg(net.data_dir())
        .arg("--author-key")
        .arg(net.dir.path().join("author.key"))
        .args(["--rpc-addr", &format!("127.0.0.1:{port}"), "--block-time-ms", "100"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the node binary starts")
}

async fn connect_retrying(port: u16) -> WsClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(client) = connect_ws(&format!("ws://127.0.0.1:{port}")).await {
            return client;
        }
        assert!(Instant::now() < deadline, "the node answers on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_process_restarts_with_its_blocks_and_state() {
    let net = TestNet::new(4, fast_params());
    let genesis = net.dir.path().join("genesis.toml");
    std::fs::write(&genesis, net.genesis.to_toml()).unwrap();

    let port = free_port();
    let mut child = spawn_node(&net, &genesis, port);
    let ws = connect_retrying(port).await;
    let pay = Call::Transfer {
        to: account(&net.users[1]),
        amount: 42,
    };
    let inclusion = send(&ws, &net, &net.users[0], pay).await.unwrap();
    let seen = ws.status().await.unwrap();
    let seen_block = ws.block(Some(seen.height)).await.unwrap().unwrap();
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    drop(ws);

    let port = free_port();
    let mut child = spawn_node(&net, &genesis, port);
    let ws = connect_retrying(port).await;
    let status = ws.status().await.unwrap();
    assert!(status.height >= seen.height, "{} < {}", status.height, seen.height);
    let block = ws.block(Some(seen.height)).await.unwrap().unwrap();
    assert_eq!(block.hash(), seen_block.hash());
    assert_eq!(block.header.state_digest, seen.state_digest);
    let included = ws.block(Some(inclusion.block)).await.unwrap().unwrap();
    assert_eq!(included.hash(), inclusion.block_hash);
    assert_eq!(ws.account(account(&net.users[1])).await.unwrap().free, FUNDS + 42);
    assert_eq!(ws.next_nonce(account(&net.users[0])).await.unwrap(), 1);
    let mut blocks = ws.subscribe_blocks().await.unwrap();
    let next = blocks.next().await.unwrap().unwrap();
    assert!(next.header.number > status.height, "it goes on producing");
    child.kill().unwrap();
    child.wait().unwrap();
}

fn file_hash(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).unwrap()).into()
}

/// Starts a node on `net`'s data directory and returns its error.
async fn start_error(net: &TestNet, genesis: keywheel_node::GenesisConfig) -> NodeError {
    let mut config = net.config(Duration::from_millis(50));
    config.genesis = genesis;
    keywheel_node::start(config)
        .await
        .expect_err("the node must refuse the database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_foreign_or_other_network_databases_are_refused_and_left_alone() {
    let net = TestNet::new(4, fast_params());
    let node = keywheel_node::start(net.config(Duration::from_millis(20)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    send(&ws, &net, &net.users[0], Call::Register).await.unwrap();

    // In use by a running node.
    let err = read_head(&net.data_dir(), &net.genesis).unwrap_err();
    assert!(matches!(err, NodeError::InUse(_)), "{err}");
    node.stop().await.unwrap();
    let db = net.data_dir().join(DB_FILE);
    let good = std::fs::read(&db).unwrap();
    read_head(&net.data_dir(), &net.genesis).expect("the good database opens");

    // Another network's genesis.
    let mut other = net.genesis.clone();
    other.name = "another-network".into();
    let before = file_hash(&db);
    let err = start_error(&net, other).await;
    assert!(matches!(err, NodeError::WrongNetwork { .. }), "{err}");
    assert!(err.to_string().contains("another --data-dir"), "{err}");
    assert_eq!(file_hash(&db), before, "left as it was");

    // Tampered head state, then a tampered head block (written behind the node's back).
    let rewrite = |table: &str, key: &str| {
        let database = redb::Database::open(&db).unwrap();
        let tx = database.begin_write().unwrap();
        {
            let def = redb::TableDefinition::<&str, &[u8]>::new(table);
            let mut t = tx.open_table(def).unwrap();
            let mut bytes = t.get(key).unwrap().unwrap().value().to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
            t.insert(key, bytes.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    };
    rewrite("keywheel_head", "state");
    let before = file_hash(&db);
    let err = start_error(&net, net.genesis.clone()).await;
    assert!(matches!(err, NodeError::Corrupted { .. }), "{err}");
    assert_eq!(file_hash(&db), before);

    std::fs::write(&db, &good).unwrap();
    {
        let database = redb::Database::open(&db).unwrap();
        let tx = database.begin_write().unwrap();
        {
            let def = redb::TableDefinition::<u64, &[u8]>::new("keywheel_blocks");
            let mut t = tx.open_table(def).unwrap();
            let (number, mut bytes) = {
                let last = t.last().unwrap().unwrap();
                (last.0.value(), last.1.value().to_vec())
            };
            let at = bytes.len() - 70; // inside the header
            bytes[at] ^= 0x01;
            t.insert(number, bytes.as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    let err = start_error(&net, net.genesis.clone()).await;
    assert!(matches!(err, NodeError::Corrupted { .. }), "{err}");

    // A truncated file.
    std::fs::write(&db, &good[..good.len() / 3]).unwrap();
    let before = file_hash(&db);
    let err = start_error(&net, net.genesis.clone()).await;
    assert!(
        matches!(err, NodeError::Unreadable { .. } | NodeError::Corrupted { .. }),
        "{err}"
    );
    assert_eq!(file_hash(&db), before);

    // Not a database at all.
    std::fs::write(&db, b"this is a text file, not a database").unwrap();
    let err = start_error(&net, net.genesis.clone()).await;
    assert!(matches!(err, NodeError::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("move it away"), "{err}");

    // Another program's redb database.
    std::fs::remove_file(&db).unwrap();
    {
        let database = redb::Database::create(&db).unwrap();
        let tx = database.begin_write().unwrap();
        tx.open_table(redb::TableDefinition::<&str, u64>::new("accounts"))
            .unwrap()
            .insert("x", &1)
            .unwrap();
        tx.commit().unwrap();
    }
    let before = file_hash(&db);
    let err = start_error(&net, net.genesis.clone()).await;
    assert!(matches!(err, NodeError::Foreign(_)), "{err}");
    assert_eq!(file_hash(&db), before);
}
