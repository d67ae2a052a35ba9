//! The keystore's slots against the chain's sharing: rotate when the chain's sharing is the one
//! in the holding slot; retire (never erase) a share of a sharing that is not the chain's (a
//! departed member's, or a holding slot no rotation will use); shred a retired share only once
//! the chain is `keep_retired_sessions` sessions past its rotation. Only ever called on a chain
//! the guard accepted.

use keywheel_chain::{SessionIndex, Sharing};
use keywheel_rpc::ReshareView;
use tracing::info;

use crate::error::TssError;
use crate::keystore::{Keystore, Slot};
use crate::metrics::count;
use crate::resources::Resources;

/// Rotates to `next` once the chain's sharing is `next`'s, retires shares of any sharing that is
/// not the chain's, and shreds the retired shares that are old enough.
pub(super) fn settle(
    res: &Resources,
    session: SessionIndex,
    sharing: &Sharing,
    reshare: Option<&ReshareView>,
    keep_retired: u32,
) -> Result<(), TssError> {
    let chain = sharing.digest();
    let mut keystore = res.keystore();
    let current = keystore.info(Slot::Current)?;
    let next = keystore.info(Slot::Next)?;
    let current_ok = current.as_ref().is_some_and(|c| c.sharing_digest() == chain);
    if let Some(n) = &next {
        if n.sharing_digest() == chain && !current_ok {
            let info = keystore.rotate(session)?;
            count(&res.metrics.rotations);
            info!(
                session = info.session,
                attempt = info.attempt,
                "rotated: the confirmed share is current now"
            );
            return shred_expired(res, &mut keystore, session, keep_retired);
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
    shred_expired(res, &mut keystore, session, keep_retired)
}

/// Shreds the retired shares the chain is at least `keep` sessions past (callers call this
/// only on a chain the guard accepted).
fn shred_expired(res: &Resources, keystore: &mut Keystore, session: SessionIndex, keep: u32) -> Result<(), TssError> {
    for retired in keystore.retired()? {
        if session >= retired.retired_in_session.saturating_add(keep) && keystore.shred(&retired.id)? {
            count(&res.metrics.shredded);
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
