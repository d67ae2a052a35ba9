//! What the benchmarks (`benchmarking.rs`) need from the runtime's `Crypto`, and its
//! implementation for `MpcCrypto`. Apart from the benchmarks so that `Config` can name it
//! without the pallet and its benchmarks importing each other.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use keywheel_chain::{AccountId as KeywheelAccount, Confirmation, EvidenceCost, OffenceContext, ReshareRecord};

/// What the benchmarks need that only the runtime's `Config::Crypto` can accept.
pub trait BenchmarkHelper {
    /// The account of benchmark TSS `i`.
    fn tss(i: u32) -> KeywheelAccount;
    /// TSS `i`'s signature over `message` under `context` (its declaration).
    fn sign(i: u32, context: &[u8], message: &[u8]) -> Vec<u8>;
    /// A confirmation per new member of `record`, all of one sharing of one parent key (the
    /// same key in every call), dealt through the record's dealers; `signers` gives each
    /// dealer's `i`. The same `variant` gives the same sharing; another variant, another
    /// sharing of the same key, in which every dealer's commitments differ.
    fn confirmations(
        network: &[u8; 32],
        record: &ReshareRecord,
        signers: &BTreeMap<KeywheelAccount, u32>,
        variant: u32,
    ) -> BTreeMap<KeywheelAccount, Confirmation>;
    /// Evidence that `offender` misbehaved in the attempt of `offence`, which `Crypto` accepts
    /// and whose check costs `cost`, of `len` bytes where it can be made that long (a byte or
    /// two less where a length prefix grows, its natural length where that is more); `None`
    /// when the helper has none for this attempt and offender (the benchmark then stops with
    /// an error).
    fn evidence(
        offence: &OffenceContext<'_>,
        offender: &KeywheelAccount,
        cost: EvidenceCost,
        len: u32,
    ) -> Option<Vec<u8>>;
}

/// [`BenchmarkHelper`] for [`crate::MpcCrypto`]: real sr25519 keys and a trusted dealer
/// (`keywheel-mpc`'s, which knows the parent secret) whose confirmations verify for real.
/// Its evidence is recorded: a runtime cannot run a cheating protocol, so a test
/// (`record_the_report_offence_evidence`, run by hand) ran the `report_offence` benchmarks'
/// attempt with a cheating member and stored what an honest member named it with, in
/// `benchmarks/`.
#[cfg(feature = "mpc-crypto")]
pub struct MpcBenchmarkHelper;

#[cfg(all(test, feature = "mpc-crypto"))]
pub(crate) use mpc_helper::{signer, AUX_GEN_EVIDENCE, DEALER_SEED, RESHARE_EVIDENCE};

#[cfg(feature = "mpc-crypto")]
mod mpc_helper {
    use super::*;
    use keywheel_chain::{attempt_context, proof_context};
    use keywheel_mpc::dealer::{encoded_public_shares, Dealer};
    use keywheel_mpc::evidence::EvidenceBlob;
    use keywheel_mpc::kind::{protocol_session_id, ProtocolKind};
    use keywheel_mpc::{PartySigner, ProductionParams};
    use rand_chacha::rand_core::SeedableRng;

    /// The dealer's seed: the parent key is the same in every call.
    pub(crate) const DEALER_SEED: u64 = 0x6b65_7977_6865_656c;

    /// Evidence that the second staying member of the `report_offence` benchmarks' attempt
    /// (a committee of 15 among 100 validators, the helper's keys and dealer) sealed a subshare
    /// that does not match its commitments: the resharing fault whose check costs the most.
    pub(crate) const RESHARE_EVIDENCE: &[u8] = include_bytes!("../benchmarks/reshare-evidence.bin");
    /// Evidence that the same member spoiled the last element of its AuxGen `Π^mod` proof: the
    /// chain checks the whole proof.
    pub(crate) const AUX_GEN_EVIDENCE: &[u8] = include_bytes!("../benchmarks/aux-gen-evidence.bin");

    /// Benchmark TSS `i`'s signing key.
    pub(crate) fn signer(i: u32) -> PartySigner {
        let mut seed = [0x5a; 32];
        seed[..4].copy_from_slice(&i.to_le_bytes());
        PartySigner::from_seed(&seed)
    }

    impl BenchmarkHelper for MpcBenchmarkHelper {
        fn tss(i: u32) -> KeywheelAccount {
            signer(i).account()
        }

        fn sign(i: u32, context: &[u8], message: &[u8]) -> Vec<u8> {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(i as u64);
            signer(i).sign_with_rng(&mut rng, context, message).0.to_vec()
        }

        fn confirmations(
            network: &[u8; 32],
            record: &ReshareRecord,
            signers: &BTreeMap<KeywheelAccount, u32>,
            variant: u32,
        ) -> BTreeMap<KeywheelAccount, Confirmation> {
            let committee = record.new_tss();
            let dealers: Vec<PartySigner> = record.dealers().iter().map(|d| signer(signers[d])).collect();
            let sid = protocol_session_id(
                ProtocolKind::Reshare,
                &attempt_context(network, record.session, record.attempt),
            );
            // Each deal draws new coefficients and parts for the same secret.
            let mut dealer = Dealer::<ProductionParams>::new(DEALER_SEED);
            let mut deal = || dealer.deal_through(&committee, record.new_threshold, &dealers, sid.as_ref());
            let mut dealt_sharing = deal();
            for _ in 0..variant {
                dealt_sharing = deal();
            }
            let (shares, dealt) = dealt_sharing;
            let Some(any) = shares.values().next() else {
                return BTreeMap::new();
            };
            let public_shares = encoded_public_shares::<ProductionParams>(any.public());
            shares
                .iter()
                .map(|(member, share)| {
                    let context = proof_context(network, record.session, record.attempt, member);
                    let confirmation = Confirmation {
                        verifying_key: dealer.verifying_key(),
                        public_shares: public_shares.clone(),
                        proof: dealer.prove(share, &context),
                        dealt: dealt.clone(),
                    };
                    (*member, confirmation)
                })
                .collect()
        }

        fn evidence(
            offence: &OffenceContext<'_>,
            offender: &KeywheelAccount,
            cost: EvidenceCost,
            len: u32,
        ) -> Option<Vec<u8>> {
            let recorded = match cost {
                EvidenceCost::Curve => RESHARE_EVIDENCE,
                EvidenceCost::Paillier => AUX_GEN_EVIDENCE,
            };
            let blob = EvidenceBlob::from_bytes(recorded).ok()?;
            let kind = match cost {
                EvidenceCost::Curve => ProtocolKind::Reshare,
                EvidenceCost::Paillier => ProtocolKind::AuxGen,
            };
            let sid = protocol_session_id(kind, &offence.attempt_context);
            if blob.offender != *offender || blob.protocol_session_id != sid.as_ref() {
                return None;
            }
            // The free-text description is not signed and nothing is decided on it, so padding
            // it gives valid evidence of any length: what a reporter may send. Its length
            // prefix may grow by a byte or two with it.
            let natural = blob.to_bytes().len();
            let pad = (len as usize).saturating_sub(natural);
            (0..=pad.min(2)).find_map(|less| {
                let mut padded = blob.clone();
                padded.description.extend(core::iter::repeat_n(' ', pad - less));
                let bytes = padded.to_bytes();
                (bytes.len() <= natural.max(len as usize)).then_some(bytes)
            })
        }
    }
}
