//! Balances and staking: transfer, bond, validate, chill, unbond, withdraw.
//!
//! Members of the current committee or of the committee being formed cannot chill, unbond or
//! change their TSS account: the leaving member too, until the rotation that removes it.

use alloc::vec;
use alloc::vec::Vec;

use keywheel_primitives::domain::{tss_declaration, TSS_DECLARATION};

use crate::crypto::Crypto;
use crate::error::ChainError;
use crate::event::Event;
use crate::store::Store;
use crate::types::{AccountId, Balance, Ledger, TssInfo};

/// The staking rules, over any [`Store`].
pub(crate) trait Staking: Store {
    fn transfer_free(&mut self, from: AccountId, to: AccountId, amount: Balance) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        self.transfer(&from, &to, amount)?;
        Ok(vec![Event::Transferred { from, to, amount }])
    }

    fn bond(&mut self, stash: AccountId, amount: Balance) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        self.hold(&stash, amount)?;
        let mut ledger = self.ledger(&stash).unwrap_or_default();
        ledger.bonded = ledger.bonded.checked_add(amount).ok_or(ChainError::Overflow)?;
        self.put_ledger(&stash, ledger);
        Ok(vec![Event::Bonded { stash, amount }])
    }

    fn validate(
        &mut self,
        crypto: &impl Crypto,
        stash: AccountId,
        tss: TssInfo,
        proof: &[u8],
    ) -> Result<Vec<Event>, ChainError> {
        let declaration = tss_declaration(&self.network(), &stash, &tss.endpoint, &tss.x25519);
        if !crypto.verify_account_signature(&tss.account, TSS_DECLARATION, &declaration, proof) {
            return Err(ChainError::UnsignedTssDeclaration(tss.account));
        }
        self.declare_tss(stash, tss)
    }

    /// Makes `tss` the TSS of `stash`, a declaration known to be its TSS's own (signed, or in the
    /// genesis configuration the operators agreed on).
    fn declare_tss(&mut self, stash: AccountId, tss: TssInfo) -> Result<Vec<Event>, ChainError> {
        let bonded = self.ledger(&stash).map_or(0, |l| l.bonded);
        let min_bond = self.params().min_bond;
        if bonded < min_bond {
            return Err(ChainError::InsufficientBond {
                bonded,
                needed: min_bond,
            });
        }
        if let Some(owner) = self.tss_owner(&tss.account) {
            if owner != stash {
                return Err(ChainError::TssAccountTaken(tss.account));
            }
        }
        // Peers know each other by transport key: a copied one would have the victim's
        // connections taken for the copier's, and the victim look silent.
        if let Some((by, _)) = self
            .validators()
            .into_iter()
            .find(|(other, info)| *other != stash && info.x25519 == tss.x25519)
        {
            return Err(ChainError::TransportKeyTaken { by });
        }
        // A member's TSS account is its party id in the key sharing: it cannot change.
        let current_tss = self
            .committee()
            .into_iter()
            .chain(self.reshare().into_iter().flat_map(|r| r.new_committee))
            .find(|m| m.validator == stash)
            .map(|m| m.tss);
        if current_tss.is_some_and(|t| t != tss.account) {
            return Err(ChainError::CommitteeMember(stash));
        }
        self.put_tss_owner(&tss.account, &stash);
        let event = Event::Validating {
            stash,
            tss: tss.account,
        };
        self.put_validator(&stash, tss);
        Ok(vec![event])
    }

    fn chill(&mut self, stash: AccountId) -> Result<Vec<Event>, ChainError> {
        if self.validator(&stash).is_none() {
            return Err(ChainError::NotValidator(stash));
        }
        if is_committee_member(self, &stash) {
            return Err(ChainError::CommitteeMember(stash));
        }
        self.remove_validator(&stash);
        Ok(vec![Event::Chilled { stash }])
    }

    fn unbond(&mut self, stash: AccountId, amount: Balance) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        if is_committee_member(self, &stash) {
            return Err(ChainError::CommitteeMember(stash));
        }
        let params = self.params();
        let validating = self.validator(&stash).is_some();
        let until = self.block().saturating_add(params.unbonding_period);
        let mut ledger = self.ledger(&stash).ok_or(ChainError::InsufficientBond {
            bonded: 0,
            needed: amount,
        })?;
        if ledger.bonded < amount {
            return Err(ChainError::InsufficientBond {
                bonded: ledger.bonded,
                needed: amount,
            });
        }
        let remaining = ledger.bonded - amount;
        if validating && remaining < params.min_bond {
            return Err(ChainError::BelowMinimumBond {
                remaining,
                min_bond: params.min_bond,
            });
        }
        // Unbonds of one block share one entry; a new entry only while there is room.
        let entries = ledger.unlocking.len();
        match ledger.unlocking.iter_mut().find(|(_, at)| *at == until) {
            Some((value, _)) => *value = value.checked_add(amount).ok_or(ChainError::Overflow)?,
            None if entries >= Ledger::MAX_UNLOCKING => {
                return Err(ChainError::TooManyUnlockingChunks {
                    max: Ledger::MAX_UNLOCKING as u32,
                })
            }
            None => ledger.unlocking.push((amount, until)),
        }
        ledger.bonded = remaining;
        self.put_ledger(&stash, ledger);
        Ok(vec![Event::Unbonding { stash, amount, until }])
    }

    fn withdraw_unbonded(&mut self, stash: AccountId) -> Result<Vec<Event>, ChainError> {
        let now = self.block();
        let mut ledger = self.ledger(&stash).ok_or(ChainError::NothingToWithdraw)?;
        let mut amount: Balance = 0;
        ledger.unlocking.retain(|(value, until)| {
            if *until <= now {
                amount = amount.saturating_add(*value);
                false
            } else {
                true
            }
        });
        if amount == 0 {
            return Err(ChainError::NothingToWithdraw);
        }
        self.put_ledger(&stash, ledger);
        self.release(&stash, amount)?;
        Ok(vec![Event::Withdrawn { stash, amount }])
    }
}

impl<S: Store + ?Sized> Staking for S {}

/// Whether the stash is in the current committee or the one being formed.
pub fn is_committee_member<S: Store + ?Sized>(store: &S, stash: &AccountId) -> bool {
    store.committee().iter().any(|m| m.validator == *stash)
        || store
            .reshare()
            .is_some_and(|r| r.new_committee.iter().any(|m| m.validator == *stash))
}
