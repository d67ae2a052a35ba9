//! Test harness for the chain rules.
//!
//! - [`TestCrypto`] checks sharings and share proofs for real, with [`MpcCrypto`] (production
//!   parameters, secp256k1). Evidence verification is a **test double**: evidence is valid iff
//!   it is `b"guilty" || offender || attempt context` (the rules only see the trait).
//! - [`Dealer`] knows the parent secret and deals consistent sharings to any committee, so tests
//!   can confirm rotations without running the protocols (which `keywheel-mpc` tests).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use keywheel_chain::MpcCrypto;
use keywheel_chain::{
    attempt_context, proof_context, tss_declaration, AccountId, AttemptIndex, AttemptProtocol, Balance, Call,
    ChainError, Confirmation, Crypto, Dealt, Event, Genesis, OffenceContext, Origin, Params, ReportedRound,
    ReshareRecord, SessionIndex, Silence, TssInfo, TSS_DECLARATION,
};
use keywheel_mpc::dealer::encoded_public_shares;
use keywheel_mpc::kind::{protocol_session_id, ProtocolKind};
use keywheel_mpc::proof::ShareProof;
use keywheel_mpc::{PartySigner, ProductionParams, PublicSharing};
use sha2::{Digest, Sha256};

#[cfg(keywheel_pallet_harness)]
pub use crate::harness::Chain;
/// The chain the tests drive: the dev node's, or — when `pallet-keywheel` includes these tests
/// (its build script sets `keywheel_pallet_harness`) — its harness, which applies every step
/// to the dev node's chain and to the pallet in a mock runtime and checks they agree.
#[cfg(not(keywheel_pallet_harness))]
pub use keywheel_chain::Chain;

type P = ProductionParams;

pub const NETWORK: [u8; 32] = [7; 32];
pub const FUNDS: Balance = 1_000_000;
pub const BOND: Balance = 10_000;

/// The real [`MpcCrypto`] for sharings, share proofs, signatures and deals; a test double for
/// evidence.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestCrypto;

impl Crypto for TestCrypto {
    fn verify_sharing(
        &self,
        verifying_key: &[u8],
        threshold: u32,
        public_shares: &BTreeMap<AccountId, Vec<u8>>,
    ) -> Result<(), String> {
        MpcCrypto.verify_sharing(verifying_key, threshold, public_shares)
    }

    fn verify_share_proof(&self, public_share: &[u8], context: &[u8], proof: &[u8]) -> Result<(), String> {
        MpcCrypto.verify_share_proof(public_share, context, proof)
    }

    fn verify_account_signature(&self, account: &AccountId, context: &[u8], message: &[u8], signature: &[u8]) -> bool {
        MpcCrypto.verify_account_signature(account, context, message, signature)
    }

    fn shares_from_deals(
        &self,
        attempt_context: &[u8],
        new_committee: &BTreeSet<AccountId>,
        threshold: u32,
        dealt: &Dealt,
    ) -> Result<BTreeMap<AccountId, Vec<u8>>, String> {
        MpcCrypto.shares_from_deals(attempt_context, new_committee, threshold, dealt)
    }

    fn verify_offence(
        &self,
        offence: &OffenceContext<'_>,
        offender: &AccountId,
        evidence: &[u8],
    ) -> Result<[u8; 32], String> {
        if evidence != fake_evidence(offender, &offence.attempt_context) {
            return Err("test double: not the evidence against this party in this attempt".into());
        }
        Ok(Sha256::digest(evidence).into())
    }
}

/// The only evidence [`TestCrypto`] accepts against `offender` in an attempt.
pub fn fake_evidence(offender: &AccountId, attempt_context: &[u8]) -> Vec<u8> {
    let mut e = b"guilty".to_vec();
    e.extend_from_slice(&offender.0);
    e.extend_from_slice(attempt_context);
    e
}

pub fn evidence_for(offender: AccountId, session: SessionIndex, attempt: AttemptIndex) -> Vec<u8> {
    fake_evidence(&offender, &attempt_context(&NETWORK, session, attempt))
}

/// Deals consistent sharings of one parent secret ([`keywheel_mpc::dealer::Dealer`]) and
/// turns them into confirmations.
pub struct Dealer(keywheel_mpc::dealer::Dealer<P>);

impl Dealer {
    pub fn new(seed: u64) -> Self {
        Self(keywheel_mpc::dealer::Dealer::new(seed))
    }

    pub fn verifying_key(&self) -> Vec<u8> {
        self.0.verifying_key()
    }

    /// A confirmation per new member of `record`, all of one fresh sharing, dealt through the
    /// attempt's dealers (each endorsing its part with its real key).
    pub fn confirmations(&mut self, record: &ReshareRecord) -> BTreeMap<AccountId, Confirmation> {
        let committee: BTreeSet<AccountId> = record.new_tss().iter().copied().collect();
        let dealers: Vec<PartySigner> = record.dealers().iter().map(|d| tss_signer(tss_index(d))).collect();
        let context = attempt_context(&NETWORK, record.session, record.attempt);
        let sid = protocol_session_id(ProtocolKind::Reshare, &context);
        let (shares, dealt) = self
            .0
            .deal_through(&committee, record.new_threshold, &dealers, sid.as_ref());
        let public = encoded_public_shares::<P>(shares.values().next().expect("a committee").public());
        let public_shares: BTreeMap<AccountId, Vec<u8>> = public.into_iter().collect();
        shares
            .iter()
            .map(|(id, share)| {
                let member = *id;
                let context = proof_context(&NETWORK, record.session, record.attempt, &member);
                let confirmation = Confirmation {
                    verifying_key: self.verifying_key(),
                    public_shares: public_shares.clone(),
                    proof: self.0.prove(share, &context),
                    dealt: dealt.clone(),
                };
                (member, confirmation)
            })
            .collect()
    }
}

/// Two confirmations per new member of `record` that differ only in what `equivocator` dealt:
/// the first as [`Dealer::confirmations`] makes them; in the second, `equivocator`'s polynomial
/// plus a random one with no constant term (so the key stays and every share moves), endorsed
/// by it as well. Both are valid on their own.
pub fn equivocated(
    dealer: &mut Dealer,
    record: &ReshareRecord,
    equivocator: AccountId,
) -> (BTreeMap<AccountId, Confirmation>, BTreeMap<AccountId, Confirmation>) {
    use keywheel_mpc::curve::{mul_generator, point_from_bytes, point_to_bytes, random_scalar};
    let committee: BTreeSet<AccountId> = record.new_tss();
    let dealers: Vec<PartySigner> = record.dealers().iter().map(|d| tss_signer(tss_index(d))).collect();
    let sid = protocol_session_id(
        ProtocolKind::Reshare,
        &attempt_context(&NETWORK, record.session, record.attempt),
    );
    let (shares, dealt) = dealer
        .0
        .deal_through(&committee, record.new_threshold, &dealers, sid.as_ref());
    let mut g = vec![keywheel_mpc::curve::scalar_from_u64::<P>(0)];
    for _ in 1..record.new_threshold {
        g.push(random_scalar::<P>(&mut rand_core::OsRng));
    }
    let mut second_dealt = dealt.clone();
    let entry = second_dealt.get_mut(&equivocator).expect("the equivocator deals");
    for (c, k) in entry.commitments.iter_mut().zip(&g) {
        *c = point_to_bytes::<P>(&(point_from_bytes::<P>(c).unwrap() + mul_generator::<P>(k)));
    }
    let signer = tss_signer(tss_index(&equivocator));
    entry.endorsement = signer
        .sign(
            keywheel_chain::DEAL_ENDORSEMENT,
            &keywheel_mpc::reshare::endorsement_message(sid.as_ref(), &entry.commitments),
        )
        .0
        .to_vec();
    let ids = PublicSharing::<P>::share_ids_for(&committee);
    let moved = |x: &keywheel_mpc::curve::Scalar<P>, id| *x + keywheel_mpc::curve::eval_poly::<P>(&g, id);
    let confirm = |secrets: &BTreeMap<AccountId, keywheel_mpc::curve::Scalar<P>>, dealt: &Dealt| {
        let public_shares: BTreeMap<AccountId, Vec<u8>> = secrets
            .iter()
            .map(|(m, x)| (*m, point_to_bytes::<P>(&mul_generator::<P>(x))))
            .collect();
        secrets
            .iter()
            .map(|(m, x)| {
                let context = proof_context(&NETWORK, record.session, record.attempt, m);
                let proof = ShareProof::prove::<P>(&mut rand_core::OsRng, x, &context).to_bytes();
                let confirmation = Confirmation {
                    verifying_key: dealer.verifying_key(),
                    public_shares: public_shares.clone(),
                    proof,
                    dealt: dealt.clone(),
                };
                (*m, confirmation)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let first: BTreeMap<_, _> = shares.iter().map(|(m, s)| (*m, *s.secret())).collect();
    let second: BTreeMap<_, _> = shares.iter().map(|(m, s)| (*m, moved(s.secret(), &ids[m]))).collect();
    (confirm(&first, &dealt), confirm(&second, &second_dealt))
}

pub fn stash(i: u8) -> AccountId {
    AccountId([i; 32])
}

/// TSS `i`'s key: a real sr25519 key, so it can sign its declaration.
pub fn tss_signer(i: u8) -> PartySigner {
    PartySigner::from_seed(&[i.wrapping_add(100); 32])
}

pub fn tss(i: u8) -> AccountId {
    tss_signer(i).account()
}

/// The `i` of [`tss`]`(i)`.
pub fn tss_index(account: &AccountId) -> u8 {
    (0..=u8::MAX).find(|i| tss(*i) == *account).expect("a test TSS account")
}

/// `stash` declares `info`, signed by `signer` (the declaration's TSS key, for honest calls).
pub fn declare(stash: &AccountId, info: TssInfo, signer: &PartySigner) -> Call {
    let declaration = tss_declaration(&NETWORK, stash, &info.endpoint, &info.x25519);
    Call::Validate {
        proof: signer.sign(TSS_DECLARATION, &declaration).0.to_vec(),
        tss: info,
    }
}

/// `stash` declares TSS `i`, signed by it.
pub fn validate_call(stash: &AccountId, i: u8) -> Call {
    declare(stash, tss_info(i), &tss_signer(i))
}

pub fn tss_info(i: u8) -> TssInfo {
    TssInfo {
        account: tss(i),
        endpoint: format!("127.0.0.1:{}", 9000 + i as u16),
        x25519: [i; 32],
    }
}

/// Fast-moving parameters for tests: committee of 3, threshold 2.
pub fn params() -> Params {
    Params {
        committee_size: 3,
        threshold: 2,
        session_length: 10,
        reshare_deadline: 5,
        max_attempts: 3,
        slash_permill: 100_000,
        barred_sessions: 2,
        unbonding_period: 20,
        min_bond: 1_000,
    }
}

/// A chain with `validators` bonded, validating validators (stashes 1..=validators) and
/// `extra` funded accounts after them.
pub fn chain_with(validators: u8, params: Params) -> Chain {
    let balances = (1..=validators + 3).map(|i| (stash(i), FUNDS)).collect();
    Chain::new(Genesis {
        network: NETWORK,
        params,
        balances,
        validators: (1..=validators).map(|i| (stash(i), BOND, tss_info(i))).collect(),
    })
    .unwrap()
}

pub fn randomness(block: u64) -> [u8; 32] {
    Sha256::digest(block.to_be_bytes()).into()
}

/// Applies blocks up to and including `to`, returning their events.
pub fn advance_to(chain: &mut Chain, to: u64) -> Vec<Event> {
    let mut events = Vec::new();
    for b in chain.state().block + 1..=to {
        events.extend(chain.on_block(b, randomness(b)).unwrap());
    }
    events
}

pub fn signed(chain: &mut Chain, who: AccountId, call: Call) -> Result<Vec<Event>, ChainError> {
    chain.apply(&TestCrypto, Origin::Signed(who), call)
}

/// The `Confirm` call for an attempt.
pub fn confirm_call(record: &ReshareRecord, confirmation: Confirmation) -> Call {
    Call::Confirm {
        session: record.session,
        attempt: record.attempt,
        confirmation,
    }
}

/// The first member of the attempt in flight that is not in the current committee.
pub fn joiner(chain: &Chain) -> keywheel_chain::Member {
    let record = chain.state().reshare.as_ref().expect("a reshare in flight");
    let committee = &chain.state().committee;
    record
        .new_committee
        .iter()
        .find(|m| !committee.contains(m))
        .expect("a joiner")
        .clone()
}

/// Every new member of the attempt in flight confirms one fresh sharing; returns the events.
pub fn confirm_all(chain: &mut Chain, dealer: &mut Dealer) -> Vec<Event> {
    let record = chain.state().reshare.clone().expect("a reshare in flight");
    let mut events = Vec::new();
    for (member, confirmation) in dealer.confirmations(&record) {
        events.extend(signed(chain, member, confirm_call(&record, confirmation)).unwrap());
    }
    events
}

/// Jumpstarts and confirms: a chain with a parent key and a committee.
pub fn jumpstarted(validators: u8, dealer: &mut Dealer) -> Chain {
    let mut chain = chain_with(validators, params());
    advance_to(&mut chain, 1);
    chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    let events = confirm_all(&mut chain, dealer);
    assert!(events.iter().any(|e| matches!(e, Event::ParentKeyCreated { .. })));
    chain
}

/// "`party`'s messages of `protocol` round `number` (`echo`: its echo round) were missing."
pub fn silence(party: AccountId, protocol: AttemptProtocol, number: u8, echo: bool) -> Silence {
    Silence {
        party,
        round: ReportedRound { protocol, number, echo },
    }
}

/// A silence report in the attempt `record`.
pub fn report_call(record: &ReshareRecord, missing: Vec<Silence>) -> Call {
    Call::ReportUnresponsive {
        session: record.session,
        attempt: record.attempt,
        missing,
    }
}
