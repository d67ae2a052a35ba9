//! The node process: the block production loop and the JSON-RPC server around the
//! [`Runtime`], with the store underneath. This is the IO layer; the rules live in
//! `keywheel-chain` and [`crate::runtime`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::server::{PendingSubscriptionSink, Server, ServerConfig, ServerHandle, SubscriptionMessage};
use jsonrpsee::types::ErrorObjectOwned;
use keywheel_chain::{AccountId, BlockNumber, Params, SlashRecord};
use keywheel_rpc::{
    AccountInfo, Block, Bytes, CommitteeView, ErrorCode, EventRecord, Inclusion, KeywheelApiServer, NodeStatus,
    ReshareView, RpcError, SubmitReceipt, ValidatorInfo, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::author::BlockAuthor;
use crate::error::NodeError;
use crate::genesis::GenesisConfig;
use crate::keyfile;
use crate::runtime::Head;
use crate::runtime::{genesis_head, Runtime};
use crate::store::Store;
use keywheel_chain::MpcCrypto;

/// Where the RPC server listens unless told otherwise: loopback only.
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:9944";

/// Time between blocks unless told otherwise.
pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_secs(6);

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "chain.redb";

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The network.
    pub genesis: GenesisConfig,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Where the JSON-RPC server (WebSocket and HTTP on one port) listens; port 0 picks one.
    pub rpc_addr: SocketAddr,
    /// Time between blocks.
    pub block_time: Duration,
    /// The author's key file (its seed, mode 0600); it must be the genesis author's.
    pub author_key: PathBuf,
}

/// A running node as its block producer and its RPC handlers share it.
struct RunningNode {
    runtime: Mutex<Runtime>,
    /// `None` once the node has stopped (the database is closed then).
    store: RwLock<Option<Store>>,
    author: BlockAuthor,
    crypto: MpcCrypto,
    /// Every sealed block, as it is stored.
    blocks: broadcast::Sender<Arc<Block>>,
    /// Height of the last stored block.
    sealed: watch::Sender<BlockNumber>,
    genesis: GenesisConfig,
    genesis_hash: [u8; 32],
    block_time: Duration,
}

impl RunningNode {
    fn runtime(&self) -> MutexGuard<'_, Runtime> {
        // A panic while holding the lock cannot leave the runtime half-changed (every change
        // is applied to a copy first), so a poisoned lock is still consistent.
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the store, unless the node has stopped.
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T, NodeError>) -> Result<T, NodeError> {
        let guard = self.store.read().unwrap_or_else(|p| p.into_inner());
        let store = guard
            .as_ref()
            .ok_or_else(|| NodeError::Storage("the node has stopped and closed its database".into()))?;
        f(store)
    }

    /// Seals the block being built, stores it, publishes it and opens the next one.
    fn seal_and_store(&self, open_next: bool) -> Result<(), NodeError> {
        let mut runtime = self.runtime();
        let Some(sealed) = runtime.seal(now_ms()) else {
            return Ok(());
        };
        // The block becomes the head (and reaches RPC and subscriptions) only once stored.
        if let Err(e) = self.with_store(|store| store.commit(sealed.head())) {
            runtime.reopen(sealed);
            return Err(e);
        }
        let head = runtime.commit(sealed);
        if open_next {
            runtime.open_block(&self.author);
        }
        drop(runtime);
        let number = head.block.header.number;
        tracing::debug!(
            block = number,
            extrinsics = head.block.extrinsics.len(),
            events = head.block.events.len(),
            "sealed"
        );
        self.sealed.send_replace(number);
        let _ = self.blocks.send(Arc::new(head.block));
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A running node.
pub struct NodeHandle {
    rpc_addr: SocketAddr,
    node: Arc<RunningNode>,
    server: ServerHandle,
    producer: JoinHandle<Result<(), NodeError>>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("rpc_addr", &self.rpc_addr).finish()
    }
}

/// Starts a node: opens (or creates) its database, resumes at the stored head, starts
/// producing blocks and serving JSON-RPC.
pub async fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
    let genesis_hash = config.genesis.hash();
    let author = BlockAuthor::from_seed(&*keyfile::read_seed(&config.author_key)?);
    if author.account() != config.genesis.author {
        return Err(NodeError::WrongAuthor {
            key: author.account().to_string(),
            genesis: config.genesis.author.to_string(),
        });
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| NodeError::Io {
        what: format!("create the data directory {}", config.data_dir.display()),
        source: e,
    })?;
    let genesis = genesis_head(&config.genesis)?;
    let db_path = config.data_dir.join(DB_FILE);
    let (store, head) = tokio::task::block_in_place(|| Store::open(&db_path, &genesis_hash, genesis))?;
    let height = head.block.header.number;
    let mut runtime = Runtime::new(&config.genesis, head)?;
    runtime.open_block(&author);
    tracing::info!(
        network = %config.genesis.name,
        height,
        digest = %hex::encode(runtime.head().block.header.state_digest),
        db = %db_path.display(),
        "chain resumed"
    );

    let (blocks, _) = broadcast::channel(256);
    let node = Arc::new(RunningNode {
        runtime: Mutex::new(runtime),
        store: RwLock::new(Some(store)),
        author,
        crypto: MpcCrypto,
        blocks,
        sealed: watch::Sender::new(height),
        genesis: config.genesis.clone(),
        genesis_hash,
        block_time: config.block_time,
    });

    let server_config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .build();
    let server = Server::builder()
        .set_config(server_config)
        .build(config.rpc_addr)
        .await
        .map_err(|e| NodeError::Rpc {
            addr: config.rpc_addr.to_string(),
            reason: e.to_string(),
        })?;
    let rpc_addr = server.local_addr().map_err(|e| NodeError::Rpc {
        addr: config.rpc_addr.to_string(),
        reason: e.to_string(),
    })?;
    let server = server.start(Api { node: node.clone() }.into_rpc());
    tracing::info!(%rpc_addr, "JSON-RPC listening (WebSocket and HTTP)");

    let (stop, stop_rx) = watch::channel(false);
    let producer = tokio::spawn(produce(node.clone(), stop_rx));
    Ok(NodeHandle {
        rpc_addr,
        node,
        server,
        producer,
        stop,
    })
}

async fn produce(node: Arc<RunningNode>, mut stop: watch::Receiver<bool>) -> Result<(), NodeError> {
    let mut next = tokio::time::Instant::now() + node.block_time;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => {
                // A graceful stop seals what was submitted, so nothing accepted is lost.
                let node = node.clone();
                return tokio::task::spawn_blocking(move || node.seal_and_store(false))
                    .await
                    .map_err(|e| NodeError::Storage(e.to_string()))?;
            }
        }
        let now = tokio::time::Instant::now();
        next = (next + node.block_time).max(now);
        let s = node.clone();
        let sealed = tokio::task::spawn_blocking(move || s.seal_and_store(true))
            .await
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        if let Err(e) = sealed {
            tracing::error!(error = %e, "block production stopped");
            return Err(e);
        }
    }
}

impl NodeHandle {
    /// The address the RPC server listens on.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// `ws://…` URL of the RPC server.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }

    /// `http://…` URL of the RPC server.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The node's status now.
    pub fn status(&self) -> NodeStatus {
        status(&self.node)
    }

    /// Waits until block production stops on its own (a storage failure); returns why.
    pub async fn stopped(&mut self) -> Result<(), NodeError> {
        (&mut self.producer)
            .await
            .map_err(|e| NodeError::Storage(format!("the block producer panicked: {e}")))?
    }

    /// Stops gracefully: seals and stores the block being built, then stops the RPC server.
    /// Returns the final status.
    pub async fn stop(self) -> Result<NodeStatus, NodeError> {
        let _ = self.stop.send(true);
        let produced = self
            .producer
            .await
            .map_err(|e| NodeError::Storage(format!("the block producer panicked: {e}")))?;
        let _ = self.server.stop();
        self.server.stopped().await;
        // Close the database now, even if clients still hold connections.
        self.node.store.write().unwrap_or_else(|p| p.into_inner()).take();
        produced?;
        Ok(status(&self.node))
    }
}

fn status(node: &RunningNode) -> NodeStatus {
    let runtime = node.runtime();
    let header = &runtime.head().block.header;
    NodeStatus {
        network_name: node.genesis.name.clone(),
        network: node.genesis.network_id(),
        genesis_hash: node.genesis_hash,
        author: node.genesis.author,
        root: node.genesis.root,
        height: header.number,
        best_hash: header.hash(),
        state_digest: header.state_digest,
        session: runtime.chain().state().session,
        block_time_ms: node.block_time.as_millis() as u64,
    }
}

/// The JSON-RPC handlers.
struct Api {
    node: Arc<RunningNode>,
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    RpcError::new(ErrorCode::Internal, format!("{e}; see the node's log")).into()
}

impl Api {
    async fn submit_inner(&self, extrinsic: Bytes) -> Result<SubmitReceipt, ErrorObjectOwned> {
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.runtime().submit(&node.crypto, &extrinsic.0))
            .await
            .map_err(internal)?
            .map_err(Into::into)
    }

    async fn stream<T: serde::Serialize>(
        &self,
        pending: PendingSubscriptionSink,
        mut items: impl FnMut(&Block) -> Vec<T>,
    ) -> SubscriptionResult {
        let mut rx = self.node.blocks.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                received = rx.recv() => match received {
                    Ok(block) => {
                        for item in items(&block) {
                            let message = SubscriptionMessage::from(serde_json::value::to_raw_value(&item)?);
                            if sink.send(message).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        return Err(format!(
                            "the subscriber fell {missed} blocks behind; resubscribe and read the state again"
                        )
                        .into())
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}

#[async_trait]
impl KeywheelApiServer for Api {
    async fn status(&self) -> Result<NodeStatus, ErrorObjectOwned> {
        Ok(status(&self.node))
    }

    async fn account(&self, account: AccountId) -> Result<AccountInfo, ErrorObjectOwned> {
        let runtime = self.node.runtime();
        let state = runtime.chain().state();
        Ok(AccountInfo {
            account,
            free: state.balances.get(&account).copied().unwrap_or(0),
            nonce: runtime.next_nonce(&account),
            ledger: state.ledgers.get(&account).cloned(),
            validating: state.validators.get(&account).cloned(),
            tss_of: state.stash_of(&account),
            registered: state.registry.get(&account).cloned(),
        })
    }

    async fn next_nonce(&self, account: AccountId) -> Result<u64, ErrorObjectOwned> {
        Ok(self.node.runtime().next_nonce(&account))
    }

    async fn submit(&self, extrinsic: Bytes) -> Result<SubmitReceipt, ErrorObjectOwned> {
        self.submit_inner(extrinsic).await
    }

    async fn submit_and_wait(&self, extrinsic: Bytes) -> Result<Inclusion, ErrorObjectOwned> {
        let receipt = self.submit_inner(extrinsic).await?;
        let mut sealed = self.node.sealed.subscribe();
        sealed.wait_for(|height| *height >= receipt.block).await.map_err(|_| {
            ErrorObjectOwned::from(RpcError::new(
                ErrorCode::Unavailable,
                "the node stopped before sealing the block; query the account's nonce to see whether it was stored",
            ))
        })?;
        let block = self
            .node
            .with_store(|store| store.block(receipt.block))
            .map_err(internal)?
            .ok_or_else(|| internal(format!("sealed block {} is not in the store", receipt.block)))?;
        Ok(Inclusion {
            hash: receipt.hash,
            block: receipt.block,
            block_hash: block.hash(),
            index: receipt.index,
            events: receipt.events,
        })
    }

    async fn pending_events(&self) -> Result<Vec<EventRecord>, ErrorObjectOwned> {
        Ok(self.node.runtime().pending_events())
    }

    async fn committee(&self) -> Result<CommitteeView, ErrorObjectOwned> {
        let runtime = self.node.runtime();
        let state = runtime.chain().state();
        Ok(CommitteeView {
            session: state.session,
            members: state.committee.clone(),
            sharing: state.sharing.clone(),
            parent_key: state.parent_key.clone(),
        })
    }

    async fn reshare(&self) -> Result<Option<ReshareView>, ErrorObjectOwned> {
        let runtime = self.node.runtime();
        let state = runtime.chain().state();
        Ok(state.reshare.clone().map(|record| ReshareView {
            record,
            confirmations: state.confirmations.clone(),
            reports: state.reports.clone(),
        }))
    }

    async fn parent_key(&self) -> Result<Option<Bytes>, ErrorObjectOwned> {
        Ok(self.node.runtime().chain().state().parent_key.clone().map(Bytes))
    }

    async fn params(&self) -> Result<Params, ErrorObjectOwned> {
        Ok(self.node.runtime().chain().state().params.clone())
    }

    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ErrorObjectOwned> {
        let runtime = self.node.runtime();
        let state = runtime.chain().state();
        Ok(state
            .validators
            .iter()
            .map(|(stash, tss)| ValidatorInfo {
                stash: *stash,
                tss: tss.clone(),
                ledger: state.ledgers.get(stash).cloned().unwrap_or_default(),
                barred_until: state.barred_until.get(stash).copied(),
                in_committee: state.is_committee_member(stash),
            })
            .collect())
    }

    async fn slashes(&self) -> Result<Vec<SlashRecord>, ErrorObjectOwned> {
        Ok(self.node.runtime().chain().state().slashes.clone())
    }

    async fn registry(&self, account: AccountId) -> Result<Option<Vec<u32>>, ErrorObjectOwned> {
        Ok(self.node.runtime().chain().state().registry.get(&account).cloned())
    }

    async fn block(&self, number: Option<BlockNumber>) -> Result<Option<Block>, ErrorObjectOwned> {
        let number = match number {
            Some(n) => n,
            None => self.node.runtime().head().block.header.number,
        };
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.with_store(|store| store.block(number)))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    async fn subscribe_blocks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.stream(pending, |block| vec![block.clone()]).await
    }

    async fn subscribe_events(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.stream::<EventRecord>(pending, |block| block.events.clone()).await
    }
}

/// Reads the store's head without running a node (for tools and tests).
pub fn read_head(data_dir: &std::path::Path, genesis: &GenesisConfig) -> Result<Head, NodeError> {
    Store::open(&data_dir.join(DB_FILE), &genesis.hash(), genesis_head(genesis)?).map(|(_, head)| head)
}
