//! What `GET /api/state` answers: the watch turned into what the page shows — the session's
//! progress, the committee with each member's phase ([`crate::phase`]), the reshare in flight with its countdown,
//! the history, signing over time, and the slashes. Pure, so each rule is tested on its own.

use std::collections::{BTreeMap, BTreeSet};

use keywheel_chain::{AccountId, Punishment, SlashReason, SlashRecord};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::tss::TssView;
use super::watch::{ChainView, Watch};
use crate::phase::{phase, Seen};

/// The most slashes the page is sent (the latest); it is told how many there are in all.
pub const MAX_SLASHES: usize = 100;

/// SHA-256 of a slash's reason in its binary form: a short name for the evidence behind it
/// (for proven offences, the fingerprint the chain's verifier gave the evidence itself).
pub fn evidence_fingerprint(reason: &SlashReason) -> String {
    match reason {
        SlashReason::Evidence { fingerprint } => hex::encode(fingerprint),
        other => {
            let bytes = postcard::to_allocvec(other).expect("serializing plain data into a Vec cannot fail");
            hex::encode(Sha256::digest(bytes))
        }
    }
}

fn reason_text(reason: &SlashReason) -> String {
    match reason {
        SlashReason::Evidence { .. } => "proven offence (evidence verified on chain)".into(),
        SlashReason::Unresponsive { reporters } => format!("named unresponsive by {reporters} participants"),
        SlashReason::NotConfirmed => "did not confirm by the deadline".into(),
        SlashReason::Equivocation => "endorsed two different deals".into(),
    }
}

fn slash(record: &SlashRecord) -> Value {
    json!({
        "validator": record.validator,
        "tss": record.tss,
        "kind": match record.kind { Punishment::Stake => "stake", Punishment::Excluded => "excluded" },
        "reason": reason_text(&record.reason),
        "fingerprint": evidence_fingerprint(&record.reason),
        "session": record.session,
        "attempt": record.attempt,
        "amount": record.amount.to_string(),
        "barred_until": record.barred_until,
    })
}

/// The whole view at wall time `now_ms`.
pub fn snapshot(w: &Watch, now_ms: u64) -> Value {
    let tss_of = |account: &AccountId| w.tss.iter().find(|v| v.account == Some(*account));
    let chain = w.chain.as_ref().map(|c| chain_view(c, &tss_of, now_ms));
    let names: BTreeMap<String, &String> = w.names.iter().map(|(a, n)| (a.to_ss58(), n)).collect();
    json!({
        "now_ms": now_ms,
        "node": {
            "url": w.node.url,
            "reachable": w.node.error.is_none(),
            "error": w.node.error,
            "since_ms": w.node.since_ms,
        },
        "chain": chain,
        "sessions": w.history.sessions().rev().map(|s| json!({
            "session": s.session,
            "kind": s.kind,
            "attempts": s.attempts,
            "started_block": s.started_block,
            "ended_block": s.ended_block,
            "duration_s": s.duration_s(),
            "outcome": s.outcome,
            "joined": s.joined,
            "left": s.left,
            "aborts": s.aborts,
        })).collect::<Vec<_>>(),
        "signing": w.signing,
        "tss": w.tss.iter().map(|v| json!({
            "url": v.url,
            "reachable": v.reachable_at(now_ms),
            "error": v.error,
            "account": v.account,
            "halted": v.status.as_ref().and_then(|s| s.halted.clone()),
            "running": v.status.as_ref().and_then(|s| s.running),
            "answered_ms": v.answered_ms,
        })).collect::<Vec<_>>(),
        "names": names,
    })
}

fn chain_view<'a>(c: &ChainView, tss_of: &impl Fn(&AccountId) -> Option<&'a TssView>, now_ms: u64) -> Value {
    let height = c.status.height;
    let length = c.params.session_length.max(1);
    let into_session = height % length;
    let block_s = c.status.block_time_ms as f64 / 1000.0;
    let mut rows: Vec<Value> = c
        .committee
        .members
        .iter()
        .map(|m| member_row(m.tss, m.validator, Some(m.join_seq), c, tss_of(&m.tss), now_ms))
        .collect();
    let mut reshare = Value::Null;
    if let Some(view) = &c.reshare {
        let r = &view.record;
        let holders: BTreeSet<AccountId> = c.committee.members.iter().map(|m| m.tss).collect();
        let joining: Vec<&keywheel_chain::Member> =
            r.new_committee.iter().filter(|m| !holders.contains(&m.tss)).collect();
        for m in &joining {
            rows.push(member_row(m.tss, m.validator, None, c, tss_of(&m.tss), now_ms));
        }
        // The chain aborts the attempt as block `deadline` begins: the last block that can
        // take a confirmation is the one before it.
        let blocks_left = r.deadline.saturating_sub(height.saturating_add(1));
        reshare = json!({
            "kind": r.kind,
            "session": r.session,
            "attempt": r.attempt,
            "first_attempt": r.first_attempt,
            "threshold": r.new_threshold,
            "started_block": r.started,
            "deadline_block": r.deadline,
            "blocks_left": blocks_left,
            "seconds_left": blocks_left as f64 * block_s,
            "staying": r.staying,
            "leaving": r.leaving,
            "joining": joining.iter().map(|m| m.tss).collect::<Vec<_>>(),
            "new_committee": r.new_committee.iter().map(|m| m.tss).collect::<Vec<_>>(),
            "confirmed": view.confirmations.keys().collect::<Vec<_>>(),
            "reports": view.reports.iter().map(|(reporter, named)| json!({
                "reporter": reporter,
                "named": named.iter().map(|s| json!({
                    "party": s.party,
                    "round": format!("{:?} round {}{}", s.round.protocol, s.round.number, if s.round.echo { " echo" } else { "" }),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
    }
    let slashes = &c.slashes;
    json!({
        "network": super::tss::clip(&c.status.network_name),
        "height": height,
        "session": c.status.session,
        "block_time_ms": c.status.block_time_ms,
        "session_length": length,
        "into_session": into_session,
        "next_session_block": (height - into_session).saturating_add(length),
        "seconds_to_next_session": (length - into_session) as f64 * block_s,
        "parent_key": c.committee.parent_key.as_ref().map(hex::encode),
        "threshold": c.committee.sharing.as_ref().map(|s| s.threshold),
        "committee_size": c.params.committee_size,
        "members": rows,
        "reshare": reshare,
        "slashes": slashes.iter().rev().take(MAX_SLASHES).map(slash).collect::<Vec<_>>(),
        "slash_count": slashes.len(),
        "validators": c.validators.len(),
    })
}

fn member_row(
    tss: AccountId,
    validator: AccountId,
    join_seq: Option<u64>,
    chain: &ChainView,
    view: Option<&TssView>,
    now_ms: u64,
) -> Value {
    let seen = match view {
        None => Seen::Unwatched,
        Some(v) => match (&v.status, v.reachable_at(now_ms)) {
            (Some(status), true) => Seen::Status(status),
            _ => Seen::Down,
        },
    };
    let phase = phase(
        &tss,
        join_seq.is_some(),
        chain.reshare.as_ref(),
        chain.committee.sharing.as_ref(),
        seen,
    );
    json!({
        "tss": tss,
        "validator": validator,
        "join_seq": join_seq,
        "joining": join_seq.is_none(),
        "phase": phase,
        "watched": view.is_some(),
        "api": view.map(|v| v.url.clone()),
        "error": view.and_then(|v| v.error.clone()),
        "halted": view.and_then(|v| v.status.as_ref()).and_then(|s| s.halted.clone()),
    })
}
