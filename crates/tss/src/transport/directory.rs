//! The TSSs this one may talk to, as the chain declares them: each validating validator's TSS
//! account, its endpoint and its x25519 transport key.

use std::collections::HashMap;

use keywheel_chain::{AccountId, TssInfo};

/// One TSS as the chain declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Where it listens (`host:port`).
    pub endpoint: String,
    /// Its x25519 public key.
    pub x25519: [u8; 32],
}

/// The TSSs this one may talk to: the chain's declarations.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub(super) by_account: HashMap<AccountId, Peer>,
    by_key: HashMap<[u8; 32], AccountId>,
}

impl Directory {
    /// A directory of these declarations.
    pub fn new(peers: impl IntoIterator<Item = (AccountId, Peer)>) -> Self {
        let mut dir = Self::default();
        for (account, peer) in peers {
            dir.by_key.insert(peer.x25519, account);
            dir.by_account.insert(account, peer);
        }
        dir
    }

    /// The declaration of `account`.
    pub fn peer(&self, account: &AccountId) -> Option<&Peer> {
        self.by_account.get(account)
    }

    /// The account that declared `key`.
    pub fn account_of(&self, key: &[u8; 32]) -> Option<AccountId> {
        self.by_key.get(key).copied()
    }
}

impl Directory {
    /// The directory of the chain's validating validators' TSS declarations.
    pub fn from_validators(validators: &[keywheel_rpc::ValidatorInfo]) -> Self {
        Self::new(validators.iter().map(|v| {
            let TssInfo {
                account,
                endpoint,
                x25519,
            } = &v.tss;
            (
                *account,
                Peer {
                    endpoint: endpoint.clone(),
                    x25519: *x25519,
                },
            )
        }))
    }
}
