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
    /// A directory of these declarations. A transport key declared by two accounts, or an
    /// account declared twice, is ambiguous and left out: a connection under that key could be
    /// either's, and attributing it to one could make the other look silent. The chain refuses
    /// such declarations; this is the transport's own guard against a chain that let one in.
    pub fn new(peers: impl IntoIterator<Item = (AccountId, Peer)>) -> Self {
        let mut accounts: HashMap<AccountId, Vec<Peer>> = HashMap::new();
        let mut keys: HashMap<[u8; 32], Vec<AccountId>> = HashMap::new();
        for (account, peer) in peers {
            keys.entry(peer.x25519).or_default().push(account);
            accounts.entry(account).or_default().push(peer);
        }
        let mut dir = Self::default();
        for (account, mut declared) in accounts {
            let peer = declared.pop().expect("grouped from at least one");
            if !declared.is_empty() {
                tracing::error!(?account, "the account is declared more than once: not reachable");
                continue;
            }
            if keys[&peer.x25519].len() > 1 {
                tracing::error!(
                    ?account,
                    "its transport key is declared by another account too: not reachable"
                );
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(key: u8) -> Peer {
        Peer {
            endpoint: format!("127.0.0.1:{}", 9000 + key as u16),
            x25519: [key; 32],
        }
    }

    #[test]
    fn an_ambiguous_key_or_account_reaches_nobody() {
        let (a, b, c, d) = (
            AccountId([1; 32]),
            AccountId([2; 32]),
            AccountId([3; 32]),
            AccountId([4; 32]),
        );
        // b copied a's key; c is declared twice; d is alone.
        let dir = Directory::new([(a, peer(1)), (b, peer(1)), (c, peer(3)), (c, peer(5)), (d, peer(4))]);
        assert_eq!(dir.account_of(&[1; 32]), None, "a copied key is neither's");
        assert!(dir.peer(&a).is_none() && dir.peer(&b).is_none());
        assert!(dir.peer(&c).is_none());
        assert_eq!(dir.account_of(&[3; 32]), None);
        assert_eq!(dir.account_of(&[5; 32]), None);
        assert_eq!(dir.account_of(&[4; 32]), Some(d));
        assert_eq!(dir.peer(&d), Some(&peer(4)));
    }
}
