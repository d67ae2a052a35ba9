//! Inbound connections: accept, run the responder's handshake, refuse a key no TSS declared,
//! then read frames — protocol frames to the router, control frames (signing jobs and
//! outcomes) to the TSS.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::error::TransportError;
use super::noise::NoiseStream;
use super::noise::HANDSHAKE_TIMEOUT;
use super::state::TransportState;
use crate::metrics::{count, Dropped};
use crate::wire::{decode_frame, Frame};

pub(super) async fn serve(state: Arc<TransportState>, stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        NoiseStream::respond(stream, state.identity.x25519_secret(), &state.network),
    )
    .await;
    let mut noise = match handshake {
        Ok(Ok(noise)) => noise,
        Ok(Err(e)) => {
            debug!(%addr, "handshake failed: {e}");
            return;
        }
        Err(_) => {
            debug!(%addr, "handshake timed out");
            return;
        }
    };
    let known = state.directory.lock().account_of(&noise.remote_key());
    let Some(from) = known else {
        count(&state.metrics.unknown_peers);
        warn!(%addr, key = %hex::encode(noise.remote_key()), "refused a peer whose key no TSS declared");
        return;
    };
    loop {
        let bytes = match noise.recv().await {
            Ok(bytes) => bytes,
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
