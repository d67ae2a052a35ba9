//! Evidence of provable faults: a versioned envelope around manul's `Evidence`, and functions a
//! third party (the chain) uses to verify it from public inputs alone.

use crate::prelude::*;
use alloc::collections::BTreeSet;
use core::fmt;

use manul::protocol::{Protocol, ProtocolError};
use manul::session::{Evidence, SessionId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use synedrion::{AuxGenAssociatedData, AuxGenProtocol, KeyInitAssociatedData, KeyInitProtocol, SchemeParams};

use crate::error::MpcError;
use crate::identity::{AccountId, ProtocolSessionParams};
use crate::kind::ProtocolKind;
use crate::reshare::{ReshareAssociatedData, ReshareInputs, ReshareProtocol};

/// Version of the evidence envelope.
pub const EVIDENCE_VERSION: u16 = 1;

/// Identifies one proven offence, whatever its encoding: SHA-256 over the protocol kind, the
/// offender and the canonical re-encoding of the signed part of the evidence (manul's free-text
/// description excluded, since it is not signed). The chain uses it to punish an offence once.
pub type Fingerprint = [u8; 32];

/// The public shares the endorsed deals of the reshare in the attempt `attempt_context` names
/// give its new committee ([`crate::reshare::shares_from_deals`] under that attempt's session
/// id): what the chain checks a confirmation against, for the node and the chain's tests alike.
pub fn shares_from_attempt_deals<P: SchemeParams>(
    attempt_context: &[u8],
    new_committee: &BTreeSet<AccountId>,
    threshold: u32,
    dealt: &keywheel_primitives::Dealt,
) -> Result<alloc::collections::BTreeMap<AccountId, Vec<u8>>, String> {
    let sid = crate::kind::protocol_session_id(ProtocolKind::Reshare, attempt_context);
    crate::reshare::shares_from_deals::<P>(sid.as_ref(), new_committee, threshold, dealt).map_err(|e| e.to_string())
}

/// Serialized, self-contained evidence that `offender` misbehaved in one session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceBlob {
    /// Envelope version.
    pub version: u16,
    /// The protocol the session ran.
    pub kind: ProtocolKind,
    /// The session the evidence comes from.
    pub protocol_session_id: Vec<u8>,
    /// The accused party.
    pub offender: AccountId,
    /// A human-readable description of the fault. Informational only: it is not signed, so
    /// nothing may be decided on it — decide on [`Self::verify_reshare`] and friends.
    pub description: String,
    /// manul `Evidence`, postcard-encoded: the offender's own signed messages.
    pub evidence: Vec<u8>,
}

impl fmt::Debug for EvidenceBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceBlob")
            .field("kind", &self.kind)
            .field("offender", &self.offender)
            .field("description", &self.description)
            .field("bytes", &self.evidence.len())
            .finish()
    }
}

impl EvidenceBlob {
    #[cfg(feature = "std")]
    pub(crate) fn new<P: Protocol<AccountId>>(
        kind: ProtocolKind,
        protocol_session_id: &SessionId,
        offender: &AccountId,
        evidence: &Evidence<P, ProtocolSessionParams>,
    ) -> Result<Self, MpcError> {
        Ok(Self {
            version: EVIDENCE_VERSION,
            kind,
            protocol_session_id: protocol_session_id.as_ref().to_vec(),
            offender: *offender,
            description: evidence.description().to_string(),
            evidence: postcard::to_allocvec(evidence).map_err(MpcError::encode)?,
        })
    }

    /// The envelope's binary form (what an offence report carries).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing plain data into a Vec cannot fail")
    }

    /// Parses an envelope from untrusted bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        keywheel_primitives::envelope::decode_versioned(bytes, EVIDENCE_VERSION, usize::MAX)
            .map_err(|e| MpcError::Decode(format!("evidence: {e}")))
    }

    fn verify_with<P: Protocol<AccountId>>(
        &self,
        kind: ProtocolKind,
        protocol_session_id: &SessionId,
        associated_data: &<P::ProtocolError as ProtocolError<AccountId>>::AssociatedData,
    ) -> Result<Fingerprint, MpcError> {
        let invalid = |reason: String| MpcError::InvalidEvidence {
            offender: self.offender,
            reason,
        };
        if self.kind != kind {
            return Err(invalid(format!("it is {:?} evidence, not {kind:?}", self.kind)));
        }
        if self.protocol_session_id != protocol_session_id.as_ref() {
            return Err(invalid("it names another session".into()));
        }
        let evidence: Evidence<P, ProtocolSessionParams> =
            postcard::from_bytes(&self.evidence).map_err(|e| invalid(format!("malformed: {e}")))?;
        if evidence.guilty_party() != &self.offender {
            return Err(invalid(format!(
                "the evidence is against {:?}, not the accused",
                evidence.guilty_party()
            )));
        }
        evidence
            .verify(associated_data)
            .map_err(|e| invalid(format!("{e:?}")))?;
        // manul's `Evidence` serializes as (guilty party, description, signed evidence); the
        // re-encoding is canonical even if the submitted bytes were not.
        let canonical = postcard::to_allocvec(&evidence).map_err(MpcError::encode)?;
        let (_, signed): ((AccountId, String), &[u8]) =
            postcard::take_from_bytes(&canonical).map_err(|e| invalid(format!("malformed: {e}")))?;
        let mut hasher = Sha256::new();
        hasher.update(keywheel_primitives::domain::EVIDENCE_FINGERPRINT);
        hasher.update(kind.name().as_bytes());
        hasher.update(self.offender.as_bytes());
        hasher.update(signed);
        Ok(hasher.finalize().into())
    }

    /// Verifies reshare evidence against the reshare's public inputs and session.
    pub fn verify_reshare<P: SchemeParams>(
        &self,
        inputs: &ReshareInputs<P>,
        protocol_session_id: &SessionId,
    ) -> Result<Fingerprint, MpcError> {
        let associated = ReshareAssociatedData {
            inputs: inputs.clone(),
            protocol_session_id: protocol_session_id.as_ref().to_vec(),
        };
        self.verify_with::<ReshareProtocol<P>>(ProtocolKind::Reshare, protocol_session_id, &associated)
    }

    /// Verifies KeyInit evidence given the committee that ran it.
    pub fn verify_key_init<P: SchemeParams>(
        &self,
        committee: &BTreeSet<AccountId>,
        protocol_session_id: &SessionId,
    ) -> Result<Fingerprint, MpcError> {
        let associated = KeyInitAssociatedData { ids: committee.clone() };
        self.verify_with::<KeyInitProtocol<P, AccountId>>(ProtocolKind::KeyInit, protocol_session_id, &associated)
    }

    /// Verifies AuxGen evidence given the committee that ran it.
    pub fn verify_aux_gen<P: SchemeParams>(
        &self,
        committee: &BTreeSet<AccountId>,
        protocol_session_id: &SessionId,
    ) -> Result<Fingerprint, MpcError> {
        let associated = AuxGenAssociatedData { ids: committee.clone() };
        self.verify_with::<AuxGenProtocol<P, AccountId>>(ProtocolKind::AuxGen, protocol_session_id, &associated)
    }
}
