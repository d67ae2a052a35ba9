//! Signed extrinsics: a chain call, who sends it, their nonce and an sr25519 signature bound
//! to one network.

use keywheel_chain::{AccountId, Call};
use keywheel_mpc::{PartySignature, PartySigner};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the extrinsic format (its first byte).
pub const EXTRINSIC_VERSION: u8 = 1;

/// Largest encoded extrinsic the node accepts (offence evidence is the largest payload).
pub const MAX_EXTRINSIC_SIZE: usize = 1 << 20;

/// The sr25519 signing context of extrinsics.
const SIGNING_CONTEXT: &[u8] = keywheel_primitives::domain::EXTRINSIC;

/// A call and the origin it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuntimeCall {
    /// The call with the signer as origin.
    Signed(Call),
    /// The call with the root origin; only the genesis root key may send it.
    Sudo(Call),
}

/// A signed call, as submitted to the node and stored in blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extrinsic {
    /// [`EXTRINSIC_VERSION`].
    pub version: u8,
    /// The network it is meant for (a signature for one network is void on any other).
    pub genesis_hash: [u8; 32],
    /// The sending account (sr25519 public key).
    pub signer: AccountId,
    /// The signer's nonce: its first extrinsic carries 0, each next one one more.
    pub nonce: u64,
    /// What to do.
    pub call: RuntimeCall,
    /// sr25519 signature over everything above.
    pub signature: PartySignature,
}

/// What the signature covers.
#[derive(Serialize)]
struct SigningPayload<'a> {
    version: u8,
    genesis_hash: &'a [u8; 32],
    signer: &'a AccountId,
    nonce: u64,
    call: &'a RuntimeCall,
}

/// Why bytes are not an acceptable extrinsic (before any state is consulted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtrinsicError {
    /// Too large.
    #[error("the extrinsic is {size} bytes; the limit is {max}")]
    Oversized {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Another format version.
    #[error("extrinsic format version {0} is not supported (this node speaks {EXTRINSIC_VERSION})")]
    Version(u8),
    /// Does not decode (unknown call, truncated, trailing bytes).
    #[error("the extrinsic does not decode ({0}); build it with keywheel_rpc::Extrinsic::sign")]
    Malformed(String),
    /// The signature does not verify.
    #[error("the signature does not verify for signer {0}")]
    BadSignature(AccountId),
}

impl Extrinsic {
    /// Signs `call` as `signer` for the network `genesis_hash` with `nonce`.
    pub fn sign(signer: &PartySigner, genesis_hash: [u8; 32], nonce: u64, call: RuntimeCall) -> Self {
        let account = signer.account();
        let payload = SigningPayload {
            version: EXTRINSIC_VERSION,
            genesis_hash: &genesis_hash,
            signer: &account,
            nonce,
            call: &call,
        };
        let message = postcard::to_allocvec(&payload).expect("serializing plain data into a Vec cannot fail");
        Self {
            version: EXTRINSIC_VERSION,
            genesis_hash,
            signer: account,
            nonce,
            call,
            signature: signer.sign(SIGNING_CONTEXT, &message),
        }
    }

    /// The binary form (what `keywheel_submit` takes, hex-encoded).
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing plain data into a Vec cannot fail")
    }

    /// Parses untrusted bytes: size limit, version, exact decoding (no trailing bytes). The
    /// signature is checked separately by [`Self::verify_signature`].
    pub fn decode(bytes: &[u8]) -> Result<Self, ExtrinsicError> {
        if bytes.len() > MAX_EXTRINSIC_SIZE {
            return Err(ExtrinsicError::Oversized {
                size: bytes.len(),
                max: MAX_EXTRINSIC_SIZE,
            });
        }
        match bytes.first() {
            None => return Err(ExtrinsicError::Malformed("empty".into())),
            Some(&v) if v != EXTRINSIC_VERSION => return Err(ExtrinsicError::Version(v)),
            Some(_) => {}
        }
        // One extrinsic has one encoding, or its hash could be changed by anyone relaying it
        // without touching its signature.
        keywheel_primitives::envelope::decode_exact(bytes).map_err(|e| ExtrinsicError::Malformed(e.to_string()))
    }

    /// Checks the signer's signature over the extrinsic.
    pub fn verify_signature(&self) -> Result<(), ExtrinsicError> {
        let payload = SigningPayload {
            version: self.version,
            genesis_hash: &self.genesis_hash,
            signer: &self.signer,
            nonce: self.nonce,
            call: &self.call,
        };
        let message = postcard::to_allocvec(&payload).expect("serializing plain data into a Vec cannot fail");
        if self.signer.verify(SIGNING_CONTEXT, &message, &self.signature) {
            Ok(())
        } else {
            Err(ExtrinsicError::BadSignature(self.signer))
        }
    }

    /// SHA-256 of encoded extrinsic bytes: how the node names an extrinsic.
    pub fn hash(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> PartySigner {
        PartySigner::from_seed(&[5; 32])
    }

    #[test]
    fn signed_extrinsic_round_trips_and_verifies() {
        let ext = Extrinsic::sign(&signer(), [1; 32], 3, RuntimeCall::Signed(Call::Register));
        let decoded = Extrinsic::decode(&ext.encode()).unwrap();
        assert_eq!(decoded, ext);
        decoded.verify_signature().unwrap();
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let ext = Extrinsic::sign(&signer(), [1; 32], 3, RuntimeCall::Signed(Call::Register));
        let mut other_nonce = ext.clone();
        other_nonce.nonce = 4;
        let mut other_network = ext.clone();
        other_network.genesis_hash = [2; 32];
        let mut sudo = ext.clone();
        sudo.call = RuntimeCall::Sudo(Call::Register);
        for tampered in [other_nonce, other_network, sudo] {
            assert_eq!(
                tampered.verify_signature(),
                Err(ExtrinsicError::BadSignature(ext.signer))
            );
        }
    }

    #[test]
    fn bad_bytes_are_named() {
        let bytes = Extrinsic::sign(&signer(), [1; 32], 0, RuntimeCall::Signed(Call::Chill)).encode();
        assert!(matches!(Extrinsic::decode(&[]), Err(ExtrinsicError::Malformed(_))));
        let mut version = bytes.clone();
        version[0] = 9;
        assert_eq!(Extrinsic::decode(&version), Err(ExtrinsicError::Version(9)));
        assert!(matches!(
            Extrinsic::decode(&bytes[..bytes.len() - 1]),
            Err(ExtrinsicError::Malformed(_))
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            Extrinsic::decode(&trailing),
            Err(ExtrinsicError::Malformed(_))
        ));
        // The nonce (3, one varint byte at offset 65) written over-long: it would decode to
        // the same signed extrinsic under another hash.
        let bytes3 = Extrinsic::sign(&signer(), [1; 32], 3, RuntimeCall::Signed(Call::Chill)).encode();
        assert_eq!(bytes3[65], 3);
        let mut overlong = bytes3[..65].to_vec();
        overlong.extend([0x83, 0x00]);
        overlong.extend(&bytes3[66..]);
        assert!(matches!(
            Extrinsic::decode(&overlong),
            Err(ExtrinsicError::Malformed(m)) if m.contains("canonical")
        ));
        let huge = vec![EXTRINSIC_VERSION; MAX_EXTRINSIC_SIZE + 1];
        assert!(matches!(
            Extrinsic::decode(&huge),
            Err(ExtrinsicError::Oversized { .. })
        ));
    }
}
