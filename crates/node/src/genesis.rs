//! The genesis file (TOML): the network's name, root and author keys, parameters, balances and
//! validators with their TSS declarations.

use std::path::Path;

use keywheel_chain::encoding::hex_array;
use keywheel_chain::{AccountId, Balance, Genesis, Params, TssInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::NodeError;

/// A validator bonded and validating from genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The stash account.
    pub stash: AccountId,
    /// Bond taken out of the stash's genesis balance.
    pub bond: Balance,
    /// The TSS's own account.
    pub tss_account: AccountId,
    /// Where peers reach the TSS (`host:port`).
    pub endpoint: String,
    /// The TSS's x25519 transport key, hex.
    #[serde(with = "hex_array")]
    pub x25519: [u8; 32],
}

/// A funded account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBalance {
    /// The account.
    pub account: AccountId,
    /// Its free balance.
    pub amount: Balance,
}

/// The genesis file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisConfig {
    /// The network's name; its id is derived from it.
    pub name: String,
    /// The root (sudo) account: jumpstart and parameter changes.
    pub root: AccountId,
    /// The block author: its VRF key makes every block's randomness.
    pub author: AccountId,
    /// Chain parameters (omitted fields take the defaults).
    #[serde(default)]
    pub params: Params,
    /// Funded accounts.
    #[serde(default)]
    pub balances: Vec<GenesisBalance>,
    /// Validators from the start.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
}

impl GenesisConfig {
    /// Reads and checks a genesis TOML file.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|e| NodeError::Io {
            what: format!("read the genesis file {}", path.display()),
            source: e,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            NodeError::Genesis(why) => NodeError::Genesis(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    /// Parses and checks genesis TOML.
    pub fn from_toml(text: &str) -> Result<Self, NodeError> {
        let config: Self = toml::from_str(text).map_err(|e| NodeError::Genesis(e.to_string()))?;
        config.to_chain_genesis()?;
        Ok(config)
    }

    /// The TOML form.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the genesis config is plain data")
    }

    /// The network id: SHA-256 of the name under a domain tag.
    pub fn network_id(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(keywheel_primitives::domain::NETWORK_ID);
        hasher.update(self.name.as_bytes());
        hasher.finalize().into()
    }

    /// SHA-256 of the whole configuration's binary form: every extrinsic signs it, and the
    /// database records it, so nothing is ever replayed on or reused by another network.
    pub fn hash(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self).expect("the genesis config is plain data");
        let mut hasher = Sha256::new();
        hasher.update(keywheel_primitives::domain::GENESIS_HASH);
        hasher.update(bytes);
        hasher.finalize().into()
    }

    /// The chain rules' genesis (checked: parameters valid, balances cover bonds).
    pub fn to_chain_genesis(&self) -> Result<Genesis, NodeError> {
        if self.name.trim().is_empty() {
            return Err(NodeError::Genesis("`name` must not be empty".into()));
        }
        let genesis = Genesis {
            network: self.network_id(),
            params: self.params.clone(),
            balances: self.balances.iter().map(|b| (b.account, b.amount)).collect(),
            validators: self
                .validators
                .iter()
                .map(|v| {
                    let tss = TssInfo {
                        account: v.tss_account,
                        endpoint: v.endpoint.clone(),
                        x25519: v.x25519,
                    };
                    (v.stash, v.bond, tss)
                })
                .collect(),
        };
        keywheel_chain::Chain::new(genesis.clone())
            .map_err(|e| NodeError::Genesis(format!("the chain rules refuse it: {e}")))?;
        Ok(genesis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    fn toml_with(extra: &str) -> String {
        format!("name = \"t\"\nroot = \"{ALICE}\"\nauthor = \"{ALICE}\"\n{extra}")
    }

    #[test]
    fn minimal_genesis_takes_default_params() {
        let config = GenesisConfig::from_toml(&toml_with("")).unwrap();
        assert_eq!(config.params, Params::default());
        assert_eq!(GenesisConfig::from_toml(&config.to_toml()).unwrap(), config);
    }

    #[test]
    fn bad_genesis_files_are_named() {
        let unknown = GenesisConfig::from_toml(&toml_with("colour = 1")).unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");
        let bad_account = GenesisConfig::from_toml("name = \"t\"\nroot = \"5Abc\"\nauthor = \"5Abc\"").unwrap_err();
        assert!(bad_account.to_string().contains("SS58"), "{bad_account}");
        let bad_params = GenesisConfig::from_toml(&toml_with(
            "[params]\ncommittee_size = 3\nthreshold = 3\nsession_length = 10\nreshare_deadline = 5\nmax_attempts = 3\nslash_permill = 1\nbarred_sessions = 1\nunbonding_period = 1\nmin_bond = 1",
        ))
        .unwrap_err();
        assert!(bad_params.to_string().contains("refuse"), "{bad_params}");
        let unfunded_bond = GenesisConfig::from_toml(&toml_with(&format!(
            "[[validators]]\nstash = \"{ALICE}\"\nbond = 5000\ntss_account = \"{ALICE}\"\nendpoint = \"127.0.0.1:1\"\nx25519 = \"0x{}\"",
            "00".repeat(32)
        )))
        .unwrap_err();
        assert!(unfunded_bond.to_string().contains("balance"), "{unfunded_bond}");
    }
}
