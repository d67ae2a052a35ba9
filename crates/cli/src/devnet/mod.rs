//! `keywheel devnet`: a whole network on this machine in one command. A dev node and one TSS per
//! validator run as separate processes on loopback; the devnet funds and bonds the validators in
//! genesis, jumpstarts the parent key, registers a demo account, signs, then waits for the
//! requested number of rotations — each a reshare in which the oldest member leaves and a
//! random validator joins — signing again after each. At the end it tries a departed member's
//! old share, checks every keystore still opens, and reports what it found.
//!
//! The modules, by concept: [`args`] (the options), [`processes`] (the node and TSS processes),
//! [`follow`] (the chain's events), [`scenario`] (the run, step by step), [`signing`],
//! [`checks`] (and the end of a run), [`summary`] (the report and the summary), [`faults`] (what
//! each `--fault` is and expects) and [`injection`] (doing them), with [`procs`] (one child
//! process), [`progress`] (the display) and [`old_share`] (the old-share trial).

mod args;
mod checks;
mod faults;
mod follow;
mod injection;
mod old_share;
mod processes;
mod procs;
mod progress;
mod rollback;
mod scenario;
mod signing;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

pub use args::DevnetArgs;
use checks::finish;
use processes::Processes;
use procs::tail;
use progress::Progress;
use scenario::scenario;
use summary::Report;

/// Runs the devprocs. Returns an error (a non-zero exit) if any check failed.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let params = args.params()?;
    let (dir, fresh) = prepare_dir(args.dir.as_deref())?;
    println!("devnet directory {}", dir.display());
    let names: Vec<String> = (0..args.validators).map(|i| format!("v{i}")).collect();
    let progress = Progress::new(&names);
    let mut procs = Processes::new(&args, &dir)?;
    let mut report = Report::default();

    let outcome = tokio::select! {
        outcome = scenario(&args, &params, &mut procs, &mut report, &progress) => Some(outcome),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(outcome) = outcome else {
        progress.finish();
        eprintln!("interrupted: stopping {} processes", procs.running());
        procs.stop_all();
        eprintln!(
            "every devnet process has stopped; logs and keys are in {}",
            dir.display()
        );
        std::process::exit(130);
    };
    if let Err(e) = &outcome {
        report.failures.push(format!("{e:#}"));
    }
    progress.stage("stopping the TSSs; trying a departed member's old share; checking every keystore");
    let summary = finish(&args, &mut procs, &mut report).await;
    progress.finish();
    procs.stop_all();
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("write the summary to {}", path.display()))?;
    }
    println!("\n{}", summary.table());
    if !summary.failures.is_empty() {
        for v in &procs.validators {
            eprintln!("---- {} ({}) log tail ----", v.name, v.dir.join("tss.log").display());
            eprintln!("{}", tail(&v.dir.join("tss.log"), 15));
        }
        bail!(
            "the devnet found {} failure(s); everything is kept in {}",
            summary.failures.len(),
            dir.display()
        );
    }
    if fresh {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("everything is kept in {}", dir.display());
    }
    Ok(())
}

/// A fresh temporary directory, or `dir` (which must be empty or new); `true` if fresh.
fn prepare_dir(dir: Option<&Path>) -> anyhow::Result<(PathBuf, bool)> {
    match dir {
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("keywheel-devnet-")
                .tempdir()
                .context("make a temporary directory")?;
            Ok((tmp.keep(), true))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "{} is not empty: a devnet starts from nothing (give a new directory)",
                    dir.display()
                );
            }
            Ok((dir.canonicalize()?, false))
        }
    }
}
