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

/// Bytes buffered for protocol sessions not opened yet, over all of them.
const MAX_PENDING_BYTES: usize = 256 << 20;
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
}

/// Where a routed frame goes.
pub(super) type Delivery = (mpsc::Sender<Incoming>, Incoming);

/// Routes protocol frames to protocol sessions.
pub(super) struct Router {
    network: [u8; 32],
    /// The reshare attempt in flight: frames tagged for an older one are stale.
    floor: (SessionIndex, AttemptIndex),
    open: HashMap<Vec<u8>, OpenProtocolSession>,
    pending: HashMap<Vec<u8>, Pending>,
    pending_bytes: usize,
    closed: HashSet<Vec<u8>>,
    closed_order: VecDeque<Vec<u8>>,
}

impl Router {
    /// A router for protocol sessions of `network`.
    pub(super) fn new(network: [u8; 32]) -> Self {
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

    /// Where a protocol frame from `from` goes at `now`: to its open protocol session
    /// (`Some`), into the buffer for one not opened yet (`None`), or dropped (why).
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
        self.expire_pending(now);
        let size = incoming.payload.len();
        if self.pending_bytes + size > MAX_PENDING_BYTES {
            return Err(Dropped::BufferFull);
        }
        self.pending_bytes += size;
        self.pending
            .entry(protocol_session)
            .or_insert_with(|| Pending {
                since: now,
                messages: Vec::new(),
            })
            .messages
            .push(incoming);
        Ok(None)
    }

    fn expire_pending(&mut self, now: Instant) {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now.saturating_duration_since(p.since) < PENDING_TTL;
            if !keep {
                freed += p.messages.iter().map(|m| m.payload.len()).sum::<usize>();
            }
            keep
        });
        self.pending_bytes -= freed;
        if self.pending.len() != before {
            debug!(
                "dropped {} expired pending protocol sessions",
                before - self.pending.len()
            );
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
        if let Some(pending) = self.pending.remove(&protocol_session) {
            for m in pending.messages {
                self.pending_bytes -= m.payload.len();
                if participants.contains(&m.from) {
                    early.push(m);
                } else {
                    refused += 1;
                }
            }
        }
        self.open
            .insert(protocol_session, OpenProtocolSession { participants, tx });
        (early, refused)
    }

    /// Closes a protocol session: its late frames are dropped from now on.
    pub(super) fn close(&mut self, protocol_session: &[u8]) {
        self.open.remove(protocol_session);
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

    #[test]
    fn the_buffer_is_bounded_and_expires() {
        let mut router = Router::new(NETWORK);
        let now = Instant::now();
        let big = vec![0; MAX_PENDING_BYTES / 2];
        assert!(matches!(router.route(B, reshare(1, 1), big.clone(), now), Ok(None)));
        assert!(matches!(router.route(B, reshare(1, 2), big.clone(), now), Ok(None)));
        assert!(matches!(
            router.route(B, reshare(1, 3), vec![0], now),
            Err(Dropped::BufferFull)
        ));
        // Past the TTL the old entries go, and room is back.
        let later = now + PENDING_TTL;
        assert!(matches!(router.route(B, reshare(1, 3), vec![0], later), Ok(None)));
        assert_eq!(router.pending_bytes, 1);
        let (_rx, early, _) = open(&mut router, reshare(1, 1), &[B]);
        assert!(early.is_empty(), "expired frames are gone");
    }
}
