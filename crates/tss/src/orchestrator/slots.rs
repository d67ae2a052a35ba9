//! The keystore's slots against the chain's sharing: rotate when the chain's sharing is the one
//! in the holding slot; erase a share of a sharing that is not the chain's (a departed member's,
//! or a holding slot no rotation will use).

use keywheel_chain::{SessionIndex, Sharing};
use keywheel_rpc::ReshareView;
use tracing::info;

use crate::error::TssError;
use crate::keystore::Slot;
use crate::metrics::count;
use crate::resources::Resources;

/// Rotates to `next` once the chain's sharing is `next`'s, and erases shares of any sharing that
/// is not the chain's.
pub(super) fn settle(
    res: &Resources,
    session: SessionIndex,
    sharing: &Sharing,
    reshare: Option<&ReshareView>,
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
            return Ok(());
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
    Ok(())
}
