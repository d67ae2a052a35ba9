//! What the dashboard's server knows, and the two tasks that keep it current: one follows the
//! node (its block subscription over WebSocket, the history read back from its blocks, and the
//! chain's committee, reshare, slashes and validators after each block), the other asks every
//! watched TSS for its status and metrics. Either side going away is recorded, not fatal: the
//! last view is kept, marked with why it is old, and each task reconnects by itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keywheel_chain::{AccountId, BlockNumber, Params, SlashRecord};
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::now_ms;
use keywheel_rpc::{Block, CommitteeView, KeywheelApiClient, NodeStatus, ReshareView, ValidatorInfo};

use super::history::{Gap, History};
use super::tss::{self, SigningSeries, TssView};

/// How long the follower waits before dialling a node that could not be reached again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// The chain's state is read again after every block, and at least this often.
const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// The most blocks read back to build the history when the dashboard starts (or the node's
/// chain changed under it); older sessions are not shown.
pub const MAX_READBACK: BlockNumber = 20_000;

/// The chain as the node last reported it.
#[derive(Debug, Clone)]
pub struct ChainView {
    /// Height, session, block time.
    pub status: NodeStatus,
    /// The chain's parameters.
    pub params: Params,
    /// The committee, its sharing and the parent key.
    pub committee: CommitteeView,
    /// The reshare attempt in flight.
    pub reshare: Option<ReshareView>,
    /// Every punishment so far.
    pub slashes: Vec<SlashRecord>,
    /// Every validating stash.
    pub validators: Vec<ValidatorInfo>,
}

/// Whether the node answers.
#[derive(Debug, Clone)]
pub struct NodeLink {
    /// Its WebSocket URL.
    pub url: String,
    /// Why it cannot be reached now; none while it answers.
    pub error: Option<String>,
    /// Wall time of the last change between reachable and not, Unix milliseconds.
    pub since_ms: u64,
}

/// Everything the dashboard shows, as last seen.
#[derive(Debug)]
pub struct Watch {
    /// The node link.
    pub node: NodeLink,
    /// The chain, once read.
    pub chain: Option<ChainView>,
    /// Sessions read from the blocks.
    pub history: History,
    /// The watched TSSs.
    pub tss: Vec<TssView>,
    /// Signing over time.
    pub signing: SigningSeries,
    /// Names to show for accounts (the devnet's validator names), by TSS or stash account.
    pub names: BTreeMap<AccountId, String>,
}

/// The watch, shared by the tasks and the server.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<Watch>>);

impl Shared {
    /// A watch of the node at `node_url` and the TSS APIs `tss` (each with the account it must
    /// answer as, if known), nothing read yet.
    pub fn new(node_url: String, tss: Vec<(String, Option<AccountId>)>, names: BTreeMap<AccountId, String>) -> Self {
        Self(Arc::new(Mutex::new(Watch {
            node: NodeLink {
                url: node_url,
                error: Some("not asked yet".into()),
                since_ms: now_ms(),
            },
            chain: None,
            history: History::default(),
            tss: tss
                .into_iter()
                .map(|(url, account)| TssView::new(url, account))
                .collect(),
            signing: SigningSeries::default(),
            names,
        })))
    }

    /// The watch, locked. Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Watch> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn node_state(&self, error: Option<String>) {
        let mut w = self.lock();
        if w.node.error.is_none() != error.is_none() {
            w.node.since_ms = now_ms();
        }
        w.node.error = error;
    }
}

/// Follows the node for as long as the process runs.
pub async fn follow_node(shared: Shared) {
    let url = shared.lock().node.url.clone();
    loop {
        let error = match follow_once(&shared, &url).await {
            Ok(never) => match never {},
            Err(e) => e,
        };
        tracing::debug!("dashboard: node link lost: {error}");
        shared.node_state(Some(error));
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// One connection to the node, until it fails.
async fn follow_once(shared: &Shared, url: &str) -> Result<std::convert::Infallible, String> {
    let client = keywheel_rpc::connect_ws(url)
        .await
        .map_err(|e| format!("cannot reach the node at {url}: {e}"))?;
    // Subscribe before reading back, so no block falls between the two.
    let mut blocks = client
        .subscribe_blocks()
        .await
        .map_err(|e| format!("the node at {url} refused the block subscription: {e}"))?;
    read_back(shared, &client).await?;
    refresh(shared, &client).await?;
    shared.node_state(None);
    loop {
        tokio::select! {
            next = blocks.next() => {
                let block = match next {
                    Some(Ok(block)) => block,
                    Some(Err(e)) => return Err(format!("the node sent a block the dashboard cannot read: {e}")),
                    None => return Err(format!("the node at {url} closed the connection")),
                };
                let applied = shared.lock().history.apply(&block);
                match applied {
                    Ok(()) => {}
                    Err(Gap::Missing { .. }) => read_back(shared, &client).await?,
                    Err(Gap::Diverged) => {
                        tracing::warn!("dashboard: the node's chain changed under it; reading the history again");
                        read_back(shared, &client).await?;
                    }
                }
            }
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
        }
        // The chain's view is read right after the block, so the page never shows a block's
        // history beside the state from before it for longer than these calls take.
        refresh(shared, &client).await?;
    }
}

/// Brings the history up to the node's best block, building it aside (the page keeps the
/// old one meanwhile) and storing it when done.
async fn read_back(shared: &Shared, client: &WsClient) -> Result<(), String> {
    let history = shared.lock().history.clone();
    let history = catch_up(client, history).await?;
    shared.lock().history = history;
    Ok(())
}

/// Reads the blocks `history` lacks, up to the node's best. The history is read again from at
/// most [`MAX_READBACK`] blocks back if the node no longer has its last block (restored from a
/// backup, or another chain), or if it lacks more than that.
async fn catch_up(client: &WsClient, mut history: History) -> Result<History, String> {
    for _ in 0..3 {
        let best = client
            .status()
            .await
            .map_err(|e| format!("the node did not say its height: {e}"))?
            .height;
        let from = match history.height() {
            Some(h) if h <= best && best - h <= MAX_READBACK && history.knows(&fetch(client, h).await?) => h + 1,
            _ => {
                history = History::default();
                let first = best.saturating_sub(MAX_READBACK).max(1);
                if first > 1 {
                    history.start_after(&fetch(client, first - 1).await?);
                }
                first
            }
        };
        let mut diverged = false;
        for number in from..=best {
            if history.apply(&fetch(client, number).await?).is_err() {
                diverged = true;
                break;
            }
        }
        if !diverged {
            return Ok(history);
        }
    }
    Err("the node's chain kept changing while the dashboard read it".into())
}

async fn fetch(client: &WsClient, number: BlockNumber) -> Result<Block, String> {
    client
        .block(Some(number))
        .await
        .map_err(|e| format!("the node did not serve block {number}: {e}"))?
        .ok_or_else(|| format!("the node does not have block {number}"))
}

/// Reads the chain's state and stores it.
async fn refresh(shared: &Shared, client: &WsClient) -> Result<(), String> {
    let said =
        |what: &str, e: keywheel_rpc::jsonrpsee::core::ClientError| format!("the node did not say its {what}: {e}");
    let view = ChainView {
        status: client.status().await.map_err(|e| said("status", e))?,
        params: client.params().await.map_err(|e| said("parameters", e))?,
        committee: client.committee().await.map_err(|e| said("committee", e))?,
        reshare: client.reshare().await.map_err(|e| said("reshare", e))?,
        slashes: client.slashes().await.map_err(|e| said("slashes", e))?,
        validators: client.validators().await.map_err(|e| said("validators", e))?,
    };
    shared.lock().chain = Some(view);
    Ok(())
}

/// Asks every watched TSS, every [`tss::POLL_EVERY`], for as long as the process runs.
pub async fn watch_tss(shared: Shared) {
    // A TSS API answers where it is asked; a redirect elsewhere is an error, not followed.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client without TLS settings builds");
    let mut tick = tokio::time::interval(tss::POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (mut views, mut series) = {
            let w = shared.lock();
            (w.tss.clone(), w.signing.clone())
        };
        if views.is_empty() {
            continue;
        }
        tss::poll(&http, &mut views, &mut series, now_ms()).await;
        let mut w = shared.lock();
        w.tss = views;
        w.signing = series;
    }
}
