//! Who may sign now: the current committee as the chain names it, the threshold, the parent key,
//! and the deterministic pick of a round's signers.

use std::collections::BTreeSet;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_mpc::backend::BackendKind;
use keywheel_rpc::sign_request::SignError;
use keywheel_rpc::KeywheelApiClient;
use sha2::{Digest, Sha256};

use crate::resources::Resources;

/// How many rounds of a request may fail (a signer silent or wrong, a rotation in between)
/// before its coordinator gives up; on synedrion also how many rounds a signer runs per request.
pub const MAX_ROUNDS: u32 = 3;
/// How many tries a coordinator makes of a request on DKLs23, where a try also ends — without a
/// fault — when a signer's pairs are held by a signing ahead in line (`pair_locks`); the highest
/// round a signer runs. A DKLs23 signing costs milliseconds, so a coordinator replaying a request
/// up to this often gains little.
pub const MAX_DKLS_TRIES: u32 = 64;
/// What a signing round is allowed besides its signers' computation: connections, the chain
/// reads of every signer, the messages of its rounds.
pub const ROUND_BASE: Duration = Duration::from_secs(24);
/// The CPU time one signer spends on one counterpart, assumed unless configured
/// (`sign_counterpart_ms`): about 0.7–0.9 s measured at production parameters (`BENCHMARKS.md`),
/// rounded up for slower machines and for cores shared with other work.
pub const DEFAULT_COUNTERPART_COST: Duration = Duration::from_secs(2);
/// What a signing round is given on top while a reshare is in flight: signing computes below
/// resharing in CPU priority (`signing::compute`), so on shared cores it nearly pauses until
/// the reshare's AuxGen is done — about a minute at n = 5 on two cores (`BENCHMARKS.md`).
pub const RESHARE_ALLOWANCE: Duration = Duration::from_secs(90);
/// The CPU time one DKLs23 signer spends on one counterpart: a few milliseconds measured
/// (`BENCHMARKS.md`), rounded up far. DKLs23 signing does not use `sign_counterpart_ms`, which
/// is sized for synedrion's Paillier proofs.
pub const DKLS_COUNTERPART_COST: Duration = Duration::from_millis(100);
/// [`RESHARE_ALLOWANCE`] on DKLs23: its reshare has no AuxGen, only keywheel's resharing and the
/// joiner's pair setups (3.5 s for the whole reshare at n = 5, `BENCHMARKS.md`).
pub const DKLS_RESHARE_ALLOWANCE: Duration = Duration::from_secs(15);
/// How many times the expected computation a round is given before it counts as failed.
const ROUND_SAFETY: u32 = 4;

/// How long one signing round may take with `threshold` signers, when one signer's work for
/// one counterpart costs `per_counterpart`: [`ROUND_BASE`] plus [`ROUND_SAFETY`] times each
/// signer's work for its `threshold − 1` counterparts. It grows with the threshold rather than
/// silently capping it: a constant that fits t = 3 makes every round at t = 10 time out.
pub fn round_timeout(threshold: usize, per_counterpart: Duration) -> Duration {
    let counterparts = u32::try_from(threshold.saturating_sub(1)).unwrap_or(u32::MAX);
    ROUND_BASE.saturating_add(per_counterpart.saturating_mul(ROUND_SAFETY.saturating_mul(counterparts)))
}

/// How many round timeouts one signing round may take in all, however steadily it progresses:
/// a member that sends each message just before its peers would stall cannot hold a round
/// longer than this.
pub const ROUND_SPAN: u32 = 4;

/// How long signing round `round` (from 0) of a request valid until `expires_at_ms` may run from
/// `now_ms`, when a round may go `timeout` without progress: [`ROUND_SPAN`] timeouts at most,
/// and never into the one timeout each later round needs, nor past the request's expiry.
pub fn round_budget(round: u32, timeout: Duration, expires_at_ms: u64, now_ms: u64) -> Duration {
    let valid = Duration::from_millis(expires_at_ms.saturating_sub(now_ms));
    let later = timeout.saturating_mul(MAX_ROUNDS.saturating_sub(round.saturating_add(1)));
    valid.saturating_sub(later).min(timeout.saturating_mul(ROUND_SPAN))
}

/// Chooses `threshold` signers among `eligible` from the request's hash and round.
pub fn choose_signers(
    request: &[u8; 32],
    round: u32,
    eligible: &BTreeSet<AccountId>,
    threshold: usize,
) -> Option<BTreeSet<AccountId>> {
    (eligible.len() >= threshold).then(|| pick_signers(request, round, &[], eligible, threshold))
}

/// The pick of `threshold` of `eligible` seeded by the request's hash, the round and `extra`
/// (empty for a round's plain pick). `eligible` must hold at least `threshold`.
fn pick_signers(
    request: &[u8; 32],
    round: u32,
    extra: &[u8],
    eligible: &BTreeSet<AccountId>,
    threshold: usize,
) -> BTreeSet<AccountId> {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(keywheel_primitives::domain::SIGNER_PICK)
        .chain_update(request)
        .chain_update(round.to_be_bytes())
        .chain_update(extra)
        .finalize()
        .into();
    keywheel_chain::committee::pick(eligible.iter().copied().collect(), threshold, &seed)
        .into_iter()
        .collect()
}

/// How many other picks [`choose_signers_avoiding`] tries before it gives up avoiding.
const AVOIDING_TRIES: u32 = 32;

/// [`choose_signers`], but preferring a set with no two signers in `avoid` (pairs known to hold
/// no DKLs23 pair state, who cannot sign together): the first of [`AVOIDING_TRIES`] further
/// picks (each from the hash, the round and its try) that has none, else the plain pick — a
/// member's claim about its pairs may narrow whom it signs with, never whether a round runs.
pub fn choose_signers_avoiding(
    request: &[u8; 32],
    round: u32,
    eligible: &BTreeSet<AccountId>,
    threshold: usize,
    avoid: &BTreeSet<(AccountId, AccountId)>,
) -> Option<BTreeSet<AccountId>> {
    let plain = choose_signers(request, round, eligible, threshold)?;
    let clear = |set: &BTreeSet<AccountId>| !avoid.iter().any(|(a, b)| set.contains(a) && set.contains(b));
    if clear(&plain) {
        return Some(plain);
    }
    let mut tries = (1..=AVOIDING_TRIES)
        .map(|k| pick_signers(request, round, &k.to_be_bytes(), eligible, threshold))
        .filter(|set| clear(set));
    Some(tries.next().unwrap_or(plain))
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
    /// Whether a reshare is in flight (its work runs before signing's on every member).
    pub(super) resharing: bool,
}

impl SigningCommittee {
    /// How long a round of this committee on `backend` may go without progress now:
    /// [`round_timeout`], plus the backend's reshare allowance while a reshare is in flight.
    /// `per_counterpart` is the configured cost of synedrion's; DKLs23 uses
    /// [`DKLS_COUNTERPART_COST`].
    pub(super) fn round_timeout(&self, backend: BackendKind, per_counterpart: Duration) -> Duration {
        let (per_counterpart, allowance) = match backend {
            BackendKind::Synedrion => (per_counterpart, RESHARE_ALLOWANCE),
            BackendKind::Dkls23 => (DKLS_COUNTERPART_COST, DKLS_RESHARE_ALLOWANCE),
        };
        let base = round_timeout(self.threshold, per_counterpart);
        match self.resharing {
            true => base + allowance,
            false => base,
        }
    }
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
    let resharing = client
        .reshare()
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .is_some();
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
        resharing,
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
    fn a_round_gets_a_bounded_span_and_leaves_the_later_rounds_theirs() {
        let timeout = Duration::from_secs(40);
        let now = 1_000_000;
        let expires = |s: u64| now + s * 1000;
        // Plenty of validity: the span bounds the round.
        assert_eq!(round_budget(0, timeout, expires(600), now), timeout * ROUND_SPAN);
        // 200 s left: round 0 keeps 80 s for rounds 1 and 2; round 2 may use all that is left.
        assert_eq!(round_budget(0, timeout, expires(200), now), Duration::from_secs(120));
        assert_eq!(round_budget(2, timeout, expires(100), now), Duration::from_secs(100));
        // Too little left, or expired: nothing (the coordinator does not start such a round).
        assert_eq!(round_budget(0, timeout, expires(60), now), Duration::ZERO);
        assert_eq!(round_budget(1, timeout, now - 5, now), Duration::ZERO);
        // No overflow at the extremes.
        assert_eq!(
            round_budget(u32::MAX, Duration::MAX, u64::MAX, 0),
            Duration::from_millis(u64::MAX)
        );
    }

    #[test]
    fn the_round_timeout_grows_with_the_threshold_and_follows_the_configured_cost() {
        let default = |t| round_timeout(t, DEFAULT_COUNTERPART_COST);
        assert_eq!(default(3), Duration::from_secs(24 + 4 * 2 * 2));
        assert!(default(2) < default(3) && default(3) < default(5) && default(5) < default(10));
        assert_eq!(default(10), Duration::from_secs(24 + 4 * 9 * 2));
        // A configured cost overrides the default, both ways.
        assert_eq!(
            round_timeout(10, Duration::from_millis(500)),
            Duration::from_secs(24 + 18)
        );
        assert_eq!(round_timeout(10, Duration::from_secs(5)), Duration::from_secs(24 + 180));
        // No overflow on absurd input.
        assert_eq!(round_timeout(usize::MAX, Duration::MAX), Duration::MAX);
        assert_eq!(round_timeout(0, DEFAULT_COUNTERPART_COST), ROUND_BASE);
    }

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

    #[test]
    fn a_pick_avoids_pairs_without_state_while_it_can_and_never_refuses_a_round_for_them() {
        let a = |i: u8| AccountId([i; 32]);
        let eligible: BTreeSet<AccountId> = (0..5).map(a).collect();
        let none = BTreeSet::new();
        // Nothing to avoid: the plain pick.
        for r in 0..4 {
            assert_eq!(
                choose_signers_avoiding(&[7; 32], r, &eligible, 3, &none),
                choose_signers(&[7; 32], r, &eligible, 3)
            );
        }
        // One pair to avoid: no round's pick holds both, though some plain picks do.
        let avoid: BTreeSet<_> = [(a(1), a(3))].into();
        let mut plain_had_it = false;
        for r in 0..32 {
            let plain = choose_signers(&[r as u8; 32], r, &eligible, 3).unwrap();
            plain_had_it |= plain.contains(&a(1)) && plain.contains(&a(3));
            let set = choose_signers_avoiding(&[r as u8; 32], r, &eligible, 3, &avoid).unwrap();
            assert_eq!(set.len(), 3);
            assert!(!(set.contains(&a(1)) && set.contains(&a(3))), "round {r}: {set:?}");
        }
        assert!(plain_had_it, "the test never needed the avoidance");
        // Every set has an avoided pair (a member claiming no pair with anyone): the round
        // still gets the plain pick.
        let everyone: BTreeSet<_> = (1..5)
            .map(|i| (a(0), a(i)))
            .chain([
                (a(1), a(2)),
                (a(1), a(3)),
                (a(1), a(4)),
                (a(2), a(3)),
                (a(2), a(4)),
                (a(3), a(4)),
            ])
            .collect();
        assert_eq!(
            choose_signers_avoiding(&[7; 32], 0, &eligible, 3, &everyone),
            choose_signers(&[7; 32], 0, &eligible, 3)
        );
    }

    #[test]
    fn a_dkls23_round_times_out_on_its_own_cost_and_allowance() {
        let committee = |resharing| SigningCommittee {
            eligible: BTreeSet::new(),
            declared: true,
            threshold: 3,
            parent_key: Vec::new(),
            sharing: [0; 32],
            resharing,
        };
        let configured = Duration::from_secs(2);
        assert_eq!(
            committee(false).round_timeout(BackendKind::Synedrion, configured),
            Duration::from_secs(24 + 16)
        );
        assert_eq!(
            committee(true).round_timeout(BackendKind::Synedrion, configured),
            Duration::from_secs(24 + 16 + 90)
        );
        assert_eq!(
            committee(false).round_timeout(BackendKind::Dkls23, configured),
            Duration::from_millis(24_800)
        );
        assert_eq!(
            committee(true).round_timeout(BackendKind::Dkls23, configured),
            Duration::from_millis(39_800)
        );
    }
}
