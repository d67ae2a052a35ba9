//! keywheel's JSON-RPC API and the wire types that cross process boundaries, shared by the
//! node (server), the TSS and the CLI (clients).
//!
//! - [`api`]: the API, defined once; jsonrpsee generates [`KeywheelApiServer`] and the typed
//!   [`KeywheelApiClient`] (over WebSocket or HTTP) from it;
//! - [`extrinsic`]: signed, nonce-carrying calls and their binary form;
//! - [`block`]: block headers and bodies, and the check of a block's VRF randomness;
//! - [`types`]: the answers of queries;
//! - [`error`]: stable error codes, each with a message that says what to do;
//! - [`keyfile`]: secret seeds in owner-only files (node, TSS and CLI keys);
//! - [`loopback`]: loopback ports picked before their process binds them;
//! - [`sign_request`]: what a user asks a TSS to sign, the answer, and its check against the
//!   parent key alone.
//!
//! JSON shows accounts as SS58 addresses and bytes as `0x` hex (see
//! [`keywheel_chain::encoding`]).

pub mod api;
pub mod block;
pub mod error;
pub mod extrinsic;
pub mod keyfile;
pub mod loopback;
pub mod sign_request;
pub mod types;

pub use api::{KeywheelApiClient, KeywheelApiServer};
pub use block::{Block, EventRecord, Header, Phase};
pub use error::{ErrorCode, RpcError};
pub use extrinsic::{Extrinsic, ExtrinsicError, RuntimeCall, MAX_EXTRINSIC_SIZE};
pub use types::*;

pub use jsonrpsee;
pub use keywheel_chain as chain;

use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};

/// Largest JSON-RPC request the node accepts and clients send (a hex-encoded extrinsic of
/// [`MAX_EXTRINSIC_SIZE`] plus the envelope).
pub const MAX_REQUEST_BYTES: u32 = 2 * MAX_EXTRINSIC_SIZE as u32 + 64 * 1024;

/// Largest JSON-RPC response (a block full of extrinsics).
pub const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

/// Connects a typed WebSocket client (queries, submissions and subscriptions) to `url`, e.g.
/// `ws://127.0.0.1:9944`.
pub async fn connect_ws(url: &str) -> Result<WsClient, jsonrpsee::core::ClientError> {
    WsClientBuilder::default()
        .max_request_size(MAX_REQUEST_BYTES)
        .max_response_size(MAX_RESPONSE_BYTES)
        .request_timeout(std::time::Duration::from_secs(120))
        .build(url)
        .await
}

/// A typed HTTP client (queries and submissions, no subscriptions) for `url`, e.g.
/// `http://127.0.0.1:9944`.
pub fn http_client(url: &str) -> Result<HttpClient, jsonrpsee::core::ClientError> {
    HttpClientBuilder::default()
        .max_request_size(MAX_REQUEST_BYTES)
        .max_response_size(MAX_RESPONSE_BYTES)
        .request_timeout(std::time::Duration::from_secs(120))
        .build(url)
}
