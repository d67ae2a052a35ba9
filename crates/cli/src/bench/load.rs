//! `keywheel bench load`: signing throughput and latency against a running network (a devnet),
//! at levels of concurrent valid requests from as many registered accounts; the CPU time the
//! TSSs spent per signature (their `process_cpu_seconds_total`) and the bound that puts on
//! throughput when every TSS shares this machine's cores (as on a devnet); the reshares that
//! ran meanwhile; and, with `--bogus` or `--idle-connections`, one more level under a flood of
//! bogus requests and idle peer connections. Clients behave as a careful client would: a
//! refusal with `Retry-After` waits that long before the next request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use keywheel_chain::{Call, Event};
use keywheel_mpc::PartySigner;
use keywheel_rpc::jsonrpsee::ws_client::WsClient;
use keywheel_rpc::sign_request::{now_ms, verify_reply, SignRequest, SignResponse, ToSign};
use keywheel_rpc::{KeywheelApiClient, RuntimeCall};
use rand_core::{OsRng, RngCore};
use serde::Serialize;

use crate::client;

/// `keywheel bench load` options.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// The node's WebSocket JSON-RPC address.
    #[arg(long, env = "KEYWHEEL_NODE", default_value = "ws://127.0.0.1:9944")]
    pub node: String,
    /// Every TSS API of the network: requests are spread over them, CPU is read from all.
    #[arg(long = "tss", required = true)]
    pub tss: Vec<String>,
    /// Concurrent requests (and accounts) per level.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    pub levels: Vec<usize>,
    /// How long each level sends requests, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Bogus requests (bad signatures) to send during one more level at the last concurrency.
    #[arg(long, default_value_t = 0)]
    pub bogus: usize,
    /// Idle connections to hold open at the first TSS's peer port during that level.
    #[arg(long, default_value_t = 0)]
    pub idle_connections: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What one level measured.
#[derive(Debug, Clone, Serialize)]
struct Level {
    label: String,
    concurrency: usize,
    seconds: f64,
    signed: usize,
    refused: usize,
    failed: usize,
    first_failure: Option<String>,
    throughput: f64,
    p50_s: Option<f64>,
    p99_s: Option<f64>,
    /// The TSSs' CPU seconds per signature (only when no reshare ran during the level).
    cpu_s_per_signature: Option<f64>,
    /// Signatures per second the cores could give at that cost.
    cpu_bound: Option<f64>,
    /// The share of the cores the TSSs used.
    cpu_busy: f64,
    /// Whether a reshare ran during the level.
    resharing: bool,
    /// Reshares (ReshareStarted to RotateKey) that overlapped the level and ended, seconds.
    reshares_s: Vec<f64>,
    bogus_refused: usize,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    refused: usize,
    failed: usize,
    first_failure: Option<String>,
}

/// A reshare seen on chain: when it started and (once it rotated) when it ended.
type Reshares = Arc<Mutex<BTreeMap<(u32, u32), (Instant, Option<Instant>)>>>;

/// Runs `keywheel bench load`.
pub async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let node = Arc::new(client::connect(&args.node).await?);
    let genesis = node.status().await.context("ask the node for its status")?.genesis_hash;
    let parent = node
        .parent_key()
        .await
        .context("ask the node for the parent key")?
        .context("the network has no parent key yet: jumpstart it first")?
        .0;
    let most = args.levels.iter().copied().max().unwrap_or(1).max(1);
    eprintln!("registering {most} accounts");
    let users = register_accounts(&node, most).await?;
    let reshares = watch_reshares(&args.node).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(most)
        .build()
        .context("an HTTP client")?;
    let bench = Bench {
        http,
        tss: args.tss.clone(),
        genesis,
        parent,
        users,
        reshares,
    };

    let mut levels = Vec::new();
    for &c in &args.levels {
        eprintln!("level {c}: {} s", args.seconds);
        levels.push(bench.level(format!("{c} concurrent"), c, args.seconds, None).await);
    }
    if args.bogus > 0 || args.idle_connections > 0 {
        let c = args.levels.last().copied().unwrap_or(1);
        eprintln!(
            "level {c} under {} bogus requests and {} idle connections",
            args.bogus, args.idle_connections
        );
        let flood = Flood {
            bogus: args.bogus,
            idle_connections: args.idle_connections,
        };
        let label = format!(
            "{c} concurrent + {} bogus + {} idle connections",
            args.bogus, args.idle_connections
        );
        levels.push(bench.level(label, c, args.seconds, Some(flood)).await);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&levels)?);
    } else {
        print_table(&levels);
    }
    Ok(())
}

/// New accounts, each registered for signing (submitted together, so in a few blocks).
async fn register_accounts(node: &Arc<WsClient>, n: usize) -> anyhow::Result<Vec<Arc<PartySigner>>> {
    let users: Vec<Arc<PartySigner>> = (0..n)
        .map(|_| {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            Arc::new(PartySigner::from_seed(&seed))
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for user in &users {
        let (node, user) = (node.clone(), user.clone());
        tasks.spawn(async move { client::submit(&node, &user, RuntimeCall::Signed(Call::Register)).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a registration task")?
            .context("register a bench account")?;
    }
    Ok(users)
}

/// Follows the chain's events and records when each reshare started and rotated.
async fn watch_reshares(node_url: &str) -> anyhow::Result<Reshares> {
    let node = client::connect(node_url).await?;
    let mut events = node
        .subscribe_events()
        .await
        .context("subscribe to the node's events")?;
    let reshares: Reshares = Arc::default();
    let seen = reshares.clone();
    tokio::spawn(async move {
        let _node = node;
        while let Some(Ok(record)) = events.next().await {
            let mut seen = seen.lock().expect("not poisoned");
            match record.event {
                Event::ReshareStarted { session, attempt, .. } => {
                    seen.insert((session, attempt), (Instant::now(), None));
                }
                Event::RotateKey { session, attempt } => {
                    if let Some(entry) = seen.get_mut(&(session, attempt)) {
                        entry.1 = Some(Instant::now());
                    }
                }
                _ => {}
            }
        }
    });
    Ok(reshares)
}

/// What floods a level.
#[derive(Clone, Copy)]
struct Flood {
    bogus: usize,
    idle_connections: usize,
}

struct Bench {
    http: reqwest::Client,
    tss: Vec<String>,
    genesis: [u8; 32],
    parent: Vec<u8>,
    users: Vec<Arc<PartySigner>>,
    reshares: Reshares,
}

impl Bench {
    /// `concurrency` clients, each with its own account, sending requests back to back for
    /// `seconds` (and finishing the one in flight).
    async fn level(&self, label: String, concurrency: usize, seconds: u64, flood: Option<Flood>) -> Level {
        let cpu_before = self.cpu_seconds().await;
        let started = Instant::now();
        let stop = started + Duration::from_secs(seconds);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut clients = tokio::task::JoinSet::new();
        for (i, user) in self.users.iter().take(concurrency).enumerate() {
            let worker = Worker {
                http: self.http.clone(),
                tss: self.tss.clone(),
                genesis: self.genesis,
                parent: self.parent.clone(),
                user: user.clone(),
                first: i,
            };
            let tally = tally.clone();
            clients.spawn(async move { worker.run(stop, &tally).await });
        }
        let bogus_refused = Arc::new(Mutex::new(0usize));
        let mut flooders = tokio::task::JoinSet::new();
        if let Some(flood) = flood {
            self.flood(flood, stop, &bogus_refused, &mut flooders).await;
        }
        clients.join_all().await;
        flooders.abort_all();
        let elapsed = started.elapsed();
        let cpu = self.cpu_seconds().await - cpu_before;
        let ended = Instant::now();

        let t = std::mem::take(&mut *tally.lock().expect("not poisoned"));
        let mut latencies = t.latencies;
        latencies.sort();
        let signed = latencies.len();
        let quantile = |q: f64| {
            (!latencies.is_empty()).then(|| {
                let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
                latencies[i].as_secs_f64()
            })
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let (reshares_s, resharing) = {
            let seen = self.reshares.lock().expect("not poisoned");
            let overlapping: Vec<_> = seen
                .values()
                .filter(|(start, end)| *start < ended && end.is_none_or(|end| end > started))
                .collect();
            let done = overlapping
                .iter()
                .filter_map(|(start, end)| end.map(|end| (end - *start).as_secs_f64()))
                .collect::<Vec<f64>>();
            (done, !overlapping.is_empty())
        };
        // The TSSs' CPU per signature means that only while no reshare ran (AuxGen's CPU would
        // be counted as signing's).
        let cpu_per = (signed > 0 && cpu > 0.0 && !resharing).then(|| cpu / signed as f64);
        let bogus_refused = *bogus_refused.lock().expect("not poisoned");
        Level {
            label,
            concurrency,
            seconds: elapsed.as_secs_f64(),
            signed,
            refused: t.refused,
            failed: t.failed,
            first_failure: t.first_failure,
            throughput: signed as f64 / elapsed.as_secs_f64(),
            p50_s: quantile(0.5),
            p99_s: quantile(0.99),
            cpu_s_per_signature: cpu_per,
            cpu_bound: cpu_per.map(|c| cores / c),
            cpu_busy: cpu / (cores * elapsed.as_secs_f64()),
            resharing,
            reshares_s,
            bogus_refused,
        }
    }

    /// The CPU seconds all TSSs have used, from their `/metrics` (those that answer).
    async fn cpu_seconds(&self) -> f64 {
        let mut total = 0.0;
        for url in &self.tss {
            let Ok(reply) = self
                .http
                .get(format!("{}/metrics", url.trim_end_matches('/')))
                .send()
                .await
            else {
                continue;
            };
            let text = reply.text().await.unwrap_or_default();
            total += text
                .lines()
                .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
        }
        total
    }

    /// Starts the flood: bogus requests spread over the TSSs from 16 senders, and idle
    /// connections kept open at the first TSS's peer port (re-opened as the TSS closes them).
    async fn flood(
        &self,
        flood: Flood,
        stop: Instant,
        refused: &Arc<Mutex<usize>>,
        tasks: &mut tokio::task::JoinSet<()>,
    ) {
        const SENDERS: usize = 16;
        for s in 0..SENDERS {
            let (http, tss, genesis) = (self.http.clone(), self.tss.clone(), self.genesis);
            let (user, refused) = (self.users[0].clone(), refused.clone());
            let count = flood.bogus / SENDERS + usize::from(s < flood.bogus % SENDERS);
            tasks.spawn(async move {
                for i in 0..count {
                    if Instant::now() >= stop {
                        return;
                    }
                    let mut request = fresh_request(&user, genesis);
                    request.signature[0] ^= 1;
                    let url = format!("{}/v1/sign", tss[(s + i) % tss.len()].trim_end_matches('/'));
                    if let Ok(reply) = http.post(url).json(&request).send().await {
                        if reply.status().is_client_error() {
                            *refused.lock().expect("not poisoned") += 1;
                        }
                    }
                }
            });
        }
        if flood.idle_connections == 0 {
            return;
        }
        let Some(status) = client::tss_status(&self.http, self.tss[0].trim_end_matches('/')).await else {
            eprintln!("the first TSS gave no status: no idle connections");
            return;
        };
        let addr = status.peer_addr.clone();
        let holders = 32.min(flood.idle_connections);
        for h in 0..holders {
            let addr = addr.clone();
            let share = flood.idle_connections / holders + usize::from(h < flood.idle_connections % holders);
            tasks.spawn(async move {
                let mut open = Vec::with_capacity(share);
                while Instant::now() < stop {
                    open.retain(|c: &tokio::net::TcpStream| {
                        let mut byte = [0u8; 1];
                        !matches!(c.try_read(&mut byte), Ok(0))
                    });
                    while open.len() < share {
                        match tokio::net::TcpStream::connect(&addr).await {
                            Ok(c) => open.push(c),
                            Err(_) => break,
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            });
        }
    }
}

/// One client: requests for its own account, one at a time, spread over the TSSs.
struct Worker {
    http: reqwest::Client,
    tss: Vec<String>,
    genesis: [u8; 32],
    parent: Vec<u8>,
    user: Arc<PartySigner>,
    first: usize,
}

impl Worker {
    async fn run(&self, stop: Instant, tally: &Mutex<Tally>) {
        let mut k = self.first;
        while Instant::now() < stop {
            let url = format!("{}/v1/sign", self.tss[k % self.tss.len()].trim_end_matches('/'));
            k += 1;
            let request = fresh_request(&self.user, self.genesis);
            let sent = Instant::now();
            let reply = self
                .http
                .post(url)
                .json(&request)
                .timeout(Duration::from_secs(400))
                .send()
                .await;
            let outcome = match reply {
                Ok(reply) => {
                    let code = reply.status();
                    let retry_after = reply
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let body = reply.text().await.unwrap_or_default();
                    (code, retry_after, body)
                }
                Err(e) => {
                    fail(tally, format!("no answer: {e}"));
                    continue;
                }
            };
            match outcome {
                (code, _, body) if code.is_success() => match self.check(&request, &body) {
                    Ok(()) => tally.lock().expect("not poisoned").latencies.push(sent.elapsed()),
                    Err(e) => fail(tally, e),
                },
                (_, Some(seconds), _) => {
                    tally.lock().expect("not poisoned").refused += 1;
                    let wake = (Instant::now() + Duration::from_secs(seconds)).min(stop);
                    tokio::time::sleep_until(wake.into()).await;
                }
                (code, None, body) => fail(tally, format!("{code}: {body}")),
            }
        }
    }

    /// The answer verifies under the account's child key, for the request's bytes.
    fn check(&self, request: &SignRequest, body: &str) -> Result<(), String> {
        let response: SignResponse = serde_json::from_str(body).map_err(|e| format!("not a signature: {e}"))?;
        let prehash = request.prehash().map_err(|e| e.to_string())?;
        if response.prehash != prehash {
            return Err("signed other bytes".into());
        }
        verify_reply(&self.parent, &self.user.account(), &prehash, &response.signature).map(|_| ())
    }
}

fn fail(tally: &Mutex<Tally>, why: String) {
    let mut t = tally.lock().expect("not poisoned");
    t.failed += 1;
    t.first_failure.get_or_insert(why);
}

/// A request from `user` for random bytes, valid as long as `keywheel sign` makes them (a TSS
/// keeps time for its later rounds, which is long while a reshare is in flight).
fn fresh_request(user: &PartySigner, genesis: [u8; 32]) -> SignRequest {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    let mut hash = [0u8; 32];
    OsRng.fill_bytes(&mut hash);
    SignRequest::new(
        user,
        genesis,
        ToSign::Hash(hash),
        id,
        now_ms() + client::REQUEST_VALIDITY_MS,
    )
}

fn print_table(levels: &[Level]) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    println!(
        "| level | s | signed | refused (Retry-After) | failed | signatures/s | p50 s | p99 s | CPU s/signature | CPU bound /s | throughput / bound | CPU busy | reshares (s) | bogus refused |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for l in levels {
        let ratio = l
            .cpu_bound
            .map_or("-".to_string(), |b| format!("{:.0} %", 100.0 * l.throughput / b));
        let mut reshares: Vec<String> = l.reshares_s.iter().map(|s| format!("{s:.1}")).collect();
        if l.resharing && reshares.is_empty() {
            reshares.push("one in flight".into());
        }
        println!(
            "| {} | {:.0} | {} | {} | {} | {:.3} | {} | {} | {} | {} | {} | {:.0} % | {} | {} |",
            l.label,
            l.seconds,
            l.signed,
            l.refused,
            l.failed,
            l.throughput,
            opt(l.p50_s),
            opt(l.p99_s),
            opt(l.cpu_s_per_signature),
            opt(l.cpu_bound),
            ratio,
            100.0 * l.cpu_busy,
            if reshares.is_empty() {
                "-".into()
            } else {
                reshares.join(", ")
            },
            l.bogus_refused
        );
        if let Some(f) = &l.first_failure {
            println!("  first failure: {f}");
        }
    }
}
