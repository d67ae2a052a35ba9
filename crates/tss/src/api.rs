//! The HTTP API: `POST /v1/sign`, `GET /v1/status`, `GET /metrics`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keywheel_chain::AccountId;
use serde::{Deserialize, Serialize};

use crate::keystore::{Slot, SlotInfo};
use crate::orchestrator::AttemptReport;
use crate::service::Shared;
use crate::signing::{self, SignError, SignRequest};

/// The largest request body the API reads.
const MAX_BODY: usize = 256 * 1024;

/// What `GET /v1/status` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TssStatus {
    /// The TSS account.
    pub account: AccountId,
    /// Its x25519 transport key.
    #[serde(with = "keywheel_chain::encoding::hex_array")]
    pub x25519: [u8; 32],
    /// Where peers connect.
    pub peer_addr: String,
    /// The share it signs with.
    pub current: Option<SlotInfo>,
    /// The holding slot.
    pub next: Option<SlotInfo>,
    /// The chain session it saw last.
    pub chain_session: Option<u32>,
    /// The attempt whose protocol runs now, `(session, attempt)`.
    pub running: Option<(u32, u32)>,
    /// The last attempt it took part in, if it ended.
    pub last_attempt: Option<serde_json::Value>,
}

/// The error body of every failed call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable short name.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

fn error(status: u16, code: &str, message: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = ApiError {
        code: code.into(),
        message,
    };
    (status, Json(serde_json::json!({ "error": body }))).into_response()
}

/// The API's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/sign", post(sign))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

async fn sign(State(shared): State<Arc<Shared>>, body: Result<Json<SignRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                413,
                "too_large",
                format!("the request body is over {MAX_BODY} bytes: send a message's hash instead"),
            );
        }
        Err(rejection) => {
            let e = SignError::Malformed(rejection.body_text());
            return error(e.http_status(), e.code(), e.to_string());
        }
    };
    match signing::coordinate(&shared, request).await {
        Ok(response) => Json(response).into_response(),
        Err(e) => error(e.http_status(), e.code(), e.to_string()),
    }
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let slots = {
        let keystore = shared.keystore();
        keystore
            .info(Slot::Current)
            .and_then(|c| Ok((c, keystore.info(Slot::Next)?)))
    };
    let (current, next) = match slots {
        Ok(slots) => slots,
        Err(e) => return error(500, "keystore", e.to_string()),
    };
    let last: Option<AttemptReport> = shared.last_attempt.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Json(TssStatus {
        account: shared.identity.account(),
        x25519: shared.identity.x25519_public(),
        peer_addr: shared.transport.local_addr().to_string(),
        current,
        next,
        chain_session: *shared.chain_session.lock().unwrap_or_else(|p| p.into_inner()),
        running: shared.running(),
        last_attempt: last.and_then(|l| serde_json::to_value(l).ok()),
    })
    .into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}
