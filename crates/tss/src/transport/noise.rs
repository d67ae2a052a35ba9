//! Noise XX (`Noise_XX_25519_ChaChaPoly_BLAKE2s`) over a byte stream, and the framing on top:
//! each frame is a 4-byte length (refused above [`MAX_FRAME_BYTES`]) and chunks, each a Noise
//! message with a 2-byte length on the wire. Generic over the stream, so the framing is tested
//! over an in-memory pipe.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use std::time::Duration;

use super::error::TransportError;
use crate::wire::MAX_FRAME_BYTES;

/// How long a handshake may take.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const NOISE_MAX_MESSAGE: usize = 65535;
const NOISE_TAG: usize = 16;
const CHUNK: usize = NOISE_MAX_MESSAGE - NOISE_TAG;

async fn write_message<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), TransportError> {
    let mut out = Vec::with_capacity(2 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
    stream.write_all(&out).await?;
    Ok(())
}

async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, TransportError> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

fn noise_error(e: snow::Error) -> TransportError {
    TransportError::Noise(e.to_string())
}

/// An established Noise channel over a byte stream (TCP in the transport).
pub(crate) struct NoiseStream<S = TcpStream> {
    pub(super) stream: S,
    state: snow::TransportState,
    remote: [u8; 32],
}

/// A Noise XX handshake state keyed with `secret`, bound to `network` by the prologue.
fn handshake_state(
    secret: &[u8; 32],
    network: &[u8; 32],
    initiator: bool,
) -> Result<snow::HandshakeState, TransportError> {
    let prologue = keywheel_primitives::domain::noise_prologue(network);
    let builder = snow::Builder::new(NOISE_PARAMS.parse().map_err(noise_error)?)
        .local_private_key(secret)
        .prologue(&prologue);
    let state = if initiator {
        builder.build_initiator()
    } else {
        builder.build_responder()
    };
    state.map_err(noise_error)
}

async fn send_handshake<S: AsyncWrite + Unpin>(
    hs: &mut snow::HandshakeState,
    stream: &mut S,
) -> Result<(), TransportError> {
    let mut buf = vec![0u8; NOISE_MAX_MESSAGE];
    let n = hs.write_message(&[], &mut buf).map_err(noise_error)?;
    write_message(stream, &buf[..n]).await
}

async fn receive_handshake<S: AsyncRead + Unpin>(
    hs: &mut snow::HandshakeState,
    stream: &mut S,
) -> Result<(), TransportError> {
    let msg = read_message(stream).await?;
    let mut buf = vec![0u8; NOISE_MAX_MESSAGE];
    hs.read_message(&msg, &mut buf).map_err(noise_error)?;
    Ok(())
}

impl<S: AsyncRead + AsyncWrite + Unpin> NoiseStream<S> {
    /// Runs the initiator's side of Noise XX (`-> e`, `<- e, ee, s, es`, `-> s, se`).
    pub(crate) async fn initiate(mut stream: S, secret: &[u8; 32], network: &[u8; 32]) -> Result<Self, TransportError> {
        let mut hs = handshake_state(secret, network, true)?;
        send_handshake(&mut hs, &mut stream).await?;
        receive_handshake(&mut hs, &mut stream).await?;
        send_handshake(&mut hs, &mut stream).await?;
        Self::finish(stream, hs)
    }

    /// Runs the responder's side of Noise XX.
    pub(crate) async fn respond(mut stream: S, secret: &[u8; 32], network: &[u8; 32]) -> Result<Self, TransportError> {
        let mut hs = handshake_state(secret, network, false)?;
        receive_handshake(&mut hs, &mut stream).await?;
        send_handshake(&mut hs, &mut stream).await?;
        receive_handshake(&mut hs, &mut stream).await?;
        Self::finish(stream, hs)
    }

    fn finish(stream: S, hs: snow::HandshakeState) -> Result<Self, TransportError> {
        let remote: [u8; 32] = hs
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| TransportError::Noise("no remote static key".into()))?;
        Ok(Self {
            stream,
            state: hs.into_transport_mode().map_err(noise_error)?,
            remote,
        })
    }

    /// The peer's x25519 key, as the handshake proved it.
    pub(crate) fn remote_key(&self) -> [u8; 32] {
        self.remote
    }

    fn encrypt_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), TransportError> {
        let mut buf = vec![0u8; plain.len() + NOISE_TAG];
        let n = self.state.write_message(plain, &mut buf).map_err(noise_error)?;
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&buf[..n]);
        Ok(())
    }

    /// Sends a length header for `len` bytes (tests use it to announce frames of any size).
    #[cfg(test)]
    pub(crate) async fn send_header(&mut self, len: u32) -> Result<(), TransportError> {
        let mut out = Vec::new();
        self.encrypt_into(&len.to_be_bytes(), &mut out)?;
        self.stream.write_all(&out).await?;
        Ok(())
    }

    /// Sends one frame.
    pub(crate) async fn send(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(TransportError::Oversized(frame.len()));
        }
        let mut out = Vec::with_capacity(frame.len() + frame.len() / CHUNK * 18 + 40);
        self.encrypt_into(&(frame.len() as u32).to_be_bytes(), &mut out)?;
        for chunk in frame.chunks(CHUNK) {
            self.encrypt_into(chunk, &mut out)?;
        }
        self.stream.write_all(&out).await?;
        Ok(())
    }

    async fn read_decrypted(&mut self) -> Result<Vec<u8>, TransportError> {
        let msg = read_message(&mut self.stream).await?;
        let mut buf = vec![0u8; msg.len()];
        let n = self.state.read_message(&msg, &mut buf).map_err(noise_error)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Receives one frame; an announced size over the limit ends the connection.
    #[cfg(test)]
    pub(crate) async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        let len = self.recv_header().await?;
        self.recv_body(len).await
    }

    /// Receives one frame whose header must start within `idle` and whose whole must arrive
    /// within `frame` after that: a peer that says nothing, or trickles a frame, is dropped.
    pub(crate) async fn recv_within(&mut self, idle: Duration, frame: Duration) -> Result<Vec<u8>, TransportError> {
        let len = tokio::time::timeout(idle, self.recv_header())
            .await
            .map_err(|_| TransportError::Idle(idle))??;
        tokio::time::timeout(frame, self.recv_body(len))
            .await
            .map_err(|_| TransportError::SlowFrame(frame))?
    }

    async fn recv_header(&mut self) -> Result<usize, TransportError> {
        let header = self.read_decrypted().await?;
        let len: [u8; 4] = header
            .as_slice()
            .try_into()
            .map_err(|_| TransportError::Framing(format!("a frame header of {} bytes", header.len())))?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(TransportError::Oversized(len));
        }
        Ok(len)
    }

    async fn recv_body(&mut self, len: usize) -> Result<Vec<u8>, TransportError> {
        // Grown as chunks arrive: an announced length costs nothing until the bytes come.
        let mut frame = Vec::with_capacity(len.min(CHUNK));
        while frame.len() < len {
            let chunk = self.read_decrypted().await?;
            if chunk.is_empty() || frame.len() + chunk.len() > len {
                return Err(TransportError::Framing(
                    "a chunk does not fit the announced length".into(),
                ));
            }
            frame.extend_from_slice(&chunk);
        }
        Ok(frame)
    }
}

impl NoiseStream<TcpStream> {
    /// Whether the peer has closed this connection. The responder never writes after the
    /// handshake, so anything readable — the end of the stream, an error, or stray bytes — means
    /// the connection is no good for sending.
    pub(super) fn peer_closed(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        // The socket is non-blocking (tokio's): the peek answers at once.
        let peeked = socket2::SockRef::from(&self.stream).peek(&mut byte);
        !matches!(peeked, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETWORK: [u8; 32] = [3; 32];

    /// Two ends of an in-memory pipe after a completed handshake.
    async fn pair(
        responder_network: [u8; 32],
    ) -> Result<(NoiseStream<DuplexStream>, NoiseStream<DuplexStream>), TransportError> {
        let (a, b) = tokio::io::duplex(1 << 20);
        let initiator = tokio::spawn(async move { NoiseStream::initiate(a, &[1; 32], &NETWORK).await });
        let responder = NoiseStream::respond(b, &[2; 32], &responder_network).await;
        let initiator = initiator.await.expect("the initiator task ends");
        Ok((initiator?, responder?))
    }

    use tokio::io::DuplexStream;

    #[tokio::test]
    async fn a_multi_chunk_frame_arrives_whole_and_each_side_knows_the_other() {
        let (mut a, mut b) = pair(NETWORK).await.unwrap();
        let public =
            |secret: [u8; 32]| x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes();
        assert_eq!(a.remote_key(), public([2; 32]));
        assert_eq!(b.remote_key(), public([1; 32]));
        let frame: Vec<u8> = (0..3 * CHUNK + 17).map(|i| i as u8).collect();
        let sending = tokio::spawn(async move {
            a.send(&frame).await.unwrap();
            a.send(b"").await.unwrap();
            frame
        });
        let got = b.recv().await.unwrap();
        assert_eq!(got, sending.await.unwrap());
        assert_eq!(b.recv().await.unwrap(), b"", "an empty frame is a frame");
    }

    #[tokio::test]
    async fn another_network_fails_the_handshake() {
        assert!(matches!(pair([4; 32]).await, Err(TransportError::Noise(_))));
    }

    #[tokio::test]
    async fn an_oversized_announcement_and_an_overlong_chunk_are_refused() {
        let (mut a, mut b) = pair(NETWORK).await.unwrap();
        a.send_header(MAX_FRAME_BYTES as u32 + 1).await.unwrap();
        assert!(matches!(b.recv().await, Err(TransportError::Oversized(n)) if n == MAX_FRAME_BYTES + 1));

        let (mut a, mut b) = pair(NETWORK).await.unwrap();
        // A header for 2 bytes followed by a chunk of 3.
        a.send_header(2).await.unwrap();
        let mut out = Vec::new();
        a.encrypt_into(b"abc", &mut out).unwrap();
        a.stream.write_all(&out).await.unwrap();
        assert!(matches!(b.recv().await, Err(TransportError::Framing(_))));

        let (mut a, mut b) = pair(NETWORK).await.unwrap();
        assert!(matches!(
            a.send(&vec![0; MAX_FRAME_BYTES + 1]).await,
            Err(TransportError::Oversized(_))
        ));
        // A header that is not 4 bytes.
        let mut out = Vec::new();
        a.encrypt_into(b"12345", &mut out).unwrap();
        a.stream.write_all(&out).await.unwrap();
        assert!(matches!(b.recv().await, Err(TransportError::Framing(_))));
    }
}
