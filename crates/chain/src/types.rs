//! The chain's data: accounts, parameters, validators, the committee, reshare records, slashes.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::ChainError;

pub use keywheel_primitives::{AccountId, AttemptIndex, Balance, BlockNumber, Dealt, Endorsed, SessionIndex, Sharing};

/// The chain's parameters: set at genesis, changeable by root. In human-written files (genesis
/// TOML) omitted fields take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Committee size `n`.
    pub committee_size: u32,
    /// Signing threshold `t` (`1 ≤ t < n`, so a member can always leave).
    pub threshold: u32,
    /// Blocks per session.
    pub session_length: BlockNumber,
    /// Blocks an attempt may take before it is aborted.
    pub reshare_deadline: BlockNumber,
    /// Attempts per session before the chain waits for the next session.
    pub max_attempts: u32,
    /// Share of the bond cut for a proven offence, in parts per million.
    pub slash_permill: u32,
    /// Sessions a proven offender may not be selected.
    pub barred_sessions: u32,
    /// Blocks between `unbond` and `withdraw_unbonded`.
    pub unbonding_period: BlockNumber,
    /// The least bond a validator needs to be selected.
    pub min_bond: Balance,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            committee_size: 3,
            threshold: 2,
            session_length: 2400,
            reshare_deadline: 300,
            max_attempts: 3,
            slash_permill: 100_000,
            barred_sessions: 4,
            unbonding_period: 2400,
            min_bond: 1_000,
        }
    }
}

impl Params {
    /// Checks the parameters are usable.
    pub fn validate(&self) -> Result<(), ChainError> {
        let bad = |why: &str| Err(ChainError::InvalidParams(why.into()));
        if self.threshold == 0 || self.threshold >= self.committee_size {
            return bad("need 1 <= threshold < committee_size (someone must be able to leave)");
        }
        if self.session_length == 0 || self.reshare_deadline == 0 {
            return bad("session_length and reshare_deadline must be at least one block");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if self.slash_permill > 1_000_000 {
            return bad("slash_permill is at most 1,000,000");
        }
        Ok(())
    }
}

/// What a validator declares about its Threshold Signature Server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct TssInfo {
    /// The TSS's own account: it signs protocol messages, confirmations and reports.
    pub account: AccountId,
    /// Where peers reach it (`host:port`).
    pub endpoint: String,
    /// Its x25519 transport (Noise) public key.
    #[serde(with = "crate::encoding::hex_array")]
    pub x25519: [u8; 32],
}

/// A validator's bonded stake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct Ledger {
    /// Stake at risk.
    pub bonded: Balance,
    /// Stake on its way out: `(amount, block from which it can be withdrawn)`, one entry per
    /// block in which the stash unbonded, at most [`Ledger::MAX_UNLOCKING`].
    pub unlocking: Vec<(Balance, BlockNumber)>,
}

impl Ledger {
    /// The most unlocking entries a stash may have: the rules read every validator's ledger
    /// when they pick joiners, so one stash must not grow its ledger without bound.
    pub const MAX_UNLOCKING: usize = 32;
}

/// A committee member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub struct Member {
    /// The validator's stash (what is slashed).
    pub validator: AccountId,
    /// Its TSS account (the protocol party id).
    pub tss: AccountId,
    /// Join order: lower joined earlier. The oldest member leaves first.
    pub join_seq: u64,
}

/// Which kind of reshare is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub enum ReshareKind {
    /// The initial DKG of the first committee.
    Jumpstart,
    /// A session's rotation of the committee.
    Rotation,
}

/// One attempt at a reshare: its public inputs, as every participant and the chain see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct ReshareRecord {
    /// Jumpstart or rotation.
    pub kind: ReshareKind,
    /// The session it belongs to.
    pub session: SessionIndex,
    /// The attempt within the session, from 1. Attempt numbers are never reused within a
    /// session: they bind protocol session ids, proofs and evidence.
    pub attempt: AttemptIndex,
    /// The first attempt of this run of retries (`max_attempts` counts from it).
    pub first_attempt: AttemptIndex,
    /// TSS accounts of the old holders taking part (empty for a jumpstart).
    pub staying: BTreeSet<AccountId>,
    /// TSS accounts of the old holders leaving (not taking part).
    pub leaving: BTreeSet<AccountId>,
    /// The committee being formed, in its join order (staying members first).
    pub new_committee: Vec<Member>,
    /// Threshold of the new sharing.
    pub new_threshold: u32,
    /// The block the attempt started.
    pub started: BlockNumber,
    /// The block at which it is aborted if not every new member has confirmed.
    pub deadline: BlockNumber,
}

impl ReshareRecord {
    /// TSS accounts of the new committee.
    pub fn new_tss(&self) -> BTreeSet<AccountId> {
        self.new_committee.iter().map(|m| m.tss).collect()
    }

    /// TSS accounts of the holders that deal in the resharing: the staying old holders, or for
    /// a jumpstart the whole committee (it reshares its own KeyInit output).
    pub fn dealers(&self) -> BTreeSet<AccountId> {
        match self.kind {
            ReshareKind::Jumpstart => self.new_tss(),
            ReshareKind::Rotation => self.staying.clone(),
        }
    }

    /// TSS accounts of everyone taking part: staying old holders and the new committee.
    pub fn participants(&self) -> BTreeSet<AccountId> {
        let mut all = self.new_tss();
        all.extend(self.staying.iter().copied());
        all
    }
}

/// The protocol sessions of an attempt, as silence reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub enum AttemptProtocol {
    /// The jumpstart's n-of-n key generation (before its reshare to the threshold).
    KeyInit,
    /// keywheel's resharing.
    Reshare,
    /// The new committee's auxiliary data, run beside the resharing.
    AuxGen,
}

/// A round of one of an attempt's protocol sessions: where a reporter found messages missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub struct ReportedRound {
    /// Which session.
    pub protocol: AttemptProtocol,
    /// The round number in it, from 1.
    pub number: u8,
    /// The echo round that follows round `number` (echo broadcasts re-sent for comparison).
    pub echo: bool,
}

impl ReportedRound {
    /// The highest round number a report may name (keywheel's protocols have fewer than this).
    pub const MAX_NUMBER: u8 = 16;
}

/// One party a report names silent, and the round whose messages from it were missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub struct Silence {
    /// The accused's TSS account.
    pub party: AccountId,
    /// Where its messages were missing.
    pub round: ReportedRound,
}

/// What a new member confirms once it holds its new share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub struct Confirmation {
    /// The verifying key its share belongs to (compressed SEC1).
    #[serde(with = "crate::encoding::hex_vec")]
    pub verifying_key: Vec<u8>,
    /// Every new member's public key share (compressed SEC1), by TSS account.
    #[serde(with = "keywheel_primitives::account::hex_map")]
    pub public_shares: BTreeMap<AccountId, Vec<u8>>,
    /// Proof of knowledge of its own secret share, bound to [`crate::proof_context`].
    #[serde(with = "crate::encoding::hex_vec")]
    pub proof: Vec<u8>,
    /// What every dealer of the attempt ([`ReshareRecord::dealers`]) dealt, endorsed: the chain
    /// computes the public shares from it, so no member can confirm another sharing, and two
    /// confirmations that carry different endorsed commitments of one holder prove that holder
    /// equivocated.
    pub dealt: Dealt,
}

/// How a validator was punished — every punishment is recorded as a slash entry, but only
/// `Stake` cuts stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub enum Punishment {
    /// A slash: a proven offence (evidence that verified): stake cut, chilled, barred for
    /// `barred_sessions`.
    Stake,
    /// Not a slash: silence or an unproven fault. No stake is cut; the validator is chilled
    /// and excluded from the rest of the session.
    Excluded,
}

/// Why a validator was punished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub enum SlashReason {
    /// Evidence that verified; its fingerprint.
    Evidence {
        /// Fingerprint the verifier gave the evidence.
        #[serde(with = "crate::encoding::hex_array")]
        fingerprint: [u8; 32],
    },
    /// Named unresponsive by this many distinct participants.
    Unresponsive {
        /// Distinct reporters.
        reporters: u32,
    },
    /// Did not confirm by the deadline while others did, and reported nothing that blocked it.
    NotConfirmed,
    /// Endorsed two different deals in one attempt.
    Equivocation,
}

/// A punishment, as recorded on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(
        codec::Encode,
        codec::Decode,
        codec::DecodeWithMemTracking,
        scale_info::TypeInfo,
        codec::MaxEncodedLen
    )
)]
pub struct SlashRecord {
    /// The validator punished.
    pub validator: AccountId,
    /// Its TSS account (the party named).
    pub tss: AccountId,
    /// Stake or exclusion.
    pub kind: Punishment,
    /// Why.
    pub reason: SlashReason,
    /// The reshare attempt it happened in.
    pub session: SessionIndex,
    /// The reshare attempt it happened in.
    pub attempt: AttemptIndex,
    /// Stake cut (burned).
    pub amount: Balance,
    /// It may be selected again from this session on.
    pub barred_until: SessionIndex,
}
