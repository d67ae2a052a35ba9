//! The signatures the devnet asks for: a message for the demo account, signed by the TSSs with
//! its child key and verified here against the child key derived from the chain's parent key.

use std::time::Instant;

use keywheel_chain::AccountId;
use keywheel_mpc::PartySigner;
use keywheel_rpc::sign_request::ToSign;
use keywheel_rpc::KeywheelApiClient;
use tokio::task::JoinHandle;

use super::follow::NodeConnection;
use super::processes::{Names, Processes};
use super::progress::Progress;
use super::summary::{Report, SignatureSummary};
use crate::client;

/// Signs a message for the demo account through the TSSs (a different one first each time) and
/// records whether the signature verified here.
pub async fn sign(
    procs: &Processes,
    node: &NodeConnection,
    http: &reqwest::Client,
    report: &mut Report,
    progress: &Progress,
    after: &str,
) {
    let request = Request::new(procs, http, report, progress, after);
    let entry = request.sign(&node.client).await;
    report.signatures.push(entry);
}

/// A signature asked for while the scenario goes on following the chain (during a fault, whose
/// attempts the scenario must follow meanwhile: a signature can take minutes on a busy machine,
/// and events read that late would be checked against a chain that has moved on).
pub struct PendingSignature(JoinHandle<SignatureSummary>);

impl PendingSignature {
    /// Starts asking for a signature on a connection of its own to the node.
    pub fn start(procs: &Processes, http: &reqwest::Client, report: &Report, progress: &Progress, after: &str) -> Self {
        let request = Request::new(procs, http, report, progress, after);
        let url = procs.node_url.clone();
        Self(tokio::spawn(async move {
            match client::connect(&url).await {
                Ok(node) => request.sign(&node).await,
                Err(e) => request.failed(0, 0, &e),
            }
        }))
    }

    /// Waits for the signature and records it; returns whether it verified.
    pub async fn finish(self, report: &mut Report) -> bool {
        let entry = self.0.await.unwrap_or_else(|e| SignatureSummary {
            session: 0,
            after: "fault".into(),
            child_address: None,
            verified: false,
            signers: Vec::new(),
            ms: 0,
            error: Some(format!("the signing task ended: {e}")),
        });
        let verified = entry.verified;
        report.signatures.push(entry);
        verified
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
