//! The TSS process: opens the identity and keystore, connects to the node, binds the peer
//! transport and the HTTP API, and runs the orchestrator and the signing job handler.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use keywheel_chain::{AttemptIndex, SessionIndex};
use tokio::task::JoinHandle;
use tracing::info;

use crate::chain::ChainClient;
use crate::config::TssConfig;
use crate::error::TssError;
use crate::identity::Identity;
use crate::keystore::{Keystore, KEYSTORE_FILE};
use crate::metrics::Metrics;
use crate::orchestrator::{self, AttemptReport};
use crate::signing::{self, ReplayCache, Waiters};
use crate::transport::Transport;
use crate::wire::Frame;

/// How long the TSS waits for its node at start.
const NODE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// What the orchestrator, the signing code and the API share.
pub struct Shared {
    pub(crate) identity: Identity,
    keystore: Mutex<Keystore>,
    pub(crate) chain: ChainClient,
    pub(crate) transport: Transport,
    pub(crate) metrics: Arc<Metrics>,
    /// The attempt whose protocol runs now.
    pub(crate) running: Mutex<Option<(SessionIndex, AttemptIndex)>>,
    pub(crate) last_attempt: Mutex<Option<AttemptReport>>,
    pub(crate) chain_session: Mutex<Option<SessionIndex>>,
    #[cfg(feature = "fault-injection")]
    pub(crate) fault: Option<crate::fault::FaultSwitch>,
    waiters: Mutex<Waiters>,
    requests_seen: Mutex<ReplayCache>,
    jobs_seen: Mutex<ReplayCache>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn keystore(&self) -> MutexGuard<'_, Keystore> {
        lock(&self.keystore)
    }

    pub(crate) fn running(&self) -> Option<(SessionIndex, AttemptIndex)> {
        *lock(&self.running)
    }

    pub(crate) fn waiters(&self) -> MutexGuard<'_, Waiters> {
        lock(&self.waiters)
    }

    pub(crate) fn requests_seen(&self) -> MutexGuard<'_, ReplayCache> {
        lock(&self.requests_seen)
    }

    pub(crate) fn jobs_seen(&self) -> MutexGuard<'_, ReplayCache> {
        lock(&self.jobs_seen)
    }
}

/// A running TSS.
pub struct TssHandle {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TssHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TssHandle")
            .field("account", &self.shared.identity.account())
            .field("api", &self.api_addr)
            .finish_non_exhaustive()
    }
}

impl TssHandle {
    /// Where the HTTP API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where peers connect.
    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.transport.local_addr()
    }

    /// The TSS's identity.
    pub fn identity(&self) -> &Identity {
        &self.shared.identity
    }

    /// Stops every task; the keystore closes when the last reference goes.
    pub fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts a TSS with `config`.
pub async fn start(config: TssConfig) -> Result<TssHandle, TssError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| TssError::io(format!("create the data directory {}", config.data_dir.display()), e))?;
    let identity = Identity::load_or_generate(&config.data_dir)?;
    let keystore = Keystore::open(
        &config.data_dir.join(KEYSTORE_FILE),
        identity.account(),
        &config.key_source()?,
    )?;
    let chain = ChainClient::connect(&config.node_url, identity.signer().clone(), NODE_PATIENCE).await?;
    let metrics = Arc::new(Metrics::default());
    let (transport, mut control) =
        Transport::bind(identity.clone(), chain.network(), config.p2p_listen, metrics.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .map_err(|e| TssError::io(format!("listen for the HTTP API on {}", config.api_listen), e))?;
    let api_addr = listener
        .local_addr()
        .map_err(|e| TssError::io("read the API address", e))?;
    let shared = Arc::new(Shared {
        identity,
        keystore: Mutex::new(keystore),
        chain,
        transport,
        metrics,
        running: Mutex::new(None),
        last_attempt: Mutex::new(None),
        chain_session: Mutex::new(None),
        #[cfg(feature = "fault-injection")]
        fault: config.fault,
        waiters: Mutex::new(Waiters::new()),
        requests_seen: Mutex::new(ReplayCache::default()),
        jobs_seen: Mutex::new(ReplayCache::default()),
    });
    info!(
        account = %shared.identity.account().to_ss58(),
        peers = %shared.transport.local_addr(),
        api = %api_addr,
        "TSS started"
    );

    let mut tasks = vec![tokio::spawn(orchestrator::run(shared.clone()))];
    let jobs = shared.clone();
    tasks.push(tokio::spawn(async move {
        while let Some((from, frame)) = control.recv().await {
            match frame {
                Frame::SignJob(job) => {
                    let shared = jobs.clone();
                    tokio::spawn(async move { signing::handle_job(&shared, from, job).await });
                }
                Frame::SignOutcome(outcome) => signing::deliver_outcome(&jobs, from, outcome).await,
                Frame::Protocol { .. } => {}
            }
        }
    }));
    let app = crate::api::router(shared.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the HTTP API stopped: {e}");
        }
    }));
    Ok(TssHandle {
        shared,
        api_addr,
        tasks,
    })
}
