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
use crate::state::State;
use crate::types::{AccountId, Balance, TssInfo};

impl State {
    fn free(&self, who: &AccountId) -> Balance {
        self.balances.get(who).copied().unwrap_or(0)
    }

    fn debit(&mut self, who: AccountId, amount: Balance) -> Result<(), ChainError> {
        let free = self.free(&who);
        if free < amount {
            return Err(ChainError::InsufficientBalance { free, needed: amount });
        }
        self.balances.insert(who, free - amount);
        Ok(())
    }

    fn credit(&mut self, who: AccountId, amount: Balance) -> Result<(), ChainError> {
        let balance = self.free(&who).checked_add(amount).ok_or(ChainError::Overflow)?;
        self.balances.insert(who, balance);
        Ok(())
    }

    pub(crate) fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        amount: Balance,
    ) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        self.debit(from, amount)?;
        self.credit(to, amount)?;
        Ok(vec![Event::Transferred { from, to, amount }])
    }

    pub(crate) fn bond(&mut self, stash: AccountId, amount: Balance) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        self.debit(stash, amount)?;
        let ledger = self.ledgers.entry(stash).or_default();
        ledger.bonded = ledger.bonded.checked_add(amount).ok_or(ChainError::Overflow)?;
        Ok(vec![Event::Bonded { stash, amount }])
    }

    pub(crate) fn validate(
        &mut self,
        crypto: &impl Crypto,
        stash: AccountId,
        tss: TssInfo,
        proof: &[u8],
    ) -> Result<Vec<Event>, ChainError> {
        let declaration = tss_declaration(&self.network, &stash, &tss.endpoint, &tss.x25519);
        if !crypto.verify_account_signature(&tss.account, TSS_DECLARATION, &declaration, proof) {
            return Err(ChainError::UnsignedTssDeclaration(tss.account));
        }
        self.declare_tss(stash, tss)
    }

    /// Makes `tss` the TSS of `stash`, a declaration known to be its TSS's own (signed, or in the
    /// genesis configuration the operators agreed on).
    pub(crate) fn declare_tss(&mut self, stash: AccountId, tss: TssInfo) -> Result<Vec<Event>, ChainError> {
        let bonded = self.ledgers.get(&stash).map_or(0, |l| l.bonded);
        if bonded < self.params.min_bond {
            return Err(ChainError::InsufficientBond {
                bonded,
                needed: self.params.min_bond,
            });
        }
        if let Some(owner) = self.tss_owner.get(&tss.account) {
            if *owner != stash {
                return Err(ChainError::TssAccountTaken(tss.account));
            }
        }
        // Peers know each other by transport key: a copied one would have the victim's
        // connections taken for the copier's, and the victim look silent.
        if let Some((by, _)) = self
            .validators
            .iter()
            .find(|(other, info)| **other != stash && info.x25519 == tss.x25519)
        {
            return Err(ChainError::TransportKeyTaken { by: *by });
        }
        // A member's TSS account is its party id in the key sharing: it cannot change.
        let current_tss = self
            .committee
            .iter()
            .chain(self.reshare.iter().flat_map(|r| r.new_committee.iter()))
            .find(|m| m.validator == stash)
            .map(|m| m.tss);
        if current_tss.is_some_and(|t| t != tss.account) {
            return Err(ChainError::CommitteeMember(stash));
        }
        self.tss_owner.insert(tss.account, stash);
        let event = Event::Validating {
            stash,
            tss: tss.account,
        };
        self.validators.insert(stash, tss);
        Ok(vec![event])
    }

    pub(crate) fn chill(&mut self, stash: AccountId) -> Result<Vec<Event>, ChainError> {
        if !self.validators.contains_key(&stash) {
            return Err(ChainError::NotValidator(stash));
        }
        if self.is_committee_member(&stash) {
            return Err(ChainError::CommitteeMember(stash));
        }
        self.validators.remove(&stash);
        Ok(vec![Event::Chilled { stash }])
    }

    pub(crate) fn unbond(&mut self, stash: AccountId, amount: Balance) -> Result<Vec<Event>, ChainError> {
        if amount == 0 {
            return Err(ChainError::ZeroAmount);
        }
        if self.is_committee_member(&stash) {
            return Err(ChainError::CommitteeMember(stash));
        }
        let min_bond = self.params.min_bond;
        let validating = self.validators.contains_key(&stash);
        let until = self.block.saturating_add(self.params.unbonding_period);
        let ledger = self.ledgers.get_mut(&stash).ok_or(ChainError::InsufficientBond {
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
        if validating && remaining < min_bond {
            return Err(ChainError::BelowMinimumBond { remaining, min_bond });
        }
        ledger.bonded = remaining;
        ledger.unlocking.push((amount, until));
        Ok(vec![Event::Unbonding { stash, amount, until }])
    }

    pub(crate) fn withdraw_unbonded(&mut self, stash: AccountId) -> Result<Vec<Event>, ChainError> {
        let now = self.block;
        let ledger = self.ledgers.get_mut(&stash).ok_or(ChainError::NothingToWithdraw)?;
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
        self.credit(stash, amount)?;
        Ok(vec![Event::Withdrawn { stash, amount }])
    }
}
