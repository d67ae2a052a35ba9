//! Blocks: what each records, how it is hashed, and how anyone checks its randomness.

use keywheel_chain::encoding::{hex_array, hex_vec};
use keywheel_chain::{AccountId, BlockNumber, Event};
use merlin::Transcript;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::Bytes;

/// Context under which a block's randomness is drawn from the author's VRF output.
pub const RANDOMNESS_CONTEXT: &[u8] = keywheel_primitives::domain::BLOCK_RANDOMNESS;

/// A block's header: everything its hash commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Height (genesis is 0).
    pub number: BlockNumber,
    /// Hash of the previous block (zero for genesis).
    #[serde(with = "hex_array")]
    pub parent_hash: [u8; 32],
    /// When the author sealed it, milliseconds since the Unix epoch (informational).
    pub timestamp_ms: u64,
    /// The author, whose VRF key made the randomness.
    pub author: AccountId,
    /// The randomness the chain rules used for this block.
    #[serde(with = "hex_array")]
    pub randomness: [u8; 32],
    /// The author's VRF pre-output over (genesis, number, parent randomness).
    #[serde(with = "hex_array")]
    pub vrf_output: [u8; 32],
    /// The VRF proof (64 bytes; empty for genesis).
    #[serde(with = "hex_vec")]
    pub vrf_proof: Vec<u8>,
    /// SHA-256 of the extrinsics.
    #[serde(with = "hex_array")]
    pub extrinsics_root: [u8; 32],
    /// SHA-256 of the events.
    #[serde(with = "hex_array")]
    pub events_root: [u8; 32],
    /// The node state digest after this block (chain state and nonces).
    #[serde(with = "hex_array")]
    pub state_digest: [u8; 32],
}

impl Header {
    /// The block hash: SHA-256 of the header's binary form.
    pub fn hash(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self).expect("serializing plain data into a Vec cannot fail");
        Sha256::digest(bytes).into()
    }

    /// Checks that this header's randomness is the author's VRF output chained over
    /// `parent_randomness`, and that `author` made it.
    pub fn verify_randomness(
        &self,
        genesis_hash: &[u8; 32],
        author: &AccountId,
        parent_randomness: &[u8; 32],
    ) -> Result<(), RandomnessError> {
        if self.author != *author {
            return Err(RandomnessError::WrongAuthor);
        }
        let public = schnorrkel::PublicKey::from_bytes(&author.0).map_err(|_| RandomnessError::BadKey)?;
        let output =
            schnorrkel::vrf::VRFPreOut::from_bytes(&self.vrf_output).map_err(|_| RandomnessError::Malformed)?;
        let proof = schnorrkel::vrf::VRFProof::from_bytes(&self.vrf_proof).map_err(|_| RandomnessError::Malformed)?;
        let transcript = vrf_transcript(genesis_hash, self.number, parent_randomness);
        let (inout, _) = public
            .vrf_verify(transcript, &output, &proof)
            .map_err(|_| RandomnessError::BadProof)?;
        if inout.make_bytes::<[u8; 32]>(RANDOMNESS_CONTEXT) != self.randomness {
            return Err(RandomnessError::WrongRandomness);
        }
        Ok(())
    }
}

/// The VRF input of block `number`: the network's genesis and the previous block's randomness,
/// so each block's randomness chains over the last and the author cannot choose it.
pub fn vrf_transcript(genesis_hash: &[u8; 32], number: BlockNumber, parent_randomness: &[u8; 32]) -> Transcript {
    let mut t = Transcript::new(b"keywheel-block-vrf");
    t.append_message(b"genesis", genesis_hash);
    t.append_u64(b"number", number);
    t.append_message(b"parent-randomness", parent_randomness);
    t
}

/// Why a block's randomness does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RandomnessError {
    /// The header names another author.
    #[error("the block names another author than the network's")]
    WrongAuthor,
    /// The author key is not an sr25519 public key.
    #[error("the author key is not a valid sr25519 public key")]
    BadKey,
    /// VRF output or proof bytes are malformed.
    #[error("the VRF output or proof is malformed")]
    Malformed,
    /// The VRF proof does not verify for this author and input.
    #[error("the VRF proof does not verify against the author key and the parent randomness")]
    BadProof,
    /// The proof verifies but the randomness is not the one it yields.
    #[error("the block's randomness is not the VRF output's")]
    WrongRandomness,
}

/// When an event happened within its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The block's own processing (session boundaries, deadlines).
    Initialization,
    /// The extrinsic at this index.
    Extrinsic(u32),
}

/// One event with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The block.
    pub block: BlockNumber,
    /// Where in it.
    pub phase: Phase,
    /// What happened.
    pub event: Event,
}

/// A sealed block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Encoded extrinsics ([`crate::Extrinsic::encode`]), in order.
    pub extrinsics: Vec<Bytes>,
    /// Every event, in order.
    pub events: Vec<EventRecord>,
}

impl Block {
    /// SHA-256 of a block's extrinsics.
    pub fn extrinsics_root(extrinsics: &[Bytes]) -> [u8; 32] {
        let bytes = postcard::to_allocvec(extrinsics).expect("serializing plain data into a Vec cannot fail");
        Sha256::digest(bytes).into()
    }

    /// SHA-256 of a block's events.
    pub fn events_root(events: &[EventRecord]) -> [u8; 32] {
        let bytes = postcard::to_allocvec(events).expect("serializing plain data into a Vec cannot fail");
        Sha256::digest(bytes).into()
    }

    /// Whether the header commits to this body.
    pub fn body_matches_header(&self) -> bool {
        self.header.extrinsics_root == Self::extrinsics_root(&self.extrinsics)
            && self.header.events_root == Self::events_root(&self.events)
    }

    /// The block hash.
    pub fn hash(&self) -> [u8; 32] {
        self.header.hash()
    }
}
