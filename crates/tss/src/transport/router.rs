//! Which protocol frame goes to which protocol session: the transport's rules about who may say
//! what. Pure (no IO; time is passed in), so every rule is tested without sockets.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
use keywheel_mpc::driver::Incoming;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use crate::metrics::Dropped;
use crate::wire::Tag;

/// What frames for protocol sessions not opened yet may cost, over all of them (payload bytes
/// plus [`MESSAGE_OVERHEAD`] per frame). Frames other than those of the attempt in flight may
/// take half of it (and half of [`MAX_PENDING_SESSIONS`]), so the attempt's own early frames
/// always find room.
const MAX_PENDING_BYTES: usize = 256 << 20;
/// The share of [`MAX_PENDING_BYTES`] one peer's frames may take.
const MAX_PENDING_BYTES_PER_PEER: usize = 32 << 20;
/// Protocol sessions not opened yet that frames may wait for, over all peers.
const MAX_PENDING_SESSIONS: usize = 256;
/// Protocol sessions not opened yet that one peer's frames may wait for: an honest peer is at
/// most one attempt (three sessions) and a few signing requests ahead.
const MAX_PENDING_SESSIONS_PER_PEER: usize = 16;
/// Frames one peer may have waiting for one protocol session: its own messages of every round
/// and its relays of everyone else's, with room to spare at a committee of 15.
const MAX_PENDING_PER_PEER_AND_SESSION: usize = 256;
/// What a buffered frame costs besides its payload (the entry, the sender, the vector).
pub(super) const MESSAGE_OVERHEAD: usize = 128;
/// How long frames for a protocol session not opened yet are kept.
const PENDING_TTL: Duration = Duration::from_secs(300);
/// How many ended protocol sessions are remembered (their late frames are dropped as closed).
const CLOSED_REMEMBERED: usize = 1024;

/// A protocol session opened on this TSS: who may send to it, and where its messages go.
struct OpenProtocolSession {
    participants: BTreeSet<AccountId>,
    tx: mpsc::Sender<Incoming>,
}

/// Messages for a protocol session not opened yet.
struct Pending {
    since: Instant,
    messages: Vec<Incoming>,
    /// Per sender: how many messages, and what they cost.
    by_peer: HashMap<AccountId, (usize, usize)>,
}

/// What one peer's frames in the buffer cost: bytes, and the sessions they wait for.
#[derive(Debug, Default, Clone, Copy)]
struct PeerShare {
    bytes: usize,
    sessions: usize,
}

/// Where a routed frame goes.
pub(super) type Delivery = (mpsc::Sender<Incoming>, Incoming);

fn cost(message: &Incoming) -> usize {
    message.payload.len() + MESSAGE_OVERHEAD
}

/// The reshare attempt in flight as the chain names it, and who takes part.
#[derive(Debug, Clone)]
pub(super) struct InFlight {
    /// Its session and attempt.
    pub(super) attempt: (SessionIndex, AttemptIndex),
    /// Its participants (staying holders and new committee).
    pub(super) participants: BTreeSet<AccountId>,
}

/// Routes protocol frames to protocol sessions.
pub(super) struct Router {
    network: [u8; 32],
    /// The reshare attempt in flight: frames tagged for an older one are stale.
    floor: (SessionIndex, AttemptIndex),
    /// The attempt in flight and its participants, once the chain named one.
    in_flight: Option<InFlight>,
    /// The current committee (TSS accounts): the only possible signers, so the only senders of
    /// early signing frames. Empty until known.
    committee: BTreeSet<AccountId>,
    open: HashMap<Vec<u8>, OpenProtocolSession>,
    pending: HashMap<Vec<u8>, Pending>,
    /// Pending sessions in the order they were first buffered, for expiry from the front.
    pending_order: VecDeque<(Instant, Vec<u8>)>,
    pending_bytes: usize,
    peers: HashMap<AccountId, PeerShare>,
    closed: HashSet<Vec<u8>>,
    closed_order: VecDeque<Vec<u8>>,
}

impl Router {
    /// A router for protocol sessions of `network`.
    pub(super) fn new(network: [u8; 32]) -> Self {
        Self {
            network,
            floor: (0, 0),
            in_flight: None,
            committee: BTreeSet::new(),
            open: HashMap::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            pending_bytes: 0,
            peers: HashMap::new(),
            closed: HashSet::new(),
            closed_order: VecDeque::new(),
        }
    }

    /// Where a protocol frame from `from` goes at `now`: to its open protocol session
    /// (`Some`), into the buffer for one not opened yet (`None`), or dropped (why). The buffer
    /// is bounded overall and per peer, in what its frames cost and in sessions waited for, so
    /// one declared peer cannot crowd out the early frames of the others.
    pub(super) fn route(
        &mut self,
        from: AccountId,
        tag: Tag,
        payload: Vec<u8>,
        now: Instant,
    ) -> Result<Option<Delivery>, Dropped> {
        if let Tag::Reshare { session, attempt, .. } = tag {
            if (session, attempt) < self.floor {
                return Err(Dropped::Stale);
            }
        }
        let protocol_session = tag.protocol_session_id(&self.network);
        let incoming = Incoming { from, payload };
        if let Some(open) = self.open.get(&protocol_session) {
            if !open.participants.contains(&from) {
                return Err(Dropped::NotParticipant);
            }
            return Ok(Some((open.tx.clone(), incoming)));
        }
        if self.closed.contains(&protocol_session) {
            return Err(Dropped::Closed);
        }
        let in_flight = self.expected_early(from, &tag)?;
        self.expire_pending(now);
        let size = cost(&incoming);
        let share = self.peers.get(&from).copied().unwrap_or_default();
        let entry = self.pending.get(&protocol_session);
        let (in_session, _) = entry.and_then(|p| p.by_peer.get(&from).copied()).unwrap_or_default();
        let new_session_for_peer = in_session == 0;
        if share.bytes + size > MAX_PENDING_BYTES_PER_PEER
            || (new_session_for_peer && share.sessions >= MAX_PENDING_SESSIONS_PER_PEER)
            || in_session >= MAX_PENDING_PER_PEER_AND_SESSION
        {
            return Err(Dropped::PeerQuota);
        }
        let (bytes_cap, sessions_cap) = match in_flight {
            true => (MAX_PENDING_BYTES, MAX_PENDING_SESSIONS),
            false => (MAX_PENDING_BYTES / 2, MAX_PENDING_SESSIONS / 2),
        };
        if self.pending_bytes + size > bytes_cap || (entry.is_none() && self.pending.len() >= sessions_cap) {
            return Err(Dropped::BufferFull);
        }
        self.pending_bytes += size;
        let share = self.peers.entry(from).or_default();
        share.bytes += size;
        if new_session_for_peer {
            share.sessions += 1;
        }
        let pending = match self.pending.entry(protocol_session) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.pending_order.push_back((now, e.key().clone()));
                e.insert(Pending {
                    since: now,
                    messages: Vec::new(),
                    by_peer: HashMap::new(),
                })
            }
        };
        let (n, bytes) = pending.by_peer.entry(from).or_default();
        *n += 1;
        *bytes += size;
        pending.messages.push(incoming);
        Ok(None)
    }

    /// Whether an early frame (for a session not opened yet) from `from` could be one an honest
    /// peer sends: `Ok(true)` for the attempt in flight (from one of its participants),
    /// `Ok(false)` for the attempt after it or a signing round of a committee member (or while
    /// nothing is known yet), else why not. Frames for attempts further ahead are not expected:
    /// the chain names one attempt at a time.
    fn expected_early(&self, from: AccountId, tag: &Tag) -> Result<bool, Dropped> {
        match *tag {
            Tag::Reshare { session, attempt, .. } => {
                let Some(in_flight) = &self.in_flight else {
                    return Ok(false);
                };
                let (s, a) = in_flight.attempt;
                if (session, attempt) == (s, a) {
                    return match in_flight.participants.contains(&from) {
                        true => Ok(true),
                        false => Err(Dropped::NotParticipant),
                    };
                }
                let next = (session == s && attempt == a.saturating_add(1)) || (session > s && attempt == 1);
                match next {
                    true => Ok(false),
                    false => Err(Dropped::NotExpected),
                }
            }
            Tag::Signing { .. } | Tag::DklsSigning { .. } => {
                match self.committee.is_empty() || self.committee.contains(&from) {
                    true => Ok(false),
                    false => Err(Dropped::NotParticipant),
                }
            }
        }
    }

    /// Drops the pending sessions older than [`PENDING_TTL`]: from the front of the order they
    /// came in, so each call costs only what it removes.
    fn expire_pending(&mut self, now: Instant) {
        while let Some((since, _)) = self.pending_order.front() {
            if now.saturating_duration_since(*since) < PENDING_TTL {
                break;
            }
            let Some((since, session)) = self.pending_order.pop_front() else {
                break;
            };
            // An entry opened (taken) meanwhile, or re-created later, is not this one.
            if self.pending.get(&session).is_some_and(|p| p.since == since) {
                if let Some(p) = self.pending.remove(&session) {
                    debug!(
                        "dropped {} expired frames of a protocol session never opened",
                        p.messages.len()
                    );
                    self.release(p);
                }
            }
        }
    }

    /// Gives back what a removed pending entry cost.
    fn release(&mut self, pending: Pending) {
        for (peer, (_, bytes)) in pending.by_peer {
            self.pending_bytes -= bytes;
            if let Some(share) = self.peers.get_mut(&peer) {
                share.bytes -= bytes;
                share.sessions -= 1;
                if share.sessions == 0 {
                    self.peers.remove(&peer);
                }
            }
        }
    }

    /// Opens a protocol session; returns the messages that arrived for it before from its
    /// participants, and how many others were refused.
    pub(super) fn open(
        &mut self,
        protocol_session: Vec<u8>,
        participants: BTreeSet<AccountId>,
        tx: mpsc::Sender<Incoming>,
    ) -> (Vec<Incoming>, usize) {
        let mut early = Vec::new();
        let mut refused = 0;
        if let Some(mut pending) = self.pending.remove(&protocol_session) {
            for m in std::mem::take(&mut pending.messages) {
                if participants.contains(&m.from) {
                    early.push(m);
                } else {
                    refused += 1;
                }
            }
            self.release(pending);
        }
        self.open
            .insert(protocol_session, OpenProtocolSession { participants, tx });
        (early, refused)
    }

    /// Closes a protocol session, opened or not: frames that wait for it are dropped, and its
    /// late frames from now on.
    pub(super) fn close(&mut self, protocol_session: &[u8]) {
        self.open.remove(protocol_session);
        if let Some(pending) = self.pending.remove(protocol_session) {
            debug!(
                "dropped {} frames of a protocol session closed before it opened",
                pending.messages.len()
            );
            self.release(pending);
        }
        if self.closed.insert(protocol_session.to_vec()) {
            self.closed_order.push_back(protocol_session.to_vec());
            if self.closed_order.len() > CLOSED_REMEMBERED {
                if let Some(old) = self.closed_order.pop_front() {
                    self.closed.remove(&old);
                }
            }
        }
    }

    /// Raises the floor to the reshare attempt in flight (never lowers it).
    pub(super) fn set_floor(&mut self, floor: (SessionIndex, AttemptIndex)) {
        if floor > self.floor {
            self.floor = floor;
        }
    }

    /// Records the attempt in flight and its participants (and raises the floor to it).
    pub(super) fn set_in_flight(&mut self, in_flight: InFlight) {
        if in_flight.attempt < self.floor {
            return;
        }
        self.set_floor(in_flight.attempt);
        self.in_flight = Some(in_flight);
    }

    /// Records the current committee, the possible signers.
    pub(super) fn set_committee(&mut self, committee: BTreeSet<AccountId>) {
        self.committee = committee;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywheel_mpc::driver::ProtocolKind;

    const NETWORK: [u8; 32] = [3; 32];
    const A: AccountId = AccountId([1; 32]);
    const B: AccountId = AccountId([2; 32]);
    const C: AccountId = AccountId([3; 32]);

    fn reshare(session: u32, attempt: u32) -> Tag {
        Tag::Reshare {
            kind: ProtocolKind::Reshare,
            session,
            attempt,
        }
    }

    fn open(
        router: &mut Router,
        tag: Tag,
        participants: &[AccountId],
    ) -> (mpsc::Receiver<Incoming>, Vec<Incoming>, usize) {
        let (tx, rx) = mpsc::channel(8);
        let (early, refused) = router.open(
            tag.protocol_session_id(&NETWORK),
            participants.iter().copied().collect(),
            tx,
        );
        (rx, early, refused)
    }

    #[test]
    fn early_frames_wait_for_their_session_and_only_participants_get_in() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        let tag = reshare(1, 1);
        assert!(matches!(router.route(B, tag, vec![1], now), Ok(None)), "buffered");
        assert!(matches!(router.route(C, tag, vec![2], now), Ok(None)), "buffered too");
        let (_rx, early, refused) = open(&mut router, tag, &[A, B]);
        assert_eq!(early.len(), 1, "the participant's early frame is handed over");
        assert_eq!((early[0].from, early[0].payload.clone()), (B, vec![1]));
        assert_eq!(refused, 1, "the outsider's early frame is refused");
        assert_eq!(router.pending_bytes, 0, "the buffer is empty again");

        let (_, delivered) = router.route(B, tag, vec![3], now).unwrap().expect("delivered");
        assert_eq!(delivered.payload, vec![3]);
        assert!(matches!(
            router.route(C, tag, vec![4], now),
            Err(Dropped::NotParticipant)
        ));
    }

    #[test]
    fn frames_of_older_attempts_and_closed_sessions_are_dropped() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        router.set_floor((2, 3));
        router.set_floor((1, 9));
        assert!(matches!(
            router.route(B, reshare(2, 2), vec![1], now),
            Err(Dropped::Stale)
        ));
        assert!(
            matches!(router.route(B, reshare(1, 9), vec![1], now), Err(Dropped::Stale)),
            "the floor never moves back"
        );
        let tag = reshare(2, 3);
        let _ = open(&mut router, tag, &[A, B]);
        router.close(&tag.protocol_session_id(&NETWORK));
        assert!(matches!(router.route(B, tag, vec![1], now), Err(Dropped::Closed)));
        let signing = Tag::Signing {
            request: [5; 32],
            round: 0,
        };
        assert!(
            matches!(router.route(B, signing, vec![1], now), Ok(None)),
            "no floor for signing"
        );
    }

    /// A signing round called off before this TSS opened its session leaves its co-signers'
    /// early frames behind: closing it frees their room at once, or a busy peer's later rounds
    /// would find its share of sessions taken until the frames expire, and be dropped.
    #[test]
    fn closing_a_session_never_opened_frees_its_senders_room() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        let signing = |round| Tag::DklsSigning {
            request: [5; 32],
            round,
        };
        for round in 0..MAX_PENDING_SESSIONS_PER_PEER as u32 {
            assert!(matches!(router.route(B, signing(round), vec![1], now), Ok(None)));
        }
        let next = MAX_PENDING_SESSIONS_PER_PEER as u32;
        assert!(matches!(
            router.route(B, signing(next), vec![1], now),
            Err(Dropped::PeerQuota)
        ));
        router.close(&signing(0).protocol_session_id(&NETWORK));
        assert!(matches!(
            router.route(B, signing(0), vec![1], now),
            Err(Dropped::Closed)
        ));
        assert!(
            matches!(router.route(B, signing(next), vec![1], now), Ok(None)),
            "the closed session's room is free again"
        );
        assert_eq!(
            router.pending_bytes,
            MAX_PENDING_SESSIONS_PER_PEER * (1 + MESSAGE_OVERHEAD)
        );
    }

    #[test]
    fn the_buffer_is_bounded_and_expires() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        // Big frames from many peers fill the whole buffer; the next one is refused.
        let peers: Vec<AccountId> = (10..20).map(|i| AccountId([i; 32])).collect();
        router.set_in_flight(InFlight {
            attempt: (1, 1),
            participants: peers.iter().copied().collect(),
        });
        let big = vec![0; MAX_PENDING_BYTES_PER_PEER - MESSAGE_OVERHEAD];
        for peer in &peers[..8] {
            assert!(matches!(router.route(*peer, reshare(1, 1), big.clone(), now), Ok(None)));
        }
        assert_eq!(router.pending_bytes, MAX_PENDING_BYTES);
        assert!(matches!(
            router.route(peers[8], reshare(1, 1), vec![], now),
            Err(Dropped::BufferFull)
        ));
        // Past the TTL the old entries go, and room is back.
        let later = now + PENDING_TTL;
        assert!(matches!(router.route(B, reshare(1, 2), vec![0], later), Ok(None)));
        assert_eq!(router.pending_bytes, 1 + MESSAGE_OVERHEAD);
        assert!(
            !router.peers.contains_key(&peers[0]),
            "an expired peer's share is given back"
        );
        let (_rx, early, _) = open(&mut router, reshare(1, 1), &peers);
        assert!(early.is_empty(), "expired frames are gone");
    }

    #[test]
    fn one_peer_cannot_crowd_out_the_others_early_frames() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        // Empty payloads are not free: each costs its overhead, up to the peer's share.
        let most = MAX_PENDING_PER_PEER_AND_SESSION;
        for _ in 0..most {
            assert!(matches!(router.route(C, reshare(1, 1), vec![], now), Ok(None)));
        }
        assert!(matches!(
            router.route(C, reshare(1, 1), vec![], now),
            Err(Dropped::PeerQuota)
        ));
        assert_eq!(router.pending_bytes, most * MESSAGE_OVERHEAD);
        // Random tags (signing request ids nobody asked for) open at most a few sessions each.
        let mut refused = 0;
        for i in 0..1000u32 {
            let mut request = [0u8; 32];
            request[..4].copy_from_slice(&i.to_be_bytes());
            match router.route(C, Tag::Signing { request, round: 0 }, vec![], now) {
                Ok(None) => {}
                Err(Dropped::PeerQuota) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(refused, 1000 - (MAX_PENDING_SESSIONS_PER_PEER - 1));
        assert!(router.pending.len() <= MAX_PENDING_SESSIONS_PER_PEER);
        // A peer over its byte share is refused too.
        let big = vec![0; MAX_PENDING_BYTES_PER_PEER];
        assert!(matches!(
            router.route(A, reshare(1, 1), big, now),
            Err(Dropped::PeerQuota)
        ));
        // Meanwhile an honest peer's early frame of the real attempt still gets in and is handed
        // over when the session opens; the flooder's are handed over only up to its share.
        assert!(matches!(router.route(B, reshare(1, 1), vec![9], now), Ok(None)));
        let (_rx, early, refused) = open(&mut router, reshare(1, 1), &[A, B, C]);
        assert_eq!(refused, 0);
        assert_eq!(early.iter().filter(|m| m.from == B).count(), 1);
        assert_eq!(early.iter().filter(|m| m.from == C).count(), most);
        let c = router.peers[&C];
        assert_eq!(
            c.sessions,
            MAX_PENDING_SESSIONS_PER_PEER - 1,
            "C's signing entries remain"
        );
        assert!(!router.peers.contains_key(&B), "B's share is given back");
    }

    #[test]
    fn early_frames_are_taken_only_from_senders_an_honest_peer_could_be() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        router.set_in_flight(InFlight {
            attempt: (2, 1),
            participants: [A, B].into(),
        });
        router.set_committee([A, B].into());
        let cases = [
            (B, reshare(2, 1), Ok(())),
            (C, reshare(2, 1), Err(Dropped::NotParticipant)),
            // The attempt after the one in flight: its participants are not known yet.
            (C, reshare(2, 2), Ok(())),
            (C, reshare(3, 1), Ok(())),
            (C, reshare(2, 3), Err(Dropped::NotExpected)),
            (C, reshare(3, 2), Err(Dropped::NotExpected)),
            (C, reshare(9, 7), Err(Dropped::NotExpected)),
            (
                A,
                Tag::Signing {
                    request: [1; 32],
                    round: 0,
                },
                Ok(()),
            ),
            (
                C,
                Tag::Signing {
                    request: [1; 32],
                    round: 0,
                },
                Err(Dropped::NotParticipant),
            ),
        ];
        for (from, tag, expected) in cases {
            let routed = router
                .route(from, tag, vec![1], now)
                .map(|d| assert!(d.is_none(), "{tag:?}"));
            assert_eq!(routed, expected, "{from:?} {tag:?}");
        }
    }

    #[test]
    fn frames_of_other_sessions_cannot_take_the_room_of_the_attempt_in_flight() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        router.set_in_flight(InFlight {
            attempt: (1, 1),
            participants: [B].into(),
        });
        // Peers fill what frames of other sessions may take (the next attempt, here).
        let peers: Vec<AccountId> = (10..20).map(|i| AccountId([i; 32])).collect();
        let big = vec![0; MAX_PENDING_BYTES_PER_PEER - MESSAGE_OVERHEAD];
        for peer in &peers[..4] {
            assert!(matches!(router.route(*peer, reshare(1, 2), big.clone(), now), Ok(None)));
        }
        assert!(matches!(
            router.route(peers[4], reshare(1, 2), vec![], now),
            Err(Dropped::BufferFull)
        ));
        // The attempt in flight still finds room for its participants' early frames.
        assert!(matches!(router.route(B, reshare(1, 1), vec![7], now), Ok(None)));
        let (_rx, early, _) = open(&mut router, reshare(1, 1), &[B]);
        assert_eq!(early.len(), 1);
    }
}
