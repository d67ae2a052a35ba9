//! What the transport's tasks share: the directory, the router, each peer's outbound queue, who
//! cannot be reached, and the inbound connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use keywheel_chain::AccountId;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::directory::Directory;
use super::inbound::{Inbound, InboundLimits};
use super::router::Router;
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::sync::Locked;
use crate::wire::Frame;

/// What a peer's dialler is asked to do.
pub(super) enum Outbound {
    /// Deliver an encoded frame, queued at that instant (its [`super::FRAME_TTL`] runs from then).
    Frame(Arc<Vec<u8>>, Instant),
    /// Dial once if there is no working connection; send nothing.
    Probe,
}

/// The state of one TSS's transport, shared by its listener, its diallers and its handle.
pub(super) struct TransportState {
    pub(super) identity: Identity,
    pub(super) network: [u8; 32],
    pub(super) directory: Locked<Directory>,
    pub(super) router: Locked<Router>,
    pub(super) peers: Locked<HashMap<AccountId, mpsc::Sender<Outbound>>>,
    /// Peers whose last dial failed, with when it did.
    pub(super) unreachable: Locked<HashMap<AccountId, Instant>>,
    pub(super) control: mpsc::Sender<(AccountId, Frame)>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) local_addr: SocketAddr,
    /// Inbound handshakes in progress and authenticated connections.
    pub(super) inbound: Locked<Inbound>,
    pub(super) limits: InboundLimits,
    /// The runtime `bind` ran on (the TSS's main one): the transport's tasks — dialers, the
    /// senders of protocol sessions — run there whoever starts them. Signing sessions open on a
    /// runtime without an IO driver, where a dial panics.
    pub(super) runtime: tokio::runtime::Handle,
}
