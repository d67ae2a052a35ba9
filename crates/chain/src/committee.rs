//! Who leaves and who joins at a reshare, chosen deterministically with chain randomness.
//!
//! Leaving: members that stopped validating (chilled or slashed) leave first, in join order;
//! otherwise the oldest member leaves. Never more than `n_old − t_old` leave in one reshare, so
//! the staying old holders can always reconstruct the key. Joining: random eligible validators —
//! validating, bonded at least `min_bond`, not in the current committee (so not just removed),
//! and not barred.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use keywheel_primitives::domain;
use sha2::{Digest, Sha256};

use crate::error::ChainError;
use crate::store::Store;
use crate::types::{AccountId, AttemptIndex, Member, ReshareKind, ReshareRecord, SessionIndex};

/// Picks `count` distinct items of `pool` (sorted, so the result depends only on its contents)
/// with `seed`: a Fisher–Yates draw driven by SHA-256.
pub fn pick<T: Clone>(mut pool: Vec<T>, count: usize, seed: &[u8; 32]) -> Vec<T> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count.min(pool.len()) {
        let digest = Sha256::new()
            .chain_update(domain::COMMITTEE_PICK)
            .chain_update(seed)
            .chain_update((i as u64).to_be_bytes())
            .finalize();
        let mut word = [0u8; 16];
        word.copy_from_slice(&digest[..16]);
        // 128 random bits modulo a small pool: the bias is below 2^-100.
        let index = (u128::from_be_bytes(word) % pool.len() as u128) as usize;
        out.push(pool.swap_remove(index));
    }
    out
}

/// The selection rules, over any [`Store`].
pub(crate) trait Selection: Store {
    /// The selection seed of an attempt: the current block's randomness, bound to the attempt.
    fn selection_seed(&self, session: SessionIndex, attempt: AttemptIndex) -> [u8; 32] {
        Sha256::new()
            .chain_update(domain::SELECTION_SEED)
            .chain_update(self.randomness())
            .chain_update(session.to_be_bytes())
            .chain_update(attempt.to_be_bytes())
            .finalize()
            .into()
    }

    fn is_barred(&self, stash: &AccountId) -> bool {
        let session = self.session();
        self.barred_until(stash).is_some_and(|until| until > session)
    }

    fn joiners(&self, count: usize, seed: &[u8; 32]) -> Result<Vec<Member>, ChainError> {
        let eligible = eligible_joiners(self);
        if eligible.len() < count {
            return Err(ChainError::NotEnoughValidators {
                eligible: eligible.len() as u32,
                needed: count as u32,
            });
        }
        Ok(pick(eligible, count, seed)
            .into_iter()
            .map(|(validator, tss)| Member {
                validator,
                tss,
                // Assigned at rotation, in this order.
                join_seq: u64::MAX,
            })
            .collect())
    }

    /// Plans the jumpstart's committee: `n` random eligible validators.
    fn plan_jumpstart(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<ReshareRecord, ChainError> {
        let n = self.params().committee_size as usize;
        let new_committee = self.joiners(n, &self.selection_seed(session, attempt))?;
        Ok(self.record(
            ReshareKind::Jumpstart,
            session,
            attempt,
            BTreeSet::new(),
            BTreeSet::new(),
            new_committee,
        ))
    }

    /// Plans a rotation of the current committee.
    fn plan_rotation(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<ReshareRecord, ChainError> {
        let params = self.params();
        let old_threshold = self.sharing().map_or(params.threshold, |s| s.threshold) as usize;
        let mut committee = self.committee();
        let max_leaving = committee.len().saturating_sub(old_threshold);
        committee.sort_by_key(|m| (m.join_seq, m.validator));
        let must_leave: Vec<&Member> = committee
            .iter()
            .filter(|m| self.validator(&m.validator).is_none() || self.is_barred(&m.validator))
            .collect();
        let leaving: Vec<&Member> = if must_leave.is_empty() {
            committee.iter().take(1.min(max_leaving)).collect()
        } else {
            must_leave.into_iter().take(max_leaving).collect()
        };
        let leaving_tss: BTreeSet<AccountId> = leaving.iter().map(|m| m.tss).collect();
        let staying: Vec<Member> = committee
            .iter()
            .filter(|m| !leaving_tss.contains(&m.tss))
            .cloned()
            .collect();
        let n = params.committee_size as usize;
        let mut new_committee = staying.clone();
        new_committee.extend(self.joiners(n.saturating_sub(staying.len()), &self.selection_seed(session, attempt))?);
        let staying_tss = staying.iter().map(|m| m.tss).collect();
        Ok(self.record(
            ReshareKind::Rotation,
            session,
            attempt,
            staying_tss,
            leaving_tss,
            new_committee,
        ))
    }

    fn record(
        &self,
        kind: ReshareKind,
        session: SessionIndex,
        attempt: AttemptIndex,
        staying: BTreeSet<AccountId>,
        leaving: BTreeSet<AccountId>,
        new_committee: Vec<Member>,
    ) -> ReshareRecord {
        let params = self.params();
        let block = self.block();
        ReshareRecord {
            kind,
            session,
            attempt,
            first_attempt: attempt,
            staying,
            leaving,
            new_committee,
            new_threshold: params.threshold,
            started: block,
            deadline: block.saturating_add(params.reshare_deadline),
        }
    }
}

impl<S: Store + ?Sized> Selection for S {}

/// Validators that may join a committee now, in stash order: validating, bonded at least
/// `min_bond`, not in the current committee and not barred.
pub fn eligible_joiners<S: Store + ?Sized>(store: &S) -> Vec<(AccountId, AccountId)> {
    let current: BTreeSet<AccountId> = store.committee().iter().map(|m| m.validator).collect();
    let min_bond = store.params().min_bond;
    store
        .validators()
        .into_iter()
        .filter(|(stash, _)| !current.contains(stash) && !store.is_barred(stash))
        .filter(|(stash, _)| store.ledger(stash).is_some_and(|l| l.bonded >= min_bond))
        .map(|(stash, tss)| (stash, tss.account))
        .collect()
}
