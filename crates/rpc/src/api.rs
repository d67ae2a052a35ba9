//! The node's JSON-RPC API, namespace `keywheel` (methods are `keywheel_<name>`).

use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use keywheel_chain::{AccountId, BlockNumber, Params, SlashRecord};

use crate::block::{Block, EventRecord};
use crate::types::{
    AccountInfo, Bytes, CommitteeView, Inclusion, NodeStatus, ReshareView, SubmitReceipt, ValidatorInfo,
};

/// The API the dev node serves and the TSS and CLI call. Errors carry an
/// [`crate::ErrorCode`].
#[rpc(server, client, namespace = "keywheel")]
pub trait KeywheelApi {
    /// Network, height, best block and state digest.
    #[method(name = "status")]
    async fn status(&self) -> Result<NodeStatus, ErrorObjectOwned>;

    /// Balance, stake, nonce, validator and registry entry of an account.
    #[method(name = "account")]
    async fn account(&self, account: AccountId) -> Result<AccountInfo, ErrorObjectOwned>;

    /// The nonce the account's next extrinsic must carry.
    #[method(name = "nextNonce")]
    async fn next_nonce(&self, account: AccountId) -> Result<u64, ErrorObjectOwned>;

    /// Submits a signed extrinsic (hex of [`crate::Extrinsic::encode`]). It is checked and
    /// applied to the block being built at once: an error means nothing changed. Returns when
    /// it is accepted; it is durable once that block is sealed (see `submitAndWait`).
    #[method(name = "submit")]
    async fn submit(&self, extrinsic: Bytes) -> Result<SubmitReceipt, ErrorObjectOwned>;

    /// Like `submit`, but returns once the block holding the extrinsic is sealed and stored.
    #[method(name = "submitAndWait")]
    async fn submit_and_wait(&self, extrinsic: Bytes) -> Result<Inclusion, ErrorObjectOwned>;

    /// The current committee in join order, its sharing and the parent key.
    #[method(name = "committee")]
    async fn committee(&self) -> Result<CommitteeView, ErrorObjectOwned>;

    /// The reshare attempt in flight, with confirmations and silence reports so far.
    #[method(name = "reshare")]
    async fn reshare(&self) -> Result<Option<ReshareView>, ErrorObjectOwned>;

    /// The parent verifying key (compressed SEC1), once jumpstart has completed.
    #[method(name = "parentKey")]
    async fn parent_key(&self) -> Result<Option<Bytes>, ErrorObjectOwned>;

    /// The chain's parameters.
    #[method(name = "params")]
    async fn params(&self) -> Result<Params, ErrorObjectOwned>;

    /// Every validating stash with its TSS and stake.
    #[method(name = "validators")]
    async fn validators(&self) -> Result<Vec<ValidatorInfo>, ErrorObjectOwned>;

    /// Every punishment so far.
    #[method(name = "slashes")]
    async fn slashes(&self) -> Result<Vec<SlashRecord>, ErrorObjectOwned>;

    /// The BIP32 path of a registered account (`null` if it is not registered).
    #[method(name = "registry")]
    async fn registry(&self, account: AccountId) -> Result<Option<Vec<u32>>, ErrorObjectOwned>;

    /// A sealed block by number; the best block if `number` is omitted or null.
    #[method(name = "block")]
    async fn block(&self, number: Option<BlockNumber>) -> Result<Option<Block>, ErrorObjectOwned>;

    /// The events of the block being built: accepted, not sealed yet, and lost if the node
    /// stops before sealing it (what `submitAndWait` is still waiting for).
    #[method(name = "pendingEvents")]
    async fn pending_events(&self) -> Result<Vec<EventRecord>, ErrorObjectOwned>;

    /// Every block as it is sealed. The subscription ends if the client falls too far
    /// behind; resubscribe and read the state again.
    #[subscription(name = "subscribeBlocks" => "newBlock", unsubscribe = "unsubscribeBlocks", item = Block)]
    async fn subscribe_blocks(&self) -> SubscriptionResult;

    /// Every event of every sealed block, in order. Ends like `subscribeBlocks` on lag.
    #[subscription(name = "subscribeEvents" => "newEvent", unsubscribe = "unsubscribeEvents", item = EventRecord)]
    async fn subscribe_events(&self) -> SubscriptionResult;
}
