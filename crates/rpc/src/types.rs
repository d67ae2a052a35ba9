//! What queries and submissions answer.

use std::collections::{BTreeMap, BTreeSet};

use keywheel_chain::encoding::{hex_array, hex_opt, hex_vec};
use keywheel_chain::{
    AccountId, Balance, BlockNumber, Confirmation, Event, Ledger, Member, ReshareRecord, SessionIndex, Sharing,
    Silence, TssInfo,
};
use serde::{Deserialize, Serialize};

/// Bytes that travel as `0x` hex in JSON.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(#[serde(with = "hex_vec")] pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&keywheel_chain::to_hex(&self.0))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// The node and its chain at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The network's name from the genesis file.
    pub network_name: String,
    /// The network id (part of every attempt context).
    #[serde(with = "hex_array")]
    pub network: [u8; 32],
    /// Hash of the genesis configuration; every extrinsic is signed for it.
    #[serde(with = "hex_array")]
    pub genesis_hash: [u8; 32],
    /// The block author whose VRF makes each block's randomness.
    pub author: AccountId,
    /// The root (sudo) account.
    pub root: AccountId,
    /// Height of the best sealed block.
    pub height: BlockNumber,
    /// Its hash.
    #[serde(with = "hex_array")]
    pub best_hash: [u8; 32],
    /// The chain state digest after it.
    #[serde(with = "hex_array")]
    pub state_digest: [u8; 32],
    /// The current session.
    pub session: SessionIndex,
    /// Milliseconds between blocks.
    pub block_time_ms: u64,
}

/// Everything about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account.
    pub account: AccountId,
    /// Free balance.
    pub free: Balance,
    /// Its nonce: the number of its extrinsics applied, so the next one must carry this.
    pub nonce: u64,
    /// Stake, if it bonded.
    pub ledger: Option<Ledger>,
    /// Its TSS, if it validates.
    pub validating: Option<TssInfo>,
    /// The stash that declared this account as its TSS, if any.
    pub tss_of: Option<AccountId>,
    /// Its BIP32 path, if registered for signing.
    pub registered: Option<Vec<u32>>,
}

/// What `submit` answers: the extrinsic is in the block being built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReceipt {
    /// SHA-256 of the extrinsic's bytes.
    #[serde(with = "hex_array")]
    pub hash: [u8; 32],
    /// The block it will be sealed in.
    pub block: BlockNumber,
    /// Its index in that block.
    pub index: u32,
    /// The events it emitted.
    pub events: Vec<Event>,
}

/// What `submitAndWait` answers: the extrinsic is in a sealed, stored block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inclusion {
    /// SHA-256 of the extrinsic's bytes.
    #[serde(with = "hex_array")]
    pub hash: [u8; 32],
    /// The block.
    pub block: BlockNumber,
    /// The block's hash.
    #[serde(with = "hex_array")]
    pub block_hash: [u8; 32],
    /// Its index in the block.
    pub index: u32,
    /// The events it emitted.
    pub events: Vec<Event>,
}

/// The committee that holds the parent key now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeView {
    /// The current session.
    pub session: SessionIndex,
    /// Members in join order (oldest first).
    pub members: Vec<Member>,
    /// The public side of their sharing (threshold and public key shares).
    pub sharing: Option<Sharing>,
    /// The parent verifying key (compressed SEC1).
    #[serde(with = "hex_opt")]
    pub parent_key: Option<Vec<u8>>,
}

/// The reshare attempt in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReshareView {
    /// The attempt's public inputs.
    pub record: ReshareRecord,
    /// Confirmations so far, by the new member's TSS account.
    pub confirmations: BTreeMap<AccountId, Confirmation>,
    /// Silence reports so far: reporter → whom it named, each with the round missing.
    pub reports: BTreeMap<AccountId, BTreeSet<Silence>>,
}

/// A validating stash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// The stash.
    pub stash: AccountId,
    /// Its TSS.
    pub tss: TssInfo,
    /// Its stake.
    pub ledger: Ledger,
    /// Selectable again from this session on, if barred.
    pub barred_until: Option<SessionIndex>,
    /// Whether it is in the current committee or the one being formed.
    pub in_committee: bool,
}
