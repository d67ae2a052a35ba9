//! `keywheel-tss`: the Threshold Signature Server (`keywheel tss` is the same command line).
//!
//! - `init --data-dir D`: makes the TSS's keys (if missing) and prints its account and x25519
//!   key, which the validator declares on chain;
//! - `run`: runs the TSS (configuration from `--config`, overridden by flags).

use clap::Parser;
use keywheel_tss::cli::TssCommand;

#[derive(Parser)]
#[command(name = "keywheel-tss", about = "keywheel's Threshold Signature Server")]
struct Cli {
    #[command(subcommand)]
    command: TssCommand,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    keywheel_tss::cli::run(Cli::parse().command).await
}
