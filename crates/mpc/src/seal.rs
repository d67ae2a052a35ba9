//! Sealing a reshare subshare to one new member, so that it can travel inside a broadcast, and
//! opening one seal in public when it hides something wrong.
//!
//! Each new member draws a fresh **receiving key** `d·G` for one attempt. A staying holder seals
//! the subshare `v` for member `j` under an ephemeral `e`: `E = e·G`, the shared point
//! `S = e·(d_j·G)`, and the ciphertext `v ⊕ H(context, E, S)` — hashed ElGamal, whose key stream
//! is used once. The sealed value is checked against the sender's Feldman commitments, which is
//! what authenticates it.
//!
//! When the check fails, `j` proves it by **opening** that one seal: it discloses `S = d_j·E`
//! with a Chaum–Pedersen proof that `log_G(d_j·G) = log_E(S)`. Anyone then recomputes the key
//! stream and sees the bad value; `S` reveals nothing but that one subshare (which its sender
//! knows already), so no other subshare of the attempt is exposed. Nobody can open a good seal
//! into a bad value: `S` is fixed by `E` and the receiving key, and the proof cannot be made for
//! another point.

use crate::prelude::*;
use core::fmt;

use elliptic_curve::PrimeField;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use synedrion::SchemeParams;
use zeroize::{Zeroize, Zeroizing};

use crate::curve::{
    hash_parts, hash_to_scalar, mul_generator, point_to_bytes, random_scalar, scalar_from_bytes, Point, Scalar,
    SerPoint, SerScalar,
};
use crate::identity::AccountId;
use keywheel_primitives::domain;

/// What a seal is bound to: the protocol session (so one attempt's seals mean nothing in
/// another), its sender and its recipient.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealContext<'a> {
    /// The protocol session's id bytes (manul's shared randomness).
    pub session: &'a [u8],
    /// The staying holder that sealed the subshare.
    pub sender: &'a AccountId,
    /// The new member it is for.
    pub recipient: &'a AccountId,
}

impl SealContext<'_> {
    fn parts<'b>(&'b self, first: &'b [u8], second: &'b [u8]) -> [&'b [u8]; 5] {
        [
            self.session,
            self.sender.as_bytes(),
            self.recipient.as_bytes(),
            first,
            second,
        ]
    }
}

/// A new member's secret receiving key for one attempt; zeroized on drop, never printed.
pub(crate) struct ReceivingKey<P: SchemeParams> {
    secret: Zeroizing<SerScalar<P>>,
}

impl<P: SchemeParams> ReceivingKey<P> {
    /// A fresh key.
    pub fn random(rng: &mut (impl CryptoRngCore + ?Sized)) -> Self {
        Self {
            secret: Zeroizing::new(SerScalar::new(random_scalar::<P>(rng))),
        }
    }

    /// The public receiving key `d·G`, which the member broadcasts.
    pub fn public(&self) -> Point<P> {
        mul_generator::<P>(&self.secret.0)
    }

    /// The value `sealed` hides: `None` when its bytes are no scalar.
    pub fn open(&self, context: &SealContext<'_>, sealed: &Sealed<P>) -> Option<Scalar<P>> {
        let ephemeral = sealed.ephemeral.0;
        unseal::<P>(context, &ephemeral, &(ephemeral * self.secret.0), &sealed.ciphertext)
    }

    /// The disclosure that lets anyone open `sealed` (and nothing else).
    pub fn disclose(&self, context: &SealContext<'_>, sealed: &Sealed<P>) -> Disclosure<P> {
        let ephemeral = sealed.ephemeral.0;
        let shared = ephemeral * self.secret.0;
        Disclosure::prove(&self.secret.0, &self.public(), &ephemeral, &shared, context)
    }
}

impl<P: SchemeParams> fmt::Debug for ReceivingKey<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceivingKey(<hidden>)")
    }
}

/// A subshare sealed to one recipient's receiving key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Sealed<P: SchemeParams> {
    /// The sender's ephemeral point `E = e·G`.
    pub ephemeral: SerPoint<P>,
    /// The scalar's bytes, masked with the key stream.
    pub ciphertext: Vec<u8>,
}

impl<P: SchemeParams> Sealed<P> {
    /// Seals `value` for the holder of `recipient_key`.
    pub fn seal(
        rng: &mut (impl CryptoRngCore + ?Sized),
        recipient_key: &Point<P>,
        context: &SealContext<'_>,
        value: &Scalar<P>,
    ) -> Self {
        let e = Zeroizing::new(SerScalar::<P>::new(random_scalar::<P>(rng)));
        let ephemeral = mul_generator::<P>(&e.0);
        let shared = *recipient_key * e.0;
        let mut bytes = value.to_repr().as_ref().to_vec();
        mask::<P>(context, &ephemeral, &shared, &mut bytes);
        Self {
            ephemeral: SerPoint::new(ephemeral),
            ciphertext: bytes,
        }
    }
}

/// XORs `bytes` with the key stream of one seal.
fn mask<P: SchemeParams>(context: &SealContext<'_>, ephemeral: &Point<P>, shared: &Point<P>, bytes: &mut [u8]) {
    let (e, s) = (point_to_bytes::<P>(ephemeral), point_to_bytes::<P>(shared));
    let parts = context.parts(&e, &s);
    for (block, chunk) in bytes.chunks_mut(32).enumerate() {
        let mut stream = hash_parts(domain::SUBSHARE_SEAL, &parts, block as u32);
        for (b, k) in chunk.iter_mut().zip(stream.iter()) {
            *b ^= k;
        }
        stream.zeroize();
    }
}

/// The value behind a seal, given its shared point; `None` when it is no canonical scalar.
fn unseal<P: SchemeParams>(
    context: &SealContext<'_>,
    ephemeral: &Point<P>,
    shared: &Point<P>,
    ciphertext: &[u8],
) -> Option<Scalar<P>> {
    let mut bytes = ciphertext.to_vec();
    mask::<P>(context, ephemeral, shared, &mut bytes);
    let value = scalar_from_bytes::<P>(&bytes);
    bytes.zeroize();
    value
}

/// The shared point behind one seal, with a Chaum–Pedersen proof that it was computed with the
/// recipient's receiving key: what a recipient discloses to show that a seal hid a bad value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Disclosure<P: SchemeParams> {
    /// `S = d·E`.
    shared: SerPoint<P>,
    /// `k·G`.
    commitment_g: SerPoint<P>,
    /// `k·E`.
    commitment_e: SerPoint<P>,
    /// `k + c·d`.
    response: SerScalar<P>,
}

fn opening_challenge<P: SchemeParams>(
    context: &SealContext<'_>,
    public: &Point<P>,
    ephemeral: &Point<P>,
    shared: &Point<P>,
    commitments: (&Point<P>, &Point<P>),
) -> Scalar<P> {
    let points = [public, ephemeral, shared, commitments.0, commitments.1].map(point_to_bytes::<P>);
    let mut all = points.iter().map(Vec::as_slice).collect::<Vec<_>>();
    let mut parts: Vec<&[u8]> = vec![context.session, context.sender.as_bytes(), context.recipient.as_bytes()];
    parts.append(&mut all);
    hash_to_scalar::<P>(domain::SEAL_OPENING, &parts)
}

impl<P: SchemeParams> Disclosure<P> {
    /// The proof, with a nonce derived from the secret and everything the proof is about (the
    /// receiving key opens each seal at most once, and a recipient has no randomness at hand
    /// where it finds a bad seal).
    fn prove(
        secret: &Scalar<P>,
        public: &Point<P>,
        ephemeral: &Point<P>,
        shared: &Point<P>,
        context: &SealContext<'_>,
    ) -> Self {
        let secret_bytes = Zeroizing::new(secret.to_repr().as_ref().to_vec());
        let (e, s) = (point_to_bytes::<P>(ephemeral), point_to_bytes::<P>(shared));
        let mut parts = context.parts(&e, &s).to_vec();
        parts.push(&secret_bytes);
        let k = Zeroizing::new(SerScalar::<P>::new(hash_to_scalar::<P>(domain::SEAL_NONCE, &parts)));
        let (commitment_g, commitment_e) = (mul_generator::<P>(&k.0), *ephemeral * k.0);
        let c = opening_challenge::<P>(context, public, ephemeral, shared, (&commitment_g, &commitment_e));
        let response = k.0 + c * secret;
        Self {
            shared: SerPoint::new(*shared),
            commitment_g: SerPoint::new(commitment_g),
            commitment_e: SerPoint::new(commitment_e),
            response: SerScalar::new(response),
        }
    }

    /// What `sealed` (made for the holder of `public`) opens to, if this disclosure proves its
    /// shared point: `Err` when the proof fails, `Ok(None)` when the seal hides no scalar.
    pub(crate) fn open(
        &self,
        public: &Point<P>,
        context: &SealContext<'_>,
        sealed: &Sealed<P>,
    ) -> Result<Option<Scalar<P>>, &'static str> {
        let ephemeral = sealed.ephemeral.0;
        let identity = <Point<P> as elliptic_curve::group::Group>::identity();
        if *public == identity || ephemeral == identity {
            return Err("a receiving key or ephemeral point is the identity");
        }
        let (shared, r_g, r_e) = (self.shared.0, self.commitment_g.0, self.commitment_e.0);
        let c = opening_challenge::<P>(context, public, &ephemeral, &shared, (&r_g, &r_e));
        let z = self.response.0;
        if mul_generator::<P>(&z) != r_g + *public * c || ephemeral * z != r_e + shared * c {
            return Err("the disclosed point is not the one the receiving key gives");
        }
        Ok(unseal::<P>(context, &ephemeral, &shared, &sealed.ciphertext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductionParams as P;
    use rand_core::OsRng;

    fn context<'a>(session: &'a [u8], sender: &'a AccountId, recipient: &'a AccountId) -> SealContext<'a> {
        SealContext {
            session,
            sender,
            recipient,
        }
    }

    #[test]
    fn a_seal_opens_to_its_value_for_its_recipient_only() {
        let (alice, bob, carol) = (AccountId([1; 32]), AccountId([2; 32]), AccountId([3; 32]));
        let ctx = context(b"attempt 1", &alice, &bob);
        let key = ReceivingKey::<P>::random(&mut OsRng);
        let value = random_scalar::<P>(&mut OsRng);
        let sealed = Sealed::seal(&mut OsRng, &key.public(), &ctx, &value);
        assert_ne!(
            sealed.ciphertext,
            crate::curve::scalar_to_bytes::<P>(&value),
            "sealed, not plain"
        );

        assert_eq!(key.open(&ctx, &sealed), Some(value));
        let disclosure = key.disclose(&ctx, &sealed);
        // The disclosure lets anyone open that seal, and proves nothing for another context,
        // key or seal.
        assert_eq!(disclosure.open(&key.public(), &ctx, &sealed), Ok(Some(value)));
        let elsewhere = context(b"attempt 2", &alice, &bob);
        assert!(disclosure.open(&key.public(), &elsewhere, &sealed).is_err());
        let for_carol = context(b"attempt 1", &alice, &carol);
        assert!(disclosure.open(&key.public(), &for_carol, &sealed).is_err());
        let other = ReceivingKey::<P>::random(&mut OsRng);
        assert!(disclosure.open(&other.public(), &ctx, &sealed).is_err());
        let resealed = Sealed::seal(&mut OsRng, &key.public(), &ctx, &value);
        assert!(disclosure.open(&key.public(), &ctx, &resealed).is_err());
        // Another key opens it to nothing useful.
        assert_ne!(other.open(&ctx, &sealed), Some(value));
    }

    #[test]
    fn a_forged_disclosure_does_not_verify() {
        let (alice, bob) = (AccountId([1; 32]), AccountId([2; 32]));
        let ctx = context(b"attempt 1", &alice, &bob);
        let key = ReceivingKey::<P>::random(&mut OsRng);
        let sealed = Sealed::seal(&mut OsRng, &key.public(), &ctx, &random_scalar::<P>(&mut OsRng));
        let disclosure = key.disclose(&ctx, &sealed);
        // A recipient that wants a good seal to look bad must disclose another point.
        let mut forged = disclosure.clone();
        forged.shared = SerPoint::new(disclosure.shared.0 + mul_generator::<P>(&Scalar::<P>::ONE));
        assert!(forged.open(&key.public(), &ctx, &sealed).is_err());
        let mut forged = disclosure;
        forged.response = SerScalar::new(forged.response.0 + Scalar::<P>::ONE);
        assert!(forged.open(&key.public(), &ctx, &sealed).is_err());
    }
}
