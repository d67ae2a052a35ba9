//! Shares of the parent key: keywheel's own threshold share (the output of resharing), its
//! conversion to and from synedrion's `ThresholdKeyShare`, and the `ParentKeyShare` a TSS keeps.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};

use elliptic_curve::{group::Group, Field};
use serde::{Deserialize, Serialize};
use synedrion::{AuxInfo, SchemeParams, ThresholdKeyShare};
use zeroize::{Zeroize, Zeroizing};

use crate::curve::{
    eval_commitments, lagrange_at_zero, mul_generator, point_from_bytes, point_to_bytes, scalar_from_u64, Point,
    Scalar, SerPoint, SerScalar,
};
use crate::error::MpcError;
use crate::identity::AccountId;
use keywheel_primitives::Dealt;

/// Version of the serialized `ParentKeyShare` envelope.
pub const SHARE_FORMAT_VERSION: u16 = 2;

/// The first share format, before shares kept what they were dealt from; still read.
pub const FIRST_SHARE_FORMAT_VERSION: u16 = 1;

/// The public side of a t-of-n sharing: who holds which share id and public key share.
/// This is what the chain records after every rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSharing<P: SchemeParams> {
    /// Minimum number of holders needed to sign or reshare.
    pub threshold: u32,
    /// Each holder's evaluation point.
    pub share_ids: BTreeMap<AccountId, Scalar<P>>,
    /// Each holder's public key share `x_i·G`.
    pub public_shares: BTreeMap<AccountId, Point<P>>,
}

impl<P: SchemeParams> PublicSharing<P> {
    /// Share ids `1..=n` for a committee, in the committee's (sorted) order.
    pub fn share_ids_for(committee: &BTreeSet<AccountId>) -> BTreeMap<AccountId, Scalar<P>> {
        committee
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, scalar_from_u64::<P>(i as u64 + 1)))
            .collect()
    }

    /// A sharing from untrusted compressed SEC1 public shares (share ids `1..=n` in holder
    /// order, as the chain records them).
    pub fn from_encoded(threshold: u32, public_shares: &BTreeMap<AccountId, Vec<u8>>) -> Result<Self, MpcError> {
        let holders: BTreeSet<AccountId> = public_shares.keys().copied().collect();
        let public_shares = public_shares
            .iter()
            .map(|(holder, bytes)| {
                point_from_bytes::<P>(bytes)
                    .map(|point| (*holder, point))
                    .ok_or_else(|| MpcError::Decode(format!("the public share of {holder:?} is not a curve point")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            threshold,
            share_ids: Self::share_ids_for(&holders),
            public_shares,
        })
    }

    /// Every holder's public key share, compressed SEC1: what confirmations carry and the chain
    /// records.
    pub fn encoded_public_shares(&self) -> BTreeMap<AccountId, Vec<u8>> {
        self.public_shares
            .iter()
            .map(|(id, point)| (*id, point_to_bytes::<P>(point)))
            .collect()
    }

    /// Checks untrusted encoded public shares (by holder) against `verifying_key`: they must
    /// lie on one polynomial of degree `threshold - 1` whose constant term is that key.
    pub fn check_encoded(
        verifying_key: &[u8],
        threshold: u32,
        public_shares: &BTreeMap<AccountId, Vec<u8>>,
    ) -> Result<(), MpcError> {
        Self::from_encoded(threshold, public_shares)?.check_verifying_key(verifying_key)
    }

    /// Checks that these public shares rebuild `verifying_key` (compressed SEC1).
    pub fn check_verifying_key(&self, verifying_key: &[u8]) -> Result<(), MpcError> {
        if point_to_bytes::<P>(&self.verifying_key_point()?) != verifying_key {
            return Err(MpcError::InvalidInput("the public shares rebuild another key".into()));
        }
        Ok(())
    }

    /// The key these public shares rebuild, after checking that all of them lie on one
    /// polynomial of degree `threshold - 1` (so any `threshold` holders rebuild the same key).
    pub fn verifying_key_point(&self) -> Result<Point<P>, MpcError> {
        let t = self.threshold as usize;
        if t == 0 || t > self.share_ids.len() {
            return Err(MpcError::InvalidInput(format!(
                "threshold {t} does not fit {} holders",
                self.share_ids.len()
            )));
        }
        if self.share_ids.keys().ne(self.public_shares.keys()) {
            return Err(MpcError::InvalidInput(
                "share ids and public shares name different holders".into(),
            ));
        }
        let base: Vec<(Scalar<P>, Point<P>)> = self
            .share_ids
            .iter()
            .take(t)
            .map(|(id, x)| (*x, self.public_shares[id]))
            .collect();
        let xs: Vec<Scalar<P>> = base.iter().map(|(x, _)| *x).collect();
        // Interpolate at an arbitrary point `at` from the base holders.
        let interpolate = |at: &Scalar<P>| -> Result<Point<P>, MpcError> {
            let mut acc = Point::<P>::identity();
            for (x, pt) in &base {
                let coeff =
                    lagrange_at::<P>(&xs, x, at).ok_or_else(|| MpcError::InvalidInput("duplicate share ids".into()))?;
                acc += *pt * coeff;
            }
            Ok(acc)
        };
        for (id, x) in self.share_ids.iter().skip(t) {
            if interpolate(x)? != self.public_shares[id] {
                return Err(MpcError::InvalidInput(format!(
                    "public share of {id:?} is not on the same degree-{} polynomial as the others",
                    t - 1
                )));
            }
        }
        let key = interpolate(&Scalar::<P>::ZERO)?;
        if bool::from(key.is_identity()) {
            return Err(MpcError::InvalidInput(
                "public shares rebuild the identity point".into(),
            ));
        }
        Ok(key)
    }
}

/// Lagrange coefficient of `me` among `xs`, evaluated at `at`.
fn lagrange_at<P: SchemeParams>(xs: &[Scalar<P>], me: &Scalar<P>, at: &Scalar<P>) -> Option<Scalar<P>> {
    if at == &Scalar::<P>::ZERO {
        return lagrange_at_zero::<P>(xs, me);
    }
    if xs.iter().filter(|x| *x == me).count() != 1 {
        return None;
    }
    let mut num = Scalar::<P>::ONE;
    let mut den = Scalar::<P>::ONE;
    for x in xs.iter().filter(|x| *x != me) {
        num *= *at - x;
        den *= *me - x;
    }
    Option::<Scalar<P>>::from(den.invert()).map(|inv| num * inv)
}

/// One holder's t-of-n share of the parent key, in keywheel's own form.
/// The secret is zeroized on drop and never printed.
pub struct ThresholdShare<P: SchemeParams> {
    owner: AccountId,
    secret: Scalar<P>,
    public: PublicSharing<P>,
    /// The parent verifying key, rebuilt from `public` once at construction (each rebuild
    /// interpolates every holder's public share).
    verifying_key: Point<P>,
}

impl<P: SchemeParams> Drop for ThresholdShare<P> {
    fn drop(&mut self) {
        self.secret = Scalar::<P>::ZERO;
    }
}

impl<P: SchemeParams> Clone for ThresholdShare<P> {
    fn clone(&self) -> Self {
        Self {
            owner: self.owner,
            secret: self.secret,
            public: self.public.clone(),
            verifying_key: self.verifying_key,
        }
    }
}

impl<P: SchemeParams> core::fmt::Debug for ThresholdShare<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThresholdShare")
            .field("owner", &self.owner)
            .field("threshold", &self.public.threshold)
            .field("holders", &self.public.share_ids.len())
            .finish_non_exhaustive()
    }
}

/// synedrion 0.3.0's serde form of `ThresholdKeyShare`: `owner, threshold, secret_share,
/// share_ids, public_shares` (maps as sequences of pairs, `ShareId` as its scalar).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct SynedrionForm<P: SchemeParams> {
    owner: AccountId,
    threshold: u32,
    secret_share: SerScalar<P>,
    share_ids: Vec<(AccountId, SerScalar<P>)>,
    public_shares: Vec<(AccountId, SerPoint<P>)>,
}

impl<P: SchemeParams> Drop for SynedrionForm<P> {
    fn drop(&mut self) {
        self.secret_share.zeroize();
    }
}

impl<P: SchemeParams> ThresholdShare<P> {
    /// Builds a share after checking it is consistent: the owner is a holder, the public shares
    /// lie on one degree `threshold-1` polynomial, and the secret matches the owner's public share.
    pub fn new(owner: AccountId, secret: Scalar<P>, public: PublicSharing<P>) -> Result<Self, MpcError> {
        let verifying_key = public.verifying_key_point()?;
        let share = Self {
            owner,
            secret,
            public,
            verifying_key,
        };
        let own = share
            .public
            .public_shares
            .get(&owner)
            .ok_or_else(|| MpcError::InvalidInput(format!("{owner:?} is not a holder of this sharing")))?;
        if mul_generator::<P>(&share.secret) != *own {
            return Err(MpcError::InvalidInput(
                "secret share does not match the owner's public share".into(),
            ));
        }
        Ok(share)
    }

    /// The holder of this share.
    pub fn owner(&self) -> AccountId {
        self.owner
    }

    /// The public side of the sharing.
    pub fn public(&self) -> &PublicSharing<P> {
        &self.public
    }

    /// The secret share (handle with care: never log or store it unencrypted).
    pub fn secret(&self) -> &Scalar<P> {
        &self.secret
    }

    /// The parent verifying key as a point.
    pub fn verifying_key_point(&self) -> Point<P> {
        self.verifying_key
    }

    /// Converts into synedrion's `ThresholdKeyShare` through its serde form.
    pub fn to_synedrion(&self) -> Result<ThresholdKeyShare<P, AccountId>, MpcError> {
        let form = SynedrionForm::<P> {
            owner: self.owner,
            threshold: self.public.threshold,
            secret_share: SerScalar::new(self.secret),
            share_ids: self
                .public
                .share_ids
                .iter()
                .map(|(k, v)| (*k, SerScalar::new(*v)))
                .collect(),
            public_shares: self
                .public
                .public_shares
                .iter()
                .map(|(k, v)| (*k, SerPoint::new(*v)))
                .collect(),
        };
        let bytes = Zeroizing::new(postcard::to_allocvec(&form).map_err(MpcError::encode)?);
        postcard::from_bytes(&bytes).map_err(|e| MpcError::Conversion(format!("into synedrion form: {e}")))
    }

    /// Converts from synedrion's `ThresholdKeyShare`, re-checking consistency.
    pub fn from_synedrion(share: &ThresholdKeyShare<P, AccountId>) -> Result<Self, MpcError> {
        let bytes = Zeroizing::new(postcard::to_allocvec(share).map_err(MpcError::encode)?);
        let form: SynedrionForm<P> =
            postcard::from_bytes(&bytes).map_err(|e| MpcError::Conversion(format!("from synedrion form: {e}")))?;
        let public = PublicSharing {
            threshold: form.threshold,
            share_ids: form.share_ids.iter().map(|(k, v)| (*k, v.0)).collect(),
            public_shares: form.public_shares.iter().map(|(k, v)| (*k, v.0)).collect(),
        };
        Self::new(form.owner, form.secret_share.0, public)
    }
}

/// The key that these holders' secret shares stand for together: `Σ λᵢ(0)·sᵢ·G`, each share
/// at the id its own sharing gives it. It is the parent key when they are `t` shares of one
/// sharing of it, and an unrelated point when shares of different sharings are mixed (an old
/// share next to new ones). No secret is combined: each share contributes a point.
pub fn combined_key<P: SchemeParams>(shares: &[&ThresholdShare<P>]) -> Result<Point<P>, MpcError> {
    let ids = shares
        .iter()
        .map(|s| {
            s.public
                .share_ids
                .get(&s.owner)
                .copied()
                .ok_or_else(|| MpcError::InvalidInput(format!("{:?} has no id in its own sharing", s.owner)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut key = Point::<P>::identity();
    for (share, id) in shares.iter().zip(&ids) {
        let lambda = lagrange_at_zero::<P>(&ids, id)
            .ok_or_else(|| MpcError::InvalidInput("two shares have the same id".into()))?;
        key += mul_generator::<P>(&(lambda * share.secret));
    }
    Ok(key)
}

/// Everything a committee member needs to sign with the parent key: its threshold share and
/// the auxiliary (Paillier) information from AuxGen for the same committee — and, for a share
/// made by a reshare, what every staying holder dealt for it (its confirmation carries that).
pub struct ParentKeyShare<P: SchemeParams> {
    /// The threshold share of the parent key.
    pub share: ThresholdShare<P>,
    /// AuxGen output for the committee holding `share`.
    pub aux: AuxInfo<P, AccountId>,
    /// The staying holders' endorsed commitments this share was dealt from (empty for a share
    /// read back from the first format, which did not keep them).
    pub dealt: Dealt,
}

impl<P: SchemeParams> Clone for ParentKeyShare<P> {
    fn clone(&self) -> Self {
        Self {
            share: self.share.clone(),
            aux: self.aux.clone(),
            dealt: self.dealt.clone(),
        }
    }
}

impl<P: SchemeParams> core::fmt::Debug for ParentKeyShare<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParentKeyShare")
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct ParentKeyShareEnvelope<P: SchemeParams> {
    version: u16,
    share: SynedrionForm<P>,
    aux: AuxInfo<P, AccountId>,
    dealt: Dealt,
}

/// The first format ([`FIRST_SHARE_FORMAT_VERSION`]), without `dealt`: still read, so a keystore
/// written before the second format keeps its shares.
#[derive(Deserialize)]
#[serde(bound = "")]
struct FirstParentKeyShareEnvelope<P: SchemeParams> {
    #[allow(dead_code)]
    version: u16,
    share: SynedrionForm<P>,
    aux: AuxInfo<P, AccountId>,
}

impl<P: SchemeParams> ParentKeyShare<P> {
    /// Pairs a share with aux info, checking both belong to the same owner and committee.
    pub fn new(share: ThresholdShare<P>, aux: AuxInfo<P, AccountId>) -> Result<Self, MpcError> {
        if aux.owner() != &share.owner() {
            return Err(MpcError::InvalidInput("aux info belongs to another party".into()));
        }
        let holders: BTreeSet<AccountId> = share.public().share_ids.keys().copied().collect();
        // `subset` fails if any holder is missing from the aux info.
        aux.clone()
            .subset(&holders)
            .map_err(|e| MpcError::InvalidInput(format!("aux info does not cover the committee: {e}")))?;
        Ok(Self {
            share,
            aux,
            dealt: Dealt::new(),
        })
    }

    /// The same share, with what it was dealt from.
    pub fn with_dealt(mut self, dealt: Dealt) -> Self {
        self.dealt = dealt;
        self
    }

    /// The parent verifying key.
    pub fn verifying_key(&self) -> Result<ecdsa::VerifyingKey<P::Curve>, MpcError> {
        ecdsa::VerifyingKey::from_affine(elliptic_curve::group::Curve::to_affine(
            &self.share.verifying_key_point(),
        ))
        .map_err(|_| MpcError::InvalidInput("parent key is the identity".into()))
    }

    /// Compressed SEC1 bytes of the parent verifying key.
    pub fn verifying_key_bytes(&self) -> Vec<u8> {
        point_to_bytes::<P>(&self.share.verifying_key_point())
    }

    /// Serializes into the versioned binary envelope (the bytes hold secrets: encrypt them).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, MpcError> {
        let envelope = ParentKeyShareEnvelope::<P> {
            version: SHARE_FORMAT_VERSION,
            share: SynedrionForm {
                owner: self.share.owner,
                threshold: self.share.public.threshold,
                secret_share: SerScalar::new(self.share.secret),
                share_ids: self
                    .share
                    .public
                    .share_ids
                    .iter()
                    .map(|(k, v)| (*k, SerScalar::new(*v)))
                    .collect(),
                public_shares: self
                    .share
                    .public
                    .public_shares
                    .iter()
                    .map(|(k, v)| (*k, SerPoint::new(*v)))
                    .collect(),
            },
            aux: self.aux.clone(),
            dealt: self.dealt.clone(),
        };
        Ok(Zeroizing::new(
            postcard::to_allocvec(&envelope).map_err(MpcError::encode)?,
        ))
    }

    /// Parses the versioned envelope (this format or the first), rejecting unknown versions and
    /// inconsistent shares.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        use keywheel_primitives::envelope::{decode_versioned_exact, DecodeError};
        let decode_error = |e: DecodeError| MpcError::Decode(format!("key share envelope: {e}"));
        let (form, aux, dealt) =
            match decode_versioned_exact::<ParentKeyShareEnvelope<P>>(bytes, SHARE_FORMAT_VERSION, usize::MAX) {
                Ok(e) => (e.share, e.aux, e.dealt),
                Err(DecodeError::Version { found, .. }) if found == FIRST_SHARE_FORMAT_VERSION => {
                    let e: FirstParentKeyShareEnvelope<P> =
                        decode_versioned_exact(bytes, FIRST_SHARE_FORMAT_VERSION, usize::MAX).map_err(decode_error)?;
                    (e.share, e.aux, Dealt::new())
                }
                Err(e) => return Err(decode_error(e)),
            };
        let public = PublicSharing {
            threshold: form.threshold,
            share_ids: form.share_ids.iter().map(|(k, v)| (*k, v.0)).collect(),
            public_shares: form.public_shares.iter().map(|(k, v)| (*k, v.0)).collect(),
        };
        let share = ThresholdShare::new(form.owner, form.secret_share.0, public)?;
        Ok(Self::new(share, aux)?.with_dealt(dealt))
    }
}

/// The commitment to a holder's share implied by Feldman commitments (used by resharing).
pub(crate) fn committed_share<P: SchemeParams>(commitments: &[Point<P>], share_id: &Scalar<P>) -> Point<P> {
    eval_commitments::<P>(commitments, share_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dealer::Dealer;
    use crate::tests::{ids, signers, TP};

    #[test]
    fn t_shares_of_one_sharing_combine_to_the_key_and_an_old_share_does_not() {
        let people = signers(6);
        let mut dealer = Dealer::<TP>::new(7);
        let key = point_from_bytes::<TP>(&dealer.verifying_key()).unwrap();
        let old = dealer.deal(&ids(&people[..5]), 3);
        let new = dealer.deal(&ids(&people[1..]), 3);
        let (p, q, r) = (people[1].account(), people[2].account(), people[3].account());
        assert_eq!(combined_key::<TP>(&[&new[&p], &new[&q], &new[&r]]).unwrap(), key);
        assert_eq!(combined_key::<TP>(&[&old[&p], &old[&q], &old[&r]]).unwrap(), key);
        // The departed holder's old share (id 1) with two new shares at other ids.
        let departed = people[0].account();
        let (s, t) = (people[4].account(), people[5].account());
        assert_ne!(new[&s].public.share_ids[&s], old[&departed].public.share_ids[&departed]);
        assert_ne!(combined_key::<TP>(&[&old[&departed], &new[&s], &new[&t]]).unwrap(), key);
        // Too few shares stand for another point too.
        assert_ne!(combined_key::<TP>(&[&new[&p], &new[&q]]).unwrap(), key);
        // Two shares at one id cannot be combined.
        assert!(combined_key::<TP>(&[&old[&departed], &new[&p], &new[&q]]).is_err());
    }

    /// A keystore written before shares kept what they were dealt from still reads: a share in
    /// the first format decodes, with nothing dealt; one in the current format keeps its deals;
    /// an unknown version is refused.
    #[test]
    fn a_share_of_the_first_format_still_reads() {
        let people = signers(3);
        let committee = ids(&people);
        let mut dealer = Dealer::<TP>::new(9);
        let (shares, dealt) = dealer.deal_through(&committee, 2, &people, b"session");
        let me = people[0].account();
        let aux = synedrion::AuxInfo::<TP, AccountId>::new_centralized(&mut rand_core::OsRng, &committee);
        let share = ParentKeyShare::new(shares[&me].clone(), aux[&me].clone())
            .unwrap()
            .with_dealt(dealt.clone());
        let current = share.to_bytes().unwrap();
        assert_eq!(current[0] as u16, SHARE_FORMAT_VERSION);
        let read = ParentKeyShare::<TP>::from_bytes(&current).unwrap();
        assert_eq!(read.dealt, dealt);
        assert_eq!(read.share.secret(), share.share.secret());

        // The first format is the same fields without `dealt`.
        let first = {
            let plain = ParentKeyShare::new(shares[&me].clone(), aux[&me].clone()).unwrap();
            let bytes = plain.to_bytes().unwrap();
            assert_eq!(bytes.last(), Some(&0), "an empty map of deals is one zero byte");
            let mut first = bytes[..bytes.len() - 1].to_vec();
            first[0] = FIRST_SHARE_FORMAT_VERSION as u8;
            first
        };
        let read = ParentKeyShare::<TP>::from_bytes(&first).unwrap();
        assert!(read.dealt.is_empty());
        assert_eq!(read.share.secret(), share.share.secret());
        assert_eq!(read.share.public(), share.share.public());

        let mut unknown = current.to_vec();
        unknown[0] = 9;
        assert!(ParentKeyShare::<TP>::from_bytes(&unknown).is_err());
    }
}
