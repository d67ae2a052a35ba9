//! The HTTP API: `POST /v1/sign`, `GET /v1/status`, `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keywheel_chain::AccountId;
use serde::{Deserialize, Serialize};

use keywheel_rpc::sign_request::{SignError, SignRequest, MAX_VALIDITY};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::keystore::{RetiredInfo, Slot, SlotInfo};
use crate::orchestrator::Orchestrator;
use crate::resources::Resources;
use crate::signing::Signing;

/// The largest request body the API reads.
const MAX_BODY: usize = 256 * 1024;
/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long any call may take: a sign request's longest wait for a turn (its validity, at
/// most `MAX_VALIDITY`) and its rounds fit inside it.
const CALL_TIMEOUT: Duration = Duration::from_secs(MAX_VALIDITY.as_secs() + 60);

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
    /// Why key actions are halted, if they are (the node is behind, forked or foreign).
    #[serde(default)]
    pub halted: Option<String>,
    /// The retired shares it keeps (shares of sharings the chain no longer uses).
    #[serde(default)]
    pub retired: Vec<RetiredInfo>,
}

/// The error body of every failed call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable short name.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// What the API serves from: the TSS's resources and the subsystems it asks.
#[derive(Clone)]
pub struct ApiState {
    res: Arc<Resources>,
    orchestrator: Arc<Orchestrator>,
    signing: Arc<Signing>,
}

impl ApiState {
    /// The state of an API over these subsystems.
    pub(crate) fn new(res: Arc<Resources>, orchestrator: Arc<Orchestrator>, signing: Arc<Signing>) -> Self {
        Self {
            res,
            orchestrator,
            signing,
        }
    }
}

/// The HTTP status of a sign error.
fn http_status(e: &SignError) -> u16 {
    match e {
        SignError::Malformed(_) | SignError::Expiry(_) => 400,
        SignError::BadSignature(_) => 401,
        SignError::Unregistered(_) => 403,
        SignError::Replay => 409,
        SignError::Unavailable(_) | SignError::Busy { .. } => 503,
        SignError::Quota { .. } => 429,
        SignError::Failed(_) => 502,
    }
}

/// The stable short name of a sign error in the error body.
fn code(e: &SignError) -> &'static str {
    match e {
        SignError::Malformed(_) => "malformed",
        SignError::BadSignature(_) => "bad_signature",
        SignError::Expiry(_) => "expiry",
        SignError::Replay => "replay",
        SignError::Unregistered(_) => "unregistered",
        SignError::Unavailable(_) => "unavailable",
        SignError::Failed(_) => "failed",
        SignError::Busy { .. } => "busy",
        SignError::Quota { .. } => "quota",
    }
}

fn sign_error(e: &SignError) -> Response {
    let mut response = error(http_status(e), code(e), e.to_string());
    if let Some(seconds) = e.retry_after_s() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
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
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/sign", post(sign))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            CALL_TIMEOUT,
        ))
        .with_state(state)
}

async fn sign(State(state): State<ApiState>, body: Result<Json<SignRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                413,
                "too_large",
                format!("the request body is over {MAX_BODY} bytes: send a message's hash instead"),
            );
        }
        Err(rejection) => return sign_error(&SignError::Malformed(rejection.body_text())),
    };
    match state.signing.coordinate(request).await {
        Ok(response) => Json(response).into_response(),
        Err(e) => sign_error(&e),
    }
}

async fn status(State(state): State<ApiState>) -> Response {
    let slots = {
        let keystore = state.res.keystore();
        keystore
            .info(Slot::Current)
            .and_then(|c| Ok((c, keystore.info(Slot::Next)?, keystore.retired()?)))
    };
    let (current, next, retired) = match slots {
        Ok(slots) => slots,
        Err(e) => return error(500, "keystore", e.to_string()),
    };
    let attempts = state.orchestrator.status();
    Json(TssStatus {
        account: state.res.identity.account(),
        x25519: state.res.identity.x25519_public(),
        peer_addr: state.res.transport.local_addr().to_string(),
        current,
        next,
        chain_session: attempts.chain_session,
        running: attempts.running,
        last_attempt: attempts.last.and_then(|l| serde_json::to_value(l).ok()),
        halted: state.res.halted(),
        retired,
    })
    .into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.res.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_when_to_retry_and_other_errors_do_not() {
        let busy = sign_error(&SignError::Busy {
            reason: "full".into(),
            retry_after_s: 7,
        });
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "7");
        let quota = sign_error(&SignError::Quota {
            account: AccountId([1; 32]),
            retry_after_s: 3,
        });
        assert_eq!(quota.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(quota.headers()[header::RETRY_AFTER], "3");
        let failed = sign_error(&SignError::Failed("no".into()));
        assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
        assert!(failed.headers().get(header::RETRY_AFTER).is_none());
    }
}
