//! The history of sessions, read from the chain's blocks: each session's reshare attempts, how
//! it ended (rotated or abandoned), how long it took, and who left and joined. Pure: blocks go
//! in, a record comes out, so every rule is tested without a node.

use std::collections::{BTreeSet, VecDeque};

use keywheel_chain::{AccountId, BlockNumber, Event, ReshareKind, SessionIndex};
use keywheel_rpc::Block;
use serde::Serialize;

/// The most sessions kept; older ones are dropped first.
pub const MAX_SESSIONS: usize = 200;
/// The most aborted attempts kept per session.
const MAX_ABORTS: usize = 16;
/// The most recent blocks remembered by hash, so a block seen twice (once from the
/// subscription, once read back) is known as a repeat.
const RECENT: usize = 64;

/// How a session's reshare ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An attempt is running or will be retried.
    InFlight,
    /// Every new member confirmed: the committee rotated.
    Rotated,
    /// No further attempt this session; the old committee keeps the key.
    Abandoned,
}

/// An attempt that ended without a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Abort {
    /// The attempt.
    pub attempt: u32,
    /// Why, as the chain says it (`Deadline`, `Offence`, ...).
    pub reason: String,
    /// Who was blamed (TSS accounts).
    pub offenders: Vec<AccountId>,
}

/// One session's reshare, from its first attempt to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// The session.
    pub session: SessionIndex,
    /// Jumpstart or rotation.
    pub kind: ReshareKind,
    /// Attempts started.
    pub attempts: u32,
    /// The block of the first attempt's start, and its timestamp.
    pub started_block: BlockNumber,
    /// Chain time of that block.
    pub started_ms: u64,
    /// The block it ended in, if it ended.
    pub ended_block: Option<BlockNumber>,
    /// Chain time of that block.
    pub ended_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Members of the committee being formed that do not stay from the old one (TSS accounts).
    pub joined: Vec<AccountId>,
    /// Holders that are not in the committee being formed; none if the committee before is not
    /// known (the history was read back from a later block than the last rotation's).
    pub left: Option<Vec<AccountId>>,
    /// The attempts that ended without a rotation.
    pub aborts: Vec<Abort>,
    /// The committee the latest attempt forms.
    #[serde(skip)]
    forming: BTreeSet<AccountId>,
}

impl SessionRecord {
    /// Seconds from the first attempt's start to the end, in chain time.
    pub fn duration_s(&self) -> Option<f64> {
        self.ended_ms
            .map(|end| end.saturating_sub(self.started_ms) as f64 / 1000.0)
    }
}

/// What the chain's blocks say so far.
#[derive(Debug, Clone)]
pub struct History {
    /// The last blocks applied, newest last: number and hash.
    recent: VecDeque<(BlockNumber, [u8; 32])>,
    /// Sessions, oldest first.
    sessions: VecDeque<SessionRecord>,
    /// The committee after the last rotation, if the history saw it (or saw it never formed).
    holders: Option<BTreeSet<AccountId>>,
}

impl Default for History {
    fn default() -> Self {
        Self {
            recent: VecDeque::new(),
            sessions: VecDeque::new(),
            holders: Some(BTreeSet::new()),
        }
    }
}

/// Why a block cannot follow the ones applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// Blocks between are missing: read them first.
    Missing {
        /// The first block missing.
        from: BlockNumber,
    },
    /// The block does not build on the last one applied (the node was restored from a backup,
    /// or a block was replaced): the history must be read again from the start.
    Diverged,
}

impl History {
    /// The number of the last block applied.
    pub fn height(&self) -> Option<BlockNumber> {
        self.recent.back().map(|(n, _)| *n)
    }

    /// Sessions, oldest first.
    pub fn sessions(&self) -> impl DoubleEndedIterator<Item = &SessionRecord> {
        self.sessions.iter()
    }

    /// Applies the next block; refuses (and changes nothing) a block that does not follow. A
    /// recent block applied already is a repeat: accepted, and nothing changes.
    pub fn apply(&mut self, block: &Block) -> Result<(), Gap> {
        let number = block.header.number;
        if let Some(&(last, hash)) = self.recent.back() {
            if number <= last {
                let hash_now = block.hash();
                return match self.recent.iter().any(|r| *r == (number, hash_now)) {
                    true => Ok(()),
                    false => Err(Gap::Diverged),
                };
            }
            if number - last > 1 {
                return Err(Gap::Missing { from: last + 1 });
            }
            if block.header.parent_hash != hash {
                return Err(Gap::Diverged);
            }
        }
        for record in &block.events {
            self.apply_event(&record.event, number, block.header.timestamp_ms);
        }
        self.remember(number, block.hash());
        Ok(())
    }

    /// Starts the history at a block without reading its events or those before (the chain is
    /// longer than what the dashboard reads back): the committee before is not known.
    pub fn start_after(&mut self, block: &Block) {
        self.remember(block.header.number, block.hash());
        self.holders = None;
    }

    /// Whether `block` is one of the recent blocks applied (the same number and hash).
    pub fn knows(&self, block: &Block) -> bool {
        let seen = (block.header.number, block.hash());
        self.recent.iter().any(|r| *r == seen)
    }

    fn remember(&mut self, number: BlockNumber, hash: [u8; 32]) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((number, hash));
    }

    fn apply_event(&mut self, event: &Event, block: BlockNumber, at_ms: u64) {
        match event {
            Event::ReshareStarted {
                kind,
                session,
                attempt: _,
                staying,
                new_committee,
                ..
            } => {
                let open = self
                    .sessions
                    .back()
                    .is_some_and(|s| s.session == *session && s.outcome == Outcome::InFlight);
                if !open {
                    if self.sessions.len() == MAX_SESSIONS {
                        self.sessions.pop_front();
                    }
                    self.sessions.push_back(SessionRecord {
                        session: *session,
                        kind: *kind,
                        attempts: 0,
                        started_block: block,
                        started_ms: at_ms,
                        ended_block: None,
                        ended_ms: None,
                        outcome: Outcome::InFlight,
                        joined: Vec::new(),
                        left: None,
                        aborts: Vec::new(),
                        forming: BTreeSet::new(),
                    });
                }
                let holders = &self.holders;
                let record = self.sessions.back_mut().expect("pushed above if none was open");
                record.attempts = record.attempts.saturating_add(1);
                record.joined = new_committee.difference(staying).copied().collect();
                record.left = holders.as_ref().map(|h| h.difference(new_committee).copied().collect());
                record.forming = new_committee.clone();
            }
            Event::ReshareAborted {
                session,
                attempt,
                reason,
                offenders,
            } => {
                if let Some(record) = self.open(*session) {
                    if record.aborts.len() < MAX_ABORTS {
                        record.aborts.push(Abort {
                            attempt: *attempt,
                            reason: format!("{reason:?}"),
                            offenders: offenders.clone(),
                        });
                    }
                }
            }
            Event::ReshareAbandoned { session, .. } => {
                if let Some(record) = self.open(*session) {
                    record.outcome = Outcome::Abandoned;
                    record.ended_block = Some(block);
                    record.ended_ms = Some(at_ms);
                }
            }
            Event::RotateKey { session, .. } => {
                if let Some(record) = self.open(*session) {
                    record.outcome = Outcome::Rotated;
                    record.ended_block = Some(block);
                    record.ended_ms = Some(at_ms);
                    let forming = record.forming.clone();
                    self.holders = Some(forming);
                }
            }
            _ => {}
        }
    }

    /// The latest session's record if it is `session`'s and still in flight.
    fn open(&mut self, session: SessionIndex) -> Option<&mut SessionRecord> {
        self.sessions
            .back_mut()
            .filter(|s| s.session == session && s.outcome == Outcome::InFlight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywheel_chain::AbortReason;
    use keywheel_rpc::{EventRecord, Header, Phase};

    fn acc(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    fn set(of: &[u8]) -> BTreeSet<AccountId> {
        of.iter().map(|i| acc(*i)).collect()
    }

    /// A chain of blocks built one after the other.
    struct Chain {
        blocks: Vec<Block>,
    }

    impl Chain {
        fn new() -> Self {
            Self { blocks: Vec::new() }
        }

        fn block(&mut self, events: Vec<Event>) -> Block {
            let number = self.blocks.len() as BlockNumber + 1;
            let parent_hash = self.blocks.last().map_or([0; 32], Block::hash);
            let block = block_at(number, parent_hash, events);
            self.blocks.push(block.clone());
            block
        }
    }

    fn block_at(number: BlockNumber, parent_hash: [u8; 32], events: Vec<Event>) -> Block {
        Block {
            header: Header {
                number,
                parent_hash,
                timestamp_ms: number * 1000,
                author: acc(0),
                randomness: [0; 32],
                vrf_output: [0; 32],
                vrf_proof: Vec::new(),
                extrinsics_root: [0; 32],
                events_root: [0; 32],
                state_digest: [0; 32],
            },
            extrinsics: Vec::new(),
            events: events
                .into_iter()
                .map(|event| EventRecord {
                    block: number,
                    phase: Phase::Initialization,
                    event,
                })
                .collect(),
        }
    }

    /// A `ReshareStarted` forming `new`; those of `new` in `old` stay.
    fn started(kind: ReshareKind, session: u32, attempt: u32, new: &[u8]) -> Event {
        started_from(kind, session, attempt, new, &[])
    }

    fn started_from(kind: ReshareKind, session: u32, attempt: u32, new: &[u8], old: &[u8]) -> Event {
        Event::ReshareStarted {
            kind,
            session,
            attempt,
            staying: set(new).intersection(&set(old)).copied().collect(),
            new_committee: set(new),
            threshold: 2,
            deadline: 100,
        }
    }

    #[test]
    fn a_jumpstart_then_a_rotation_with_a_retry_are_recorded_with_who_left_and_joined() {
        let mut chain = Chain::new();
        let mut history = History::default();
        let blocks = [
            chain.block(vec![started(ReshareKind::Jumpstart, 0, 1, &[1, 2, 3])]),
            chain.block(vec![]),
            chain.block(vec![Event::RotateKey { session: 0, attempt: 1 }]),
            chain.block(vec![started_from(ReshareKind::Rotation, 1, 1, &[2, 3, 4], &[1, 2, 3])]),
            chain.block(vec![Event::ReshareAborted {
                session: 1,
                attempt: 1,
                reason: AbortReason::Deadline,
                offenders: vec![acc(4)],
            }]),
            chain.block(vec![started_from(ReshareKind::Rotation, 1, 2, &[2, 3, 5], &[1, 2, 3])]),
        ];
        for b in &blocks {
            history.apply(b).unwrap();
        }
        let sessions: Vec<_> = history.sessions().cloned().collect();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].outcome, Outcome::Rotated);
        assert_eq!(sessions[0].joined, vec![acc(1), acc(2), acc(3)]);
        assert_eq!(sessions[0].duration_s(), Some(2.0));
        let rotation = &sessions[1];
        assert_eq!((rotation.attempts, rotation.outcome), (2, Outcome::InFlight));
        assert_eq!(
            (rotation.joined.clone(), rotation.left.clone()),
            (vec![acc(5)], Some(vec![acc(1)]))
        );
        assert_eq!(rotation.aborts[0].offenders, vec![acc(4)]);
        assert_eq!(rotation.aborts[0].reason, "Deadline");
        assert_eq!(rotation.duration_s(), None);

        history
            .apply(&chain.block(vec![Event::RotateKey { session: 1, attempt: 2 }]))
            .unwrap();
        let last = history.sessions().next_back().unwrap();
        assert_eq!((last.outcome, last.duration_s()), (Outcome::Rotated, Some(3.0)));
        // The next rotation measures who left against the committee that rotated in.
        history
            .apply(&chain.block(vec![started_from(ReshareKind::Rotation, 2, 1, &[3, 5, 6], &[2, 3, 5])]))
            .unwrap();
        let next = history.sessions().next_back().unwrap();
        assert_eq!(
            (next.joined.clone(), next.left.clone()),
            (vec![acc(6)], Some(vec![acc(2)]))
        );
    }

    #[test]
    fn an_abandoned_session_ends_without_changing_the_holders() {
        let mut chain = Chain::new();
        let mut history = History::default();
        for events in [
            vec![started(ReshareKind::Jumpstart, 0, 1, &[1, 2, 3])],
            vec![Event::RotateKey { session: 0, attempt: 1 }],
            vec![started_from(ReshareKind::Rotation, 1, 1, &[2, 3, 4], &[1, 2, 3])],
            vec![Event::ReshareAbandoned {
                session: 1,
                attempts: 1,
            }],
            vec![started_from(ReshareKind::Rotation, 2, 1, &[2, 3, 5], &[1, 2, 3])],
        ] {
            history.apply(&chain.block(events)).unwrap();
        }
        let sessions: Vec<_> = history.sessions().cloned().collect();
        assert_eq!(sessions[1].outcome, Outcome::Abandoned);
        assert_eq!(
            sessions[2].left,
            Some(vec![acc(1)]),
            "still measured against the jumpstart's committee"
        );
    }

    #[test]
    fn a_block_that_skips_or_does_not_build_on_the_last_is_refused_and_changes_nothing() {
        let mut chain = Chain::new();
        let mut history = History::default();
        history.apply(&chain.block(vec![])).unwrap();
        let skipped = chain.block(vec![]);
        let third = chain.block(vec![started(ReshareKind::Jumpstart, 0, 1, &[1, 2])]);
        assert_eq!(history.apply(&third), Err(Gap::Missing { from: 2 }));
        assert_eq!(history.sessions().count(), 0, "nothing applied");

        // A block 2 from another chain (a node restored from a backup that then built anew).
        let foreign = block_at(2, [9; 32], vec![]);
        assert_eq!(history.apply(&foreign), Err(Gap::Diverged));
        assert_eq!(history.apply(&chain.blocks[0]), Ok(()), "block 1 again is a repeat");
        let other_first = block_at(1, [8; 32], vec![]);
        assert_eq!(history.apply(&other_first), Err(Gap::Diverged), "another block 1");
        assert_eq!(history.height(), Some(1));

        history.apply(&skipped).unwrap();
        history.apply(&third).unwrap();
        assert_eq!(history.sessions().count(), 1);
        // The same block again (from the subscription and from the read-back) is a repeat.
        history.apply(&third).unwrap();
        history.apply(&skipped).unwrap();
        assert_eq!(history.sessions().next().unwrap().attempts, 1, "applied once");
        assert_eq!(history.height(), Some(3));
    }

    #[test]
    fn a_history_read_back_from_a_later_block_does_not_guess_who_left() {
        let mut chain = Chain::new();
        for _ in 0..5 {
            chain.block(vec![]);
        }
        let mut history = History::default();
        history.start_after(&chain.blocks[4]);
        history
            .apply(&chain.block(vec![started_from(ReshareKind::Rotation, 3, 1, &[2, 3, 4], &[1, 2, 3])]))
            .unwrap();
        let first = history.sessions().next().unwrap().clone();
        assert_eq!((first.joined, first.left), (vec![acc(4)], None));
        history
            .apply(&chain.block(vec![Event::RotateKey { session: 3, attempt: 1 }]))
            .unwrap();
        history
            .apply(&chain.block(vec![started_from(ReshareKind::Rotation, 4, 1, &[3, 4, 5], &[2, 3, 4])]))
            .unwrap();
        let second = history.sessions().next_back().unwrap();
        assert_eq!(second.left, Some(vec![acc(2)]), "known once a rotation was seen");
    }

    #[test]
    fn the_history_is_bounded() {
        let mut chain = Chain::new();
        let mut history = History::default();
        for session in 0..(MAX_SESSIONS as u32 + 5) {
            history
                .apply(&chain.block(vec![started(ReshareKind::Rotation, session, 1, &[1])]))
                .unwrap();
            history
                .apply(&chain.block(vec![Event::RotateKey { session, attempt: 1 }]))
                .unwrap();
        }
        assert_eq!(history.sessions().count(), MAX_SESSIONS);
        assert_eq!(history.sessions().next().unwrap().session, 5, "the oldest went first");
    }
}
