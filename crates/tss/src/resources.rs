//! What every subsystem of a TSS uses and none owns: its identity, its keystore, its
//! connection to the node, its peer transport and its metrics. The subsystems (orchestrator,
//! signing, API) keep their own state; this holds only these shared handles.

use std::sync::{Arc, MutexGuard};

use crate::chain::ChainClient;
use crate::identity::Identity;
use crate::keystore::Keystore;
use crate::metrics::Metrics;
use crate::sync::Locked;
use crate::transport::Transport;

/// The handles a TSS's subsystems share.
pub struct Resources {
    /// The TSS's account and transport keys.
    pub(crate) identity: Identity,
    keystore: Locked<Keystore>,
    /// The node connection.
    pub(crate) chain: ChainClient,
    /// The peer transport.
    pub(crate) transport: Transport,
    /// The counters.
    pub(crate) metrics: Arc<Metrics>,
}

impl Resources {
    /// Puts the handles together.
    pub(crate) fn new(
        identity: Identity,
        keystore: Keystore,
        chain: ChainClient,
        transport: Transport,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            identity,
            keystore: Locked::new(keystore),
            chain,
            transport,
            metrics,
        }
    }

    /// The keystore, locked.
    pub(crate) fn keystore(&self) -> MutexGuard<'_, Keystore> {
        self.keystore.lock()
    }
}
