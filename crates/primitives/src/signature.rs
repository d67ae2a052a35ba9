//! An account's sr25519 signatures: what proves that a protocol message, an extrinsic or a sign
//! request comes from an account. The account is manul's verifier type, so the party id of a
//! protocol session is the chain account itself.

use core::fmt;

use schnorrkel::signing_context;
use serde::{Deserialize, Serialize};
use signature::DigestVerifier;

use crate::account::AccountId;
use crate::domain;

/// An sr25519 signature (64 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct PartySignature(pub [u8; 64]);

impl fmt::Debug for PartySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartySignature({}…)", hex::encode(&self.0[..6]))
    }
}

impl Serialize for PartySignature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for PartySignature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PartySignature;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 signature bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                let bytes: [u8; 64] = v.try_into().map_err(|_| E::invalid_length(v.len(), &self))?;
                Ok(PartySignature(bytes))
            }
        }
        deserializer.deserialize_bytes(V)
    }
}

impl AccountId {
    /// Checks an sr25519 signature by this account over `message` under `context`.
    pub fn verify(&self, context: &[u8], message: &[u8], signature: &PartySignature) -> bool {
        let Ok(public) = schnorrkel::PublicKey::from_bytes(&self.0) else {
            return false;
        };
        let Ok(sig) = schnorrkel::Signature::from_bytes(&signature.0) else {
            return false;
        };
        public.verify(signing_context(context).bytes(message), &sig).is_ok()
    }
}

/// manul verifies a protocol message's signature over its digest, under
/// [`domain::PROTOCOL_MESSAGE`].
impl<D: sha2::Digest> DigestVerifier<D, PartySignature> for AccountId {
    fn verify_digest(&self, digest: D, signature: &PartySignature) -> Result<(), signature::Error> {
        let hash = digest.finalize();
        if self.verify(domain::PROTOCOL_MESSAGE, &hash, signature) {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}
