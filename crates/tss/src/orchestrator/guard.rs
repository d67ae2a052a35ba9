//! Whether the node this TSS follows can be trusted with key actions (rotate, retire, shred,
//! begin an attempt): it must be the network and genesis the keystore is bound to (and the
//! genesis the configuration pins), and it must not be behind — or on another branch than —
//! the highest block this TSS has seen. Pure: the orchestrator feeds it what the node and the
//! keystore say, and halts every key action while it says no.

use std::fmt;

use keywheel_chain::{BlockNumber, ReshareRecord, SessionIndex};

use crate::keystore::{ChainBinding, HighWater};

/// What the node says about its chain, read at one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NodeView {
    /// The node's network id.
    pub network: [u8; 32],
    /// The node's genesis hash.
    pub genesis_hash: [u8; 32],
    /// Its best sealed block.
    pub height: BlockNumber,
    /// That block's hash.
    pub best_hash: [u8; 32],
    /// The chain session.
    pub session: SessionIndex,
    /// The digest of the sharing the chain names now, if any.
    pub sharing: Option<[u8; 32]>,
    /// The node's hash of the block at the keystore's high-water height, if it has one.
    pub hash_at_high_water: Option<[u8; 32]>,
}

/// Why this TSS halts its key actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The node runs another network than the one the keystore is bound to.
    OtherNetwork,
    /// The node runs another genesis than the keystore's (or the configuration's pin).
    OtherGenesis {
        /// The genesis this TSS expects.
        expected: [u8; 32],
        /// The node's.
        found: [u8; 32],
    },
    /// The node is behind what this TSS has already seen (restored from a backup, or
    /// still syncing).
    Behind {
        /// The highest block this TSS has seen.
        seen: BlockNumber,
        /// The node's best block.
        node: BlockNumber,
    },
    /// The node's block at a height this TSS has seen is another block (a fork).
    Fork {
        /// The height.
        height: BlockNumber,
    },
    /// The node now runs another network or genesis than the node this process started with.
    NodeChanged,
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherNetwork => f.write_str(
                "the node runs another network than the one this keystore belongs to; point the TSS at its own \
                 network's node",
            ),
            Self::OtherGenesis { expected, found } => write!(
                f,
                "the node's genesis is 0x{} but this TSS follows 0x{}; point the TSS at its own network's node",
                hex::encode(found),
                hex::encode(expected)
            ),
            Self::Behind { seen, node } => write!(
                f,
                "the node is at block {node} but this TSS has already seen block {seen} (a node restored from a \
                 backup, or still syncing); key actions wait until the node is past block {seen}"
            ),
            Self::NodeChanged => f.write_str(
                "the node now runs another network or genesis than when this TSS started; restart the TSS once \
                 it points at its own network's node",
            ),
            Self::Fork { height } => write!(
                f,
                "the node's block {height} is not the block {height} this TSS saw (another branch of the chain); \
                 key actions wait until the node is back on the chain this TSS followed"
            ),
        }
    }
}

/// A node the guard accepted at one reconcile, and what it said: the only way to a key action
/// that changes the keystore's slots ([`super::slots::settle`] takes one), so none can happen on
/// a node that is behind, forked or foreign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Trusted {
    mark: HighWater,
}

impl Trusted {
    /// The high-water mark to record: the node's best block, session and sharing.
    pub fn mark(&self) -> &HighWater {
        &self.mark
    }
}

/// Judges the node: trusted, with the high-water mark to record, or why to halt.
pub(super) fn judge(
    binding: Option<&ChainBinding>,
    pinned_genesis: Option<[u8; 32]>,
    high_water: Option<&HighWater>,
    node: &NodeView,
) -> Result<Trusted, Halt> {
    let expected_genesis = binding.map(|b| b.genesis_hash).or(pinned_genesis);
    if let Some(pinned) = pinned_genesis {
        if pinned != node.genesis_hash {
            return Err(Halt::OtherGenesis {
                expected: pinned,
                found: node.genesis_hash,
            });
        }
    }
    if let Some(binding) = binding {
        if binding.network != node.network {
            return Err(Halt::OtherNetwork);
        }
    }
    if let Some(expected) = expected_genesis {
        if expected != node.genesis_hash {
            return Err(Halt::OtherGenesis {
                expected,
                found: node.genesis_hash,
            });
        }
    }
    if let Some(seen) = high_water {
        if node.height < seen.height {
            return Err(Halt::Behind {
                seen: seen.height,
                node: node.height,
            });
        }
        if node.hash_at_high_water != Some(seen.block_hash) {
            return Err(Halt::Fork { height: seen.height });
        }
    }
    Ok(Trusted {
        mark: HighWater {
            height: node.height,
            block_hash: node.best_hash,
            session: node.session,
            sharing: node.sharing,
        },
    })
}

/// Whether this TSS may begin the attempt `record`: not if it began it already (its keystore
/// says so), and not if the attempt began before this process first read the chain (at block
/// `followed_from`). A keystore restored from a copy taken before it began the attempt would
/// not say so; the attempt's start block does: this process cannot know what an earlier run
/// sent in an attempt that started before it, and fresh randomness in the same attempt would
/// be equivocation.
pub(super) fn may_begin(
    record: &ReshareRecord,
    started: Option<(SessionIndex, u32)>,
    followed_from: BlockNumber,
) -> Result<(), &'static str> {
    if started.is_some_and(|s| s >= (record.session, record.attempt)) {
        return Err("this TSS began this attempt (or a later one) before; it cannot take part again");
    }
    if record.started <= followed_from {
        return Err(
            "the attempt began before this process started following the chain; an earlier run may have \
                    taken part, so this one sits it out",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywheel_chain::ReshareKind;

    fn node(height: BlockNumber, best: u8, at_high_water: Option<u8>) -> NodeView {
        NodeView {
            network: [1; 32],
            genesis_hash: [2; 32],
            height,
            best_hash: [best; 32],
            session: 3,
            sharing: Some([4; 32]),
            hash_at_high_water: at_high_water.map(|b| [b; 32]),
        }
    }

    const BOUND: ChainBinding = ChainBinding {
        network: [1; 32],
        genesis_hash: [2; 32],
    };

    fn seen(height: BlockNumber, hash: u8) -> HighWater {
        HighWater::at(height, hash)
    }

    #[test]
    fn a_node_that_moved_on_along_the_same_chain_is_followed() {
        let trusted = judge(Some(&BOUND), None, Some(&seen(10, 7)), &node(12, 9, Some(7))).unwrap();
        assert_eq!(trusted.mark(), &seen(12, 9));
        // A first start (nothing bound, nothing seen) follows and binds.
        assert!(judge(None, None, None, &node(0, 1, None)).is_ok());
    }

    #[test]
    fn a_node_restored_from_a_backup_or_on_another_branch_halts_key_actions() {
        let behind = judge(Some(&BOUND), None, Some(&seen(10, 7)), &node(6, 5, None));
        assert_eq!(behind, Err(Halt::Behind { seen: 10, node: 6 }));
        let fork = judge(Some(&BOUND), None, Some(&seen(10, 7)), &node(10, 8, Some(8)));
        assert_eq!(fork, Err(Halt::Fork { height: 10 }));
        let fork_below = judge(Some(&BOUND), None, Some(&seen(10, 7)), &node(14, 9, Some(6)));
        assert_eq!(fork_below, Err(Halt::Fork { height: 10 }));
        assert!(behind.unwrap_err().to_string().contains("restored from a backup"));
    }

    #[test]
    fn another_network_or_genesis_halts_key_actions() {
        let mut other = node(12, 9, Some(7));
        other.network = [9; 32];
        assert_eq!(judge(Some(&BOUND), None, None, &other), Err(Halt::OtherNetwork));
        let mut other = node(12, 9, Some(7));
        other.genesis_hash = [9; 32];
        assert!(matches!(
            judge(Some(&BOUND), None, None, &other),
            Err(Halt::OtherGenesis { .. })
        ));
        // A pinned genesis refuses a node of another genesis even before anything is bound.
        assert!(matches!(
            judge(None, Some([8; 32]), None, &node(1, 1, None)),
            Err(Halt::OtherGenesis { expected, .. }) if expected == [8; 32]
        ));
    }

    fn record(started: BlockNumber) -> ReshareRecord {
        ReshareRecord {
            kind: ReshareKind::Rotation,
            session: 2,
            attempt: 1,
            first_attempt: 1,
            staying: Default::default(),
            leaving: Default::default(),
            new_committee: Vec::new(),
            new_threshold: 2,
            started,
            deadline: started + 100,
        }
    }

    #[test]
    fn an_attempt_is_begun_once_and_only_if_this_process_saw_it_begin() {
        assert!(may_begin(&record(50), None, 40).is_ok());
        assert!(may_begin(&record(50), Some((1, 3)), 40).is_ok(), "an older marker");
        assert!(may_begin(&record(50), Some((2, 1)), 40).is_err(), "begun already");
        assert!(may_begin(&record(50), Some((2, 2)), 40).is_err(), "a later one begun");
        // A keystore restored from a copy taken before it began this attempt has an older
        // marker; the process restarted after the attempt began, so it sits the attempt out.
        assert!(may_begin(&record(50), Some((1, 3)), 60).is_err());
        assert!(
            may_begin(&record(50), None, 50).is_err(),
            "began at the block it first saw"
        );
    }
}
