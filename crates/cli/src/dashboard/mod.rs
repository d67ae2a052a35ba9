//! `keywheel dashboard`: a web page of the network, live. Its own server follows the node over
//! WebSocket and asks the TSSs for their status and metrics ([`watch`]), turns what it knows into
//! one JSON view ([`snapshot`]), and serves that with the page ([`server`]), whose script and
//! style are embedded in the binary. The devnet starts one; an operator runs one against any
//! node and the TSS APIs they can reach.

pub mod history;
pub mod server;
pub mod snapshot;
pub mod tss;
pub mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use keywheel_chain::AccountId;

use crate::client::DEFAULT_NODE;
use watch::Shared;

/// Where the dashboard listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8800";
/// The most TSS APIs one dashboard asks.
const MAX_TSS: usize = 64;

/// `keywheel dashboard`
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// The node's WebSocket RPC.
    #[arg(long, default_value = DEFAULT_NODE)]
    pub node: String,
    /// A TSS HTTP API to watch (repeat for each; its status and metrics are read by the
    /// dashboard's server, never by the browser).
    #[arg(long = "tss", value_name = "URL")]
    pub tss: Vec<String>,
    /// Where to serve the page (loopback unless you mean to share it).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// A host name the page is opened under (repeat for each). Without one, requests must name
    /// `localhost` or an IP address: a page of another site re-pointed at this address (DNS
    /// rebinding) is refused.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
}

/// What a dashboard watches.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's WebSocket URL.
    pub node: String,
    /// TSS APIs, each with the TSS account it must answer as, if known.
    pub tss: Vec<(String, Option<AccountId>)>,
    /// Names to show for accounts.
    pub names: BTreeMap<AccountId, String>,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Host names it answers for besides `localhost` and IP addresses.
    pub allow_hosts: Vec<String>,
}

/// Starts the dashboard's tasks and server on the current runtime; returns the address it
/// listens on. They run until the process ends.
pub async fn start(config: Config) -> anyhow::Result<SocketAddr> {
    if config.tss.len() > MAX_TSS {
        anyhow::bail!(
            "a dashboard watches at most {MAX_TSS} TSS APIs; {} were given",
            config.tss.len()
        );
    }
    for (url, _) in &config.tss {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("`{url}` is not a TSS API URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("`{url}` is not a TSS API URL: it must start with http:// or https://");
        }
    }
    if !(config.node.starts_with("ws://") || config.node.starts_with("wss://")) {
        anyhow::bail!(
            "`{}` is not a node URL: it must start with ws:// or wss://",
            config.node
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "the dashboard cannot listen on {} (in use? pass another address)",
            config.listen
        )
    })?;
    let addr = listener.local_addr()?;
    let shared = Shared::new(config.node, config.tss, config.names);
    tokio::spawn(watch::follow_node(shared.clone()));
    tokio::spawn(watch::watch_tss(shared.clone()));
    let app = server::router(shared, config.allow_hosts);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the dashboard's server stopped: {e}");
        }
    });
    Ok(addr)
}

/// Runs `keywheel dashboard` until interrupted.
pub async fn run(args: DashboardArgs) -> anyhow::Result<()> {
    let addr = start(Config {
        node: args.node.clone(),
        tss: args.tss.into_iter().map(|url| (url, None)).collect(),
        names: BTreeMap::new(),
        listen: args.listen,
        allow_hosts: args.allow_hosts,
    })
    .await?;
    println!("dashboard http://{addr}  (node {})", args.node);
    tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
    Ok(())
}
