//! The node's command line, shared by `keywheel-node` and `keywheel node`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use keywheel_chain::Params;

use crate::genesis::{GenesisBalance, GenesisConfig};
use crate::{keyfile, NodeConfig};

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Runs the node: produces blocks and serves JSON-RPC (WebSocket and HTTP on one port).
    Run {
        /// The genesis TOML file.
        #[arg(long)]
        genesis: PathBuf,
        /// Where the database lives (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// The author's key file [default: <data-dir>/author.key].
        #[arg(long)]
        author_key: Option<PathBuf>,
        /// JSON-RPC address (loopback by default).
        #[arg(long, default_value = crate::DEFAULT_RPC_ADDR)]
        rpc_addr: SocketAddr,
        /// Milliseconds between blocks.
        #[arg(long, default_value_t = 6000)]
        block_time_ms: u64,
    },
    /// Writes a dev genesis (`genesis.toml`) with fresh root and author keys (`root.key`,
    /// `author.key`, mode 0600) into a new directory.
    DevGenesis {
        /// The directory to create.
        #[arg(long)]
        out: PathBuf,
        /// The network's name.
        #[arg(long, default_value = "keywheel-dev")]
        name: String,
    },
}

/// Runs one node command until it ends (`run`: until SIGINT or SIGTERM).
pub async fn run(command: NodeCommand) -> anyhow::Result<()> {
    match command {
        NodeCommand::Run {
            genesis,
            data_dir,
            author_key,
            rpc_addr,
            block_time_ms,
        } => {
            let config = NodeConfig {
                genesis: GenesisConfig::load(&genesis)?,
                author_key: author_key.unwrap_or_else(|| data_dir.join("author.key")),
                data_dir,
                rpc_addr,
                block_time: Duration::from_millis(block_time_ms.max(1)),
            };
            let mut node = crate::start(config).await?;
            // A parent process that asked for port 0 learns the address from this line.
            println!("rpc {}", node.ws_url());
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                stopped = node.stopped() => {
                    stopped?;
                    anyhow::bail!("block production stopped");
                }
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            let status = node.stop().await?;
            tracing::info!(height = status.height, "stopped");
            Ok(())
        }
        NodeCommand::DevGenesis { out, name } => {
            std::fs::create_dir(&out).with_context(|| format!("create {} (it must not exist yet)", out.display()))?;
            let root = keyfile::generate(&out.join("root.key"))?;
            let author = keyfile::generate(&out.join("author.key"))?;
            let root = root.account();
            let config = GenesisConfig {
                name,
                root,
                author: author.account(),
                params: Params::default(),
                balances: vec![GenesisBalance {
                    account: root,
                    amount: 1_000_000_000_000,
                }],
                validators: Vec::new(),
            };
            let path = out.join("genesis.toml");
            std::fs::write(&path, config.to_toml()).with_context(|| format!("write {}", path.display()))?;
            println!("{}", path.display());
            Ok(())
        }
    }
}
