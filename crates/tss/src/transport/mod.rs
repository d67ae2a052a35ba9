//! The peer transport: TCP with Noise XX (`Noise_XX_25519_ChaChaPoly_BLAKE2s`), keyed with the
//! x25519 keys validators declare on chain.
//!
//! - A connection is accepted only from a key the [`Directory`] (the chain's TSS declarations)
//!   knows, and a dialled peer must answer with the key declared for it.
//! - Inbound, handshakes in progress are capped (overall and per address) and timed out; each
//!   account keeps one authenticated connection (the newest); a connection that starts no frame
//!   for the idle time, or trickles one, is closed; a directory change closes the connections of
//!   accounts that left it or changed their key (`inbound`). Frame buffers grow as bytes arrive.
//! - Each frame is sent as a 4-byte length (refused above [`MAX_FRAME_BYTES`]) and chunks, each
//!   a Noise message with a 2-byte length on the wire.
//! - Protocol frames are routed by their [`Tag`] to the session opened for it, only if the
//!   sender is one of that session's participants. Frames for sessions not opened yet are
//!   buffered, bounded overall and per peer (bytes with a per-frame overhead, sessions waited
//!   for, frames per session) and expired oldest first; frames tagged for an attempt older than
//!   the one in flight are dropped.
//! - Each peer has one outbound connection, re-dialled with backoff when it breaks, and its own
//!   queue: a frame not delivered within [`FRAME_TTL`] of being queued is dropped, and a frame
//!   for a peer whose queue is full is dropped at once (both counted), so one peer that cannot
//!   be reached never holds up the frames for the others. Outbound connections carry nothing
//!   back, so one that turns readable has been closed by the peer (it died or restarted): it is
//!   re-dialled before the next frame instead of swallowing it.
//! - A peer whose last dial failed is [`Transport::unreachable`] until a dial succeeds;
//!   [`Transport::probe`] dials it again without sending anything. The signing coordinator uses
//!   both to keep a member that is down out of its picks.
//!
//! Modules, leaves first: [`error`](TransportError), `noise` (handshake and framing),
//! `directory`, `router` (pure: which frame goes where), `inbound` (pure: which connections are
//! kept), `state` (what the tasks share),
//! `dialer` (outbound), `listener` (inbound), `handle` ([`Transport`]) and `protocol_net`
//! ([`ProtocolNet`], the session driver's network).

mod dialer;
mod directory;
mod error;
mod handle;
mod inbound;
mod listener;
mod noise;
mod protocol_net;
mod router;
mod state;

pub use dialer::FRAME_TTL;
pub use directory::{Directory, Peer};
pub use error::TransportError;
pub use handle::Transport;
pub use protocol_net::ProtocolNet;

#[cfg(test)]
mod tests;
