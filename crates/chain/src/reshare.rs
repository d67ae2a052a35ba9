//! The reshare lifecycle: jumpstart, session boundaries, confirmations, reports, aborts with
//! slashing, retries, and the rotation itself.
//!
//! Punishment (see `docs/architecture.md`): evidence that verifies cuts stake
//! ([`Punishment::Stake`]); silence or an unproven fault only chills the validator and excludes it
//! from the rest of the session ([`Punishment::Excluded`]). A party is judged unresponsive when at
//! least `t` distinct participants of the attempt name it (`t` = the new threshold), and a member
//! that has confirmed — so delivered everything — is never judged silent. At the deadline, if some
//! new members confirmed, those that did not are excluded; if none did, nobody is: fewer than `t`
//! reporters prove nothing (one reporter could name everyone), and `t` would have aborted the
//! attempt already. Confirmations that disagree exclude the members outside the one largest
//! group; if several groups tie for largest, nobody is punished (a tie broken by any order could
//! be ground by whoever chooses what to confirm).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;

use crate::crypto::{Crypto, OffenceContext};
use crate::error::ChainError;
use crate::event::{AbortReason, Event};
use crate::state::State;
use crate::types::{
    AccountId, AttemptIndex, BlockNumber, Confirmation, Punishment, ReshareKind, ReshareRecord, SessionIndex, Sharing,
    SlashReason, SlashRecord,
};
use keywheel_primitives::domain::{attempt_context, proof_context};

/// What a confirmation asserts: the verifying key and the public shares.
type Confirmed<'a> = (&'a [u8], &'a BTreeMap<AccountId, Vec<u8>>);

impl State {
    pub(crate) fn jumpstart(&mut self) -> Result<Vec<Event>, ChainError> {
        if self.parent_key.is_some() || self.reshare.is_some() {
            return Err(ChainError::AlreadyJumpstarted);
        }
        let record = self.plan_jumpstart(self.session, self.next_attempt(self.session))?;
        Ok(vec![self.start(record)])
    }

    /// The number of the next first attempt in `session`: attempt numbers are never reused
    /// within a session (a jumpstart called again after an abandoned one continues them).
    fn next_attempt(&self, session: SessionIndex) -> AttemptIndex {
        match self.last_attempt {
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
        self.confirmations.clear();
        self.reports.clear();
        self.last_attempt = Some((record.session, record.attempt));
        self.reshare = Some(record);
        event
    }

    pub(crate) fn begin_block(&mut self, block: BlockNumber, randomness: [u8; 32]) -> Vec<Event> {
        self.block = block;
        self.randomness = randomness;
        let mut events = Vec::new();
        let session = (block / self.params.session_length).min(SessionIndex::MAX as u64) as SessionIndex;
        if session > self.session {
            self.session = session;
            events.push(Event::NewSession { session });
            if self.parent_key.is_some() && self.reshare.is_none() {
                match self.plan_rotation(session, self.next_attempt(session)) {
                    Ok(record) => events.push(self.start(record)),
                    Err(_) => events.push(Event::ReshareAbandoned { session, attempts: 0 }),
                }
            }
        }
        if let Some(record) = &self.reshare {
            if block >= record.deadline {
                events.extend(self.deadline_passed());
            }
        }
        events
    }

    fn in_flight(&self, session: SessionIndex, attempt: AttemptIndex) -> Result<&ReshareRecord, ChainError> {
        self.reshare
            .as_ref()
            .filter(|r| r.session == session && r.attempt == attempt)
            .ok_or(ChainError::NoSuchAttempt { session, attempt })
    }

    pub(crate) fn confirm(
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
        if self.confirmations.contains_key(&member) {
            return Err(ChainError::AlreadyConfirmed(member));
        }
        let mismatch = |reason: &str| ChainError::ConfirmationMismatch {
            member,
            reason: reason.into(),
        };
        if let Some(parent) = &self.parent_key {
            if *parent != confirmation.verifying_key {
                return Err(mismatch("its verifying key is not the parent key"));
            }
        }
        let holders: BTreeSet<AccountId> = confirmation.public_shares.keys().copied().collect();
        if holders != new_tss {
            return Err(mismatch("its public shares are not exactly the new committee's"));
        }
        let invalid = |reason| ChainError::InvalidConfirmation { member, reason };
        crypto
            .verify_sharing(
                &confirmation.verifying_key,
                record.new_threshold,
                &confirmation.public_shares,
            )
            .map_err(invalid)?;
        let context = proof_context(&self.network, session, attempt, &member);
        crypto
            .verify_share_proof(&confirmation.public_shares[&member], &context, &confirmation.proof)
            .map_err(invalid)?;

        self.confirmations.insert(member, confirmation);
        // A confirming member delivered its messages: it is never judged silent.
        self.reports.remove(&member);
        let mut events = vec![Event::Confirmed {
            session,
            attempt,
            member,
        }];
        if self.confirmations.len() == new_tss.len() {
            events.extend(self.all_confirmed());
        }
        Ok(events)
    }

    /// Every new member confirmed: rotate if they agree, otherwise exclude the minority.
    fn all_confirmed(&mut self) -> Vec<Event> {
        let mut groups: BTreeMap<Confirmed<'_>, Vec<AccountId>> = BTreeMap::new();
        for (member, c) in &self.confirmations {
            groups
                .entry((&c.verifying_key, &c.public_shares))
                .or_default()
                .push(*member);
        }
        if groups.len() == 1 {
            return self.rotate();
        }
        // The one largest group stands and the others are named; a tie names nobody.
        let largest = groups.values().map(Vec::len).max().unwrap_or(0);
        let mut tied = groups.values().filter(|g| g.len() == largest);
        let (Some(standing), None) = (tied.next().cloned(), tied.next()) else {
            return self.abort(AbortReason::Disagreement, Vec::new());
        };
        let dissenters: Vec<AccountId> = self
            .confirmations
            .keys()
            .filter(|m| !standing.contains(m))
            .copied()
            .collect();
        let judged = dissenters
            .into_iter()
            .map(|m| (m, Punishment::Excluded, SlashReason::DisagreeingConfirmation))
            .collect();
        self.abort(AbortReason::Disagreement, judged)
    }

    fn rotate(&mut self) -> Vec<Event> {
        let Some(record) = self.reshare.take() else {
            return Vec::new();
        };
        let Some(confirmation) = self.confirmations.values().next().cloned() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut committee = Vec::with_capacity(record.new_committee.len());
        for mut member in record.new_committee {
            if member.join_seq == u64::MAX {
                member.join_seq = self.next_join_seq;
                self.next_join_seq += 1;
            }
            committee.push(member);
        }
        self.committee = committee;
        self.sharing = Some(Sharing {
            threshold: record.new_threshold,
            public_shares: confirmation.public_shares,
        });
        events.push(Event::RotateKey {
            session: record.session,
            attempt: record.attempt,
        });
        if self.parent_key.is_none() {
            events.push(Event::ParentKeyCreated {
                verifying_key: confirmation.verifying_key.clone(),
            });
            self.parent_key = Some(confirmation.verifying_key);
        }
        self.confirmations.clear();
        self.reports.clear();
        events
    }

    pub(crate) fn report_offence(
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
        let context = OffenceContext {
            reshare: record,
            old_sharing: match record.kind {
                ReshareKind::Jumpstart => None,
                ReshareKind::Rotation => self.sharing.as_ref(),
            },
            attempt_context: attempt_context(&self.network, session, attempt),
        };
        let fingerprint = crypto
            .verify_offence(&context, &offender, evidence)
            .map_err(ChainError::EvidenceRejected)?;
        if self.evidence_used.contains(&fingerprint) {
            return Err(ChainError::DuplicateEvidence);
        }
        self.evidence_used.insert(fingerprint);
        Ok(self.abort(
            AbortReason::Offence,
            vec![(offender, Punishment::Stake, SlashReason::Evidence { fingerprint })],
        ))
    }

    pub(crate) fn report_unresponsive(
        &mut self,
        reporter: AccountId,
        session: SessionIndex,
        attempt: AttemptIndex,
        parties: Vec<AccountId>,
    ) -> Result<Vec<Event>, ChainError> {
        let record = self.in_flight(session, attempt)?;
        let participants = record.participants();
        let threshold = record.new_threshold as usize;
        if !participants.contains(&reporter) {
            return Err(ChainError::NotParticipant(reporter));
        }
        if parties.is_empty() {
            return Err(ChainError::EmptyReport);
        }
        if let Some(outsider) = parties.iter().find(|p| !participants.contains(p)) {
            return Err(ChainError::NotParticipant(*outsider));
        }
        if parties.contains(&reporter) {
            return Err(ChainError::SelfAccusation);
        }
        let named: Vec<AccountId> = parties
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|p| !self.confirmations.contains_key(p))
            .collect();
        for party in &named {
            self.reports.entry(*party).or_default().insert(reporter);
        }
        let mut events = vec![Event::UnresponsiveReported {
            session,
            attempt,
            reporter,
            parties: named,
        }];
        let judged: Vec<_> = self
            .reports
            .iter()
            .filter(|(_, reporters)| reporters.len() >= threshold)
            .map(|(party, reporters)| {
                let reason = SlashReason::Unresponsive {
                    reporters: reporters.len() as u32,
                };
                (*party, Punishment::Excluded, reason)
            })
            .collect();
        if !judged.is_empty() {
            events.extend(self.abort(AbortReason::Unresponsive, judged));
        }
        Ok(events)
    }

    fn deadline_passed(&mut self) -> Vec<Event> {
        let Some(record) = &self.reshare else {
            return Vec::new();
        };
        let judged: Vec<_> = if !self.confirmations.is_empty() {
            record
                .new_tss()
                .into_iter()
                .filter(|m| !self.confirmations.contains_key(m))
                .map(|m| (m, Punishment::Excluded, SlashReason::NotConfirmed))
                .collect()
        } else {
            // Fewer than `t` reporters against anyone (else the attempt had ended): no proof.
            Vec::new()
        };
        self.abort(AbortReason::Deadline, judged)
    }

    /// Ends the attempt in flight: punishes `judged`, keeps the current committee and key, and
    /// retries without the judged parties while attempts remain.
    fn abort(&mut self, reason: AbortReason, judged: Vec<(AccountId, Punishment, SlashReason)>) -> Vec<Event> {
        let Some(record) = self.reshare.take() else {
            return Vec::new();
        };
        self.confirmations.clear();
        self.reports.clear();
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
        if record.attempt - record.first_attempt + 1 >= self.params.max_attempts {
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
        let Some(validator) = self.stash_of(&tss) else {
            return Vec::new();
        };
        let amount = match kind {
            Punishment::Stake => {
                let ledger = self.ledgers.entry(validator).or_default();
                let cut = ledger.bonded / 1_000_000 * self.params.slash_permill as u128
                    + ledger.bonded % 1_000_000 * self.params.slash_permill as u128 / 1_000_000;
                ledger.bonded -= cut;
                cut
            }
            Punishment::Excluded => 0,
        };
        let sessions = match kind {
            Punishment::Stake => self.params.barred_sessions.max(1),
            Punishment::Excluded => 1,
        };
        let until = self.session.saturating_add(sessions);
        let barred_until = self.barred_until.get(&validator).copied().unwrap_or(0).max(until);
        self.barred_until.insert(validator, barred_until);
        self.validators.remove(&validator);
        self.slashes.push(SlashRecord {
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
