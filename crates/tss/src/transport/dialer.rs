//! Outbound connections: one per peer, dialled on demand and re-dialled with backoff when it
//! breaks. Outbound connections carry nothing back, so one that turns readable has been closed
//! by the peer (it died or restarted): it is re-dialled before the next frame instead of
//! swallowing it. A peer whose last dial failed is marked unreachable until a dial succeeds.

use std::time::Duration;

use keywheel_chain::AccountId;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::error::TransportError;
use super::noise::NoiseStream;
use super::noise::HANDSHAKE_TIMEOUT;
use super::state::{Outbound, TransportState};
use crate::metrics::Dropped;

/// How long a frame may wait for its peer to become reachable.
pub const FRAME_TTL: Duration = Duration::from_secs(120);
/// An outbound connection unused for this long is dialled anew before its next frame: well
/// inside the receiver's idle limit (`InboundLimits::idle`, 300 s), so a frame is never written
/// into a connection the receiver is closing for idleness at that moment.
const REDIAL_AFTER_IDLE: Duration = Duration::from_secs(120);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

pub(super) async fn connect(state: &TransportState, peer: AccountId) -> Result<NoiseStream, TransportError> {
    let declared = state
        .directory
        .lock()
        .peer(&peer)
        .cloned()
        .ok_or(TransportError::UnknownPeer(peer))?;
    let stream = TcpStream::connect(&declared.endpoint).await?;
    stream.set_nodelay(true)?;
    let noise = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        NoiseStream::initiate(stream, state.identity.x25519_secret(), &state.network),
    )
    .await
    .map_err(|_| TransportError::Timeout)??;
    if noise.remote_key() != declared.x25519 {
        return Err(TransportError::WrongPeer {
            endpoint: declared.endpoint,
            peer,
        });
    }
    Ok(noise)
}

/// Dials `peer` and records whether that worked.
async fn dial_once(state: &TransportState, peer: AccountId) -> Result<NoiseStream, TransportError> {
    let result = connect(state, peer).await;
    let mut unreachable = state.unreachable.lock();
    match &result {
        Ok(_) => {
            if unreachable.remove(&peer).is_some() {
                info!(?peer, "peer reachable again");
            }
        }
        Err(_) => {
            unreachable.insert(peer, Instant::now());
        }
    }
    result
}

pub(super) async fn dial(state: std::sync::Weak<TransportState>, peer: AccountId, mut queue: mpsc::Receiver<Outbound>) {
    let mut conn: Option<NoiseStream> = None;
    let mut last_used = Instant::now();
    let mut backoff = BACKOFF_MIN;
    while let Some(outbound) = queue.recv().await {
        if conn.as_ref().is_some_and(NoiseStream::peer_closed) {
            debug!(?peer, "the peer closed the connection; re-dialling");
            conn = None;
        }
        if conn.is_some() && last_used.elapsed() > REDIAL_AFTER_IDLE {
            debug!(?peer, "the connection was idle; re-dialling");
            conn = None;
        }
        let (frame, queued) = match outbound {
            Outbound::Frame(frame, queued) => (frame, queued),
            Outbound::Probe => {
                let Some(state) = state.upgrade() else { return };
                if conn.is_none() {
                    match dial_once(&state, peer).await {
                        Ok(c) => {
                            conn = Some(c);
                            last_used = Instant::now();
                        }
                        Err(e) => debug!(?peer, "probe: cannot reach peer ({e})"),
                    }
                }
                continue;
            }
        };
        if queued.elapsed() > FRAME_TTL {
            // It waited its whole time behind frames for a peer that could not be reached.
            if let Some(state) = state.upgrade() {
                state.metrics.dropped(Dropped::Expired);
            }
            debug!(?peer, "a frame waited past {FRAME_TTL:?} in the queue; dropped");
            continue;
        }
        loop {
            let Some(state) = state.upgrade() else { return };
            if conn.is_none() {
                match dial_once(&state, peer).await {
                    Ok(c) => {
                        conn = Some(c);
                        last_used = Instant::now();
                        backoff = BACKOFF_MIN;
                    }
                    Err(e) => {
                        if queued.elapsed() > FRAME_TTL {
                            state.metrics.dropped(Dropped::Expired);
                            warn!(?peer, "cannot reach peer ({e}); frame dropped after {FRAME_TTL:?}");
                            break;
                        }
                        debug!(?peer, "cannot reach peer ({e}); retrying in {backoff:?}");
                        drop(state);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            }
            let Some(stream) = conn.as_mut() else { continue };
            match stream.send(&frame).await {
                Ok(()) => {
                    last_used = Instant::now();
                    break;
                }
                Err(e) => {
                    debug!(?peer, "connection broke ({e}); re-dialling");
                    conn = None;
                }
            }
        }
    }
}
