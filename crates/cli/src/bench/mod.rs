//! `keywheel bench`: measurements against real networks, never timed assertions in tests.
//!
//! - `load` ([`load`]): signing throughput and latency against a running network;
//! - `scale` ([`scale`]): a devnet per committee size, and what each phase costs there.

mod load;
mod scale;

use clap::Subcommand;

/// `keywheel bench` commands.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Signing throughput and latency at levels of concurrency, against a running network.
    Load(load::LoadArgs),
    /// A devnet per committee size: jumpstart, reshare and signing time, CPU and memory per TSS.
    Scale(scale::ScaleArgs),
}

/// Runs a `bench` command.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Load(args) => load::load(args).await,
        BenchCommand::Scale(args) => scale::scale(args).await,
    }
}
