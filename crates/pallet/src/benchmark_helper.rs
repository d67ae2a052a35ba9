//! What the benchmarks (`benchmarking.rs`) need from the runtime's `Crypto`, and its
//! implementation for `MpcCrypto`. Apart from the benchmarks so that `Config` can name it
//! without the pallet and its benchmarks importing each other.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use keywheel_chain::{AccountId as KeywheelAccount, Confirmation, OffenceContext, ReshareRecord};

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
    /// Evidence that `offender` misbehaved in the attempt of `offence`, which `Crypto` accepts;
    /// `None` when the helper cannot make any (the `report_offence` benchmark is then skipped).
    fn evidence(offence: &OffenceContext<'_>, offender: &KeywheelAccount) -> Option<Vec<u8>>;
}

/// [`BenchmarkHelper`] for [`crate::MpcCrypto`]: real sr25519 keys and a trusted dealer
/// (`keywheel-mpc`'s, which knows the parent secret) whose confirmations verify for real.
/// It makes no evidence: real evidence comes from a real cheating protocol run, which a runtime
/// cannot do, and no recorded fixture exists yet (`report_offence` is skipped).
#[cfg(feature = "mpc-crypto")]
pub struct MpcBenchmarkHelper;

#[cfg(feature = "mpc-crypto")]
mod mpc_helper {
    use super::*;
    use keywheel_chain::{attempt_context, proof_context};
    use keywheel_mpc::dealer::{encoded_public_shares, Dealer};
    use keywheel_mpc::kind::{protocol_session_id, ProtocolKind};
    use keywheel_mpc::{PartySigner, ProductionParams};
    use rand_chacha::rand_core::SeedableRng;

    /// The dealer's seed: the parent key is the same in every call.
    const DEALER_SEED: u64 = 0x6b65_7977_6865_656c;

    fn signer(i: u32) -> PartySigner {
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

        fn evidence(_offence: &OffenceContext<'_>, _offender: &KeywheelAccount) -> Option<Vec<u8>> {
            None
        }
    }
}
