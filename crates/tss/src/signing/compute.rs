//! Where signing's CPU work runs: a tokio runtime of its own whose threads run at a lower CPU
//! priority ([`SIGNING_NICE`] nicer) than the rest of the TSS. The protocol driver does its CPU
//! work on the blocking pool of the runtime it runs on, so a signing session spawned here
//! computes on these threads while reshare sessions compute on the main runtime's: when both
//! want the cores, the kernel gives reshare work the larger share (at nice 10 against 0, about
//! nine tenths), and no burst of signing can starve a reshare past its deadline. The pool has
//! one blocking thread per core, which also bounds how many signing computations run at once.

use std::future::Future;
use std::io;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

/// How much nicer signing threads are than the process (nice 19 is the lowest priority).
pub const SIGNING_NICE: i32 = 10;

/// The runtime signing sessions run on.
pub struct SigningRuntime {
    runtime: Option<Runtime>,
}

impl SigningRuntime {
    /// A runtime with one worker and `cores` blocking threads, all at [`SIGNING_NICE`].
    pub fn new(cores: usize) -> io::Result<Self> {
        // Threads start at their creator's nice, which may be one of these: aim at a fixed value.
        let target = (thread_nice()? + SIGNING_NICE).min(19);
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(cores.max(1))
            .thread_name("keywheel-signing")
            .on_thread_start(move || set_nice(target))
            .enable_time()
            .build()?;
        Ok(Self { runtime: Some(runtime) })
    }

    /// Runs `future` (a signing session) on this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the SigningRuntime is dropped")
            .spawn(future)
    }
}

impl Drop for SigningRuntime {
    fn drop(&mut self) {
        // Dropped from async code at shutdown: do not block on the tasks still running.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The calling thread's nice value (0 where nice is not per thread).
fn thread_nice() -> io::Result<i32> {
    #[cfg(target_os = "linux")]
    return Ok(rustix::process::getpriority_process(Some(rustix::thread::gettid()))?);
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

/// Sets the calling thread's nice value (Linux sets nice per thread).
fn set_nice(nice: i32) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        tracing::warn!("could not lower a signing thread's CPU priority to nice {nice}: {e}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    fn thread_nice_ok() -> i32 {
        thread_nice().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn signing_work_runs_at_a_lower_priority_than_the_rest() {
        let runtime = SigningRuntime::new(2).unwrap();
        let main_nice = tokio::task::spawn_blocking(thread_nice_ok).await.unwrap();
        // As the driver does: CPU work on the blocking pool of the runtime the session runs on.
        let signing_nice = runtime
            .spawn(async { tokio::task::spawn_blocking(thread_nice_ok).await.unwrap() })
            .await
            .unwrap();
        let worker_nice = runtime.spawn(async { thread_nice_ok() }).await.unwrap();
        assert_eq!(signing_nice, main_nice + SIGNING_NICE.min(19 - main_nice));
        assert_eq!(worker_nice, signing_nice);
        assert!(
            signing_nice > main_nice,
            "signing threads run at nice {signing_nice}, the rest at {main_nice}"
        );
    }
}
