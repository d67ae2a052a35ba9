//! Signing for users' child keys.
//!
//! A user signs a [`SignRequest`] with its sr25519 account key and posts it to any TSS. That
//! TSS — the coordinator (`coordinator`) — checks it, picks `t` signers of the current
//! committee from the request's hash (`committee`), and sends each a signing job. Every signer
//! (`signer`) checks the request itself (the user's signature, its expiry, that the account is
//! registered on chain, its own replay cache (`replay`), that the signers are `t` members of
//! the current committee including itself — any `t` members may sign an authorised request,
//! so it does not check that they are the coordinator's deterministic pick), runs synedrion's
//! signing on the account's BIP32 child of its share, and answers the coordinator. The
//! coordinator checks the signature against the child key derived from the parent key alone
//! before it answers.
//!
//! A round that fails (a signer silent, or a rotation happened in between) is retried as a new
//! round — a new signing protocol session — on the committee the chain names then, without the
//! signers that did not answer.
//!
//! Members the peer transport cannot reach (its last dial failed) are left out of the pick
//! while enough others remain, and probed so that one that is back is picked again; a round
//! whose signer turns out unreachable after its job was sent ends at once instead of waiting
//! out [`ROUND_TIMEOUT`].

mod committee;
mod coordinator;
mod replay;
mod signer;

use std::sync::Arc;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::{SignError, SignRequest, SignResponse};
use tokio::sync::mpsc;

pub use committee::{choose_signers, MAX_ROUNDS, ROUND_TIMEOUT};
pub use replay::ReplayCache;

use crate::resources::Resources;
use crate::wire::Frame;
use coordinator::Coordinator;
use signer::Signer;

/// The signing subsystem of one TSS: the coordinator of the requests users send it, and the
/// signer that runs the jobs coordinators send it.
pub struct Signing {
    res: Arc<Resources>,
    coordinator: Arc<Coordinator>,
    signer: Arc<Signer>,
}

impl Signing {
    /// A signing subsystem over the TSS's resources.
    pub(crate) fn new(res: Arc<Resources>) -> Self {
        let signer = Arc::new(Signer::new(res.clone()));
        Self {
            coordinator: Arc::new(Coordinator::new(res.clone(), signer.clone())),
            signer,
            res,
        }
    }

    /// Handles the control frames peers send (signing jobs and their outcomes) until the
    /// transport stops.
    pub(crate) async fn serve(&self, mut control: mpsc::Receiver<(AccountId, Frame)>) {
        while let Some((from, frame)) = control.recv().await {
            match frame {
                Frame::SignJob(job) => {
                    let (signer, res) = (self.signer.clone(), self.res.clone());
                    tokio::spawn(async move {
                        let outcome = signer.run_job(from, &job).await;
                        res.transport.send(from, &Frame::SignOutcome(outcome)).await;
                    });
                }
                Frame::SignOutcome(outcome) => self.coordinator.deliver(from, outcome).await,
                Frame::Protocol { .. } => {}
            }
        }
    }

    /// Coordinates a user's request until a signature that verifies under the account's child
    /// key, or an error.
    pub async fn coordinate(&self, request: SignRequest) -> Result<SignResponse, SignError> {
        self.coordinator.coordinate(request).await
    }
}
