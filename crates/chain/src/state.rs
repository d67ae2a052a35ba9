//! The dev node's chain: its whole state in memory, and the transactional entry points that
//! drive the rules over it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::call::{Call, Origin};
use crate::crypto::Crypto;
use crate::error::ChainError;
use crate::event::Event;
use crate::rules;
use crate::store::Store;
use crate::types::{
    AccountId, AttemptIndex, Balance, BlockNumber, Confirmation, Ledger, Member, Params, ReshareRecord, SessionIndex,
    Sharing, Silence, SlashRecord, TssInfo,
};

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
        rules::genesis(&mut state, genesis.validators)?;
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
        let events = rules::dispatch(&mut next, crypto, origin, call)?;
        self.state = next;
        Ok(events)
    }

    /// Applies the next block with its randomness: session boundaries, deadlines.
    pub fn on_block(&mut self, block: BlockNumber, randomness: [u8; 32]) -> Result<Vec<Event>, ChainError> {
        // Nothing in a block's own processing can fail once its number is accepted, so it works
        // on the state in place.
        rules::on_block(&mut self.state, block, randomness)
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

    /// Whether the stash is in the current committee or the one being formed.
    pub fn is_committee_member(&self, stash: &AccountId) -> bool {
        rules::is_committee_member(self, stash)
    }

    /// The stash behind a TSS account.
    pub fn stash_of(&self, tss: &AccountId) -> Option<AccountId> {
        rules::stash_of(self, tss)
    }

    /// Validators that may join a committee now, in stash order: `(stash, tss)`.
    pub fn eligible_joiners(&self) -> Vec<(AccountId, AccountId)> {
        rules::eligible_joiners(self)
    }
}

/// The dev node's store: everything in one in-memory [`State`], persisted whole by the node.
impl Store for State {
    fn network(&self) -> [u8; 32] {
        self.network
    }
    fn block(&self) -> BlockNumber {
        self.block
    }
    fn put_block(&mut self, block: BlockNumber) {
        self.block = block;
    }
    fn randomness(&self) -> [u8; 32] {
        self.randomness
    }
    fn put_randomness(&mut self, randomness: [u8; 32]) {
        self.randomness = randomness;
    }
    fn session(&self) -> SessionIndex {
        self.session
    }
    fn put_session(&mut self, session: SessionIndex) {
        self.session = session;
    }
    fn params(&self) -> Params {
        self.params.clone()
    }
    fn put_params(&mut self, params: Params) {
        self.params = params;
    }
    fn committee(&self) -> Vec<Member> {
        self.committee.clone()
    }
    fn put_committee(&mut self, committee: Vec<Member>) {
        self.committee = committee;
    }
    fn sharing(&self) -> Option<Sharing> {
        self.sharing.clone()
    }
    fn put_sharing(&mut self, sharing: Sharing) {
        self.sharing = Some(sharing);
    }
    fn parent_key(&self) -> Option<Vec<u8>> {
        self.parent_key.clone()
    }
    fn put_parent_key(&mut self, key: Vec<u8>) {
        self.parent_key = Some(key);
    }
    fn reshare(&self) -> Option<ReshareRecord> {
        self.reshare.clone()
    }
    fn put_reshare(&mut self, record: Option<ReshareRecord>) {
        self.reshare = record;
    }
    fn last_attempt(&self) -> Option<(SessionIndex, AttemptIndex)> {
        self.last_attempt
    }
    fn put_last_attempt(&mut self, last: (SessionIndex, AttemptIndex)) {
        self.last_attempt = Some(last);
    }
    fn next_join_seq(&self) -> u64 {
        self.next_join_seq
    }
    fn put_next_join_seq(&mut self, next: u64) {
        self.next_join_seq = next;
    }

    fn free(&self, who: &AccountId) -> Balance {
        self.balances.get(who).copied().unwrap_or(0)
    }
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: Balance) -> Result<(), ChainError> {
        self.hold(from, amount)?;
        self.release(to, amount)
    }
    fn hold(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError> {
        // The dev node keeps no separate held balance: the ledger says what is at stake.
        let free = self.free(who);
        if free < amount {
            return Err(ChainError::InsufficientBalance { free, needed: amount });
        }
        self.balances.insert(*who, free - amount);
        Ok(())
    }
    fn release(&mut self, who: &AccountId, amount: Balance) -> Result<(), ChainError> {
        let balance = self.free(who).checked_add(amount).ok_or(ChainError::Overflow)?;
        self.balances.insert(*who, balance);
        Ok(())
    }
    fn slash_held(&mut self, _who: &AccountId, _amount: Balance) {
        // Burned: the ledger no longer counts it, and no free balance receives it.
    }

    fn ledger(&self, stash: &AccountId) -> Option<Ledger> {
        self.ledgers.get(stash).cloned()
    }
    fn put_ledger(&mut self, stash: &AccountId, ledger: Ledger) {
        self.ledgers.insert(*stash, ledger);
    }
    fn validator(&self, stash: &AccountId) -> Option<TssInfo> {
        self.validators.get(stash).cloned()
    }
    fn validators(&self) -> Vec<(AccountId, TssInfo)> {
        self.validators.iter().map(|(s, t)| (*s, t.clone())).collect()
    }
    fn put_validator(&mut self, stash: &AccountId, tss: TssInfo) {
        self.validators.insert(*stash, tss);
    }
    fn remove_validator(&mut self, stash: &AccountId) {
        self.validators.remove(stash);
    }
    fn tss_owner(&self, tss: &AccountId) -> Option<AccountId> {
        self.tss_owner.get(tss).copied()
    }
    fn put_tss_owner(&mut self, tss: &AccountId, stash: &AccountId) {
        self.tss_owner.insert(*tss, *stash);
    }

    fn confirmations(&self) -> Vec<(AccountId, Confirmation)> {
        self.confirmations.iter().map(|(a, c)| (*a, c.clone())).collect()
    }
    fn confirmed(&self) -> BTreeSet<AccountId> {
        self.confirmations.keys().copied().collect()
    }
    fn has_confirmed(&self, member: &AccountId) -> bool {
        self.confirmations.contains_key(member)
    }
    fn put_confirmation(&mut self, member: &AccountId, confirmation: Confirmation) {
        self.confirmations.insert(*member, confirmation);
    }
    fn clear_confirmations(&mut self) {
        self.confirmations.clear();
    }
    fn reports(&self) -> Vec<(AccountId, BTreeSet<Silence>)> {
        self.reports.iter().map(|(a, r)| (*a, r.clone())).collect()
    }
    fn report(&self, reporter: &AccountId) -> Option<BTreeSet<Silence>> {
        self.reports.get(reporter).cloned()
    }
    fn put_report(&mut self, reporter: &AccountId, named: BTreeSet<Silence>) {
        self.reports.insert(*reporter, named);
    }
    fn clear_reports(&mut self) {
        self.reports.clear();
    }

    fn barred_until(&self, stash: &AccountId) -> Option<SessionIndex> {
        self.barred_until.get(stash).copied()
    }
    fn put_barred_until(&mut self, stash: &AccountId, session: SessionIndex) {
        self.barred_until.insert(*stash, session);
    }
    fn push_slash(&mut self, slash: SlashRecord) {
        self.slashes.push(slash);
    }
    fn evidence_used(&self, fingerprint: &[u8; 32]) -> bool {
        self.evidence_used.contains(fingerprint)
    }
    fn put_evidence_used(&mut self, fingerprint: [u8; 32]) {
        self.evidence_used.insert(fingerprint);
    }
    fn registered(&self, account: &AccountId) -> Option<Vec<u32>> {
        self.registry.get(account).cloned()
    }
    fn put_registered(&mut self, account: &AccountId, path: Vec<u32>) {
        self.registry.insert(*account, path);
    }
}
