//! The wake-up handshake with the fence pair this process really uses: loom checks the
//! handshake only with `fence(SeqCst)` on both sides, so these runs exercise the real
//! pair (`membarrier` on Linux, or the `fence(SeqCst)` fallback when
//! `RINGLINK_FENCE=seqcst` is set), with sides that park on nearly every wait.
//!
//! CI runs this file three ways: as is (two CPUs), under `taskset -c 0` (both sides on
//! one CPU), and with `RINGLINK_FENCE=seqcst`. A lost wake-up shows up as a hang; a lost,
//! duplicated or reordered value as a failed assertion. `RINGLINK_STRESS=<n>` multiplies
//! the lengths (default: a few seconds in debug).
#![cfg(not(loom))]

use std::thread;

use ringlink::mpsc::{Builder, Receiver, RecvError, SyncSender};
use ringlink::wait::WaitStrategy;

fn stress() -> usize {
    std::env::var("RINGLINK_STRESS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1)
}

/// How many values each test moves.
fn length(default: usize) -> usize {
    if cfg!(miri) {
        50
    } else {
        default * stress()
    }
}

/// A channel whose blocked side parks at once: every wait runs the heavy fence.
fn parking<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    Builder::new()
        .with_wait_strategy(WaitStrategy::Park)
        .sync_channel(bound)
}

/// Which fence pair the process uses, and that it is the one asked for: the fallback
/// when `RINGLINK_FENCE=seqcst` is set; otherwise `membarrier` where the kernel offers
/// it (Linux), the fallback elsewhere (printed, not asserted: a kernel may refuse).
#[test]
fn the_fence_pair_is_the_one_asked_for() {
    let kind = ringlink::__fence_kind();
    let forced = std::env::var_os("RINGLINK_FENCE").is_some_and(|value| value == "seqcst");
    eprintln!("fence_paths: fence pair {kind:?} (RINGLINK_FENCE=seqcst set: {forced})");
    assert!(
        kind == "membarrier" || kind == "seqcst",
        "unknown fence pair {kind:?}"
    );
    if forced || cfg!(miri) || !cfg!(target_os = "linux") {
        assert_eq!(kind, "seqcst", "the fallback must be in use");
    }
    // Made after the first decision: the channel keeps it (read once per process).
    let (tx, rx) = parking::<u8>(1);
    tx.send(1).unwrap();
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(ringlink::__fence_kind(), kind, "decided once per process");
}

/// A ping-pong over two channels of one slot each: every hop wakes a side that parked
/// on an empty channel (or finds it awake), in both directions.
#[test]
fn ping_pong_hops_arrive_in_order() {
    let hops = length(2_000);
    for bound in [0, 1] {
        let (ping_tx, ping_rx) = parking::<usize>(bound);
        let (pong_tx, pong_rx) = parking::<usize>(bound);
        let echo = thread::spawn(move || {
            let mut count = 0;
            for value in ping_rx.iter() {
                assert_eq!(value, count, "bound {bound}: ping out of order");
                pong_tx.send(value).unwrap();
                count += 1;
            }
            count
        });
        for hop in 0..hops {
            ping_tx.send(hop).unwrap();
            assert_eq!(pong_rx.recv(), Ok(hop), "bound {bound}: pong out of order");
        }
        drop(ping_tx);
        assert_eq!(echo.join().unwrap(), hops, "bound {bound}: hops echoed");
        assert_eq!(
            pong_rx.recv(),
            Err(RecvError),
            "bound {bound}: nothing more"
        );
    }
}

/// A stream into a receiver that parks whenever it catches up: the sender yields every
/// few values, so the receiver empties the buffer and parks often, and each later push
/// must wake it.
#[test]
fn a_stream_into_a_parking_receiver_arrives_in_order() {
    let values = length(20_000);
    let (tx, rx) = parking::<usize>(4);
    let sender = thread::spawn(move || {
        for value in 0..values {
            tx.send(value).unwrap();
            if value % 3 == 0 {
                thread::yield_now();
            }
        }
    });
    for expected in 0..values {
        assert_eq!(rx.recv(), Ok(expected));
    }
    sender.join().unwrap();
    assert_eq!(
        rx.recv(),
        Err(RecvError),
        "the sender is gone and the buffer empty"
    );
}

/// A stream out of a sender that parks whenever the buffer is full: the receiver yields
/// every few values, so the one-slot buffer fills and the sender parks often, and each
/// later pop must wake it.
#[test]
fn a_stream_from_a_parking_sender_arrives_in_order() {
    let values = length(20_000);
    let (tx, rx) = parking::<usize>(1);
    let sender = thread::spawn(move || {
        for value in 0..values {
            tx.send(value).unwrap();
        }
    });
    for expected in 0..values {
        if expected % 3 == 0 {
            thread::yield_now();
        }
        assert_eq!(rx.recv(), Ok(expected));
    }
    sender.join().unwrap();
    assert_eq!(
        rx.recv(),
        Err(RecvError),
        "the sender is gone and the buffer empty"
    );
}
