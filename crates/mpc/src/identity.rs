//! Who a party is: an sr25519 account key signs every protocol message, so every message and
//! every piece of evidence is attributable to an on-chain identity. The party id is the chain's
//! [`AccountId`] itself (`keywheel-primitives`, which also verifies its signatures).

use crate::prelude::*;
use core::fmt;

pub use keywheel_primitives::{AccountId, PartySignature};

use keywheel_primitives::domain;
use manul::session::{SessionParameters, WireFormat};
use manul::signature;
use rand_core::CryptoRngCore;
use schnorrkel::{context::attach_rng, signing_context, ExpansionMode, MiniSecretKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A party's secret signing key (sr25519). Zeroized on drop; never printed.
#[derive(Clone)]
pub struct PartySigner {
    keypair: schnorrkel::Keypair,
    seed: Zeroizing<[u8; 32]>,
}

impl PartySigner {
    /// Builds the signer from a 32-byte seed, expanded the way Substrate expands sr25519 seeds.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = MiniSecretKey::from_bytes(seed).expect("any 32 bytes are a valid mini secret key");
        Self {
            keypair: mini.expand_to_keypair(ExpansionMode::Ed25519),
            seed: Zeroizing::new(*seed),
        }
    }

    /// A fresh random signer.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The seed this signer was built from (for storing it encrypted).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public identity of this signer.
    pub fn account(&self) -> AccountId {
        AccountId(self.keypair.public.to_bytes())
    }

    /// Signs `message` under `context` (for non-protocol uses such as confirmations), with the
    /// signature's randomness from the OS: `std` only (without it, schnorrkel's would panic).
    #[cfg(feature = "std")]
    pub fn sign(&self, context: &[u8], message: &[u8]) -> PartySignature {
        PartySignature(self.keypair.sign(signing_context(context).bytes(message)).to_bytes())
    }

    /// [`Self::sign`] with the signature's randomness drawn from `rng` (a protocol round's, or a
    /// test's seeded one, so a run can be repeated).
    pub fn sign_with_rng(
        &self,
        rng: &mut (impl CryptoRngCore + ?Sized),
        context: &[u8],
        message: &[u8],
    ) -> PartySignature {
        let transcript = attach_rng(signing_context(context).bytes(message), rng);
        PartySignature(self.keypair.sign(transcript).to_bytes())
    }
}

impl fmt::Debug for PartySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartySigner")
            .field("party", &self.account())
            .finish_non_exhaustive()
    }
}

impl signature::Keypair for PartySigner {
    type VerifyingKey = AccountId;
    fn verifying_key(&self) -> AccountId {
        self.account()
    }
}

impl<D: sha2::Digest> signature::RandomizedDigestSigner<D, PartySignature> for PartySigner {
    fn try_sign_digest_with_rng(
        &self,
        rng: &mut impl CryptoRngCore,
        digest: D,
    ) -> Result<PartySignature, signature::Error> {
        let hash = digest.finalize();
        let transcript = attach_rng(signing_context(domain::PROTOCOL_MESSAGE).bytes(&hash), rng);
        Ok(PartySignature(self.keypair.sign(transcript).to_bytes()))
    }
}

/// The compact binary wire format of every protocol message: postcard.
#[derive(Debug, Clone, Copy)]
pub struct Postcard;

/// Adapter that lets manul reuse one postcard deserializer for several values.
#[allow(missing_debug_implementations)]
pub struct PostcardDeserializer<'de>(postcard::Deserializer<'de, postcard::de_flavors::Slice<'de>>);

impl<'de> serde_persistent_deserializer::AsTransientDeserializer<'de> for PostcardDeserializer<'de> {
    type Error = postcard::Error;

    fn as_transient_deserializer<'a>(&'a mut self) -> impl serde::Deserializer<'de, Error = Self::Error> {
        &mut self.0
    }
}

impl WireFormat for Postcard {
    fn serialize<T: Serialize>(value: T) -> Result<Box<[u8]>, manul::protocol::LocalError> {
        postcard::to_allocvec(&value)
            .map(Vec::into_boxed_slice)
            .map_err(|err| manul::protocol::LocalError::new(err.to_string()))
    }

    type Deserializer<'de> = serde_persistent_deserializer::PersistentDeserializer<PostcardDeserializer<'de>>;

    fn deserializer(bytes: &[u8]) -> Self::Deserializer<'_> {
        let flavor = postcard::de_flavors::Slice::new(bytes);
        serde_persistent_deserializer::PersistentDeserializer::new(PostcardDeserializer(
            postcard::Deserializer::from_flavor(flavor),
        ))
    }
}

/// manul session parameters for keywheel: sr25519 identities, SHA-256 digests, postcard.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ProtocolSessionParams;

impl SessionParameters for ProtocolSessionParams {
    type Signer = PartySigner;
    type Verifier = AccountId;
    type Signature = PartySignature;
    type Digest = sha2::Sha256;
    type WireFormat = Postcard;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn signature_verifies_only_for_its_signer_context_and_message() {
        let a = PartySigner::random(&mut OsRng);
        let b = PartySigner::random(&mut OsRng);
        let sig = a.sign(b"ctx", b"hello");
        assert!(a.account().verify(b"ctx", b"hello", &sig));
        assert!(!b.account().verify(b"ctx", b"hello", &sig));
        assert!(!a.account().verify(b"other", b"hello", &sig));
        assert!(!a.account().verify(b"ctx", b"hellO", &sig));
    }

    #[test]
    fn signer_debug_does_not_print_the_seed() {
        let seed = [0xab; 32];
        let signer = PartySigner::from_seed(&seed);
        let printed = format!("{signer:?}");
        assert!(!printed.contains("abab"), "{printed}");
    }
}
