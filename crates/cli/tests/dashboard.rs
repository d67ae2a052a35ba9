//! `keywheel dashboard` as a separate process over real sockets: it refuses what is not one of
//! its routes, says so when the node or a TSS cannot be reached, and recovers by itself when the
//! node comes back (killed and restarted from its database). `keywheel status --watch` is run
//! against the same node. The page itself is checked in a browser by the devnet test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn keywheel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keywheel"))
}

/// Kills the child when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; returns the status code, the headers (lower-cased) and the body.
fn http(addr: &str, method: &str, path: &str) -> (u16, String, String) {
    http_as(addr, addr, method, path)
}

/// [`http`] with the `Host` header `host`.
fn http_as(addr: &str, host: &str, method: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn state(addr: &str) -> Value {
    let (status, _, body) = http(addr, "GET", "/api/state");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls the dashboard's state until `check` holds; panics with the last state after `limit`.
fn until(addr: &str, what: &str, limit: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let s = state(addr);
        if check(&s) {
            return s;
        }
        assert!(started.elapsed() < limit, "never happened: {what}; last state:\n{s:#}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Starts a dev node on `port` from the genesis in `dir` (its database in `dir/node`).
fn start_node(dir: &Path, port: u16) -> Running {
    let child = keywheel()
        .args(["node", "run", "--genesis"])
        .arg(dir.join("genesis.toml"))
        .arg("--data-dir")
        .arg(dir.join("node"))
        .arg("--author-key")
        .arg(dir.join("author.key"))
        .args(["--rpc-addr", &format!("127.0.0.1:{port}"), "--block-time-ms", "200"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child)
}

#[test]
fn the_dashboard_refuses_other_requests_and_follows_the_node_down_and_back_up() {
    let tmp = tempfile::tempdir().unwrap();
    let chain_dir = tmp.path().join("chain");
    let made = keywheel()
        .args(["node", "dev-genesis", "--out"])
        .arg(&chain_dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let node_port = keywheel_rpc::loopback::reserve_port().unwrap();
    let tss_port = keywheel_rpc::loopback::reserve_port().unwrap();
    let node_url = format!("ws://127.0.0.1:{node_port}");

    // The dashboard first, with no node and no TSS behind the addresses it is given.
    let mut dashboard = Running(
        keywheel()
            .args(["dashboard", "--node", &node_url, "--listen", "127.0.0.1:0"])
            .args(["--tss", &format!("http://127.0.0.1:{tss_port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(dashboard.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .strip_prefix("dashboard http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the dashboard printed its address: {line:?}"))
        .to_owned();

    // Its own routes, with a policy that lets the page load nothing from elsewhere.
    let (status, head, body) = http(&addr, "GET", "/");
    assert_eq!(status, 200);
    assert!(body.contains("<title>keywheel dashboard</title>"));
    assert!(head.contains("content-security-policy: default-src 'none'"), "{head}");
    for asset in ["/app.js", "/app.css", "/icon.svg"] {
        assert_eq!(http(&addr, "GET", asset).0, 200, "{asset}");
    }
    // Everything else is refused, and changes nothing.
    for path in ["/nope", "/../../etc/passwd", "/api", "/api/state/x", "/app.js/"] {
        let (status, _, body) = http(&addr, "GET", path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains("no such page"), "{path}: {body}");
    }
    for method in ["POST", "PUT", "DELETE"] {
        let (status, _, body) = http(&addr, method, "/api/state");
        assert_eq!(status, 405, "{method}: {body}");
    }
    // A page of another site re-pointed at this address (DNS rebinding) names its own host.
    let (status, _, body) = http_as(&addr, "evil.example:80", "GET", "/api/state");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--allow-host"), "{body}");
    assert_eq!(
        http_as(
            &addr,
            &format!("localhost:{}", addr.split(':').nth(1).unwrap()),
            "GET",
            "/"
        )
        .0,
        200
    );
    let (status, _, body) = http(&addr, "GET", "/api/child?account=not-an-account");
    assert_eq!(status, 400);
    assert!(body.contains("is not an account"), "{body}");
    assert_eq!(http(&addr, "GET", "/api/child").0, 400);

    // No node: it says so, naming the address, and that the TSS cannot be reached either.
    let down = until(
        &addr,
        "the node and the TSS reported unreachable",
        Duration::from_secs(30),
        |s| s["node"]["reachable"] == false && s["tss"][0]["reachable"] == false && !s["tss"][0]["error"].is_null(),
    );
    assert!(down["node"]["error"].as_str().unwrap().contains(&node_url), "{down:#}");
    assert!(down["chain"].is_null(), "nothing read yet");
    let (status, _, body) = http(
        &addr,
        "GET",
        "/api/child?account=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    );
    assert_eq!(status, 503, "no parent key without a chain: {body}");

    // The node comes up: the dashboard finds it by itself.
    let node = start_node(&chain_dir, node_port);
    let up = until(
        &addr,
        "the node reached and its blocks read",
        Duration::from_secs(60),
        |s| s["node"]["reachable"] == true && s["chain"]["height"].as_u64().is_some_and(|h| h >= 3),
    );
    let height = up["chain"]["height"].as_u64().unwrap();
    assert_eq!(up["chain"]["network"], "keywheel-dev");

    // `status --watch` refreshes the same status again and again (not a terminal: one frame
    // after the other).
    let mut watch = Running(
        keywheel()
            .args(["status", "--watch", "--every", "1", "--node", &node_url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = BufReader::new(watch.0.stdout.take().unwrap()).lines();
    let mut heights = Vec::new();
    for line in lines {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("network keywheel-dev  height ") {
            heights.push(rest.split_whitespace().next().unwrap().parse::<u64>().unwrap());
            if heights.len() == 3 {
                break;
            }
        }
    }
    assert!(
        heights.windows(2).all(|w| w[0] < w[1]),
        "each refresh reads the chain again: {heights:?}"
    );
    drop(watch);

    // Killed: said plainly, and the last view is kept.
    drop(node);
    let gone = until(
        &addr,
        "the node reported unreachable again",
        Duration::from_secs(30),
        |s| s["node"]["reachable"] == false,
    );
    assert!(
        gone["chain"]["height"].as_u64().unwrap() >= height,
        "the last view is kept: {gone:#}"
    );

    // Restarted from its database: followed again, from where it was.
    let _node = start_node(&chain_dir, node_port);
    until(
        &addr,
        "the node followed again after its restart",
        Duration::from_secs(60),
        |s| s["node"]["reachable"] == true && s["chain"]["height"].as_u64().is_some_and(|h| h > height + 2),
    );
}
