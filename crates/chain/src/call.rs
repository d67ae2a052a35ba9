//! Who sends a call, and every call the chain accepts.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::types::{AccountId, AttemptIndex, Balance, Confirmation, Params, SessionIndex, Silence, TssInfo};

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
