//! Where a validator stands in the key's life, from the chain's reshare in flight and its TSS's
//! status: the one definition the dashboard and the devnet's terminal display both show.

use keywheel_chain::AccountId;
use keywheel_primitives::Sharing;
use keywheel_rpc::ReshareView;
use keywheel_tss::api::TssStatus;
use serde::Serialize;

/// A validator's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Holds the key's current sharing, with nothing to do for a reshare now.
    Rotated,
    /// Holds no share of the current sharing and takes no part in anything running: outside the
    /// committee, or joining the committee being formed before its TSS runs the attempt.
    Standby,
    /// Its TSS runs the reshare attempt in flight (or still finishes one the chain settled).
    Resharing,
    /// Its TSS holds the attempt's new share in its holding slot: not confirmed on chain yet,
    /// or the chain rotated and the TSS has not promoted it yet.
    Holding,
    /// The chain has its confirmation of the attempt in flight.
    Confirmed,
    /// It leaves the committee at the rotation in flight (and signs until then).
    Leaving,
    /// Its TSS does not answer.
    Down,
    /// Its TSS halted key actions (its node is behind, forked or foreign).
    Halted,
}

impl Phase {
    /// The phase's name, as shown.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Rotated => "rotated",
            Phase::Standby => "standby",
            Phase::Resharing => "resharing",
            Phase::Holding => "holding",
            Phase::Confirmed => "confirmed",
            Phase::Leaving => "leaving",
            Phase::Down => "down",
            Phase::Halted => "halted",
        }
    }
}

/// What is known of a validator's TSS.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// Nobody asks it (a dashboard given no `--tss` for it): the chain alone decides.
    Unwatched,
    /// Asked, and it did not answer.
    Down,
    /// Its last status.
    Status(&'a TssStatus),
}

/// The phase of the validator whose TSS account is `tss`. `holder` says whether it is in the
/// current committee; `sharing` is the chain's current sharing.
pub fn phase(
    tss: &AccountId,
    holder: bool,
    reshare: Option<&ReshareView>,
    sharing: Option<&Sharing>,
    seen: Seen<'_>,
) -> Phase {
    let status = match seen {
        Seen::Down => return Phase::Down,
        Seen::Status(s) if s.halted.is_some() => return Phase::Halted,
        Seen::Status(s) => Some(s),
        Seen::Unwatched => None,
    };
    if let Some(view) = reshare {
        let record = &view.record;
        let attempt = (record.session, record.attempt);
        if record.leaving.contains(tss) {
            return Phase::Leaving;
        }
        if record.new_committee.iter().any(|m| m.tss == *tss) {
            if view.confirmations.contains_key(tss) {
                return Phase::Confirmed;
            }
            match status {
                Some(s) if s.next.as_ref().is_some_and(|n| (n.session, n.attempt) == attempt) => return Phase::Holding,
                Some(s) if s.running == Some(attempt) => return Phase::Resharing,
                // Not running it (yet, or any more): what it holds decides, below.
                Some(_) => {}
                // Unwatched: the chain only says it takes part and has not confirmed.
                None => return Phase::Resharing,
            }
        }
    }
    // The chain rotated and the TSS has not promoted its holding slot yet (it will on seeing
    // `RotateKey`): it holds the new sharing, in the holding slot.
    let holds_next = matches!((status, sharing), (Some(s), Some(sharing))
        if s.next.as_ref().is_some_and(|n| n.sharing_digest() == sharing.digest()));
    if holds_next {
        return Phase::Holding;
    }
    let holds_current = match (status, sharing) {
        (Some(s), Some(sharing)) => s
            .current
            .as_ref()
            .is_some_and(|c| c.sharing_digest() == sharing.digest()),
        (None, Some(_)) => holder,
        (_, None) => false,
    };
    match status {
        _ if holds_current => Phase::Rotated,
        // Still finishing an attempt the chain has already settled (its status is a poll older
        // than the chain's rotation, or it has not seen the rotation yet).
        Some(s) if s.running.is_some() => Phase::Resharing,
        _ => Phase::Standby,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use keywheel_chain::{Member, ReshareKind, ReshareRecord};
    use keywheel_tss::keystore::SlotInfo;

    use super::*;

    fn acc(i: u8) -> AccountId {
        AccountId([i; 32])
    }

    fn sharing(of: &[u8]) -> Sharing {
        Sharing {
            threshold: 2,
            public_shares: of.iter().map(|i| (acc(*i), vec![*i; 33])).collect(),
        }
    }

    fn slot(s: &Sharing, session: u32, attempt: u32) -> SlotInfo {
        SlotInfo {
            session,
            attempt,
            verifying_key: vec![2; 33],
            threshold: s.threshold,
            public_shares: s.public_shares.clone(),
        }
    }

    fn status(current: Option<SlotInfo>, next: Option<SlotInfo>, running: Option<(u32, u32)>) -> TssStatus {
        TssStatus {
            account: acc(0),
            x25519: [0; 32],
            peer_addr: String::new(),
            current,
            next,
            chain_session: Some(1),
            running,
            last_attempt: None,
            halted: None,
            retired: Vec::new(),
        }
    }

    /// Session 1 attempt 2: 1 leaves, 2 and 3 stay, 4 joins; 2 has confirmed.
    fn reshare() -> ReshareView {
        let member = |i: u8| Member {
            validator: acc(100 + i),
            tss: acc(i),
            join_seq: i as u64,
        };
        ReshareView {
            record: ReshareRecord {
                kind: ReshareKind::Rotation,
                session: 1,
                attempt: 2,
                first_attempt: 1,
                staying: [acc(2), acc(3)].into(),
                leaving: [acc(1)].into(),
                new_committee: vec![member(2), member(3), member(4)],
                new_threshold: 2,
                started: 10,
                deadline: 100,
            },
            confirmations: BTreeMap::from([(
                acc(2),
                keywheel_chain::Confirmation {
                    verifying_key: vec![2; 33],
                    public_shares: BTreeMap::new(),
                    proof: Vec::new(),
                    dealt: BTreeMap::new(),
                },
            )]),
            reports: BTreeMap::new(),
        }
    }

    #[test]
    fn each_phase_comes_from_the_chain_and_the_tss_in_that_order() {
        let current = sharing(&[1, 2, 3]);
        let new = sharing(&[2, 3, 4]);
        let view = reshare();
        let r = Some(&view);
        let c = Some(&current);
        let holding = status(Some(slot(&current, 0, 1)), Some(slot(&new, 1, 2)), None);
        let stale_holding = status(Some(slot(&current, 0, 1)), Some(slot(&new, 1, 1)), None);
        let running = status(Some(slot(&current, 0, 1)), None, Some((1, 2)));
        let idle = status(None, None, None);
        let mut halted = idle.clone();
        halted.halted = Some("the node is behind".into());

        assert_eq!(phase(&acc(4), false, r, c, Seen::Down), Phase::Down);
        assert_eq!(phase(&acc(4), false, r, c, Seen::Status(&halted)), Phase::Halted);
        assert_eq!(phase(&acc(1), true, r, c, Seen::Status(&running)), Phase::Leaving);
        assert_eq!(phase(&acc(2), true, r, c, Seen::Status(&running)), Phase::Confirmed);
        assert_eq!(phase(&acc(3), true, r, c, Seen::Status(&holding)), Phase::Holding);
        assert_eq!(
            phase(&acc(3), true, r, c, Seen::Status(&stale_holding)),
            Phase::Rotated,
            "a holding slot from an earlier attempt is not this attempt's; it still holds the key"
        );
        assert_eq!(phase(&acc(4), false, r, c, Seen::Status(&running)), Phase::Resharing);
        assert_eq!(phase(&acc(4), false, r, c, Seen::Status(&idle)), Phase::Standby);
        let waiting_holder = status(Some(slot(&current, 0, 1)), None, None);
        assert_eq!(
            phase(&acc(3), true, r, c, Seen::Status(&waiting_holder)),
            Phase::Rotated,
            "a staying holder not running the attempt yet still holds the key (and signs)"
        );
        assert_eq!(phase(&acc(4), false, r, c, Seen::Unwatched), Phase::Resharing);

        // Nothing in flight: holding the chain's sharing is what makes a member current.
        let holds = status(Some(slot(&current, 0, 1)), None, None);
        let holds_old = status(Some(slot(&new, 0, 1)), None, None);
        assert_eq!(phase(&acc(2), true, None, c, Seen::Status(&holds)), Phase::Rotated);
        assert_eq!(phase(&acc(2), true, None, c, Seen::Status(&holds_old)), Phase::Standby);
        assert_eq!(phase(&acc(9), false, None, c, Seen::Status(&idle)), Phase::Standby);
        let finishing = status(Some(slot(&new, 0, 1)), None, Some((1, 2)));
        assert_eq!(
            phase(&acc(2), true, None, c, Seen::Status(&finishing)),
            Phase::Resharing,
            "the chain rotated while the TSS still runs the attempt"
        );
        let not_promoted = status(Some(slot(&new, 0, 1)), Some(slot(&current, 1, 2)), None);
        assert_eq!(
            phase(&acc(2), true, None, c, Seen::Status(&not_promoted)),
            Phase::Holding,
            "rotated on chain, the new share still in the holding slot"
        );
        assert_eq!(phase(&acc(2), true, None, c, Seen::Unwatched), Phase::Rotated);
        assert_eq!(
            phase(&acc(2), true, None, None, Seen::Unwatched),
            Phase::Standby,
            "no key yet"
        );
    }
}
