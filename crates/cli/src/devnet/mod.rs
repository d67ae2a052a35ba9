//! `keywheel devnet`: a whole network on this machine in one command. A dev node and one TSS per
//! validator run as separate processes on loopback; the devnet funds and bonds the validators in
//! genesis, jumpstarts the parent key, registers a demo account, signs, then waits for the
//! requested number of rotations — each a reshare in which the oldest member leaves and a
//! random validator joins — signing again after each. At the end it tries a departed member's
//! old share, checks every keystore still opens, and reports what it found.

mod faults;
mod follow;
mod old_share;
mod procs;
mod progress;
mod summary;

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use keywheel_chain::{AccountId, Call, Event, Member, Params, ReshareKind};
use keywheel_mpc::curve::point_from_bytes;
use keywheel_mpc::PartySigner;
use keywheel_node::genesis::{GenesisBalance, GenesisConfig, GenesisValidator};
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::ToSign;
use keywheel_rpc::{keyfile, Block, KeywheelApiClient, RuntimeCall};
use keywheel_tss::identity::Identity;
use keywheel_tss::keystore::{sharing_digest, KeySource, Keystore, Slot, SlotInfo, KEYSTORE_FILE};
use keywheel_tss::P;
use tokio::sync::mpsc;

use crate::client::{self, account_of};
use faults::{FaultSpec, FaultSummary, Target};
use old_share::{open_share, try_old_share, OldShareTrial};
use procs::{tail, Proc};
use progress::{short, Progress};
use summary::{SessionSummary, SignatureSummary, SlashSummary, Summary, ValidatorSummary};

/// `keywheel devnet` options. The defaults are the README's devnet.
#[derive(Args, Clone, Debug)]
pub struct DevnetArgs {
    /// Validators, each with its own TSS process.
    #[arg(long, default_value_t = 7)]
    pub validators: usize,
    /// Committee size.
    #[arg(long, default_value_t = 5)]
    pub committee: u32,
    /// Signing threshold.
    #[arg(long, default_value_t = 3)]
    pub threshold: u32,
    /// Rotations to wait for after the jumpstart.
    #[arg(long, default_value_t = 2)]
    pub sessions: u32,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 500)]
    pub block_ms: u64,
    /// Blocks per session.
    #[arg(long, default_value_t = 100)]
    pub session_blocks: u64,
    /// Blocks a reshare attempt may take before the chain aborts it (TSSs give up at 75 %).
    #[arg(long, default_value_t = 200)]
    pub reshare_deadline_blocks: u64,
    /// Keep everything in this directory (it must be empty or new) instead of a fresh temporary
    /// one that is removed after a successful run.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the JSON summary here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// The node's JSON-RPC port (0: any free port).
    #[arg(long, default_value_t = 9944)]
    pub rpc_port: u16,
    /// The first TSS's peer port; validator i uses this + i (0: any free ports).
    #[arg(long, default_value_t = 7100)]
    pub p2p_port: u16,
    /// The first TSS's HTTP API port; validator i uses this + i (0: any free ports).
    #[arg(long, default_value_t = 8100)]
    pub api_port: u16,
    /// A fault to inject, repeatable; the i-th acts on rotation i: `crash:<v>@reshare`,
    /// `silent:<v>`, `malicious:<v>`, `node-restart` (`<v>`: `v3`, or `auto` for the newest
    /// committee member).
    #[arg(long = "fault")]
    pub faults: Vec<FaultSpec>,
}

const MAX_ATTEMPTS: u32 = 3;
const STAKE: u128 = 100_000;

impl DevnetArgs {
    fn params(&self) -> anyhow::Result<Params> {
        let params = Params {
            committee_size: self.committee,
            threshold: self.threshold,
            session_length: self.session_blocks,
            reshare_deadline: self.reshare_deadline_blocks,
            max_attempts: MAX_ATTEMPTS,
            slash_permill: 100_000,
            barred_sessions: 2,
            unbonding_period: 10,
            min_bond: 1_000,
        };
        params.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        if (self.committee as usize) > self.validators {
            bail!(
                "a committee of {} needs at least as many validators (--validators)",
                self.committee
            );
        }
        if self.threshold < 2 {
            bail!("the threshold must be at least 2: one share alone must not sign");
        }
        if self.block_ms == 0 {
            bail!("--block-ms must be at least 1");
        }
        if self.faults.len() > self.sessions as usize {
            bail!(
                "{} faults need at least as many sessions (fault i acts on rotation i): raise --sessions",
                self.faults.len()
            );
        }
        for fault in &self.faults {
            if let Some(Target::Named(i)) = fault.target() {
                if i >= self.validators {
                    bail!("--fault {fault}: there is no v{i} among {} validators", self.validators);
                }
            }
            if fault.uses_switch() && !cfg!(feature = "fault-injection") {
                bail!("--fault {fault} needs TSSs that can misbehave: build keywheel with its default feature fault-injection");
            }
        }
        let mut named = BTreeSet::new();
        for fault in &self.faults {
            if let Some(Target::Named(i)) = fault.target() {
                if !named.insert(i) {
                    bail!("--fault {fault}: an earlier fault already makes v{i} an offender, and an offender is chilled: it could never act again");
                }
            }
        }
        let excluded = self.faults.iter().filter(|f| f.target().is_some()).count();
        if self.validators - excluded < self.committee as usize {
            bail!(
                "{excluded} offenders leave {} validators for a committee of {}: add --validators",
                self.validators - excluded,
                self.committee
            );
        }
        Ok(params)
    }

    fn block_time(&self) -> Duration {
        Duration::from_millis(self.block_ms)
    }

    /// How long one rotation may take at most: a whole session to begin, then every attempt.
    fn rotation_limit(&self) -> Duration {
        self.block_time() * (self.session_blocks + self.reshare_deadline_blocks * MAX_ATTEMPTS as u64) as u32
            + Duration::from_secs(120)
    }
}

/// One validator of the devnet: its stash, its TSS's directory, identity, addresses and process.
struct Validator {
    name: String,
    stash: PartySigner,
    dir: PathBuf,
    tss: AccountId,
    x25519: [u8; 32],
    p2p: SocketAddr,
    api: SocketAddr,
    api_url: Option<String>,
    proc: Option<Proc>,
}

impl Validator {
    fn key_file(&self) -> PathBuf {
        self.dir.join(keywheel_tss::config::DEFAULT_KEY_FILE)
    }

    /// The fault switch its TSS reads at the start of every rotation attempt (`--fault-file`).
    fn fault_file(&self) -> PathBuf {
        self.dir.join("fault")
    }
}

/// The processes of a devnet and what it needs to drive them.
struct Network {
    dir: PathBuf,
    root: PartySigner,
    user: PartySigner,
    genesis: PathBuf,
    node_addr: SocketAddr,
    node_url: String,
    block_ms: u64,
    node: Option<Proc>,
    validators: Vec<Validator>,
    /// Whether the TSSs are started with a fault switch (only when a silent or malicious fault
    /// is asked for).
    fault_switches: bool,
}

/// What a run found so far; it survives a failure half-way.
#[derive(Default)]
struct Report {
    parent: Option<Vec<u8>>,
    committee: Vec<Member>,
    sessions: Vec<SessionSummary>,
    signatures: Vec<SignatureSummary>,
    /// The latest copy of each committee member's keystore, taken while nothing writes to it.
    snapshots: std::collections::BTreeMap<AccountId, PathBuf>,
    /// Copies of departed members' keystores: (validator index, session it left in, path).
    old_copies: Vec<(usize, u32, PathBuf)>,
    /// Each `--fault` as it went.
    faults: Vec<FaultSummary>,
    failures: Vec<String>,
}

/// Runs the devnet. Returns an error (a non-zero exit) if any check failed.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let params = args.params()?;
    let (dir, fresh) = prepare_dir(args.dir.as_deref())?;
    println!("devnet directory {}", dir.display());
    let names: Vec<String> = (0..args.validators).map(|i| format!("v{i}")).collect();
    let progress = Progress::new(&names);
    let mut net = Network::new(&args, &dir)?;
    let mut report = Report::default();

    let outcome = tokio::select! {
        outcome = scenario(&args, &params, &mut net, &mut report, &progress) => Some(outcome),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(outcome) = outcome else {
        progress.finish();
        eprintln!("interrupted: stopping {} processes", net.running());
        net.stop_all();
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
    let summary = finish(&args, &mut net, &mut report).await;
    progress.finish();
    net.stop_all();
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("write the summary to {}", path.display()))?;
    }
    println!("\n{}", summary.table());
    if !summary.failures.is_empty() {
        for v in &net.validators {
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

/// A loopback address at `port`, after checking it is free; port 0 picks a free one (`keep`:
/// leave 0 for the process to choose and report).
fn loopback(port: u16, keep_zero: bool) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| {
        format!("127.0.0.1:{port} is in use (another devnet or node?): choose other ports with --rpc-port, --p2p-port and --api-port, or 0 for any free ones")
    })?;
    if port == 0 && keep_zero {
        return Ok(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    Ok(listener.local_addr()?)
}

impl Network {
    /// Keys, identities and addresses for every part (nothing runs yet).
    fn new(args: &DevnetArgs, dir: &Path) -> anyhow::Result<Self> {
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
            block_ms: args.block_ms,
            node: None,
            validators,
            fault_switches: args.faults.iter().any(FaultSpec::uses_switch),
        })
    }

    /// Writes the genesis: every validator funded and bonded, with its TSS declared.
    fn write_genesis(&self, params: &Params) -> anyhow::Result<()> {
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
    async fn start_node(&mut self) -> anyhow::Result<()> {
        let args: Vec<OsString> = vec![
            "node".into(),
            "run".into(),
            "--genesis".into(),
            self.genesis.clone().into(),
            "--data-dir".into(),
            self.dir.join("node").into(),
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

    /// Starts validator `i`'s TSS (again, after a stop: at the same addresses).
    async fn start_tss(&mut self, i: usize) -> anyhow::Result<()> {
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

    /// Arms validator `i`'s fault switch with `fault` (`silent`, `malicious`), or disarms it.
    fn set_fault(&self, i: usize, fault: Option<&str>) -> anyhow::Result<()> {
        let v = &self.validators[i];
        #[cfg(feature = "fault-injection")]
        {
            let fault = fault.map(str::parse).transpose().map_err(anyhow::Error::msg)?;
            keywheel_tss::fault::FaultSwitch::new(v.fault_file())
                .set(fault)
                .with_context(|| format!("set {}'s fault switch", v.name))
        }
        #[cfg(not(feature = "fault-injection"))]
        match fault {
            Some(f) => bail!("{} cannot act {f}: this build has no fault-injection", v.name),
            None => Ok(()),
        }
    }

    fn running(&mut self) -> usize {
        let node = self.node.as_mut().is_some_and(Proc::is_running) as usize;
        node + self
            .validators
            .iter_mut()
            .filter_map(|v| v.proc.as_mut())
            .map(|p| p.is_running() as usize)
            .sum::<usize>()
    }

    /// Stops every TSS (all signalled at once, then each waited for).
    fn stop_tss(&mut self) {
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
    fn stop_all(&mut self) {
        self.stop_tss();
        if let Some(mut node) = self.node.take() {
            node.stop();
        }
    }

    fn api_urls(&self) -> Vec<String> {
        self.validators.iter().filter_map(|v| v.api_url.clone()).collect()
    }

    fn name_of(&self, tss: &AccountId) -> String {
        self.validators
            .iter()
            .find(|v| v.tss == *tss)
            .map_or_else(|| short(tss), |v| v.name.clone())
    }

    fn names<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> String {
        let v: Vec<String> = accounts.into_iter().map(|a| self.name_of(a)).collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(" ")
        }
    }

    /// `devnet.json`: where everything listens and runs, for the user and for tests.
    fn write_manifest(&self) -> anyhow::Result<()> {
        let manifest = serde_json::json!({
            "dir": self.dir,
            "node": self.node_url,
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

/// The chain as the scenario sees it: events in order, from the follower.
struct Chain {
    url: String,
    client: WsClient,
    blocks: mpsc::Receiver<Block>,
    pending: std::collections::VecDeque<(u64, Event)>,
    /// The timestamp of the block of the event [`Chain::next`] returned last (chain time).
    last_at_ms: u64,
}

impl Chain {
    /// A fresh RPC connection (after a node restart).
    async fn reconnect(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match keywheel_rpc::connect_ws(&self.url).await {
                Ok(client) => {
                    self.client = client;
                    return Ok(());
                }
                Err(e) if started.elapsed() > Duration::from_secs(60) => {
                    bail!("the node at {} did not come back: {e}", self.url)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The next event, waiting at most until `deadline`.
    async fn next(&mut self, deadline: Instant) -> anyhow::Result<Event> {
        loop {
            if let Some((at, event)) = self.pending.pop_front() {
                self.last_at_ms = at;
                return Ok(event);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.blocks.recv()).await {
                Ok(Some(block)) => {
                    let at = block.header.timestamp_ms;
                    self.pending.extend(block.events.into_iter().map(|r| (at, r.event)));
                }
                Ok(None) => bail!("the chain follower stopped"),
                Err(_) => bail!("timed out waiting for the chain"),
            }
        }
    }
}

async fn scenario(
    args: &DevnetArgs,
    params: &Params,
    net: &mut Network,
    report: &mut Report,
    progress: &Progress,
) -> anyhow::Result<()> {
    progress.stage(format!(
        "starting the dev node and {} TSS processes (committee {}, threshold {})",
        args.validators, args.committee, args.threshold
    ));
    net.write_genesis(params)?;
    net.start_node().await?;
    for i in 0..net.validators.len() {
        net.start_tss(i).await?;
    }
    net.write_manifest()?;
    progress.log(format!("node {}  (block every {} ms)", net.node_url, args.block_ms));
    for v in &net.validators {
        progress.log(format!(
            "{}  tss {}  api {}  p2p {}",
            v.name,
            v.tss,
            v.api_url.as_deref().unwrap_or("-"),
            v.p2p
        ));
    }
    progress.poll(
        net.node_url.replacen("ws://", "http://", 1),
        net.validators.iter().map(|v| (v.tss, v.api_url.clone())).collect(),
    );
    let client = client::connect(&net.node_url).await?;
    let height = client.status().await?.height;
    let mut chain = Chain {
        url: net.node_url.clone(),
        client,
        blocks: follow::follow(net.node_url.clone(), height + 1),
        pending: Default::default(),
        last_at_ms: 0,
    };
    let http = reqwest::Client::new();

    // Jumpstart: the chain picks the first committee; its TSSs run the DKG and confirm.
    progress.stage("jumpstart: the chain picks the first committee, whose TSSs run the DKG");
    client::submit(&chain.client, &net.root, RuntimeCall::Sudo(Call::Jumpstart)).await?;
    let deadline = Instant::now() + args.rotation_limit();
    let parent = loop {
        match chain.next(deadline).await.context("waiting for the jumpstart")? {
            Event::ReshareStarted {
                kind: ReshareKind::Jumpstart,
                attempt,
                new_committee,
                ..
            } => progress.log(format!(
                "jumpstart attempt {attempt}: committee {}",
                net.names(&new_committee)
            )),
            Event::ParentKeyCreated { verifying_key } => break verifying_key,
            e @ (Event::ReshareAborted { .. } | Event::Slashed { .. }) => progress.log(describe(net, &e)),
            Event::ReshareAbandoned { attempts, .. } => bail!("the jumpstart was abandoned after {attempts} attempts"),
            _ => {}
        }
    };
    progress.log(format!("parent key 0x{}", hex::encode(&parent)));
    report.parent = Some(parent.clone());
    let committee = chain.client.committee().await?;
    report.committee = committee.members.clone();
    if let Some(sharing) = &committee.sharing {
        check_members_hold(net, &http, report, committee.session, sharing).await;
    }
    snapshot(net, report, committee.session)?;
    // Faults in order; the one armed waits for a rotation in which its target can act.
    let mut waiting: VecDeque<FaultSpec> = args.faults.iter().copied().collect();
    let mut armed = match waiting.pop_front() {
        Some(f) => Some((f, arm(net, &chain, report, progress, f).await?)),
        None => None,
    };

    progress.stage("registering the demo account and signing a message");
    client::submit(&chain.client, &net.user, RuntimeCall::Signed(Call::Register)).await?;
    sign(net, &chain, &http, report, progress, "jumpstart").await;
    if args.sessions == 0 {
        return Ok(());
    }

    for k in 1.. {
        progress.stage(if k <= args.sessions {
            format!(
                "rotation {k} of {}: waiting for the next session (every {} blocks)",
                args.sessions, args.session_blocks
            )
        } else {
            format!(
                "extra rotation {k}: a fault is still waiting for its target to be able to act \
                 (at most {} extra)",
                faults::EXTRA_ROTATIONS
            )
        });
        let deadline = Instant::now() + args.rotation_limit();
        let (session, staying, new_committee) = loop {
            match chain.next(deadline).await.context("waiting for a rotation to start")? {
                Event::ReshareStarted {
                    kind: ReshareKind::Rotation,
                    session,
                    staying,
                    new_committee,
                    ..
                } => break (session, staying, new_committee),
                e @ (Event::ReshareAbandoned { .. } | Event::Slashed { .. }) => progress.log(describe(net, &e)),
                _ => {}
            }
        };
        let started_at_ms = chain.last_at_ms;
        let old: Vec<AccountId> = report.committee.iter().map(|m| m.tss).collect();
        progress.stage(format!(
            "session {session}: reshare attempt 1 — {} leaves, {} joins",
            net.names(old.iter().filter(|a| !staying.contains(a))),
            net.names(new_committee.iter().filter(|a| !staying.contains(a)))
        ));
        let acting = armed.filter(|(f, t)| {
            let target = t.map(|i| net.validators[i].tss);
            f.can_act(target.as_ref(), &staying, &new_committee)
        });
        if acting.is_some() {
            armed = None;
        } else if let Some((f, t)) = armed {
            let name = t.map_or("-".into(), |i| net.validators[i].name.clone());
            progress.log(format!(
                "  fault {f}: {name} is not {} in this rotation; it waits for the next",
                f.needs()
            ));
            if let Some(summary) = report.faults.last_mut() {
                summary.waited.push(session);
                summary.detail = format!(
                    "{name} was not {} in the rotations of sessions {:?}",
                    f.needs(),
                    summary.waited
                );
            }
        }
        let more = faults::another_after(k - 1, args.sessions, waiting.len() + armed.is_some() as usize);
        if !more {
            // No further session boundaries: the run ends with this rotation.
            let mut quiet = chain.client.params().await?;
            quiet.session_length = 1_000_000_000;
            client::submit(
                &chain.client,
                &net.root,
                RuntimeCall::Sudo(Call::SetParams { params: quiet }),
            )
            .await?;
        }
        if let Some((fault, target)) = acting {
            strike(net, &mut chain, &http, report, progress, fault, target, session).await?;
        }
        let mut attempts = 1;
        let rotated = loop {
            match chain.next(deadline).await.context("waiting for the rotation")? {
                Event::RotateKey { session: s, attempt } if s == session => {
                    attempts = attempt;
                    break true;
                }
                Event::ReshareStarted {
                    session: s,
                    attempt,
                    new_committee,
                    ..
                } if s == session => {
                    attempts = attempt;
                    progress.stage(format!(
                        "session {session}: reshare attempt {attempt} — committee {}",
                        net.names(&new_committee)
                    ));
                }
                Event::ReshareAbandoned { session: s, .. } if s == session => break false,
                Event::Confirmed { member, attempt, .. } => progress.log(format!(
                    "  {} confirmed its held share (attempt {attempt})",
                    net.name_of(&member)
                )),
                e @ (Event::ReshareAborted { .. } | Event::Slashed { .. }) => progress.log(describe(net, &e)),
                _ => {}
            }
        };
        let reshare_ms = chain.last_at_ms.saturating_sub(started_at_ms);
        let committee = chain.client.committee().await?;
        let new: Vec<AccountId> = committee.members.iter().map(|m| m.tss).collect();
        let left: Vec<AccountId> = old.iter().filter(|a| !new.contains(a)).copied().collect();
        let joined: Vec<AccountId> = new.iter().filter(|a| !old.contains(a)).copied().collect();
        // A departed member's old share, from the copy of its keystore taken before this
        // rotation: tried at the end.
        for a in &left {
            if let (Some(i), Some(copy)) = (net.validators.iter().position(|v| v.tss == *a), report.snapshots.get(a)) {
                report.old_copies.push((i, session, copy.clone()));
            }
        }
        if committee.parent_key.as_deref() != Some(parent.as_slice()) {
            report
                .failures
                .push(format!("the parent key changed in session {session}"));
        }
        progress.log(format!(
            "session {session}: {} after {attempts} attempt(s), {:.1} s; committee {}",
            if rotated { "rotated" } else { "NOT rotated" },
            reshare_ms as f64 / 1000.0,
            net.names(committee.members.iter().map(|m| &m.tss))
        ));
        report.sessions.push(SessionSummary {
            index: session,
            attempts,
            committee: committee.members.iter().map(|m| m.tss.to_ss58()).collect(),
            joined: joined.iter().map(AccountId::to_ss58).collect(),
            left: left.iter().map(AccountId::to_ss58).collect(),
            reshare_ms,
            rotated,
        });
        if let Some(f) = report.faults.last_mut().filter(|_| acting.is_some()) {
            f.rotated_on_attempt = rotated.then_some(attempts);
        }
        if !rotated {
            bail!("session {session}'s reshare was abandoned");
        }
        report.committee = committee.members.clone();
        if let Some((_, Some(i))) = acting.filter(|(f, _)| f.uses_switch()) {
            net.set_fault(i, None)?;
        }
        // The next fault is armed now, while no reshare is in flight.
        if armed.is_none() {
            if let Some(f) = waiting.pop_front() {
                armed = Some((f, arm(net, &chain, report, progress, f).await?));
            }
        }
        progress.rotated(session);
        if let Some(sharing) = &committee.sharing {
            check_members_hold(net, &http, report, session, sharing).await;
        }
        snapshot(net, report, session)?;
        progress.stage(format!("session {session}: signing with the new committee"));
        sign(net, &chain, &http, report, progress, "rotation").await;
        if !more {
            break;
        }
    }
    for f in waiting {
        report
            .faults
            .push(FaultSummary::pending(f, "the fault before it never acted"));
    }
    Ok(())
}

/// Prepares a fault before its rotation, while no reshare is in flight: resolves `auto` to the
/// newest committee member and arms a silent or malicious TSS's switch, which it reads when the
/// next rotation attempt starts. Returns the target validator's index.
async fn arm(
    net: &mut Network,
    chain: &Chain,
    report: &mut Report,
    progress: &Progress,
    fault: FaultSpec,
) -> anyhow::Result<Option<usize>> {
    let target = match fault.target() {
        None => None,
        Some(Target::Named(i)) => Some(i),
        Some(Target::Auto) => {
            let newest = report
                .committee
                .iter()
                .max_by_key(|m| m.join_seq)
                .context("no committee to pick a fault's target from")?;
            net.validators.iter().position(|v| v.tss == newest.tss)
        }
    };
    let resolved = target.map_or(fault, |i| fault.aimed_at(i));
    if let (true, Some(i)) = (fault.uses_switch(), target) {
        net.set_fault(i, Some(fault.kind()))?;
        // A TSS reads its switch when an attempt starts: armed before any reshare is in flight,
        // it is sure to act in the next rotation.
        if let Some(r) = chain.client.reshare().await? {
            report.failures.push(format!(
                "fault {resolved} was armed too late: session {}'s attempt {} had already started",
                r.record.session, r.record.attempt
            ));
        }
        progress.log(format!(
            "fault {resolved}: {} will act {} in the next rotation",
            net.validators[i].name,
            fault.kind()
        ));
    }
    report.faults.push(FaultSummary {
        validator: target.map(|i| net.validators[i].name.clone()),
        tss: target.map(|i| net.validators[i].tss.to_ss58()),
        ..FaultSummary::pending(resolved, "armed")
    });
    Ok(target)
}

/// Applies a fault once a rotation in which it can act has started, and asks for a signature
/// while the attempt it spoils is still running (the current committee must still sign).
#[allow(clippy::too_many_arguments)]
async fn strike(
    net: &mut Network,
    chain: &mut Chain,
    http: &reqwest::Client,
    report: &mut Report,
    progress: &Progress,
    fault: FaultSpec,
    target: Option<usize>,
    session: u32,
) -> anyhow::Result<()> {
    let (applied, detail) = match (fault, target) {
        (FaultSpec::Crash(_), Some(i)) => {
            // A few seconds in, AuxGen is well under way.
            tokio::time::sleep(Duration::from_secs(3)).await;
            if let Some(mut p) = net.validators[i].proc.take() {
                p.kill();
            }
            progress.log(format!(
                "  fault: {} SIGKILLed in the middle of the reshare",
                net.validators[i].name
            ));
            (
                true,
                format!("{} killed 3 s into attempt 1 and restarted", net.validators[i].name),
            )
        }
        (FaultSpec::Silent(_), Some(i)) => (
            true,
            format!("{} took part in attempt 1 without sending", net.validators[i].name),
        ),
        (FaultSpec::Malicious(_), Some(i)) => (
            true,
            format!(
                "{} stayed and sent corrupted subshares in attempt 1",
                net.validators[i].name
            ),
        ),
        (FaultSpec::NodeRestart, _) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            if let Some(mut p) = net.node.take() {
                p.kill();
            }
            progress.log("  fault: the node SIGKILLed in the middle of the reshare");
            tokio::time::sleep(Duration::from_secs(3)).await;
            net.start_node().await?;
            net.write_manifest()?;
            chain.reconnect().await?;
            progress.log(format!("  fault: the node restarted at {}", net.node_url));
            (
                true,
                "the node was killed 3 s into the reshare and restarted 3 s later".into(),
            )
        }
        (_, None) => (false, "no target".into()),
    };
    if applied {
        let before = report.signatures.len();
        sign(net, chain, http, report, progress, "fault").await;
        let verified = report.signatures.get(before).map(|s| s.verified);
        if let Some(f) = report.faults.last_mut() {
            f.signed_during = verified;
        }
    }
    if let (FaultSpec::Crash(_), Some(i), true) = (fault, target, applied) {
        net.start_tss(i).await?;
        net.write_manifest()?;
        progress.log(format!("  fault: {} restarted", net.validators[i].name));
    }
    if let Some(f) = report.faults.last_mut() {
        f.session = Some(session);
        f.applied = applied;
        f.detail = detail;
    }
    Ok(())
}

/// Copies every committee member's keystore, as it is between rotations (nothing writes to it
/// then): whoever leaves in the next rotation leaves this copy of its old share behind.
fn snapshot(net: &Network, report: &mut Report, session: u32) -> anyhow::Result<()> {
    let copies = net.dir.join("old-shares");
    std::fs::create_dir_all(&copies)?;
    for m in &report.committee {
        let Some(v) = net.validators.iter().find(|v| v.tss == m.tss) else {
            continue;
        };
        let copy = copies.join(format!("{}-after-session{session}.redb", v.name));
        std::fs::copy(v.dir.join(KEYSTORE_FILE), &copy).with_context(|| format!("copy {}'s keystore", v.name))?;
        report.snapshots.insert(m.tss, copy);
    }
    Ok(())
}

/// Whether a TSS's `current` slot is what the chain says it should be: a member of `sharing`
/// holds exactly it, anyone else holds nothing.
fn holds_what_the_chain_says(tss: &AccountId, current: Option<&SlotInfo>, sharing: &keywheel_chain::Sharing) -> bool {
    match current {
        Some(c) => {
            sharing.public_shares.contains_key(tss)
                && c.sharing_digest() == sharing_digest(sharing.threshold, &sharing.public_shares)
        }
        None => !sharing.public_shares.contains_key(tss),
    }
}

/// After a rotation every new member's `current` slot must hold exactly the sharing the chain
/// confirmed, and nobody else's may: checked through each TSS's status (it rotates on its own
/// next reconcile, so it gets a few seconds).
async fn check_members_hold(
    net: &Network,
    http: &reqwest::Client,
    report: &mut Report,
    session: u32,
    sharing: &keywheel_chain::Sharing,
) {
    for v in &net.validators {
        let Some(url) = &v.api_url else { continue };
        // A departed member erases its old share once it sees the rotation.
        let started = Instant::now();
        let ok = loop {
            let status = client::tss_status(http, url).await;
            if status.is_some_and(|s| holds_what_the_chain_says(&v.tss, s.current.as_ref(), sharing)) {
                break true;
            }
            if started.elapsed() > Duration::from_secs(20) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        if !ok {
            report.failures.push(format!(
                "after session {session}'s rotation {}'s current slot is not what the chain confirmed for it",
                v.name
            ));
        }
    }
}

/// A line about a reshare failure or a punishment.
fn describe(net: &Network, event: &Event) -> String {
    match event {
        Event::ReshareAborted {
            session,
            attempt,
            reason,
            offenders,
        } => format!(
            "  session {session} attempt {attempt} aborted ({reason:?}); offenders: {}",
            net.names(offenders)
        ),
        Event::Slashed { tss, kind, amount, .. } => {
            format!("  {} slashed ({kind:?}, {amount} burned)", net.name_of(tss))
        }
        Event::ReshareAbandoned { session, attempts } => {
            format!("  session {session}: reshare abandoned after {attempts} attempt(s)")
        }
        other => format!("  {other:?}"),
    }
}

/// Signs a message for the demo account through the TSSs (a different one first each time) and
/// records whether the signature verified here.
async fn sign(
    net: &Network,
    chain: &Chain,
    http: &reqwest::Client,
    report: &mut Report,
    progress: &Progress,
    after: &str,
) {
    let mut urls = net.api_urls();
    if !urls.is_empty() {
        let n = report.signatures.len() % urls.len();
        urls.rotate_left(n);
    }
    let session = chain.client.status().await.map(|s| s.session).unwrap_or_default();
    let message = format!("keywheel devnet: signed in session {session}, after the {after}");
    let started = Instant::now();
    let result = client::sign(
        &chain.client,
        http,
        &urls,
        &net.user,
        ToSign::Message(message.into_bytes()),
    )
    .await;
    let ms = started.elapsed().as_millis() as u64;
    let entry = match result {
        Ok(v) => {
            progress.signed();
            progress.log(format!(
                "  signed by {} in {:.1} s, verified: child address {}",
                net.names(&v.response.signers),
                ms as f64 / 1000.0,
                v.child_address
            ));
            SignatureSummary {
                session,
                after: after.into(),
                child_address: Some(v.child_address),
                verified: true,
                signers: v.response.signers.iter().map(AccountId::to_ss58).collect(),
                ms,
                error: None,
            }
        }
        Err(e) => {
            progress.log(format!("  signing FAILED: {e:#}"));
            SignatureSummary {
                session,
                after: after.into(),
                child_address: None,
                verified: false,
                signers: Vec::new(),
                ms,
                error: Some(format!("{e:#}")),
            }
        }
    };
    report.signatures.push(entry);
}

/// Stops the TSSs, tries every departed member's old share against the committee's current
/// shares, opens every keystore, reads the slashes, and assembles the summary.
async fn finish(args: &DevnetArgs, net: &mut Network, report: &mut Report) -> Summary {
    net.stop_tss();
    let mut failures = std::mem::take(&mut report.failures);

    // Every keystore opens after the run, and holds exactly what the chain says it should.
    let node = client::connect(&net.node_url).await.ok();
    let sharing = match &node {
        Some(c) => c.committee().await.ok().and_then(|c| c.sharing),
        None => None,
    };
    for v in &net.validators {
        let path = v.dir.join(KEYSTORE_FILE);
        if !path.exists() {
            continue;
        }
        match Keystore::open(&path, v.tss, &KeySource::KeyFile(v.key_file())) {
            Err(e) => failures.push(format!("{}'s keystore does not open: {e}", v.name)),
            Ok(keystore) => {
                let Some(sharing) = &sharing else { continue };
                match keystore.info(Slot::Current) {
                    Ok(current) if holds_what_the_chain_says(&v.tss, current.as_ref(), sharing) => {}
                    Ok(other) => failures.push(format!(
                        "{}'s keystore holds {} at the end, not what the chain confirmed for it",
                        v.name,
                        if other.is_some() { "another share" } else { "no share" }
                    )),
                    Err(e) => failures.push(format!("{}'s keystore cannot be read: {e}", v.name)),
                }
            }
        }
    }

    let mut trials = Vec::new();
    if let (Some(parent), false) = (&report.parent, report.old_copies.is_empty()) {
        let current: anyhow::Result<Vec<_>> = report
            .committee
            .iter()
            .filter_map(|m| net.validators.iter().find(|v| v.tss == m.tss))
            .map(|v| open_share(&v.dir.join(KEYSTORE_FILE), v.tss, &v.key_file()))
            .collect();
        let parent_point = point_from_bytes::<P>(parent);
        match (current, parent_point) {
            (Ok(current), Some(parent_point)) => {
                for (i, session, copy) in &report.old_copies {
                    let v = &net.validators[*i];
                    let outcome = open_share(copy, v.tss, &v.key_file())
                        .and_then(|old| try_old_share(&old, &current, &parent_point));
                    let (rejected, detail) = match outcome {
                        Ok(found) => found,
                        Err(e) => (false, format!("could not be tried: {e:#}")),
                    };
                    trials.push(OldShareTrial {
                        validator: v.name.clone(),
                        tss: v.tss,
                        left_in_session: *session,
                        rejected,
                        detail,
                    });
                }
            }
            (Err(e), _) => failures.push(format!("the current committee's shares could not be read: {e:#}")),
            (_, None) => failures.push("the parent key does not parse".into()),
        }
    }
    let old_share_rejected = (!trials.is_empty()).then(|| trials.iter().all(|t| t.rejected));
    if args.sessions > 0 && old_share_rejected != Some(true) {
        failures.push("no departed member's old share was tried and rejected".into());
    }

    let slashes = match &node {
        Some(c) => c.slashes().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let slashed = slashes
        .iter()
        .map(|s| SlashSummary {
            validator: net.name_of(&s.tss),
            tss: s.tss.to_ss58(),
            kind: format!("{:?}", s.kind),
            session: s.session,
            attempt: s.attempt,
            amount: s.amount,
        })
        .collect();

    let mut faults = std::mem::take(&mut report.faults);
    for f in &mut faults {
        let spec: Option<FaultSpec> = f.fault.parse().ok();
        f.slashed = slashes
            .iter()
            .find(|s| Some(s.tss.to_ss58()) == f.tss && Some(s.session) == f.session)
            .map(|s| format!("{:?}", s.kind));
        if !f.applied {
            failures.push(format!("fault {} was not applied: {}", f.fault, f.detail));
            continue;
        }
        if let Some(expected) = spec.and_then(|s| s.expected_slash()) {
            if f.slashed.as_deref() != Some(expected) {
                failures.push(format!(
                    "fault {}: the offender should be slashed {expected}, it was {:?}",
                    f.fault, f.slashed
                ));
            }
            if f.rotated_on_attempt.is_none_or(|a| a < 2) {
                failures.push(format!(
                    "fault {}: the rotation should happen on a later attempt, it was {:?}",
                    f.fault, f.rotated_on_attempt
                ));
            }
        } else if f.rotated_on_attempt.is_none() {
            failures.push(format!("fault {}: the session did not rotate", f.fault));
        }
        if f.signed_during != Some(true) {
            failures.push(format!(
                "fault {}: the signature asked for during the fault did not verify",
                f.fault
            ));
        }
    }
    let rotations = report.sessions.iter().filter(|s| s.rotated).count();
    if rotations < args.sessions as usize {
        failures.push(format!("{rotations} of {} rotations happened", args.sessions));
    }
    if let Some(bad) = report.signatures.iter().find(|s| !s.verified) {
        failures.push(format!(
            "a signature after the {} in session {} did not verify: {}",
            bad.after,
            bad.session,
            bad.error.as_deref().unwrap_or("-")
        ));
    }
    let addresses: BTreeSet<&str> = report
        .signatures
        .iter()
        .filter_map(|s| s.child_address.as_deref())
        .collect();
    if addresses.len() > 1 {
        failures.push(format!("the child address changed: {addresses:?}"));
    }
    let child_address = match (addresses.len(), report.signatures.iter().all(|s| s.verified)) {
        (1, true) => addresses.into_iter().next().map(str::to_owned),
        _ => None,
    };
    Summary {
        parent_verifying_key: report.parent.as_ref().map(|k| format!("0x{}", hex::encode(k))),
        child_address,
        sessions: report.sessions.clone(),
        signatures: report.signatures.clone(),
        old_share_rejected,
        old_share_trials: trials,
        slashed,
        faults,
        validators: net
            .validators
            .iter()
            .map(|v| ValidatorSummary {
                name: v.name.clone(),
                stash: account_of(&v.stash).to_ss58(),
                tss: v.tss.to_ss58(),
            })
            .collect(),
        committee_size: args.committee,
        threshold: args.threshold,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        devnet: DevnetArgs,
    }

    fn params(line: &[&str]) -> anyhow::Result<Params> {
        Cli::try_parse_from(std::iter::once("devnet").chain(line.iter().copied()))
            .expect("the options parse")
            .devnet
            .params()
    }

    #[test]
    fn options_that_cannot_work_are_refused_before_anything_starts() {
        assert!(params(&[]).is_ok(), "the defaults work");
        assert!(params(&["--sessions", "2", "--fault", "malicious:v3", "--fault", "silent:auto"]).is_ok());
        let cases: [(&[&str], &str); 6] = [
            (&["--committee", "8"], "at least as many validators"),
            (&["--threshold", "1"], "at least 2"),
            (&["--block-ms", "0"], "--block-ms"),
            (
                &["--sessions", "1", "--fault", "silent:auto", "--fault", "node-restart"],
                "raise --sessions",
            ),
            (&["--fault", "crash:v7@reshare"], "no v7 among 7"),
            (
                &["--validators", "9", "--fault", "silent:v1", "--fault", "malicious:v1"],
                "already makes v1 an offender",
            ),
        ];
        for (line, why) in cases {
            let err = params(line).expect_err(&format!("{line:?} was accepted"));
            assert!(err.to_string().contains(why), "{line:?}: {err}");
        }
        let err = params(&[
            "--sessions",
            "3",
            "--fault",
            "silent:auto",
            "--fault",
            "crash:auto@reshare",
            "--fault",
            "malicious:auto",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("add --validators"), "{err}");
    }
}
