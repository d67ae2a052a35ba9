//! Why a peer connection failed.

use keywheel_chain::AccountId;

use crate::wire::MAX_FRAME_BYTES;

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The socket failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The Noise handshake or a decryption failed.
    #[error("noise: {0}")]
    Noise(String),
    /// The peer announced a frame over the limit.
    #[error("the peer announced a frame of {0} bytes, over the limit of {MAX_FRAME_BYTES}")]
    Oversized(usize),
    /// The peer broke the framing.
    #[error("framing: {0}")]
    Framing(String),
    /// The dialled peer is not who the chain says is at that endpoint.
    #[error("the peer at {endpoint} answered with a key not declared for {peer:?}")]
    WrongPeer {
        /// The endpoint dialled.
        endpoint: String,
        /// Who was expected.
        peer: AccountId,
    },
    /// No declaration for the peer.
    #[error("no TSS declaration known for {0:?}")]
    UnknownPeer(AccountId),
    /// The handshake took too long.
    #[error("handshake timed out")]
    Timeout,
    /// The peer started no frame for this long.
    #[error("no frame for {0:?}")]
    Idle(std::time::Duration),
    /// A frame did not arrive whole in this long.
    #[error("a frame took longer than {0:?}")]
    SlowFrame(std::time::Duration),
}
