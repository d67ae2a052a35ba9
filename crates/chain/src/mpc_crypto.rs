//! The chain rules' [`Crypto`] done for real with `keywheel-mpc` at production parameters:
//! sharings, share proofs and offence evidence are verified, so no validator is slashed on an
//! accusation that does not prove itself. `no_std`: the dev node and a runtime (through
//! `pallet-keywheel`) use this same code.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::{AccountId, Crypto, Dealt, EvidenceCost, OffenceContext, ReshareKind};
use keywheel_mpc::evidence::EvidenceBlob;
use keywheel_mpc::kind::{protocol_session_id, ProtocolKind};
use keywheel_mpc::proof::ShareProof;
use keywheel_mpc::reshare::ReshareInputs;
use keywheel_mpc::{ProductionParams, PublicSharing};

type P = ProductionParams;

/// [`Crypto`] over `keywheel-mpc` with [`ProductionParams`] (secp256k1).
#[derive(Debug, Clone, Copy, Default)]
pub struct MpcCrypto;

impl Crypto for MpcCrypto {
    fn verify_sharing(
        &self,
        verifying_key: &[u8],
        threshold: u32,
        public_shares: &BTreeMap<AccountId, Vec<u8>>,
    ) -> Result<(), String> {
        PublicSharing::<P>::check_encoded(verifying_key, threshold, public_shares).map_err(|e| e.to_string())
    }

    fn verify_share_proof(&self, public_share: &[u8], context: &[u8], proof: &[u8]) -> Result<(), String> {
        ShareProof::verify_encoded::<P>(proof, public_share, context).map_err(|e| e.to_string())
    }

    fn verify_account_signature(&self, account: &AccountId, context: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        account.verify(context, message, &keywheel_primitives::PartySignature(bytes))
    }

    fn shares_from_deals(
        &self,
        attempt_context: &[u8],
        new_committee: &BTreeSet<AccountId>,
        threshold: u32,
        dealt: &Dealt,
    ) -> Result<BTreeMap<AccountId, Vec<u8>>, String> {
        keywheel_mpc::evidence::shares_from_attempt_deals::<P>(attempt_context, new_committee, threshold, dealt)
    }

    fn verify_offence(
        &self,
        offence: &OffenceContext<'_>,
        offender: &AccountId,
        evidence: &[u8],
    ) -> Result<[u8; 32], String> {
        let blob = EvidenceBlob::from_bytes(evidence).map_err(|e| e.to_string())?;
        if blob.offender != *offender {
            return Err("the evidence accuses another party than the one reported".into());
        }
        let record = offence.reshare;
        let new_committee = record.new_tss();
        let sid = protocol_session_id(blob.kind, &offence.attempt_context);
        let verified = match (blob.kind, record.kind) {
            (ProtocolKind::AuxGen, _) => blob.verify_aux_gen::<P>(&new_committee, &sid),
            (ProtocolKind::KeyInit, ReshareKind::Jumpstart) => blob.verify_key_init::<P>(&new_committee, &sid),
            (ProtocolKind::Reshare, ReshareKind::Rotation) => {
                let old = offence
                    .old_sharing
                    .ok_or("a rotation without a sharing to replace cannot be judged")?;
                let old =
                    PublicSharing::<P>::from_encoded(old.threshold, &old.public_shares).map_err(|e| e.to_string())?;
                let inputs = ReshareInputs {
                    old,
                    staying: record.staying.clone(),
                    new_committee,
                    new_threshold: record.new_threshold,
                };
                blob.verify_reshare::<P>(&inputs, &sid)
            }
            (ProtocolKind::Reshare, ReshareKind::Jumpstart) => {
                return Err(
                    "resharing evidence from a jumpstart cannot be judged on chain: its input sharing \
                            (KeyInit's output) is not recorded; the attempt ends at its deadline instead"
                        .into(),
                )
            }
            (ProtocolKind::KeyInit, ReshareKind::Rotation) => {
                return Err("no KeyInit session runs in a rotation".into())
            }
            (ProtocolKind::Signing | ProtocolKind::DklsSigning, _) => {
                return Err("signing evidence is not judged by the chain: signing is not part of a reshare".into())
            }
            (ProtocolKind::PairSetup, _) => {
                return Err(
                    "DKLs23 pair setup faults are not provable (the checks use the accuser's private \
                     OT state): the chain does not judge them"
                        .into(),
                )
            }
        };
        verified.map_err(|e| e.to_string())
    }

    /// Only AuxGen evidence checks Paillier proofs. The envelope is parsed as
    /// [`Crypto::verify_offence`] parses it, so the two agree on its kind.
    fn evidence_cost(&self, evidence: &[u8]) -> EvidenceCost {
        match EvidenceBlob::from_bytes(evidence) {
            Ok(blob) if blob.kind == ProtocolKind::AuxGen => EvidenceCost::Paillier,
            _ => EvidenceCost::Curve,
        }
    }
}
