//! The signatures the devnet asks for: a message for the demo account, signed by the TSSs with
//! its child key and verified here against the child key derived from the chain's parent key.

use std::time::Instant;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::ToSign;
use keywheel_rpc::KeywheelApiClient;

use super::follow::NodeConnection;
use super::processes::Processes;
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
    let mut urls = procs.api_urls();
    if !urls.is_empty() {
        let n = report.signatures.len() % urls.len();
        urls.rotate_left(n);
    }
    let session = node.client.status().await.map(|s| s.session).unwrap_or_default();
    let message = format!("keywheel devnet: signed in session {session}, after the {after}");
    let started = Instant::now();
    let result = client::sign(
        &node.client,
        http,
        &urls,
        &procs.user,
        ToSign::Message(message.into_bytes()),
    )
    .await;
    let ms = started.elapsed().as_millis() as u64;
    let entry = match result {
        Ok(v) => {
            progress.signed();
            progress.log(format!(
                "  signed by {} in {:.1} s, verified: child address {}",
                procs.names(&v.response.signers),
                ms as f64 / 1000.0,
                v.child_address
            ));
            SignatureSummary {
                session,
                after: after.into(),
                child_address: Some(v.child_address),
                verified: true,
                signers: v.response.signers.iter().map(AccountId::to_ss58).collect(),
                ms,
                error: None,
            }
        }
        Err(e) => {
            progress.log(format!("  signing FAILED: {e:#}"));
            SignatureSummary {
                session,
                after: after.into(),
                child_address: None,
                verified: false,
                signers: Vec::new(),
                ms,
                error: Some(format!("{e:#}")),
            }
        }
    };
    report.signatures.push(entry);
}
