//! keywheel's embedded dev chain: the process a devnet runs on, as `substrate --dev` or anvil
//! are for theirs.
//!
//! - [`runtime`]: the chain rules plus nonces, one block being built at a time (no IO);
//! - [`author`]: the block author's VRF, which makes each block's randomness;
//! - [`store`]: blocks and state in redb, checked when read;
//! - [`genesis`]: the genesis TOML file;
//! - [`service`]: block production and the JSON-RPC server ([`start`]);
//! - [`cli`]: the command line of `keywheel-node` and `keywheel node`;
//! - [`keyfile`]: sr25519 seeds in owner-only files (shared with the TSS, from `keywheel-rpc`).

pub mod author;
pub mod cli;
pub mod error;
pub mod genesis;
pub mod runtime;
pub mod service;
pub mod store;

pub use error::NodeError;
pub use genesis::GenesisConfig;
pub use keywheel_rpc::keyfile;
pub use service::{start, NodeConfig, NodeHandle, DEFAULT_BLOCK_TIME, DEFAULT_RPC_ADDR};
