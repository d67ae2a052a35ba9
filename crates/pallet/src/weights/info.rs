//! The trait of the pallet's weights, apart from its generated implementation (`measured`),
//! which names it.

use frame_support::weights::Weight;

/// Weights of the pallet's dispatchables and of a block's processing. Parameters are the worst
/// case the weight must cover: `n` the committee size, `e` the evidence length in bytes, `m`
/// the number of claims in a silence report.
pub trait WeightInfo {
    /// `bond`.
    fn bond() -> Weight;
    /// `validate` (one sr25519 verification).
    fn validate() -> Weight;
    /// `chill`.
    fn chill() -> Weight;
    /// `unbond`.
    fn unbond() -> Weight;
    /// `withdraw_unbonded`.
    fn withdraw_unbonded() -> Weight;
    /// `register`.
    fn register() -> Weight;
    /// `jumpstart` with committee size `n` (reads every validator).
    fn jumpstart(n: u32) -> Weight;
    /// `set_params`.
    fn set_params() -> Weight;
    /// `confirm` with committee size `n` (a sharing check, a share proof, the shares from the
    /// deals: `n` multi-scalar evaluations; possibly a rotation).
    fn confirm(n: u32) -> Weight;
    /// `confirm` with committee size `n` that catches every dealer endorsing two deals (the
    /// shares computed, a stake slash per dealer, the attempt ended).
    fn confirm_equivocation(n: u32) -> Weight;
    /// `confirm` with committee size `n` that is the last word of an attempt every other
    /// member reported on (the shares computed, every report read, `n - 1` judged and
    /// slashed, a retry). `confirm` is charged the largest of the three.
    fn confirm_settle(n: u32) -> Weight;
    /// `report_offence` with evidence of `e` bytes whose check is curve arithmetic (resharing
    /// evidence against a member of the largest committee; the check, a slash, an abort and a
    /// retry).
    fn report_offence(e: u32) -> Weight;
    /// `report_offence` with evidence of `e` bytes whose check verifies Paillier proofs (AuxGen
    /// evidence: a `Π^mod` proof spoiled in its last element).
    fn report_offence_paillier(e: u32) -> Weight;
    /// `report_unresponsive` with `m` claims that is the last word of an attempt (every report
    /// read, `n - 1` judged and slashed, a retry).
    fn report_unresponsive(m: u32) -> Weight;
    /// A block's processing that starts no attempt and ends none.
    fn on_initialize_idle() -> Weight;
    /// A block's processing that starts a session's rotation to a committee of `n` (a joiner
    /// picked among every validator).
    fn on_initialize_session(n: u32) -> Weight;
    /// A block's processing that ends an attempt at its deadline, committee size `n`: every
    /// report read, `n - 1` members judged and slashed, and a retry that picks a joiner.
    fn on_initialize_deadline(n: u32) -> Weight;
}
