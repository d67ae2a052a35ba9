//! The error type at `keywheel-mpc`'s boundary.

use crate::identity::AccountId;
use crate::prelude::*;

/// Everything that can go wrong locally while running a protocol. Faults of other parties are
/// not errors: they are reported as offenders in [`crate::driver::Outcome::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum MpcError {
    /// The caller passed inconsistent inputs (committee, threshold, shares).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A value could not be serialized.
    #[error("could not encode: {0}")]
    Encode(String),
    /// Bytes from outside could not be decoded.
    #[error("could not decode: {0}")]
    Decode(String),
    /// Converting between keywheel's and synedrion's share forms failed.
    #[error("share conversion failed: {0}; the synedrion version may not match the pinned one")]
    Conversion(String),
    /// A protocol library reported an internal error (a bug, not a peer fault).
    #[error("protocol error in session {session}: {message}")]
    Protocol {
        /// Session kind and id.
        session: String,
        /// What the library said.
        message: String,
    },
    /// A protocol library panicked; the session was ended and the process kept running.
    #[error("a protocol task panicked in session {session}: {message}")]
    Panicked {
        /// Session kind and id.
        session: String,
        /// The panic message.
        message: String,
    },
    /// The transport closed its channel before the session ended.
    #[error("the message channel of session {0} closed; is the transport still running?")]
    ChannelClosed(String),
    /// Evidence did not prove what it claims.
    #[error("evidence against {offender:?} does not verify: {reason}")]
    InvalidEvidence {
        /// The party the evidence accuses.
        offender: AccountId,
        /// Why it does not verify.
        reason: String,
    },
    /// A signature produced by the protocol does not verify under the child key.
    #[error("the produced signature does not verify under the child key")]
    BadSignature,
    /// Child key derivation failed.
    #[error("child key derivation failed: {0}")]
    Derivation(String),
}

impl MpcError {
    pub(crate) fn encode(err: impl core::fmt::Display) -> Self {
        Self::Encode(err.to_string())
    }
}
