//! The scenario, a straight line: genesis → node → TSSs → `devnet.json` → jumpstart → register
//! → sign → per session: wait for `ReshareStarted`, let the armed fault act, follow the attempts
//! to `RotateKey`, record the rotation and check the parent key, check every TSS's slots, let a
//! rollback act, arm the next fault, then sign. Before the last
//! rotation it raises `session_length` so no further session starts while it finishes.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{bail, Context};
use keywheel_chain::{AccountId, Call, Event, Params, ReshareKind, Sharing};
use keywheel_rpc::{CommitteeView, KeywheelApiClient, RuntimeCall};

use super::args::DevnetArgs;
use super::checks::{check_members_hold, snapshot};
use super::faults::{self, EXTRA_ROTATIONS};
use super::follow::NodeConnection;
use super::injection::{AimedFault, FaultQueue};
use super::processes::Processes;
use super::progress::Progress;
use super::signing::PendingSignature;
use super::summary::{Report, SessionSummary};
use crate::{client, dashboard};

/// Runs the scenario, recording what it finds in `report` as it goes.
pub async fn scenario(
    args: &DevnetArgs,
    params: &Params,
    procs: &mut Processes,
    report: &mut Report,
    progress: &Progress,
) -> anyhow::Result<()> {
    start(args, params, procs, progress).await?;
    let node = NodeConnection::open(&procs.node_url).await?;
    let mut run = Run {
        args,
        procs,
        node,
        http: reqwest::Client::new(),
        report,
        progress,
        faults: FaultQueue::new(&args.faults),
        signatures: Vec::new(),
    };
    let parent = run.jumpstart().await?;
    progress.stage("registering the demo account and signing a message");
    client::submit(&run.node.client, &run.procs.user, RuntimeCall::Signed(Call::Register)).await?;
    // The first signature, before any rotation, is waited for: every later one needs it to work.
    run.sign("jumpstart");
    run.collect_signatures(true).await;
    // Faults in order; the one armed waits for a rotation in which its target can act.
    run.arm_next_fault().await?;
    if args.sessions > 0 {
        for k in 1.. {
            if !run.rotation(k, &parent).await? {
                break;
            }
        }
    }
    progress.stage("waiting for the signatures still being made");
    run.collect_signatures(true).await;
    run.faults.never_acted(run.report);
    Ok(())
}

/// Writes the genesis, starts the node and every TSS, writes `devnet.json`, and starts the
/// display's polling.
async fn start(args: &DevnetArgs, params: &Params, procs: &mut Processes, progress: &Progress) -> anyhow::Result<()> {
    progress.stage(format!(
        "starting the dev node and {} TSS processes (committee {}, threshold {})",
        args.validators, args.committee, args.threshold
    ));
    procs.write_genesis(params)?;
    procs.start_node().await?;
    for i in 0..procs.validators.len() {
        procs.start_tss(i).await?;
    }
    let dashboard = start_dashboard(args, procs).await?;
    procs.write_manifest()?;
    progress.log(format!("dashboard {dashboard}  (open it in a browser)"));
    progress.log(format!("node {}  (block every {} ms)", procs.node_url, args.block_ms));
    for v in &procs.validators {
        progress.log(format!(
            "{}  tss {}  api {}  p2p {}",
            v.name,
            v.tss,
            v.api_url.as_deref().unwrap_or("-"),
            v.p2p
        ));
    }
    progress.poll(
        procs.node_url.replacen("ws://", "http://", 1),
        procs.validators.iter().map(|v| (v.tss, v.api_url.clone())).collect(),
    );
    Ok(())
}

/// Starts the dashboard in this process, watching the node and every TSS, with the devnet's
/// names for the validators; returns its URL.
async fn start_dashboard(args: &DevnetArgs, procs: &mut Processes) -> anyhow::Result<String> {
    let mut names = std::collections::BTreeMap::new();
    for v in &procs.validators {
        names.insert(v.tss, v.name.clone());
        names.insert(client::account_of(&v.stash), v.name.clone());
    }
    let config = dashboard::Config {
        node: procs.node_url.clone(),
        tss: procs
            .validators
            .iter()
            .filter_map(|v| v.api_url.clone().map(|url| (url, Some(v.tss))))
            .collect(),
        names,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], args.dashboard_port)),
        allow_hosts: Vec::new(),
    };
    let addr = dashboard::start(config)
        .await
        .context("start the dashboard (--dashboard-port 0 picks any free port)")?;
    let url = format!("http://{addr}");
    procs.dashboard_url = Some(url.clone());
    Ok(url)
}

/// A rotation's reshare, as the chain started it.
struct ReshareStart {
    /// The session rotating.
    session: u32,
    /// Old holders taking part.
    staying: BTreeSet<AccountId>,
    /// The committee being formed.
    new_committee: BTreeSet<AccountId>,
    /// The committee it rotates away from.
    old: Vec<AccountId>,
    /// The timestamp of the block it started in (chain time).
    started_at_ms: u64,
}

/// What the scenario's steps share once the node runs.
struct Run<'a> {
    /// The options.
    args: &'a DevnetArgs,
    /// The devnet's processes.
    procs: &'a mut Processes,
    /// The node's RPC and its events.
    node: NodeConnection,
    /// For the TSSs' HTTP APIs.
    http: reqwest::Client,
    /// What the run found so far.
    report: &'a mut Report,
    /// The display.
    progress: &'a Progress,
    /// The `--fault`s still to act.
    faults: FaultQueue,
    /// Signatures asked for and not yet recorded.
    signatures: Vec<PendingSignature>,
}

impl Run<'_> {
    /// Jumpstart: the chain picks the first committee; its TSSs run the DKG and confirm.
    /// Returns the parent verifying key.
    async fn jumpstart(&mut self) -> anyhow::Result<Vec<u8>> {
        self.progress
            .stage("jumpstart: the chain picks the first committee, whose TSSs run the DKG");
        client::submit(&self.node.client, &self.procs.root, RuntimeCall::Sudo(Call::Jumpstart)).await?;
        let deadline = Instant::now() + self.args.rotation_limit();
        let parent = self.parent_key_created(deadline).await?;
        self.progress.log(format!("parent key 0x{}", hex::encode(&parent)));
        self.report.parent = Some(parent.clone());
        let committee = self.node.client.committee().await?;
        self.report.committee = committee.members.clone();
        self.settled(committee.session, committee.sharing.as_ref()).await?;
        Ok(parent)
    }

    /// Follows the jumpstart's attempts to `ParentKeyCreated`; returns the key.
    async fn parent_key_created(&mut self, deadline: Instant) -> anyhow::Result<Vec<u8>> {
        let mut started_at_ms = None;
        loop {
            match self.node.next(deadline).await.context("waiting for the jumpstart")? {
                Event::ReshareStarted {
                    kind: ReshareKind::Jumpstart,
                    attempt,
                    new_committee,
                    ..
                } => {
                    started_at_ms.get_or_insert(self.node.last_at_ms);
                    self.progress.log(format!(
                        "jumpstart attempt {attempt}: committee {}",
                        self.procs.names(&new_committee)
                    ))
                }
                Event::ParentKeyCreated { verifying_key } => {
                    self.report.jumpstart_ms = started_at_ms.map(|at| self.node.last_at_ms.saturating_sub(at));
                    return Ok(verifying_key);
                }
                e @ (Event::ReshareAborted { .. } | Event::Slashed { .. }) => {
                    self.progress.log(describe(self.procs, &e))
                }
                Event::ReshareAbandoned { attempts, .. } => {
                    bail!("the jumpstart was abandoned after {attempts} attempts")
                }
                _ => {}
            }
        }
    }

    /// The `k`-th rotation: waits for its reshare to start, lets the armed fault act if it
    /// can, follows the attempts to the rotation, records and checks it, then signs with the
    /// new committee. Returns whether another rotation follows.
    async fn rotation(&mut self, k: u32, parent: &[u8]) -> anyhow::Result<bool> {
        self.progress.stage(rotation_stage(self.args, k));
        let deadline = Instant::now() + self.args.rotation_limit();
        let start = self.reshare_started(deadline).await?;
        let session = start.session;
        let acting = self.faults.take_acting(
            self.procs,
            self.report,
            self.progress,
            session,
            &start.staying,
            &start.new_committee,
        );
        let more = faults::another_after(k - 1, self.args.sessions, self.faults.left());
        if !more {
            self.no_more_sessions().await?;
        }
        if let Some(fault) = acting {
            let signature = self.strike(fault, session).await?;
            self.signatures.extend(signature);
        }
        let (rotated, attempts, formed) = self
            .attempts_to_rotation(session, start.new_committee.clone(), deadline)
            .await?;
        let reshare_ms = self.node.last_at_ms.saturating_sub(start.started_at_ms);
        let committee = self
            .record_rotation(session, &start.old, &formed, parent, rotated, attempts, reshare_ms)
            .await?;
        if let Some(fault) = acting {
            fault.rotated(self.report, rotated, attempts);
        }
        if !rotated {
            bail!("session {session}'s reshare was abandoned");
        }
        self.report.committee = committee.members.clone();
        if let Some(fault) = acting {
            fault.disarm(self.procs)?;
        }
        self.progress.rotated(session);
        self.settled(session, committee.sharing.as_ref()).await?;
        if let Some(fault) = acting {
            let signature = fault
                .after_rotation(self.procs, &mut self.node, &self.http, self.report, self.progress)
                .await?;
            self.signatures.extend(signature);
        }
        // The next fault is armed now, while no reshare is in flight.
        self.arm_next_fault().await?;
        self.progress
            .stage(format!("session {session}: signing with the new committee"));
        self.sign("rotation");
        self.collect_signatures(false).await;
        Ok(more)
    }

    /// Waits for the next rotation's reshare to start, and says who leaves and who joins.
    async fn reshare_started(&mut self, deadline: Instant) -> anyhow::Result<ReshareStart> {
        let (session, staying, new_committee) = loop {
            match self
                .node
                .next(deadline)
                .await
                .context("waiting for a rotation to start")?
            {
                Event::ReshareStarted {
                    kind: ReshareKind::Rotation,
                    session,
                    staying,
                    new_committee,
                    ..
                } => break (session, staying, new_committee),
                e @ (Event::ReshareAbandoned { .. } | Event::Slashed { .. }) => {
                    self.progress.log(describe(self.procs, &e))
                }
                _ => {}
            }
        };
        let started_at_ms = self.node.last_at_ms;
        let old: Vec<AccountId> = self.report.committee.iter().map(|m| m.tss).collect();
        self.progress.stage(format!(
            "session {session}: reshare attempt 1 — {} leaves, {} joins",
            self.procs.names(old.iter().filter(|a| !staying.contains(a))),
            self.procs.names(new_committee.iter().filter(|a| !staying.contains(a)))
        ));
        Ok(ReshareStart {
            session,
            staying,
            new_committee,
            old,
            started_at_ms,
        })
    }

    /// Raises `session_length` so that no further session starts: the run ends with the
    /// rotation under way.
    async fn no_more_sessions(&self) -> anyhow::Result<()> {
        let mut quiet = self.node.client.params().await?;
        quiet.session_length = 1_000_000_000;
        client::submit(
            &self.node.client,
            &self.procs.root,
            RuntimeCall::Sudo(Call::SetParams { params: quiet }),
        )
        .await?;
        Ok(())
    }

    /// Follows `session`'s reshare attempts, the first forming `first`, until the key rotates
    /// (`true`) or the reshare is abandoned (`false`); returns that, the number of the last
    /// attempt and the committee it was to form.
    async fn attempts_to_rotation(
        &mut self,
        session: u32,
        first: BTreeSet<AccountId>,
        deadline: Instant,
    ) -> anyhow::Result<(bool, u32, BTreeSet<AccountId>)> {
        let mut attempts = 1;
        let mut formed = first;
        let rotated = loop {
            match self.node.next(deadline).await.context("waiting for the rotation")? {
                Event::RotateKey { session: s, attempt } if s == session => {
                    attempts = attempt;
                    break true;
                }
                Event::ReshareStarted {
                    session: s,
                    attempt,
                    new_committee,
                    ..
                } if s == session => {
                    attempts = attempt;
                    self.progress.stage(format!(
                        "session {session}: reshare attempt {attempt} — committee {}",
                        self.procs.names(&new_committee)
                    ));
                    formed = new_committee;
                }
                Event::ReshareAbandoned { session: s, .. } if s == session => break false,
                Event::Confirmed { member, attempt, .. } => self.progress.log(format!(
                    "  {} confirmed its held share (attempt {attempt})",
                    self.procs.name_of(&member)
                )),
                e @ (Event::ReshareAborted { .. } | Event::Slashed { .. }) => {
                    self.progress.log(describe(self.procs, &e))
                }
                _ => {}
            }
        };
        Ok((rotated, attempts, formed))
    }

    /// Records `session`'s rotation away from the committee `old` to `formed`: who left (their
    /// keystore copies, for the old-share trial at the end) and who joined; the parent key must
    /// still be `parent`. Returns the committee now, which must be `formed` if it rotated: the
    /// chain must not have moved on to a later rotation before the scenario read it.
    #[allow(clippy::too_many_arguments)]
    async fn record_rotation(
        &mut self,
        session: u32,
        old: &[AccountId],
        formed: &BTreeSet<AccountId>,
        parent: &[u8],
        rotated: bool,
        attempts: u32,
        reshare_ms: u64,
    ) -> anyhow::Result<CommitteeView> {
        let committee = self.node.client.committee().await?;
        let new: Vec<AccountId> = committee.members.iter().map(|m| m.tss).collect();
        if rotated && new.iter().copied().collect::<BTreeSet<_>>() != *formed {
            self.report.failures.push(format!(
                "the devnet fell behind the chain: after session {session}'s rotation to {} it read the committee \
                 {} (a later rotation had happened), so what it checks next would be wrong",
                self.procs.names(formed),
                self.procs.names(&new)
            ));
        }
        let left: Vec<AccountId> = old.iter().filter(|a| !new.contains(a)).copied().collect();
        let joined: Vec<AccountId> = new.iter().filter(|a| !old.contains(a)).copied().collect();
        // A departed member's old share, from the copy of its keystore taken before this
        // rotation: tried at the end.
        for a in &left {
            if let (Some(i), Some(copy)) = (self.procs.position(a), self.report.snapshots.get(a)) {
                self.report.old_copies.push((i, session, copy.clone()));
            }
        }
        if committee.parent_key.as_deref() != Some(parent) {
            self.report
                .failures
                .push(format!("the parent key changed in session {session}"));
        }
        self.progress.log(format!(
            "session {session}: {} after {attempts} attempt(s), {:.1} s; committee {}",
            if rotated { "rotated" } else { "NOT rotated" },
            reshare_ms as f64 / 1000.0,
            self.procs.names(committee.members.iter().map(|m| &m.tss))
        ));
        self.report.sessions.push(SessionSummary {
            index: session,
            attempts,
            committee: committee.members.iter().map(|m| m.tss.to_ss58()).collect(),
            joined: joined.iter().map(AccountId::to_ss58).collect(),
            left: left.iter().map(AccountId::to_ss58).collect(),
            reshare_ms,
            rotated,
        });
        Ok(committee)
    }

    /// After the jumpstart or a rotation in `session`: each TSS holds what the chain confirmed
    /// (`sharing`), and each member's keystore is copied while nothing writes to it.
    async fn settled(&mut self, session: u32, sharing: Option<&Sharing>) -> anyhow::Result<()> {
        if let Some(sharing) = sharing {
            check_members_hold(self.procs, &self.http, self.report, session, sharing).await;
        }
        snapshot(self.procs, self.report, session)
    }

    /// Arms the next `--fault`, unless one is armed already (call it while no reshare is in
    /// flight).
    async fn arm_next_fault(&mut self) -> anyhow::Result<()> {
        self.faults
            .arm_next(self.procs, &mut self.node, self.report, self.progress)
            .await
    }

    /// Lets `fault` strike in `session`'s rotation, which has just started; returns the
    /// signature it asked for meanwhile.
    async fn strike(&mut self, fault: AimedFault, session: u32) -> anyhow::Result<Option<PendingSignature>> {
        fault
            .strike(
                self.procs,
                &mut self.node,
                &self.http,
                self.report,
                self.progress,
                session,
            )
            .await
    }

    /// Starts asking for a signature for the demo account, `after` the jumpstart or a rotation.
    fn sign(&mut self, after: &str) {
        let signature = PendingSignature::start(self.procs, &self.http, self.report, self.progress, after, None);
        self.signatures.push(signature);
    }

    /// Records the signatures that are done (with `all`, waits for every one).
    async fn collect_signatures(&mut self, all: bool) {
        for signature in std::mem::take(&mut self.signatures) {
            if all || signature.is_finished() {
                signature.finish(self.report).await;
            } else {
                self.signatures.push(signature);
            }
        }
    }
}

/// What the display says while the `k`-th rotation is awaited.
fn rotation_stage(args: &DevnetArgs, k: u32) -> String {
    if k <= args.sessions {
        format!(
            "rotation {k} of {}: waiting for the next session (every {} blocks)",
            args.sessions, args.session_blocks
        )
    } else {
        format!(
            "extra rotation {k}: a fault is still waiting for its target to be able to act \
             (at most {} extra)",
            EXTRA_ROTATIONS
        )
    }
}

/// A line about a reshare failure or a punishment.
fn describe(procs: &Processes, event: &Event) -> String {
    match event {
        Event::ReshareAborted {
            session,
            attempt,
            reason,
            offenders,
        } => format!(
            "  session {session} attempt {attempt} aborted ({reason:?}); offenders: {}",
            procs.names(offenders)
        ),
        Event::Slashed { tss, kind, amount, .. } => {
            format!("  {} slashed ({kind:?}, {amount} burned)", procs.name_of(tss))
        }
        Event::ReshareAbandoned { session, attempts } => {
            format!("  session {session}: reshare abandoned after {attempts} attempt(s)")
        }
        other => format!("  {other:?}"),
    }
}
