//! The live display: block height, session and stage on one line, then one line per validator
//! with its phase ([`crate::phase`]: standby / resharing / holding / confirmed / rotated /
//! leaving / down / halted). On a terminal it redraws in place; otherwise it prints nothing but the
//! devnet's log lines, so logs and test output stay readable.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use keywheel_chain::AccountId;
use keywheel_rpc::KeywheelApiClient;

use crate::phase::{phase, Seen};

/// What the scenario tells the display.
#[derive(Default)]
struct Told {
    stage: String,
    signatures: usize,
    /// The session of the last rotation, if any.
    rotated_in: Option<u32>,
}

/// The display, shared by the scenario (which tells it the stage) and its poller.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    header: ProgressBar,
    members: Vec<ProgressBar>,
    told: Arc<Mutex<Told>>,
    terminal: bool,
}

impl Progress {
    /// A display for validators named `names`.
    pub fn new(names: &[String]) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
        let members = names
            .iter()
            .map(|name| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(ProgressStyle::with_template("    {prefix:<4} {msg}").expect("template"));
                bar.set_prefix(name.clone());
                bar
            })
            .collect();
        Self {
            multi,
            header,
            members,
            told: Arc::default(),
            terminal,
        }
    }

    /// A line above the display (or on stderr when there is no terminal).
    pub fn log(&self, line: impl AsRef<str>) {
        if self.terminal {
            let _ = self.multi.println(line.as_ref());
        } else {
            eprintln!("{}", line.as_ref());
        }
    }

    /// What the devnet is doing now.
    pub fn stage(&self, stage: impl Into<String>) {
        let stage = stage.into();
        self.log(format!("-- {stage}"));
        self.told.lock().expect("progress lock").stage = stage;
    }

    /// One more verified signature.
    pub fn signed(&self) {
        self.told.lock().expect("progress lock").signatures += 1;
    }

    /// The chain rotated the key in `session`.
    pub fn rotated(&self, session: u32) {
        self.told.lock().expect("progress lock").rotated_in = Some(session);
    }

    /// Removes the display.
    pub fn finish(&self) {
        self.header.finish_and_clear();
        for bar in &self.members {
            bar.finish_and_clear();
        }
    }

    /// Redraws every second from the node (`node_http`) and each TSS's status API until the
    /// display is finished. Only needed on a terminal.
    pub fn poll(&self, node_http: String, tss: Vec<(AccountId, Option<String>)>) {
        if !self.terminal {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client");
            let node = keywheel_rpc::http_client(&node_http).ok();
            while !this.header.is_finished() {
                this.header.tick();
                this.redraw(node.as_ref(), &http, &tss).await;
                tokio::time::sleep(Duration::from_millis(1000)).await;
            }
        });
    }

    async fn redraw(
        &self,
        node: Option<&keywheel_rpc::jsonrpsee::http_client::HttpClient>,
        http: &reqwest::Client,
        tss: &[(AccountId, Option<String>)],
    ) {
        let (stage, signatures, rotated_in) = {
            let told = self.told.lock().expect("progress lock");
            (told.stage.clone(), told.signatures, told.rotated_in)
        };
        let (status, reshare, committee) = match node {
            Some(n) => (
                n.status().await.ok(),
                n.reshare().await.ok().flatten(),
                n.committee().await.ok(),
            ),
            None => (None, None, None),
        };
        let chain = match &status {
            Some(s) => format!("block {:>5}  session {:>3}", s.height, s.session),
            None => "node unreachable".into(),
        };
        let rotated = rotated_in.map_or(String::new(), |s| format!("  last rotation in session {s}"));
        self.header
            .set_message(format!("{chain}  signatures {signatures}{rotated}  {stage}"));
        let sharing = committee.as_ref().and_then(|c| c.sharing.clone());
        let members: BTreeSet<AccountId> = committee
            .map(|c| c.members.iter().map(|m| m.tss).collect())
            .unwrap_or_default();
        for ((account, api), bar) in tss.iter().zip(&self.members) {
            let status = match api {
                Some(url) => crate::client::tss_status(http, url).await,
                None => None,
            };
            let seen = match &status {
                Some(s) => Seen::Status(s),
                None => Seen::Down,
            };
            let phase = phase(
                account,
                members.contains(account),
                reshare.as_ref(),
                sharing.as_ref(),
                seen,
            )
            .name();
            bar.set_message(format!("{} {phase}", short(account)));
        }
    }
}

/// An account's SS58 address, shortened for the display.
pub fn short(account: &AccountId) -> String {
    let s = account.to_ss58();
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}
