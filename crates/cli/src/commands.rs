//! The everyday commands: `account new`, `register`, `sign`, `status`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use keywheel_chain::{AccountId, Call};
use keywheel_mpc::child_key::{account_path, child_verifying_key, eth_address, eth_address_string};
use keywheel_rpc::sign_request::ToSign;
use keywheel_rpc::{keyfile, KeywheelApiClient, RuntimeCall};
use serde_json::json;

use crate::client::{self, account_of, DEFAULT_NODE, DEFAULT_TSS};

/// `keywheel account …`
#[derive(Subcommand)]
pub enum AccountCommand {
    /// Make a new account: an sr25519 key in an owner-only key file. Prints its address.
    New {
        /// The key file to write (it must not exist).
        #[arg(long, default_value = "account.key")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `keywheel register`
#[derive(Args)]
pub struct RegisterArgs {
    /// The account's key file.
    #[arg(long)]
    account: PathBuf,
    /// The node's WebSocket address.
    #[arg(long, default_value = DEFAULT_NODE, env = "KEYWHEEL_NODE")]
    node: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `keywheel sign`
#[derive(Args)]
pub struct SignArgs {
    /// The account's key file (it signs the request; its child key signs the message).
    #[arg(long)]
    account: PathBuf,
    /// The message (UTF-8); its Keccak-256 hash is signed.
    #[arg(long, group = "what", required = true)]
    message: Option<String>,
    /// The message as hex instead.
    #[arg(long, group = "what")]
    message_hex: Option<String>,
    /// A 32-byte hash (hex) to sign as it is.
    #[arg(long, group = "what")]
    hash: Option<String>,
    /// A TSS API to ask; repeat to name fallbacks, asked in order.
    #[arg(long = "tss", default_value = DEFAULT_TSS, env = "KEYWHEEL_TSS")]
    tss: Vec<String>,
    /// The node's WebSocket address (for the parent key the answer is checked against).
    #[arg(long, default_value = DEFAULT_NODE, env = "KEYWHEEL_NODE")]
    node: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `keywheel status`
#[derive(Args)]
pub struct StatusArgs {
    /// The node's WebSocket address.
    #[arg(long, default_value = DEFAULT_NODE, env = "KEYWHEEL_NODE")]
    node: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Refresh in place until interrupted, instead of printing once.
    #[arg(long)]
    watch: bool,
    /// Seconds between refreshes with `--watch`.
    #[arg(long, default_value_t = 2)]
    every: u64,
}

/// Runs `account …`.
pub fn account(command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::New { out, json } => {
            if out.exists() {
                bail!("{} exists: an account key is never overwritten", out.display());
            }
            let signer = keyfile::generate(&out).with_context(|| format!("write {}", out.display()))?;
            let account = account_of(&signer);
            if json {
                println!("{}", json!({ "account": account.to_ss58(), "key_file": out }));
            } else {
                println!(
                    "account  {account}\nkey file {} (owner-only; keep it safe)",
                    out.display()
                );
            }
            Ok(())
        }
    }
}

/// The child key of `account` under `parent` (compressed SEC1).
pub fn child_key(parent: &[u8], account: &AccountId) -> anyhow::Result<k256::ecdsa::VerifyingKey> {
    let parent = k256::ecdsa::VerifyingKey::from_sec1_bytes(parent).context("the chain's parent key does not parse")?;
    Ok(child_verifying_key::<keywheel_tss::P>(&parent, &account_path(account))?)
}

/// The child key address of `account` under `parent` (compressed SEC1).
pub fn child_address(parent: &[u8], account: &AccountId) -> anyhow::Result<String> {
    Ok(eth_address_string(&eth_address(&child_key(parent, account)?)))
}

/// Runs `register`.
pub async fn register(args: RegisterArgs) -> anyhow::Result<()> {
    let user = keyfile::load_signer(&args.account).with_context(|| format!("read {}", args.account.display()))?;
    let account = account_of(&user);
    let node = client::connect(&args.node).await?;
    let inclusion = client::submit(&node, &user, RuntimeCall::Signed(Call::Register)).await?;
    let path = node
        .registry(account)
        .await
        .context("ask the node for the registry")?
        .context("the chain took the call but has no registry entry")?;
    let address = match node.parent_key().await.context("ask the node for the parent key")? {
        Some(parent) => Some(child_address(&parent.0, &account)?),
        None => None,
    };
    if args.json {
        println!(
            "{}",
            json!({ "account": account.to_ss58(), "path": path, "child_address": address, "block": inclusion.block })
        );
    } else {
        println!("registered {account} in block {}", inclusion.block);
        println!("path          {path:?}");
        match address {
            Some(a) => println!("child address {a}"),
            None => println!("child address (after jumpstart)"),
        }
    }
    Ok(())
}

/// Runs `sign`: exits non-zero unless a verified signature came back.
pub async fn sign(args: SignArgs) -> anyhow::Result<()> {
    let user = keyfile::load_signer(&args.account).with_context(|| format!("read {}", args.account.display()))?;
    let what = match (&args.message, &args.message_hex, &args.hash) {
        (Some(m), _, _) => ToSign::Message(m.as_bytes().to_vec()),
        (_, Some(h), _) => ToSign::Message(parse_hex(h).context("--message-hex")?),
        (_, _, Some(h)) => {
            let bytes = parse_hex(h).context("--hash")?;
            ToSign::Hash(
                bytes
                    .try_into()
                    .map_err(|b: Vec<u8>| anyhow::anyhow!("--hash must be 32 bytes, got {}", b.len()))?,
            )
        }
        _ => bail!("give --message, --message-hex or --hash"),
    };
    let node = client::connect(&args.node).await?;
    let http = reqwest::Client::new();
    let signed = client::sign(&node, &http, &args.tss, &user, what).await?;
    let sig = &signed.response.signature;
    if args.json {
        println!(
            "{}",
            json!({
                "r": format!("0x{}", hex::encode(&sig.r)),
                "s": format!("0x{}", hex::encode(&sig.s)),
                "v": sig.v,
                "child_address": signed.child_address,
                "child_key": format!("0x{}", hex::encode(&sig.child_key)),
                "prehash": format!("0x{}", hex::encode(&signed.response.prehash)),
                "signers": signed.response.signers,
                "via": signed.via,
                "verified": true,
            })
        );
    } else {
        println!("r             0x{}", hex::encode(&sig.r));
        println!("s             0x{}", hex::encode(&sig.s));
        println!("v             {}", sig.v);
        println!("child address {}", signed.child_address);
        println!("verified      against the child key derived from the chain's parent key");
        println!("via           {}", signed.via);
    }
    Ok(())
}

fn parse_hex(text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).context("not hex")
}

/// Runs `status`, once or (`--watch`) again and again until interrupted.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    if !args.watch {
        let node = client::connect(&args.node).await?;
        print!("{}", status_text(&node, args.json).await?);
        return Ok(());
    }
    if args.every == 0 {
        bail!("--every must be at least one second");
    }
    // One Ctrl-C listener for the whole watch: a Ctrl-C while the node is being asked stops it
    // too.
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    tokio::select! {
        result = watch_status(&args) => result,
        _ = &mut stop => Ok(()),
    }
}

/// `status --watch`'s refreshes, until stdout is closed.
async fn watch_status(args: &StatusArgs) -> anyhow::Result<()> {
    let every = std::time::Duration::from_secs(args.every);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut node = None;
    loop {
        if node.is_none() {
            // A node that went away is dialled again at each refresh.
            node = client::connect(&args.node).await.ok();
        }
        let text = match &node {
            Some(client) => status_text(client, args.json).await,
            None => Err(anyhow::anyhow!(
                "cannot reach the node at {}: is it running? (--node)",
                args.node
            )),
        };
        let text = text.unwrap_or_else(|e| {
            node = None;
            format!("the node cannot be asked: {e:#}\nretrying every {} s\n", args.every)
        });
        let secs = keywheel_rpc::sign_request::now_ms() / 1000 % 86_400;
        let clock = format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60);
        // Clear the screen and go home on a terminal, so each refresh replaces the last.
        let (clear, gap) = if terminal { ("\x1b[2J\x1b[H", "") } else { ("", "\n") };
        let frame = format!(
            "{clear}keywheel status at {clock} (every {} s; Ctrl-C stops)\n{text}{gap}",
            args.every
        );
        let mut out = std::io::stdout().lock();
        if std::io::Write::write_all(&mut out, frame.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut out))
            .is_err()
        {
            // Whoever read the output went away (a closed pipe): nothing left to do.
            return Ok(());
        }
        drop(out);
        tokio::time::sleep(every).await;
    }
}

/// The chain's session, committee, reshare in flight and slashes, as `status` prints them.
async fn status_text(node: &keywheel_rpc::jsonrpsee::ws_client::WsClient, json: bool) -> anyhow::Result<String> {
    use std::fmt::Write;
    let status = node.status().await.context("ask the node for its status")?;
    let params = node.params().await.context("ask the node for its params")?;
    let committee = node.committee().await.context("ask the node for the committee")?;
    let reshare = node.reshare().await.context("ask the node for the reshare in flight")?;
    let slashes = node.slashes().await.context("ask the node for slashes")?;
    let validators = node.validators().await.context("ask the node for validators")?;
    let mut out = String::new();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "node": status, "params": params, "committee": committee,
                "reshare": reshare, "slashes": slashes, "validators": validators,
            }))?
        )?;
        return Ok(out);
    }
    writeln!(
        out,
        "network {}  height {}  session {}  ({} ms blocks, {} blocks per session)",
        status.network_name, status.height, status.session, status.block_time_ms, params.session_length
    )?;
    match &committee.parent_key {
        Some(key) => writeln!(out, "parent key 0x{}", hex::encode(key))?,
        None => writeln!(out, "parent key none yet (not jumpstarted)")?,
    }
    let threshold = committee.sharing.as_ref().map(|s| s.threshold);
    writeln!(
        out,
        "committee ({} members, threshold {}), oldest first:",
        committee.members.len(),
        threshold.map_or("-".into(), |t| t.to_string())
    )?;
    for (i, m) in committee.members.iter().enumerate() {
        writeln!(
            out,
            "  {}. tss {}  validator {}  joined #{}",
            i + 1,
            m.tss,
            m.validator,
            m.join_seq
        )?;
    }
    match &reshare {
        None => writeln!(out, "reshare: none in flight")?,
        Some(view) => {
            let r = &view.record;
            writeln!(
                out,
                "reshare: {:?} of session {}, attempt {}, deadline block {}",
                r.kind, r.session, r.attempt, r.deadline
            )?;
            writeln!(out, "  staying  {}", list(r.staying.iter()))?;
            writeln!(out, "  leaving  {}", list(r.leaving.iter()))?;
            let new: Vec<AccountId> = r.new_committee.iter().map(|m| m.tss).collect();
            let joining = new.iter().filter(|a| !r.staying.contains(a));
            writeln!(out, "  joining  {}", list(joining))?;
            writeln!(
                out,
                "  confirmed {}/{}: {}",
                view.confirmations.len(),
                new.len(),
                list(view.confirmations.keys())
            )?;
            for (reporter, named) in &view.reports {
                let named: Vec<String> = named
                    .iter()
                    .map(|s| {
                        let echo = if s.round.echo { " echo" } else { "" };
                        format!("{} ({:?} round {}{echo})", s.party, s.round.protocol, s.round.number)
                    })
                    .collect();
                writeln!(out, "  {reporter} reported silent: {}", named.join(", "))?;
            }
        }
    }
    if slashes.is_empty() {
        writeln!(out, "slashes: none")?;
    } else {
        writeln!(out, "slashes:")?;
        for s in &slashes {
            writeln!(
                out,
                "  {:?} {} (tss {}) in session {} attempt {}: {:?}, {} burned, barred until session {}",
                s.kind, s.validator, s.tss, s.session, s.attempt, s.reason, s.amount, s.barred_until
            )?;
        }
    }
    Ok(out)
}

fn list<'a>(accounts: impl Iterator<Item = &'a AccountId>) -> String {
    let v: Vec<String> = accounts.map(|a| a.to_ss58()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}
