//! Counters and the signing latency histogram, rendered as Prometheus text for `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sync::Locked;

/// Upper bounds (seconds) of the signing latency buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0];

/// Why a frame was dropped (a label of `keywheel_tss_frames_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Tagged for an attempt older than the one in flight (a replay or a straggler).
    Stale,
    /// From a peer that is not a participant of the session it is tagged for.
    NotParticipant,
    /// Tagged for an attempt past the one after the attempt in flight.
    NotExpected,
    /// For a session that has ended.
    Closed,
    /// The buffer for sessions not opened yet is full.
    BufferFull,
    /// The sender's share of that buffer is full.
    PeerQuota,
    /// Outbound: the peer's queue is full.
    PeerQueueFull,
    /// Outbound: it could not be delivered within `FRAME_TTL` of being queued.
    Expired,
    /// Bytes that are not a frame.
    Malformed,
    /// Over the size limit.
    Oversized,
}

impl Dropped {
    const ALL: [Dropped; 10] = [
        Dropped::Stale,
        Dropped::NotParticipant,
        Dropped::NotExpected,
        Dropped::Closed,
        Dropped::BufferFull,
        Dropped::PeerQuota,
        Dropped::PeerQueueFull,
        Dropped::Expired,
        Dropped::Malformed,
        Dropped::Oversized,
    ];

    fn label(self) -> &'static str {
        match self {
            Dropped::Stale => "stale",
            Dropped::NotParticipant => "not_participant",
            Dropped::NotExpected => "not_expected",
            Dropped::Closed => "closed",
            Dropped::BufferFull => "buffer_full",
            Dropped::PeerQuota => "peer_quota",
            Dropped::PeerQueueFull => "peer_queue_full",
            Dropped::Expired => "expired",
            Dropped::Malformed => "malformed",
            Dropped::Oversized => "oversized",
        }
    }
}

/// Why the listener closed an inbound connection it did not have to (a label of
/// `keywheel_tss_connections_closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// Refused at once: too many handshakes in progress.
    Busy,
    /// Refused at once: too many handshakes in progress from its address.
    BusyAddress,
    /// Its handshake took too long.
    HandshakeTimeout,
    /// It started no frame for the idle time.
    Idle,
    /// One of its frames took too long to arrive.
    SlowFrame,
    /// The same account connected again; the newer connection stays.
    Replaced,
    /// Its account left the directory, or declared another key.
    Undeclared,
}

impl ConnectionEnd {
    const ALL: [ConnectionEnd; 7] = [
        ConnectionEnd::Busy,
        ConnectionEnd::BusyAddress,
        ConnectionEnd::HandshakeTimeout,
        ConnectionEnd::Idle,
        ConnectionEnd::SlowFrame,
        ConnectionEnd::Replaced,
        ConnectionEnd::Undeclared,
    ];

    fn label(self) -> &'static str {
        match self {
            ConnectionEnd::Busy => "busy",
            ConnectionEnd::BusyAddress => "busy_address",
            ConnectionEnd::HandshakeTimeout => "handshake_timeout",
            ConnectionEnd::Idle => "idle",
            ConnectionEnd::SlowFrame => "slow_frame",
            ConnectionEnd::Replaced => "replaced",
            ConnectionEnd::Undeclared => "undeclared",
        }
    }
}

/// Why signing work was refused (a label of `keywheel_tss_sign_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request queue is full.
    Busy,
    /// The request's account has its share of the queue.
    AccountQuota,
    /// A request waited its whole validity for a turn.
    Expired,
    /// This TSS runs as many signing jobs as it may.
    JobsBusy,
    /// The job's coordinator has its share of the jobs.
    CoordinatorQuota,
    /// A DKLs23 job's pairs were held by a signing ahead of it in line (it is tried again).
    PairsBusy,
}

impl Refusal {
    /// Every refusal, in declaration order (the metric's index).
    pub const ALL: [Refusal; 6] = [
        Refusal::Busy,
        Refusal::AccountQuota,
        Refusal::Expired,
        Refusal::JobsBusy,
        Refusal::CoordinatorQuota,
        Refusal::PairsBusy,
    ];

    /// The metric label.
    fn label(self) -> &'static str {
        match self {
            Refusal::Busy => "busy",
            Refusal::AccountQuota => "account_quota",
            Refusal::Expired => "expired",
            Refusal::JobsBusy => "jobs_busy",
            Refusal::CoordinatorQuota => "coordinator_quota",
            Refusal::PairsBusy => "pairs_busy",
        }
    }
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The CPU time this process has used, in seconds (0 where the clock is not available).
pub fn process_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
    }
    #[cfg(not(unix))]
    0.0
}

/// Counts one more of `counter`.
pub fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Everything the TSS counts.
#[derive(Default)]
pub struct Metrics {
    /// Reshare attempts this TSS took part in.
    pub attempts: AtomicU64,
    /// Attempts that ended with offenders named by this TSS.
    pub attempt_failures: AtomicU64,
    /// Confirmations this TSS submitted.
    pub confirmations: AtomicU64,
    /// Rotations of the keystore (`next → current`).
    pub rotations: AtomicU64,
    /// Offence and silence reports submitted.
    pub reports: AtomicU64,
    /// Signatures returned to users by this TSS as coordinator.
    pub signatures: AtomicU64,
    /// Sign requests that ended in an error.
    pub sign_errors: AtomicU64,
    /// Connections refused because the peer's key is declared by no TSS.
    pub unknown_peers: AtomicU64,
    /// 1 while key actions are halted because the node cannot be trusted, else 0.
    pub halted: AtomicU64,
    /// Retired shares shredded once the chain was far enough past their rotation.
    pub shredded: AtomicU64,
    /// Failed `accept` calls on the peer port (e.g. out of file descriptors).
    pub accept_errors: AtomicU64,
    /// Indexed by `Dropped as usize` (declaration order, as in `Dropped::ALL`).
    dropped: [AtomicU64; Dropped::ALL.len()],
    /// Indexed by `ConnectionEnd as usize`.
    connections_closed: [AtomicU64; ConnectionEnd::ALL.len()],
    /// Indexed by `Refusal as usize`.
    sign_refused: [AtomicU64; Refusal::ALL.len()],
    latency: Locked<Histogram>,
}

impl Metrics {
    /// Counts a dropped frame.
    pub fn dropped(&self, why: Dropped) {
        self.dropped[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Frames dropped for `why` so far.
    pub fn dropped_count(&self, why: Dropped) -> u64 {
        self.dropped[why as usize].load(Ordering::Relaxed)
    }

    /// Counts an inbound connection the listener closed.
    pub fn connection_closed(&self, why: ConnectionEnd) {
        self.connections_closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Inbound connections closed for `why` so far.
    pub fn connections_closed_count(&self, why: ConnectionEnd) -> u64 {
        self.connections_closed[why as usize].load(Ordering::Relaxed)
    }

    /// Counts signing work refused.
    pub fn sign_refused(&self, why: Refusal) {
        self.sign_refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Signing work refused for `why` so far.
    pub fn sign_refused_count(&self, why: Refusal) -> u64 {
        self.sign_refused[why as usize].load(Ordering::Relaxed)
    }

    /// Records one signing latency.
    pub fn observe_signing(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut h = self.latency.lock();
        for (bucket, bound) in h.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        };
        counter(
            "keywheel_tss_reshare_attempts_total",
            "Reshare attempts this TSS took part in.",
            &self.attempts,
        );
        counter(
            "keywheel_tss_reshare_failures_total",
            "Reshare attempts that ended with offenders named.",
            &self.attempt_failures,
        );
        counter(
            "keywheel_tss_confirmations_total",
            "Confirmations submitted.",
            &self.confirmations,
        );
        counter(
            "keywheel_tss_rotations_total",
            "Keystore rotations (next to current).",
            &self.rotations,
        );
        counter(
            "keywheel_tss_reports_total",
            "Offence and silence reports submitted.",
            &self.reports,
        );
        counter(
            "keywheel_tss_signatures_total",
            "Signatures returned to users.",
            &self.signatures,
        );
        counter(
            "keywheel_tss_sign_errors_total",
            "Sign requests that failed.",
            &self.sign_errors,
        );
        counter(
            "keywheel_tss_unknown_peers_total",
            "Connections refused: the peer's key is declared by no TSS.",
            &self.unknown_peers,
        );
        counter(
            "keywheel_tss_accept_errors_total",
            "Failed accepts on the peer port (the listener backs off after each).",
            &self.accept_errors,
        );
        counter(
            "keywheel_tss_shredded_total",
            "Retired shares shredded, K sessions after their rotation on a checked chain.",
            &self.shredded,
        );
        out.push_str(&format!(
            "# HELP keywheel_tss_halted 1 while key actions are halted (the node is behind, forked or foreign).\n\
             # TYPE keywheel_tss_halted gauge\nkeywheel_tss_halted {}\n",
            self.halted.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP keywheel_tss_frames_dropped_total Peer frames dropped, by reason.\n");
        out.push_str("# TYPE keywheel_tss_frames_dropped_total counter\n");
        for why in Dropped::ALL {
            out.push_str(&format!(
                "keywheel_tss_frames_dropped_total{{reason=\"{}\"}} {}\n",
                why.label(),
                self.dropped_count(why)
            ));
        }
        out.push_str(
            "# HELP keywheel_tss_connections_closed_total Inbound peer connections the listener closed, by reason.\n",
        );
        out.push_str("# TYPE keywheel_tss_connections_closed_total counter\n");
        for why in ConnectionEnd::ALL {
            out.push_str(&format!(
                "keywheel_tss_connections_closed_total{{reason=\"{}\"}} {}\n",
                why.label(),
                self.connections_closed_count(why)
            ));
        }
        out.push_str(
            "# HELP keywheel_tss_sign_refused_total Sign requests and signing jobs refused by admission, by reason.\n",
        );
        out.push_str("# TYPE keywheel_tss_sign_refused_total counter\n");
        for why in Refusal::ALL {
            out.push_str(&format!(
                "keywheel_tss_sign_refused_total{{reason=\"{}\"}} {}\n",
                why.label(),
                self.sign_refused_count(why)
            ));
        }
        out.push_str(&format!(
            "# HELP process_cpu_seconds_total CPU time this TSS process has used (user and system).\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {:.3}\n",
            process_cpu_seconds()
        ));
        let h = self.latency.lock();
        out.push_str("# HELP keywheel_tss_signing_seconds Time to answer a sign request.\n");
        out.push_str("# TYPE keywheel_tss_signing_seconds histogram\n");
        for (bound, count) in LATENCY_BUCKETS.iter().zip(h.buckets) {
            out.push_str(&format!(
                "keywheel_tss_signing_seconds_bucket{{le=\"{bound}\"}} {count}\n"
            ));
        }
        out.push_str(&format!(
            "keywheel_tss_signing_seconds_bucket{{le=\"+Inf\"}} {}\n",
            h.count
        ));
        out.push_str(&format!("keywheel_tss_signing_seconds_sum {}\n", h.sum));
        out.push_str(&format!("keywheel_tss_signing_seconds_count {}\n", h.count));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe_signing(Duration::from_millis(700));
        m.observe_signing(Duration::from_secs(4));
        m.dropped(Dropped::Stale);
        let text = m.render();
        assert!(
            text.contains("keywheel_tss_signing_seconds_bucket{le=\"0.5\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("keywheel_tss_signing_seconds_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("keywheel_tss_signing_seconds_bucket{le=\"5\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("keywheel_tss_signing_seconds_count 2\n"), "{text}");
        // CPU time only grows: burn a little and read it again.
        let before = process_cpu_seconds();
        let mut x = 0u64;
        while process_cpu_seconds() < before + 0.01 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0 && text.contains("process_cpu_seconds_total "), "{text}");
        assert!(
            text.contains("keywheel_tss_frames_dropped_total{reason=\"stale\"} 1\n"),
            "{text}"
        );
    }
}
