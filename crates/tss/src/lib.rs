//! keywheel's Threshold Signature Server: the process each validator runs next to its node.
//!
//! It holds a share of the parent network key, takes part in jumpstart and every reshare when
//! the chain says so, rotates only when the chain says every new member confirmed, reports
//! offenders, and signs for users' child keys.
//!
//! Subsystems own their state and form a DAG (`tests/module_graph.rs` checks it), leaves first:
//!
//! - [`identity`], [`keystore`] (the encrypted two-slot store: `current` and the holding slot
//!   `next`), [`metrics`], [`config`], [`error`], `sync` (the one poison-recovering lock);
//! - [`wire`]: the versioned frames peers exchange;
//! - [`transport`]: Noise XX over TCP between the TSSs declared on chain, routing protocol
//!   messages to the protocol session they are tagged for;
//! - [`chain`]: the node client (queries, signed submissions followed to a sealed block, events);
//! - [`resources`]: the handles the subsystems share (identity, keystore, chain, transport,
//!   metrics);
//! - [`fault`]: how a rotation's reshare runs — honestly, or (feature `fault-injection`, devnet
//!   runs only) silent or malicious;
//! - [`orchestrator`]: follows the chain and runs jumpstart, reshare, confirm, rotate, report;
//! - [`signing`]: the coordinator and the signer of users' sign requests
//!   (`keywheel_rpc::sign_request`);
//! - [`api`]: the HTTP API (`/v1/sign`, `/v1/status`, `/metrics`);
//! - [`service`]: builds them all ([`service::start`]); nothing imports it; [`cli`]: the command
//!   line of `keywheel-tss` and `keywheel tss`.

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
