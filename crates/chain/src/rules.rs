//! The rules' entry points over any [`Store`]: genesis, one call, one block, and the queries
//! a driver needs. The dev node ([`crate::Chain`]) and the FRAME pallet both call these and
//! nothing else, so there is one copy of the rules.

use alloc::vec;
use alloc::vec::Vec;

use crate::call::{Call, Origin};
use crate::crypto::Crypto;
use crate::error::ChainError;
use crate::event::Event;
use crate::reshare::Lifecycle;
use crate::staking::Staking;
use crate::store::Store;
use crate::types::{AccountId, Balance, BlockNumber, Params, TssInfo};

pub use crate::committee::eligible_joiners;
pub use crate::staking::is_committee_member;

/// Bonds and declares the genesis validators `(stash, bond, tss)`: the bond comes out of the
/// stash's free balance. The genesis configuration is trusted: its declarations carry no
/// signature.
pub fn genesis<S: Store + ?Sized>(
    store: &mut S,
    validators: impl IntoIterator<Item = (AccountId, Balance, TssInfo)>,
) -> Result<(), ChainError> {
    store.params().validate()?;
    for (stash, bond, tss) in validators {
        store.bond(stash, bond)?;
        store.declare_tss(stash, tss)?;
    }
    Ok(())
}

/// Applies one call from `origin`. Not transactional: on error the caller must drop what the
/// store received (see [`Store`]).
pub fn dispatch<S: Store + ?Sized>(
    store: &mut S,
    crypto: &impl Crypto,
    origin: Origin,
    call: Call,
) -> Result<Vec<Event>, ChainError> {
    let signed = || match origin {
        Origin::Signed(who) => Ok(who),
        Origin::Root => Err(ChainError::SignedRequired),
    };
    let root = || match origin {
        Origin::Root => Ok(()),
        Origin::Signed(_) => Err(ChainError::RootRequired),
    };
    match call {
        Call::Transfer { to, amount } => store.transfer_free(signed()?, to, amount),
        Call::Bond { amount } => store.bond(signed()?, amount),
        Call::Validate { tss, proof } => store.validate(crypto, signed()?, tss, &proof),
        Call::Chill => store.chill(signed()?),
        Call::Unbond { amount } => store.unbond(signed()?, amount),
        Call::WithdrawUnbonded => store.withdraw_unbonded(signed()?),
        Call::Register => register(store, signed()?),
        Call::Confirm {
            session,
            attempt,
            confirmation,
        } => store.confirm(crypto, signed()?, session, attempt, confirmation),
        Call::ReportOffence {
            session,
            attempt,
            offender,
            evidence,
        } => store.report_offence(crypto, signed()?, session, attempt, offender, &evidence),
        Call::ReportUnresponsive {
            session,
            attempt,
            missing,
        } => store.report_unresponsive(signed()?, session, attempt, missing),
        Call::SetParams { params } => {
            root()?;
            change_params(store, params)
        }
        Call::Jumpstart => {
            root()?;
            store.jumpstart()
        }
    }
}

/// Applies the next block with its randomness: session boundaries, rotations started,
/// deadlines. Refuses a block that does not come after the last one; nothing else in a block's
/// own processing can fail.
pub fn on_block<S: Store + ?Sized>(
    store: &mut S,
    block: BlockNumber,
    randomness: [u8; 32],
) -> Result<Vec<Event>, ChainError> {
    let current = store.block();
    if block <= current {
        return Err(ChainError::BlockOutOfOrder { current, given: block });
    }
    Ok(store.begin_block(block, randomness))
}

/// The stash behind a TSS account.
pub fn stash_of<S: Store + ?Sized>(store: &S, tss: &AccountId) -> Option<AccountId> {
    store.tss_owner(tss)
}

fn change_params<S: Store + ?Sized>(store: &mut S, params: Params) -> Result<Vec<Event>, ChainError> {
    params.validate()?;
    let current = store.params();
    let shape_changes = params.committee_size != current.committee_size || params.threshold != current.threshold;
    if shape_changes && (store.parent_key().is_some() || store.reshare().is_some()) {
        return Err(ChainError::CommitteeShapeFixed);
    }
    store.put_params(params);
    Ok(vec![Event::ParamsChanged])
}

fn register<S: Store + ?Sized>(store: &mut S, account: AccountId) -> Result<Vec<Event>, ChainError> {
    if store.registered(&account).is_some() {
        return Err(ChainError::AlreadyRegistered(account));
    }
    let path = crate::registry::account_path(&account).to_vec();
    store.put_registered(&account, path.clone());
    Ok(vec![Event::Registered { account, path }])
}
