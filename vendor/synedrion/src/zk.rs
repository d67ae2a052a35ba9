//! ZK proofs used in the paper. The paper refers to them as "sigma-protocols".

mod aff_g;
mod aff_g_star;
mod dec;
mod elog;
mod enc_elg;
mod fac;
mod mod_;
mod prm;
mod sch;

pub(crate) use aff_g::{AffGProof, AffGPublicInputs, AffGSecretInputs};
pub(crate) use aff_g_star::{AffGStarProof, AffGStarPublicInputs, AffGStarSecretInputs};
pub(crate) use dec::{DecProof, DecPublicInputs, DecSecretInputs};
pub(crate) use elog::{ElogProof, ElogPublicInputs, ElogSecretInputs};
pub(crate) use enc_elg::{EncElgProof, EncElgPublicInputs, EncElgSecretInputs};
pub(crate) use fac::FacProof;
pub(crate) use mod_::ModProof;
pub(crate) use prm::PrmProof;
pub(crate) use sch::{SchCommitment, SchProof, SchSecret};
