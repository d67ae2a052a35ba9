//! What the chain announces; TSSs and users follow these.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::types::{AccountId, AttemptIndex, Balance, BlockNumber, Punishment, ReshareKind, SessionIndex, Silence};

/// Why an attempt was aborted.
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
pub enum AbortReason {
    /// A verified offence report.
    Offence,
    /// Enough participants named parties unresponsive.
    Unresponsive,
    /// The deadline passed without every new member confirming.
    Deadline,
    /// Every new member confirmed or reported, and the reports name nobody the rules punish:
    /// retried as it is, nobody punished.
    Unsettled,
    /// A staying holder endorsed two different deals (two confirmations carry both): it
    /// equivocated, which its own signatures prove.
    Equivocation,
}

/// An event emitted by a call or a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "scale",
    derive(codec::Encode, codec::Decode, codec::DecodeWithMemTracking, scale_info::TypeInfo)
)]
pub enum Event {
    /// Tokens moved.
    Transferred {
        /// From.
        from: AccountId,
        /// To.
        to: AccountId,
        /// How much.
        amount: Balance,
    },
    /// Stake bonded.
    Bonded {
        /// The stash.
        stash: AccountId,
        /// How much.
        amount: Balance,
    },
    /// A validator declared (or updated) its TSS.
    Validating {
        /// The stash.
        stash: AccountId,
        /// Its TSS account.
        tss: AccountId,
    },
    /// A validator stopped validating.
    Chilled {
        /// The stash.
        stash: AccountId,
    },
    /// Stake started unbonding.
    Unbonding {
        /// The stash.
        stash: AccountId,
        /// How much.
        amount: Balance,
        /// When it can be withdrawn.
        until: BlockNumber,
    },
    /// Unbonded stake returned to the free balance.
    Withdrawn {
        /// The stash.
        stash: AccountId,
        /// How much.
        amount: Balance,
    },
    /// Root changed the parameters.
    ParamsChanged,
    /// A new session began.
    NewSession {
        /// Its number.
        session: SessionIndex,
    },
    /// A reshare attempt began: the participants run the protocol now.
    ReshareStarted {
        /// Jumpstart or rotation.
        kind: ReshareKind,
        /// Session.
        session: SessionIndex,
        /// Attempt.
        attempt: AttemptIndex,
        /// Old holders taking part (TSS accounts).
        staying: BTreeSet<AccountId>,
        /// The committee being formed (TSS accounts).
        new_committee: BTreeSet<AccountId>,
        /// Its threshold.
        threshold: u32,
        /// Abort block.
        deadline: BlockNumber,
    },
    /// A new member confirmed.
    Confirmed {
        /// Session.
        session: SessionIndex,
        /// Attempt.
        attempt: AttemptIndex,
        /// The member (TSS account).
        member: AccountId,
    },
    /// A participant named others unresponsive.
    UnresponsiveReported {
        /// Session.
        session: SessionIndex,
        /// Attempt.
        attempt: AttemptIndex,
        /// The reporter.
        reporter: AccountId,
        /// Whom it named, and where their messages were missing.
        missing: Vec<Silence>,
    },
    /// A validator was punished.
    Slashed {
        /// The stash.
        validator: AccountId,
        /// Its TSS account.
        tss: AccountId,
        /// Stake or exclusion.
        kind: Punishment,
        /// Stake cut.
        amount: Balance,
        /// Selectable again from this session on.
        barred_until: SessionIndex,
    },
    /// An attempt ended without a rotation; the current committee keeps signing.
    ReshareAborted {
        /// Session.
        session: SessionIndex,
        /// Attempt.
        attempt: AttemptIndex,
        /// Why.
        reason: AbortReason,
        /// Who was blamed (TSS accounts).
        offenders: Vec<AccountId>,
    },
    /// No further attempt this session (attempts used up or too few validators).
    ReshareAbandoned {
        /// Session.
        session: SessionIndex,
        /// Attempts made.
        attempts: AttemptIndex,
    },
    /// Every new member confirmed the same key and shares: all rotate to the new shares now.
    RotateKey {
        /// Session.
        session: SessionIndex,
        /// Attempt.
        attempt: AttemptIndex,
    },
    /// The parent key exists (first rotation).
    ParentKeyCreated {
        /// Compressed SEC1.
        #[serde(with = "crate::encoding::hex_vec")]
        verifying_key: Vec<u8>,
    },
    /// An account registered for signing.
    Registered {
        /// The account.
        account: AccountId,
        /// Its BIP32 path (non-hardened indices).
        path: Vec<u32>,
    },
}
