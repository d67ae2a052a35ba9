//! Why the keystore cannot be opened or used.

use super::records::{ChainBinding, HighWater, FORMAT};
use std::path::PathBuf;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};

/// Why the keystore cannot be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// A replacement of the current record that is not of the current share.
    #[error("the replacement is not of the share the current slot holds; nothing was written")]
    NotTheCurrentShare,
    /// Another process holds the file.
    #[error("the keystore {0} is in use by another process (is another TSS running on this data directory?)")]
    InUse(PathBuf),
    /// The file is not a keystore, or is damaged beyond reading.
    #[error("the keystore {path} is damaged or not a keystore ({reason}); restore it from a backup")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What redb or the check said.
        reason: String,
    },
    /// The file is a keystore of another layout version.
    #[error(
        "the keystore {path} has format {found}, and this TSS reads format {FORMAT} only (it does not migrate \
         keystores); re-initialise: move the file aside and start the TSS again to make a new keystore"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// The format it has.
        found: u16,
    },
    /// The key does not open the keystore.
    #[error("the keystore {0} does not open with this key: wrong passphrase or key file (or its header was altered)")]
    WrongKey(PathBuf),
    /// The keystore was made with the other kind of key.
    #[error("the keystore {path} was made with {made_with}; configure that instead")]
    WrongKeyKind {
        /// The file.
        path: PathBuf,
        /// What it was made with.
        made_with: &'static str,
    },
    /// It belongs to another TSS account.
    #[error("the keystore {path} belongs to TSS account {owner}, not to this TSS's account")]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: AccountId,
    },
    /// A sealed record does not open although the key is right, is missing although the index
    /// names it, is present although the index does not, or is an older version of itself.
    #[error("the keystore {path}: record `{record}` {what}; restore the keystore from a backup")]
    Tampered {
        /// The file.
        path: PathBuf,
        /// Which record.
        record: String,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A rotation was asked for with an empty holding slot.
    #[error("nothing to rotate: the holding slot `next` is empty")]
    NothingToRotate,
    /// The keystore belongs to another chain than the one it is asked to bind to.
    #[error(
        "the keystore {path} belongs to the chain with {bound}, and the node serves the chain with {offered}: \
         point the TSS at a node of its own chain, or give a TSS of the other chain its own data directory"
    )]
    OtherChain {
        /// The file.
        path: PathBuf,
        /// The chain it is bound to.
        bound: Box<ChainBinding>,
        /// The chain it was asked to bind to.
        offered: Box<ChainBinding>,
    },
    /// The chain is shown at a point behind (or beside) what this TSS saw of it before.
    #[error(
        "the keystore {path} has seen the chain up to {seen}, and is now shown {offered}: the node is behind what \
         this TSS saw (restored from an older backup?) or on another fork; let the node sync past what the TSS \
         saw, or check that it serves the same chain"
    )]
    Behind {
        /// The file.
        path: PathBuf,
        /// The highest point recorded.
        seen: Box<HighWater>,
        /// The point offered.
        offered: Box<HighWater>,
    },
    /// An attempt earlier than the last one this TSS began was to be recorded as begun.
    #[error(
        "the keystore {path} records that this TSS began attempt {} of session {}, and will not record the \
         earlier attempt {} of session {}: the chain it follows is behind what it saw (a node restored from an \
         older backup?); let the node sync to the chain it followed before",
        .started.1, .started.0, .offered.1, .offered.0
    )]
    StartedBehind {
        /// The file.
        path: PathBuf,
        /// The last attempt begun: (session, attempt).
        started: (SessionIndex, AttemptIndex),
        /// The attempt offered: (session, attempt).
        offered: (SessionIndex, AttemptIndex),
    },
    /// The key material could not be derived.
    #[error("keystore key: {0}")]
    Key(String),
    /// redb failed while the file was open.
    #[error("keystore storage: {0}")]
    Storage(String),
}

pub(super) fn storage(e: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::Storage(e.to_string())
}
