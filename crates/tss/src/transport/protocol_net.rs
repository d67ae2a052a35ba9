//! The [`Network`] a protocol run (one reshare attempt, one signing round) gives the session
//! driver: each protocol session it opens is opened on the transport with the tag and the
//! participants of that session.

use std::collections::BTreeSet;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use keywheel_mpc::backend::BackendKind;
use keywheel_mpc::driver::{Channels, ProtocolKind};
use keywheel_mpc::ops::Network;
use tokio::sync::mpsc;
use tracing::warn;

use super::handle::Transport;
use crate::wire::Tag;

/// The [`Network`] of one attempt or signing round: opens each session the protocol asks for on
/// the transport, with the tag and participants of that session.
pub struct ProtocolNet {
    transport: Transport,
    tags: Vec<Tag>,
    participants: BTreeSet<AccountId>,
}

impl ProtocolNet {
    /// The sessions of a reshare attempt (KeyInit, Reshare, and the committee's setup: AuxGen
    /// or the DKLs23 pair setup).
    pub fn attempt(
        transport: &Transport,
        session: SessionIndex,
        attempt: AttemptIndex,
        participants: BTreeSet<AccountId>,
    ) -> Self {
        let tags = [
            ProtocolKind::KeyInit,
            ProtocolKind::Reshare,
            ProtocolKind::AuxGen,
            ProtocolKind::PairSetup,
        ]
        .into_iter()
        .map(|kind| Tag::Reshare { kind, session, attempt })
        .collect();
        Self {
            transport: transport.clone(),
            tags,
            participants,
        }
    }

    /// The signing session of one request's round, on `backend`.
    pub fn signing(
        transport: &Transport,
        request: [u8; 32],
        round: u32,
        signers: BTreeSet<AccountId>,
        backend: BackendKind,
    ) -> Self {
        let tag = match backend {
            BackendKind::Synedrion => Tag::Signing { request, round },
            BackendKind::Dkls23 => Tag::DklsSigning { request, round },
        };
        Self {
            transport: transport.clone(),
            tags: vec![tag],
            participants: signers,
        }
    }
}

impl Network for ProtocolNet {
    fn open(&self, _me: AccountId, protocol_session: &manul::session::SessionId) -> Channels {
        let network = self.transport.network();
        let tag = self
            .tags
            .iter()
            .find(|t| t.protocol_session_id(&network) == protocol_session.as_ref())
            .copied();
        match tag {
            Some(tag) => self.transport.open_protocol_session(tag, self.participants.clone()),
            None => {
                warn!("a protocol opened a session this attempt does not know; it will get no messages");
                let (outgoing, _) = mpsc::channel(1);
                let (_, incoming) = mpsc::channel(1);
                Channels { outgoing, incoming }
            }
        }
    }
}
