//! The node's state machine, free of IO: the chain rules plus nonces, one block being built at
//! a time. Extrinsics are checked and applied to the block being built as they arrive, so a
//! submitter learns at once whether its call is in, and a refused one changes nothing. Time,
//! the author key and the cryptography are passed in.

use std::collections::BTreeMap;

use keywheel_chain::state::State;
use keywheel_chain::{AccountId, Chain, Crypto, Origin};
use keywheel_rpc::block::{Block, EventRecord, Header, Phase};
use keywheel_rpc::error::{ErrorCode, RpcError};
use keywheel_rpc::extrinsic::{Extrinsic, RuntimeCall};
use keywheel_rpc::types::{Bytes, SubmitReceipt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::author::BlockAuthor;
use crate::error::NodeError;
use crate::genesis::GenesisConfig;

/// Everything the node keeps between blocks: the chain state and each account's nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// The chain rules' state.
    pub chain: State,
    /// Extrinsics applied per account.
    pub nonces: BTreeMap<AccountId, u64>,
}

impl NodeState {
    /// SHA-256 over the chain digest and the nonces: what each header records.
    pub fn digest(&self) -> [u8; 32] {
        let nonces = postcard::to_allocvec(&self.nonces).expect("serializing plain data into a Vec cannot fail");
        let mut hasher = Sha256::new();
        hasher.update(keywheel_primitives::domain::NODE_STATE);
        hasher.update(self.chain.digest());
        hasher.update(nonces);
        hasher.finalize().into()
    }
}

/// The last sealed block and the node state after it: the head of the chain, as stored.
#[derive(Debug, Clone)]
pub struct Head {
    /// The last stored block.
    pub block: Block,
    /// The node state after it.
    pub state: NodeState,
}

/// The block being built.
#[derive(Debug, Clone)]
struct Pending {
    chain: Chain,
    nonces: BTreeMap<AccountId, u64>,
    number: u64,
    randomness: [u8; 32],
    vrf_output: [u8; 32],
    vrf_proof: Vec<u8>,
    extrinsics: Vec<Bytes>,
    events: Vec<EventRecord>,
}

/// A block sealed but not stored yet (see [`Runtime::seal`]).
#[derive(Debug)]
pub struct Sealed {
    head: Head,
    pending: Pending,
}

impl Sealed {
    /// The block and the state after it, as they are to be stored.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

/// The chain as the node runs it.
#[derive(Debug)]
pub struct Runtime {
    genesis_hash: [u8; 32],
    root: AccountId,
    author: AccountId,
    /// The last sealed block and the state after it (what queries see).
    head: Head,
    sealed_chain: Chain,
    pending: Option<Pending>,
}

/// The genesis block and state of a configuration.
pub fn genesis_head(config: &GenesisConfig) -> Result<Head, NodeError> {
    let chain = Chain::new(config.to_chain_genesis()?).map_err(|e| NodeError::Genesis(e.to_string()))?;
    let state = NodeState {
        chain: chain.state().clone(),
        nonces: BTreeMap::new(),
    };
    let header = Header {
        number: 0,
        parent_hash: [0; 32],
        timestamp_ms: 0,
        author: config.author,
        randomness: chain.state().randomness,
        vrf_output: [0; 32],
        vrf_proof: Vec::new(),
        extrinsics_root: Block::extrinsics_root(&[]),
        events_root: Block::events_root(&[]),
        state_digest: state.digest(),
    };
    Ok(Head {
        block: Block {
            header,
            extrinsics: Vec::new(),
            events: Vec::new(),
        },
        state,
    })
}

fn refused(err: keywheel_chain::ChainError) -> RpcError {
    let debug = format!("{err:?}");
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    RpcError::new(
        ErrorCode::Refused,
        format!("the chain refused the call: {err}; nothing changed"),
    )
    .with_data(serde_json::json!({ "error": name }))
}

impl Runtime {
    /// Resumes from a stored head (the genesis head for a new chain).
    pub fn new(config: &GenesisConfig, head: Head) -> Result<Self, NodeError> {
        let sealed_chain =
            Chain::from_state(head.state.chain.clone()).map_err(|e| NodeError::Genesis(e.to_string()))?;
        Ok(Self {
            genesis_hash: config.hash(),
            root: config.root,
            author: config.author,
            head,
            sealed_chain,
            pending: None,
        })
    }

    /// The last sealed block and state.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The chain after the last sealed block.
    pub fn chain(&self) -> &Chain {
        &self.sealed_chain
    }

    /// The nonce the account's next extrinsic must carry (counting the block being built).
    pub fn next_nonce(&self, account: &AccountId) -> u64 {
        let nonces = self.pending.as_ref().map_or(&self.head.state.nonces, |p| &p.nonces);
        nonces.get(account).copied().unwrap_or(0)
    }

    /// The events of the block being built: accepted, not sealed, and lost if the node stops
    /// before it seals them.
    pub fn pending_events(&self) -> Vec<EventRecord> {
        self.pending.as_ref().map_or_else(Vec::new, |p| p.events.clone())
    }

    /// The number of the block being built, if one is open.
    pub fn pending_number(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.number)
    }

    /// Opens the next block: draws its randomness from the author's VRF and runs the chain's
    /// block processing (session boundaries, deadlines). Does nothing if one is already open.
    pub fn open_block(&mut self, author: &BlockAuthor) {
        if self.pending.is_some() {
            return;
        }
        let parent = &self.head.block.header;
        let number = parent.number + 1;
        let drawn = author.randomness(&self.genesis_hash, number, &parent.randomness);
        let mut chain = self.sealed_chain.clone();
        let events = chain
            .on_block(number, drawn.randomness)
            .expect("the next block number always follows the sealed one");
        self.pending = Some(Pending {
            chain,
            nonces: self.head.state.nonces.clone(),
            number,
            randomness: drawn.randomness,
            vrf_output: drawn.vrf_output,
            vrf_proof: drawn.vrf_proof,
            extrinsics: Vec::new(),
            events: events
                .into_iter()
                .map(|event| EventRecord {
                    block: number,
                    phase: Phase::Initialization,
                    event,
                })
                .collect(),
        });
    }

    /// Checks an encoded extrinsic (size, format, network, signature, nonce, origin) and applies
    /// it to the block being built. On any error nothing changes.
    pub fn submit(&mut self, crypto: &impl Crypto, bytes: &[u8]) -> Result<SubmitReceipt, RpcError> {
        let extrinsic = Extrinsic::decode(bytes)?;
        if extrinsic.genesis_hash != self.genesis_hash {
            return Err(RpcError::new(
                ErrorCode::WrongNetwork,
                format!(
                    "the extrinsic is signed for the network with genesis {}, this node runs {}; sign it with \
                     keywheel_status's genesis_hash",
                    hex::encode(extrinsic.genesis_hash),
                    hex::encode(self.genesis_hash)
                ),
            ));
        }
        extrinsic.verify_signature()?;
        let signer = extrinsic.signer;
        let expected = self.next_nonce(&signer);
        if extrinsic.nonce != expected {
            let (code, what) = if extrinsic.nonce < expected {
                (ErrorCode::StaleNonce, "was already used (a replay or a resubmission)")
            } else {
                (ErrorCode::FutureNonce, "is ahead of the account's next nonce")
            };
            return Err(RpcError::new(
                code,
                format!(
                    "nonce {} {what}; sign again with nonce {expected} (keywheel_nextNonce)",
                    extrinsic.nonce
                ),
            )
            .with_data(serde_json::json!({ "expected": expected, "got": extrinsic.nonce })));
        }
        let (origin, call) = match extrinsic.call {
            RuntimeCall::Signed(call) => (Origin::Signed(signer), call),
            RuntimeCall::Sudo(call) if signer == self.root => (Origin::Root, call),
            RuntimeCall::Sudo(_) => {
                return Err(RpcError::new(
                    ErrorCode::NotRoot,
                    format!("{signer} is not the root account; only the genesis root key may send sudo calls"),
                ))
            }
        };
        let pending = self
            .pending
            .as_mut()
            .ok_or_else(|| RpcError::new(ErrorCode::Unavailable, "no block is being built; retry shortly"))?;
        let events = pending.chain.apply(crypto, origin, call).map_err(refused)?;
        *pending.nonces.entry(signer).or_default() += 1;
        let index = pending.extrinsics.len() as u32;
        pending.extrinsics.push(Bytes(bytes.to_vec()));
        pending.events.extend(events.iter().cloned().map(|event| EventRecord {
            block: pending.number,
            phase: Phase::Extrinsic(index),
            event,
        }));
        Ok(SubmitReceipt {
            hash: Extrinsic::hash(bytes),
            block: pending.number,
            index,
            events,
        })
    }

    /// Seals the block being built at `timestamp_ms`. It does not become the head yet: the
    /// caller stores it, then [`Self::commit`]s it — or, if storing failed, [`Self::reopen`]s
    /// it — so queries and subscriptions only ever see blocks that are stored.
    pub fn seal(&mut self, timestamp_ms: u64) -> Option<Sealed> {
        let pending = self.pending.take()?;
        let state = NodeState {
            chain: pending.chain.state().clone(),
            nonces: pending.nonces.clone(),
        };
        let header = Header {
            number: pending.number,
            parent_hash: self.head.block.hash(),
            timestamp_ms,
            author: self.author,
            randomness: pending.randomness,
            vrf_output: pending.vrf_output,
            vrf_proof: pending.vrf_proof.clone(),
            extrinsics_root: Block::extrinsics_root(&pending.extrinsics),
            events_root: Block::events_root(&pending.events),
            state_digest: state.digest(),
        };
        let head = Head {
            block: Block {
                header,
                extrinsics: pending.extrinsics.clone(),
                events: pending.events.clone(),
            },
            state,
        };
        Some(Sealed { head, pending })
    }

    /// The sealed block was stored: it becomes the head.
    pub fn commit(&mut self, sealed: Sealed) -> Head {
        self.head = sealed.head;
        self.sealed_chain = sealed.pending.chain;
        self.head.clone()
    }

    /// Storing the sealed block failed: the head stays as it was and the block is open again,
    /// with its extrinsics, so the next seal tries again.
    pub fn reopen(&mut self, sealed: Sealed) {
        self.pending = Some(sealed.pending);
    }
}

#[cfg(test)]
mod tests {
    use keywheel_chain::{Call, Params};
    use keywheel_mpc::PartySigner;
    use keywheel_rpc::RuntimeCall;

    use super::*;
    use crate::genesis::GenesisBalance;

    #[test]
    fn a_sealed_block_becomes_the_head_only_once_committed() {
        let author = BlockAuthor::from_seed(&[1; 32]);
        let user = PartySigner::from_seed(&[2; 32]);
        let config = GenesisConfig {
            name: "runtime-test".into(),
            root: AccountId([3; 32]),
            author: author.account(),
            params: Params::default(),
            balances: vec![GenesisBalance {
                account: user.account(),
                amount: 1_000_000,
            }],
            validators: Vec::new(),
        };
        let mut runtime = Runtime::new(&config, genesis_head(&config).unwrap()).unwrap();
        let genesis = runtime.head().block.hash();
        runtime.open_block(&author);
        let call = RuntimeCall::Signed(Call::Register);
        let extrinsic = Extrinsic::sign(&user, config.hash(), 0, call).encode();
        runtime.submit(&keywheel_chain::MpcCrypto, &extrinsic).unwrap();
        let registered = |events: &[EventRecord]| {
            events.iter().any(
                |r| matches!(r.event, keywheel_chain::Event::Registered { account, .. } if account == user.account()),
            )
        };
        assert!(registered(&runtime.pending_events()), "accepted: in the open block");

        // Storing failed: the head did not move and the block, with its extrinsic, is open again.
        let sealed = runtime.seal(1_000).expect("a block was open");
        assert_eq!(
            runtime.head().block.hash(),
            genesis,
            "a sealed block is not the head yet"
        );
        runtime.reopen(sealed);
        assert_eq!(runtime.head().block.hash(), genesis);
        assert_eq!(runtime.pending_number(), Some(1));
        assert_eq!(
            runtime.next_nonce(&user.account()),
            1,
            "the extrinsic is still in the open block"
        );

        // Stored: now it is the head, and the chain state after it is what queries see.
        let sealed = runtime.seal(2_000).expect("the block is open again");
        let stored = sealed.head().block.hash();
        let head = runtime.commit(sealed);
        assert_eq!(head.block.hash(), stored);
        assert_eq!(runtime.head().block.hash(), stored);
        assert_eq!(runtime.head().block.extrinsics.len(), 1);
        assert!(runtime.chain().state().registry.contains_key(&user.account()));
        assert_eq!(runtime.pending_number(), None);
        assert!(runtime.pending_events().is_empty(), "sealed: no longer pending");
        assert!(registered(&runtime.head().block.events));
    }
}
