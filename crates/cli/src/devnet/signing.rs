//! The signatures the devnet asks for: a message for the demo account, signed by the TSSs with
//! its child key and verified here against the child key derived from the chain's parent key.

use std::time::Instant;

use keywheel_chain::AccountId;
use keywheel_mpc::PartySigner;
use keywheel_rpc::sign_request::ToSign;
use keywheel_rpc::KeywheelApiClient;
use tokio::task::JoinHandle;

use super::processes::{Names, Processes};
use super::progress::Progress;
use super::summary::{Report, SignatureSummary};
use crate::client;

/// A signature asked for while the scenario goes on following the chain: a signature can take
/// minutes on a busy machine (a round that times out and another one), and a scenario blocked on
/// it reads the chain's events so late that the chain has finished the next rotation meanwhile
/// — it would then arm a fault "between rotations" that are long over, and check a rotation
/// against a committee that has moved on.
pub struct PendingSignature {
    task: JoinHandle<SignatureSummary>,
    /// The `--fault` (its index in the summary's faults) it was asked for during, if any.
    pub during_fault: Option<usize>,
}

impl PendingSignature {
    /// Starts asking for a signature for the demo account, `after` the jumpstart, a rotation or
    /// a fault, through the TSSs (a different one first each time), on a connection of its own
    /// to the node (the node may be restarting: it is waited for).
    pub fn start(
        procs: &Processes,
        http: &reqwest::Client,
        report: &Report,
        progress: &Progress,
        after: &str,
        during_fault: Option<usize>,
    ) -> Self {
        let request = Request::new(procs, http, report, progress, after);
        let url = procs.node_url.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            loop {
                match client::connect(&url).await {
                    Ok(node) => return request.sign(&node).await,
                    Err(e) if started.elapsed() > std::time::Duration::from_secs(60) => {
                        return request.failed(0, 0, &e)
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                }
            }
        });
        Self { task, during_fault }
    }

    /// Whether the signature is done (or failed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the signature and records it (and, for a fault's, whether it verified in that
    /// fault's summary entry).
    pub async fn finish(self, report: &mut Report) {
        let entry = self.task.await.unwrap_or_else(|e| SignatureSummary {
            session: 0,
            after: "fault".into(),
            child_address: None,
            verified: false,
            signers: Vec::new(),
            ms: 0,
            error: Some(format!("the signing task ended: {e}")),
        });
        if let Some(fault) = self.during_fault.and_then(|i| report.faults.get_mut(i)) {
            fault.signed_during = Some(entry.verified);
        }
        report.signatures.push(entry);
    }
}

/// What one signature needs, owned (so it can run as a task of its own).
struct Request {
    urls: Vec<String>,
    http: reqwest::Client,
    user: PartySigner,
    names: Names,
    progress: Progress,
    after: String,
}

impl Request {
    fn new(procs: &Processes, http: &reqwest::Client, report: &Report, progress: &Progress, after: &str) -> Self {
        let mut urls = procs.api_urls();
        if !urls.is_empty() {
            let n = report.signatures.len() % urls.len();
            urls.rotate_left(n);
        }
        Self {
            urls,
            http: http.clone(),
            user: procs.user.clone(),
            names: procs.directory(),
            progress: progress.clone(),
            after: after.into(),
        }
    }

    async fn sign(&self, node: &keywheel_rpc::jsonrpsee::ws_client::WsClient) -> SignatureSummary {
        let session = node.status().await.map(|s| s.session).unwrap_or_default();
        let message = format!("keywheel devnet: signed in session {session}, after the {}", self.after);
        let started = Instant::now();
        let result = client::sign(
            node,
            &self.http,
            &self.urls,
            &self.user,
            ToSign::Message(message.into_bytes()),
        )
        .await;
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(v) => {
                self.progress.signed();
                self.progress.log(format!(
                    "  signed by {} in {:.1} s, verified: child address {}",
                    self.names.names(&v.response.signers),
                    ms as f64 / 1000.0,
                    v.child_address
                ));
                SignatureSummary {
                    session,
                    after: self.after.clone(),
                    child_address: Some(v.child_address),
                    verified: true,
                    signers: v.response.signers.iter().map(AccountId::to_ss58).collect(),
                    ms,
                    error: None,
                }
            }
            Err(e) => self.failed(session, ms, &e),
        }
    }

    fn failed(&self, session: u32, ms: u64, e: &anyhow::Error) -> SignatureSummary {
        self.progress.log(format!("  signing FAILED: {e:#}"));
        SignatureSummary {
            session,
            after: self.after.clone(),
            child_address: None,
            verified: false,
            signers: Vec::new(),
            ms,
            error: Some(format!("{e:#}")),
        }
    }
}
