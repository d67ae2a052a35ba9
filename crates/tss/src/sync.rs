//! State shared between tasks behind a lock that survives a panicking holder: a panic in one
//! task (a bug) must not make every later reader of the same state panic too.

use std::sync::{Mutex, MutexGuard};

/// A mutex whose lock never fails: a poisoned lock is taken over as it was left.
#[derive(Debug, Default)]
pub(crate) struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    /// Locks it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_holding_the_lock_does_not_poison_later_readers() {
        let locked = std::sync::Arc::new(Locked::new(1));
        let held = locked.clone();
        let _ = std::thread::spawn(move || {
            let mut guard = held.lock();
            *guard = 2;
            panic!("a bug in one task");
        })
        .join();
        assert_eq!(*locked.lock(), 2);
    }
}
