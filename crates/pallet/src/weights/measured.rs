//! The pallet's weights, measured by `frame-benchmarking` in the Wasm executor
//! (`crates/pallet/bench-runtime/weights.sh`). Generated: do not edit; measure again.
//!
//! pallet_keywheel, frame-benchmarking CLI 64.0.0, 2026-12-07
//! STEPS: `10`, REPEAT: `5`, WASM-EXECUTION: `Compiled`
//! HOSTNAME: `vm`, CPU: `AMD EPYC`
//!
//! Command:
//! frame-omni-bencher
//! v1
//! benchmark
//! pallet
//! --runtime
//! /tmp/bench-rt-target/release/wbuild/keywheel-bench-runtime/keywheel_bench_runtime.compact.compressed.wasm
//! --pallet
//! pallet_keywheel
//! --extrinsic
//! *
//! --steps
//! 10
//! --repeat
//! 5
//! --template
//! crates/pallet/bench-runtime/weights.hbs
//! --output
//! crates/pallet/src/weights/measured.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(clippy::unnecessary_cast)]

use frame_support::{traits::Get, weights::Weight};
use core::marker::PhantomData;

/// The measured weights, with the runtime's own database weights (`frame_system::Config::DbWeight`).
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> super::info::WeightInfo for SubstrateWeight<T> {
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:1 w:1)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	fn bond() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `128`
		//  Estimated: `4302`
		// Minimum execution time: 71_927_000 picoseconds.
		Weight::from_parts(91_927_000, 0)
			.saturating_add(Weight::from_parts(0, 4302))
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Keywheel::Validators` (r:101 w:1)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:1 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:1 w:1)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:0)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	fn validate() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `18027`
		//  Estimated: `288638`
		// Minimum execution time: 913_431_000 picoseconds.
		Weight::from_parts(981_472_000, 0)
			.saturating_add(Weight::from_parts(0, 288638))
			.saturating_add(T::DbWeight::get().reads(108))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Keywheel::Validators` (r:1 w:1)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:0)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn chill() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `3783`
		//  Estimated: `3838`
		// Minimum execution time: 60_410_000 picoseconds.
		Weight::from_parts(64_836_000, 0)
			.saturating_add(Weight::from_parts(0, 3838))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:0)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:1 w:0)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:1 w:1)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	fn unbond() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `5233`
		//  Estimated: `4302`
		// Minimum execution time: 69_313_000 picoseconds.
		Weight::from_parts(79_679_000, 0)
			.saturating_add(Weight::from_parts(0, 4302))
			.saturating_add(T::DbWeight::get().reads(6))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:1 w:1)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	fn withdraw_unbonded() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `2623`
		//  Estimated: `4302`
		// Minimum execution time: 111_677_000 picoseconds.
		Weight::from_parts(120_069_000, 0)
			.saturating_add(Weight::from_parts(0, 4302))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Keywheel::Registry` (r:1 w:1)
	/// Proof: `Keywheel::Registry` (`max_values`: None, `max_size`: Some(69), added: 2544, mode: `MaxEncodedLen`)
	fn register() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `76`
		//  Estimated: `3534`
		// Minimum execution time: 15_003_000 picoseconds.
		Weight::from_parts(16_295_000, 0)
			.saturating_add(Weight::from_parts(0, 3534))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Keywheel::ParentKey` (r:1 w:0)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:1 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:0)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:0)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:100 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn jumpstart(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `21872`
		//  Estimated: `332190`
		// Minimum execution time: 1_514_247_000 picoseconds.
		Weight::from_parts(1_524_584_657, 0)
			.saturating_add(Weight::from_parts(0, 332190))
			// Standard Error: 1_852_795
			.saturating_add(Weight::from_parts(14_172_158, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(309))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Keywheel::ChainParams` (r:1 w:1)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ParentKey` (r:1 w:0)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:0)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	fn set_params() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `125`
		//  Estimated: `3573`
		// Minimum execution time: 12_709_000 picoseconds.
		Weight::from_parts(13_891_000, 0)
			.saturating_add(Weight::from_parts(0, 3573))
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Confirmations` (r:16 w:15)
	/// Proof: `Keywheel::Confirmations` (`max_values`: None, `max_size`: Some(19102), added: 21577, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ParentKey` (r:1 w:1)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::NextJoinSeq` (r:1 w:1)
	/// Proof: `Keywheel::NextJoinSeq` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:0 w:1)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:0 w:1)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn confirm(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0 + n * (9810 ±0)`
		//  Estimated: `22567 + n * (21577 ±0)`
		// Minimum execution time: 3_835_695_000 picoseconds.
		Weight::from_parts(3_839_260_000, 0)
			.saturating_add(Weight::from_parts(0, 22567))
			// Standard Error: 178_081_640
			.saturating_add(Weight::from_parts(2_933_579_169, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(5))
			.saturating_add(T::DbWeight::get().writes((1_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 21577).saturating_mul(n.into()))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Confirmations` (r:16 w:15)
	/// Proof: `Keywheel::Confirmations` (`max_values`: None, `max_size`: Some(19102), added: 21577, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ParentKey` (r:1 w:0)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:15 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:100 w:15)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:15 w:15)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:15 w:15)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:15)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:15)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:15)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn confirm_equivocation(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0 + n * (10113 ±0)`
		//  Estimated: `332190 + n * (21577 ±0)`
		// Minimum execution time: 5_560_985_000 picoseconds.
		Weight::from_parts(5_620_995_000, 0)
			.saturating_add(Weight::from_parts(0, 332190))
			// Standard Error: 195_845_063
			.saturating_add(Weight::from_parts(3_009_942_089, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(312))
			.saturating_add(T::DbWeight::get().reads((4_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(4))
			.saturating_add(T::DbWeight::get().writes((7_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 21577).saturating_mul(n.into()))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Confirmations` (r:2 w:1)
	/// Proof: `Keywheel::Confirmations` (`max_values`: None, `max_size`: Some(19102), added: 21577, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ParentKey` (r:1 w:0)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reports` (r:15 w:14)
	/// Proof: `Keywheel::Reports` (`max_values`: None, `max_size`: Some(50453), added: 52928, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:14 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:14)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:14)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:85 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:14)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn confirm_settle(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0 + n * (31728 ±0)`
		//  Estimated: `327450 + n * (52928 ±0)`
		// Minimum execution time: 5_488_378_000 picoseconds.
		Weight::from_parts(5_727_854_000, 0)
			.saturating_add(Weight::from_parts(0, 327450))
			// Standard Error: 192_277_512
			.saturating_add(Weight::from_parts(3_183_386_671, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(312))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 52928).saturating_mul(n.into()))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::EvidenceUsed` (r:1 w:1)
	/// Proof: `Keywheel::EvidenceUsed` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:1 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:86 w:1)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:1)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:1)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:1)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `e` is `[0, 1048576]`.
	fn report_offence(_e: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `26132`
		//  Estimated: `288638`
		// Minimum execution time: 23_989_993_000 picoseconds.
		Weight::from_parts(30_944_334_031, 0)
			.saturating_add(Weight::from_parts(0, 288638))
			.saturating_add(T::DbWeight::get().reads(301))
			.saturating_add(T::DbWeight::get().writes(11))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Network` (r:1 w:0)
	/// Proof: `Keywheel::Network` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::EvidenceUsed` (r:1 w:1)
	/// Proof: `Keywheel::EvidenceUsed` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:1 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:86 w:1)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:1)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:1)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:1)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `e` is `[0, 1048576]`.
	fn report_offence_paillier(_e: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `26132`
		//  Estimated: `288638`
		// Minimum execution time: 2_768_485_681_000 picoseconds.
		Weight::from_parts(3_333_124_545_319, 0)
			.saturating_add(Weight::from_parts(0, 288638))
			.saturating_add(T::DbWeight::get().reads(301))
			.saturating_add(T::DbWeight::get().writes(11))
	}
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reports` (r:15 w:14)
	/// Proof: `Keywheel::Reports` (`max_values`: None, `max_size`: Some(50453), added: 52928, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Confirmations` (r:2 w:1)
	/// Proof: `Keywheel::Confirmations` (`max_values`: None, `max_size`: Some(19102), added: 21577, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:14 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:14)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:14)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:1 w:0)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:85 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastBlock` (r:1 w:0)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:14)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `m` is `[1, 1440]`.
	fn report_unresponsive(m: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `406157`
		//  Estimated: `794910`
		// Minimum execution time: 3_869_715_000 picoseconds.
		Weight::from_parts(3_737_535_019, 0)
			.saturating_add(Weight::from_parts(0, 794910))
			// Standard Error: 437_968
			.saturating_add(Weight::from_parts(2_016_740, 0).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads(326))
			.saturating_add(T::DbWeight::get().writes(61))
	}
	/// Storage: `Keywheel::LastBlock` (r:1 w:1)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:0)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:0 w:1)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	fn on_initialize_idle() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `2002`
		//  Estimated: `3573`
		// Minimum execution time: 34_522_000 picoseconds.
		Weight::from_parts(52_939_000, 0)
			.saturating_add(Weight::from_parts(0, 3573))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Keywheel::LastBlock` (r:1 w:1)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:1)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ParentKey` (r:1 w:0)
	/// Proof: `Keywheel::ParentKey` (`max_values`: Some(1), `max_size`: Some(70), added: 565, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:1 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:0)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:0)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:85 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:0 w:1)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn on_initialize_session(_n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `21279 + n * (101 ±0)`
		//  Estimated: `332190`
		// Minimum execution time: 1_531_903_000 picoseconds.
		Weight::from_parts(3_494_958_784, 0)
			.saturating_add(Weight::from_parts(0, 332190))
			.saturating_add(T::DbWeight::get().reads(309))
			.saturating_add(T::DbWeight::get().writes(5))
	}
	/// Storage: `Keywheel::LastBlock` (r:1 w:1)
	/// Proof: `Keywheel::LastBlock` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::ChainParams` (r:1 w:0)
	/// Proof: `Keywheel::ChainParams` (`max_values`: Some(1), `max_size`: Some(60), added: 555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSession` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSession` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reshare` (r:1 w:1)
	/// Proof: `Keywheel::Reshare` (`max_values`: Some(1), `max_size`: Some(2088), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Confirmations` (r:2 w:1)
	/// Proof: `Keywheel::Confirmations` (`max_values`: None, `max_size`: Some(19102), added: 21577, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Reports` (r:14 w:13)
	/// Proof: `Keywheel::Reports` (`max_values`: None, `max_size`: Some(50453), added: 52928, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::TssOwner` (r:14 w:0)
	/// Proof: `Keywheel::TssOwner` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BarredUntil` (r:100 w:14)
	/// Proof: `Keywheel::BarredUntil` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Validators` (r:101 w:14)
	/// Proof: `Keywheel::Validators` (`max_values`: None, `max_size`: Some(373), added: 2848, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CounterForValidators` (r:1 w:1)
	/// Proof: `Keywheel::CounterForValidators` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::SlashCount` (r:1 w:1)
	/// Proof: `Keywheel::SlashCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::CurrentSharing` (r:1 w:0)
	/// Proof: `Keywheel::CurrentSharing` (`max_values`: Some(1), `max_size`: Some(1539), added: 2034, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Committee` (r:1 w:0)
	/// Proof: `Keywheel::Committee` (`max_values`: Some(1), `max_size`: Some(1085), added: 1580, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Ledgers` (r:85 w:0)
	/// Proof: `Keywheel::Ledgers` (`max_values`: None, `max_size`: Some(837), added: 3312, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::BlockRandomness` (r:0 w:1)
	/// Proof: `Keywheel::BlockRandomness` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::Slashes` (r:0 w:14)
	/// Proof: `Keywheel::Slashes` (`max_values`: None, `max_size`: Some(138), added: 2613, mode: `MaxEncodedLen`)
	/// Storage: `Keywheel::LastAttempt` (r:0 w:1)
	/// Proof: `Keywheel::LastAttempt` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[3, 15]`.
	fn on_initialize_deadline(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0 + n * (29488 ±0)`
		//  Estimated: `327450 + n * (37630 ±2_240)`
		// Minimum execution time: 1_741_545_000 picoseconds.
		Weight::from_parts(1_065_420_659, 0)
			.saturating_add(Weight::from_parts(0, 327450))
			// Standard Error: 13_712_925
			.saturating_add(Weight::from_parts(165_676_997, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(308))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(2))
			.saturating_add(T::DbWeight::get().writes((4_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 37630).saturating_mul(n.into()))
	}
}
