//! What the orchestrator tells the API: the attempt it runs now and how the last one ended.

use std::fmt;

use keywheel_chain::{AccountId, AttemptIndex, SessionIndex};
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
}

impl AttemptStatus {
    /// Whether this TSS confirmed the attempt `key` itself (its confirmation was taken).
    pub fn confirmed(&self, key: (SessionIndex, AttemptIndex)) -> bool {
        self.last
            .as_ref()
            .is_some_and(|r| (r.session, r.attempt) == key && r.result == AttemptResult::Confirmed)
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
        let status = AttemptStatus {
            last: Some(AttemptReport {
                result: AttemptResult::Confirmed,
                ..report
            }),
            ..AttemptStatus::default()
        };
        assert!(status.confirmed((1, 2)));
        assert!(!status.confirmed((1, 3)));
    }
}
