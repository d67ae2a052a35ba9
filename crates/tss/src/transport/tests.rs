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
use super::noise::NoiseStream;
use super::{Directory, Peer, Transport, TransportError};
use crate::identity::Identity;
use crate::metrics::{Dropped, Metrics};
use crate::wire::{decode_frame, Frame, Tag, MAX_FRAME_BYTES};

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
    let dir = declare(&[&a, &b]);
    a.set_directory(dir.clone());
    b.set_directory(dir);
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
    a.set_floor(1, 2);
    let participants: BTreeSet<_> = [account(&a), account(&b)].into();
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
