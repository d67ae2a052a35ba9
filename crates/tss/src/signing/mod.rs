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
//! signers that did not answer. On DKLs23 a round also ends, without a fault, when a signer's
//! pairs are taken by a signing ahead in line (`pair_locks`); it is tried again as a new round.
//! A round that ends without a signature is called off at its signers, which end their jobs.
//!
//! Members the peer transport cannot reach (its last dial failed) are left out of the pick
//! while enough others remain, and probed so that one that is back is picked again; a round
//! whose signer turns out unreachable after its job was sent ends at once instead of waiting
//! out its timeout ([`round_timeout`], which grows with the threshold).

pub mod admission;
mod committee;
pub mod compute;
mod coordinator;
mod pair_locks;
mod replay;
mod signer;

use std::sync::Arc;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::{SignError, SignRequest, SignResponse};
use tokio::sync::mpsc;

pub use committee::{
    choose_signers, round_budget, round_timeout, DEFAULT_COUNTERPART_COST, MAX_ROUNDS, RESHARE_ALLOWANCE, ROUND_BASE,
    ROUND_SPAN,
};
pub use replay::ReplayCache;

use crate::resources::Resources;
use crate::wire::{Frame, SignFailure, SignOutcome};
use admission::{Admission, AdmissionLimits};
use compute::SigningRuntime;
use coordinator::Coordinator;
use signer::Signer;

/// The signing subsystem of one TSS: the coordinator of the requests users send it, and the
/// signer that runs the jobs coordinators send it.
pub struct Signing {
    res: Arc<Resources>,
    coordinator: Arc<Coordinator>,
    signer: Arc<Signer>,
    admission: Arc<Admission>,
}

impl Signing {
    /// A signing subsystem over the TSS's resources, admitting work within `limits`,
    /// computing on a runtime of its own with one thread per concurrent request, and timing
    /// rounds out by one signer's work for one counterpart, `per_counterpart`.
    pub(crate) fn new(
        res: Arc<Resources>,
        limits: AdmissionLimits,
        per_counterpart: std::time::Duration,
    ) -> std::io::Result<Self> {
        let admission = Arc::new(Admission::new(limits));
        let runtime = SigningRuntime::new(limits.running)?;
        let signer = Arc::new(Signer::new(res.clone(), runtime, per_counterpart));
        Ok(Self {
            coordinator: Arc::new(Coordinator::new(
                res.clone(),
                signer.clone(),
                admission.clone(),
                per_counterpart,
            )),
            signer,
            admission,
            res,
        })
    }

    /// Handles the control frames peers send (signing jobs and their outcomes) until the
    /// transport stops.
    pub(crate) async fn serve(&self, mut control: mpsc::Receiver<(AccountId, Frame)>) {
        while let Some((from, frame)) = control.recv().await {
            match frame {
                Frame::SignJob(job) => {
                    let (signer, res) = (self.signer.clone(), self.res.clone());
                    let slot = match self.admission.start_job(from) {
                        Ok(slot) => slot,
                        Err(refused) => {
                            self.res.metrics.sign_refused(refused.why);
                            let outcome = SignOutcome {
                                request: job.request.hash(&self.res.chain.genesis_hash()).unwrap_or_default(),
                                round: job.round,
                                result: Err(SignFailure::from(refused.error(job.request.account))),
                            };
                            self.res.transport.send(from, &Frame::SignOutcome(outcome)).await;
                            continue;
                        }
                    };
                    // Enrolled before the next frame is read: a call-off right behind the job
                    // finds it.
                    let enrolled = self.signer.enrol(from, &job);
                    tokio::spawn(async move {
                        let outcome = signer.run_job_telling(from, &job, enrolled).await;
                        drop(slot);
                        res.transport.send(from, &Frame::SignOutcome(outcome)).await;
                    });
                }
                Frame::SignOutcome(outcome) => self.coordinator.deliver(from, outcome),
                Frame::SignWorking(working) => self.coordinator.working(from, working),
                Frame::SignCancel(cancel) => self.signer.call_off(from, cancel),
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
