//! Every RPC call round-trips over a real loopback socket (WebSocket, HTTP, and a raw HTTP
//! request as `curl` sends it), and every block's randomness verifies against the author key.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use keywheel_chain::{registry::account_path, Call, Event};
use keywheel_rpc::block::RandomnessError;
use keywheel_rpc::{connect_ws, http_client, KeywheelApiClient, Phase, RuntimeCall};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_round_trips_over_a_real_socket() {
    let net = TestNet::new(4, fast_params());
    let node = keywheel_node::start(net.config(Duration::from_millis(100)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let http = http_client(&node.http_url()).unwrap();
    let mut blocks = ws.subscribe_blocks().await.unwrap();
    let mut events = ws.subscribe_events().await.unwrap();

    // status, over both transports
    let status = ws.status().await.unwrap();
    assert_eq!(status.network_name, "keywheel-test");
    assert_eq!(status.genesis_hash, net.genesis_hash());
    assert_eq!(status.root, account(&net.root));
    assert_eq!(http.status().await.unwrap().genesis_hash, status.genesis_hash);

    // account and nonce
    let (alice, bob) = (&net.users[0], &net.users[1]);
    let info = ws.account(account(alice)).await.unwrap();
    assert_eq!((info.free, info.nonce, info.registered.clone()), (FUNDS, 0, None));
    assert_eq!(ws.next_nonce(account(alice)).await.unwrap(), 0);

    // submit: applied to the block being built at once, stored when sealed
    let transfer = sign(
        &ws,
        &net,
        alice,
        RuntimeCall::Signed(Call::Transfer {
            to: account(bob),
            amount: 5,
        }),
    )
    .await;
    let receipt = ws.submit(transfer.clone()).await.unwrap();
    assert_eq!(
        receipt.events,
        vec![Event::Transferred {
            from: account(alice),
            to: account(bob),
            amount: 5
        }]
    );
    assert_eq!(ws.next_nonce(account(alice)).await.unwrap(), 1);
    let sealed = loop {
        let block = blocks.next().await.unwrap().unwrap();
        if block.header.number >= receipt.block {
            break block;
        }
    };
    assert_eq!(sealed.header.number, receipt.block);
    assert_eq!(sealed.extrinsics[receipt.index as usize], transfer);
    assert!(sealed.body_matches_header());
    let event = next_event(&mut events, |r| matches!(r.event, Event::Transferred { .. })).await;
    assert_eq!(
        (event.block, event.phase),
        (receipt.block, Phase::Extrinsic(receipt.index))
    );
    assert_eq!(ws.account(account(bob)).await.unwrap().free, FUNDS + 5);

    // submitAndWait, then registry
    let inclusion = send(&ws, &net, alice, Call::Register).await.unwrap();
    let path = account_path(&account(alice)).to_vec();
    assert_eq!(
        inclusion.events,
        vec![Event::Registered {
            account: account(alice),
            path: path.clone()
        }]
    );
    let stored = ws.block(Some(inclusion.block)).await.unwrap().unwrap();
    assert_eq!(stored.hash(), inclusion.block_hash);
    assert_eq!(ws.registry(account(alice)).await.unwrap(), Some(path.clone()));
    assert_eq!(http.registry(account(bob)).await.unwrap(), None);
    assert_eq!(ws.account(account(alice)).await.unwrap().registered, Some(path));

    // chain queries
    assert_eq!(ws.params().await.unwrap(), fast_params());
    let validators = ws.validators().await.unwrap();
    assert_eq!(validators.len(), 4);
    assert!(validators.iter().all(|v| v.ledger.bonded == BOND && !v.in_committee));
    assert!(validators
        .iter()
        .any(|v| v.stash == account(&net.stashes[0]) && v.tss.account == account(&net.tss[0])));
    let committee = ws.committee().await.unwrap();
    assert!(committee.members.is_empty() && committee.parent_key.is_none());
    assert_eq!(ws.reshare().await.unwrap(), None);
    assert_eq!(ws.parent_key().await.unwrap(), None);
    assert!(ws.slashes().await.unwrap().is_empty());

    // blocks
    let genesis = ws.block(Some(0)).await.unwrap().unwrap();
    assert_eq!(genesis.header.number, 0);
    let best = ws.block(None).await.unwrap().unwrap();
    assert!(best.header.number >= inclusion.block);
    assert_eq!(ws.block(Some(1 << 40)).await.unwrap(), None);

    // a plain HTTP request, as curl sends it
    let body = r#"{"jsonrpc":"2.0","id":7,"method":"keywheel_status","params":[]}"#;
    let mut stream = std::net::TcpStream::connect(node.rpc_addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        node.rpc_addr(),
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(&format!("\"genesis_hash\":\"0x{}\"", hex::encode(net.genesis_hash()))),
        "{response}"
    );

    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_randomness_verifies_against_the_author_key_and_tampering_breaks_it() {
    let net = TestNet::new(4, fast_params());
    let node = keywheel_node::start(net.config(Duration::from_millis(50)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let mut blocks = ws.subscribe_blocks().await.unwrap();
    while blocks.next().await.unwrap().unwrap().header.number < 4 {}
    let author = net.genesis.author;
    let genesis_hash = net.genesis_hash();

    let mut parent = ws.block(Some(0)).await.unwrap().unwrap();
    for n in 1..=4 {
        let block = ws.block(Some(n)).await.unwrap().unwrap();
        assert_eq!(block.header.parent_hash, parent.hash());
        block
            .header
            .verify_randomness(&genesis_hash, &author, &parent.header.randomness)
            .unwrap();
        assert_ne!(block.header.randomness, parent.header.randomness);
        parent = block;
    }
    let header = parent.header.clone();
    let parent_randomness = ws.block(Some(3)).await.unwrap().unwrap().header.randomness;
    let check = |h: &keywheel_rpc::Header| h.verify_randomness(&genesis_hash, &author, &parent_randomness);
    check(&header).unwrap();

    let mut randomness = header.clone();
    randomness.randomness[0] ^= 1;
    assert_eq!(check(&randomness), Err(RandomnessError::WrongRandomness));
    let mut proof = header.clone();
    proof.vrf_proof[0] ^= 1;
    assert!(matches!(
        check(&proof),
        Err(RandomnessError::BadProof | RandomnessError::Malformed)
    ));
    let mut output = header.clone();
    output.vrf_output[0] ^= 1;
    assert!(matches!(
        check(&output),
        Err(RandomnessError::BadProof | RandomnessError::Malformed)
    ));
    let mut number = header.clone();
    number.number += 1;
    assert_eq!(check(&number), Err(RandomnessError::BadProof));
    // Chained over another parent, or claimed for another author, it does not verify.
    assert_eq!(
        header.verify_randomness(&genesis_hash, &author, &[0; 32]),
        Err(RandomnessError::BadProof)
    );
    let other = account(&net.users[0]);
    assert_eq!(
        header.verify_randomness(&genesis_hash, &other, &parent_randomness),
        Err(RandomnessError::WrongAuthor)
    );
    let mut forged_author = header.clone();
    forged_author.author = other;
    assert_eq!(
        forged_author.verify_randomness(&genesis_hash, &other, &parent_randomness),
        Err(RandomnessError::BadProof)
    );
    node.stop().await.unwrap();
}
