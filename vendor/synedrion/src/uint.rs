mod public_signed;
mod secret_signed;
mod secret_unsigned;
mod traits;

pub(crate) use public_signed::PublicSigned;
pub(crate) use secret_signed::SecretSigned;
pub(crate) use secret_unsigned::SecretUnsigned;
pub(crate) use traits::{Exponentiable, FromXofReader, HasWide, IsInvertible, ToMontgomery};
