//! How a TSS runs: a TOML file, overridden by command-line flags. Every default works on one
//! machine (loopback addresses, a data directory under the current directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// Where to read a deliberate fault from (`run --fault-file`, builds with
    /// `fault-injection` only; never from a configuration file).
    #[cfg(feature = "fault-injection")]
    #[serde(skip)]
    pub fault: Option<crate::fault::FaultSwitch>,
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
            #[cfg(feature = "fault-injection")]
            fault: None,
        }
    }
}

impl TssConfig {
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
    }
}
