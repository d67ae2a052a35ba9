//! The DKLs23 path's types (its curve and scheme parameters), and scalars and points between
//! keywheel's k256 0.13 (synedrion's) and the library's k256 0.14,
//! through their canonical encodings (32-byte big-endian scalar, 33-byte compressed SEC1 point).

use crate::prelude::*;

use k256_dkls::elliptic_curve::group::GroupEncoding;
use k256_dkls::elliptic_curve::PrimeField;

use crate::curve::{point_to_bytes, scalar_to_bytes, Point, Scalar};
use crate::error::MpcError;

/// The scheme parameters whose shares this path signs with: the shipped ones (secp256k1; the
/// library is secp256k1 only here, and synedrion's `dev::TestParams` use another curve).
pub type P = crate::ProductionParams;

/// The curve every DKLs23 value is on (the library's k256 0.14).
pub type Curve = k256_dkls::Secp256k1;

/// The library's party: a member's whole signing state for one sharing.
pub(crate) type Party = dkls23::protocols::Party<Curve>;

/// A library scalar.
pub type DklsScalar = k256_dkls::Scalar;
/// A library point.
pub type DklsPoint = k256_dkls::AffinePoint;

/// keywheel's scalar as the library's.
pub fn scalar(value: &Scalar<P>) -> Result<DklsScalar, MpcError> {
    scalar_from_bytes(&scalar_to_bytes::<P>(value))
}

/// A library scalar from its 32-byte big-endian encoding; anything else (a value not below the
/// group order, another length) is an error.
pub fn scalar_from_bytes(bytes: &[u8]) -> Result<DklsScalar, MpcError> {
    let repr = k256_dkls::FieldBytes::try_from(bytes)
        .map_err(|_| MpcError::Conversion(format!("a scalar is 32 bytes, not {}", bytes.len())))?;
    Option::from(DklsScalar::from_repr(repr))
        .ok_or_else(|| MpcError::Conversion("a scalar not below the group order".into()))
}

/// keywheel's point as the library's.
pub fn point(value: &Point<P>) -> Result<DklsPoint, MpcError> {
    point_from_bytes(&point_to_bytes::<P>(value))
}

/// A library point from its 33-byte compressed SEC1 encoding.
pub fn point_from_bytes(bytes: &[u8]) -> Result<DklsPoint, MpcError> {
    let mut repr = <DklsPoint as GroupEncoding>::Repr::default();
    if bytes.len() != repr.len() {
        return Err(MpcError::Conversion(format!(
            "a compressed point is 33 bytes, not {}",
            bytes.len()
        )));
    }
    repr.copy_from_slice(bytes);
    Option::from(DklsPoint::from_bytes(&repr)).ok_or_else(|| MpcError::Conversion("not a curve point".into()))
}

/// A library point's 33-byte compressed SEC1 encoding (keywheel's wire form of a key).
pub fn point_to_compressed(value: &DklsPoint) -> Vec<u8> {
    value.to_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::{mul_generator, scalar_from_u64};
    use crate::ProductionParams as P;

    #[test]
    fn scalars_and_points_cross_unchanged() {
        let x = scalar_from_u64::<P>(0x1234_5678_9abc);
        let dx = scalar(&x).unwrap();
        assert_eq!(dx.to_repr().to_vec(), scalar_to_bytes::<P>(&x));
        let gx = mul_generator::<P>(&x);
        let dgx = point(&gx).unwrap();
        assert_eq!(point_to_compressed(&dgx), point_to_bytes::<P>(&gx));
        // The same scalar times the library's generator is the same point.
        let lib = (k256_dkls::ProjectivePoint::GENERATOR * dx).to_affine();
        assert_eq!(lib, dgx);
    }

    #[test]
    fn malformed_encodings_are_refused() {
        assert!(scalar_from_bytes(&[0xff; 32]).is_err());
        assert!(scalar_from_bytes(&[1; 31]).is_err());
        assert!(point_from_bytes(&[2; 32]).is_err());
        assert!(point_from_bytes(&[5; 33]).is_err());
    }
}
