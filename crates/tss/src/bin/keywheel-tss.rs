//! `keywheel-tss`: the Threshold Signature Server.
//!
//! - `init --data-dir D`: makes the TSS's keys (if missing) and prints its account and x25519
//!   key, which the validator declares on chain;
//! - `run`: runs the TSS (configuration from `--config`, overridden by flags).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use keywheel_tss::identity::Identity;
use keywheel_tss::TssConfig;

#[derive(Parser)]
#[command(name = "keywheel-tss", about = "keywheel's Threshold Signature Server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the TSS's keys (if missing) and print its account and transport key as JSON.
    Init {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Run the TSS.
    Run {
        /// A TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The data directory (keys and keystore).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The node's WebSocket address.
        #[arg(long)]
        node: Option<String>,
        /// Where peers connect (the endpoint declared on chain).
        #[arg(long)]
        p2p: Option<SocketAddr>,
        /// Where the HTTP API listens.
        #[arg(long)]
        api: Option<SocketAddr>,
        /// The keystore's key file (else KEYWHEEL_TSS_PASSPHRASE, else one made in the data dir).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Init { data_dir } => {
            std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
            let identity = Identity::load_or_generate(&data_dir)?;
            println!(
                "{}",
                serde_json::json!({
                    "account": identity.account().to_ss58(),
                    "x25519": format!("0x{}", hex::encode(identity.x25519_public())),
                })
            );
            Ok(())
        }
        Command::Run {
            config,
            data_dir,
            node,
            p2p,
            api,
            key_file,
        } => {
            let mut cfg = match config {
                Some(path) => TssConfig::from_file(&path)?,
                None => TssConfig::default(),
            };
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            if let Some(n) = node {
                cfg.node_url = n;
            }
            if let Some(p) = p2p {
                cfg.p2p_listen = p;
            }
            if let Some(a) = api {
                cfg.api_listen = a;
            }
            if key_file.is_some() {
                cfg.keystore_key_file = key_file;
            }
            let handle = keywheel_tss::start(cfg).await?;
            println!("api {}", handle.api_addr());
            wait_for_stop().await;
            handle.stop();
            Ok(())
        }
    }
}

async fn wait_for_stop() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
