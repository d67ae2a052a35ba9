//! The TSS's command line, shared by `keywheel-tss` and `keywheel tss`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::identity::Identity;
use crate::TssConfig;

#[derive(Subcommand)]
pub enum TssCommand {
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
        /// Devnet fault injection: misbehave in a rotation attempt as this file says when the
        /// attempt starts (`silent`, `malicious`; absent or empty: honest).
        #[cfg(feature = "fault-injection")]
        #[arg(long, hide = true)]
        fault_file: Option<PathBuf>,
    },
}

/// Runs one TSS command until it ends (`run`: until SIGINT or SIGTERM).
pub async fn run(command: TssCommand) -> anyhow::Result<()> {
    match command {
        TssCommand::Init { data_dir } => {
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
        TssCommand::Run {
            config,
            data_dir,
            node,
            p2p,
            api,
            key_file,
            #[cfg(feature = "fault-injection")]
            fault_file,
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
            #[cfg(feature = "fault-injection")]
            if let Some(path) = fault_file {
                tracing::warn!(
                    file = %path.display(),
                    "fault injection: this TSS misbehaves in rotations when this file says so"
                );
                cfg.fault = Some(crate::fault::FaultSwitch::new(path));
            }
            let handle = crate::start(cfg).await?;
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
