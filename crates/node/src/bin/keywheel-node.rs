//! `keywheel-node`: run the dev chain from a genesis file, or write a dev genesis to start from.
//! (`keywheel node` is the same command line.)

use clap::Parser;
use keywheel_node::cli::NodeCommand;

#[derive(Parser)]
#[command(version, about = "keywheel's dev chain node")]
struct Cli {
    #[command(subcommand)]
    command: NodeCommand,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    keywheel_node::cli::run(Cli::parse().command).await
}
