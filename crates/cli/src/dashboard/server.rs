//! The dashboard's HTTP server: the page and its script and style (embedded in the binary), the
//! state as JSON, and the child address lookup. Read-only; every other path or method is
//! refused, and the page may load nothing from anywhere else (its Content-Security-Policy says
//! so to the browser).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keywheel_chain::AccountId;
use keywheel_mpc::child_key::{eth_address, eth_address_string};
use keywheel_rpc::sign_request::now_ms;
use keywheel_rpc::KeywheelApiClient;
use serde_json::json;

use super::snapshot::snapshot;
use super::watch::Shared;
use crate::commands::child_key;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
const ICON: &str = include_str!("assets/icon.svg");

/// How long the lookup may wait for the node.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// What every handler reads.
#[derive(Clone)]
struct App {
    shared: Shared,
    /// Host names (besides `localhost` and IP addresses) the dashboard answers for.
    hosts: Arc<Vec<String>>,
}

/// The dashboard's routes over `shared`; it answers for `localhost`, IP addresses and `hosts`.
pub fn router(shared: Shared, hosts: Vec<String>) -> Router {
    let app = App {
        shared,
        hosts: Arc::new(hosts),
    };
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route("/app.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/icon.svg", get(|| async { asset("image/svg+xml", ICON) }))
        .route("/api/state", get(state))
        .route("/api/child", get(child))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            refuse(StatusCode::METHOD_NOT_ALLOWED, "the dashboard only answers GET")
        })
        .layer(axum::middleware::map_response(secure))
        .layer(axum::middleware::from_fn_with_state(app.clone(), known_host))
        .with_state(app)
}

/// Refuses a request whose `Host` is a name the dashboard was not told it has. A page of another
/// site whose name the attacker re-points at 127.0.0.1 (DNS rebinding) reaches this server as
/// that name, and so is refused; `localhost` and addresses cannot be re-pointed.
async fn known_host(State(app): State<App>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if host_allowed(host, &app.hosts) {
        next.run(request).await
    } else {
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "the dashboard answers for localhost and IP addresses only, not `{}` (a name could be \
                 another site re-pointed here); start it with --allow-host NAME to use a name",
                host.chars().take(100).collect::<String>()
            ),
        )
    }
}

/// Whether a `Host` header names this dashboard: an IP address, `localhost`, or one of `hosts`,
/// with or without a port.
pub fn host_allowed(host: &str, hosts: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    !name.is_empty()
        && (name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || hosts.iter().any(|h| h.eq_ignore_ascii_case(name)))
}

/// Headers on every answer: nothing from other origins, no framing, no sniffing, no caching.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found(uri: Uri) -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        format!(
            "no such page: {}; the dashboard serves /, /api/state and /api/child?account=",
            uri.path()
        ),
    )
}

async fn state(State(app): State<App>) -> Response {
    let body = snapshot(&app.shared.lock(), now_ms());
    Json(body).into_response()
}

/// `GET /api/child?account=<SS58 or 0x hex>`: the account's child key and address under the
/// parent key, and whether the account is registered for signing.
async fn child(State(app): State<App>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let Some(text) = query.get("account").map(|a| a.trim()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "name an account: /api/child?account=<SS58 address>",
        );
    };
    let account = match AccountId::from_str(text) {
        Ok(account) => account,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("`{}` is not an account: {e}", text.chars().take(80).collect::<String>()),
            )
        }
    };
    let (parent, node_url) = {
        let w = app.shared.lock();
        let parent = w.chain.as_ref().and_then(|c| c.committee.parent_key.clone());
        (parent, w.node.url.clone())
    };
    let Some(parent) = parent else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "no parent key yet: the network has not been jumpstarted (or the node was never reached)",
        );
    };
    let child = match child_key(&parent, &account) {
        Ok(child) => child,
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot derive the child key: {e:#}"),
            )
        }
    };
    let registered = registered(&node_url, account).await;
    Json(json!({
        "account": account,
        "path": keywheel_primitives::account_path(&account),
        "child_key": hex::encode(child.to_encoded_point(true).as_bytes()),
        "address": eth_address_string(&eth_address(&child)),
        "registered": registered.as_ref().ok(),
        "registered_error": registered.err(),
    }))
    .into_response()
}

/// Whether the node has `account` registered (over its HTTP JSON-RPC, on the same port).
async fn registered(node_url: &str, account: AccountId) -> Result<bool, String> {
    let http_url = node_url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let client = keywheel_rpc::http_client(&http_url).map_err(|e| format!("cannot reach the node: {e}"))?;
    match tokio::time::timeout(LOOKUP_TIMEOUT, client.registry(account)).await {
        Ok(Ok(path)) => Ok(path.is_some()),
        Ok(Err(e)) => Err(format!("the node did not answer: {e}")),
        Err(_) => Err(format!("the node did not answer within {LOOKUP_TIMEOUT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_localhost_and_names_given_are_this_dashboard() {
        let given = vec!["dash.example".to_string()];
        for host in [
            "127.0.0.1:8800",
            "127.0.0.1",
            "[::1]:8800",
            "localhost:8800",
            "LOCALHOST",
            "10.0.0.5:80",
        ] {
            assert!(host_allowed(host, &[]), "{host}");
        }
        assert!(host_allowed("dash.example:8800", &given));
        for host in [
            "evil.example:8800",
            "evil.example",
            "",
            ":8800",
            "127.0.0.1.evil.example:8800",
            "localhost.evil:1",
        ] {
            assert!(!host_allowed(host, &given), "{host}");
        }
    }
}
