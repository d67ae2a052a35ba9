//! The typed errors of every chain call. A call that fails changes nothing.

use alloc::string::String;
use core::fmt;

use keywheel_primitives::{AccountId, AttemptIndex, Balance, SessionIndex};

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// The call needs the root origin.
    RootRequired,
    /// The call needs a signed origin.
    SignedRequired,
    /// Not enough free balance.
    InsufficientBalance {
        /// Free balance.
        free: Balance,
        /// Amount asked for.
        needed: Balance,
    },
    /// Not enough bonded stake.
    InsufficientBond {
        /// Bonded stake.
        bonded: Balance,
        /// Amount asked for.
        needed: Balance,
    },
    /// Amounts must be positive.
    ZeroAmount,
    /// A balance would overflow.
    Overflow,
    /// No unbonded stake has matured yet.
    NothingToWithdraw,
    /// The account is not a validator.
    NotValidator(AccountId),
    /// Members of the current committee or of the committee being formed cannot chill,
    /// unbond or change their TSS account until a rotation removes them.
    CommitteeMember(AccountId),
    /// Unbonding would leave a validating stash below the minimum bond.
    BelowMinimumBond {
        /// What would remain bonded.
        remaining: Balance,
        /// The minimum.
        min_bond: Balance,
    },
    /// The TSS account is already declared by another validator.
    TssAccountTaken(AccountId),
    /// The TSS account did not sign this declaration (for this network, stash, key and
    /// endpoint): it may be someone else's.
    UnsignedTssDeclaration(AccountId),
    /// The transport (x25519) key is declared by another validating validator: peers would
    /// take one for the other.
    TransportKeyTaken {
        /// The validator (stash) that declared it.
        by: AccountId,
    },
    /// The parameters are unusable.
    InvalidParams(String),
    /// Committee size and threshold are fixed once the parent key exists.
    CommitteeShapeFixed,
    /// Jumpstart already happened or is under way.
    AlreadyJumpstarted,
    /// Fewer eligible validators than needed.
    NotEnoughValidators {
        /// Eligible validators.
        eligible: u32,
        /// Needed.
        needed: u32,
    },
    /// No reshare attempt with this session and attempt number is in flight.
    NoSuchAttempt {
        /// The session named.
        session: SessionIndex,
        /// The attempt named.
        attempt: AttemptIndex,
    },
    /// The caller is not in the committee being formed.
    NotInNewCommittee(AccountId),
    /// The caller or accused does not take part in this attempt.
    NotParticipant(AccountId),
    /// The member has already confirmed this attempt.
    AlreadyConfirmed(AccountId),
    /// A confirmation that does not match the parent key or the committee; names the member.
    ConfirmationMismatch {
        /// The member whose confirmation mismatches.
        member: AccountId,
        /// What differs.
        reason: String,
    },
    /// The confirmation's shares or proof do not verify.
    InvalidConfirmation {
        /// The member.
        member: AccountId,
        /// What the verifier said.
        reason: String,
    },
    /// The evidence did not verify; nothing happens to the accused.
    EvidenceRejected(String),
    /// This evidence was already used.
    DuplicateEvidence,
    /// A party cannot accuse itself.
    SelfAccusation,
    /// A report must name at least one party.
    EmptyReport,
    /// A silence report names a round no protocol of the attempt has, or more entries than
    /// the attempt's protocols can have missing.
    InvalidReport(String),
    /// The account is already registered.
    AlreadyRegistered(AccountId),
    /// The stash already has this many unlocking entries: withdraw matured ones first.
    TooManyUnlockingChunks {
        /// The most there may be.
        max: u32,
    },
    /// The balances do not hold the stake the ledger records (a runtime's holds changed behind
    /// the rules' back): nothing moves.
    StakeUnavailable,
    /// Blocks must be applied in increasing order.
    BlockOutOfOrder {
        /// The current block.
        current: u64,
        /// The block given.
        given: u64,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RootRequired => write!(f, "this call needs the root origin"),
            Self::SignedRequired => write!(f, "this call must be signed by an account"),
            Self::InsufficientBalance { free, needed } => {
                write!(f, "insufficient free balance: {free} available, {needed} needed")
            }
            Self::InsufficientBond { bonded, needed } => {
                write!(f, "insufficient bond: {bonded} bonded, {needed} asked for")
            }
            Self::ZeroAmount => write!(f, "the amount must be positive"),
            Self::Overflow => write!(f, "the balance would overflow"),
            Self::NothingToWithdraw => write!(f, "no unbonded stake has finished its unbonding period yet"),
            Self::NotValidator(a) => write!(f, "{a:?} is not a validator"),
            Self::CommitteeMember(a) => write!(
                f,
                "{a:?} is in the current or forming committee: it cannot chill, unbond or change its TSS \
                 account until a rotation removes it"
            ),
            Self::BelowMinimumBond { remaining, min_bond } => write!(
                f,
                "a validator must keep at least {min_bond} bonded ({remaining} would remain): chill first"
            ),
            Self::TssAccountTaken(a) => write!(f, "TSS account {a:?} is declared by another validator"),
            Self::UnsignedTssDeclaration(a) => write!(
                f,
                "TSS account {a:?} did not sign this declaration (network, stash, transport key, endpoint)"
            ),
            Self::TransportKeyTaken { by } => {
                write!(
                    f,
                    "the transport key is declared by validator {by:?}; each TSS needs its own"
                )
            }
            Self::InvalidParams(why) => write!(f, "invalid parameters: {why}"),
            Self::CommitteeShapeFixed => {
                write!(f, "committee size and threshold cannot change once jumpstart has begun")
            }
            Self::AlreadyJumpstarted => write!(f, "jumpstart has already happened or is under way"),
            Self::NotEnoughValidators { eligible, needed } => {
                write!(
                    f,
                    "not enough eligible validators: {eligible} eligible, {needed} needed"
                )
            }
            Self::NoSuchAttempt { session, attempt } => {
                write!(f, "no reshare attempt {attempt} of session {session} is in flight")
            }
            Self::NotInNewCommittee(a) => write!(f, "{a:?} is not in the committee being formed"),
            Self::NotParticipant(a) => write!(f, "{a:?} does not take part in this attempt"),
            Self::AlreadyConfirmed(a) => write!(f, "{a:?} has already confirmed this attempt"),
            Self::ConfirmationMismatch { member, reason } => {
                write!(f, "confirmation of {member:?} does not match: {reason}")
            }
            Self::InvalidConfirmation { member, reason } => {
                write!(f, "confirmation of {member:?} does not verify: {reason}")
            }
            Self::EvidenceRejected(why) => write!(f, "the evidence does not verify: {why}"),
            Self::DuplicateEvidence => write!(f, "this evidence has already been used"),
            Self::SelfAccusation => write!(f, "a party cannot accuse itself"),
            Self::EmptyReport => write!(f, "a report must name at least one party"),
            Self::InvalidReport(why) => write!(f, "invalid silence report: {why}"),
            Self::AlreadyRegistered(a) => write!(f, "{a:?} is already registered"),
            Self::TooManyUnlockingChunks { max } => write!(
                f,
                "the stash already has {max} unbonding entries: withdraw the matured ones, or unbond more at once"
            ),
            Self::StakeUnavailable => write!(f, "the balances do not hold the stake the ledger records"),
            Self::BlockOutOfOrder { current, given } => {
                write!(f, "block {given} does not follow the current block {current}")
            }
        }
    }
}

impl core::error::Error for ChainError {}
