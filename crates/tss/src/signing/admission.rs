//! Admission of signing work: how many sign requests this TSS coordinates at once, how many
//! may wait for their turn (each account's share of them), and how many signing jobs it runs at
//! once for coordinators (each coordinator's share of them).
//!
//! Requests wait in FIFO order for one of `running` turns; a request that would go past the
//! bounds is refused at once with the time after which a retry is likely to be admitted, and
//! nothing is stored for it. Jobs are never queued: a signing session needs all its signers at
//! the same time, so a job that cannot start now is refused and the coordinator picks others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_rpc::sign_request::SignError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use crate::metrics::Refusal;
use crate::sync::Locked;

/// The bounds of signing admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Requests coordinated at once; the others admitted wait in arrival order.
    pub running: usize,
    /// Requests admitted at once, running or waiting.
    pub admitted: usize,
    /// Requests one account may have admitted at once.
    pub per_account: usize,
    /// Signing jobs run at once, for all coordinators together.
    pub jobs: usize,
    /// Signing jobs one coordinator may have running here at once.
    pub jobs_per_coordinator: usize,
}

impl AdmissionLimits {
    /// Limits for a machine with `cores` cores: one request in flight per core (each costs a
    /// core's worth of CPU in bursts, across its signers), a queue of 32 per core, and room for
    /// the jobs of a full committee of coordinators.
    pub fn for_cores(cores: usize) -> Self {
        let cores = cores.max(1);
        Self {
            running: cores,
            admitted: 32 * cores,
            per_account: 4,
            jobs: 64,
            jobs_per_coordinator: 8,
        }
    }
}

/// A refused request or job, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub why: Refusal,
    /// After how long a retry is likely to be admitted.
    pub retry_after: Duration,
}

impl Refused {
    /// The error this refusal gives, for a request from `account` (or a job for one).
    pub fn error(self, account: AccountId) -> SignError {
        let retry_after_s = self.retry_after.as_secs().max(1);
        let reason = match self.why {
            Refusal::AccountQuota => return SignError::Quota { account, retry_after_s },
            Refusal::Busy => "the queue of sign requests is full",
            Refusal::Expired => "the request waited for a turn until too little of its validity was left",
            Refusal::JobsBusy => "this signer runs as many signing jobs as it may",
            Refusal::CoordinatorQuota => "this signer runs as many jobs for that coordinator as it may",
            Refusal::PairsBusy => "this signer's DKLs23 pairs with co-signers are held by a signing ahead in line",
        };
        SignError::Busy {
            reason: reason.into(),
            retry_after_s,
        }
    }
}

/// What a request is assumed to take before any has been measured.
const FIRST_ESTIMATE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Counts {
    admitted: usize,
    per_account: HashMap<AccountId, usize>,
    jobs: usize,
    per_coordinator: HashMap<AccountId, usize>,
    /// Moving average of how long a request holds its turn.
    mean_turn: Option<Duration>,
}

/// Signing admission of one TSS.
pub struct Admission {
    limits: AdmissionLimits,
    counts: Arc<Locked<Counts>>,
    turns: Arc<Semaphore>,
}

impl Admission {
    /// Admission within `limits`.
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            limits,
            counts: Arc::default(),
            turns: Arc::new(Semaphore::new(limits.running.max(1))),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Admits a request from `account`, or refuses it at once.
    pub fn admit(&self, account: AccountId) -> Result<Ticket, Refused> {
        let mut counts = self.counts.lock();
        let retry_after = retry_after(&counts, &self.limits);
        if counts.admitted >= self.limits.admitted {
            return Err(Refused {
                why: Refusal::Busy,
                retry_after,
            });
        }
        let mine = counts.per_account.entry(account).or_default();
        if *mine >= self.limits.per_account {
            return Err(Refused {
                why: Refusal::AccountQuota,
                retry_after,
            });
        }
        *mine += 1;
        counts.admitted += 1;
        Ok(Ticket {
            account,
            counts: self.counts.clone(),
            turns: self.turns.clone(),
            turn: None,
        })
    }

    /// Lets a job from `coordinator` run now, or refuses it.
    pub fn start_job(&self, coordinator: AccountId) -> Result<JobSlot, Refused> {
        let mut counts = self.counts.lock();
        let retry_after = retry_after(&counts, &self.limits);
        if counts.jobs >= self.limits.jobs {
            return Err(Refused {
                why: Refusal::JobsBusy,
                retry_after,
            });
        }
        let theirs = counts.per_coordinator.entry(coordinator).or_default();
        if *theirs >= self.limits.jobs_per_coordinator {
            return Err(Refused {
                why: Refusal::CoordinatorQuota,
                retry_after,
            });
        }
        *theirs += 1;
        counts.jobs += 1;
        Ok(JobSlot {
            coordinator,
            counts: self.counts.clone(),
        })
    }

    /// Requests admitted now (running or waiting) and jobs running now.
    pub fn load(&self) -> (usize, usize) {
        let counts = self.counts.lock();
        (counts.admitted, counts.jobs)
    }
}

/// How long until a new request would likely get a turn: the admitted requests ahead of it,
/// `running` at a time, each holding its turn for the measured mean.
fn retry_after(counts: &Counts, limits: &AdmissionLimits) -> Duration {
    let mean = counts.mean_turn.unwrap_or(FIRST_ESTIMATE);
    let waves = counts.admitted.saturating_sub(limits.running) / limits.running.max(1) + 1;
    (mean * waves as u32).max(Duration::from_secs(1))
}

/// An admitted request: it holds its account's share of the queue until dropped.
pub struct Ticket {
    account: AccountId,
    counts: Arc<Locked<Counts>>,
    turns: Arc<Semaphore>,
    turn: Option<(OwnedSemaphorePermit, tokio::time::Instant)>,
}

impl Ticket {
    /// Waits, in arrival order, for a turn to coordinate, at most `patience`.
    pub async fn turn(&mut self, patience: Duration) -> Result<(), Refused> {
        if self.turn.is_some() {
            return Ok(());
        }
        match tokio::time::timeout(patience, self.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => {
                self.turn = Some((permit, tokio::time::Instant::now()));
                Ok(())
            }
            // The semaphore is never closed; a closed one refuses like a full queue.
            Ok(Err(_)) | Err(_) => {
                let counts = self.counts.lock();
                Err(Refused {
                    why: Refusal::Expired,
                    retry_after: counts.mean_turn.unwrap_or(FIRST_ESTIMATE),
                })
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        counts.admitted = counts.admitted.saturating_sub(1);
        if let Some(n) = counts.per_account.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                counts.per_account.remove(&self.account);
            }
        }
        if let Some((_, since)) = &self.turn {
            let took = since.elapsed();
            counts.mean_turn = Some(match counts.mean_turn {
                Some(mean) => (mean * 7 + took) / 8,
                None => took,
            });
        }
    }
}

/// A running job: it holds its coordinator's share of the jobs until dropped.
pub struct JobSlot {
    coordinator: AccountId,
    counts: Arc<Locked<Counts>>,
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        counts.jobs = counts.jobs.saturating_sub(1);
        if let Some(n) = counts.per_coordinator.get_mut(&self.coordinator) {
            *n -= 1;
            if *n == 0 {
                counts.per_coordinator.remove(&self.coordinator);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            running: 2,
            admitted: 5,
            per_account: 3,
            jobs: 3,
            jobs_per_coordinator: 2,
        }
    }

    fn account(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    #[test]
    fn the_queue_refuses_past_its_bound_and_each_account_past_its_share() {
        let admission = Admission::new(limits());
        let mine: Vec<Ticket> = (0..3).map(|_| admission.admit(account(1)).unwrap()).collect();
        let refused = admission.admit(account(1)).err().unwrap();
        assert_eq!(refused.why, Refusal::AccountQuota);
        let theirs: Vec<Ticket> = (0..2).map(|_| admission.admit(account(2)).unwrap()).collect();
        let refused = admission.admit(account(3)).err().unwrap();
        assert_eq!(refused.why, Refusal::Busy);
        assert!(refused.retry_after >= Duration::from_secs(1));
        assert_eq!(admission.load().0, 5);
        drop(mine);
        assert_eq!(admission.load().0, 2);
        admission
            .admit(account(3))
            .expect("room again once tickets are dropped");
        drop(theirs);
    }

    #[tokio::test(start_paused = true)]
    async fn turns_are_taken_in_arrival_order_and_a_request_gives_up_after_its_patience() {
        let admission = Arc::new(Admission::new(limits()));
        let mut first = admission.admit(account(1)).unwrap();
        let mut second = admission.admit(account(2)).unwrap();
        first.turn(Duration::from_secs(1)).await.unwrap();
        second.turn(Duration::from_secs(1)).await.unwrap();
        // Both turns are taken: the third waits, and gives up when its patience runs out.
        let mut third = admission.admit(account(3)).unwrap();
        let refused = third.turn(Duration::from_secs(10)).await.err().unwrap();
        assert_eq!(refused.why, Refusal::Expired);

        // Waiters are served in order: the fourth, then the fifth, as turns come free.
        let order = Arc::new(Locked::new(Vec::new()));
        let mut waiters = Vec::new();
        for i in [4u8, 5] {
            let mut ticket = admission.admit(account(i)).unwrap();
            let order = order.clone();
            waiters.push(tokio::spawn(async move {
                ticket.turn(Duration::from_secs(100)).await.unwrap();
                order.lock().push(i);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(*order.lock(), vec![4]);
        drop(second);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock(), vec![4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_follows_the_measured_turns_and_the_queue_ahead() {
        let admission = Admission::new(AdmissionLimits {
            admitted: 100,
            per_account: 100,
            ..limits()
        });
        for _ in 0..4 {
            let mut t = admission.admit(account(1)).unwrap();
            t.turn(Duration::from_secs(1)).await.unwrap();
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
        let queued: Vec<Ticket> = (0..6).map(|_| admission.admit(account(1)).unwrap()).collect();
        // 6 admitted, 2 at a time, 20 s each: a newcomer waits about (6 - 2) / 2 + 1 = 3 turns.
        let counts = admission.counts.lock();
        assert_eq!(retry_after(&counts, &admission.limits), Duration::from_secs(60));
        drop(counts);
        drop(queued);
    }

    #[test]
    fn jobs_are_bounded_overall_and_per_coordinator() {
        let admission = Admission::new(limits());
        let a = [
            admission.start_job(account(1)).unwrap(),
            admission.start_job(account(1)).unwrap(),
        ];
        assert_eq!(
            admission.start_job(account(1)).err().unwrap().why,
            Refusal::CoordinatorQuota
        );
        let b = admission.start_job(account(2)).unwrap();
        assert_eq!(admission.start_job(account(3)).err().unwrap().why, Refusal::JobsBusy);
        drop(a);
        admission
            .start_job(account(3))
            .expect("room again once slots are dropped");
        drop(b);
    }
}
