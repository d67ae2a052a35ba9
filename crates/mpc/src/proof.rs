//! Schnorr proof of knowledge of a secret key share, bound to a context (network, session,
//! attempt, holder). Each new member's confirmation carries one, so the chain rotates only to
//! members who really hold valid shares.

use crate::prelude::*;
use elliptic_curve::PrimeField;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use synedrion::SchemeParams;

use crate::curve::{
    hash_to_scalar, mul_generator, point_from_bytes, point_to_bytes, random_scalar, scalar_from_bytes, Point, Scalar,
};
use crate::error::MpcError;

/// A proof `(R, s)` with `s·G = R + e·X`, `e = H(context, X, R)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareProof {
    /// Commitment `R`, compressed SEC1.
    pub commitment: Vec<u8>,
    /// Response `s`, big-endian.
    pub response: Vec<u8>,
}

fn challenge<P: SchemeParams>(context: &[u8], public: &Point<P>, commitment: &Point<P>) -> Scalar<P> {
    hash_to_scalar::<P>(
        keywheel_primitives::domain::SHARE_PROOF,
        &[context, &point_to_bytes::<P>(public), &point_to_bytes::<P>(commitment)],
    )
}

impl ShareProof {
    /// Proves knowledge of `secret` for `secret·G` under `context`.
    pub fn prove<P: SchemeParams>(rng: &mut impl CryptoRngCore, secret: &Scalar<P>, context: &[u8]) -> Self {
        let public = mul_generator::<P>(secret);
        let k = random_scalar::<P>(rng);
        let commitment = mul_generator::<P>(&k);
        let e = challenge::<P>(context, &public, &commitment);
        let response = k + e * secret;
        Self {
            commitment: point_to_bytes::<P>(&commitment),
            response: response.to_repr().as_ref().to_vec(),
        }
    }

    /// The encoded proof, as a confirmation carries it.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing plain data into a Vec cannot fail")
    }

    /// Decodes an untrusted encoded proof and checks it for `public` under `context` (what the
    /// chain does with a confirmation's proof).
    pub fn verify_encoded<P: SchemeParams>(proof: &[u8], public: &[u8], context: &[u8]) -> Result<(), MpcError> {
        let proof: Self = keywheel_primitives::envelope::decode_exact(proof)
            .map_err(|e| MpcError::Decode(format!("malformed share proof: {e}")))?;
        proof.verify::<P>(public, context)
    }

    /// Checks the proof for the public share `public` (compressed SEC1) under `context`.
    pub fn verify<P: SchemeParams>(&self, public: &[u8], context: &[u8]) -> Result<(), MpcError> {
        let bad = |why: &str| MpcError::InvalidInput(format!("share proof: {why}"));
        let public = point_from_bytes::<P>(public).ok_or_else(|| bad("public share is not a curve point"))?;
        let commitment = point_from_bytes::<P>(&self.commitment).ok_or_else(|| bad("commitment is not a point"))?;
        let response = scalar_from_bytes::<P>(&self.response).ok_or_else(|| bad("response is not a scalar"))?;
        let e = challenge::<P>(context, &public, &commitment);
        if mul_generator::<P>(&response) == commitment + public * e {
            Ok(())
        } else {
            Err(bad("does not verify"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductionParams as P;
    use rand_core::OsRng;

    #[test]
    fn proof_verifies_only_for_its_share_and_context() {
        let x = random_scalar::<P>(&mut OsRng);
        let public = point_to_bytes::<P>(&mul_generator::<P>(&x));
        let proof = ShareProof::prove::<P>(&mut OsRng, &x, b"session 3 attempt 1");
        proof.verify::<P>(&public, b"session 3 attempt 1").unwrap();
        assert!(proof.verify::<P>(&public, b"session 3 attempt 2").is_err());
        let other = point_to_bytes::<P>(&mul_generator::<P>(&random_scalar::<P>(&mut OsRng)));
        assert!(proof.verify::<P>(&other, b"session 3 attempt 1").is_err());
        let mut tampered = proof.clone();
        tampered.response[31] ^= 1;
        assert!(tampered.verify::<P>(&public, b"session 3 attempt 1").is_err());
    }
}
