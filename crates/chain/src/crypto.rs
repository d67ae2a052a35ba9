//! The cryptography the chain relies on but does not do itself, and the context bytes that bind
//! protocol sessions, proofs and evidence to one attempt.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::types::{AccountId, AttemptIndex, ReshareRecord, SessionIndex, Sharing};

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

    /// Verifies evidence that `offender` misbehaved in the attempt described by `offence`;
    /// returns a fingerprint that identifies the evidence (so it is used only once).
    fn verify_offence(
        &self,
        offence: &OffenceContext<'_>,
        offender: &AccountId,
        evidence: &[u8],
    ) -> Result<[u8; 32], String>;
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

/// The bytes every participant and the chain derive protocol session ids from for one attempt
/// (`keywheel-mpc`'s `Attempt::context`).
pub fn attempt_context(network: &[u8; 32], session: SessionIndex, attempt: AttemptIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"keywheel/attempt/");
    out.extend_from_slice(network);
    out.extend_from_slice(&session.to_be_bytes());
    out.extend_from_slice(&attempt.to_be_bytes());
    out
}

/// The context a new member's share proof is bound to: its attempt and its own account.
pub fn proof_context(network: &[u8; 32], session: SessionIndex, attempt: AttemptIndex, member: &AccountId) -> Vec<u8> {
    let mut out = attempt_context(network, session, attempt);
    out.extend_from_slice(b"/confirm/");
    out.extend_from_slice(&member.0);
    out
}
