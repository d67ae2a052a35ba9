//! The one decoder for keywheel's binary envelopes (peer frames, protocol messages, extrinsics,
//! key shares, evidence): exact and canonical. Exact: the bytes are one value and nothing more.
//! Canonical: they are the only encoding of that value — postcard also reads over-long varints,
//! and a value whose bytes can be changed without changing the value could have its hash (an
//! extrinsic's, a frame's) changed by anyone relaying it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why bytes are not the envelope they should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Larger than the envelope's limit.
    Oversized {
        /// The size given.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Another envelope version.
    Version {
        /// The version the bytes carry.
        found: u16,
        /// The version this build speaks.
        expected: u16,
    },
    /// Does not decode, has bytes after the value, or is not the value's canonical encoding.
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Oversized { size, max } => write!(f, "{size} bytes is over the limit of {max}"),
            Self::Version { found, expected } => {
                write!(f, "version {found} is not supported (this build speaks {expected})")
            }
            Self::Malformed(why) => f.write_str(why),
        }
    }
}

/// Encodes `value` (postcard).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("serializing plain data into a Vec cannot fail")
}

/// Decodes untrusted `bytes` as exactly one canonically encoded `T`.
pub fn decode_exact<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Malformed(format!("{} bytes after the value", rest.len())));
    }
    if encode(&value) != bytes {
        return Err(DecodeError::Malformed(
            "not in canonical form (an over-long number)".into(),
        ));
    }
    Ok(value)
}

/// Decodes a versioned envelope (a `T` whose first field is its `u16` version): checks the size
/// against `max`, the version against `expected` before decoding the rest, then
/// [`decode_exact`].
pub fn decode_versioned<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    expected: u16,
    max: usize,
) -> Result<T, DecodeError> {
    check_version(bytes, expected, max)?;
    decode_exact(bytes)
}

/// [`decode_versioned`] without the canonical check (still exact: nothing after the value), for
/// envelopes whose bytes are never hashed or compared (signed protocol messages, whose
/// signatures cover their own canonical digests; key shares read back from the keystore), where
/// re-encoding megabytes of AuxGen data on every read would double the cost of the protocols.
pub fn decode_versioned_exact<T: DeserializeOwned>(bytes: &[u8], expected: u16, max: usize) -> Result<T, DecodeError> {
    check_version(bytes, expected, max)?;
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Malformed(format!("{} bytes after the value", rest.len())));
    }
    Ok(value)
}

fn check_version(bytes: &[u8], expected: u16, max: usize) -> Result<(), DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::Oversized { size: bytes.len(), max });
    }
    let (found, _) = postcard::take_from_bytes::<u16>(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if found != expected {
        return Err(DecodeError::Version { found, expected });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Envelope {
        version: u16,
        value: u32,
    }

    #[test]
    fn only_the_exact_canonical_encoding_of_the_right_version_decodes() {
        let bytes = encode(&Envelope { version: 1, value: 127 });
        assert_eq!(bytes, [1, 127]);
        assert_eq!(
            decode_versioned::<Envelope>(&bytes, 1, 16),
            Ok(Envelope { version: 1, value: 127 })
        );
        assert!(matches!(
            decode_versioned::<Envelope>(&[1, 127, 0], 1, 16),
            Err(DecodeError::Malformed(m)) if m.contains("after")
        ));
        assert!(matches!(
            decode_versioned::<Envelope>(&[1, 0xff, 0], 1, 16),
            Err(DecodeError::Malformed(m)) if m.contains("canonical")
        ));
        assert_eq!(
            decode_versioned::<Envelope>(&[2, 127], 1, 16),
            Err(DecodeError::Version { found: 2, expected: 1 })
        );
        assert_eq!(
            decode_versioned::<Envelope>(&[1, 127], 1, 1),
            Err(DecodeError::Oversized { size: 2, max: 1 })
        );
        assert!(matches!(
            decode_versioned::<Envelope>(&[], 1, 16),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(decode_exact::<Envelope>(&[1]), Err(DecodeError::Malformed(_))));
        // The exact-only form refuses trailing bytes and other versions, not over-long numbers.
        assert!(decode_versioned_exact::<Envelope>(&[1, 0xff, 0], 1, 16).is_ok());
        assert!(decode_versioned_exact::<Envelope>(&[1, 127, 0], 1, 16).is_err());
        assert!(decode_versioned_exact::<Envelope>(&[2, 127], 1, 16).is_err());
    }
}
