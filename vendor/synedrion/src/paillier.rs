mod encryption;
mod keys;
mod params;
mod ring_pedersen;
mod rsa;

pub(crate) use encryption::{Ciphertext, CiphertextWire, MaskedRandomizer, Randomizer};
pub(crate) use keys::{PublicKeyPaillier, PublicKeyPaillierWire, SecretKeyPaillier, SecretKeyPaillierWire};
pub(crate) use params::{chain_paillier_params, PaillierParams};
pub(crate) use ring_pedersen::{RPCommitmentWire, RPParams, RPParamsWire, RPSecret};
