//! The block author: its sr25519 key signs a VRF over each block's input, and the VRF output
//! is the block's randomness.

use keywheel_chain::{AccountId, BlockNumber};
use keywheel_rpc::block::{vrf_transcript, RANDOMNESS_CONTEXT};
use schnorrkel::{ExpansionMode, MiniSecretKey};
use zeroize::Zeroizing;

/// The randomness of one block with what proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRandomness {
    /// The randomness the chain rules use.
    pub randomness: [u8; 32],
    /// The VRF pre-output.
    pub vrf_output: [u8; 32],
    /// The VRF proof.
    pub vrf_proof: Vec<u8>,
}

/// The author's VRF key (the same sr25519 key as its account). Zeroized on drop; not printed.
pub struct BlockAuthor {
    keypair: schnorrkel::Keypair,
    _seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for BlockAuthor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockAuthor")
            .field("account", &self.account())
            .finish_non_exhaustive()
    }
}

impl BlockAuthor {
    /// The author key of a 32-byte seed (expanded as Substrate and [`keywheel_mpc::PartySigner`] do).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = MiniSecretKey::from_bytes(seed).expect("any 32 bytes are a mini secret key");
        Self {
            keypair: mini.expand_to_keypair(ExpansionMode::Ed25519),
            _seed: Zeroizing::new(*seed),
        }
    }

    /// The author's account.
    pub fn account(&self) -> AccountId {
        AccountId(self.keypair.public.to_bytes())
    }

    /// The randomness of block `number`, chained over its parent's.
    pub fn randomness(
        &self,
        genesis_hash: &[u8; 32],
        number: BlockNumber,
        parent_randomness: &[u8; 32],
    ) -> BlockRandomness {
        let transcript = vrf_transcript(genesis_hash, number, parent_randomness);
        let (inout, proof, _) = self.keypair.vrf_sign(transcript);
        BlockRandomness {
            randomness: inout.make_bytes::<[u8; 32]>(RANDOMNESS_CONTEXT),
            vrf_output: inout.to_preout().to_bytes(),
            vrf_proof: proof.to_bytes().to_vec(),
        }
    }
}
