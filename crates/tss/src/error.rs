//! The TSS's error type at its boundary: each says what went wrong and what to do.

use crate::keystore::KeystoreError;

/// Why the TSS cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum TssError {
    /// The keystore cannot be opened or used.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// A key file is unusable.
    #[error(transparent)]
    KeyFile(#[from] keywheel_rpc::keyfile::KeyFileError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The chain node cannot be reached or refused a request.
    #[error("chain node: {0}")]
    Node(String),
    /// A socket or file could not be used.
    #[error("could not {what}: {source}")]
    Io {
        /// What the TSS was doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A protocol operation failed locally (not a peer's fault).
    #[error(transparent)]
    Mpc(#[from] keywheel_mpc::MpcError),
}

impl TssError {
    /// An IO error with what the TSS was doing.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
