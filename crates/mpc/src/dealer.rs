//! A trusted dealer, for tests only (feature `test-utils`): it knows a parent secret and deals
//! fresh, consistent sharings of it to any committee, so tests of the chain and the node can
//! confirm rotations without running the protocols (which this crate's own tests run).

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};

use elliptic_curve::Field;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use synedrion::SchemeParams;

use keywheel_primitives::domain::DEAL_ENDORSEMENT;
use keywheel_primitives::{Dealt, Endorsed};

use crate::curve::{mul_generator, point_to_bytes, scalar_from_u64, Scalar};
use crate::identity::{AccountId, PartySigner};
use crate::proof::ShareProof;
use crate::reshare::endorsement_message;
use crate::share::{PublicSharing, ThresholdShare};

/// Knows one parent secret; deals sharings of it.
pub struct Dealer<P: SchemeParams> {
    secret: Scalar<P>,
    rng: ChaCha20Rng,
}

impl<P: SchemeParams> Dealer<P> {
    /// A dealer whose secret (and every later draw) follows from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = Scalar::<P>::random(&mut rng);
        Self { secret, rng }
    }

    /// The parent verifying key (compressed SEC1).
    pub fn verifying_key(&self) -> Vec<u8> {
        point_to_bytes::<P>(&mul_generator::<P>(&self.secret))
    }

    /// A fresh `threshold`-of-committee sharing of the secret (share ids `1..=n` in committee
    /// order, as the chain and the protocols use them).
    pub fn deal(&mut self, committee: &BTreeSet<AccountId>, threshold: u32) -> BTreeMap<AccountId, ThresholdShare<P>> {
        self.deal_through(committee, threshold, &[], b"").0
    }

    /// [`Self::deal`], the sharing's polynomial split into one random part per signer of
    /// `dealers`, each part's commitments endorsed by its dealer for the reshare session
    /// `protocol_session_id`: what a confirmation carries as `dealt`. With no dealers, nothing
    /// is dealt.
    pub fn deal_through(
        &mut self,
        committee: &BTreeSet<AccountId>,
        threshold: u32,
        dealers: &[PartySigner],
        protocol_session_id: &[u8],
    ) -> (BTreeMap<AccountId, ThresholdShare<P>>, Dealt) {
        let mut coefficients = vec![self.secret];
        for _ in 1..threshold {
            coefficients.push(Scalar::<P>::random(&mut self.rng));
        }
        let mut dealt = Dealt::new();
        let mut rest = coefficients.clone();
        for (k, dealer) in dealers.iter().enumerate() {
            let part: Vec<Scalar<P>> = if k + 1 == dealers.len() {
                rest.clone()
            } else {
                (0..threshold).map(|_| Scalar::<P>::random(&mut self.rng)).collect()
            };
            for (r, p) in rest.iter_mut().zip(&part) {
                *r -= p;
            }
            let commitments: Vec<Vec<u8>> = part
                .iter()
                .map(|c| point_to_bytes::<P>(&mul_generator::<P>(c)))
                .collect();
            let message = endorsement_message(protocol_session_id, &commitments);
            let endorsement = dealer.sign_with_rng(&mut self.rng, DEAL_ENDORSEMENT, &message);
            dealt.insert(
                dealer.account(),
                Endorsed {
                    commitments,
                    endorsement: endorsement.0.to_vec(),
                },
            );
        }
        let secrets: BTreeMap<AccountId, Scalar<P>> = committee
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let x = scalar_from_u64::<P>(i as u64 + 1);
                (
                    *id,
                    coefficients.iter().rev().fold(Scalar::<P>::ZERO, |acc, c| acc * x + c),
                )
            })
            .collect();
        let public = PublicSharing {
            threshold,
            share_ids: PublicSharing::<P>::share_ids_for(committee),
            public_shares: secrets.iter().map(|(id, s)| (*id, mul_generator::<P>(s))).collect(),
        };
        let shares = secrets
            .into_iter()
            .map(|(id, secret)| {
                let share = ThresholdShare::new(id, secret, public.clone()).expect("a dealt share is consistent");
                (id, share)
            })
            .collect();
        (shares, dealt)
    }

    /// The encoded proof that `share`'s holder knows its secret, bound to `context`.
    pub fn prove(&mut self, share: &ThresholdShare<P>, context: &[u8]) -> Vec<u8> {
        ShareProof::prove::<P>(&mut self.rng, share.secret(), context).to_bytes()
    }
}

/// Every holder's public key share, compressed SEC1.
pub fn encoded_public_shares<P: SchemeParams>(sharing: &PublicSharing<P>) -> BTreeMap<AccountId, Vec<u8>> {
    sharing.encoded_public_shares()
}
