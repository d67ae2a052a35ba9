//! An in-process network: routes [`Outgoing`] messages to the addressee's session inbox, buffering
//! messages for sessions not opened yet. For tests, benchmarks and examples only — the TSS carries
//! the same messages over authenticated, encrypted TCP.

use crate::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use manul::session::SessionId;
use tokio::sync::mpsc;

use crate::driver::{Channels, Incoming, Outgoing};
use crate::identity::AccountId;
use crate::ops::Network;

/// Capacity of every in-process channel.
const CAPACITY: usize = 4096;

enum Inbox {
    Open(mpsc::Sender<Incoming>),
    Pending(Vec<Incoming>),
}

#[derive(Default)]
struct Hub {
    inboxes: HashMap<(AccountId, Vec<u8>), Inbox>,
    /// Parties whose outgoing messages are dropped (to simulate silence).
    muted: BTreeSet<AccountId>,
}

/// The in-process network shared by all parties of a test.
#[derive(Clone, Default)]
pub struct LocalNetwork {
    hub: Arc<Mutex<Hub>>,
}

impl std::fmt::Debug for LocalNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalNetwork")
    }
}

impl LocalNetwork {
    /// A new, empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops every message `party` sends from now on: it stays connected but silent.
    pub fn mute(&self, party: AccountId) {
        self.hub.lock().expect("hub lock").muted.insert(party);
    }

    /// Delivers `message` from `from` now, not through a sending task: a test that must fix
    /// what a party reads first (before any relay can overtake it) injects it before the
    /// party's session opens, and it waits at the head of that inbox.
    pub fn inject(&self, from: AccountId, message: Outgoing) {
        let incoming = Incoming {
            from,
            payload: message.payload,
        };
        if let Some(tx) = self.deliver(message.to, message.protocol_session_id, incoming.clone()) {
            let _ = tx.try_send(incoming);
        }
    }

    fn deliver(&self, to: AccountId, session: Vec<u8>, message: Incoming) -> Option<mpsc::Sender<Incoming>> {
        let mut hub = self.hub.lock().expect("hub lock");
        if hub.muted.contains(&message.from) {
            return None;
        }
        match hub
            .inboxes
            .entry((to, session))
            .or_insert_with(|| Inbox::Pending(Vec::new()))
        {
            Inbox::Open(tx) => Some(tx.clone()),
            Inbox::Pending(queue) => {
                queue.push(message);
                None
            }
        }
    }
}

impl Network for LocalNetwork {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(CAPACITY);
        let (in_tx, in_rx) = mpsc::channel::<Incoming>(CAPACITY);
        let pending = {
            let mut hub = self.hub.lock().expect("hub lock");
            match hub
                .inboxes
                .insert((me, protocol_session_id.as_ref().to_vec()), Inbox::Open(in_tx.clone()))
            {
                Some(Inbox::Pending(queue)) => queue,
                _ => Vec::new(),
            }
        };
        for message in pending {
            // A fresh channel with room for CAPACITY messages.
            let _ = in_tx.try_send(message);
        }
        let net = self.clone();
        tokio::spawn(async move {
            while let Some(out) = out_rx.recv().await {
                let incoming = Incoming {
                    from: me,
                    payload: out.payload.clone(),
                };
                if let Some(tx) = net.deliver(out.to, out.protocol_session_id, incoming.clone()) {
                    // The addressee may have finished its session already; that is fine.
                    let _ = tx.send(incoming).await;
                }
            }
        });
        Channels {
            outgoing: out_tx,
            incoming: in_rx,
        }
    }
}
