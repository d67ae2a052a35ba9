//! What the orchestrator tells the API: the attempt it runs now and how the last one ended.

use std::fmt;

use keywheel_chain::{AccountId, AttemptIndex, Call, SessionIndex};
use serde::{Serialize, Serializer};

/// How an attempt this TSS took part in ended for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// It holds the new share and the chain took its confirmation.
    Confirmed,
    /// It holds the new share; the chain has not taken its confirmation yet (the next
    /// reconcile confirms again).
    HeldNotConfirmed,
    /// It is not in the new committee: it took part as a leaving holder and keeps no new share.
    Left,
    /// The protocol named offenders (reported to the chain).
    Failed {
        /// Who was named.
        named: Vec<AccountId>,
    },
    /// The attempt could not run or its share could not be kept.
    Error(String),
}

impl fmt::Display for AttemptResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Confirmed => f.write_str("confirmed"),
            Self::HeldNotConfirmed => f.write_str("held, not confirmed yet"),
            Self::Left => f.write_str("left"),
            Self::Failed { named } => write!(f, "failed: named {named:?}"),
            Self::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// Shown as its text (`confirmed`, `left`, `failed: …`, `error: …`), as `/v1/status` always did.
impl Serialize for AttemptResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What happened to the last attempt this TSS took part in.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    /// Session.
    pub session: u32,
    /// Attempt.
    pub attempt: u32,
    /// How it ended.
    pub result: AttemptResult,
    /// Wall time of the protocol run, in ms.
    pub took_ms: u64,
}

/// The orchestrator's view of its attempts.
#[derive(Debug, Clone, Default)]
pub struct AttemptStatus {
    /// The attempt whose protocol runs now, `(session, attempt)`.
    pub running: Option<(SessionIndex, AttemptIndex)>,
    /// The last attempt it took part in, once it ended.
    pub last: Option<AttemptReport>,
    /// The chain session it saw last.
    pub chain_session: Option<SessionIndex>,
    /// Reports of an attempt that no sealed block holds yet: sent again while that attempt is
    /// in flight.
    pub unsent_reports: Vec<((SessionIndex, AttemptIndex), Call)>,
    /// The attempt whose confirmation the chain refused (not sent again).
    pub confirmation_refused: Option<(SessionIndex, AttemptIndex)>,
}

impl AttemptStatus {
    /// Records that the attempt `key` ended as `report` says. It stops being the running one
    /// only if it still is: a superseded attempt that ends late does not clear its successor.
    pub fn finish(&mut self, key: (SessionIndex, AttemptIndex), report: AttemptReport) {
        if self.running == Some(key) {
            self.running = None;
        }
        self.last = Some(report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_as_they_always_did() {
        let report = AttemptReport {
            session: 1,
            attempt: 2,
            result: AttemptResult::Failed {
                named: vec![AccountId([1; 32])],
            },
            took_ms: 5,
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["result"], format!("failed: named [{:?}]", AccountId([1; 32])));
        assert_eq!(serde_json::to_value(AttemptResult::Confirmed).unwrap(), "confirmed");
    }

    #[test]
    fn a_superseded_attempt_that_ends_late_does_not_clear_its_successor() {
        let report = AttemptReport {
            session: 1,
            attempt: 2,
            result: AttemptResult::Left,
            took_ms: 5,
        };
        let mut status = AttemptStatus {
            running: Some((1, 3)),
            ..AttemptStatus::default()
        };
        // Attempt 2 was superseded by attempt 3 and ends late: attempt 3 stays the running one.
        status.finish((1, 2), report.clone());
        assert_eq!(status.running, Some((1, 3)));
        assert_eq!(status.last.as_ref().map(|r| r.attempt), Some(2));
        status.finish((1, 3), AttemptReport { attempt: 3, ..report });
        assert_eq!(status.running, None);
    }
}
