//! The node's error type: each says what went wrong and what to do.

use std::path::PathBuf;

/// Why the node cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A file could not be read or written.
    #[error("could not {what}: {source}")]
    Io {
        /// What the node was doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The genesis file is unusable.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// A key file is unusable.
    #[error(transparent)]
    KeyFile(#[from] keywheel_rpc::keyfile::KeyFileError),
    /// The author key does not belong to the genesis author.
    #[error("the author key is for {key}, but the genesis names {genesis} as author; use that account's key file")]
    WrongAuthor {
        /// The key's account.
        key: String,
        /// The genesis author.
        genesis: String,
    },
    /// Another process holds the database.
    #[error("the database {0} is in use by another process (is another node running on this data directory?)")]
    InUse(PathBuf),
    /// The database file cannot be opened as a database at all.
    #[error("the database {path} is damaged or not a database ({reason}); move it away to start a fresh chain, or restore a backup")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the storage engine said.
        reason: String,
    },
    /// A database of some other program.
    #[error("{0} is not a keywheel node database; point --data-dir somewhere else")]
    Foreign(PathBuf),
    /// A keywheel database of another network.
    #[error("the database {path} belongs to the network with genesis {found}, not to this genesis ({expected}); use another --data-dir for this network")]
    WrongNetwork {
        /// The file.
        path: PathBuf,
        /// Genesis hash recorded in the file.
        found: String,
        /// Genesis hash of the given genesis file.
        expected: String,
    },
    /// Stored data fails its own checks.
    #[error("the database {path} is corrupted: {what}; restore a backup or move it away to start a fresh chain")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Which check failed.
        what: String,
    },
    /// A storage operation failed while running.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The RPC server could not start.
    #[error("could not start the RPC server on {addr}: {reason}")]
    Rpc {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}
