//! The devnet's processes: the dev node and one TSS per validator, with the keys, directories
//! and loopback addresses they run with, the genesis they start from, and `devnet.json`, which
//! says where each listens and runs.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use keywheel_chain::{AccountId, Params};
use keywheel_mpc::PartySigner;
use keywheel_node::genesis::{GenesisBalance, GenesisConfig, GenesisValidator};
use keywheel_rpc::keyfile;
use keywheel_tss::identity::Identity;

use super::args::DevnetArgs;
use super::faults::FaultSpec;
use super::procs::Proc;
use super::progress::short;
use crate::client::account_of;

/// What each validator bonds in genesis (its stash holds ten times as much).
const STAKE: u128 = 100_000;

/// One validator of the devnet: its stash, its TSS's directory, identity, addresses and process.
pub struct Validator {
    /// Its devnet name, `v0`, `v1`, …
    pub name: String,
    /// The stash account's key.
    pub stash: PartySigner,
    /// Its TSS's data directory.
    pub dir: PathBuf,
    /// Its TSS's account.
    pub tss: AccountId,
    /// Its TSS's peer encryption key.
    x25519: [u8; 32],
    /// Its TSS's peer address.
    pub p2p: SocketAddr,
    /// Its TSS's HTTP API address (port 0 until the TSS has reported it).
    api: SocketAddr,
    /// Its TSS's API URL, once the TSS has started.
    pub api_url: Option<String>,
    /// Its TSS process, while it runs.
    pub proc: Option<Proc>,
}

impl Validator {
    /// The key file that opens its TSS's keystore.
    pub fn key_file(&self) -> PathBuf {
        self.dir.join(keywheel_tss::config::DEFAULT_KEY_FILE)
    }

    /// The fault switch its TSS reads at the start of every rotation attempt (`--fault-file`).
    pub fn fault_file(&self) -> PathBuf {
        self.dir.join("fault")
    }
}

/// The devnet's processes — the node and every validator's TSS — and what it needs to drive
/// them: the directory, the root and demo-user keys, the genesis and the node's address.
pub struct Processes {
    /// The devnet directory: keys, genesis, logs, each TSS's directory.
    pub dir: PathBuf,
    /// The sudo key.
    pub root: PartySigner,
    /// The demo account's key.
    pub user: PartySigner,
    /// The genesis file the node starts from.
    genesis: PathBuf,
    /// The node's RPC address (port 0 until the node has reported it).
    node_addr: SocketAddr,
    /// The node's WebSocket URL, once it has started.
    pub node_url: String,
    /// Milliseconds between blocks.
    block_ms: u64,
    /// The node process, while it runs.
    pub node: Option<Proc>,
    /// Every validator, `v0` first.
    pub validators: Vec<Validator>,
    /// The dashboard's URL, once it serves.
    pub dashboard_url: Option<String>,
    /// Whether the TSSs are started with a fault switch (only when a silent or malicious fault
    /// is asked for).
    fault_switches: bool,
    /// The signing backend every TSS runs.
    backend: keywheel_mpc::backend::BackendKind,
}

/// A loopback address at `port`, after checking it is free. Port 0 picks a free one: left 0
/// when `keep_zero` (the process chooses and reports it), otherwise reserved outside the
/// kernel's ephemeral range, so no outbound connection takes it before its process binds it.
fn loopback(port: u16, keep_zero: bool) -> anyhow::Result<SocketAddr> {
    if port == 0 {
        if keep_zero {
            return Ok(SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        let port = keywheel_rpc::loopback::reserve_port().context("choose a free loopback port")?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| {
        format!("127.0.0.1:{port} is in use (another devnet or node?): choose other ports with --rpc-port, --p2p-port and --api-port, or 0 for any free ones")
    })?;
    Ok(listener.local_addr()?)
}

impl Processes {
    /// Keys, identities and addresses for every part (nothing runs yet).
    pub fn new(args: &DevnetArgs, dir: &Path) -> anyhow::Result<Self> {
        let root = keyfile::generate(&dir.join("root.key"))?;
        let user = keyfile::generate(&dir.join("user.key"))?;
        let node_addr = loopback(args.rpc_port, true)?;
        let mut validators = Vec::new();
        for i in 0..args.validators {
            let name = format!("v{i}");
            let stash = keyfile::generate(&dir.join(format!("stash-{name}.key")))?;
            let tss_dir = dir.join(&name);
            std::fs::create_dir_all(&tss_dir)?;
            let identity = Identity::load_or_generate(&tss_dir)?;
            let port = |base: u16| if base == 0 { 0 } else { base.saturating_add(i as u16) };
            validators.push(Validator {
                name,
                stash,
                dir: tss_dir,
                tss: identity.account(),
                x25519: identity.x25519_public(),
                p2p: loopback(port(args.p2p_port), false)?,
                api: loopback(port(args.api_port), true)?,
                api_url: None,
                proc: None,
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            root,
            user,
            genesis: dir.join("genesis.toml"),
            node_addr,
            node_url: String::new(),
            dashboard_url: None,
            block_ms: args.block_ms,
            node: None,
            validators,
            fault_switches: args.faults.iter().any(FaultSpec::uses_switch),
            backend: args.backend,
        })
    }

    /// Writes the genesis: every validator funded and bonded, with its TSS declared.
    pub fn write_genesis(&self, params: &Params) -> anyhow::Result<()> {
        let author = keyfile::generate(&self.dir.join("author.key"))?;
        let mut balances = vec![
            GenesisBalance {
                account: account_of(&self.root),
                amount: 1_000_000_000,
            },
            GenesisBalance {
                account: account_of(&self.user),
                amount: 1_000_000,
            },
        ];
        let mut validators = Vec::new();
        for v in &self.validators {
            balances.push(GenesisBalance {
                account: account_of(&v.stash),
                amount: 10 * STAKE,
            });
            validators.push(GenesisValidator {
                stash: account_of(&v.stash),
                bond: STAKE,
                tss_account: v.tss,
                endpoint: v.p2p.to_string(),
                x25519: v.x25519,
            });
        }
        let genesis = GenesisConfig {
            name: "keywheel-devnet".into(),
            root: account_of(&self.root),
            author: account_of(&author),
            params: params.clone(),
            balances,
            validators,
        };
        std::fs::write(&self.genesis, genesis.to_toml()).with_context(|| format!("write {}", self.genesis.display()))
    }

    /// Starts the node (again, after a stop: at the same address).
    pub async fn start_node(&mut self) -> anyhow::Result<()> {
        let args: Vec<OsString> = vec![
            "node".into(),
            "run".into(),
            "--genesis".into(),
            self.genesis.clone().into(),
            "--data-dir".into(),
            self.node_dir().into(),
            "--author-key".into(),
            self.dir.join("author.key").into(),
            "--rpc-addr".into(),
            self.node_addr.to_string().into(),
            "--block-time-ms".into(),
            self.block_ms.to_string().into(),
        ];
        let (proc, url) = Proc::spawn(
            "node",
            &args,
            &self.dir.join("node.log"),
            "rpc ",
            Duration::from_secs(60),
        )
        .await?;
        let addr = url.trim_start_matches("ws://");
        self.node_addr = addr.parse().with_context(|| format!("the node reported `{url}`"))?;
        self.node_url = url;
        self.node = Some(proc);
        Ok(())
    }

    /// The node's database directory.
    pub fn node_dir(&self) -> PathBuf {
        self.dir.join("node")
    }

    /// Stops the node (SIGTERM: it seals and stores its open block), if it runs.
    pub fn stop_node(&mut self) {
        if let Some(mut p) = self.node.take() {
            p.stop();
        }
    }

    /// Starts validator `i`'s TSS (again, after a stop: at the same addresses).
    pub async fn start_tss(&mut self, i: usize) -> anyhow::Result<()> {
        let node_url = self.node_url.clone();
        let v = &mut self.validators[i];
        let mut args: Vec<OsString> = vec![
            "tss".into(),
            "run".into(),
            "--data-dir".into(),
            v.dir.clone().into(),
            "--node".into(),
            node_url.into(),
            "--p2p".into(),
            v.p2p.to_string().into(),
            "--api".into(),
            v.api.to_string().into(),
            "--signing-backend".into(),
            self.backend.name().into(),
        ];
        if self.fault_switches {
            args.extend(["--fault-file".into(), v.fault_file().into()]);
        }
        let (proc, api) = Proc::spawn(&v.name, &args, &v.dir.join("tss.log"), "api ", Duration::from_secs(60)).await?;
        v.api = api
            .parse()
            .with_context(|| format!("{} reported its API at `{api}`", v.name))?;
        v.api_url = Some(format!("http://{}", v.api));
        v.proc = Some(proc);
        Ok(())
    }

    /// How many of its processes still run.
    pub fn running(&mut self) -> usize {
        let node = self.node.as_mut().is_some_and(Proc::is_running) as usize;
        node + self
            .validators
            .iter_mut()
            .filter_map(|v| v.proc.as_mut())
            .map(|p| p.is_running() as usize)
            .sum::<usize>()
    }

    /// Stops every TSS (all signalled at once, then each waited for).
    pub fn stop_tss(&mut self) {
        for v in &mut self.validators {
            if let Some(p) = &v.proc {
                p.terminate();
            }
        }
        for v in &mut self.validators {
            if let Some(mut p) = v.proc.take() {
                p.stop();
            }
        }
    }

    /// Stops the TSSs, then the node.
    pub fn stop_all(&mut self) {
        self.stop_tss();
        if let Some(mut node) = self.node.take() {
            node.stop();
        }
    }

    /// The API URL of every TSS that has started, `v0`'s first.
    pub fn api_urls(&self) -> Vec<String> {
        self.validators.iter().filter_map(|v| v.api_url.clone()).collect()
    }

    /// The index of the validator whose TSS account is `tss`.
    pub fn position(&self, tss: &AccountId) -> Option<usize> {
        self.validators.iter().position(|v| v.tss == *tss)
    }

    /// The validator whose TSS account is `tss`.
    pub fn validator(&self, tss: &AccountId) -> Option<&Validator> {
        self.validators.iter().find(|v| v.tss == *tss)
    }

    /// The devnet name of a TSS account, else the account shortened.
    pub fn name_of(&self, tss: &AccountId) -> String {
        self.validator(tss).map_or_else(|| short(tss), |v| v.name.clone())
    }

    /// The devnet names of `accounts`, space-separated (`-` for none).
    pub fn names<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> String {
        join_names(accounts.into_iter().map(|a| self.name_of(a)))
    }

    /// The validators' names, owned (for a task that outlives a borrow of `self`).
    pub fn directory(&self) -> Names {
        Names(self.validators.iter().map(|v| (v.tss, v.name.clone())).collect())
    }

    /// `devnet.json`: where everything listens and runs, for the user and for tests.
    pub fn write_manifest(&self) -> anyhow::Result<()> {
        let manifest = serde_json::json!({
            "dir": self.dir,
            "node": self.node_url,
            "dashboard": self.dashboard_url,
            "node_pid": self.node.as_ref().and_then(Proc::pid),
            "user_key": self.dir.join("user.key"),
            "validators": self.validators.iter().map(|v| serde_json::json!({
                "name": v.name,
                "stash": account_of(&v.stash).to_ss58(),
                "tss": v.tss.to_ss58(),
                "api": v.api_url,
                "p2p": v.p2p.to_string(),
                "pid": v.proc.as_ref().and_then(Proc::pid),
                "dir": v.dir,
            })).collect::<Vec<_>>(),
        });
        let path = self.dir.join("devnet.json");
        std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
            .with_context(|| format!("write {}", path.display()))
    }
}

/// The devnet names of TSS accounts, owned: [`Processes::directory`].
#[derive(Debug, Clone)]
pub struct Names(Vec<(AccountId, String)>);

impl Names {
    /// The devnet names of `accounts`, space-separated (`-` for none).
    pub fn names<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> String {
        join_names(accounts.into_iter().map(|a| {
            self.0
                .iter()
                .find(|(tss, _)| tss == a)
                .map_or_else(|| short(a), |(_, name)| name.clone())
        }))
    }
}

fn join_names(names: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = names.collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" ")
    }
}
