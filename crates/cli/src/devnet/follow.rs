//! The event stream: follows the chain block by block, in order and without gaps — a
//! subscription that ends (the client fell behind, or the node restarted) is re-opened and the
//! blocks missed meanwhile are fetched one by one, so every event is seen exactly once — and
//! [`NodeConnection`], the scenario's RPC client to the node with those events, one at a time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::bail;
use keywheel_chain::{BlockNumber, Event, ReshareKind};
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::{Block, KeywheelApiClient};
use tokio::sync::mpsc;

use crate::client;

/// Starts the follower; it sends every block from `from` on, and ends when the receiver is
/// dropped. A node that cannot be reached is retried every second, without end: the devnet's
/// own deadlines decide when waiting is over. Each block sent is the child of the one before:
/// a node on another branch (a node restored from a backup builds its own) is not followed
/// until it serves the chain followed so far again.
pub fn follow(url: String, from: BlockNumber) -> mpsc::Receiver<Block> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut next = from;
        let mut last_hash: Option<[u8; 32]> = None;
        // Whether `block` is the next one, on the chain followed so far.
        let follows = |block: &Block, next: BlockNumber, last: Option<[u8; 32]>| {
            block.header.number == next && last.is_none_or(|h| block.header.parent_hash == h)
        };
        loop {
            if tx.is_closed() {
                return;
            }
            let Ok(client) = keywheel_rpc::connect_ws(&url).await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let Ok(mut blocks) = client.subscribe_blocks().await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            while let Some(Ok(block)) = blocks.next().await {
                let number = block.header.number;
                // Fill the gap before this block from the node's store.
                while next < number {
                    match client.block(Some(next)).await {
                        Ok(Some(missed)) if follows(&missed, next, last_hash) => {
                            last_hash = Some(missed.hash());
                            if tx.send(missed).await.is_err() {
                                return;
                            }
                            next += 1;
                        }
                        _ => break,
                    }
                }
                if follows(&block, next, last_hash) {
                    last_hash = Some(block.hash());
                    if tx.send(block).await.is_err() {
                        return;
                    }
                    next += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    rx
}

/// The scenario's connection to the node: an RPC client, and the chain's events in order from
/// the follower.
pub struct NodeConnection {
    /// The node's WebSocket URL.
    url: String,
    /// The RPC client (replaced after a node restart).
    pub client: WsClient,
    /// Blocks from the follower.
    blocks: mpsc::Receiver<Block>,
    /// Events of blocks received but not returned yet, each with its block's timestamp.
    pending: VecDeque<(u64, Event)>,
    /// The timestamp of the block of the event [`NodeConnection::next`] returned last (chain
    /// time).
    pub last_at_ms: u64,
    /// The number of the last block received from the follower.
    received: BlockNumber,
}

impl NodeConnection {
    /// Connects to the node at `url` and follows its events from the next block on.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let client = client::connect(url).await?;
        let height = client.status().await?.height;
        Ok(Self {
            url: url.to_owned(),
            client,
            blocks: follow(url.to_owned(), height + 1),
            pending: Default::default(),
            last_at_ms: 0,
            received: height,
        })
    }

    /// A fresh RPC connection (after a node restart).
    pub async fn reconnect(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match keywheel_rpc::connect_ws(&self.url).await {
                Ok(client) => {
                    self.client = client;
                    return Ok(());
                }
                Err(e) if started.elapsed() > Duration::from_secs(60) => {
                    bail!("the node at {} did not come back: {e}", self.url)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The next event, waiting at most until `deadline`.
    pub async fn next(&mut self, deadline: Instant) -> anyhow::Result<Event> {
        loop {
            if let Some((at, event)) = self.pending.pop_front() {
                self.last_at_ms = at;
                return Ok(event);
            }
            self.receive(deadline).await?;
        }
    }

    /// Receives every block up to the node's best block now (their events wait for
    /// [`Self::next`]) and returns the session of a rotation whose reshare started in them
    /// and that [`Self::next`] has not returned yet, if there is one: then the scenario is
    /// behind the chain, and what it would do "between rotations" would land in or after that
    /// one. Blocks the follower cannot deliver within `patience` (a node on another branch)
    /// are not waited for.
    pub async fn unseen_rotation(&mut self, patience: Duration) -> anyhow::Result<Option<u32>> {
        let height = self.client.status().await?.height;
        let deadline = Instant::now() + patience;
        while self.received < height {
            if self.receive(deadline).await.is_err() {
                break;
            }
        }
        Ok(self.pending.iter().find_map(|(_, e)| match e {
            Event::ReshareStarted {
                kind: ReshareKind::Rotation,
                session,
                ..
            } => Some(*session),
            _ => None,
        }))
    }

    /// Receives the next block from the follower, keeping its events in `pending`.
    async fn receive(&mut self, deadline: Instant) -> anyhow::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.blocks.recv()).await {
            Ok(Some(block)) => {
                let at = block.header.timestamp_ms;
                self.received = block.header.number;
                self.pending.extend(block.events.into_iter().map(|r| (at, r.event)));
                Ok(())
            }
            Ok(None) => bail!("the chain follower stopped"),
            Err(_) => bail!("timed out waiting for the chain"),
        }
    }
}
