//! Follows the chain and does what it says: runs jumpstart and reshare attempts this TSS takes
//! part in, keeps the result in the holding slot and confirms it, rotates when the chain has
//! rotated, retires shares of sharings that are no longer the chain's (and shreds them sessions
//! later), and reports offenders — all only while the guard trusts the node.
//!
//! Everything happens in [`Orchestrator::reconcile`], which compares the chain's state with the
//! keystore and acts on the difference. Events only trigger it (and a timer does too), so a TSS
//! that was down — or missed events — does the right thing as soon as it reads the chain again:
//!
//! - the node is another network, behind what this TSS has seen, or on another branch: it
//!   halts every key action (signing too) and says why, until the node is right again;
//! - `RotateKey` passed while it was down and `next` holds the confirmed sharing: it rotates;
//! - it is no longer in the committee: its old share is retired, not erased;
//! - the attempt in flight is one it began before a crash: it waits for the attempt to end (it
//!   cannot take part again — fresh randomness in the same session would be equivocation), and
//!   the other participants report it;
//! - it holds `next` for the attempt in flight and no sealed block holds its confirmation: it
//!   confirms (again).
//!
//! Modules, leaves first: `guard` (whether the node is trusted), `status` (what the API shows),
//! `slots` (rotate, retire, shred), `submit` (confirmations and reports), `attempt` (one
//! attempt's protocol run).

mod attempt;
mod guard;
mod slots;
mod status;
mod submit;

use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::{AttemptIndex, Call, Event, SessionIndex};
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::{CommitteeView, KeywheelApiClient, NodeStatus, ReshareView, ValidatorInfo};
use tokio::task::AbortHandle;
use tracing::{debug, error, info, info_span, warn, Instrument};

pub use guard::Halt;
pub use status::{AttemptReport, AttemptResult, AttemptStatus};

use crate::chain::query_error;
use crate::error::TssError;
use crate::fault::Faults;
use crate::keystore::{ChainBinding, Slot};
use crate::resources::Resources;
use crate::sync::Locked;
use crate::transport::Directory;
use submit::Confirmed;

/// How often the TSS reads the chain even without events.
const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// The subsystem that follows the chain's reshare lifecycle for this TSS.
pub struct Orchestrator {
    res: Arc<Resources>,
    faults: Faults,
    rules: FollowRules,
    status: Arc<Locked<AttemptStatus>>,
    /// The task of the attempt that runs now: cancelled once the chain's attempt in flight is
    /// another one, so a superseded attempt cannot write the holding slot late.
    task: Locked<Option<(AttemptKey, AbortHandle)>>,
}

/// What the operator configured about following the chain.
#[derive(Debug, Clone, Copy)]
pub struct FollowRules {
    /// The genesis the configuration pins, if any.
    pub pinned_genesis: Option<[u8; 32]>,
    /// Sessions a retired share is kept after its rotation.
    pub keep_retired_sessions: u32,
}

/// A reshare attempt: `(session, attempt)`.
type AttemptKey = (SessionIndex, AttemptIndex);

impl Orchestrator {
    /// An orchestrator over the TSS's resources, with the faults its build and configuration
    /// allow.
    pub(crate) fn new(res: Arc<Resources>, faults: Faults, rules: FollowRules) -> Self {
        Self {
            res,
            faults,
            rules,
            status: Arc::default(),
            task: Locked::default(),
        }
    }

    /// Its attempts: the one running and how the last one ended.
    pub fn status(&self) -> AttemptStatus {
        self.status.lock().clone()
    }

    /// Keeps following the chain until the process stops.
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            let client = match self.res.chain.client().await {
                Ok(client) => client,
                Err(e) => {
                    warn!("{e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut events = match client.subscribe_events().await {
                Ok(events) => events,
                Err(e) => {
                    warn!("cannot subscribe to the node's events ({e}); retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            loop {
                tokio::select! {
                    record = events.next() => match record {
                        Some(Ok(record)) => if relevant(&record.event) { self.reconcile_logged().await },
                        Some(Err(e)) => { warn!("event does not decode: {e}"); }
                        None => break,
                    },
                    _ = tick.tick() => self.reconcile_logged().await,
                }
            }
            warn!("the node's event subscription ended; resubscribing");
        }
    }

    async fn reconcile_logged(&self) {
        if let Err(e) = self.reconcile().await {
            warn!("could not follow the chain this time: {e}");
        }
    }

    /// Compares the chain with the keystore and acts on the difference.
    pub(crate) async fn reconcile(&self) -> Result<(), TssError> {
        let res = &self.res;
        let client = res.chain.client().await?;
        // One view of one block: the queries are separate calls, so the node's best block is
        // read before and after them and the view is used only if it did not move. (A committee
        // read before a rotation's block and an attempt read after it would say "the attempt
        // ended without rotating": the holding slot would be retired just as the chain rotates
        // to it.)
        let Some(ChainView {
            node,
            committee,
            reshare,
            validators,
        }) = read_view(&client).await?
        else {
            debug!("the node sealed a block while being read, {VIEW_TRIES} times; reading again next time");
            return Ok(());
        };
        self.status.lock().chain_session = Some(committee.session);
        let Some(trusted) = self.trust_node(&client, &node, &committee).await? else {
            return Ok(());
        };
        res.transport.set_directory(Directory::from_validators(&validators));
        res.transport
            .set_committee(committee.members.iter().map(|m| m.tss).collect());

        let keep = self.rules.keep_retired_sessions;
        slots::settle(&mut res.keystore(), &res.metrics, &trusted, reshare.as_ref(), keep)?;
        self.supersede(reshare.as_ref().map(|v| (v.record.session, v.record.attempt)));
        let Some(view) = reshare else { return Ok(()) };
        let record = &view.record;
        res.transport
            .set_in_flight(record.session, record.attempt, record.participants());
        let me = res.identity.account();
        if !record.participants().contains(&me) {
            return Ok(());
        }
        let key = (record.session, record.attempt);
        self.send_unsent_reports(key).await;
        let running = || self.status.lock().running;
        if record.new_tss().contains(&me) {
            let next = res.keystore().get(Slot::Next)?;
            if let Some(held) = next.filter(|h| (h.info.session, h.info.attempt) == key) {
                // Until a sealed block holds the confirmation, send it again: the block it went
                // into may have been lost with the node.
                let refused = self.status.lock().confirmation_refused == Some(key);
                if !view.confirmations.contains_key(&me)
                    && running() != Some(key)
                    && !refused
                    && submit::confirm(res, record, &held).await == Confirmed::Refused
                {
                    self.status.lock().confirmation_refused = Some(key);
                }
                return Ok(());
            }
        }
        if running() == Some(key) {
            return Ok(());
        }
        let started = res.keystore().started()?;
        if let Err(why) = guard::may_begin(record, started, res.chain.followed_from()) {
            debug!(
                session = key.0,
                attempt = key.1,
                "not taking part: {why}; waiting for the attempt to end"
            );
            return Ok(());
        }
        res.keystore().mark_started(record.session, record.attempt)?;
        self.status.lock().running = Some(key);
        let (res, faults, status) = (res.clone(), self.faults.clone(), self.status.clone());
        let (view, sharing) = (view.clone(), committee.sharing.clone());
        let span = info_span!("reshare", kind = ?view.record.kind, session = key.0, attempt = key.1);
        let task = tokio::spawn(
            async move { attempt::run(&res, &faults, &status, &view, sharing.as_ref()).await }.instrument(span),
        );
        *self.task.lock() = Some((key, task.abort_handle()));
        Ok(())
    }

    /// Whether the node can be trusted with key actions now (see `guard`): records the new
    /// high-water mark and resumes if so; halts, says why, and changes nothing if not (`None`).
    async fn trust_node(
        &self,
        client: &WsClient,
        node: &NodeStatus,
        committee: &CommitteeView,
    ) -> Result<Option<guard::Trusted>, TssError> {
        let res = &self.res;
        let (binding, high_water) = {
            let keystore = res.keystore();
            (keystore.chain_binding()?, keystore.high_water()?)
        };
        let hash_at_high_water = match &high_water {
            Some(seen) if node.height >= seen.height => client
                .block(Some(seen.height))
                .await
                .map_err(query_error)?
                .map(|b| b.hash()),
            _ => None,
        };
        if (node.network, node.genesis_hash) != (res.chain.network(), res.chain.genesis_hash()) {
            // Extrinsics, contexts and the transport were bound to the node this process first
            // reached; another chain at the same address needs a fresh start.
            self.set_halt(Some(Halt::NodeChanged));
            return Ok(None);
        }
        let view = guard::NodeView {
            network: node.network,
            genesis_hash: node.genesis_hash,
            height: node.height,
            best_hash: node.best_hash,
            session: committee.session,
            sharing: committee.sharing.as_ref().map(|s| s.digest()),
            hash_at_high_water,
        };
        match guard::judge(binding.as_ref(), self.rules.pinned_genesis, high_water.as_ref(), &view) {
            Ok(trusted) => {
                {
                    let mut keystore = res.keystore();
                    if binding.is_none() {
                        keystore.bind_chain(&ChainBinding {
                            network: node.network,
                            genesis_hash: node.genesis_hash,
                        })?;
                    }
                    keystore.raise_high_water(trusted.mark())?;
                }
                self.set_halt(None);
                Ok(Some(trusted))
            }
            Err(halt) => {
                self.set_halt(Some(halt));
                Ok(None)
            }
        }
    }

    /// Records whether key actions are halted, logging each change once.
    fn set_halt(&self, halt: Option<Halt>) {
        let why = halt.map(|h| h.to_string());
        if !self.res.set_halted(why.clone()) {
            return;
        }
        match &why {
            Some(why) => error!("halting key actions (no signing, rotate, retire, shred or new attempt): {why}"),
            None => {
                info!("the node is the chain this TSS follows: key actions go ahead");
                // A refusal may have come from the node that was not right.
                self.status.lock().confirmation_refused = None;
            }
        }
    }

    /// Cancels the running attempt if the chain's attempt in flight is another one (or none),
    /// and forgets unsent reports of attempts that are over.
    fn supersede(&self, in_flight: Option<AttemptKey>) {
        let mut task = self.task.lock();
        if let Some((key, handle)) = task.as_ref() {
            if Some(*key) != in_flight {
                handle.abort();
                info!(
                    session = key.0,
                    attempt = key.1,
                    "the chain moved on from this attempt: cancelled it"
                );
                let mut status = self.status.lock();
                if status.running == Some(*key) {
                    status.running = None;
                }
                *task = None;
            }
        }
        self.status
            .lock()
            .unsent_reports
            .retain(|(key, _)| Some(*key) == in_flight);
    }

    /// Sends again the reports of `key` that no sealed block holds yet.
    async fn send_unsent_reports(&self, key: AttemptKey) {
        let unsent: Vec<Call> = {
            let mut status = self.status.lock();
            let (mine, others) = std::mem::take(&mut status.unsent_reports)
                .into_iter()
                .partition(|(k, _)| *k == key);
            status.unsent_reports = others;
            mine.into_iter().map(|(_, call)| call).collect()
        };
        for call in unsent {
            if let Some(call) = submit::submit_report(&self.res, call).await {
                self.status.lock().unsent_reports.push((key, call));
            }
        }
    }
}

/// How many times a reconcile reads the chain for one consistent view before it waits.
const VIEW_TRIES: usize = 3;

/// What one reconcile reads from the node, all at one best block.
struct ChainView {
    node: NodeStatus,
    committee: CommitteeView,
    reshare: Option<ReshareView>,
    validators: Vec<ValidatorInfo>,
}

/// Reads the node's status, committee, attempt in flight and validators, then the status again:
/// a view only if the best block did not move meanwhile (up to [`VIEW_TRIES`] tries).
async fn read_view(client: &WsClient) -> Result<Option<ChainView>, TssError> {
    for _ in 0..VIEW_TRIES {
        let node = client.status().await.map_err(query_error)?;
        let committee = client.committee().await.map_err(query_error)?;
        let reshare = client.reshare().await.map_err(query_error)?;
        let validators = client.validators().await.map_err(query_error)?;
        let after = client.status().await.map_err(query_error)?;
        if after.best_hash == node.best_hash {
            return Ok(Some(ChainView {
                node,
                committee,
                reshare,
                validators,
            }));
        }
    }
    Ok(None)
}

fn relevant(event: &Event) -> bool {
    matches!(
        event,
        Event::ReshareStarted { .. }
            | Event::RotateKey { .. }
            | Event::ReshareAborted { .. }
            | Event::Confirmed { .. }
            | Event::Validating { .. }
    )
}
