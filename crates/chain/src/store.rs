//! Where the rules keep the chain's state: one small trait, implemented by the dev node's
//! in-memory [`crate::state::State`] and by the FRAME pallet's storage items.
//!
//! The rules ([`crate::dispatch`], [`crate::on_block`], [`crate::genesis`]) only ever read and
//! write through [`Store`], one concept at a time, so a runtime keeps each concept in its own
//! storage item instead of one encoded blob. A [`Store`] is not transactional: the caller wraps a
//! call in its own transaction (the dev node applies it to a copy of its state; FRAME dispatches
//! in a storage layer), because a refused call may have written before it was refused.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::error::ChainError;
use crate::types::{
    AccountId, AttemptIndex, Balance, BlockNumber, Confirmation, Ledger, Member, Params, ReshareRecord, SessionIndex,
    Sharing, Silence, SlashRecord, TssInfo,
};

/// The chain's state, one concept at a time. Getters return owned values (a runtime decodes
/// them from storage anyway); iteration is in key order.
pub trait Store {
    /// Identifies this network; part of every attempt context.
    fn network(&self) -> [u8; 32];
    /// The last block applied.
    fn block(&self) -> BlockNumber;
    /// Records the block being applied.
    fn put_block(&mut self, block: BlockNumber);
    /// That block's randomness.
    fn randomness(&self) -> [u8; 32];
    /// Records the randomness of the block being applied.
    fn put_randomness(&mut self, randomness: [u8; 32]);
    /// The current session.
    fn session(&self) -> SessionIndex;
    /// Records a new session.
    fn put_session(&mut self, session: SessionIndex);
    /// The parameters.
    fn params(&self) -> Params;
    /// Replaces the parameters (already validated).
    fn put_params(&mut self, params: Params);

    /// The current committee in join order (empty before jumpstart).
    fn committee(&self) -> Vec<Member>;
    /// Replaces the committee (at a rotation).
    fn put_committee(&mut self, committee: Vec<Member>);
    /// The public side of the current sharing.
    fn sharing(&self) -> Option<Sharing>;
    /// Replaces the sharing (at a rotation).
    fn put_sharing(&mut self, sharing: Sharing);
    /// The parent verifying key (compressed SEC1); set once.
    fn parent_key(&self) -> Option<Vec<u8>>;
    /// Sets the parent key (at the jumpstart's rotation).
    fn put_parent_key(&mut self, key: Vec<u8>);
    /// The reshare attempt in flight.
    fn reshare(&self) -> Option<ReshareRecord>;
    /// Starts (`Some`) or ends (`None`) the attempt in flight.
    fn put_reshare(&mut self, record: Option<ReshareRecord>);
    /// The last attempt started: `(session, attempt)`.
    fn last_attempt(&self) -> Option<(SessionIndex, AttemptIndex)>;
    /// Records the attempt just started.
    fn put_last_attempt(&mut self, last: (SessionIndex, AttemptIndex));
    /// The next join sequence number.
    fn next_join_seq(&self) -> u64;
    /// Advances the join sequence.
    fn put_next_join_seq(&mut self, next: u64);

    /// Free balance: what a bond can take.
    fn free(&self, who: &AccountId) -> Balance;
    /// Moves free balance between accounts (the dev node's transfer; a runtime's balances
    /// pallet does its own).
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: Balance) -> Result<(), ChainError>;
    /// Puts `amount` of `who`'s free balance at stake (a hold); fails when it has not that much.
    fn hold(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError>;
    /// Returns `amount` of `who`'s stake to its free balance.
    fn release(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError>;
    /// Takes `amount` of `who`'s stake away for good (burned, or sent where the runtime says).
    fn slash_held(&mut self, who: &AccountId, amount: Balance);

    /// A stash's stake.
    fn ledger(&self, stash: &AccountId) -> Option<Ledger>;
    /// Replaces a stash's stake record.
    fn put_ledger(&mut self, stash: &AccountId, ledger: Ledger);
    /// A validating stash's TSS.
    fn validator(&self, stash: &AccountId) -> Option<TssInfo>;
    /// Every validating stash with its TSS, in stash order.
    fn validators(&self) -> Vec<(AccountId, TssInfo)>;
    /// Declares a stash validating with this TSS.
    fn put_validator(&mut self, stash: &AccountId, tss: TssInfo);
    /// Stops a stash validating.
    fn remove_validator(&mut self, stash: &AccountId);
    /// The stash that declared a TSS account (kept after chilling).
    fn tss_owner(&self, tss: &AccountId) -> Option<AccountId>;
    /// Records who declared a TSS account.
    fn put_tss_owner(&mut self, tss: &AccountId, stash: &AccountId);

    /// The confirmations received for the attempt in flight, by TSS account.
    fn confirmations(&self) -> Vec<(AccountId, Confirmation)>;
    /// The members that confirmed the attempt in flight (without their confirmations).
    fn confirmed(&self) -> BTreeSet<AccountId>;
    /// Whether `member` confirmed the attempt in flight.
    fn has_confirmed(&self, member: &AccountId) -> bool;
    /// Records a confirmation.
    fn put_confirmation(&mut self, member: &AccountId, confirmation: Confirmation);
    /// Forgets every confirmation (a new attempt, or the end of one).
    fn clear_confirmations(&mut self);
    /// The silence reports of the attempt in flight: reporter → whom it named, where.
    fn reports(&self) -> Vec<(AccountId, BTreeSet<Silence>)>;
    /// What one reporter has named so far.
    fn report(&self, reporter: &AccountId) -> Option<BTreeSet<Silence>>;
    /// Replaces what one reporter has named.
    fn put_report(&mut self, reporter: &AccountId, named: BTreeSet<Silence>);
    /// Forgets every report.
    fn clear_reports(&mut self);

    /// The session from which a stash may be selected again.
    fn barred_until(&self, stash: &AccountId) -> Option<SessionIndex>;
    /// Bars a stash until a session.
    fn put_barred_until(&mut self, stash: &AccountId, session: SessionIndex);
    /// Appends a punishment to the record.
    fn push_slash(&mut self, slash: SlashRecord);
    /// Whether evidence with this fingerprint was used already.
    fn evidence_used(&self, fingerprint: &[u8; 32]) -> bool;
    /// Marks evidence used.
    fn put_evidence_used(&mut self, fingerprint: [u8; 32]);
    /// The BIP32 path of a registered account.
    fn registered(&self, account: &AccountId) -> Option<Vec<u32>>;
    /// Registers an account with its path.
    fn put_registered(&mut self, account: &AccountId, path: Vec<u32>);
}
