//! The reshare lifecycle: jumpstart, session boundaries, confirmations, reports, aborts with
//! slashing, retries, and the rotation itself.
//!
//! Punishment (see `docs/architecture.md`, "Who is punished"): evidence that verifies cuts stake
//! ([`Punishment::Stake`]) and ends the attempt at once. Silence only chills the validator and
//! excludes it from the rest of the session ([`Punishment::Excluded`]), and it is judged from
//! the reports once every new member has had its say (confirmed or reported) or at the
//! deadline, never on the report that happens to arrive first:
//! - a report names each party with the round whose messages from it were missing. Every message
//!   of an attempt is a broadcast that every receiver forwards, so a member misses one only when
//!   no honest participant got it: then every honest participant names its sender;
//! - a party is silent when at least `t` distinct participants (`t` = the new threshold) name it;
//!   fewer prove nothing. The judgement comes once every new member has confirmed, reported or
//!   been named silent, or at the deadline;
//! - when someone confirmed, a new member that did not is excluded as not confirmed — unless a
//!   party it named is judged silent (it was blocked, and the others say so too). A report that
//!   nobody corroborates excuses nothing: the messages it claims were missing reached the ones
//!   who confirmed, and through them everyone.
//!
//! If every new member had its say, nobody confirmed and nobody is judged, the attempt ends
//! unsettled and is retried with nobody punished.
//!
//! Confirmations cannot disagree: each carries every dealer's endorsed commitments, the chain
//! computes the public shares from them and refuses a confirmation of any other shares, and two
//! confirmations carrying different endorsed commitments of one dealer prove that dealer
//! equivocated — its stake is cut ([`SlashReason::Equivocation`]) and the attempt retried without
//! it. No vote, no tie to break.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;

use crate::committee::Selection;
use crate::crypto::{Crypto, OffenceContext};
use crate::error::ChainError;
use crate::event::{AbortReason, Event};
use crate::store::Store;
use crate::types::{
    AccountId, AttemptIndex, AttemptProtocol, BlockNumber, Confirmation, Punishment, ReportedRound, ReshareKind,
    ReshareRecord, SessionIndex, Sharing, Silence, SlashReason, SlashRecord,
};
use keywheel_primitives::domain::{attempt_context, proof_context};

/// The reshare lifecycle's rules, over any [`Store`].
pub(crate) trait Lifecycle: Store {
    fn jumpstart(&mut self) -> Result<Vec<Event>, ChainError> {
        if self.parent_key().is_some() || self.reshare().is_some() {
            return Err(ChainError::AlreadyJumpstarted);
        }
        let session = self.session();
        let record = self.plan_jumpstart(session, self.next_attempt(session))?;
        Ok(vec![self.start(record)])
    }

    /// The number of the next first attempt in `session`: attempt numbers are never reused
    /// within a session (a jumpstart called again after an abandoned one continues them).
    fn next_attempt(&self, session: SessionIndex) -> AttemptIndex {
        match self.last_attempt() {
            Some((last_session, last)) if last_session == session => last.saturating_add(1),
            _ => 1,
        }
    }

    fn start(&mut self, record: ReshareRecord) -> Event {
        let event = Event::ReshareStarted {
            kind: record.kind,
            session: record.session,
            attempt: record.attempt,
            staying: record.staying.clone(),
            new_committee: record.new_tss(),
            threshold: record.new_threshold,
            deadline: record.deadline,
        };
        self.clear_confirmations();
        self.clear_reports();
        self.put_last_attempt((record.session, record.attempt));
        self.put_reshare(Some(record));
        event
    }

    fn begin_block(&mut self, block: BlockNumber, randomness: [u8; 32]) -> Vec<Event> {
        self.put_block(block);
        self.put_randomness(randomness);
        let mut events = Vec::new();
        let session = (block / self.params().session_length).min(SessionIndex::MAX as u64) as SessionIndex;
        if session > self.session() {
            self.put_session(session);
            events.push(Event::NewSession { session });
            if self.parent_key().is_some() && self.reshare().is_none() {
                match self.plan_rotation(session, self.next_attempt(session)) {
                    Ok(record) => events.push(self.start(record)),
                    Err(_) => events.push(Event::ReshareAbandoned { session, attempts: 0 }),
                }
            }
        }
        if let Some(record) = self.reshare() {
            if block >= record.deadline {
                events.extend(self.deadline_passed());
            }
        }
        events
    }

    fn in_flight(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<ReshareRecord, ChainError> {
        self.reshare()
            .filter(|r| r.session == session && r.attempt == attempt)
            .ok_or(ChainError::NoSuchAttempt { session, attempt })
    }

    fn confirm(
        &mut self,
        crypto: &impl Crypto,
        member: AccountId,
        session: SessionIndex,
        attempt: AttemptIndex,
        confirmation: Confirmation,
    ) -> Result<Vec<Event>, ChainError> {
        let record = self.in_flight(session, attempt)?;
        let new_tss = record.new_tss();
        if !new_tss.contains(&member) {
            return Err(ChainError::NotInNewCommittee(member));
        }
        if self.has_confirmed(&member) {
            return Err(ChainError::AlreadyConfirmed(member));
        }
        let mismatch = |reason: &str| ChainError::ConfirmationMismatch {
            member,
            reason: reason.into(),
        };
        if let Some(parent) = self.parent_key() {
            if parent != confirmation.verifying_key {
                return Err(mismatch("its verifying key is not the parent key"));
            }
        }
        let holders: BTreeSet<AccountId> = confirmation.public_shares.keys().copied().collect();
        if holders != new_tss {
            return Err(mismatch("its public shares are not exactly the new committee's"));
        }
        let dealers: BTreeSet<AccountId> = confirmation.dealt.keys().copied().collect();
        if dealers != record.dealers() {
            return Err(mismatch("what it says was dealt is not exactly every dealer's deal"));
        }
        let invalid = |reason| ChainError::InvalidConfirmation { member, reason };
        crypto
            .verify_sharing(
                &confirmation.verifying_key,
                record.new_threshold,
                &confirmation.public_shares,
            )
            .map_err(invalid)?;
        let network = self.network();
        let context = proof_context(&network, session, attempt, &member);
        crypto
            .verify_share_proof(&confirmation.public_shares[&member], &context, &confirmation.proof)
            .map_err(invalid)?;
        // The public shares must be the ones its endorsed deals give. A confirmation that carries
        // exactly an earlier one's deals (every honest member's does) was computed already.
        let confirmations = self.confirmations();
        let earlier = confirmations.iter().find(|(_, c)| c.dealt == confirmation.dealt);
        let shares = match earlier {
            Some((_, c)) => c.public_shares.clone(),
            None => crypto
                .shares_from_deals(
                    &attempt_context(&network, session, attempt),
                    &new_tss,
                    record.new_threshold,
                    &confirmation.dealt,
                )
                .map_err(invalid)?,
        };
        if shares != confirmation.public_shares {
            return Err(invalid(
                "its public shares are not the ones its endorsed deals give".into(),
            ));
        }
        // Two endorsed deals of one holder in one attempt: it equivocated, by its own signatures.
        let equivocators: Vec<AccountId> = confirmation
            .dealt
            .iter()
            .filter(|(dealer, endorsed)| {
                confirmations.iter().any(|(_, c)| {
                    c.dealt
                        .get(*dealer)
                        .is_some_and(|e| e.commitments != endorsed.commitments)
                })
            })
            .map(|(dealer, _)| *dealer)
            .collect();

        self.put_confirmation(&member, confirmation);
        let mut events = vec![Event::Confirmed {
            session,
            attempt,
            member,
        }];
        if !equivocators.is_empty() {
            let judged = equivocators
                .into_iter()
                .map(|d| (d, Punishment::Stake, SlashReason::Equivocation))
                .collect();
            events.extend(self.abort(AbortReason::Equivocation, judged));
        } else if confirmations.len() + 1 == new_tss.len() {
            // Every confirmation's shares are the ones its deals give, and no dealer's deals
            // differ between confirmations: they all confirm one sharing.
            events.extend(self.rotate());
        } else {
            events.extend(self.settle_if_all_spoke());
        }
        Ok(events)
    }

    fn rotate(&mut self) -> Vec<Event> {
        let Some(record) = self.reshare() else {
            return Vec::new();
        };
        self.put_reshare(None);
        let Some((_, confirmation)) = self.confirmations().into_iter().next() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut next_join_seq = self.next_join_seq();
        let mut committee = Vec::with_capacity(record.new_committee.len());
        for mut member in record.new_committee {
            if member.join_seq == u64::MAX {
                member.join_seq = next_join_seq;
                next_join_seq += 1;
            }
            committee.push(member);
        }
        self.put_next_join_seq(next_join_seq);
        self.put_committee(committee);
        self.put_sharing(Sharing {
            threshold: record.new_threshold,
            public_shares: confirmation.public_shares,
        });
        events.push(Event::RotateKey {
            session: record.session,
            attempt: record.attempt,
        });
        if self.parent_key().is_none() {
            events.push(Event::ParentKeyCreated {
                verifying_key: confirmation.verifying_key.clone(),
            });
            self.put_parent_key(confirmation.verifying_key);
        }
        self.clear_confirmations();
        self.clear_reports();
        events
    }

    fn report_offence(
        &mut self,
        crypto: &impl Crypto,
        reporter: AccountId,
        session: SessionIndex,
        attempt: AttemptIndex,
        offender: AccountId,
        evidence: &[u8],
    ) -> Result<Vec<Event>, ChainError> {
        let record = self.in_flight(session, attempt)?;
        let participants = record.participants();
        if !participants.contains(&reporter) {
            return Err(ChainError::NotParticipant(reporter));
        }
        if !participants.contains(&offender) {
            return Err(ChainError::NotParticipant(offender));
        }
        if reporter == offender {
            return Err(ChainError::SelfAccusation);
        }
        let sharing = match record.kind {
            ReshareKind::Jumpstart => None,
            ReshareKind::Rotation => self.sharing(),
        };
        let context = OffenceContext {
            reshare: &record,
            old_sharing: sharing.as_ref(),
            attempt_context: attempt_context(&self.network(), session, attempt),
        };
        let fingerprint = crypto
            .verify_offence(&context, &offender, evidence)
            .map_err(ChainError::EvidenceRejected)?;
        if self.evidence_used(&fingerprint) {
            return Err(ChainError::DuplicateEvidence);
        }
        self.put_evidence_used(fingerprint);
        Ok(self.abort(
            AbortReason::Offence,
            vec![(offender, Punishment::Stake, SlashReason::Evidence { fingerprint })],
        ))
    }

    fn report_unresponsive(
        &mut self,
        reporter: AccountId,
        session: SessionIndex,
        attempt: AttemptIndex,
        missing: Vec<Silence>,
    ) -> Result<Vec<Event>, ChainError> {
        let record = self.in_flight(session, attempt)?;
        let participants = record.participants();
        if !participants.contains(&reporter) {
            return Err(ChainError::NotParticipant(reporter));
        }
        if missing.is_empty() {
            return Err(ChainError::EmptyReport);
        }
        // Each party can be missing from at most a few rounds of each protocol.
        let most = participants.len() * 3 * 2 * ReportedRound::MAX_NUMBER as usize;
        if missing.len() > most {
            return Err(ChainError::InvalidReport(alloc::format!(
                "{} entries, at most {most} are possible",
                missing.len()
            )));
        }
        if let Some(s) = missing
            .iter()
            .find(|s| s.round.number == 0 || s.round.number > ReportedRound::MAX_NUMBER)
        {
            return Err(ChainError::InvalidReport(alloc::format!(
                "round {} does not exist",
                s.round.number
            )));
        }
        // Claims that cannot be true in a rotation: a KeyInit round (a rotation runs none), or a
        // joiner missing from the Reshare's deal round (a joiner deals nothing).
        if record.kind == ReshareKind::Rotation {
            let deal = ReportedRound {
                protocol: AttemptProtocol::Reshare,
                number: 2,
                echo: false,
            };
            if missing.iter().any(|s| s.round.protocol == AttemptProtocol::KeyInit) {
                return Err(ChainError::InvalidReport("a rotation runs no KeyInit".into()));
            }
            if missing
                .iter()
                .any(|s| s.round == deal && !record.staying.contains(&s.party))
            {
                return Err(ChainError::InvalidReport(
                    "a joiner deals nothing in Reshare round 2".into(),
                ));
            }
        }
        if let Some(outsider) = missing.iter().find(|s| !participants.contains(&s.party)) {
            return Err(ChainError::NotParticipant(outsider.party));
        }
        if missing.iter().any(|s| s.party == reporter) {
            return Err(ChainError::SelfAccusation);
        }
        let missing: BTreeSet<Silence> = missing.into_iter().collect();
        let mut named = self.report(&reporter).unwrap_or_default();
        named.extend(missing.iter().copied());
        self.put_report(&reporter, named);
        let mut events = vec![Event::UnresponsiveReported {
            session,
            attempt,
            reporter,
            missing: missing.into_iter().collect(),
        }];
        events.extend(self.settle_if_all_spoke());
        Ok(events)
    }

    /// Once every new member has confirmed, reported or been named silent by `t` others (and
    /// not all confirmed), nothing more that matters will come: judge the reports now instead
    /// of waiting for the deadline. (What a party named silent says can only name others, and
    /// it is an adversary: at least one of its `t` reporters is honest, and no honest member
    /// names an honest one.)
    fn settle_if_all_spoke(&mut self) -> Vec<Event> {
        let Some(record) = self.reshare() else {
            return Vec::new();
        };
        let reports = self.reports();
        let confirmed = self.confirmed();
        let silent = silent(&reports, record.new_threshold as usize);
        let all_spoke = record.new_tss().iter().all(|m| {
            confirmed.contains(m) || reports.iter().any(|(r, _)| r == m) || silent.iter().any(|(s, _)| s == m)
        });
        if !all_spoke || reports.is_empty() {
            return Vec::new();
        }
        let judged = judged(&record, &reports, &confirmed);
        let reason = if judged.is_empty() {
            AbortReason::Unsettled
        } else {
            AbortReason::Unresponsive
        };
        self.abort(reason, judged)
    }

    fn deadline_passed(&mut self) -> Vec<Event> {
        let Some(record) = self.reshare() else {
            return Vec::new();
        };
        let confirmed = self.confirmed();
        let judged = judged(&record, &self.reports(), &confirmed);
        self.abort(AbortReason::Deadline, judged)
    }

    /// Ends the attempt in flight: punishes `judged`, keeps the current committee and key, and
    /// retries without the judged parties while attempts remain.
    fn abort(&mut self, reason: AbortReason, judged: Vec<(AccountId, Punishment, SlashReason)>) -> Vec<Event> {
        let Some(record) = self.reshare() else {
            return Vec::new();
        };
        self.put_reshare(None);
        self.clear_confirmations();
        self.clear_reports();
        let mut events = Vec::new();
        for (tss, kind, why) in &judged {
            events.extend(self.slash(*tss, *kind, why.clone(), &record));
        }
        events.push(Event::ReshareAborted {
            session: record.session,
            attempt: record.attempt,
            reason,
            offenders: judged.iter().map(|(tss, _, _)| *tss).collect(),
        });
        let abandoned = Event::ReshareAbandoned {
            session: record.session,
            attempts: record.attempt,
        };
        if record.attempt - record.first_attempt + 1 >= self.params().max_attempts {
            events.push(abandoned);
            return events;
        }
        let retry = match record.kind {
            ReshareKind::Jumpstart => self.plan_jumpstart(record.session, record.attempt + 1),
            ReshareKind::Rotation => self.plan_rotation(record.session, record.attempt + 1),
        };
        match retry {
            Ok(mut next) => {
                next.first_attempt = record.first_attempt;
                events.push(self.start(next));
            }
            Err(_) => events.push(abandoned),
        }
        events
    }

    fn slash(&mut self, tss: AccountId, kind: Punishment, reason: SlashReason, record: &ReshareRecord) -> Vec<Event> {
        let Some(validator) = self.tss_owner(&tss) else {
            return Vec::new();
        };
        let params = self.params();
        let amount = match kind {
            Punishment::Stake => {
                let mut ledger = self.ledger(&validator).unwrap_or_default();
                let cut = ledger.bonded / 1_000_000 * params.slash_permill as u128
                    + ledger.bonded % 1_000_000 * params.slash_permill as u128 / 1_000_000;
                ledger.bonded -= cut;
                self.put_ledger(&validator, ledger);
                self.slash_held(&validator, cut);
                cut
            }
            Punishment::Excluded => 0,
        };
        let sessions = match kind {
            Punishment::Stake => params.barred_sessions.max(1),
            Punishment::Excluded => 1,
        };
        let until = self.session().saturating_add(sessions);
        let barred_until = self.barred_until(&validator).unwrap_or(0).max(until);
        self.put_barred_until(&validator, barred_until);
        self.remove_validator(&validator);
        self.push_slash(SlashRecord {
            validator,
            tss,
            kind,
            reason,
            session: record.session,
            attempt: record.attempt,
            amount,
            barred_until,
        });
        vec![Event::Slashed {
            validator,
            tss,
            kind,
            amount,
            barred_until,
        }]
    }
}

impl<S: Store + ?Sized> Lifecycle for S {}

/// The parties judged silent by `reports`, each with its number of distinct reporters.
fn silent(reports: &[(AccountId, BTreeSet<Silence>)], threshold: usize) -> Vec<(AccountId, u32)> {
    let mut reporters: BTreeMap<AccountId, BTreeSet<AccountId>> = BTreeMap::new();
    for (reporter, named) in reports {
        for silence in named {
            reporters.entry(silence.party).or_default().insert(*reporter);
        }
    }
    reporters
        .into_iter()
        .filter(|(_, by)| by.len() >= threshold)
        .map(|(party, by)| (party, by.len() as u32))
        .collect()
}

/// Who is punished when the attempt is judged: the parties judged silent, and — when someone
/// confirmed — every new member that did not and named nobody judged silent.
fn judged(
    record: &ReshareRecord,
    reports: &[(AccountId, BTreeSet<Silence>)],
    confirmed: &BTreeSet<AccountId>,
) -> Vec<(AccountId, Punishment, SlashReason)> {
    let silent = silent(reports, record.new_threshold as usize);
    let is_silent = |p: &AccountId| silent.iter().any(|(s, _)| s == p);
    let mut judged: Vec<_> = silent
        .iter()
        .map(|(party, reporters)| {
            (
                *party,
                Punishment::Excluded,
                SlashReason::Unresponsive { reporters: *reporters },
            )
        })
        .collect();
    if !confirmed.is_empty() {
        let blocked = |m: &AccountId| {
            reports
                .iter()
                .any(|(r, named)| r == m && named.iter().any(|s| is_silent(&s.party)))
        };
        judged.extend(
            record
                .new_tss()
                .into_iter()
                .filter(|m| !confirmed.contains(m) && !is_silent(m) && !blocked(m))
                .map(|m| (m, Punishment::Excluded, SlashReason::NotConfirmed)),
        );
    }
    judged
}
