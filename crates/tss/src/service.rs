//! The TSS process: opens the identity and keystore, connects to the node, binds the peer
//! transport and the HTTP API, and runs the orchestrator and the signing job handler.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::info;

use crate::api::{self, ApiState};
use crate::chain::ChainClient;
use crate::config::TssConfig;
use crate::error::TssError;
use crate::identity::Identity;
use crate::keystore::{Keystore, KEYSTORE_FILE};
use crate::metrics::Metrics;
use crate::orchestrator::{FollowRules, Orchestrator};
use crate::resources::Resources;
use crate::signing::Signing;
use crate::transport::Transport;

/// How long the TSS waits for its node at start.
const NODE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// A running TSS.
pub struct TssHandle {
    res: Arc<Resources>,
    api_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TssHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TssHandle")
            .field("account", &self.res.identity.account())
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
        self.res.transport.local_addr()
    }

    /// The TSS's identity.
    pub fn identity(&self) -> &Identity {
        &self.res.identity
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
    config.check_node_url()?;
    // Owner-only: it holds the identity keys, the keystore and perhaps the keystore's key file.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .map_err(|e| TssError::io(format!("create the data directory {}", config.data_dir.display()), e))?;
    let identity = Identity::load_or_generate(&config.data_dir)?;
    let keystore = Keystore::open(
        &config.data_dir.join(KEYSTORE_FILE),
        identity.account(),
        &config.key_source()?,
    )?;
    let chain = ChainClient::connect(&config.node_url, identity.signer().clone(), NODE_PATIENCE).await?;
    let metrics = Arc::new(Metrics::default());
    let (transport, control) =
        Transport::bind(identity.clone(), chain.network(), config.p2p_listen, metrics.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .map_err(|e| TssError::io(format!("listen for the HTTP API on {}", config.api_listen), e))?;
    let api_addr = listener
        .local_addr()
        .map_err(|e| TssError::io("read the API address", e))?;
    let res = Arc::new(Resources::new(
        identity,
        keystore,
        chain,
        transport,
        metrics,
        config.signing_backend,
    ));
    info!(
        account = %res.identity.account().to_ss58(),
        peers = %res.transport.local_addr(),
        api = %api_addr,
        "TSS started"
    );

    let orchestrator = Arc::new(Orchestrator::new(
        res.clone(),
        config.faults(),
        FollowRules {
            pinned_genesis: config.genesis_hash,
            keep_retired_sessions: config.keep_retired_sessions,
        },
    ));
    let signing = Arc::new(
        Signing::new(res.clone(), config.admission_limits(), config.counterpart_cost())
            .map_err(|e| TssError::io("start the signing runtime".to_string(), e))?,
    );
    let app = api::router(ApiState::new(res.clone(), orchestrator.clone(), signing.clone()));
    let tasks = vec![
        tokio::spawn(orchestrator.run()),
        tokio::spawn(async move { signing.serve(control).await }),
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the HTTP API stopped: {e}");
            }
        }),
    ];
    Ok(TssHandle { res, api_addr, tasks })
}
