//! Follows the chain block by block, in order and without gaps: a subscription that ends (the
//! client fell behind, or the node restarted) is re-opened and the blocks missed meanwhile are
//! fetched one by one, so every event is seen exactly once.

use std::time::Duration;

use keywheel_chain::BlockNumber;
use keywheel_rpc::{Block, KeywheelApiClient};
use tokio::sync::mpsc;

/// Starts the follower; it sends every block from `from` on, and ends when the receiver is
/// dropped. A node that cannot be reached is retried every second, without end: the devnet's
/// own deadlines decide when waiting is over.
pub fn follow(url: String, from: BlockNumber) -> mpsc::Receiver<Block> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut next = from;
        loop {
            if tx.is_closed() {
                return;
            }
            let Ok(client) = keywheel_rpc::connect_ws(&url).await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let Ok(mut blocks) = client.subscribe_blocks().await else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            while let Some(Ok(block)) = blocks.next().await {
                let number = block.header.number;
                // Fill the gap before this block from the node's store.
                while next < number {
                    match client.block(Some(next)).await {
                        Ok(Some(missed)) => {
                            if tx.send(missed).await.is_err() {
                                return;
                            }
                            next += 1;
                        }
                        _ => break,
                    }
                }
                if number == next {
                    if tx.send(block).await.is_err() {
                        return;
                    }
                    next += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    rx
}
