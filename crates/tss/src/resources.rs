//! What every subsystem of a TSS uses and none owns: its identity, its keystore, its
//! connection to the node, its peer transport, its metrics, and whether key actions are halted
//! (the orchestrator's guard decides; signing and the API obey and show it). The subsystems
//! (orchestrator, signing, API) keep their own state; this holds only these shared handles.

use std::sync::{Arc, MutexGuard};

use crate::chain::ChainClient;
use crate::identity::Identity;
use crate::keystore::Keystore;
use crate::metrics::Metrics;
use crate::sync::Locked;
use crate::transport::Transport;

/// Why key actions wait before the node was first judged.
pub(crate) const NOT_CHECKED: &str = "the node has not been checked yet against what this keystore has seen";

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
    /// The signing backend of the keys this TSS makes.
    pub(crate) backend: keywheel_mpc::backend::BackendKind,
    /// Why key actions (sign, rotate, retire, shred, begin an attempt) are halted, if they are.
    halt: Locked<Option<String>>,
}

impl Resources {
    /// Puts the handles together.
    pub(crate) fn new(
        identity: Identity,
        keystore: Keystore,
        chain: ChainClient,
        transport: Transport,
        metrics: Arc<Metrics>,
        backend: keywheel_mpc::backend::BackendKind,
    ) -> Self {
        Self {
            identity,
            keystore: Locked::new(keystore),
            chain,
            transport,
            metrics,
            backend,
            // Until the first reconcile has judged the node, nothing is known about it.
            halt: Locked::new(Some(NOT_CHECKED.into())),
        }
    }

    /// Why key actions are halted now (the node is behind, forked or foreign), if they are.
    pub(crate) fn halted(&self) -> Option<String> {
        self.halt.lock().clone()
    }

    /// Records whether key actions are halted; returns whether that changed. Sets the
    /// `halted` gauge.
    pub(crate) fn set_halted(&self, why: Option<String>) -> bool {
        let mut halt = self.halt.lock();
        if *halt == why {
            return false;
        }
        self.metrics
            .halted
            .store(u64::from(why.is_some()), std::sync::atomic::Ordering::Relaxed);
        *halt = why;
        true
    }

    /// The keystore, locked.
    pub(crate) fn keystore(&self) -> MutexGuard<'_, Keystore> {
        self.keystore.lock()
    }
}
