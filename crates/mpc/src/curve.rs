//! Curve arithmetic for keywheel's own protocols, generic over synedrion's scheme parameters
//! (secp256k1 in production, synedrion's tiny test curve in fast tests).
//!
//! Encodings match synedrion's serde form: scalars as big-endian field bytes, points as
//! compressed SEC1, both as raw bytes in binary formats and hex in human-readable ones.

use crate::prelude::*;
use core::fmt;
use core::marker::PhantomData;

use elliptic_curve::{
    group::{Curve as _, Group},
    sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint},
    CurveArithmetic, Field, PrimeField,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use synedrion::SchemeParams;

/// A scalar of the scheme's curve.
pub type Scalar<P> = <<P as SchemeParams>::Curve as CurveArithmetic>::Scalar;
/// A point of the scheme's curve.
pub type Point<P> = <<P as SchemeParams>::Curve as CurveArithmetic>::ProjectivePoint;

/// Big-endian bytes of a scalar.
pub fn scalar_to_bytes<P: SchemeParams>(scalar: &Scalar<P>) -> Vec<u8> {
    scalar.to_repr().as_ref().to_vec()
}

/// Parses a canonical big-endian scalar; `None` for wrong length or out-of-range values.
pub fn scalar_from_bytes<P: SchemeParams>(bytes: &[u8]) -> Option<Scalar<P>> {
    let mut repr = <Scalar<P> as PrimeField>::Repr::default();
    if repr.as_ref().len() != bytes.len() {
        return None;
    }
    repr.as_mut().copy_from_slice(bytes);
    Option::from(Scalar::<P>::from_repr(repr))
}

/// The scalar `n` (used for share ids `1..=n`).
pub fn scalar_from_u64<P: SchemeParams>(n: u64) -> Scalar<P> {
    Scalar::<P>::from(n)
}

/// Compressed SEC1 bytes of a point (a single zero byte for the identity).
pub fn point_to_bytes<P: SchemeParams>(point: &Point<P>) -> Vec<u8> {
    point.to_affine().to_encoded_point(true).as_bytes().to_vec()
}

/// Parses a SEC1-encoded point; `None` if it is not on the curve.
pub fn point_from_bytes<P: SchemeParams>(bytes: &[u8]) -> Option<Point<P>> {
    let encoded = EncodedPoint::<P::Curve>::from_bytes(bytes).ok()?;
    Option::from(Point::<P>::from_encoded_point(&encoded))
}

/// `scalar · G`.
pub fn mul_generator<P: SchemeParams>(scalar: &Scalar<P>) -> Point<P> {
    Point::<P>::generator() * scalar
}

/// The Lagrange coefficient at zero of `me` among the evaluation points `ids`.
/// `None` if `me` is not among `ids` or two ids coincide.
pub fn lagrange_at_zero<P: SchemeParams>(ids: &[Scalar<P>], me: &Scalar<P>) -> Option<Scalar<P>> {
    // `me` must occur exactly once: a second copy would be skipped below, not caught.
    if ids.iter().filter(|id| *id == me).count() != 1 {
        return None;
    }
    let mut num = Scalar::<P>::ONE;
    let mut den = Scalar::<P>::ONE;
    for id in ids.iter().filter(|id| *id != me) {
        num *= id;
        den *= *id - me;
    }
    Option::<Scalar<P>>::from(den.invert()).map(|inv| num * inv)
}

/// Evaluates `coeffs[0] + coeffs[1] x + …` at `x`.
pub fn eval_poly<P: SchemeParams>(coeffs: &[Scalar<P>], x: &Scalar<P>) -> Scalar<P> {
    coeffs.iter().rev().fold(Scalar::<P>::ZERO, |acc, c| acc * x + c)
}

/// Evaluates committed coefficients `C_k = a_k·G` at `x`: the commitment to the evaluation.
pub fn eval_commitments<P: SchemeParams>(commitments: &[Point<P>], x: &Scalar<P>) -> Point<P> {
    commitments
        .iter()
        .rev()
        .fold(Point::<P>::identity(), |acc, c| acc * x + c)
}

/// A scalar from SHA-256 over `tag` and `parts` (each prefixed with its length): 512 bits of
/// hash output reduced modulo the curve order, so uniform to within 2^-256 on secp256k1 and on
/// any curve with a smaller order (synedrion's test curve among them). What keywheel's
/// Fiat–Shamir challenges and proof nonces are made of.
pub fn hash_to_scalar<P: SchemeParams>(tag: &[u8], parts: &[&[u8]]) -> Scalar<P> {
    let wide = [hash_parts(tag, parts, 0), hash_parts(tag, parts, 1)];
    let base = Scalar::<P>::from(256u64);
    wide.iter().flatten().fold(Scalar::<P>::ZERO, |acc, byte| {
        acc * base + Scalar::<P>::from(u64::from(*byte))
    })
}

/// SHA-256 over `tag`, `parts` (each prefixed with its length) and `counter`.
pub fn hash_parts(tag: &[u8], parts: &[&[u8]], counter: u32) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(tag);
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(counter.to_be_bytes());
    hasher.finalize().into()
}

/// A random non-zero scalar.
pub fn random_scalar<P: SchemeParams>(rng: &mut (impl rand_core::CryptoRngCore + ?Sized)) -> Scalar<P> {
    loop {
        let s = Scalar::<P>::random(&mut *rng);
        if !bool::from(s.is_zero()) {
            return s;
        }
    }
}

fn serialize_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&hex::encode(bytes))
    } else {
        serializer.serialize_bytes(bytes)
    }
}

fn deserialize_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    if deserializer.is_human_readable() {
        let s = String::deserialize(deserializer)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    } else {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_bytes(V)
    }
}

/// A scalar with synedrion-compatible serde.
pub struct SerScalar<P: SchemeParams>(pub Scalar<P>, PhantomData<P>);

impl<P: SchemeParams> SerScalar<P> {
    /// Wraps a scalar.
    pub fn new(scalar: Scalar<P>) -> Self {
        Self(scalar, PhantomData)
    }
}

impl<P: SchemeParams> Clone for SerScalar<P> {
    fn clone(&self) -> Self {
        Self::new(self.0)
    }
}

impl<P: SchemeParams> fmt::Debug for SerScalar<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SerScalar(<hidden>)")
    }
}

impl<P: SchemeParams> Serialize for SerScalar<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = scalar_to_bytes::<P>(&self.0);
        let out = serialize_bytes(&bytes, serializer);
        zeroize::Zeroize::zeroize(&mut bytes);
        out
    }
}

impl<'de, P: SchemeParams> Deserialize<'de> for SerScalar<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut bytes = deserialize_bytes(deserializer)?;
        let scalar = scalar_from_bytes::<P>(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        scalar
            .map(Self::new)
            .ok_or_else(|| serde::de::Error::custom("invalid curve scalar"))
    }
}

impl<P: SchemeParams> zeroize::Zeroize for SerScalar<P> {
    fn zeroize(&mut self) {
        self.0 = Scalar::<P>::ZERO;
    }
}

/// A point with synedrion-compatible serde.
pub struct SerPoint<P: SchemeParams>(pub Point<P>, PhantomData<P>);

impl<P: SchemeParams> SerPoint<P> {
    /// Wraps a point.
    pub fn new(point: Point<P>) -> Self {
        Self(point, PhantomData)
    }
}

impl<P: SchemeParams> Clone for SerPoint<P> {
    fn clone(&self) -> Self {
        Self::new(self.0)
    }
}

impl<P: SchemeParams> PartialEq for SerPoint<P> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<P: SchemeParams> Eq for SerPoint<P> {}

impl<P: SchemeParams> fmt::Debug for SerPoint<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Point({})", hex::encode(point_to_bytes::<P>(&self.0)))
    }
}

impl<P: SchemeParams> Serialize for SerPoint<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_bytes(&point_to_bytes::<P>(&self.0), serializer)
    }
}

impl<'de, P: SchemeParams> Deserialize<'de> for SerPoint<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = deserialize_bytes(deserializer)?;
        point_from_bytes::<P>(&bytes)
            .map(Self::new)
            .ok_or_else(|| serde::de::Error::custom("invalid curve point"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synedrion::dev::TestParams;
    type P = TestParams;

    #[test]
    fn lagrange_interpolation_recovers_the_constant_term() {
        let coeffs = [
            scalar_from_u64::<P>(7),
            scalar_from_u64::<P>(3),
            scalar_from_u64::<P>(11),
        ];
        let ids: Vec<_> = [2u64, 5, 9].iter().map(|i| scalar_from_u64::<P>(*i)).collect();
        let sum = ids.iter().fold(Scalar::<P>::ZERO, |acc, id| {
            acc + lagrange_at_zero::<P>(&ids, id).unwrap() * eval_poly::<P>(&coeffs, id)
        });
        assert_eq!(sum, coeffs[0]);
        assert!(lagrange_at_zero::<P>(&ids, &scalar_from_u64::<P>(4)).is_none());
    }

    #[test]
    fn commitments_evaluate_to_the_committed_evaluation() {
        let coeffs = [scalar_from_u64::<P>(4), scalar_from_u64::<P>(8)];
        let commitments: Vec<_> = coeffs.iter().map(mul_generator::<P>).collect();
        let x = scalar_from_u64::<P>(3);
        assert_eq!(
            eval_commitments::<P>(&commitments, &x),
            mul_generator::<P>(&eval_poly::<P>(&coeffs, &x))
        );
    }

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let s = scalar_from_u64::<P>(12345);
        assert_eq!(scalar_from_bytes::<P>(&scalar_to_bytes::<P>(&s)), Some(s));
        let pt = mul_generator::<P>(&s);
        assert_eq!(point_from_bytes::<P>(&point_to_bytes::<P>(&pt)), Some(pt));
        assert!(point_from_bytes::<P>(&[0x02, 1, 2]).is_none());
        assert!(scalar_from_bytes::<P>(&[1, 2, 3, 4, 5, 6, 7, 8, 9]).is_none());
    }

    /// On the test curve (a 32-bit order in a wider encoding) rejection sampling of 32-byte
    /// digests never finds a scalar; the reduction must still give one, and a different one for
    /// different input.
    #[test]
    fn hashing_to_a_scalar_works_on_any_curve_and_separates_inputs() {
        let a = hash_to_scalar::<P>(b"tag", &[b"one"]);
        assert_ne!(a, hash_to_scalar::<P>(b"tag", &[b"two"]));
        assert_ne!(a, hash_to_scalar::<P>(b"other", &[b"one"]));
        // The length prefix keeps the parts apart.
        assert_ne!(
            hash_to_scalar::<P>(b"tag", &[b"ab", b"c"]),
            hash_to_scalar::<P>(b"tag", &[b"a", b"bc"])
        );
        type K = crate::ProductionParams;
        assert_ne!(
            hash_to_scalar::<K>(b"tag", &[b"one"]),
            hash_to_scalar::<K>(b"tag", &[b"two"])
        );
    }
}
