mod conversion;
mod traits;

#[cfg(feature = "k256")]
pub mod k256;

#[cfg(any(test, feature = "dev"))]
pub mod dev;

pub use traits::SchemeParams;

pub(crate) use conversion::{
    public_signed_from_scalar, scalar_from_signed, scalar_from_wide_signed, secret_scalar_from_signed,
    secret_scalar_from_wide_signed, secret_signed_from_scalar,
};
pub(crate) use traits::chain_scheme_params;
