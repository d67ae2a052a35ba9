//! The chain's state, its calls, and the transactional entry points that drive it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::Crypto;
use crate::error::ChainError;
use crate::event::Event;
use crate::types::{
    AccountId, AttemptIndex, Balance, BlockNumber, Confirmation, Ledger, Member, Params, ReshareRecord, SessionIndex,
    Sharing, Silence, SlashRecord, TssInfo,
};

/// Who sends a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// The chain's governance (the devnet's sudo key).
    Root,
    /// An account whose signature the driver has checked.
    Signed(AccountId),
}

/// Every call the chain accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call {
    /// Moves free balance to another account.
    Transfer {
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: Balance,
    },
    /// Bonds free balance as stake.
    Bond {
        /// Amount.
        amount: Balance,
    },
    /// Declares the caller a validator with this TSS (or updates the declaration).
    Validate {
        /// The TSS.
        tss: TssInfo,
        /// The TSS account's signature over [`keywheel_primitives::domain::tss_declaration`]
        /// of this network, the caller and `tss`: no one declares a TSS that is not theirs.
        /// sr25519 signature bytes (64).
        proof: Vec<u8>,
    },
    /// Stops validating.
    Chill,
    /// Starts unbonding stake.
    Unbond {
        /// Amount.
        amount: Balance,
    },
    /// Returns matured unbonded stake to the free balance.
    WithdrawUnbonded,
    /// Registers the caller for signing with its child key.
    Register,
    /// A new member confirms the share it holds (signed by its TSS account).
    Confirm {
        /// Session of the attempt.
        session: SessionIndex,
        /// The attempt.
        attempt: AttemptIndex,
        /// What it holds.
        confirmation: Confirmation,
    },
    /// A participant reports a provable offence (signed by its TSS account).
    ReportOffence {
        /// Session of the attempt.
        session: SessionIndex,
        /// The attempt.
        attempt: AttemptIndex,
        /// The accused's TSS account.
        offender: AccountId,
        /// Serialized evidence.
        #[serde(with = "crate::encoding::hex_vec")]
        evidence: Vec<u8>,
    },
    /// A participant names parties whose messages did not arrive (signed by its TSS account).
    ReportUnresponsive {
        /// Session of the attempt.
        session: SessionIndex,
        /// The attempt.
        attempt: AttemptIndex,
        /// Whom it names, each with the round whose messages from it were missing.
        missing: Vec<Silence>,
    },
    /// Root: new parameters.
    SetParams {
        /// The parameters.
        params: Params,
    },
    /// Root: picks the first committee and starts the DKG.
    Jumpstart,
}

/// The chain's starting point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Genesis {
    /// Identifies this network; part of every attempt context.
    #[serde(with = "crate::encoding::hex_array")]
    pub network: [u8; 32],
    /// Parameters.
    pub params: Params,
    /// Funded accounts.
    pub balances: Vec<(AccountId, Balance)>,
    /// Validators bonded and validating from the start: `(stash, bond, tss)`; the bond comes
    /// out of the stash's genesis balance.
    pub validators: Vec<(AccountId, Balance, TssInfo)>,
}

/// The whole state. Public for queries; change it only through [`Chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Network id.
    #[serde(with = "crate::encoding::hex_array")]
    pub network: [u8; 32],
    /// The last block applied.
    pub block: BlockNumber,
    /// That block's randomness.
    #[serde(with = "crate::encoding::hex_array")]
    pub randomness: [u8; 32],
    /// The current session.
    pub session: SessionIndex,
    /// Parameters.
    pub params: Params,
    /// Free balances.
    pub balances: BTreeMap<AccountId, Balance>,
    /// Stake per stash.
    pub ledgers: BTreeMap<AccountId, Ledger>,
    /// Validators that currently validate, with their TSS.
    pub validators: BTreeMap<AccountId, TssInfo>,
    /// Which stash declared each TSS account (kept after chilling, so it cannot be reused).
    pub tss_owner: BTreeMap<AccountId, AccountId>,
    /// The current committee in join order (empty before jumpstart).
    pub committee: Vec<Member>,
    /// The public side of the current sharing.
    pub sharing: Option<Sharing>,
    /// The parent verifying key (compressed SEC1); never changes once set.
    #[serde(with = "crate::encoding::hex_opt")]
    pub parent_key: Option<Vec<u8>>,
    /// The reshare attempt in flight, if any (there is at most one).
    pub reshare: Option<ReshareRecord>,
    /// The last attempt started: `(session, attempt)`.
    pub last_attempt: Option<(SessionIndex, AttemptIndex)>,
    /// Confirmations received for the attempt in flight, by TSS account.
    pub confirmations: BTreeMap<AccountId, Confirmation>,
    /// Silence reports for the attempt in flight: reporter (TSS account) → whom it named, where.
    pub reports: BTreeMap<AccountId, BTreeSet<Silence>>,
    /// Stashes that may not be selected before the given session.
    pub barred_until: BTreeMap<AccountId, SessionIndex>,
    /// Every punishment so far.
    pub slashes: Vec<SlashRecord>,
    /// Fingerprints of evidence already used.
    pub evidence_used: BTreeSet<[u8; 32]>,
    /// Accounts registered for signing, with their BIP32 paths.
    pub registry: BTreeMap<AccountId, Vec<u32>>,
    /// The next join sequence number.
    pub next_join_seq: u64,
}

/// The chain: its state plus the rules, applied transactionally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    state: State,
}

impl Chain {
    /// Builds the genesis state.
    pub fn new(genesis: Genesis) -> Result<Self, ChainError> {
        genesis.params.validate()?;
        let mut state = State {
            network: genesis.network,
            block: 0,
            randomness: [0; 32],
            session: 0,
            params: genesis.params,
            balances: BTreeMap::new(),
            ledgers: BTreeMap::new(),
            validators: BTreeMap::new(),
            tss_owner: BTreeMap::new(),
            committee: Vec::new(),
            sharing: None,
            parent_key: None,
            reshare: None,
            last_attempt: None,
            confirmations: BTreeMap::new(),
            reports: BTreeMap::new(),
            barred_until: BTreeMap::new(),
            slashes: Vec::new(),
            evidence_used: BTreeSet::new(),
            registry: BTreeMap::new(),
            next_join_seq: 0,
        };
        for (account, amount) in genesis.balances {
            let balance = state.balances.entry(account).or_default();
            *balance = balance.checked_add(amount).ok_or(ChainError::Overflow)?;
        }
        for (stash, bond, tss) in genesis.validators {
            state.bond(stash, bond)?;
            // The genesis configuration is trusted: its declarations carry no signature.
            state.declare_tss(stash, tss)?;
        }
        Ok(Self { state })
    }

    /// Restores a chain from a state that was persisted (e.g. by the node).
    pub fn from_state(state: State) -> Result<Self, ChainError> {
        state.params.validate()?;
        Ok(Self { state })
    }

    /// Read access to everything (queries).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Applies one call. On error nothing changes.
    pub fn apply(&mut self, crypto: &impl Crypto, origin: Origin, call: Call) -> Result<Vec<Event>, ChainError> {
        let mut next = self.state.clone();
        let events = next.dispatch(crypto, origin, call)?;
        self.state = next;
        Ok(events)
    }

    /// Applies the next block with its randomness: session boundaries, deadlines.
    pub fn on_block(&mut self, block: BlockNumber, randomness: [u8; 32]) -> Result<Vec<Event>, ChainError> {
        if block <= self.state.block {
            return Err(ChainError::BlockOutOfOrder {
                current: self.state.block,
                given: block,
            });
        }
        // Nothing in a block's own processing can fail, so it works on the state in place.
        Ok(self.state.begin_block(block, randomness))
    }

    /// A digest of the whole state: equal states, equal digests.
    pub fn digest(&self) -> [u8; 32] {
        self.state.digest()
    }
}

impl State {
    /// A digest of the whole state (SHA-256 of its canonical binary form).
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self).expect("serializing plain data into a Vec cannot fail");
        Sha256::digest(bytes).into()
    }

    fn dispatch(&mut self, crypto: &impl Crypto, origin: Origin, call: Call) -> Result<Vec<Event>, ChainError> {
        let signed = || match origin {
            Origin::Signed(who) => Ok(who),
            Origin::Root => Err(ChainError::SignedRequired),
        };
        match call {
            Call::Transfer { to, amount } => self.transfer(signed()?, to, amount),
            Call::Bond { amount } => self.bond(signed()?, amount),
            Call::Validate { tss, proof } => self.validate(crypto, signed()?, tss, &proof),
            Call::Chill => self.chill(signed()?),
            Call::Unbond { amount } => self.unbond(signed()?, amount),
            Call::WithdrawUnbonded => self.withdraw_unbonded(signed()?),
            Call::Register => self.register(signed()?),
            Call::Confirm {
                session,
                attempt,
                confirmation,
            } => self.confirm(crypto, signed()?, session, attempt, confirmation),
            Call::ReportOffence {
                session,
                attempt,
                offender,
                evidence,
            } => self.report_offence(crypto, signed()?, session, attempt, offender, &evidence),
            Call::ReportUnresponsive {
                session,
                attempt,
                missing,
            } => self.report_unresponsive(signed()?, session, attempt, missing),
            Call::SetParams { params } => {
                if origin != Origin::Root {
                    return Err(ChainError::RootRequired);
                }
                self.set_params(params)
            }
            Call::Jumpstart => {
                if origin != Origin::Root {
                    return Err(ChainError::RootRequired);
                }
                self.jumpstart()
            }
        }
    }

    fn set_params(&mut self, params: Params) -> Result<Vec<Event>, ChainError> {
        params.validate()?;
        let shape_changes =
            params.committee_size != self.params.committee_size || params.threshold != self.params.threshold;
        if shape_changes && (self.parent_key.is_some() || self.reshare.is_some()) {
            return Err(ChainError::CommitteeShapeFixed);
        }
        self.params = params;
        Ok(alloc::vec![Event::ParamsChanged])
    }

    fn register(&mut self, account: AccountId) -> Result<Vec<Event>, ChainError> {
        if self.registry.contains_key(&account) {
            return Err(ChainError::AlreadyRegistered(account));
        }
        let path = crate::registry::account_path(&account).to_vec();
        self.registry.insert(account, path.clone());
        Ok(alloc::vec![Event::Registered { account, path }])
    }

    /// Whether the stash is in the current committee or the one being formed.
    pub fn is_committee_member(&self, stash: &AccountId) -> bool {
        self.committee.iter().any(|m| m.validator == *stash)
            || self
                .reshare
                .as_ref()
                .is_some_and(|r| r.new_committee.iter().any(|m| m.validator == *stash))
    }

    /// The stash behind a TSS account.
    pub fn stash_of(&self, tss: &AccountId) -> Option<AccountId> {
        self.tss_owner.get(tss).copied()
    }
}
