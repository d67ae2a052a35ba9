//! Inbound connections: accept within the bounds of [`InboundLimits`], run the responder's
//! handshake, refuse a key no TSS declared, keep one connection per account, then read frames —
//! protocol frames to the router, control frames (signing jobs and outcomes) to the TSS — until
//! the peer goes idle, trickles a frame, or is replaced.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tracing::{debug, warn};

use super::error::TransportError;
use super::inbound::Refusal;
use super::noise::NoiseStream;
use super::state::TransportState;
use crate::metrics::{count, ConnectionEnd, Dropped};
use crate::wire::{decode_frame, Frame};

/// How long the listener waits after a failed `accept` (out of file descriptors, say) before the
/// next one, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections for as long as the transport lives.
pub(super) async fn accept(state: Weak<TransportState>, listener: TcpListener) {
    loop {
        let accepted = listener.accept().await;
        let Some(state) = state.upgrade() else { return };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                count(&state.metrics.accept_errors);
                warn!("accepting a peer connection failed: {e}; backing off");
                drop(state);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let admitted = state.inbound.lock().admit(addr.ip(), &state.limits);
        match admitted {
            Ok(()) => {
                tokio::spawn(async move { serve(state, stream, addr).await });
            }
            Err(refusal) => {
                let why = match refusal {
                    Refusal::Busy => ConnectionEnd::Busy,
                    Refusal::BusyAddress => ConnectionEnd::BusyAddress,
                };
                state.metrics.connection_closed(why);
                debug!(%addr, ?refusal, "refused a connection");
            }
        }
    }
}

/// Serves one admitted connection: its handshake slot is given back when the handshake ends.
async fn serve(state: Arc<TransportState>, stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let handshake = tokio::time::timeout(
        state.limits.handshake,
        NoiseStream::respond(stream, state.identity.x25519_secret(), &state.network),
    )
    .await;
    state.inbound.lock().handshake_over(addr.ip());
    let mut noise = match handshake {
        Ok(Ok(noise)) => noise,
        Ok(Err(e)) => {
            debug!(%addr, "handshake failed: {e}");
            return;
        }
        Err(_) => {
            state.metrics.connection_closed(ConnectionEnd::HandshakeTimeout);
            debug!(%addr, "handshake timed out");
            return;
        }
    };
    let key = noise.remote_key();
    let known = state.directory.lock().account_of(&key);
    let Some(from) = known else {
        count(&state.metrics.unknown_peers);
        warn!(%addr, key = %hex::encode(key), "refused a peer whose key no TSS declared");
        return;
    };
    let (id, close, replaced) = state.inbound.lock().established(from, key);
    if replaced {
        state.metrics.connection_closed(ConnectionEnd::Replaced);
        debug!(?from, "a newer connection replaces the account's older one");
    }
    tokio::select! {
        _ = close.notified() => debug!(?from, "connection closed by the listener"),
        _ = read_frames(&state, &mut noise, from) => {}
    }
    state.inbound.lock().ended(from, id);
}

async fn read_frames(state: &TransportState, noise: &mut NoiseStream, from: keywheel_chain::AccountId) {
    loop {
        let bytes = match noise.recv_within(state.limits.idle, state.limits.frame).await {
            Ok(bytes) => bytes,
            Err(TransportError::Idle(_)) => {
                state.metrics.connection_closed(ConnectionEnd::Idle);
                debug!(?from, "idle connection closed");
                return;
            }
            Err(TransportError::SlowFrame(_)) => {
                state.metrics.connection_closed(ConnectionEnd::SlowFrame);
                warn!(?from, "a frame arrived too slowly; connection closed");
                return;
            }
            Err(TransportError::Oversized(len)) => {
                state.metrics.dropped(Dropped::Oversized);
                warn!(?from, "peer announced a frame of {len} bytes; connection closed");
                return;
            }
            Err(TransportError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Err(e) => {
                warn!(?from, "connection closed: {e}");
                return;
            }
        };
        let frame = match decode_frame(&bytes) {
            Ok(frame) => frame,
            Err(e) => {
                state.metrics.dropped(Dropped::Malformed);
                warn!(?from, "malformed frame ({e}); connection closed");
                return;
            }
        };
        match frame {
            Frame::Protocol { tag, payload } => {
                let routed = state.router.lock().route(from, tag, payload, Instant::now());
                match routed {
                    Ok(Some((tx, incoming))) => {
                        if tx.send(incoming).await.is_err() {
                            state.metrics.dropped(Dropped::Closed);
                        }
                    }
                    Ok(None) => {}
                    Err(why) => {
                        state.metrics.dropped(why);
                        debug!(?from, ?tag, ?why, "frame dropped");
                    }
                }
            }
            control => {
                if state.control.send((from, control)).await.is_err() {
                    return;
                }
            }
        }
    }
}
