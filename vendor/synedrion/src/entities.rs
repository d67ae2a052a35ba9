mod full;
mod internal;
mod threshold;

pub use full::{AuxInfo, KeyShare, KeyShareChange};
pub use threshold::ThresholdKeyShare;

pub(crate) use full::{
    AuxInfoPrecomputed, PublicAuxInfo, PublicAuxInfoPrecomputed, PublicAuxInfos, PublicKeyShares, SecretAuxInfo,
};
pub(crate) use internal::Sid;
