//! The cryptography the chain relies on but does not do itself. The context bytes that bind
//! protocol sessions, proofs and evidence to one attempt are `keywheel_primitives::domain`'s.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::types::{AccountId, Dealt, ReshareRecord, Sharing};

/// Verification the driver provides (the dev node implements it with `keywheel-mpc`).
pub trait Crypto {
    /// Checks that `public_shares` (share ids `1..=n` in account order) lie on one polynomial of
    /// degree `threshold - 1` whose constant term is `verifying_key`.
    fn verify_sharing(
        &self,
        verifying_key: &[u8],
        threshold: u32,
        public_shares: &BTreeMap<AccountId, Vec<u8>>,
    ) -> Result<(), String>;

    /// Checks a proof of knowledge of the secret behind `public_share` under `context`.
    fn verify_share_proof(&self, public_share: &[u8], context: &[u8], proof: &[u8]) -> Result<(), String>;

    /// Checks an sr25519 signature by `account` over `message` under `context` (a TSS account's
    /// signature on its declaration).
    fn verify_account_signature(&self, account: &AccountId, context: &[u8], message: &[u8], signature: &[u8]) -> bool;

    /// The public key shares of `new_committee` (share ids `1..=n` in account order) that the
    /// endorsed commitments `dealt` give: every dealer's commitments evaluated at each member's
    /// id, summed. Fails when an endorsement is not its dealer's signature over its commitments
    /// in the attempt of `attempt_context`, a commitment is not a curve point, or a dealer
    /// committed to a polynomial of another degree than `threshold - 1`.
    fn shares_from_deals(
        &self,
        attempt_context: &[u8],
        new_committee: &BTreeSet<AccountId>,
        threshold: u32,
        dealt: &Dealt,
    ) -> Result<BTreeMap<AccountId, Vec<u8>>, String>;

    /// Verifies evidence that `offender` misbehaved in the attempt described by `offence`;
    /// returns a fingerprint that identifies the evidence (so it is used only once).
    fn verify_offence(
        &self,
        offence: &OffenceContext<'_>,
        offender: &AccountId,
        evidence: &[u8],
    ) -> Result<[u8; 32], String>;

    /// The most that [`Crypto::verify_offence`] can cost on `evidence`, for a runtime's
    /// weights. The default, [`EvidenceCost::Paillier`], is never too little.
    fn evidence_cost(&self, evidence: &[u8]) -> EvidenceCost {
        let _ = evidence;
        EvidenceCost::Paillier
    }
}

/// How dear an offence report's evidence is to check. A runtime charges the two differently:
/// an AuxGen fault is proven by Paillier-group proofs, about a hundred times dearer to check
/// than the curve arithmetic of every other fault (pallet-keywheel's weights, BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceCost {
    /// Curve arithmetic at most (resharing and KeyInit evidence, and anything refused before
    /// its check).
    Curve,
    /// Paillier-group proofs (AuxGen evidence).
    Paillier,
}

/// Everything public about the attempt an offence report is about.
#[derive(Debug, Clone)]
pub struct OffenceContext<'a> {
    /// The attempt's record (staying holders, new committee, threshold).
    pub reshare: &'a ReshareRecord,
    /// The sharing being replaced (`None` for a jumpstart).
    pub old_sharing: Option<&'a Sharing>,
    /// The attempt context the protocol sessions' ids derive from.
    pub attempt_context: Vec<u8>,
}
