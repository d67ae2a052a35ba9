//! Trying a departed member's old share. When a member leaves, the devnet copies its keystore
//! (as an attacker who stole the disk would); after the last rotation it opens that copy, takes
//! the old share and combines it with `t − 1` shares the current committee holds. The result
//! must not be the parent key — while `t` current shares must be, or the check proves nothing.

use std::path::Path;

use anyhow::{bail, Context};
use keywheel_chain::AccountId;
use keywheel_mpc::backend::MemberKey;
use keywheel_mpc::share::combined_key;
use keywheel_mpc::ThresholdShare;
use keywheel_tss::keystore::{KeySource, Keystore, Slot};
use keywheel_tss::P;
use serde::{Deserialize, Serialize};

/// One departed member's old share, tried against the current committee's shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OldShareTrial {
    /// The departed validator's devnet name.
    pub validator: String,
    /// Its TSS account.
    pub tss: AccountId,
    /// The session in whose rotation it left.
    pub left_in_session: u32,
    /// The old share with `t − 1` current shares does not stand for the parent key.
    pub rejected: bool,
    /// What was found.
    pub detail: String,
}

/// Whether every old share tried was rejected (`None`: none was tried).
pub fn all_rejected(trials: &[OldShareTrial]) -> Option<bool> {
    (!trials.is_empty()).then(|| trials.iter().all(|t| t.rejected))
}

/// Opens the `current` share of a keystore (the TSS that owns it must not be running).
pub fn open_share(path: &Path, owner: AccountId, key_file: &Path) -> anyhow::Result<ThresholdShare<P>> {
    let keystore = Keystore::open(path, owner, &KeySource::KeyFile(key_file.to_owned()))
        .with_context(|| format!("open the keystore {}", path.display()))?;
    let held = keystore
        .get(Slot::Current)?
        .with_context(|| format!("{} holds no current share", path.display()))?;
    Ok(MemberKey::from_bytes(&held.secret)?.share().clone())
}

/// Combines `old` with `t − 1` of `current` (at ids other than the old share's) and checks the
/// result is not `parent`, after checking `t` of `current` do give `parent`.
pub fn try_old_share(
    old: &ThresholdShare<P>,
    current: &[ThresholdShare<P>],
    parent: &keywheel_mpc::curve::Point<P>,
) -> anyhow::Result<(bool, String)> {
    let t = current
        .first()
        .context("no current shares to try the old share with")?
        .public()
        .threshold as usize;
    if current.len() < t {
        bail!("only {} current shares, the threshold is {t}", current.len());
    }
    let control: Vec<&ThresholdShare<P>> = current.iter().take(t).collect();
    if combined_key::<P>(&control)? != *parent {
        bail!("{t} current shares do not stand for the parent key: the check would prove nothing");
    }
    let old_id = old.public().share_ids[&old.owner()];
    let mut mixed: Vec<&ThresholdShare<P>> = vec![old];
    mixed.extend(
        current
            .iter()
            .filter(|s| s.owner() != old.owner() && s.public().share_ids[&s.owner()] != old_id)
            .take(t - 1),
    );
    if mixed.len() < t {
        bail!("not enough current shares at other ids than the old share's");
    }
    let rejected = combined_key::<P>(&mixed)? != *parent;
    let detail = if rejected {
        format!(
            "the old share with {} current shares stands for another key than the parent key",
            t - 1
        )
    } else {
        format!(
            "the old share with {} current shares still stands for the parent key",
            t - 1
        )
    };
    Ok((rejected, detail))
}
