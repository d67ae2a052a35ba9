//! The transport over loopback TCP: real handshakes, real sockets.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use keywheel_chain::AccountId;
use keywheel_mpc::driver::{Channels, Outgoing, ProtocolKind};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::dialer::connect;
use super::inbound::InboundLimits;
use super::noise::NoiseStream;
use super::{Directory, Peer, Transport, TransportError};
use crate::identity::Identity;
use crate::metrics::{ConnectionEnd, Dropped, Metrics};
use crate::wire::{decode_frame, encode_frame, Frame, Tag, MAX_FRAME_BYTES};

const NETWORK: [u8; 32] = [3; 32];

fn identity(i: u8) -> Identity {
    Identity::from_seeds(&[i; 32], &[i + 100; 32])
}

async fn node(i: u8) -> (Transport, mpsc::Receiver<(AccountId, Frame)>) {
    let listen = "127.0.0.1:0".parse().unwrap();
    Transport::bind(identity(i), NETWORK, listen, Arc::new(Metrics::default()))
        .await
        .unwrap()
}

fn declare(of: &[&Transport]) -> Directory {
    Directory::new(of.iter().map(|t| {
        (
            t.state.identity.account(),
            Peer {
                endpoint: t.local_addr().to_string(),
                x25519: t.state.identity.x25519_public(),
            },
        )
    }))
}

/// Gives each of `of` the directory that declares them all.
fn declare_to_each_other(of: &[&Transport]) {
    let dir = declare(of);
    for t in of {
        t.set_directory(dir.clone());
    }
}

fn account(t: &Transport) -> AccountId {
    t.state.identity.account()
}

fn reshare_tag(session: u32, attempt: u32) -> Tag {
    Tag::Reshare {
        kind: ProtocolKind::Reshare,
        session,
        attempt,
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

async fn nothing_arrives(channels: &mut Channels) {
    let got = tokio::time::timeout(Duration::from_millis(700), channels.incoming.recv()).await;
    assert!(got.is_err(), "a message arrived that must have been dropped");
}

#[tokio::test]
async fn messages_reach_their_session_even_before_it_opens() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    declare_to_each_other(&[&a, &b]);
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
    let tag = reshare_tag(1, 1);

    let from_b = b.open_protocol_session(tag, participants.clone());
    from_b
        .outgoing
        .send(Outgoing {
            protocol_session_id: tag.protocol_session_id(&NETWORK),
            to: account(&a),
            payload: vec![42; 200_000],
        })
        .await
        .unwrap();
    // A opens the session only after the message is on its way: it was buffered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut at_a = a.open_protocol_session(tag, participants);
    let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.from, account(&b));
    assert_eq!(got.payload, vec![42; 200_000], "a multi-chunk frame arrives whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_on_a_runtime_without_io_reaches_a_peer_never_dialled() {
    // Signing sessions open on the signing runtime, which has timers but no IO driver. A
    // member just restarted has no connection to its co-signers yet: its first frame to one is
    // what dials it. Dialled there, the dial panicked ("IO is disabled") and the peer's queue
    // stayed behind with no sender, dropping every later frame to that peer.
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    declare_to_each_other(&[&a, &b]);
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
    let tag = reshare_tag(1, 1);
    let mut at_a = a.open_protocol_session(tag, participants.clone());

    let signing = crate::signing::compute::SigningRuntime::new(1).unwrap();
    let on_signing = b.clone();
    let to = account(&a);
    signing.spawn(async move {
        let from_b = on_signing.open_protocol_session(tag, participants);
        from_b
            .outgoing
            .send(Outgoing {
                protocol_session_id: tag.protocol_session_id(&NETWORK),
                to,
                payload: vec![7; 100],
            })
            .await
            .unwrap();
        // The session's sender stays open while the frame goes out.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(from_b);
    });
    let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
        .await
        .expect("the frame arrives")
        .unwrap();
    assert_eq!((got.from, got.payload), (account(&b), vec![7; 100]));
    drop(signing);
}

#[tokio::test]
async fn a_peer_with_an_undeclared_key_is_refused() {
    let (a, _) = node(1).await;
    let (stranger, _) = node(9).await;
    a.set_directory(declare(&[&a]));
    // The stranger knows where A is, but A's directory does not know the stranger.
    stranger.set_directory(declare(&[&a, &stranger]));
    let participants: BTreeSet<_> = [account(&a), account(&stranger)].into();
    let tag = reshare_tag(1, 1);
    let mut at_a = a.open_protocol_session(tag, participants);
    stranger
        .send(account(&a), &Frame::Protocol { tag, payload: vec![1] })
        .await;
    eventually("A refuses the stranger", || {
        a.metrics().unknown_peers.load(std::sync::atomic::Ordering::Relaxed) > 0
    })
    .await;
    nothing_arrives(&mut at_a).await;
}

#[tokio::test]
async fn a_dialled_peer_must_answer_with_its_declared_key() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    let mut wrong = declare(&[&a, &b]);
    // A believes B's endpoint belongs to a key B does not have.
    wrong.by_account.get_mut(&account(&b)).unwrap().x25519 = [0x55; 32];
    let err = connect(&a.state, account(&b)).await.err();
    assert!(err.is_some(), "no directory entry: nothing to dial");
    a.set_directory(wrong);
    b.set_directory(declare(&[&a, &b]));
    let err = connect(&a.state, account(&b))
        .await
        .err()
        .expect("an impostor key is refused");
    assert!(matches!(err, TransportError::WrongPeer { .. }), "{err}");
}

#[tokio::test]
async fn an_oversized_frame_ends_the_connection() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    a.set_directory(declare(&[&a, &b]));
    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut noise = NoiseStream::initiate(stream, b.state.identity.x25519_secret(), &NETWORK)
        .await
        .unwrap();
    noise.send_header(MAX_FRAME_BYTES as u32 + 1).await.unwrap();
    eventually("A counts the oversized frame", || {
        a.metrics().dropped_count(Dropped::Oversized) == 1
    })
    .await;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), noise.stream.read(&mut byte))
        .await
        .expect("A closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "the connection stayed open: {read:?}");
    // A is unharmed: garbage after a good handshake is counted as malformed too.
    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut noise = NoiseStream::initiate(stream, b.state.identity.x25519_secret(), &NETWORK)
        .await
        .unwrap();
    noise.send(b"not a frame").await.unwrap();
    eventually("A counts the malformed frame", || {
        a.metrics().dropped_count(Dropped::Malformed) == 1
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_dies_is_marked_unreachable_at_the_next_frame_and_cleared_when_back() {
    let (a, _) = node(1).await;
    // B is a bare listener that answers the handshake as identity 2, so the test decides
    // when it dies.
    let b = identity(2);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    a.set_directory(Directory::new([(
        b.account(),
        Peer {
            endpoint: at.to_string(),
            x25519: b.x25519_public(),
        },
    )]));
    let secret = *b.x25519_secret();
    let frame = Frame::Protocol {
        tag: reshare_tag(1, 1),
        payload: vec![7],
    };

    // B takes one connection, reads one frame, and dies with its listener.
    let first = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut noise = NoiseStream::respond(stream, &secret, &NETWORK).await.unwrap();
        noise.recv().await.unwrap()
    });
    a.send(b.account(), &frame).await;
    let got = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decode_frame(&got).unwrap(), frame, "B received the first frame");
    assert!(a.unreachable().is_empty(), "a peer that answered is reachable");

    // B has died: its connection and listener are closed. The next frame finds the
    // connection closed, re-dials, and is refused.
    a.send(b.account(), &frame).await;
    eventually("A marks B unreachable", || a.unreachable().contains_key(&b.account())).await;

    // B is back at the same address: a probe (no frame) reaches it and clears the mark.
    let listener = TcpListener::bind(at).await.unwrap();
    let accepted = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        NoiseStream::respond(stream, &secret, &NETWORK).await.map(|_| ())
    });
    a.probe(b.account());
    eventually("the probe clears the mark", || a.unreachable().is_empty()).await;
    assert!(accepted.await.unwrap().is_ok(), "the probe completed a handshake");
}

#[tokio::test]
async fn a_replayed_message_of_an_older_attempt_and_a_non_participant_are_ignored() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    let (c, _) = node(3).await;
    let dir = declare(&[&a, &b, &c]);
    for t in [&a, &b, &c] {
        t.set_directory(dir.clone());
    }
    // Attempt 2 of session 1 is in flight; only A and B take part.
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
    a.set_in_flight(1, 2, participants.clone());
    let mut at_a = a.open_protocol_session(reshare_tag(1, 2), participants);

    let frame = |tag, byte| Frame::Protocol {
        tag,
        payload: vec![byte],
    };
    b.send(account(&a), &frame(reshare_tag(1, 1), 1)).await;
    eventually("the old attempt's message is dropped", || {
        a.metrics().dropped_count(Dropped::Stale) == 1
    })
    .await;
    c.send(account(&a), &frame(reshare_tag(1, 2), 2)).await;
    eventually("the outsider's message is dropped", || {
        a.metrics().dropped_count(Dropped::NotParticipant) == 1
    })
    .await;
    nothing_arrives(&mut at_a).await;

    b.send(account(&a), &frame(reshare_tag(1, 2), 3)).await;
    let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.payload,
        vec![3],
        "only the current attempt's message from a participant arrives"
    );
}

async fn node_limited(i: u8, limits: InboundLimits) -> (Transport, mpsc::Receiver<(AccountId, Frame)>) {
    let listen = "127.0.0.1:0".parse().unwrap();
    Transport::bind_limited(identity(i), NETWORK, listen, Arc::new(Metrics::default()), limits)
        .await
        .unwrap()
}

fn closed(t: &Transport, why: ConnectionEnd) -> u64 {
    t.metrics().connections_closed_count(why)
}

/// Whether the other end closed `stream` within a few seconds.
async fn closes(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Raises this process's soft limit on open files to its hard limit (the flood test holds
/// thousands of sockets); fails loudly if that is still too few.
fn allow_open_files(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= needed,
        "this test needs {needed} open files; the hard limit is {}",
        limit.rlim_cur
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_is_refused_and_a_peer_still_gets_through() {
    const FLOOD: usize = 5000;
    allow_open_files(FLOOD as u64 + 1024);
    let limits = InboundLimits {
        handshake: Duration::from_secs(2),
        ..InboundLimits::default()
    };
    let (a, _) = node_limited(1, limits.clone()).await;
    let (b, _) = node(2).await;
    declare_to_each_other(&[&a, &b]);
    let tag = reshare_tag(1, 1);
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
    let mut at_a = a.open_protocol_session(tag, participants);

    // Connections that never say anything, all held open.
    let started = std::time::Instant::now();
    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        flood.push(TcpStream::connect(a.local_addr()).await.unwrap());
    }
    // Every flood connection ends at A: refused at once, or admitted to a handshake slot and
    // closed when its handshake times out. How fast A accepts depends on the machine, so a slot
    // may free up and admit another idle connection before the flood is all accepted; but each
    // slot holds one for a whole handshake timeout, which bounds how many can ever be admitted.
    let refused = || closed(&a, ConnectionEnd::Busy) + closed(&a, ConnectionEnd::BusyAddress);
    let timed_out = || closed(&a, ConnectionEnd::HandshakeTimeout);
    for _ in 0..1200 {
        if refused() + timed_out() >= FLOOD as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(
        refused() + timed_out(),
        FLOOD as u64,
        "every flood connection is ended by A"
    );
    let turns = (elapsed.as_millis() / limits.handshake.as_millis()) as u64;
    let most_admitted = limits.handshakes_per_address as u64 * turns.max(1);
    assert!(
        (1..=most_admitted).contains(&timed_out()),
        "{} idle handshakes were admitted in {elapsed:?}; the slots allow at most {most_admitted}",
        timed_out()
    );

    // B, whose dial may meet a full slot and is retried, still gets its frame through.
    b.send(account(&a), &Frame::Protocol { tag, payload: vec![7] }).await;
    let got = tokio::time::timeout(Duration::from_secs(20), at_a.incoming.recv())
        .await
        .expect("B's frame arrives despite the flood")
        .unwrap();
    assert_eq!((got.from, got.payload), (account(&b), vec![7]));
    // Every flood connection was closed by A, none is served.
    for stream in flood.iter_mut().take(50) {
        assert!(closes(stream).await, "a flood connection stayed open");
    }
}

#[tokio::test]
async fn an_idle_peer_and_a_trickled_frame_are_closed() {
    let limits = InboundLimits {
        idle: Duration::from_millis(300),
        frame: Duration::from_millis(300),
        ..InboundLimits::default()
    };
    let (a, _) = node_limited(1, limits).await;
    let (b, _) = node(2).await;
    a.set_directory(declare(&[&a, &b]));
    let secret = b.state.identity.x25519_secret();

    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut idle = NoiseStream::initiate(stream, secret, &NETWORK).await.unwrap();
    assert!(closes(&mut idle.stream).await, "an idle peer is closed");
    assert_eq!(closed(&a, ConnectionEnd::Idle), 1);

    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut slow = NoiseStream::initiate(stream, secret, &NETWORK).await.unwrap();
    slow.send_header(1000).await.unwrap();
    assert!(
        closes(&mut slow.stream).await,
        "a frame that never completes closes its connection"
    );
    assert_eq!(closed(&a, ConnectionEnd::SlowFrame), 1);
}

#[tokio::test]
async fn an_account_keeps_one_connection_and_loses_it_when_it_leaves_the_directory() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    a.set_directory(declare(&[&a, &b]));
    let tag = reshare_tag(1, 1);
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
    let mut at_a = a.open_protocol_session(tag, participants);
    let secret = b.state.identity.x25519_secret();
    let frame = |byte| {
        encode_frame(&Frame::Protocol {
            tag,
            payload: vec![byte],
        })
    };

    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut first = NoiseStream::initiate(stream, secret, &NETWORK).await.unwrap();
    first.send(&frame(1)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.payload, vec![1]);

    let stream = TcpStream::connect(a.local_addr()).await.unwrap();
    let mut second = NoiseStream::initiate(stream, secret, &NETWORK).await.unwrap();
    assert!(closes(&mut first.stream).await, "the older connection of B is closed");
    assert_eq!(closed(&a, ConnectionEnd::Replaced), 1);
    second.send(&frame(2)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), at_a.incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.payload, vec![2], "the newer connection is served");

    // B leaves the directory: its live connection goes too.
    a.set_directory(declare(&[&a]));
    assert!(
        closes(&mut second.stream).await,
        "a departed account's connection is closed"
    );
    assert_eq!(closed(&a, ConnectionEnd::Undeclared), 1);
}

#[tokio::test]
async fn a_peer_that_cannot_be_reached_holds_up_no_frames_to_the_others() {
    let (a, _) = node(1).await;
    let (b, _) = node(2).await;
    let (c, _) = node(3).await;
    // C is declared at a port where nothing listens: every dial of it fails, its queue fills.
    let mut dir = declare(&[&a, &b, &c]);
    dir.by_account.get_mut(&account(&c)).unwrap().endpoint = "127.0.0.1:1".into();
    a.set_directory(dir.clone());
    b.set_directory(dir);
    let tag = reshare_tag(1, 1);
    let participants: BTreeSet<_> = [account(&a), account(&b), account(&c)].into();
    let from_a = a.open_protocol_session(tag, participants.clone());
    let mut at_b = b.open_protocol_session(tag, participants);
    let to = |peer, byte| Outgoing {
        protocol_session_id: tag.protocol_session_id(&NETWORK),
        to: peer,
        payload: vec![byte],
    };
    for _ in 0..1500 {
        from_a.outgoing.send(to(account(&c), 1)).await.unwrap();
    }
    from_a.outgoing.send(to(account(&b), 2)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), at_b.incoming.recv())
        .await
        .expect("B's frame is not stuck behind C's")
        .unwrap();
    assert_eq!(got.payload, vec![2]);
    assert!(
        a.metrics().dropped_count(Dropped::PeerQueueFull) > 0,
        "C's overflow is counted"
    );
}
