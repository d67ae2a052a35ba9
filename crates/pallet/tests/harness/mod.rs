//! The differential harness: a [`Chain`] with the dev node's chain's API that applies every
//! genesis, call and block both to the dev node's chain (`keywheel_chain::Chain`) and to
//! `pallet-keywheel` in a mock runtime, and after every step checks that they agree:
//!
//! - the same events, in order, or the same error (the pallet's carries the name only);
//! - a refused call leaves the pallet's storage root unchanged;
//! - the whole state, read back from the pallet's storage items, equals the dev node's: block,
//!   randomness, session, parameters, committee, sharing, parent key, reshare in flight,
//!   confirmations, reports, ledgers, validators, bars, slashes, used evidence, registry —
//!   and every account's free balance is what a hold can take on the runtime's balances;
//! - every ledger's stake is exactly what the balances pallet holds for it, and the total
//!   issuance is what the dev node's balances and stakes add up to (slashes are burned);
//! - every value the pallet stores encodes within its storage item's bound (`MaxEncodedLen`,
//!   `pallet_keywheel::bounded`).
//!
//! Tests then read the dev node's state, which the harness has just checked is the pallet's.
#![allow(dead_code)] // shared by test crates that use different parts

pub mod mock;

use frame_support::traits::fungible::{Inspect, InspectHold};
use frame_support::traits::tokens::{Fortitude, Preservation};
use frame_support::traits::Hooks;
use frame_support::weights::Weight;
use keywheel_chain::{AccountId, BlockNumber, Call, ChainError, Crypto, Event, Genesis, Origin, State};
use pallet_keywheel::to_runtime;
use sp_runtime::traits::Dispatchable;
use sp_runtime::{BuildStorage, DispatchError, StateVersion};

use mock::{Balances, RuntimeCall, RuntimeEvent, RuntimeHoldReason, RuntimeOrigin, System, Test, ED};

type Pallet = pallet_keywheel::Pallet<Test>;

/// The dev node's chain and the pallet, driven in lockstep.
pub struct Chain {
    dev: keywheel_chain::Chain,
    ext: sp_io::TestExternalities,
    /// The weight the pallet's `on_initialize` returned for the last block.
    pub last_block_weight: Weight,
}

impl Chain {
    /// Both chains from one genesis.
    pub fn new(genesis: Genesis) -> Result<Self, ChainError> {
        let dev = keywheel_chain::Chain::new(genesis.clone())?;
        let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
        pallet_balances::GenesisConfig::<Test> {
            balances: genesis.balances.iter().map(|(a, b)| (to_runtime(*a), b + ED)).collect(),
            ..Default::default()
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        pallet_keywheel::GenesisConfig::<Test> {
            network: genesis.network,
            params: genesis.params.clone(),
            validators: genesis.validators.clone(),
            _config: Default::default(),
        }
        .assimilate_storage(&mut storage)
        .unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        // FRAME keeps no events at block 0, and the dev node takes calls before its first
        // block: the runtime's calls run "in block 1" until the rules' first block.
        ext.execute_with(|| System::set_block_number(1));
        let mut chain = Self {
            dev,
            ext,
            last_block_weight: Weight::zero(),
        };
        chain.check_state("genesis");
        Ok(chain)
    }

    /// The dev node's state, which the harness checked equals the pallet's after the last step.
    pub fn state(&self) -> &State {
        self.dev.state()
    }

    /// Runs `f` in the mock runtime alone, bypassing the dev node's chain: for tests of what
    /// only the pallet does. Do not drive the harness again afterwards.
    pub fn runtime<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.ext.execute_with(f)
    }

    /// The dev node's state digest.
    pub fn digest(&self) -> [u8; 32] {
        self.dev.digest()
    }

    /// Applies one call to both; panics if they disagree.
    pub fn apply(&mut self, crypto: &impl Crypto, origin: Origin, call: Call) -> Result<Vec<Event>, ChainError> {
        let expected = self.dev.apply(crypto, origin, call.clone());
        let described = format!("{call:?}");
        let got = self.ext.execute_with(|| {
            System::reset_events();
            let root = sp_io::storage::root(StateVersion::V1);
            let origin = match origin {
                Origin::Root => RuntimeOrigin::root(),
                Origin::Signed(who) => RuntimeOrigin::signed(to_runtime(who)),
            };
            match runtime_call(call).dispatch(origin) {
                Ok(_) => Ok(keywheel_events()),
                Err(e) => {
                    assert_eq!(
                        sp_io::storage::root(StateVersion::V1),
                        root,
                        "the pallet's storage changed on a refused call: {described}"
                    );
                    assert!(keywheel_events().is_empty(), "a refused call deposited events");
                    Err(e.error)
                }
            }
        });
        match (&expected, &got) {
            (Ok(want), Ok(have)) => assert_eq!(have, want, "events differ for {described}"),
            (Err(want), Err(have)) => assert_eq!(
                *have,
                DispatchError::from(pallet_keywheel::Error::<Test>::from(want)),
                "errors differ for {described}: the dev node said {want}"
            ),
            _ => panic!("the pallet and the dev node disagree on {described}: dev {expected:?}, pallet {got:?}"),
        }
        self.check_state(&described);
        expected
    }

    /// Applies the next block with its randomness to both; panics if they disagree.
    pub fn on_block(&mut self, block: BlockNumber, randomness: [u8; 32]) -> Result<Vec<Event>, ChainError> {
        let expected = self.dev.on_block(block, randomness);
        let got = self.ext.execute_with(|| {
            mock::set_randomness(randomness);
            System::set_block_number(block);
            System::reset_events();
            let root = sp_io::storage::root(StateVersion::V1);
            let weight = Pallet::on_initialize(block);
            let events = keywheel_events();
            if expected.is_err() {
                assert_eq!(
                    sp_io::storage::root(StateVersion::V1),
                    root,
                    "a refused block changed storage"
                );
            }
            (events, weight)
        });
        let (got, weight) = got;
        self.last_block_weight = weight;
        match &expected {
            Ok(want) => assert_eq!(&got, want, "events differ at block {block}"),
            Err(_) => assert!(got.is_empty(), "a refused block deposited events"),
        }
        self.check_state(&format!("block {block}"));
        expected
    }

    /// Reads the pallet's storage back into a [`State`] and compares it with the dev node's.
    fn check_state(&mut self, after: &str) {
        let dev = self.dev.state().clone();
        let pallet = self.ext.execute_with(|| {
            if let Err(e) = check_bounds() {
                panic!("after {after}: {e}");
            }
            read_state(&dev)
        });
        assert_eq!(
            pallet, dev,
            "the pallet's state differs from the dev node's after {after}"
        );
        self.ext.execute_with(|| {
            let reason: RuntimeHoldReason = pallet_keywheel::HoldReason::Bond.into();
            let mut staked = 0u128;
            for (stash, ledger) in &dev.ledgers {
                let at_stake = ledger.bonded + ledger.unlocking.iter().map(|(v, _)| v).sum::<u128>();
                staked += at_stake;
                assert_eq!(
                    Balances::balance_on_hold(&reason, &to_runtime(*stash)),
                    at_stake,
                    "the hold of {stash:?} is not its stake after {after}"
                );
            }
            let free: u128 = dev.balances.values().sum();
            let accounts = dev.balances.len() as u128;
            assert_eq!(
                Balances::total_issuance(),
                free + staked + accounts * ED,
                "total issuance after {after}"
            );
        });
    }
}

/// Every key-value pair under each of the pallet's storage items fits the item's
/// `StorageInfo::max_size` (the hashed key past the item's prefix, and the value); the first
/// that does not, named.
pub fn check_bounds() -> Result<(), String> {
    use frame_support::traits::StorageInfoTrait;
    for info in <Pallet as StorageInfoTrait>::storage_info() {
        let name = String::from_utf8_lossy(&info.storage_name).into_owned();
        let max = info.max_size.ok_or_else(|| format!("{name} has no bound"))? as usize;
        let mut key = info.prefix.clone();
        loop {
            if let Some(value) = sp_io::storage::get(&key) {
                let size = key.len() - info.prefix.len() + value.len();
                if size > max {
                    return Err(format!("a value of {name} takes {size} bytes, over its bound of {max}"));
                }
            }
            match sp_io::storage::next_key(&key) {
                Some(next) if next.starts_with(&info.prefix) => key = next,
                _ => break,
            }
        }
    }
    Ok(())
}

/// The rules' events the pallet deposited since the last reset.
fn keywheel_events() -> Vec<Event> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Keywheel(pallet_keywheel::Event::Keywheel(event)) => Some(event),
            _ => None,
        })
        .collect()
}

/// The pallet's dispatchable for a rules call.
fn runtime_call(call: Call) -> RuntimeCall {
    use pallet_keywheel::Call as P;
    RuntimeCall::Keywheel(match call {
        Call::Transfer { .. } => panic!("transfers are the balances pallet's, not keywheel's"),
        Call::Bond { amount } => P::bond { amount },
        Call::Validate { tss, proof } => P::validate { tss, proof },
        Call::Chill => P::chill {},
        Call::Unbond { amount } => P::unbond { amount },
        Call::WithdrawUnbonded => P::withdraw_unbonded {},
        Call::Register => P::register {},
        Call::Confirm {
            session,
            attempt,
            confirmation,
        } => P::confirm {
            session,
            attempt,
            confirmation,
        },
        Call::ReportOffence {
            session,
            attempt,
            offender,
            evidence,
        } => P::report_offence {
            session,
            attempt,
            offender,
            evidence,
        },
        Call::ReportUnresponsive {
            session,
            attempt,
            missing,
        } => P::report_unresponsive {
            session,
            attempt,
            missing,
        },
        Call::SetParams { params } => P::set_params { params },
        Call::Jumpstart => P::jumpstart {},
    })
}

/// The pallet's storage as a [`State`]; balances are read for the accounts the dev node knows.
fn read_state(dev: &State) -> State {
    use pallet_keywheel::*;
    let balance = |who: &AccountId| {
        <Balances as Inspect<_>>::reducible_balance(&to_runtime(*who), Preservation::Protect, Fortitude::Force)
    };
    State {
        network: Network::<Test>::get(),
        block: LastBlock::<Test>::get(),
        randomness: BlockRandomness::<Test>::get(),
        session: CurrentSession::<Test>::get(),
        params: ChainParams::<Test>::get(),
        balances: dev.balances.keys().map(|a| (*a, balance(a))).collect(),
        ledgers: Ledgers::<Test>::iter().map(|(k, v)| (k, v.into_inner())).collect(),
        validators: Validators::<Test>::iter().map(|(k, v)| (k, v.into_inner())).collect(),
        tss_owner: TssOwner::<Test>::iter().collect(),
        committee: Committee::<Test>::get().into_inner(),
        sharing: CurrentSharing::<Test>::get().map(|v| v.into_inner()),
        parent_key: ParentKey::<Test>::get().map(|v| v.into_inner()),
        reshare: Reshare::<Test>::get().map(|v| v.into_inner()),
        last_attempt: LastAttempt::<Test>::get(),
        confirmations: Confirmations::<Test>::iter()
            .map(|(k, v)| (k, v.into_inner()))
            .collect(),
        reports: Reports::<Test>::iter().map(|(k, v)| (k, v.into_inner())).collect(),
        barred_until: BarredUntil::<Test>::iter().collect(),
        slashes: (0..SlashCount::<Test>::get())
            .map(|i| Slashes::<Test>::get(i).expect("every slash index below the count is stored"))
            .collect(),
        evidence_used: EvidenceUsed::<Test>::iter_keys().collect(),
        registry: Registry::<Test>::iter().map(|(k, v)| (k, v.into_inner())).collect(),
        next_join_seq: NextJoinSeq::<Test>::get(),
    }
}
