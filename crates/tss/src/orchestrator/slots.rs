//! The keystore's slots against the chain's sharing: rotate when the chain's sharing is the one
//! in the holding slot; retire (never erase) a share of a sharing that is not the chain's (a
//! departed member's, or a holding slot no rotation will use); restore a retired share of the
//! chain's sharing to `current`; shred a retired share only once the chain is
//! `keep_retired_sessions` sessions past its rotation, and never one of the chain's sharing. Only ever on a chain the
//! guard accepted: [`settle`] takes the guard's [`Trusted`].

use keywheel_chain::SessionIndex;
use keywheel_rpc::ReshareView;
use tracing::{info, warn};

use super::guard::Trusted;
use crate::error::TssError;
use crate::keystore::{Keystore, Slot};
use crate::metrics::{count, Metrics};

/// On the chain `trusted` describes: rotates to `next` once the chain's sharing is `next`'s,
/// retires shares of any sharing that is not the chain's, and shreds the retired shares that
/// are `keep_retired` sessions old. Does nothing before the chain names a sharing.
pub(super) fn settle(
    keystore: &mut Keystore,
    metrics: &Metrics,
    trusted: &Trusted,
    reshare: Option<&ReshareView>,
    keep_retired: u32,
) -> Result<(), TssError> {
    let (session, Some(chain)) = (trusted.mark().session, trusted.mark().sharing) else {
        return Ok(());
    };
    let current = keystore.info(Slot::Current)?;
    let next = keystore.info(Slot::Next)?;
    let current_ok = current.as_ref().is_some_and(|c| c.sharing_digest() == chain);
    if let Some(n) = &next {
        if n.sharing_digest() == chain && !current_ok {
            let info = keystore.rotate(session)?;
            count(&metrics.rotations);
            info!(
                session = info.session,
                attempt = info.attempt,
                "rotated: the confirmed share is current now"
            );
            return shred_expired(keystore, metrics, session, chain, keep_retired);
        }
    }
    if !current_ok {
        // A share retired on a view that proved wrong, of the sharing the chain names: back.
        let named = keystore
            .retired()?
            .into_iter()
            .rev()
            .find(|r| r.info.sharing_digest() == chain);
        if let Some(retired) = named {
            keystore.restore(&retired.id, session)?;
            warn!(
                id = %retired.id,
                "restored a retired share to current: the chain names its sharing (it was retired on a view \
                 that did not hold)"
            );
            return shred_expired(keystore, metrics, session, chain, keep_retired);
        }
    }
    if current.is_some() && !current_ok {
        keystore.retire(Slot::Current, session)?;
        info!("retired a share of a sharing the chain no longer uses (this TSS left the committee)");
    }
    if let Some(n) = next {
        let in_flight = reshare.map(|v| (v.record.session, v.record.attempt));
        if in_flight != Some((n.session, n.attempt)) {
            keystore.retire(Slot::Next, session)?;
            info!(
                session = n.session,
                attempt = n.attempt,
                "retired a held share of an attempt that ended without rotating to it"
            );
        }
    }
    shred_expired(keystore, metrics, session, chain, keep_retired)
}

/// Shreds the retired shares the chain is at least `keep` sessions past — never one of the
/// sharing the chain names (`chain`).
fn shred_expired(
    keystore: &mut Keystore,
    metrics: &Metrics,
    session: SessionIndex,
    chain: [u8; 32],
    keep: u32,
) -> Result<(), TssError> {
    for retired in keystore.retired()? {
        let old_enough = session >= retired.retired_in_session.saturating_add(keep);
        if old_enough && retired.info.sharing_digest() != chain && keystore.shred(&retired.id)? {
            count(&metrics.shredded);
            info!(
                id = %retired.id,
                retired_in = retired.retired_in_session,
                session,
                "shredded a retired share: the chain is {keep} sessions past its rotation"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use keywheel_chain::AccountId;
    use zeroize::Zeroizing;

    use super::*;
    use crate::keystore::{ChainBinding, Held, KeySource, SlotInfo};
    use crate::orchestrator::guard::{judge, Halt, NodeView};

    const BOUND: ChainBinding = ChainBinding {
        network: [1; 32],
        genesis_hash: [2; 32],
    };

    fn share(session: SessionIndex, holder: u8) -> Held {
        Held {
            info: SlotInfo {
                session,
                attempt: 1,
                verifying_key: vec![2; 33],
                threshold: 1,
                public_shares: [(AccountId([holder; 32]), vec![3; 33])].into(),
            },
            secret: Zeroizing::new(vec![holder; 8]),
        }
    }

    /// The node at `height` (block hash `[height; 32]`), in `session`, naming `sharing`.
    fn node(height: u64, session: SessionIndex, sharing: [u8; 32]) -> NodeView {
        NodeView {
            network: BOUND.network,
            genesis_hash: BOUND.genesis_hash,
            height,
            best_hash: [height as u8; 32],
            session,
            sharing: Some(sharing),
            hash_at_high_water: None,
        }
    }

    /// Judges `view` against the keystore's high-water mark (the node agrees at that height
    /// when `agrees`), records the new mark if trusted, and settles the slots.
    fn follow(ks: &mut Keystore, metrics: &Metrics, mut view: NodeView, agrees: bool) -> Result<(), Halt> {
        let seen = ks.high_water().unwrap();
        if let Some(seen) = &seen {
            view.hash_at_high_water = Some(if agrees { seen.block_hash } else { [0xee; 32] });
        }
        let trusted = judge(Some(&BOUND), None, seen.as_ref(), &view)?;
        ks.raise_high_water(trusted.mark()).unwrap();
        settle(ks, metrics, &trusted, None, 2).unwrap();
        Ok(())
    }

    /// A fresh keystore in `dir`.
    fn keystore(dir: &std::path::Path) -> Keystore {
        let key = dir.join("keystore.key");
        keywheel_rpc::keyfile::write_seed(&key, &[9; 32]).unwrap();
        Keystore::open(&dir.join("keystore.redb"), AccountId([7; 32]), &KeySource::KeyFile(key)).unwrap()
    }

    #[test]
    fn a_retired_share_is_shredded_only_k_sessions_on_and_never_while_the_node_is_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut ks = keystore(dir.path());
        let metrics = Metrics::default();
        ks.put_next(&share(3, 1)).unwrap();
        ks.rotate(3).unwrap();
        let mine = ks.info(Slot::Current).unwrap().unwrap().sharing_digest();
        let other = share(4, 2).info.sharing_digest();
        follow(&mut ks, &metrics, node(10, 3, mine), true).unwrap();
        assert_eq!(ks.info(Slot::Current).unwrap().unwrap().session, 3);

        // Session 4 names another sharing (this TSS left): the share is retired, not erased.
        follow(&mut ks, &metrics, node(20, 4, other), true).unwrap();
        assert!(ks.get(Slot::Current).unwrap().is_none());
        let retired = ks.retired().unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].retired_in_session, 4);

        // A node restored from a backup, or on another branch, claims session 9: far past
        // K = 2, yet behind (or off) what this TSS saw. Halted; the retired share stays.
        let behind = follow(&mut ks, &metrics, node(15, 9, other), true);
        assert!(matches!(behind, Err(Halt::Behind { seen: 20, node: 15 })), "{behind:?}");
        let fork = follow(&mut ks, &metrics, node(30, 9, other), false);
        assert!(matches!(fork, Err(Halt::Fork { height: 20 })), "{fork:?}");
        assert_eq!(ks.retired().unwrap(), retired, "kept while halted");
        assert_eq!(ks.high_water().unwrap().unwrap().height, 20, "the mark did not move");

        // On the chain it followed: kept one session on, shredded at K = 2 sessions.
        follow(&mut ks, &metrics, node(30, 5, other), true).unwrap();
        assert_eq!(ks.retired().unwrap(), retired, "one session on: kept");
        assert_eq!(metrics.shredded.load(std::sync::atomic::Ordering::Relaxed), 0);
        follow(&mut ks, &metrics, node(40, 6, other), true).unwrap();
        assert!(ks.retired().unwrap().is_empty(), "two sessions on: shredded");
        assert_eq!(metrics.shredded.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_holding_share_retired_on_a_torn_view_comes_back_and_is_never_shredded() {
        let dir = tempfile::tempdir().unwrap();
        let mut ks = keystore(dir.path());
        let metrics = Metrics::default();
        ks.put_next(&share(3, 1)).unwrap();
        ks.rotate(3).unwrap();
        let old = share(3, 1).info.sharing_digest();
        ks.put_next(&share(4, 2)).unwrap();
        let new = share(4, 2).info.sharing_digest();

        // A view torn across the rotation's block (the old sharing, no attempt in flight): the
        // holding share is retired, not erased.
        follow(&mut ks, &metrics, node(10, 3, old), true).unwrap();
        assert!(ks.get(Slot::Next).unwrap().is_none());
        assert_eq!(ks.retired().unwrap()[0].info.sharing_digest(), new);

        // The chain names the new sharing: the retired share is current again, the old retired.
        follow(&mut ks, &metrics, node(11, 4, new), true).unwrap();
        assert_eq!(ks.info(Slot::Current).unwrap().unwrap().sharing_digest(), new);
        let retired = ks.retired().unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].info.sharing_digest(), old);

        // Sessions on, only the old share is shredded; the chain's share stays.
        follow(&mut ks, &metrics, node(12, 9, new), true).unwrap();
        assert!(ks.retired().unwrap().is_empty());
        assert_eq!(ks.info(Slot::Current).unwrap().unwrap().sharing_digest(), new);
    }
}
