//! `pallet-keywheel`'s tests, in one binary (each test binary expands the whole mock runtime):
//!
//! - `rules`, `blame`, `properties`: `keywheel-chain`'s rule tests, unchanged, run through the
//!   pallet in a mock runtime. Every step is applied to the dev node's chain and to the pallet,
//!   and the harness checks after each that events or errors, storage and balances agree (see
//!   `harness`). The property tests among them (random calls, blocks and faults) are the
//!   differential test;
//! - `runtime`: what only the pallet does.

// Each included test file declares `support` as it does in its own crate; the mock runtime
// takes its `TestCrypto` from the copy here.
#![allow(clippy::duplicate_mod)]

mod harness;
#[path = "../../chain/tests/support/mod.rs"]
mod support;

#[path = "../../chain/tests/rules.rs"]
mod rules;

#[path = "../../chain/tests/blame.rs"]
mod blame;

#[path = "../../chain/tests/properties.rs"]
mod properties;

#[path = "pallet/runtime.rs"]
mod runtime;
