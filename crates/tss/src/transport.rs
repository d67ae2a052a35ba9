//! The peer transport: TCP with Noise XX (`Noise_XX_25519_ChaChaPoly_BLAKE2s`), keyed with the
//! x25519 keys validators declare on chain.
//!
//! - A connection is accepted only from a key the [`Directory`] (the chain's TSS declarations)
//!   knows, and a dialled peer must answer with the key declared for it.
//! - Each frame is sent as a 4-byte length (refused above [`MAX_FRAME_BYTES`]) and chunks, each
//!   a Noise message with a 2-byte length on the wire.
//! - Protocol frames are routed by their [`Tag`] to the session opened for it, only if the
//!   sender is one of that session's participants. Frames for sessions not opened yet are
//!   buffered (bounded); frames tagged for an attempt older than the one in flight are dropped.
//! - Each peer has one outbound connection, re-dialled with backoff when it breaks; a frame
//!   that cannot be delivered for [`FRAME_TTL`] is dropped. Outbound connections carry nothing
//!   back, so one that turns readable has been closed by the peer (it died or restarted): it is
//!   re-dialled before the next frame instead of swallowing it.
//! - A peer whose last dial failed is [`Transport::unreachable`] until a dial succeeds;
//!   [`Transport::probe`] dials it again without sending anything. The signing coordinator uses
//!   both to keep a member that is down out of its picks.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use keywheel_mpc::driver::{Channels, Incoming, Outgoing, ProtocolKind};
use keywheel_mpc::ops::Network;
use keywheel_mpc::PartyId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::error::TssError;
use crate::identity::Identity;
use crate::metrics::{Dropped, Metrics};
use crate::wire::{decode_frame, encode_frame, Frame, Tag, MAX_FRAME_BYTES};

const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const NOISE_MAX_MESSAGE: usize = 65535;
const NOISE_TAG: usize = 16;
const CHUNK: usize = NOISE_MAX_MESSAGE - NOISE_TAG;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a frame may wait for its peer to become reachable.
pub const FRAME_TTL: Duration = Duration::from_secs(120);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Bytes buffered for sessions not opened yet, over all of them.
const MAX_PENDING_BYTES: usize = 256 << 20;
/// How long frames for a session not opened yet are kept.
const PENDING_TTL: Duration = Duration::from_secs(300);
const SESSION_CHANNEL: usize = 4096;
const PEER_QUEUE: usize = 1024;
const CLOSED_REMEMBERED: usize = 1024;

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
}

fn noise_error(e: snow::Error) -> TransportError {
    TransportError::Noise(e.to_string())
}

/// One TSS as the chain declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Where it listens (`host:port`).
    pub endpoint: String,
    /// Its x25519 public key.
    pub x25519: [u8; 32],
}

/// The TSSs this one may talk to: the chain's declarations.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_account: HashMap<AccountId, Peer>,
    by_key: HashMap<[u8; 32], AccountId>,
}

impl Directory {
    /// A directory of these declarations.
    pub fn new(peers: impl IntoIterator<Item = (AccountId, Peer)>) -> Self {
        let mut dir = Self::default();
        for (account, peer) in peers {
            dir.by_key.insert(peer.x25519, account);
            dir.by_account.insert(account, peer);
        }
        dir
    }

    /// The declaration of `account`.
    pub fn peer(&self, account: &AccountId) -> Option<&Peer> {
        self.by_account.get(account)
    }

    /// The account that declared `key`.
    pub fn account_of(&self, key: &[u8; 32]) -> Option<AccountId> {
        self.by_key.get(key).copied()
    }
}

async fn write_message(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), TransportError> {
    let mut out = Vec::with_capacity(2 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
    stream.write_all(&out).await?;
    Ok(())
}

async fn read_message(stream: &mut TcpStream) -> Result<Vec<u8>, TransportError> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

/// An established Noise channel over TCP.
pub(crate) struct NoiseStream {
    stream: TcpStream,
    state: snow::TransportState,
    remote: [u8; 32],
}

fn prologue(network: &[u8; 32]) -> Vec<u8> {
    let mut p = b"keywheel/noise/v1/".to_vec();
    p.extend_from_slice(network);
    p
}

/// A Noise XX handshake state keyed with `secret`, bound to `network` by the prologue.
fn handshake_state(
    secret: &[u8; 32],
    network: &[u8; 32],
    initiator: bool,
) -> Result<snow::HandshakeState, TransportError> {
    let prologue = prologue(network);
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

async fn send_handshake(hs: &mut snow::HandshakeState, stream: &mut TcpStream) -> Result<(), TransportError> {
    let mut buf = vec![0u8; NOISE_MAX_MESSAGE];
    let n = hs.write_message(&[], &mut buf).map_err(noise_error)?;
    write_message(stream, &buf[..n]).await
}

async fn receive_handshake(hs: &mut snow::HandshakeState, stream: &mut TcpStream) -> Result<(), TransportError> {
    let msg = read_message(stream).await?;
    let mut buf = vec![0u8; NOISE_MAX_MESSAGE];
    hs.read_message(&msg, &mut buf).map_err(noise_error)?;
    Ok(())
}

impl NoiseStream {
    /// Runs the initiator's side of Noise XX (`-> e`, `<- e, ee, s, es`, `-> s, se`).
    pub(crate) async fn initiate(
        mut stream: TcpStream,
        secret: &[u8; 32],
        network: &[u8; 32],
    ) -> Result<Self, TransportError> {
        let mut hs = handshake_state(secret, network, true)?;
        send_handshake(&mut hs, &mut stream).await?;
        receive_handshake(&mut hs, &mut stream).await?;
        send_handshake(&mut hs, &mut stream).await?;
        Self::finish(stream, hs)
    }

    /// Runs the responder's side of Noise XX.
    pub(crate) async fn respond(
        mut stream: TcpStream,
        secret: &[u8; 32],
        network: &[u8; 32],
    ) -> Result<Self, TransportError> {
        let mut hs = handshake_state(secret, network, false)?;
        receive_handshake(&mut hs, &mut stream).await?;
        send_handshake(&mut hs, &mut stream).await?;
        receive_handshake(&mut hs, &mut stream).await?;
        Self::finish(stream, hs)
    }

    fn finish(stream: TcpStream, hs: snow::HandshakeState) -> Result<Self, TransportError> {
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

    /// Whether the peer has closed this connection. The responder never writes after the
    /// handshake, so anything readable — the end of the stream, an error, or stray bytes — means
    /// the connection is no good for sending.
    fn peer_closed(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        // The socket is non-blocking (tokio's): the peek answers at once.
        let peeked = socket2::SockRef::from(&self.stream).peek(&mut byte);
        !matches!(peeked, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
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
    pub(crate) async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        let header = self.read_decrypted().await?;
        let len: [u8; 4] = header
            .as_slice()
            .try_into()
            .map_err(|_| TransportError::Framing(format!("a frame header of {} bytes", header.len())))?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(TransportError::Oversized(len));
        }
        let mut frame = Vec::with_capacity(len);
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

struct OpenSession {
    participants: BTreeSet<AccountId>,
    tx: mpsc::Sender<Incoming>,
}

struct Pending {
    since: Instant,
    messages: Vec<Incoming>,
}

/// Routes protocol frames to sessions; the transport's rules about who may say what.
struct Router {
    network: [u8; 32],
    /// The reshare attempt in flight: frames tagged for an older one are stale.
    floor: (SessionIndex, AttemptIndex),
    open: HashMap<Vec<u8>, OpenSession>,
    pending: HashMap<Vec<u8>, Pending>,
    pending_bytes: usize,
    closed: HashSet<Vec<u8>>,
    closed_order: VecDeque<Vec<u8>>,
}

impl Router {
    fn new(network: [u8; 32]) -> Self {
        Self {
            network,
            floor: (0, 0),
            open: HashMap::new(),
            pending: HashMap::new(),
            pending_bytes: 0,
            closed: HashSet::new(),
            closed_order: VecDeque::new(),
        }
    }

    fn route(
        &mut self,
        from: AccountId,
        tag: Tag,
        payload: Vec<u8>,
    ) -> Result<Option<(mpsc::Sender<Incoming>, Incoming)>, Dropped> {
        if let Tag::Reshare { session, attempt, .. } = tag {
            if (session, attempt) < self.floor {
                return Err(Dropped::Stale);
            }
        }
        let session_id = tag.session_id(&self.network);
        let incoming = Incoming {
            from: PartyId(from.0),
            payload,
        };
        if let Some(open) = self.open.get(&session_id) {
            if !open.participants.contains(&from) {
                return Err(Dropped::NotParticipant);
            }
            return Ok(Some((open.tx.clone(), incoming)));
        }
        if self.closed.contains(&session_id) {
            return Err(Dropped::Closed);
        }
        self.expire_pending();
        let size = incoming.payload.len();
        if self.pending_bytes + size > MAX_PENDING_BYTES {
            return Err(Dropped::BufferFull);
        }
        self.pending_bytes += size;
        self.pending
            .entry(session_id)
            .or_insert_with(|| Pending {
                since: Instant::now(),
                messages: Vec::new(),
            })
            .messages
            .push(incoming);
        Ok(None)
    }

    fn expire_pending(&mut self) {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = p.since.elapsed() < PENDING_TTL;
            if !keep {
                freed += p.messages.iter().map(|m| m.payload.len()).sum::<usize>();
            }
            keep
        });
        self.pending_bytes -= freed;
        if self.pending.len() != before {
            debug!("dropped {} expired pending sessions", before - self.pending.len());
        }
    }

    /// Opens a session; returns the messages that arrived for it before, from participants.
    fn open(
        &mut self,
        session_id: Vec<u8>,
        participants: BTreeSet<AccountId>,
        tx: mpsc::Sender<Incoming>,
    ) -> (Vec<Incoming>, usize) {
        let mut early = Vec::new();
        let mut refused = 0;
        if let Some(pending) = self.pending.remove(&session_id) {
            for m in pending.messages {
                self.pending_bytes -= m.payload.len();
                if participants.contains(&AccountId(m.from.0)) {
                    early.push(m);
                } else {
                    refused += 1;
                }
            }
        }
        self.open.insert(session_id, OpenSession { participants, tx });
        (early, refused)
    }

    fn close(&mut self, session_id: &[u8]) {
        self.open.remove(session_id);
        if self.closed.insert(session_id.to_vec()) {
            self.closed_order.push_back(session_id.to_vec());
            if self.closed_order.len() > CLOSED_REMEMBERED {
                if let Some(old) = self.closed_order.pop_front() {
                    self.closed.remove(&old);
                }
            }
        }
    }

    fn set_floor(&mut self, floor: (SessionIndex, AttemptIndex)) {
        if floor > self.floor {
            self.floor = floor;
        }
    }
}

struct Inner {
    identity: Identity,
    network: [u8; 32],
    directory: RwLock<Directory>,
    router: Mutex<Router>,
    peers: Mutex<HashMap<AccountId, mpsc::Sender<Outbound>>>,
    /// Peers whose last dial failed, with when it did.
    unreachable: Mutex<HashMap<AccountId, Instant>>,
    control: mpsc::Sender<(AccountId, Frame)>,
    metrics: Arc<Metrics>,
    local_addr: SocketAddr,
}

/// The peer transport of one TSS.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("local_addr", &self.inner.local_addr)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Listens on `listen`; returns the transport and the receiver of control frames (signing
    /// jobs and outcomes) from authenticated peers.
    pub async fn bind(
        identity: Identity,
        network: [u8; 32],
        listen: SocketAddr,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, mpsc::Receiver<(AccountId, Frame)>), TssError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| TssError::io(format!("listen for peers on {listen}"), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| TssError::io("read the peer listener's address", e))?;
        let (control, control_rx) = mpsc::channel(1024);
        let inner = Arc::new(Inner {
            identity,
            network,
            directory: RwLock::new(Directory::default()),
            router: Mutex::new(Router::new(network)),
            peers: Mutex::new(HashMap::new()),
            unreachable: Mutex::new(HashMap::new()),
            control,
            metrics,
            local_addr,
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            loop {
                let Ok((stream, addr)) = listener.accept().await else {
                    continue;
                };
                let Some(inner) = weak.upgrade() else { return };
                tokio::spawn(async move { serve(inner, stream, addr).await });
            }
        });
        info!(%local_addr, "peer transport listening");
        Ok((Self { inner }, control_rx))
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Replaces the directory of declared TSSs.
    pub fn set_directory(&self, directory: Directory) {
        *self.inner.directory.write().unwrap_or_else(|p| p.into_inner()) = directory;
    }

    /// Marks `(session, attempt)` as the reshare attempt in flight: frames for older attempts
    /// are dropped from now on.
    pub fn set_floor(&self, session: SessionIndex, attempt: AttemptIndex) {
        self.router().set_floor((session, attempt));
    }

    fn router(&self) -> std::sync::MutexGuard<'_, Router> {
        self.inner.router.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the session `tag` names with these participants: the driver's channel pair.
    pub fn open_session(&self, tag: Tag, participants: BTreeSet<AccountId>) -> Channels {
        let session_id = tag.session_id(&self.inner.network);
        let (in_tx, in_rx) = mpsc::channel(SESSION_CHANNEL);
        let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(SESSION_CHANNEL);
        let (early, refused) = self
            .router()
            .open(session_id.clone(), participants.clone(), in_tx.clone());
        for _ in 0..refused {
            self.inner.metrics.dropped(Dropped::NotParticipant);
        }
        for m in early {
            // A fresh channel with room for SESSION_CHANNEL messages.
            let _ = in_tx.try_send(m);
        }
        let transport = self.clone();
        tokio::spawn(async move {
            while let Some(out) = out_rx.recv().await {
                let to = AccountId(out.to.0);
                if !participants.contains(&to) {
                    warn!(?to, "a session tried to send to a non-participant; dropped");
                    continue;
                }
                transport
                    .send(
                        to,
                        &Frame::Protocol {
                            tag,
                            payload: out.payload,
                        },
                    )
                    .await;
            }
            transport.router().close(&session_id);
        });
        Channels {
            outgoing: out_tx,
            incoming: in_rx,
        }
    }

    /// Queues a frame for `to`; it is sent over the peer's connection, dialled as needed.
    pub async fn send(&self, to: AccountId, frame: &Frame) {
        let bytes = Arc::new(encode_frame(frame));
        if self.queue(to).send(Outbound::Frame(bytes)).await.is_err() {
            warn!(?to, "the peer's sender stopped; frame dropped");
        }
    }

    /// Asks for one dial of `to` if it has no working connection, sending nothing: a peer
    /// marked unreachable is cleared when it answers. Does nothing if its queue is full.
    pub fn probe(&self, to: AccountId) {
        let _ = self.queue(to).try_send(Outbound::Probe);
    }

    /// The peers whose last dial failed, with when it did (cleared by a dial that succeeds).
    pub fn unreachable(&self) -> HashMap<AccountId, Instant> {
        self.inner.unreachable.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn queue(&self, to: AccountId) -> mpsc::Sender<Outbound> {
        let mut peers = self.inner.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .entry(to)
            .or_insert_with(|| {
                let (tx, rx) = mpsc::channel(PEER_QUEUE);
                tokio::spawn(dial(Arc::downgrade(&self.inner), to, rx));
                tx
            })
            .clone()
    }

    /// The network a session of this transport belongs to.
    pub fn network(&self) -> [u8; 32] {
        self.inner.network
    }

    /// The counters the transport updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
}

async fn connect(inner: &Inner, peer: AccountId) -> Result<NoiseStream, TransportError> {
    let declared = inner
        .directory
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .peer(&peer)
        .cloned()
        .ok_or(TransportError::UnknownPeer(peer))?;
    let stream = TcpStream::connect(&declared.endpoint).await?;
    stream.set_nodelay(true)?;
    let noise = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        NoiseStream::initiate(stream, inner.identity.x25519_secret(), &inner.network),
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

/// What a peer's dialler is asked to do.
enum Outbound {
    /// Deliver an encoded frame.
    Frame(Arc<Vec<u8>>),
    /// Dial once if there is no working connection; send nothing.
    Probe,
}

/// Dials `peer` and records whether that worked.
async fn dial_once(inner: &Inner, peer: AccountId) -> Result<NoiseStream, TransportError> {
    let result = connect(inner, peer).await;
    let mut unreachable = inner.unreachable.lock().unwrap_or_else(|p| p.into_inner());
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

async fn dial(inner: std::sync::Weak<Inner>, peer: AccountId, mut queue: mpsc::Receiver<Outbound>) {
    let mut conn: Option<NoiseStream> = None;
    let mut backoff = BACKOFF_MIN;
    while let Some(outbound) = queue.recv().await {
        if conn.as_ref().is_some_and(NoiseStream::peer_closed) {
            debug!(?peer, "the peer closed the connection; re-dialling");
            conn = None;
        }
        let frame = match outbound {
            Outbound::Frame(frame) => frame,
            Outbound::Probe => {
                let Some(inner) = inner.upgrade() else { return };
                if conn.is_none() {
                    match dial_once(&inner, peer).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => debug!(?peer, "probe: cannot reach peer ({e})"),
                    }
                }
                continue;
            }
        };
        let queued = Instant::now();
        loop {
            let Some(inner) = inner.upgrade() else { return };
            if conn.is_none() {
                match dial_once(&inner, peer).await {
                    Ok(c) => {
                        conn = Some(c);
                        backoff = BACKOFF_MIN;
                    }
                    Err(e) => {
                        if queued.elapsed() > FRAME_TTL {
                            warn!(?peer, "cannot reach peer ({e}); frame dropped after {FRAME_TTL:?}");
                            break;
                        }
                        debug!(?peer, "cannot reach peer ({e}); retrying in {backoff:?}");
                        drop(inner);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            }
            let Some(stream) = conn.as_mut() else { continue };
            match stream.send(&frame).await {
                Ok(()) => break,
                Err(e) => {
                    debug!(?peer, "connection broke ({e}); re-dialling");
                    conn = None;
                }
            }
        }
    }
}

async fn serve(inner: Arc<Inner>, stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        NoiseStream::respond(stream, inner.identity.x25519_secret(), &inner.network),
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
    let known = inner
        .directory
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .account_of(&noise.remote_key());
    let Some(from) = known else {
        inner
            .metrics
            .unknown_peers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        warn!(%addr, key = %hex::encode(noise.remote_key()), "refused a peer whose key no TSS declared");
        return;
    };
    loop {
        let bytes = match noise.recv().await {
            Ok(bytes) => bytes,
            Err(TransportError::Oversized(len)) => {
                inner.metrics.dropped(Dropped::Oversized);
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
                inner.metrics.dropped(Dropped::Malformed);
                warn!(?from, "malformed frame ({e}); connection closed");
                return;
            }
        };
        match frame {
            Frame::Protocol { tag, payload } => {
                let routed = inner
                    .router
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .route(from, tag, payload);
                match routed {
                    Ok(Some((tx, incoming))) => {
                        if tx.send(incoming).await.is_err() {
                            inner.metrics.dropped(Dropped::Closed);
                        }
                    }
                    Ok(None) => {}
                    Err(why) => {
                        inner.metrics.dropped(why);
                        debug!(?from, ?tag, ?why, "frame dropped");
                    }
                }
            }
            control => {
                if inner.control.send((from, control)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The [`Network`] of one attempt or signing round: opens each session the protocol asks for on
/// the transport, with the tag and participants of that session.
pub struct SessionNet {
    transport: Transport,
    tags: Vec<Tag>,
    participants: BTreeSet<AccountId>,
}

impl SessionNet {
    /// The sessions of a reshare attempt (KeyInit, Reshare, AuxGen).
    pub fn attempt(
        transport: &Transport,
        session: SessionIndex,
        attempt: AttemptIndex,
        participants: BTreeSet<AccountId>,
    ) -> Self {
        let tags = [ProtocolKind::KeyInit, ProtocolKind::Reshare, ProtocolKind::AuxGen]
            .into_iter()
            .map(|kind| Tag::Reshare { kind, session, attempt })
            .collect();
        Self {
            transport: transport.clone(),
            tags,
            participants,
        }
    }

    /// The signing session of one request's round.
    pub fn signing(transport: &Transport, request: [u8; 32], round: u32, signers: BTreeSet<AccountId>) -> Self {
        Self {
            transport: transport.clone(),
            tags: vec![Tag::Signing { request, round }],
            participants: signers,
        }
    }
}

impl Network for SessionNet {
    fn open(&self, _me: PartyId, session_id: &manul::session::SessionId) -> Channels {
        let network = self.transport.network();
        let tag = self
            .tags
            .iter()
            .find(|t| t.session_id(&network) == session_id.as_ref())
            .copied();
        match tag {
            Some(tag) => self.transport.open_session(tag, self.participants.clone()),
            None => {
                warn!("a protocol opened a session this attempt does not know; it will get no messages");
                let (outgoing, _) = mpsc::channel(1);
                let (_, incoming) = mpsc::channel(1);
                Channels { outgoing, incoming }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETWORK: [u8; 32] = [3; 32];

    fn identity(i: u8) -> Identity {
        Identity::from_seeds(&[i; 32], &[i + 100; 32])
    }

    async fn node(i: u8) -> (Transport, mpsc::Receiver<(AccountId, Frame)>) {
        let listen = "127.0.0.1:0".parse().unwrap();
        Transport::bind(identity(i), NETWORK, listen, Arc::new(Metrics::default()))
            .await
            .unwrap()
    }

    fn declare(of: &[&Transport]) -> Directory {
        Directory::new(of.iter().map(|t| {
            (
                t.inner.identity.account(),
                Peer {
                    endpoint: t.local_addr().to_string(),
                    x25519: t.inner.identity.x25519_public(),
                },
            )
        }))
    }

    fn account(t: &Transport) -> AccountId {
        t.inner.identity.account()
    }

    fn reshare_tag(session: u32, attempt: u32) -> Tag {
        Tag::Reshare {
            kind: ProtocolKind::Reshare,
            session,
            attempt,
        }
    }

    async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..100 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never happened: {what}");
    }

    async fn nothing_arrives(channels: &mut Channels) {
        let got = tokio::time::timeout(Duration::from_millis(700), channels.incoming.recv()).await;
        assert!(got.is_err(), "a message arrived that must have been dropped");
    }

    #[tokio::test]
    async fn messages_reach_their_session_even_before_it_opens() {
        let (a, _) = node(1).await;
        let (b, _) = node(2).await;
        let dir = declare(&[&a, &b]);
        a.set_directory(dir.clone());
        b.set_directory(dir);
        let participants: BTreeSet<_> = [account(&a), account(&b)].into();
        let tag = reshare_tag(1, 1);

        let from_b = b.open_session(tag, participants.clone());
        from_b
            .outgoing
            .send(Outgoing {
                session_id: tag.session_id(&NETWORK),
                to: PartyId(account(&a).0),
                payload: vec![42; 200_000],
            })
            .await
            .unwrap();
        // A opens the session only after the message is on its way: it was buffered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut at_a = a.open_session(tag, participants);
        let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.from, PartyId(account(&b).0));
        assert_eq!(got.payload, vec![42; 200_000], "a multi-chunk frame arrives whole");
    }

    #[tokio::test]
    async fn a_peer_with_an_undeclared_key_is_refused() {
        let (a, _) = node(1).await;
        let (stranger, _) = node(9).await;
        a.set_directory(declare(&[&a]));
        // The stranger knows where A is, but A's directory does not know the stranger.
        stranger.set_directory(declare(&[&a, &stranger]));
        let participants: BTreeSet<_> = [account(&a), account(&stranger)].into();
        let tag = reshare_tag(1, 1);
        let mut at_a = a.open_session(tag, participants);
        stranger
            .send(account(&a), &Frame::Protocol { tag, payload: vec![1] })
            .await;
        eventually("A refuses the stranger", || {
            a.metrics().unknown_peers.load(std::sync::atomic::Ordering::Relaxed) > 0
        })
        .await;
        nothing_arrives(&mut at_a).await;
    }

    #[tokio::test]
    async fn a_dialled_peer_must_answer_with_its_declared_key() {
        let (a, _) = node(1).await;
        let (b, _) = node(2).await;
        let mut wrong = declare(&[&a, &b]);
        // A believes B's endpoint belongs to a key B does not have.
        wrong.by_account.get_mut(&account(&b)).unwrap().x25519 = [0x55; 32];
        let err = connect(&a.inner, account(&b)).await.err();
        assert!(err.is_some(), "no directory entry: nothing to dial");
        a.set_directory(wrong);
        b.set_directory(declare(&[&a, &b]));
        let err = connect(&a.inner, account(&b))
            .await
            .err()
            .expect("an impostor key is refused");
        assert!(matches!(err, TransportError::WrongPeer { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_oversized_frame_ends_the_connection() {
        let (a, _) = node(1).await;
        let (b, _) = node(2).await;
        a.set_directory(declare(&[&a, &b]));
        let stream = TcpStream::connect(a.local_addr()).await.unwrap();
        let mut noise = NoiseStream::initiate(stream, b.inner.identity.x25519_secret(), &NETWORK)
            .await
            .unwrap();
        noise.send_header(MAX_FRAME_BYTES as u32 + 1).await.unwrap();
        eventually("A counts the oversized frame", || {
            a.metrics().dropped_count(Dropped::Oversized) == 1
        })
        .await;
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), noise.stream.read(&mut byte))
            .await
            .expect("A closes the connection");
        assert!(matches!(read, Ok(0) | Err(_)), "the connection stayed open: {read:?}");
        // A is unharmed: garbage after a good handshake is counted as malformed too.
        let stream = TcpStream::connect(a.local_addr()).await.unwrap();
        let mut noise = NoiseStream::initiate(stream, b.inner.identity.x25519_secret(), &NETWORK)
            .await
            .unwrap();
        noise.send(b"not a frame").await.unwrap();
        eventually("A counts the malformed frame", || {
            a.metrics().dropped_count(Dropped::Malformed) == 1
        })
        .await;
    }

    #[tokio::test]
    async fn a_peer_that_dies_is_marked_unreachable_at_the_next_frame_and_cleared_when_back() {
        let (a, _) = node(1).await;
        // B is a bare listener that answers the handshake as identity 2, so the test decides
        // when it dies.
        let b = identity(2);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        a.set_directory(Directory::new([(
            b.account(),
            Peer {
                endpoint: at.to_string(),
                x25519: b.x25519_public(),
            },
        )]));
        let secret = *b.x25519_secret();
        let frame = Frame::Protocol {
            tag: reshare_tag(1, 1),
            payload: vec![7],
        };

        // B takes one connection, reads one frame, and dies with its listener.
        let first = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut noise = NoiseStream::respond(stream, &secret, &NETWORK).await.unwrap();
            noise.recv().await.unwrap()
        });
        a.send(b.account(), &frame).await;
        let got = tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(decode_frame(&got).unwrap(), frame, "B received the first frame");
        assert!(a.unreachable().is_empty(), "a peer that answered is reachable");

        // B has died: its connection and listener are closed. The next frame finds the
        // connection closed, re-dials, and is refused.
        a.send(b.account(), &frame).await;
        eventually("A marks B unreachable", || a.unreachable().contains_key(&b.account())).await;

        // B is back at the same address: a probe (no frame) reaches it and clears the mark.
        let listener = TcpListener::bind(at).await.unwrap();
        let accepted = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            NoiseStream::respond(stream, &secret, &NETWORK).await.map(|_| ())
        });
        a.probe(b.account());
        eventually("the probe clears the mark", || a.unreachable().is_empty()).await;
        assert!(accepted.await.unwrap().is_ok(), "the probe completed a handshake");
    }

    #[tokio::test]
    async fn a_replayed_message_of_an_older_attempt_and_a_non_participant_are_ignored() {
        let (a, _) = node(1).await;
        let (b, _) = node(2).await;
        let (c, _) = node(3).await;
        let dir = declare(&[&a, &b, &c]);
        for t in [&a, &b, &c] {
            t.set_directory(dir.clone());
        }
        // Attempt 2 of session 1 is in flight; only A and B take part.
        a.set_floor(1, 2);
        let participants: BTreeSet<_> = [account(&a), account(&b)].into();
        let mut at_a = a.open_session(reshare_tag(1, 2), participants);

        let frame = |tag, byte| Frame::Protocol {
            tag,
            payload: vec![byte],
        };
        b.send(account(&a), &frame(reshare_tag(1, 1), 1)).await;
        eventually("the old attempt's message is dropped", || {
            a.metrics().dropped_count(Dropped::Stale) == 1
        })
        .await;
        c.send(account(&a), &frame(reshare_tag(1, 2), 2)).await;
        eventually("the outsider's message is dropped", || {
            a.metrics().dropped_count(Dropped::NotParticipant) == 1
        })
        .await;
        nothing_arrives(&mut at_a).await;

        b.send(account(&a), &frame(reshare_tag(1, 2), 3)).await;
        let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            got.payload,
            vec![3],
            "only the current attempt's message from a participant arrives"
        );
    }
}
