//! `pallet-keywheel`: keywheel's chain rules in a FRAME runtime.
//!
//! The rules are `keywheel-chain`'s, not a second copy: every dispatchable turns its arguments
//! into a [`keywheel_chain::Call`] and hands it to [`keywheel_chain::dispatch`] over
//! [`PalletStore`], which keeps each concept of the chain's state in its own storage item.
//! `on_initialize` hands each block, with the runtime's randomness, to
//! [`keywheel_chain::on_block`] (sessions, deadlines, retries). Stake is a hold on the runtime's
//! balances ([`HoldReason::Bond`]); a slash burns it, or sends it to
//! [`Config::SlashDestination`]. Sharings, share proofs, declarations and evidence are checked
//! by the runtime's [`Config::Crypto`]: with the `mpc-crypto` feature, `MpcCrypto`
//! (`keywheel-chain`'s, the dev node's too) does it for real in `no_std`.
//!
//! Events are the rules' own ([`Event::Keywheel`]); errors have the rules' names
//! ([`Error`]), without their details, which FRAME's errors cannot carry: the details go to
//! the runtime's log.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod account;
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmark_helper;
#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
pub mod bounded;
mod store;
pub mod weights;

pub use account::{from_runtime, to_runtime};
#[cfg(feature = "mpc-crypto")]
pub use keywheel_chain::MpcCrypto;
pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;

    use frame_support::pallet_prelude::*;
    use frame_support::traits::fungible;
    use frame_support::traits::Randomness;
    use frame_system::pallet_prelude::*;
    use keywheel_chain::{
        AccountId as KeywheelAccount, AttemptIndex, Call as ChainCall, ChainError, Confirmation, Event as ChainEvent,
        EvidenceCost, Ledger, Member, Origin as ChainOrigin, Params, ReportedRound, ReshareRecord, SessionIndex,
        Sharing, Silence, SlashRecord, TssInfo,
    };
    use sp_runtime::traits::UniqueSaturatedInto;
    use sp_runtime::AccountId32;

    use crate::account::from_runtime;
    use crate::bounded::Bounded;
    use crate::weights::WeightInfo;

    /// The pallet.
    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// What a runtime provides.
    #[pallet::config]
    pub trait Config: frame_system::Config<AccountId = AccountId32> {
        /// The runtime's event type.
        #[allow(deprecated)]
        type RuntimeEvent: From<Event> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
        /// Balances that hold stake: `Balance` is keywheel's `u128`.
        type Currency: fungible::Inspect<AccountId32, Balance = u128>
            + fungible::Mutate<AccountId32>
            + fungible::MutateHold<AccountId32, Reason = Self::RuntimeHoldReason>;
        /// The runtime's hold reasons (this pallet's [`HoldReason`] among them).
        type RuntimeHoldReason: From<HoldReason>;
        /// Chain randomness for committee selection (the runtime's best: BABE's, say).
        type Randomness: Randomness<Self::Hash, BlockNumberFor<Self>>;
        /// Verification of sharings, share proofs, TSS declarations and evidence.
        type Crypto: keywheel_chain::Crypto + Default;
        /// Where slashed stake goes: `None` burns it.
        type SlashDestination: Get<Option<AccountId32>>;
        /// The largest committee the parameters may ask for.
        #[pallet::constant]
        type MaxCommitteeSize: Get<u32>;
        /// The largest evidence a report may carry, in bytes.
        #[pallet::constant]
        type MaxEvidenceLen: Get<u32>;
        /// The largest TSS endpoint (`host:port`), in bytes.
        #[pallet::constant]
        type MaxEndpointLen: Get<u32>;
        /// The most stashes that may validate at once: the rules read every validator when
        /// they pick joiners and when a TSS is declared, so their weight depends on it.
        #[pallet::constant]
        type MaxValidators: Get<u32>;
        /// Weights of the dispatchables and of a block's processing.
        type WeightInfo: WeightInfo;
        /// Signatures, confirmations and evidence that [`Config::Crypto`] accepts, for the
        /// benchmarks (`benchmark_helper::MpcBenchmarkHelper` for `MpcCrypto`).
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: crate::benchmark_helper::BenchmarkHelper;
    }

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// Bonded stake (and stake unbonding, until withdrawn).
        Bond,
    }

    /// Identifies this network; part of every attempt context.
    #[pallet::storage]
    pub type Network<T> = StorageValue<_, [u8; 32], ValueQuery>;
    /// The last block the rules applied.
    #[pallet::storage]
    pub type LastBlock<T> = StorageValue<_, u64, ValueQuery>;
    /// That block's randomness, as the rules saw it.
    #[pallet::storage]
    pub type BlockRandomness<T> = StorageValue<_, [u8; 32], ValueQuery>;
    /// The current session.
    #[pallet::storage]
    pub type CurrentSession<T> = StorageValue<_, SessionIndex, ValueQuery>;
    /// The parameters.
    #[pallet::storage]
    pub type ChainParams<T> = StorageValue<_, Params, ValueQuery>;
    /// The current committee in join order (empty before jumpstart).
    #[pallet::storage]
    pub type Committee<T: Config> = StorageValue<_, Bounded<Vec<Member>, T>, ValueQuery>;
    /// The public side of the current sharing.
    #[pallet::storage]
    pub type CurrentSharing<T: Config> = StorageValue<_, Bounded<Sharing, T>, OptionQuery>;
    /// The parent verifying key (compressed SEC1); never changes once set.
    #[pallet::storage]
    pub type ParentKey<T: Config> = StorageValue<_, Bounded<Vec<u8>, T>, OptionQuery>;
    /// The reshare attempt in flight (at most one).
    #[pallet::storage]
    pub type Reshare<T: Config> = StorageValue<_, Bounded<ReshareRecord, T>, OptionQuery>;
    /// The last attempt started: `(session, attempt)`.
    #[pallet::storage]
    pub type LastAttempt<T> = StorageValue<_, (SessionIndex, AttemptIndex), OptionQuery>;
    /// The next join sequence number.
    #[pallet::storage]
    pub type NextJoinSeq<T> = StorageValue<_, u64, ValueQuery>;
    /// Stake per stash (its total is held under [`HoldReason::Bond`]).
    #[pallet::storage]
    pub type Ledgers<T: Config> = StorageMap<_, Blake2_128Concat, KeywheelAccount, Bounded<Ledger, T>, OptionQuery>;
    /// Validating stashes and their TSS.
    #[pallet::storage]
    pub type Validators<T: Config> =
        CountedStorageMap<_, Blake2_128Concat, KeywheelAccount, Bounded<TssInfo, T>, OptionQuery>;
    /// The stash that declared each TSS account (kept after chilling, so it cannot be reused).
    #[pallet::storage]
    pub type TssOwner<T> = StorageMap<_, Blake2_128Concat, KeywheelAccount, KeywheelAccount, OptionQuery>;
    /// Confirmations of the attempt in flight, by TSS account.
    #[pallet::storage]
    pub type Confirmations<T: Config> =
        StorageMap<_, Blake2_128Concat, KeywheelAccount, Bounded<Confirmation, T>, OptionQuery>;
    /// Silence reports of the attempt in flight: reporter → whom it named, where.
    #[pallet::storage]
    pub type Reports<T: Config> =
        StorageMap<_, Blake2_128Concat, KeywheelAccount, Bounded<BTreeSet<Silence>, T>, OptionQuery>;
    /// Stashes that may not be selected before the given session.
    #[pallet::storage]
    pub type BarredUntil<T> = StorageMap<_, Blake2_128Concat, KeywheelAccount, SessionIndex, OptionQuery>;
    /// Every punishment so far, in order.
    #[pallet::storage]
    pub type Slashes<T> = StorageMap<_, Twox64Concat, u32, SlashRecord, OptionQuery>;
    /// How many punishments [`Slashes`] holds.
    #[pallet::storage]
    pub type SlashCount<T> = StorageValue<_, u32, ValueQuery>;
    /// Fingerprints of evidence already used.
    #[pallet::storage]
    pub type EvidenceUsed<T> = StorageMap<_, Identity, [u8; 32], (), OptionQuery>;
    /// Accounts registered for signing, with their BIP32 paths.
    #[pallet::storage]
    pub type Registry<T: Config> = StorageMap<_, Blake2_128Concat, KeywheelAccount, Bounded<Vec<u32>, T>, OptionQuery>;

    /// The rules' events, unchanged.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event {
        /// An event of keywheel's rules.
        Keywheel(keywheel_chain::Event),
    }

    /// The rules' errors, by name (their details go to the log).
    #[pallet::error]
    pub enum Error<T> {
        /// The call needs the root origin.
        RootRequired,
        /// The call needs a signed origin.
        SignedRequired,
        /// Not enough free balance.
        InsufficientBalance,
        /// Not enough bonded stake.
        InsufficientBond,
        /// Amounts must be positive.
        ZeroAmount,
        /// A balance would overflow.
        Overflow,
        /// No unbonded stake has matured yet.
        NothingToWithdraw,
        /// The account is not a validator.
        NotValidator,
        /// Members of the current committee or the one being formed cannot chill, unbond or
        /// change their TSS account.
        CommitteeMember,
        /// Unbonding would leave a validating stash below the minimum bond.
        BelowMinimumBond,
        /// The TSS account is already declared by another validator.
        TssAccountTaken,
        /// The TSS account did not sign this declaration.
        UnsignedTssDeclaration,
        /// The transport key is declared by another validating validator.
        TransportKeyTaken,
        /// The parameters are unusable.
        InvalidParams,
        /// Committee size and threshold are fixed once the parent key exists.
        CommitteeShapeFixed,
        /// Jumpstart already happened or is under way.
        AlreadyJumpstarted,
        /// Fewer eligible validators than needed.
        NotEnoughValidators,
        /// No such reshare attempt is in flight.
        NoSuchAttempt,
        /// The caller is not in the committee being formed.
        NotInNewCommittee,
        /// The caller or accused does not take part in this attempt.
        NotParticipant,
        /// The member has already confirmed this attempt.
        AlreadyConfirmed,
        /// A confirmation that does not match the parent key or the committee.
        ConfirmationMismatch,
        /// The confirmation's shares or proof do not verify.
        InvalidConfirmation,
        /// The evidence did not verify; nothing happens to the accused.
        EvidenceRejected,
        /// This evidence was already used.
        DuplicateEvidence,
        /// A party cannot accuse itself.
        SelfAccusation,
        /// A report must name at least one party.
        EmptyReport,
        /// A silence report that cannot be true.
        InvalidReport,
        /// The account is already registered.
        AlreadyRegistered,
        /// The stash has as many unlocking entries as it may: withdraw matured ones first.
        TooManyUnlockingChunks,
        /// The balances do not hold the stake the ledger records.
        StakeUnavailable,
        /// Blocks must be applied in increasing order.
        BlockOutOfOrder,
        /// An argument is larger than this runtime allows (evidence, endpoint, committee, a
        /// confirmation's points, deals or proof).
        TooLarge,
        /// As many stashes validate as this runtime allows ([`Config::MaxValidators`]).
        TooManyValidators,
    }

    impl<T: Config> crate::bounded::Limits for T {
        fn max_committee_size() -> u32 {
            T::MaxCommitteeSize::get()
        }
        fn max_endpoint_len() -> u32 {
            T::MaxEndpointLen::get()
        }
    }

    impl<T> From<&ChainError> for Error<T> {
        fn from(error: &ChainError) -> Self {
            // Exhaustive: a new rule error must be named here.
            match error {
                ChainError::RootRequired => Error::RootRequired,
                ChainError::SignedRequired => Error::SignedRequired,
                ChainError::InsufficientBalance { .. } => Error::InsufficientBalance,
                ChainError::InsufficientBond { .. } => Error::InsufficientBond,
                ChainError::ZeroAmount => Error::ZeroAmount,
                ChainError::Overflow => Error::Overflow,
                ChainError::NothingToWithdraw => Error::NothingToWithdraw,
                ChainError::NotValidator(_) => Error::NotValidator,
                ChainError::CommitteeMember(_) => Error::CommitteeMember,
                ChainError::BelowMinimumBond { .. } => Error::BelowMinimumBond,
                ChainError::TssAccountTaken(_) => Error::TssAccountTaken,
                ChainError::UnsignedTssDeclaration(_) => Error::UnsignedTssDeclaration,
                ChainError::TransportKeyTaken { .. } => Error::TransportKeyTaken,
                ChainError::InvalidParams(_) => Error::InvalidParams,
                ChainError::CommitteeShapeFixed => Error::CommitteeShapeFixed,
                ChainError::AlreadyJumpstarted => Error::AlreadyJumpstarted,
                ChainError::NotEnoughValidators { .. } => Error::NotEnoughValidators,
                ChainError::NoSuchAttempt { .. } => Error::NoSuchAttempt,
                ChainError::NotInNewCommittee(_) => Error::NotInNewCommittee,
                ChainError::NotParticipant(_) => Error::NotParticipant,
                ChainError::AlreadyConfirmed(_) => Error::AlreadyConfirmed,
                ChainError::ConfirmationMismatch { .. } => Error::ConfirmationMismatch,
                ChainError::InvalidConfirmation { .. } => Error::InvalidConfirmation,
                ChainError::EvidenceRejected(_) => Error::EvidenceRejected,
                ChainError::DuplicateEvidence => Error::DuplicateEvidence,
                ChainError::SelfAccusation => Error::SelfAccusation,
                ChainError::EmptyReport => Error::EmptyReport,
                ChainError::InvalidReport(_) => Error::InvalidReport,
                ChainError::AlreadyRegistered(_) => Error::AlreadyRegistered,
                ChainError::TooManyUnlockingChunks { .. } => Error::TooManyUnlockingChunks,
                ChainError::StakeUnavailable => Error::StakeUnavailable,
                ChainError::BlockOutOfOrder { .. } => Error::BlockOutOfOrder,
            }
        }
    }

    /// The network id, parameters and validators the chain starts with. The validators'
    /// stashes must be funded by the balances pallet's genesis; their bond is held from it.
    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Identifies this network.
        pub network: [u8; 32],
        /// The parameters.
        pub params: Params,
        /// Validators bonded and validating from the start: `(stash, bond, tss)`.
        pub validators: Vec<(KeywheelAccount, u128, TssInfo)>,
        #[serde(skip)]
        #[doc(hidden)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            assert!(
                self.params.committee_size <= T::MaxCommitteeSize::get(),
                "keywheel genesis: committee_size {} is over MaxCommitteeSize",
                self.params.committee_size
            );
            assert!(
                self.validators.len() <= T::MaxValidators::get() as usize,
                "keywheel genesis: {} validators, MaxValidators allows {}",
                self.validators.len(),
                T::MaxValidators::get()
            );
            assert!(
                self.validators
                    .iter()
                    .all(|(_, _, tss)| tss.endpoint.len() <= T::MaxEndpointLen::get() as usize),
                "keywheel genesis: a TSS endpoint is longer than MaxEndpointLen"
            );
            Network::<T>::put(self.network);
            ChainParams::<T>::put(self.params.clone());
            if let Err(e) = keywheel_chain::rules::genesis(&mut Pallet::<T>::store(), self.validators.clone()) {
                panic!("keywheel genesis refused: {e}");
            }
        }
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// The storage bounds need room for the smallest committee the parameters allow, which
        /// is also what a chain starts with before its genesis sets them.
        ///
        /// Every call must fit in a block at its dearest. A call that cannot be included is a
        /// rule that cannot be used: an AuxGen cheater whose evidence is too heavy to land
        /// goes free, and the member it cheated cannot confirm and is excluded instead.
        fn integrity_test() {
            assert!(
                T::MaxCommitteeSize::get() >= Params::default().committee_size,
                "MaxCommitteeSize must allow the default committee size"
            );
            if let Err(e) = Self::check_block_room() {
                panic!("{e}");
            }
        }

        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            let block: u64 = now.unique_saturated_into();
            let (output, _) = T::Randomness::random(&[&b"keywheel/block"[..], &block.to_be_bytes()].concat());
            let randomness = Self::seed(&output.encode());
            let events = keywheel_chain::on_block(&mut Self::store(), block, randomness).unwrap_or_else(|e| {
                log::error!(target: "keywheel", "block {block} refused by the rules: {e}");
                Vec::new()
            });
            let weight = Self::block_weight(&events);
            for event in events {
                Self::deposit_event(Event::Keywheel(event));
            }
            weight
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Bonds free balance as stake (held).
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::bond())]
        pub fn bond(origin: OriginFor<T>, #[pallet::compact] amount: u128) -> DispatchResult {
            Self::run(origin, ChainCall::Bond { amount })
        }

        /// Declares the caller a validator with this TSS; `proof` is the TSS account's
        /// signature over the declaration.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::validate())]
        pub fn validate(origin: OriginFor<T>, tss: TssInfo, proof: Vec<u8>) -> DispatchResult {
            ensure!(
                tss.endpoint.len() <= T::MaxEndpointLen::get() as usize,
                Error::<T>::TooLarge
            );
            if let Ok(who) = ensure_signed(origin.clone()) {
                let stash = from_runtime(&who);
                ensure!(
                    Validators::<T>::contains_key(stash) || Validators::<T>::count() < T::MaxValidators::get(),
                    Error::<T>::TooManyValidators
                );
            }
            Self::run(origin, ChainCall::Validate { tss, proof })
        }

        /// Stops validating.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::chill())]
        pub fn chill(origin: OriginFor<T>) -> DispatchResult {
            Self::run(origin, ChainCall::Chill)
        }

        /// Starts unbonding stake.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::unbond())]
        pub fn unbond(origin: OriginFor<T>, #[pallet::compact] amount: u128) -> DispatchResult {
            Self::run(origin, ChainCall::Unbond { amount })
        }

        /// Releases matured unbonded stake.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::withdraw_unbonded())]
        pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
            Self::run(origin, ChainCall::WithdrawUnbonded)
        }

        /// Registers the caller for signing with its child key.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::register())]
        pub fn register(origin: OriginFor<T>) -> DispatchResult {
            Self::run(origin, ChainCall::Register)
        }

        /// Root: picks the first committee and starts the key generation.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::jumpstart(ChainParams::<T>::get().committee_size))]
        pub fn jumpstart(origin: OriginFor<T>) -> DispatchResult {
            Self::run(origin, ChainCall::Jumpstart)
        }

        /// Root: new parameters.
        #[pallet::call_index(7)]
        #[pallet::weight(T::WeightInfo::set_params())]
        pub fn set_params(origin: OriginFor<T>, params: Params) -> DispatchResult {
            ensure!(
                params.committee_size <= T::MaxCommitteeSize::get(),
                Error::<T>::TooLarge
            );
            Self::run(origin, ChainCall::SetParams { params })
        }

        /// A new member confirms the share it holds (signed by its TSS account).
        #[pallet::call_index(8)]
        #[pallet::weight({
            let n = ChainParams::<T>::get().committee_size;
            T::WeightInfo::confirm(n)
                .max(T::WeightInfo::confirm_equivocation(n))
                .max(T::WeightInfo::confirm_settle(n))
        })]
        pub fn confirm(
            origin: OriginFor<T>,
            session: SessionIndex,
            attempt: AttemptIndex,
            confirmation: Confirmation,
        ) -> DispatchResult {
            ensure!(
                crate::bounded::confirmation_fits::<T>(&confirmation),
                Error::<T>::TooLarge
            );
            Self::run(
                origin,
                ChainCall::Confirm {
                    session,
                    attempt,
                    confirmation,
                },
            )
        }

        /// A participant reports a provable offence (signed by its TSS account).
        #[pallet::call_index(9)]
        #[pallet::weight(match keywheel_chain::Crypto::evidence_cost(&T::Crypto::default(), evidence) {
            EvidenceCost::Curve => T::WeightInfo::report_offence(evidence.len() as u32),
            EvidenceCost::Paillier => T::WeightInfo::report_offence_paillier(evidence.len() as u32),
        })]
        pub fn report_offence(
            origin: OriginFor<T>,
            session: SessionIndex,
            attempt: AttemptIndex,
            offender: KeywheelAccount,
            evidence: Vec<u8>,
        ) -> DispatchResult {
            ensure!(
                evidence.len() <= T::MaxEvidenceLen::get() as usize,
                Error::<T>::TooLarge
            );
            Self::run(
                origin,
                ChainCall::ReportOffence {
                    session,
                    attempt,
                    offender,
                    evidence,
                },
            )
        }

        /// A participant names parties whose messages did not arrive (signed by its TSS
        /// account).
        #[pallet::call_index(10)]
        #[pallet::weight(T::WeightInfo::report_unresponsive(missing.len() as u32))]
        pub fn report_unresponsive(
            origin: OriginFor<T>,
            session: SessionIndex,
            attempt: AttemptIndex,
            missing: Vec<Silence>,
        ) -> DispatchResult {
            Self::run(
                origin,
                ChainCall::ReportUnresponsive {
                    session,
                    attempt,
                    missing,
                },
            )
        }
    }

    impl<T: Config> Pallet<T> {
        /// Each call at its dearest (the largest committee, evidence and report the runtime
        /// allows), and the dearest block processing.
        pub fn dearest() -> ([(&'static str, Weight); 12], Weight) {
            let n = T::MaxCommitteeSize::get();
            let e = T::MaxEvidenceLen::get();
            let m = n * 6 * ReportedRound::MAX_NUMBER as u32;
            let calls = [
                ("bond", T::WeightInfo::bond()),
                ("validate", T::WeightInfo::validate()),
                ("chill", T::WeightInfo::chill()),
                ("unbond", T::WeightInfo::unbond()),
                ("withdraw_unbonded", T::WeightInfo::withdraw_unbonded()),
                ("register", T::WeightInfo::register()),
                ("jumpstart", T::WeightInfo::jumpstart(n)),
                ("set_params", T::WeightInfo::set_params()),
                (
                    "confirm",
                    T::WeightInfo::confirm(n)
                        .max(T::WeightInfo::confirm_equivocation(n))
                        .max(T::WeightInfo::confirm_settle(n)),
                ),
                ("report_offence (curve evidence)", T::WeightInfo::report_offence(e)),
                (
                    "report_offence (Paillier evidence)",
                    T::WeightInfo::report_offence_paillier(e),
                ),
                ("report_unresponsive", T::WeightInfo::report_unresponsive(m)),
            ];
            let block = T::WeightInfo::on_initialize_deadline(n)
                .max(T::WeightInfo::on_initialize_session(n))
                .max(T::WeightInfo::on_initialize_idle());
            (calls, block)
        }

        /// Whether the runtime's blocks have room for every call at its dearest in one normal
        /// extrinsic, and for the dearest block processing; the first that does not fit, if any.
        pub fn check_block_room() -> Result<(), alloc::string::String> {
            let limits = <T as frame_system::Config>::BlockWeights::get();
            let (calls, block) = Self::dearest();
            if let Some(max) = limits.get(DispatchClass::Normal).max_extrinsic {
                if let Some((call, weight)) = calls.iter().find(|(_, w)| w.any_gt(max)) {
                    return Err(alloc::format!(
                        "keywheel: `{call}` at its dearest weighs {weight:?}, more than a normal \
                         extrinsic may ({max:?}); give blocks more weight or lower the limits \
                         (MaxCommitteeSize, MaxEvidenceLen)"
                    ));
                }
            }
            if block.any_gt(limits.max_block) {
                return Err(alloc::format!(
                    "keywheel: a block's processing at its dearest weighs {block:?}, more than a \
                     block may ({:?})",
                    limits.max_block
                ));
            }
            Ok(())
        }

        /// What a block's processing cost, by the path its events show: an attempt ended at
        /// its deadline, a session's rotation started (or found impossible), or neither.
        fn block_weight(events: &[ChainEvent]) -> Weight {
            let n = ChainParams::<T>::get().committee_size;
            if events.iter().any(|e| matches!(e, ChainEvent::ReshareAborted { .. })) {
                T::WeightInfo::on_initialize_deadline(n)
            } else if events.iter().any(|e| {
                matches!(
                    e,
                    ChainEvent::ReshareStarted { .. } | ChainEvent::ReshareAbandoned { .. }
                )
            }) {
                T::WeightInfo::on_initialize_session(n)
            } else {
                T::WeightInfo::on_initialize_idle()
            }
        }

        /// The rules' [`keywheel_chain::Store`]: the pallet itself, over its storage items
        /// (`store.rs`).
        pub fn store() -> Self {
            Pallet(core::marker::PhantomData)
        }

        /// Hands one call to the rules. The rules may write before they refuse; FRAME runs
        /// every dispatchable's body in a storage layer of its own (even when called directly,
        /// not through the runtime's dispatch), so a refused call leaves no trace.
        fn run(origin: OriginFor<T>, call: ChainCall) -> DispatchResult {
            let origin = match ensure_signed_or_root(origin)? {
                Some(who) => ChainOrigin::Signed(from_runtime(&who)),
                None => ChainOrigin::Root,
            };
            let events =
                keywheel_chain::dispatch(&mut Self::store(), &T::Crypto::default(), origin, call).map_err(|e| {
                    log::info!(target: "keywheel", "call refused: {e}");
                    DispatchError::from(Error::<T>::from(&e))
                })?;
            for event in events {
                Self::deposit_event(Event::Keywheel(event));
            }
            Ok(())
        }

        /// The rules' 32-byte block randomness from the runtime's output: 32 bytes are used as
        /// they are, any other length is hashed to 32 bytes.
        pub fn seed(output: &[u8]) -> [u8; 32] {
            match <[u8; 32]>::try_from(output) {
                Ok(seed) => seed,
                Err(_) => sp_io::hashing::blake2_256(output),
            }
        }
    }
}
