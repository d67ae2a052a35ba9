//! keywheel's Threshold Signature Server: the process each validator runs next to its node.
//!
//! It holds a share of the parent network key, takes part in jumpstart and every reshare when
//! the chain says so, rotates only when the chain says every new member confirmed, reports
//! offenders, and signs for users' child keys.
//!
//! - [`identity`]: the TSS's sr25519 account and x25519 transport key, made on first start;
//! - [`keystore`]: the encrypted two-slot store (`current` and the holding slot `next`);
//! - [`wire`]: the versioned frames peers exchange;
//! - [`transport`]: Noise XX over TCP between the TSSs declared on chain, routing protocol
//!   messages to the session they are tagged for;
//! - [`chain`]: the node client (queries, signed submissions, event subscription);
//! - [`orchestrator`]: follows the chain and runs jumpstart, reshare, confirm, rotate, report;
//! - [`signing`]: signing requests, their checks, and the coordination of `t` signers;
//! - [`api`]: the HTTP API (`/v1/sign`, `/v1/status`, `/metrics`);
//! - [`cli`]: the command line of `keywheel-tss` and `keywheel tss`;
//! - [`fault`] (feature `fault-injection`): the silent and malicious switches of devnet runs;
//! - [`service`]: wires it all together ([`service::start`]); [`config`]: its configuration.

pub mod api;
pub mod chain;
pub mod cli;
pub mod config;
pub mod error;
pub mod fault;
pub mod identity;
pub mod keystore;
pub mod metrics;
pub mod orchestrator;
pub mod resources;
pub mod service;
pub mod signing;
mod sync;
pub mod transport;
pub mod wire;

pub use config::TssConfig;
pub use error::TssError;
pub use service::{start, TssHandle};

/// The scheme parameters every TSS runs: the chain verifies sharings and proofs on secp256k1.
pub type P = keywheel_mpc::ProductionParams;
