//! The pallet as the rules' [`keywheel_chain::Store`]: its storage items and the runtime's
//! balances.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use frame_support::traits::fungible::{Inspect, Mutate, MutateHold};
use frame_support::traits::tokens::{Fortitude, Precision, Preservation, Restriction};
use frame_support::traits::Get;
use keywheel_chain::{
    AccountId, AttemptIndex, Balance, BlockNumber, ChainError, Confirmation, Ledger, Member, Params, ReshareRecord,
    SessionIndex, Sharing, Silence, SlashRecord, Store, TssInfo,
};

use crate::account::to_runtime;
use crate::bounded::Bounded;
use crate::pallet::*;

fn hold_reason<T: Config>() -> T::RuntimeHoldReason {
    HoldReason::Bond.into()
}

/// The chain's state in the pallet's storage, one storage item per concept, and stake as holds
/// on the runtime's balances.
impl<T: Config> Store for Pallet<T> {
    fn network(&self) -> [u8; 32] {
        Network::<T>::get()
    }
    fn block(&self) -> BlockNumber {
        LastBlock::<T>::get()
    }
    fn put_block(&mut self, block: BlockNumber) {
        LastBlock::<T>::put(block);
    }
    fn randomness(&self) -> [u8; 32] {
        BlockRandomness::<T>::get()
    }
    fn put_randomness(&mut self, randomness: [u8; 32]) {
        BlockRandomness::<T>::put(randomness);
    }
    fn session(&self) -> SessionIndex {
        CurrentSession::<T>::get()
    }
    fn put_session(&mut self, session: SessionIndex) {
        CurrentSession::<T>::put(session);
    }
    fn params(&self) -> Params {
        ChainParams::<T>::get()
    }
    fn put_params(&mut self, params: Params) {
        ChainParams::<T>::put(params);
    }
    fn committee(&self) -> Vec<Member> {
        Committee::<T>::get().into_inner()
    }
    fn put_committee(&mut self, committee: Vec<Member>) {
        Committee::<T>::put(Bounded::new(committee));
    }
    fn sharing(&self) -> Option<Sharing> {
        CurrentSharing::<T>::get().map(Bounded::into_inner)
    }
    fn put_sharing(&mut self, sharing: Sharing) {
        CurrentSharing::<T>::put(Bounded::new(sharing));
    }
    fn parent_key(&self) -> Option<Vec<u8>> {
        ParentKey::<T>::get().map(Bounded::into_inner)
    }
    fn put_parent_key(&mut self, key: Vec<u8>) {
        ParentKey::<T>::put(Bounded::new(key));
    }
    fn reshare(&self) -> Option<ReshareRecord> {
        Reshare::<T>::get().map(Bounded::into_inner)
    }
    fn put_reshare(&mut self, record: Option<ReshareRecord>) {
        Reshare::<T>::set(record.map(Bounded::new));
    }
    fn last_attempt(&self) -> Option<(SessionIndex, AttemptIndex)> {
        LastAttempt::<T>::get()
    }
    fn put_last_attempt(&mut self, last: (SessionIndex, AttemptIndex)) {
        LastAttempt::<T>::put(last);
    }
    fn next_join_seq(&self) -> u64 {
        NextJoinSeq::<T>::get()
    }
    fn put_next_join_seq(&mut self, next: u64) {
        NextJoinSeq::<T>::put(next);
    }

    /// What a hold can take: the free balance less what must stay (the existential deposit,
    /// freezes).
    fn free(&self, who: &AccountId) -> Balance {
        T::Currency::reducible_balance(&to_runtime(*who), Preservation::Protect, Fortitude::Force)
    }
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: Balance) -> Result<(), ChainError> {
        let free = self.free(from);
        T::Currency::transfer(&to_runtime(*from), &to_runtime(*to), amount, Preservation::Protect)
            .map(|_| ())
            .map_err(|_| ChainError::InsufficientBalance { free, needed: amount })
    }
    fn hold(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError> {
        let free = self.free(who);
        T::Currency::hold(&hold_reason::<T>(), &to_runtime(*who), amount)
            .map_err(|_| ChainError::InsufficientBalance { free, needed: amount })
    }
    fn release(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError> {
        T::Currency::release(&hold_reason::<T>(), &to_runtime(*who), amount, Precision::Exact)
            .map(|_| ())
            // The ledger says this much is held: a release that fails means the runtime's
            // holds and the ledger disagree.
            .map_err(|_| ChainError::StakeUnavailable)
    }
    fn slash_held(&mut self, who: &AccountId, amount: Balance) {
        let reason = hold_reason::<T>();
        let who = to_runtime(*who);
        let sent = T::SlashDestination::get().map(|to| {
            T::Currency::transfer_on_hold(
                &reason,
                &who,
                &to,
                amount,
                Precision::BestEffort,
                Restriction::Free,
                Fortitude::Force,
            )
        });
        // No destination, or it cannot take the cut (below its existential deposit, say):
        // burned, so the hold never keeps what the ledger no longer counts.
        let taken = match sent {
            Some(Ok(taken)) => Ok(taken),
            _ => T::Currency::burn_held(&reason, &who, amount, Precision::BestEffort, Fortitude::Force),
        };
        match taken {
            Ok(taken) if taken == amount => {}
            other => log::error!(target: "keywheel", "slashing {amount} of {who:?} took {other:?}"),
        }
    }

    fn ledger(&self, stash: &AccountId) -> Option<Ledger> {
        Ledgers::<T>::get(stash).map(Bounded::into_inner)
    }
    fn put_ledger(&mut self, stash: &AccountId, ledger: Ledger) {
        Ledgers::<T>::insert(stash, Bounded::new(ledger));
    }
    fn validator(&self, stash: &AccountId) -> Option<TssInfo> {
        Validators::<T>::get(stash).map(Bounded::into_inner)
    }
    fn validators(&self) -> Vec<(AccountId, TssInfo)> {
        // Storage iterates in hashed-key order; the rules want stash order.
        let mut all: Vec<(AccountId, TssInfo)> = Validators::<T>::iter().map(|(s, v)| (s, v.into_inner())).collect();
        all.sort_by_key(|(stash, _)| *stash);
        all
    }
    fn put_validator(&mut self, stash: &AccountId, tss: TssInfo) {
        Validators::<T>::insert(stash, Bounded::new(tss));
    }
    fn remove_validator(&mut self, stash: &AccountId) {
        Validators::<T>::remove(stash);
    }
    fn tss_owner(&self, tss: &AccountId) -> Option<AccountId> {
        TssOwner::<T>::get(tss)
    }
    fn put_tss_owner(&mut self, tss: &AccountId, stash: &AccountId) {
        TssOwner::<T>::insert(tss, stash);
    }

    fn confirmations(&self) -> Vec<(AccountId, Confirmation)> {
        let mut all: Vec<(AccountId, Confirmation)> =
            Confirmations::<T>::iter().map(|(m, c)| (m, c.into_inner())).collect();
        all.sort_by_key(|(member, _)| *member);
        all
    }
    fn confirmed(&self) -> BTreeSet<AccountId> {
        Confirmations::<T>::iter_keys().collect()
    }
    fn has_confirmed(&self, member: &AccountId) -> bool {
        Confirmations::<T>::contains_key(member)
    }
    fn put_confirmation(&mut self, member: &AccountId, confirmation: Confirmation) {
        Confirmations::<T>::insert(member, Bounded::new(confirmation));
    }
    fn clear_confirmations(&mut self) {
        // At most a committee's worth of entries.
        let _ = Confirmations::<T>::clear(u32::MAX, None);
    }
    fn reports(&self) -> Vec<(AccountId, BTreeSet<Silence>)> {
        let mut all: Vec<(AccountId, BTreeSet<Silence>)> =
            Reports::<T>::iter().map(|(r, n)| (r, n.into_inner())).collect();
        all.sort_by_key(|(reporter, _)| *reporter);
        all
    }
    fn report(&self, reporter: &AccountId) -> Option<BTreeSet<Silence>> {
        Reports::<T>::get(reporter).map(Bounded::into_inner)
    }
    fn put_report(&mut self, reporter: &AccountId, named: BTreeSet<Silence>) {
        Reports::<T>::insert(reporter, Bounded::new(named));
    }
    fn clear_reports(&mut self) {
        // At most one entry per participant of the attempt.
        let _ = Reports::<T>::clear(u32::MAX, None);
    }

    fn barred_until(&self, stash: &AccountId) -> Option<SessionIndex> {
        BarredUntil::<T>::get(stash)
    }
    fn put_barred_until(&mut self, stash: &AccountId, session: SessionIndex) {
        BarredUntil::<T>::insert(stash, session);
    }
    fn push_slash(&mut self, slash: SlashRecord) {
        let index = SlashCount::<T>::get();
        Slashes::<T>::insert(index, slash);
        SlashCount::<T>::put(index.saturating_add(1));
    }
    fn evidence_used(&self, fingerprint: &[u8; 32]) -> bool {
        EvidenceUsed::<T>::contains_key(fingerprint)
    }
    fn put_evidence_used(&mut self, fingerprint: [u8; 32]) {
        EvidenceUsed::<T>::insert(fingerprint, ());
    }
    fn registered(&self, account: &AccountId) -> Option<Vec<u32>> {
        Registry::<T>::get(account).map(Bounded::into_inner)
    }
    fn put_registered(&mut self, account: &AccountId, path: Vec<u32>) {
        Registry::<T>::insert(account, Bounded::new(path));
    }
}
