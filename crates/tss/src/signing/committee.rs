//! Who may sign now: the current committee as the chain names it, the threshold, the parent key,
//! and the deterministic pick of a round's signers.

use std::collections::BTreeSet;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::SignError;
use keywheel_rpc::KeywheelApiClient;
use sha2::{Digest, Sha256};

use crate::resources::Resources;

/// How many rounds a coordinator tries.
pub const MAX_ROUNDS: u32 = 3;
/// How long one signing round may take.
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(40);

/// Chooses `threshold` signers among `eligible` from the request's hash and round.
pub fn choose_signers(
    request: &[u8; 32],
    round: u32,
    eligible: &BTreeSet<AccountId>,
    threshold: usize,
) -> Option<BTreeSet<AccountId>> {
    if eligible.len() < threshold {
        return None;
    }
    let seed: [u8; 32] = Sha256::new()
        .chain_update(keywheel_primitives::domain::SIGNER_PICK)
        .chain_update(request)
        .chain_update(round.to_be_bytes())
        .finalize()
        .into();
    Some(
        keywheel_chain::committee::pick(eligible.iter().copied().collect(), threshold, &seed)
            .into_iter()
            .collect(),
    )
}

/// The committee a round signs with: its members that still validate (so the transport knows
/// Refuses to sign while key actions are halted, saying why.
pub(super) fn refuse_if_halted(res: &Resources) -> Result<(), SignError> {
    match res.halted() {
        Some(why) => Err(SignError::Unavailable(format!("this TSS does not sign now: {why}"))),
        None => Ok(()),
    }
}

/// where they are), the threshold and the parent key.
pub(super) struct SigningCommittee {
    /// Committee members whose validator still validates.
    pub(super) eligible: BTreeSet<AccountId>,
    /// Whether this TSS is declared by a validating validator (peers accept only those).
    pub(super) declared: bool,
    /// The sharing's threshold.
    pub(super) threshold: usize,
    /// The parent verifying key.
    pub(super) parent_key: Vec<u8>,
    /// The digest of the chain's sharing.
    pub(super) sharing: [u8; 32],
}

pub(super) async fn signing_committee(res: &Resources) -> Result<SigningCommittee, SignError> {
    let unavailable = |e: String| SignError::Unavailable(e);
    let client = res.chain.client().await.map_err(|e| unavailable(e.to_string()))?;
    let view = client.committee().await.map_err(|e| unavailable(e.to_string()))?;
    let (Some(parent_key), Some(sharing)) = (view.parent_key, view.sharing) else {
        return Err(unavailable(
            "the network has no parent key yet (jumpstart first)".into(),
        ));
    };
    let validating: BTreeSet<AccountId> = client
        .validators()
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .into_iter()
        .map(|v| v.tss.account)
        .collect();
    let eligible = view
        .members
        .iter()
        .map(|m| m.tss)
        .filter(|tss| validating.contains(tss))
        .collect();
    Ok(SigningCommittee {
        eligible,
        declared: validating.contains(&res.identity.account()),
        threshold: sharing.threshold as usize,
        parent_key,
        sharing: sharing.digest(),
    })
}

pub(super) async fn check_registered(res: &Resources, account: &AccountId) -> Result<(), SignError> {
    let client = res
        .chain
        .client()
        .await
        .map_err(|e| SignError::Unavailable(e.to_string()))?;
    match client.registry(*account).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(SignError::Unregistered(*account)),
        Err(e) => Err(SignError::Unavailable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_are_a_deterministic_subset_that_changes_with_the_round() {
        let eligible: BTreeSet<AccountId> = (0..5).map(|i| AccountId([i; 32])).collect();
        let a = choose_signers(&[7; 32], 0, &eligible, 3).unwrap();
        assert_eq!(a, choose_signers(&[7; 32], 0, &eligible, 3).unwrap());
        assert_eq!(a.len(), 3);
        assert!(a.is_subset(&eligible));
        let rounds: BTreeSet<_> = (0..8)
            .map(|r| choose_signers(&[7; 32], r, &eligible, 3).unwrap())
            .collect();
        assert!(rounds.len() > 1, "the choice never changes with the round");
        assert!(choose_signers(&[7; 32], 0, &eligible, 6).is_none());
    }
}
