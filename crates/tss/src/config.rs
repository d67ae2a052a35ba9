//! How a TSS runs: a TOML file, overridden by command-line flags. Every default works on one
//! machine (loopback addresses, a data directory under the current directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use keywheel_mpc::backend::BackendKind;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::TssError;
use crate::keystore::KeySource;

/// The environment variable a keystore passphrase is read from.
pub const PASSPHRASE_ENV: &str = "KEYWHEEL_TSS_PASSPHRASE";
/// The key file made in the data directory when neither a key file nor a passphrase is given.
pub const DEFAULT_KEY_FILE: &str = "keystore.key";

/// A TSS's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TssConfig {
    /// Where the keys and the keystore live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The node's WebSocket JSON-RPC address.
    #[serde(default = "default_node_url")]
    pub node_url: String,
    /// Where peers connect (the endpoint the validator declares on chain).
    #[serde(default = "default_p2p")]
    pub p2p_listen: SocketAddr,
    /// Where the HTTP API (`/v1/sign`, `/v1/status`, `/metrics`) listens.
    #[serde(default = "default_api")]
    pub api_listen: SocketAddr,
    /// The keystore's key file (64 hex digits, mode 0600). Without it the passphrase in
    /// `KEYWHEEL_TSS_PASSPHRASE` is used; without that, a key file is made in the data
    /// directory (fine for a devnet; keep a production key elsewhere).
    #[serde(default)]
    pub keystore_key_file: Option<PathBuf>,
    /// The genesis hash of the network this TSS serves: a node of another genesis is never
    /// followed, even on the very first start (before the keystore is bound to a chain).
    #[serde(
        default,
        with = "keywheel_chain::encoding::hex_opt_array",
        skip_serializing_if = "Option::is_none"
    )]
    pub genesis_hash: Option<[u8; 32]>,
    /// Follow a node over plain `ws://` on a non-loopback address (anyone on the path could
    /// then answer for the node). Off by default.
    #[serde(default)]
    pub insecure_node: bool,
    /// How many chain sessions a retired share is kept after the rotation that retired it,
    /// before it is shredded (the chain must have been checked at each step).
    #[serde(default = "default_keep_retired")]
    pub keep_retired_sessions: u32,
    /// Sign requests this TSS coordinates at once (default: the machine's cores); the others
    /// admitted wait in arrival order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_concurrency: Option<usize>,
    /// Sign requests admitted at once, running or waiting (default: 32 per concurrent
    /// request); past it, `503` with `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_queue: Option<usize>,
    /// The CPU time (ms) one signer spends on one counterpart, which signing round timeouts
    /// derive from (default: `signing::DEFAULT_COUNTERPART_COST`). Every TSS of a network
    /// should use the same value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_counterpart_ms: Option<u64>,
    /// The signing backend this TSS gives the keys it makes at a jumpstart or reshare
    /// (`synedrion` or `dkls23`); a key it holds signs on the backend it was made for. Every
    /// TSS of a network must use the same value: a member whose setup differs from the others'
    /// gets no new key, does not confirm, and is punished for it.
    #[serde(default = "default_backend")]
    pub signing_backend: BackendKind,
    /// Where to read a deliberate fault from (`run --fault-file`, builds with
    /// `fault-injection` only; never from a configuration file).
    #[cfg(feature = "fault-injection")]
    #[serde(skip)]
    pub fault: Option<crate::fault::FaultSwitch>,
}

fn default_backend() -> BackendKind {
    BackendKind::Synedrion
}

fn default_keep_retired() -> u32 {
    2
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("keywheel-tss")
}

fn default_node_url() -> String {
    "ws://127.0.0.1:9944".into()
}

fn default_p2p() -> SocketAddr {
    "127.0.0.1:7100".parse().expect("a valid address")
}

fn default_api() -> SocketAddr {
    "127.0.0.1:8100".parse().expect("a valid address")
}

impl Default for TssConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            node_url: default_node_url(),
            p2p_listen: default_p2p(),
            api_listen: default_api(),
            keystore_key_file: None,
            genesis_hash: None,
            insecure_node: false,
            keep_retired_sessions: default_keep_retired(),
            sign_concurrency: None,
            sign_queue: None,
            sign_counterpart_ms: None,
            signing_backend: default_backend(),
            #[cfg(feature = "fault-injection")]
            fault: None,
        }
    }
}

impl TssConfig {
    /// One signer's work for one counterpart, which signing round timeouts derive from.
    pub fn counterpart_cost(&self) -> std::time::Duration {
        self.sign_counterpart_ms.map_or(
            crate::signing::DEFAULT_COUNTERPART_COST,
            std::time::Duration::from_millis,
        )
    }

    /// The signing admission limits this configuration asks for.
    pub fn admission_limits(&self) -> crate::signing::admission::AdmissionLimits {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut limits = crate::signing::admission::AdmissionLimits::for_cores(self.sign_concurrency.unwrap_or(cores));
        if let Some(queue) = self.sign_queue {
            limits.admitted = queue.max(1);
        }
        limits
    }

    /// Refuses a node address anyone on the path could answer for: plain `ws://` to a host
    /// that is not loopback, unless `insecure_node` says the operator knows.
    pub fn check_node_url(&self) -> Result<(), TssError> {
        let url = self.node_url.trim();
        let Some(rest) = url.strip_prefix("ws://") else {
            return if url.starts_with("wss://") {
                Ok(())
            } else {
                Err(TssError::Config(format!(
                    "the node address `{url}` is not a ws:// or wss:// URL"
                )))
            };
        };
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.insecure_node {
            Ok(())
        } else {
            Err(TssError::Config(format!(
                "the node address `{url}` is plain ws:// to a host that is not this machine: anyone on the path \
                 could answer for the node; use wss://, a loopback address, or --insecure-node if you accept that"
            )))
        }
    }

    /// The faults this configuration arms (none in a build without `fault-injection`).
    pub fn faults(&self) -> crate::fault::Faults {
        #[cfg(feature = "fault-injection")]
        return crate::fault::Faults::new(self.fault.clone());
        #[cfg(not(feature = "fault-injection"))]
        crate::fault::Faults::default()
    }

    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self, TssError> {
        let text = std::fs::read_to_string(path).map_err(|e| TssError::io(format!("read {}", path.display()), e))?;
        toml::from_str(&text).map_err(|e| TssError::Config(format!("{}: {e}", path.display())))
    }

    /// Where the keystore's key comes from (see [`TssConfig::keystore_key_file`]).
    pub fn key_source(&self) -> Result<KeySource, TssError> {
        if let Some(file) = &self.keystore_key_file {
            return Ok(KeySource::KeyFile(file.clone()));
        }
        if let Ok(passphrase) = std::env::var(PASSPHRASE_ENV) {
            if passphrase.is_empty() {
                return Err(TssError::Config(format!("{PASSPHRASE_ENV} is set but empty")));
            }
            return Ok(KeySource::Passphrase(Zeroizing::new(passphrase)));
        }
        let file = self.data_dir.join(DEFAULT_KEY_FILE);
        if !file.exists() {
            let mut seed = Zeroizing::new([0u8; 32]);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, seed.as_mut());
            keywheel_rpc::keyfile::write_seed(&file, &seed)?;
        }
        Ok(KeySource::KeyFile(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_fields_take_loopback_defaults_and_unknown_ones_are_refused() {
        let config: TssConfig = toml::from_str("data_dir = \"/tmp/x\"").unwrap();
        assert_eq!(config.api_listen, default_api());
        assert!(config.p2p_listen.ip().is_loopback());
        assert!(toml::from_str::<TssConfig>("colour = \"blue\"").is_err());
        assert_eq!(config.keep_retired_sessions, 2);
        assert!(!config.insecure_node);
        let pinned: TssConfig = toml::from_str(&format!("genesis_hash = \"0x{}\"", "ab".repeat(32))).unwrap();
        assert_eq!(pinned.genesis_hash, Some([0xab; 32]));
        assert!(toml::from_str::<TssConfig>("genesis_hash = \"0x12\"").is_err());
    }

    #[test]
    fn plain_ws_is_refused_off_this_machine_unless_the_operator_says_so() {
        let with = |url: &str, insecure| TssConfig {
            node_url: url.into(),
            insecure_node: insecure,
            ..TssConfig::default()
        };
        for ok in [
            "ws://127.0.0.1:9944",
            "ws://localhost:9944",
            "ws://[::1]:9944/",
            "wss://node.example:443",
        ] {
            assert!(with(ok, false).check_node_url().is_ok(), "{ok}");
        }
        for refused in [
            "ws://10.0.0.5:9944",
            "ws://node.example:9944",
            "http://127.0.0.1:9944",
            "ws://127.0.0.1.evil:1",
        ] {
            let err = with(refused, false).check_node_url().unwrap_err().to_string();
            assert!(err.contains(refused), "{err}");
        }
        assert!(with("ws://10.0.0.5:9944", true).check_node_url().is_ok());
    }
}
