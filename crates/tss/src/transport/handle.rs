//! [`Transport`], the handle the rest of the TSS uses: bind, open protocol sessions, send,
//! probe, and follow the chain's directory and the attempt in flight.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use keywheel_mpc::driver::{Channels, Outgoing};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use super::directory::Directory;
use super::inbound::{Inbound, InboundLimits};
use super::router::{InFlight, Router};
use super::state::{Outbound, TransportState};
use super::{dialer, listener};
use crate::error::TssError;
use crate::identity::Identity;
use crate::metrics::{ConnectionEnd, Dropped, Metrics};
use crate::sync::Locked;
use crate::wire::{encode_frame, Frame, Tag};

/// Messages a protocol session's channels hold.
const PROTOCOL_SESSION_CHANNEL: usize = 4096;
/// Frames a peer's outbound queue holds.
const PEER_QUEUE: usize = 1024;

/// The peer transport of one TSS.
#[derive(Clone)]
pub struct Transport {
    pub(super) state: Arc<TransportState>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("local_addr", &self.state.local_addr)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Listens on `listen`; returns the transport and the receiver of control frames (signing
    /// jobs and outcomes) from authenticated peers.
    pub async fn bind(
        identity: Identity,
        network: [u8; 32],
        listen: SocketAddr,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, mpsc::Receiver<(AccountId, Frame)>), TssError> {
        Self::bind_limited(identity, network, listen, metrics, InboundLimits::default()).await
    }

    /// [`Transport::bind`] with other inbound limits (tests shorten the times).
    pub(crate) async fn bind_limited(
        identity: Identity,
        network: [u8; 32],
        listen: SocketAddr,
        metrics: Arc<Metrics>,
        limits: InboundLimits,
    ) -> Result<(Self, mpsc::Receiver<(AccountId, Frame)>), TssError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| TssError::io(format!("listen for peers on {listen}"), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| TssError::io("read the peer listener's address", e))?;
        let (control, control_rx) = mpsc::channel(1024);
        let state = Arc::new(TransportState {
            identity,
            network,
            directory: Locked::new(Directory::default()),
            router: Locked::new(Router::new(network)),
            peers: Locked::new(HashMap::new()),
            unreachable: Locked::new(HashMap::new()),
            control,
            metrics,
            local_addr,
            inbound: Locked::new(Inbound::default()),
            limits,
            runtime: tokio::runtime::Handle::current(),
        });
        tokio::spawn(listener::accept(Arc::downgrade(&state), listener));
        info!(%local_addr, "peer transport listening");
        Ok((Self { state }, control_rx))
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// Replaces the directory of declared TSSs, and closes the inbound connections of accounts
    /// it no longer declares with the key they proved.
    pub fn set_directory(&self, directory: Directory) {
        let closed = self
            .state
            .inbound
            .lock()
            .retain(|account, key| directory.account_of(key) == Some(*account));
        for _ in 0..closed {
            self.state.metrics.connection_closed(ConnectionEnd::Undeclared);
        }
        *self.state.directory.lock() = directory;
    }

    /// Whether `account` is a TSS the directory declares (one that was slashed or chilled, or
    /// changed its account, is not: its connections are closed, and no session with it ends).
    pub fn is_declared(&self, account: &AccountId) -> bool {
        self.state.directory.lock().peer(account).is_some()
    }

    /// Marks `(session, attempt)` as the reshare attempt in flight, with its participants:
    /// frames for older attempts are dropped from now on, and early frames for this one only
    /// from its participants, for later ones only for the attempt after it.
    pub fn set_in_flight(&self, session: SessionIndex, attempt: AttemptIndex, participants: BTreeSet<AccountId>) {
        self.state.router.lock().set_in_flight(InFlight {
            attempt: (session, attempt),
            participants,
        });
    }

    /// Records the current committee (TSS accounts): early signing frames are taken only from
    /// its members.
    pub fn set_committee(&self, committee: BTreeSet<AccountId>) {
        self.state.router.lock().set_committee(committee);
    }

    /// Closes the protocol session `tag` names, whether or not it was opened: the frames that
    /// wait for it are dropped at once (not kept for their time to live, taking their senders'
    /// room), and its late frames from now on. For a session this TSS will not run.
    pub fn close_protocol_session(&self, tag: Tag) {
        let protocol_session = tag.protocol_session_id(&self.state.network);
        self.state.router.lock().close(&protocol_session);
    }

    /// Opens the protocol session `tag` names with these participants: the driver's channel
    /// pair.
    pub fn open_protocol_session(&self, tag: Tag, participants: BTreeSet<AccountId>) -> Channels {
        let protocol_session = tag.protocol_session_id(&self.state.network);
        let (in_tx, in_rx) = mpsc::channel(PROTOCOL_SESSION_CHANNEL);
        let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(PROTOCOL_SESSION_CHANNEL);
        let (early, refused) =
            self.state
                .router
                .lock()
                .open(protocol_session.clone(), participants.clone(), in_tx.clone());
        for _ in 0..refused {
            self.state.metrics.dropped(Dropped::NotParticipant);
        }
        for m in early {
            // A fresh channel; the router hands over at most its per-peer share per session.
            if in_tx.try_send(m).is_err() {
                self.state.metrics.dropped(Dropped::BufferFull);
            }
        }
        let transport = self.clone();
        self.state.runtime.spawn(async move {
            while let Some(out) = out_rx.recv().await {
                let to = out.to;
                if !participants.contains(&to) {
                    warn!(?to, "a session tried to send to a non-participant; dropped");
                    continue;
                }
                transport
                    .send(
                        to,
                        &Frame::Protocol {
                            tag,
                            payload: out.payload,
                        },
                    )
                    .await;
            }
            transport.state.router.lock().close(&protocol_session);
        });
        Channels {
            outgoing: out_tx,
            incoming: in_rx,
        }
    }

    /// Queues a frame for `to`; it is sent over the peer's connection, dialled as needed. Never
    /// waits: a peer whose queue is full (it has not taken a frame for a while — it cannot be
    /// reached) loses the frame, counted, instead of holding up the frames for everyone else.
    pub async fn send(&self, to: AccountId, frame: &Frame) {
        let bytes = Arc::new(encode_frame(frame));
        match self.queue(to).try_send(Outbound::Frame(bytes, Instant::now())) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.state.metrics.dropped(Dropped::PeerQueueFull);
                warn!(?to, "the peer's queue is full; frame dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => warn!(?to, "the peer's sender stopped; frame dropped"),
        }
    }

    /// Asks for one dial of `to` if it has no working connection, sending nothing: a peer
    /// marked unreachable is cleared when it answers. Does nothing if its queue is full.
    pub fn probe(&self, to: AccountId) {
        let _ = self.queue(to).try_send(Outbound::Probe);
    }

    /// The peers whose last dial failed, with when it did (cleared by a dial that succeeds).
    pub fn unreachable(&self) -> HashMap<AccountId, Instant> {
        self.state.unreachable.lock().clone()
    }

    /// The peer's queue, with its dialer started on the transport's runtime if it has none — or
    /// none still running (a dialer that ended must not leave its peer unreachable for good).
    fn queue(&self, to: AccountId) -> mpsc::Sender<Outbound> {
        let mut peers = self.state.peers.lock();
        if let Some(tx) = peers.get(&to).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        self.state
            .runtime
            .spawn(dialer::dial(Arc::downgrade(&self.state), to, rx));
        peers.insert(to, tx.clone());
        tx
    }

    /// The network a session of this transport belongs to.
    pub fn network(&self) -> [u8; 32] {
        self.state.network
    }

    /// The counters the transport updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.state.metrics
    }
}
