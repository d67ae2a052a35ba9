//! The replay caches: a request (or a signing job) is handled once while it is valid.

use std::collections::HashMap;

use keywheel_rpc::sign_request::SignError;

/// Requests seen, kept until they expire.
#[derive(Default)]
pub struct ReplayCache {
    seen: HashMap<Vec<u8>, u64>,
}

/// Entries a replay cache holds at most.
const REPLAY_CAPACITY: usize = 100_000;

impl ReplayCache {
    /// Records `key` (valid until `expires_at_ms`); refuses one seen before.
    pub fn insert(&mut self, key: Vec<u8>, expires_at_ms: u64, now_ms: u64) -> Result<(), SignError> {
        if self.seen.len() >= REPLAY_CAPACITY / 2 {
            self.seen.retain(|_, expiry| *expiry > now_ms);
        }
        if self.seen.len() >= REPLAY_CAPACITY {
            return Err(SignError::Unavailable(
                "too many requests in flight; try again shortly".into(),
            ));
        }
        if self.seen.insert(key, expires_at_ms).is_some() {
            return Err(SignError::Replay);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_000_000;

    #[test]
    fn replays_are_refused_until_they_expire() {
        let mut cache = ReplayCache::default();
        cache.insert(vec![1], NOW + 10, NOW).unwrap();
        assert_eq!(cache.insert(vec![1], NOW + 10, NOW), Err(SignError::Replay));
        cache.insert(vec![2], NOW + 10, NOW).unwrap();
    }

    #[test]
    fn a_full_cache_sweeps_expired_entries_and_refuses_when_still_full() {
        let mut cache = ReplayCache::default();
        for i in 0..REPLAY_CAPACITY as u32 {
            let expiry = if i % 2 == 0 { NOW + 1 } else { NOW + 100 };
            cache.insert(i.to_be_bytes().to_vec(), expiry, NOW).unwrap();
        }
        // Half have expired by NOW + 50: the sweep makes room.
        cache.insert(b"fresh".to_vec(), NOW + 100, NOW + 50).unwrap();
        assert_eq!(
            cache.insert(1u32.to_be_bytes().to_vec(), NOW + 100, NOW + 50),
            Err(SignError::Replay)
        );
        // Nothing expires before NOW + 100: a full cache refuses rather than forgets.
        for i in 0..(REPLAY_CAPACITY / 2) as u32 {
            let _ = cache.insert((u32::MAX - i).to_be_bytes().to_vec(), NOW + 100, NOW + 50);
        }
        assert!(matches!(
            cache.insert(b"one too many".to_vec(), NOW + 100, NOW + 50),
            Err(SignError::Unavailable(_))
        ));
    }
}
