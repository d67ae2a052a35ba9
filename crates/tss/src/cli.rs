//! The TSS's command line, shared by `keywheel-tss` and `keywheel tss`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::identity::Identity;
use crate::keystore::{Keystore, KEYSTORE_FILE};
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
        /// The genesis hash of the network to serve (0x + 64 hex digits): a node of another
        /// genesis is never followed.
        #[arg(long, value_parser = parse_genesis)]
        genesis_hash: Option<[u8; 32]>,
        /// Follow a node over plain ws:// on a host that is not this machine.
        #[arg(long)]
        insecure_node: bool,
        /// Sign requests coordinated at once (default: the machine's cores).
        #[arg(long)]
        sign_concurrency: Option<usize>,
        /// Sign requests admitted at once, running or waiting (default: 32 per concurrent one).
        #[arg(long)]
        sign_queue: Option<usize>,
        /// One signer's CPU time (ms) for one counterpart, which signing round timeouts derive
        /// from (default 2000).
        #[arg(long)]
        sign_counterpart_ms: Option<u64>,
        /// The signing backend of the keys this TSS makes: `synedrion` (default) or `dkls23`.
        /// Every TSS of a network must use the same.
        #[arg(long)]
        signing_backend: Option<keywheel_mpc::backend::BackendKind>,
        /// Devnet fault injection: misbehave in a rotation attempt as this file says when the
        /// attempt starts (`silent`, `malicious`; absent or empty: honest).
        #[cfg(feature = "fault-injection")]
        #[arg(long, hide = true)]
        fault_file: Option<PathBuf>,
    },
    /// List the retired shares the keystore keeps (shares of sharings the chain no longer
    /// uses), as JSON. The TSS must not be running (it holds the keystore).
    Retired {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The keystore's key file (else KEYWHEEL_TSS_PASSPHRASE, else the data dir's).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Shred one retired share now, before the TSS would (it keeps each for
    /// `keep_retired_sessions` sessions after its rotation). Irreversible. The TSS must not be
    /// running.
    Shred {
        /// The data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The keystore's key file (else KEYWHEEL_TSS_PASSPHRASE, else the data dir's).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// The retired share's id, as `retired` lists it.
        id: String,
        /// Shred it even though it is of the sharing the chain named when this TSS last looked
        /// (then it may be the only copy of a live share).
        #[arg(long)]
        force: bool,
    },
}

fn parse_genesis(s: &str) -> Result<[u8; 32], String> {
    keywheel_chain::encoding::from_hex(s)?
        .try_into()
        .map_err(|b: Vec<u8>| format!("a genesis hash is 32 bytes, not {}", b.len()))
}

/// Opens the keystore of a TSS that is not running.
fn open_keystore(data_dir: PathBuf, key_file: Option<PathBuf>) -> anyhow::Result<Keystore> {
    let config = TssConfig {
        data_dir,
        keystore_key_file: key_file,
        ..TssConfig::default()
    };
    let identity = Identity::load(&config.data_dir)?;
    let path = config.data_dir.join(KEYSTORE_FILE);
    if !path.exists() {
        anyhow::bail!("{} has no keystore", config.data_dir.display());
    }
    Ok(Keystore::open(&path, identity.account(), &config.key_source()?)?)
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
            genesis_hash,
            insecure_node,
            sign_concurrency,
            sign_queue,
            sign_counterpart_ms,
            signing_backend,
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
            if genesis_hash.is_some() {
                cfg.genesis_hash = genesis_hash;
            }
            cfg.insecure_node |= insecure_node;
            cfg.sign_concurrency = sign_concurrency.or(cfg.sign_concurrency);
            cfg.sign_queue = sign_queue.or(cfg.sign_queue);
            cfg.sign_counterpart_ms = sign_counterpart_ms.or(cfg.sign_counterpart_ms);
            if let Some(backend) = signing_backend {
                cfg.signing_backend = backend;
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
        TssCommand::Retired { data_dir, key_file } => {
            let keystore = open_keystore(data_dir, key_file)?;
            println!("{}", serde_json::to_string_pretty(&keystore.retired()?)?);
            Ok(())
        }
        TssCommand::Shred {
            data_dir,
            key_file,
            id,
            force,
        } => {
            let mut keystore = open_keystore(data_dir, key_file)?;
            let live = keystore.high_water()?.and_then(|h| h.sharing);
            let of_live = keystore
                .retired()?
                .iter()
                .any(|r| r.id == id && Some(r.info.sharing_digest()) == live);
            if of_live && !force {
                anyhow::bail!(
                    "retired share `{id}` is of the sharing the chain named when this TSS last looked: it may be the \
                     only copy of a live share, and the TSS would restore it to current; pass --force to shred it anyway"
                );
            }
            if !keystore.shred(&id)? {
                anyhow::bail!("no retired share `{id}` in this keystore (`retired` lists them)");
            }
            println!("shredded {id}");
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
