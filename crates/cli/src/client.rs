//! Talking to a running network as a user does: the node over JSON-RPC, a TSS over HTTP. Every
//! signature a TSS returns is checked here against the parent key from the chain before it is
//! believed.

use std::time::Duration;

use anyhow::{bail, Context};
use keywheel_chain::AccountId;
use keywheel_mpc::PartySigner;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignRequest, SignResponse, ToSign};
use keywheel_rpc::{Bytes, Extrinsic, Inclusion, KeywheelApiClient, RuntimeCall};
use rand_core::{OsRng, RngCore};

/// The node a command talks to unless told otherwise (the devnet's and `keywheel node`'s default).
pub const DEFAULT_NODE: &str = "ws://127.0.0.1:9944";
/// The TSS API a command talks to unless told otherwise (the devnet's first TSS).
pub const DEFAULT_TSS: &str = "http://127.0.0.1:8100";
/// How long a sign request stays valid: the most a TSS accepts (`MAX_VALIDITY`, 600 s) less a
/// margin for clocks that differ. Rounds at large thresholds need it: a TSS keeps one round
/// timeout for each later round (96 s each at t = 10, 186 s while a reshare is in flight).
pub const REQUEST_VALIDITY_MS: u64 = 590_000;
/// How long one TSS may take to answer a sign request: the request's validity (the TSS
/// retries rounds itself within it, and a round that progresses is not cut short) and a margin.
const SIGN_TIMEOUT: Duration = Duration::from_millis(REQUEST_VALIDITY_MS + 10_000);

/// The account an extrinsic is signed by.
pub fn account_of(signer: &PartySigner) -> AccountId {
    signer.account()
}

/// Connects to the node's WebSocket endpoint.
pub async fn connect(url: &str) -> anyhow::Result<WsClient> {
    keywheel_rpc::connect_ws(url)
        .await
        .with_context(|| format!("cannot reach the node at {url}: is it running? (--node)"))
}

/// Signs `call` as `who` with its next nonce and waits until the block holding it is sealed.
pub async fn submit(client: &WsClient, who: &PartySigner, call: RuntimeCall) -> anyhow::Result<Inclusion> {
    let genesis_hash = client
        .status()
        .await
        .context("ask the node for its status")?
        .genesis_hash;
    let nonce = client
        .next_nonce(account_of(who))
        .await
        .context("ask the node for the account's nonce")?;
    let extrinsic = Extrinsic::sign(who, genesis_hash, nonce, call);
    client
        .submit_and_wait(Bytes(extrinsic.encode()))
        .await
        .map_err(|e| anyhow::anyhow!("{}", rpc_message(&e)))
}

/// What a node's error says, without the JSON-RPC wrapping.
pub fn rpc_message(error: &keywheel_rpc::jsonrpsee::core::ClientError) -> String {
    match error {
        keywheel_rpc::jsonrpsee::core::ClientError::Call(object) => object.message().to_owned(),
        other => format!("the node could not be asked: {other}"),
    }
}

/// A signature a TSS returned and this process verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// What the TSS answered.
    pub response: SignResponse,
    /// The child address derived here from the parent key (equal to the one the TSS named).
    pub child_address: String,
    /// The TSS API that answered.
    pub via: String,
}

/// Asks the TSS APIs in `tss_urls`, in turn, to sign `what` for `user`, and verifies the answer
/// against the parent key on chain: the signature must verify under the child key derived from
/// it, `v` must recover that key, and the signed bytes must be the request's. A TSS that cannot
/// sign now (unreachable, 5xx) is skipped, and the next is sent a fresh request; a refusal of
/// the request itself (4xx) ends the call.
pub async fn sign(
    node: &WsClient,
    http: &reqwest::Client,
    tss_urls: &[String],
    user: &PartySigner,
    what: ToSign,
) -> anyhow::Result<Verified> {
    let account = account_of(user);
    let status = node.status().await.context("ask the node for its status")?;
    let Some(parent) = node.parent_key().await.context("ask the node for the parent key")? else {
        bail!("the network has no parent key yet: it has not been jumpstarted");
    };
    if node
        .registry(account)
        .await
        .context("ask the node for the registry")?
        .is_none()
    {
        bail!("{account} is not registered for signing: run `keywheel register` first");
    }
    let mut failures = Vec::new();
    for url in tss_urls {
        // A fresh request for each TSS: one asked before may have remembered the last one (and
        // its signers refuse a request they have seen), whether or not it answered.
        let mut request_id = [0u8; 16];
        OsRng.fill_bytes(&mut request_id);
        let request = SignRequest::new(
            user,
            status.genesis_hash,
            what.clone(),
            request_id,
            now_ms() + REQUEST_VALIDITY_MS,
        );
        let prehash = request.prehash().map_err(|e| anyhow::anyhow!("{e}"))?;
        let endpoint = format!("{}/v1/sign", url.trim_end_matches('/'));
        let reply = match http.post(&endpoint).json(&request).timeout(SIGN_TIMEOUT).send().await {
            Ok(reply) => reply,
            Err(e) => {
                failures.push(format!("{url}: {e}"));
                continue;
            }
        };
        let code = reply.status();
        let retry_after = reply
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!(" (it suggests retrying in {v} s)"))
            .unwrap_or_default();
        let body = reply.text().await.unwrap_or_default();
        if code.is_client_error() {
            bail!(
                "{url} refused the request ({code}): {}{retry_after}",
                error_message(&body)
            );
        }
        if !code.is_success() {
            failures.push(format!("{url} ({code}): {}{retry_after}", error_message(&body)));
            continue;
        }
        let response: SignResponse =
            serde_json::from_str(&body).with_context(|| format!("{url} answered something that is not a signature"))?;
        if response.prehash != prehash {
            bail!("{url} signed other bytes than the request's");
        }
        let child_address = verify_reply(&parent.0, &account, &prehash, &response.signature)
            .map_err(|e| anyhow::anyhow!("{url} returned a signature that does not check out: {e}"))?;
        if child_address != response.address {
            bail!(
                "{url} named the child address {}, but the key is {child_address}",
                response.address
            );
        }
        return Ok(Verified {
            response,
            child_address,
            via: url.clone(),
        });
    }
    bail!("no TSS could sign: {}", failures.join("; "))
}

/// A TSS's `GET /v1/status`, or `None` if it does not answer with one.
pub async fn tss_status(http: &reqwest::Client, url: &str) -> Option<keywheel_tss::api::TssStatus> {
    http.get(format!("{url}/v1/status"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// The `message` of a TSS error body, or the body itself.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_for_their_message() {
        assert_eq!(
            error_message(r#"{"error":{"code":"replay","message":"request seen before"}}"#),
            "request seen before"
        );
        assert_eq!(error_message(" plain text \n"), "plain text");
    }
}
