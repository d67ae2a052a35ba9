//! Every kind of bad extrinsic is refused before it touches state, with its stable error code
//! and a message that says what to do; nothing changes.

mod support;

use std::time::Duration;

use keywheel_chain::Call;
use keywheel_rpc::jsonrpsee::core::client::ClientT;
use keywheel_rpc::jsonrpsee::rpc_params;
use keywheel_rpc::{connect_ws, Bytes, ErrorCode, Extrinsic, KeywheelApiClient, RuntimeCall, MAX_EXTRINSIC_SIZE};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_extrinsic_is_refused_with_its_code_and_changes_nothing() {
    let net = TestNet::new(4, fast_params());
    let node = keywheel_node::start(net.config(Duration::from_millis(100)))
        .await
        .unwrap();
    let ws = connect_ws(&node.ws_url()).await.unwrap();
    let (alice, bob) = (&net.users[0], &net.users[1]);
    let start_height = ws.status().await.unwrap().height;
    let pay = |amount| {
        RuntimeCall::Signed(Call::Transfer {
            to: account(bob),
            amount,
        })
    };
    let signed = |signer, nonce, call| Bytes(Extrinsic::sign(signer, net.genesis_hash(), nonce, call).encode());

    // One good extrinsic, so that a replay has something to replay.
    let good = signed(alice, 0, pay(5));
    ws.submit_and_wait(good.clone()).await.unwrap();

    let mut bad_signature = Extrinsic::decode(&signed(alice, 1, pay(5)).0).unwrap();
    bad_signature.signature.0[10] ^= 1;
    let mut impersonation = Extrinsic::sign(bob, net.genesis_hash(), 1, pay(5));
    impersonation.signer = account(alice);
    let other_network = Bytes(Extrinsic::sign(alice, [0; 32], 1, pay(5)).encode());
    // An unknown call: the call's variant index replaced by one no call has.
    let mut unknown_call = signed(alice, 1, RuntimeCall::Signed(Call::Chill));
    let at = 1 + 32 + 32 + 1 + 1;
    assert_eq!(unknown_call.0[at], 3, "Chill's variant index");
    unknown_call.0[at] = 99;
    let mut unknown_origin = signed(alice, 1, RuntimeCall::Signed(Call::Chill));
    unknown_origin.0[at - 1] = 7;
    let mut other_version = signed(alice, 1, pay(5));
    other_version.0[0] = 2;
    let mut trailing = signed(alice, 1, pay(5));
    trailing.0.push(0);

    let cases: Vec<(&str, Bytes, ErrorCode)> = vec![
        (
            "tampered signature",
            Bytes(bad_signature.encode()),
            ErrorCode::BadSignature,
        ),
        (
            "signed by someone else",
            Bytes(impersonation.encode()),
            ErrorCode::BadSignature,
        ),
        ("signed for another network", other_network, ErrorCode::WrongNetwork),
        ("replay", good, ErrorCode::StaleNonce),
        (
            "nonce from the future",
            signed(alice, 7, pay(5)),
            ErrorCode::FutureNonce,
        ),
        ("unknown call", unknown_call, ErrorCode::Malformed),
        ("unknown origin", unknown_origin, ErrorCode::Malformed),
        ("other format version", other_version, ErrorCode::Malformed),
        ("trailing bytes", trailing, ErrorCode::Malformed),
        ("empty", Bytes(Vec::new()), ErrorCode::Malformed),
        (
            "oversized",
            Bytes(vec![1; MAX_EXTRINSIC_SIZE + 1]),
            ErrorCode::Oversized,
        ),
        (
            "sudo without the root key",
            signed(alice, 1, RuntimeCall::Sudo(Call::Jumpstart)),
            ErrorCode::NotRoot,
        ),
        (
            "refused by the chain rules",
            signed(alice, 1, pay(10 * FUNDS)),
            ErrorCode::Refused,
        ),
    ];
    for (what, bytes, code) in cases {
        let err = api_error(ws.submit(bytes.clone()).await);
        assert_eq!(err.code, code, "{what}: {err}");
        assert!(!err.message.is_empty());
        let again = api_error(ws.submit_and_wait(bytes).await);
        assert_eq!(again.code, code, "{what} (submitAndWait)");
    }
    let refused = api_error(ws.submit(signed(alice, 1, pay(10 * FUNDS))).await);
    assert_eq!(refused.data.unwrap()["error"], "InsufficientBalance");
    assert!(refused.message.contains("nothing changed"), "{}", refused.message);
    let stale = api_error(ws.submit(signed(alice, 0, pay(5))).await);
    assert_eq!(stale.data.unwrap()["expected"], 1);

    // Not even hex: jsonrpsee's invalid-params error, naming the problem.
    let err = ws
        .request::<serde_json::Value, _>("keywheel_submit", rpc_params!["0xzz"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not hex"), "{err}");

    // Nothing changed: one extrinsic in all the blocks since, balances and nonce as after it.
    let end = ws.status().await.unwrap().height + 1;
    let mut blocks = ws.subscribe_blocks().await.unwrap();
    while blocks.next().await.unwrap().unwrap().header.number < end {}
    let mut included = 0;
    for n in start_height..=end {
        included += ws.block(Some(n)).await.unwrap().unwrap().extrinsics.len();
    }
    assert_eq!(included, 1);
    let info = ws.account(account(alice)).await.unwrap();
    assert_eq!((info.free, info.nonce), (FUNDS - 5, 1));
    assert_eq!(ws.account(account(bob)).await.unwrap().free, FUNDS + 5);
    node.stop().await.unwrap();
}
