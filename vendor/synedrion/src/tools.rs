pub(crate) mod bitvec;
mod boxed_rng;
pub(crate) mod hashing;
pub(crate) mod protocol_shortcuts;
mod secret;
pub(crate) mod sss;

#[cfg(test)]
pub(crate) mod protocol_shortcuts_dev;

pub(crate) use boxed_rng::BoxedRng;
pub(crate) use secret::Secret;
