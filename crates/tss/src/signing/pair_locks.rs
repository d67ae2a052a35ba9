//! One DKLs23 signing per pair at a time, without deadlock across TSSs.
//!
//! Each signer locks, on its own side, its pair with every co-signer of a DKLs23 signing: a
//! co-signer probing the pair's OT state (each failed probe drops the pair) learns at most one
//! bit before the pair is gone. Locks taken in each TSS's own order of arrival deadlock across
//! TSSs — A holds its pair with B for one signing while B holds its pair with A for another,
//! and each waits for the other's messages (`BENCHMARKS.md`, sixth session). So the locks follow
//! *wound-wait* on a [`Priority`] every signer of a round computes alike: a signing waits in line
//! for a pair held by an older one (higher priority), and *wounds* a younger holder — calls its
//! job off here, so that its session ends, it releases its pairs, and its coordinator calls the
//! round off at its other signers and tries again. Every wait then points from a younger signing
//! to an older one, and a signing's waits for its own co-signers' messages stay within one
//! signing, so no cycle of waits can form; the oldest signing in flight is never wounded.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use keywheel_chain::AccountId;
use tokio::sync::{oneshot, watch};

use crate::sync::Locked;

/// A signing round's place in line, the same at every signer: the request that expires first
/// goes first (then the request hash, then the round, to break ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Priority {
    /// When the request expires (ms since the Unix epoch).
    pub expires_at_ms: u64,
    /// The request's hash.
    pub request: [u8; 32],
    /// The coordinator's try.
    pub round: u32,
}

/// How an older signing ends a younger one's hold on a pair: the younger job's call-off, and
/// a mark that says why it was called off.
pub(super) struct Wound {
    wounded: AtomicBool,
    call_off: Arc<watch::Sender<bool>>,
}

impl Wound {
    /// The wound of a job that `call_off` calls off.
    pub(super) fn new(call_off: Arc<watch::Sender<bool>>) -> Arc<Self> {
        Arc::new(Self {
            wounded: AtomicBool::new(false),
            call_off,
        })
    }

    /// Whether an older signing called this job off to take a pair it held.
    pub(super) fn was_wounded(&self) -> bool {
        self.wounded.load(Ordering::SeqCst)
    }

    fn inflict(&self) {
        self.wounded.store(true, Ordering::SeqCst);
        self.call_off.send_replace(true);
    }
}

/// Who holds a pair and who waits for it, oldest first.
#[derive(Default)]
struct Pair {
    holder: Option<(Priority, Arc<Wound>)>,
    waiters: BTreeMap<Priority, (Arc<Wound>, oneshot::Sender<PairGuard>)>,
}

type Pairs = Arc<Locked<HashMap<AccountId, Pair>>>;

/// This TSS's locks on its pairs. An entry exists only while a pair is held, so the map holds
/// at most one per co-signer of the signings in flight, and each entry's line at most one
/// waiter per job waiting (jobs are bounded by the signer's admission; one that stops waiting
/// leaves the line).
#[derive(Default, Clone)]
pub(super) struct PairLocks {
    pairs: Pairs,
}

/// One pair held; released (handed to the oldest waiter) on drop.
pub(super) struct PairGuard {
    pairs: Pairs,
    counterpart: AccountId,
}

impl std::fmt::Debug for PairGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairGuard")
            .field("counterpart", &self.counterpart)
            .finish()
    }
}

/// What a request for one pair comes to.
enum Take {
    Held(PairGuard),
    Wait(oneshot::Receiver<PairGuard>),
}

impl PairLocks {
    /// Locks the pairs with `counterparts` (in their order) for the signing of `priority`,
    /// waiting in line behind older holders and wounding younger ones. Resolves once all are
    /// held; the caller bounds the wait (its round's time, its own call-off — which a wound
    /// from an older signing also triggers). Dropping the future releases what it holds.
    pub(super) async fn lock(
        &self,
        counterparts: impl IntoIterator<Item = AccountId>,
        priority: Priority,
        wound: &Arc<Wound>,
    ) -> Vec<PairGuard> {
        let mut guards = Vec::new();
        for counterpart in counterparts {
            let guard = match self.take(counterpart, priority, wound) {
                Take::Held(guard) => guard,
                Take::Wait(granted) => {
                    // Leaves the line if this future is dropped while it waits.
                    let _in_line = InLine {
                        pairs: &self.pairs,
                        counterpart,
                        priority,
                    };
                    match granted.await {
                        Ok(guard) => guard,
                        // The sender is dropped only with its entry, which only `_in_line`
                        // removes: never while we wait.
                        Err(_) => std::future::pending().await,
                    }
                }
            };
            guards.push(guard);
        }
        guards
    }

    fn take(&self, counterpart: AccountId, priority: Priority, wound: &Arc<Wound>) -> Take {
        let mut pairs = self.pairs.lock();
        let pair = pairs.entry(counterpart).or_default();
        match &pair.holder {
            None => {
                pair.holder = Some((priority, wound.clone()));
                Take::Held(PairGuard {
                    pairs: self.pairs.clone(),
                    counterpart,
                })
            }
            Some((holder, holder_wound)) => {
                if priority < *holder {
                    holder_wound.inflict();
                }
                let (tx, rx) = oneshot::channel();
                let earlier = pair.waiters.insert(priority, (wound.clone(), tx));
                // Priorities are unique per job (request, round) and a job waits for a pair once.
                debug_assert!(earlier.is_none(), "two waiters with one priority");
                Take::Wait(rx)
            }
        }
    }
}

/// A place in a pair's line, given up on drop (a no-op once the pair was handed over).
struct InLine<'a> {
    pairs: &'a Pairs,
    counterpart: AccountId,
    priority: Priority,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        if let Some(pair) = self.pairs.lock().get_mut(&self.counterpart) {
            pair.waiters.remove(&self.priority);
        }
    }
}

impl Drop for PairGuard {
    fn drop(&mut self) {
        let (tx, handed) = {
            let mut pairs = self.pairs.lock();
            let Some(pair) = pairs.get_mut(&self.counterpart) else {
                return;
            };
            let Some((priority, (wound, tx))) = pair.waiters.pop_first() else {
                pairs.remove(&self.counterpart);
                return;
            };
            pair.holder = Some((priority, wound));
            let handed = PairGuard {
                pairs: self.pairs.clone(),
                counterpart: self.counterpart,
            };
            (tx, handed)
        };
        // A waiter that gave up hands the pair back, whose drop passes it to the next in line
        // (one level deeper per waiter gone, at most the jobs in flight). One that goes after
        // the send drops the guard with the channel, which passes it on too.
        if let Err(unwanted) = tx.send(handed) {
            drop(unwanted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn a(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    fn p(expires: u64) -> Priority {
        Priority {
            expires_at_ms: expires,
            request: [0; 32],
            round: 0,
        }
    }

    fn wound() -> Arc<Wound> {
        Wound::new(Arc::new(watch::channel(false).0))
    }

    /// Whether `fut` is still pending after the runtime had the chance to run everything else.
    async fn pending<F: std::future::Future + Unpin>(fut: &mut F) -> bool {
        tokio::time::timeout(Duration::from_millis(50), fut).await.is_err()
    }

    #[tokio::test]
    async fn a_younger_signing_waits_in_line_and_an_older_one_wounds_the_holder() {
        let locks = PairLocks::default();
        let (w20, w30, w10) = (wound(), wound(), wound());
        let held = locks.lock([a(2)], p(20), &w20).await;
        let mut younger = Box::pin(locks.lock([a(2)], p(30), &w30));
        assert!(pending(&mut younger).await, "a younger signing waits");
        assert!(!w20.was_wounded(), "and wounds nobody");
        let mut older = Box::pin(locks.lock([a(2)], p(10), &w10));
        assert!(
            pending(&mut older).await,
            "an older one waits for the wounded to let go"
        );
        assert!(
            w20.was_wounded() && *w20.call_off.borrow(),
            "the younger holder is called off"
        );
        drop(held);
        let older = older.await;
        assert!(pending(&mut younger).await, "the oldest in line goes first");
        drop(older);
        drop(younger.await);
        assert!(!w30.was_wounded() && !w10.was_wounded());
        assert!(locks.pairs.lock().is_empty(), "a free pair leaves no entry");
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_passes_its_turn_on() {
        let locks = PairLocks::default();
        let (w10, w20, w30) = (wound(), wound(), wound());
        let held = locks.lock([a(2)], p(10), &w10).await;
        // Waiting for the second pair while holding the first: both freed when the wait ends.
        let mut gives_up = Box::pin(locks.lock([a(3), a(2)], p(20), &w20));
        assert!(pending(&mut gives_up).await);
        assert!(locks.pairs.lock().contains_key(&a(3)));
        let mut next = Box::pin(locks.lock([a(2)], p(30), &w30));
        assert!(pending(&mut next).await);
        drop(gives_up);
        assert!(
            !locks.pairs.lock().contains_key(&a(3)),
            "the pair locked first is freed"
        );
        assert_eq!(
            locks.pairs.lock()[&a(2)].waiters.len(),
            1,
            "and its place in line is given up"
        );
        drop(held);
        drop(next.await);
        assert!(locks.pairs.lock().is_empty());
    }

    /// The deadlock that per-side mutexes ran into, across two TSSs: A holds its pair with B for
    /// the younger signing while B holds its pair with A for the older one. Under wound-wait the
    /// older wounds the younger at A and the younger waits at B; once the wounded job lets go
    /// at A, the older signing holds both sides, and the younger follows it.
    #[tokio::test]
    async fn crossed_signings_on_two_tsss_end_with_the_older_holding_both_sides() {
        let (at_a, at_b) = (PairLocks::default(), PairLocks::default());
        let (older, younger) = (p(10), p(20));
        let (w_older, w_younger) = (wound(), wound());
        let younger_at_a = at_a.lock([a(2)], younger, &w_younger).await;
        let older_at_b = at_b.lock([a(1)], older, &w_older).await;
        let mut older_at_a = Box::pin(at_a.lock([a(2)], older, &w_older));
        let mut younger_at_b = Box::pin(at_b.lock([a(1)], younger, &w_younger));
        assert!(pending(&mut older_at_a).await && pending(&mut younger_at_b).await);
        assert!(w_younger.was_wounded(), "the younger signing is called off");
        assert!(!w_older.was_wounded());
        // Called off, its session at A ends and drops its guard.
        drop(younger_at_a);
        let older_at_a = older_at_a.await;
        drop((older_at_a, older_at_b));
        drop(younger_at_b.await);
        assert!(at_a.pairs.lock().is_empty() && at_b.pairs.lock().is_empty());
    }
}
