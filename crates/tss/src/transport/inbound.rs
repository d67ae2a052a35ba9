//! Which inbound connections the listener keeps: a bound on handshakes in progress (overall and
//! per address), one authenticated connection per account, and the times after which a peer that
//! says nothing, or sends a frame too slowly, is dropped. Pure bookkeeping (no IO), so each rule
//! is tested without sockets; the listener applies it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use tokio::sync::Notify;

/// The listener's bounds. Handshakes are the only unauthenticated state, so they are what a
/// flood of connections can fill: each is capped in number and in time. Authenticated
/// connections are bounded by the directory (one per declared account).
#[derive(Debug, Clone)]
pub(crate) struct InboundLimits {
    /// Handshakes in progress at once, from all addresses.
    pub(crate) handshakes: usize,
    /// Handshakes in progress at once from one IP address.
    pub(crate) handshakes_per_address: usize,
    /// How long an inbound handshake may take (an honest peer's takes milliseconds).
    pub(crate) handshake: Duration,
    /// An authenticated connection that starts no frame for this long is closed; the peer's
    /// dialler sees that and dials again before its next frame.
    pub(crate) idle: Duration,
    /// How long one frame may take to arrive once its header did.
    pub(crate) frame: Duration,
}

impl Default for InboundLimits {
    fn default() -> Self {
        Self {
            handshakes: 64,
            handshakes_per_address: 8,
            handshake: Duration::from_secs(5),
            idle: Duration::from_secs(300),
            frame: Duration::from_secs(60),
        }
    }
}

/// Why the listener refused a connection at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Too many handshakes in progress.
    Busy,
    /// Too many handshakes in progress from this address.
    BusyAddress,
}

/// The inbound connections in progress and established.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    handshaking: usize,
    per_address: HashMap<IpAddr, usize>,
    /// The live authenticated connection of each account: its id, the key it proved, and how to
    /// close it.
    by_account: HashMap<AccountId, (u64, [u8; 32], Arc<Notify>)>,
    next_id: u64,
}

impl Inbound {
    /// Takes a handshake slot for a connection from `address`, or says why not.
    pub(crate) fn admit(&mut self, address: IpAddr, limits: &InboundLimits) -> Result<(), Refusal> {
        if self.handshaking >= limits.handshakes {
            return Err(Refusal::Busy);
        }
        let from_address = self.per_address.entry(address).or_default();
        if *from_address >= limits.handshakes_per_address {
            return Err(Refusal::BusyAddress);
        }
        *from_address += 1;
        self.handshaking += 1;
        Ok(())
    }

    /// Gives back the handshake slot [`Inbound::admit`] took for `address`.
    pub(crate) fn handshake_over(&mut self, address: IpAddr) {
        self.handshaking = self.handshaking.saturating_sub(1);
        if let Some(n) = self.per_address.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&address);
            }
        }
    }

    /// Records `account`'s new authenticated connection; the one it had before, if any, is told
    /// to close (a peer that restarted dials again, so the newest connection is the live one).
    /// Returns the new connection's id and the signal that closes it in turn.
    pub(crate) fn established(&mut self, account: AccountId, key: [u8; 32]) -> (u64, Arc<Notify>, bool) {
        let id = self.next_id;
        self.next_id += 1;
        let close = Arc::new(Notify::new());
        let replaced = match self.by_account.insert(account, (id, key, close.clone())) {
            Some((_, _, old)) => {
                old.notify_one();
                true
            }
            None => false,
        };
        (id, close, replaced)
    }

    /// Forgets connection `id` of `account` when it ends (unless a newer one replaced it).
    pub(crate) fn ended(&mut self, account: AccountId, id: u64) {
        if self.by_account.get(&account).is_some_and(|(live, _, _)| *live == id) {
            self.by_account.remove(&account);
        }
    }

    /// Closes the connections `keep` refuses, given the account and the key it proved (an
    /// account that left the directory, or whose declared key changed). Returns how many.
    pub(crate) fn retain(&mut self, keep: impl Fn(&AccountId, &[u8; 32]) -> bool) -> usize {
        let mut closed = 0;
        self.by_account.retain(|account, (_, key, close)| {
            let kept = keep(account, key);
            if !kept {
                close.notify_one();
                closed += 1;
            }
            kept
        });
        closed
    }

    /// Authenticated connections now.
    #[cfg(test)]
    pub(crate) fn established_count(&self) -> usize {
        self.by_account.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: AccountId = AccountId([1; 32]);
    const B: AccountId = AccountId([2; 32]);

    #[test]
    fn handshakes_are_capped_overall_and_per_address_and_slots_come_back() {
        let limits = InboundLimits {
            handshakes: 3,
            handshakes_per_address: 2,
            ..InboundLimits::default()
        };
        let (x, y, z): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let mut inbound = Inbound::default();
        assert_eq!(inbound.admit(x, &limits), Ok(()));
        assert_eq!(inbound.admit(x, &limits), Ok(()));
        assert_eq!(inbound.admit(x, &limits), Err(Refusal::BusyAddress));
        assert_eq!(inbound.admit(y, &limits), Ok(()));
        assert_eq!(inbound.admit(z, &limits), Err(Refusal::Busy));
        inbound.handshake_over(x);
        assert_eq!(inbound.admit(z, &limits), Ok(()), "a finished handshake frees its slot");
        assert_eq!(inbound.admit(x, &limits), Err(Refusal::Busy));
        for a in [x, y, z] {
            inbound.handshake_over(a);
        }
        assert_eq!(inbound.admit(x, &limits), Ok(()));
        assert_eq!(
            inbound.per_address.get(&y),
            None,
            "an address with nothing in progress is forgotten"
        );
    }

    #[tokio::test]
    async fn one_connection_per_account_the_newest_and_a_departed_account_is_closed() {
        let mut inbound = Inbound::default();
        let (first, first_close, replaced) = inbound.established(A, [7; 32]);
        assert!(!replaced);
        let (second, _second_close, replaced) = inbound.established(A, [7; 32]);
        assert!(replaced, "the second connection of A replaces the first");
        tokio::time::timeout(Duration::from_secs(1), first_close.notified())
            .await
            .expect("the first connection is told to close");
        inbound.ended(A, first);
        assert_eq!(
            inbound.established_count(),
            1,
            "the old connection's end forgets nothing newer"
        );
        let (_, b_close, _) = inbound.established(B, [8; 32]);
        assert_eq!(inbound.retain(|a, key| *a != B && *key == [7; 32]), 1);
        tokio::time::timeout(Duration::from_secs(1), b_close.notified())
            .await
            .expect("B left the directory: its connection is told to close");
        inbound.ended(A, second);
        assert_eq!(inbound.established_count(), 0);
    }
}
