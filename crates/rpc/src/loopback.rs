//! Loopback ports chosen ahead of time, for addresses that must be known before their process
//! binds them (a TSS's peer address is written into the genesis before the TSS starts).
//!
//! A port from `bind(0)` comes from the kernel's ephemeral range, the same range every outbound
//! connection draws its local port from: between release and the real bind, any connection on the
//! machine may take it ("Address already in use"). [`reserve_port`] therefore picks ports *outside*
//! that range, which the kernel never hands out by itself; the only contenders left are other
//! processes choosing fixed ports, which a random start and a per-process counter make unlikely.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many ports below the ephemeral range [`reserve_port`] chooses from.
const SPAN: u32 = 10_000;

/// Ports this process has tried, so two calls never return the same one.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Where this process starts in the span.
static SEED: OnceLock<u32> = OnceLock::new();

/// The kernel's ephemeral port range (Linux's `ip_local_port_range`; its default elsewhere).
fn ephemeral_range() -> (u32, u32) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(str::parse::<u32>);
            Some((parts.next()?.ok()?, parts.next()?.ok()?))
        })
        .unwrap_or((32_768, 60_999))
}

/// The ports [`reserve_port`] chooses from: just below the ephemeral range, or just above it
/// when there is no room below.
fn candidates() -> (u32, u32) {
    let (low, high) = ephemeral_range();
    if low >= 1_024 + SPAN {
        (low - SPAN, low)
    } else {
        (high + 1, (high + 1 + SPAN).min(65_536))
    }
}

/// A free 127.0.0.1 port outside the kernel's ephemeral range, checked by binding it (and
/// released again, for the caller's process to bind).
pub fn reserve_port() -> std::io::Result<u16> {
    let (start, end) = candidates();
    // One random start per process: with the counter after it, no two calls try the same
    // offset until the whole span is used (a start drawn per call could repeat another's).
    let seed = *SEED.get_or_init(|| {
        std::process::id().wrapping_mul(7_919).wrapping_add(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        )
    });
    first_free(start, end, || seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("no free loopback port in {start}..{end}"),
        )
    })
}

/// The first port of `start..end` that binds, trying offsets drawn from `next` (each try
/// draws one), at most as many tries as there are ports.
fn first_free(start: u32, end: u32, mut next: impl FnMut() -> u32) -> Option<u16> {
    let span = end.saturating_sub(start).max(1);
    (0..span).find_map(|_| {
        let port = u16::try_from(start + next() % span).ok()?;
        TcpListener::bind(("127.0.0.1", port)).is_ok().then_some(port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ports_are_outside_the_ephemeral_range_and_distinct() {
        let (low, high) = ephemeral_range();
        let ports: Vec<u16> = (0..20).map(|_| reserve_port().unwrap()).collect();
        for &p in &ports {
            assert!(
                !(low..=high).contains(&u32::from(p)),
                "{p} is in the ephemeral range {low}-{high}"
            );
        }
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "a port was handed out twice: {ports:?}");
    }

    #[test]
    fn a_port_in_use_is_skipped_and_a_full_range_is_none() {
        let taken = TcpListener::bind(("127.0.0.1", reserve_port().unwrap())).unwrap();
        let taken_port = u32::from(taken.local_addr().unwrap().port());
        assert_eq!(first_free(taken_port, taken_port + 1, || 0), None);

        let free_port = u32::from(reserve_port().unwrap());
        let start = taken_port.min(free_port);
        let mut tries = [taken_port - start, free_port - start].into_iter();
        let picked = first_free(start, taken_port.max(free_port) + 1, || tries.next().unwrap());
        assert_eq!(
            picked.map(u32::from),
            Some(free_port),
            "the port in use was tried first and skipped"
        );
    }
}
