//! `keywheel`: the one binary. `devnet` runs a whole network on this machine; `node` and `tss`
//! run one part of a network from its configuration; `account`, `register`, `sign`, `status` and
//! `dashboard` are what users and operators run against a network.

mod bench;
mod client;
mod commands;
mod dashboard;
mod devnet;
mod phase;

use clap::{Parser, Subcommand};
use keywheel_node::cli::NodeCommand;
use keywheel_tss::cli::TssCommand;

#[derive(Parser)]
#[command(
    name = "keywheel",
    version,
    about = "keywheel: a threshold signing network whose committee rotates while its key stays"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole network here: a dev node and one TSS per validator as separate processes,
    /// jumpstart, sign, rotate the committee, sign again, and report.
    Devnet(devnet::DevnetArgs),
    /// Run the dev chain node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Run a Threshold Signature Server.
    #[command(subcommand)]
    Tss(TssCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    Account(commands::AccountCommand),
    /// Register an account for signing with its child key.
    Register(commands::RegisterArgs),
    /// Sign a message with an account's child key; prints r, s, v and the child address.
    Sign(commands::SignArgs),
    /// Show the chain's session, committee, reshare in flight and slashes.
    Status(commands::StatusArgs),
    /// Serve a live web dashboard of a running network (the devnet starts one itself).
    Dashboard(dashboard::DashboardArgs),
    /// Measure a running network (signing throughput and latency under load).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: the devnet's log files must hold plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Node(command) => {
            init_logging("info");
            keywheel_node::cli::run(command).await
        }
        Command::Tss(command) => {
            init_logging("info");
            keywheel_tss::cli::run(command).await
        }
        other => {
            init_logging("warn");
            match other {
                Command::Devnet(args) => devnet::run(args).await,
                Command::Account(command) => commands::account(command),
                Command::Register(args) => commands::register(args).await,
                Command::Sign(args) => commands::sign(args).await,
                Command::Status(args) => commands::status(args).await,
                Command::Bench(command) => bench::run(command).await,
                Command::Dashboard(args) => dashboard::run(args).await,
                Command::Node(_) | Command::Tss(_) => unreachable!("matched above"),
            }
        }
    }
}
