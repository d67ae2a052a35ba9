//! The TSS's client of the chain node: typed queries over WebSocket, extrinsics signed by the
//! TSS account, and reconnection when the node restarts.

use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::{AccountId, Call, Event};
use keywheel_mpc::PartySigner;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::{connect_ws, Bytes, ErrorCode, Extrinsic, KeywheelApiClient, RpcError, RuntimeCall};
use tokio::sync::{Mutex, RwLock};
use tracing::{info, warn};

use crate::error::TssError;

/// A connection to the node that re-dials when it breaks.
pub struct ChainClient {
    url: String,
    client: RwLock<Arc<WsClient>>,
    /// The runtime `connect` ran on (the TSS's main one): connections are dialled there, whoever
    /// asks — signing jobs run on a runtime without an IO driver, and a connection's background
    /// task must live as long as the process, not as a job's runtime.
    dialer: tokio::runtime::Handle,
    signer: PartySigner,
    genesis_hash: [u8; 32],
    network: [u8; 32],
    block_time: Duration,
    followed_from: keywheel_chain::BlockNumber,
    /// Submissions go one at a time so nonces follow each other.
    submitting: Mutex<()>,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Why a submission failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The chain refused it (nothing changed).
    #[error("refused: {0}")]
    Refused(RpcError),
    /// The node could not be reached.
    #[error("node unreachable: {0}")]
    Unreachable(String),
}

impl ChainClient {
    /// Connects to the node at `url` (e.g. `ws://127.0.0.1:9944`), retrying for up to `patience`.
    pub async fn connect(url: &str, signer: PartySigner, patience: Duration) -> Result<Self, TssError> {
        let started = tokio::time::Instant::now();
        let client = loop {
            match connect_ws(url).await {
                Ok(client) => break client,
                Err(e) if started.elapsed() < patience => {
                    warn!("node at {url} not reachable yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(TssError::Node(format!("cannot connect to {url}: {e}"))),
            }
        };
        let status = client
            .status()
            .await
            .map_err(|e| TssError::Node(format!("{url} did not answer status: {e}")))?;
        Ok(Self {
            url: url.to_string(),
            client: RwLock::new(Arc::new(client)),
            dialer: tokio::runtime::Handle::current(),
            signer,
            genesis_hash: status.genesis_hash,
            network: status.network,
            block_time: Duration::from_millis(status.block_time_ms),
            followed_from: status.height,
            submitting: Mutex::new(()),
        })
    }

    /// The network id (part of every attempt context).
    pub fn network(&self) -> [u8; 32] {
        self.network
    }

    /// The genesis hash extrinsics and sign requests are bound to.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.genesis_hash
    }

    /// The node's best block when this process first read the chain: an attempt that began at
    /// or before it began before this process followed the chain.
    pub fn followed_from(&self) -> keywheel_chain::BlockNumber {
        self.followed_from
    }

    /// The node's block time.
    pub fn block_time(&self) -> Duration {
        self.block_time
    }

    /// The client, re-dialled first if the connection broke (e.g. the node restarted).
    pub async fn client(&self) -> Result<Arc<WsClient>, TssError> {
        let current = self.client.read().await.clone();
        if current.is_connected() {
            return Ok(current);
        }
        let mut slot = self.client.write().await;
        if slot.is_connected() {
            return Ok(slot.clone());
        }
        let url = self.url.clone();
        let fresh = self
            .dialer
            .spawn(async move { connect_ws(&url).await })
            .await
            .map_err(|e| TssError::Node(format!("re-dialling {} did not finish: {e}", self.url)))?
            .map_err(|e| TssError::Node(format!("cannot reconnect to {}: {e}", self.url)))?;
        info!("reconnected to the node at {}", self.url);
        *slot = Arc::new(fresh);
        Ok(slot.clone())
    }

    /// The TSS account.
    pub fn account(&self) -> AccountId {
        self.signer.account()
    }

    /// Signs `call` with the TSS account's next nonce and submits it; returns its events once a
    /// sealed (stored) block holds it. An error means it may not be in any block: submit again.
    pub async fn submit(&self, call: Call) -> Result<Vec<Event>, SubmitError> {
        let _turn = self.submitting.lock().await;
        let client = self
            .client()
            .await
            .map_err(|e| SubmitError::Unreachable(e.to_string()))?;
        // The node stopping before the seal, or a nonce race, is worth another try; anything
        // else the node says is its final word on this call.
        let unreachable = |e: keywheel_rpc::jsonrpsee::core::ClientError| match RpcError::from_client(&e) {
            Some(api)
                if !matches!(
                    api.code,
                    ErrorCode::Unavailable | ErrorCode::Internal | ErrorCode::StaleNonce | ErrorCode::FutureNonce
                ) =>
            {
                SubmitError::Refused(api)
            }
            _ => SubmitError::Unreachable(e.to_string()),
        };
        let nonce = client.next_nonce(self.account()).await.map_err(unreachable)?;
        let extrinsic = Extrinsic::sign(&self.signer, self.genesis_hash, nonce, RuntimeCall::Signed(call));
        let inclusion = client
            .submit_and_wait(Bytes(extrinsic.encode()))
            .await
            .map_err(unreachable)?;
        Ok(inclusion.events)
    }
}

/// Maps a query error to the TSS's error.
pub fn query_error(e: keywheel_rpc::jsonrpsee::core::ClientError) -> TssError {
    TssError::Node(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use keywheel_node::{keyfile, GenesisConfig, NodeConfig};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_on_another_runtime_reconnects_after_the_node_restarted() {
        // Signing jobs run on their own runtime, which has timers but no IO driver. The first to
        // find the connection broken re-dials: in a devnet fault run that panicked there ("IO is
        // disabled"), and the member's confirmation waited until its attempt was over.
        let tmp = tempfile::tempdir().unwrap();
        keyfile::write_seed(&tmp.path().join("author.key"), &[2; 32]).unwrap();
        let author = PartySigner::from_seed(&[2; 32]).account();
        let genesis = GenesisConfig {
            name: "chain-client-test".into(),
            root: author,
            author,
            params: Default::default(),
            balances: Vec::new(),
            validators: Vec::new(),
        };
        let config = |rpc_addr: SocketAddr| NodeConfig {
            genesis: genesis.clone(),
            data_dir: tmp.path().join("node"),
            rpc_addr,
            block_time: Duration::from_millis(100),
            author_key: tmp.path().join("author.key"),
        };
        let node = keywheel_node::start(config("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let addr = node.rpc_addr();
        let chain = Arc::new(
            ChainClient::connect(&node.ws_url(), PartySigner::from_seed(&[3; 32]), Duration::from_secs(5))
                .await
                .unwrap(),
        );
        node.stop().await.unwrap();
        let started = std::time::Instant::now();
        while chain.client.read().await.is_connected() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the client never saw the node go"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let node = keywheel_node::start(config(addr)).await.unwrap();

        let signing = crate::signing::compute::SigningRuntime::new(1).unwrap();
        let on_signing = chain.clone();
        let status = signing
            .spawn(async move {
                let client = on_signing.client().await?;
                client.status().await.map_err(query_error)
            })
            .await
            .expect("no panic on the other runtime")
            .unwrap();
        assert_eq!(status.genesis_hash, chain.genesis_hash());
        // The connection it made serves this runtime too, after the other one is gone.
        drop(signing);
        chain.client().await.unwrap().status().await.unwrap();
        node.stop().await.unwrap();
    }
}
