//! Combinators operating on protocols.

pub mod chain;
pub mod misbehave;
