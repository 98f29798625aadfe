#![cfg(not(loom))]
//! `channel()`: unbounded, `Sender::send` never blocks, the receiver's methods answer as
//! std's do, values cross segment boundaries in order, and every value is dropped
//! exactly once whichever half goes first.
//!
//! std's `std::sync::mpsc` is the reference: every test here passes on it too (switch
//! the `chan` module below to std to check).

use std::sync::mpsc as token;
use std::thread;
use std::time::Duration;

mod common;
use common::{Ledger, Tracked, GRACE};

/// The channel under test, and how to make it with each wait strategy ("variant").
/// (To check a test against std, the reference: `pub use std::sync::mpsc::*;`,
/// `VARIANTS = 1`, and the functions calling std's constructors.)
mod chan {
    use super::common::STRATEGIES;
    pub use ringlink::mpsc::*;

    /// How many ways to make a channel there are: one per wait strategy.
    pub const VARIANTS: usize = STRATEGIES.len();

    pub fn channel_variant<T>(variant: usize) -> (Sender<T>, Receiver<T>) {
        Builder::new()
            .with_wait_strategy(STRATEGIES[variant])
            .channel()
    }
}

/// The variants each test runs under (Miri: two, to keep it short).
fn variants() -> std::ops::Range<usize> {
    0..if cfg!(miri) {
        chan::VARIANTS.min(2)
    } else {
        chan::VARIANTS
    }
}

/// Values sent in the big bursts.
const BURST: u64 = if cfg!(miri) { 1_000 } else { 100_000 };

/// 100 k sends with no receiver running: none blocks (a bounded buffer would hang the
/// test), and all arrive in order, then the end. Catches a hidden bound, a segment
/// hand-over that loses, repeats or reorders values, and a disconnect that cuts the
/// buffered tail.
#[test]
fn sends_without_a_receiver_running_never_block_and_all_arrive_in_order() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        for i in 0..BURST {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut expected = 0;
        for value in rx.iter() {
            assert_eq!(value, expected, "variant {variant}");
            expected += 1;
        }
        assert_eq!(expected, BURST, "variant {variant}");
        assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Disconnected));
    }
}

/// The receiver exists but does not receive: the sender's thread sends a burst and
/// reports it is done through another channel before the receiver takes anything; the
/// receiver then takes them all while the sender lives, finds `Empty`, and the end only
/// after the sender's drop.
#[test]
fn send_never_waits_for_the_receiver() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        let (done_tx, done_rx) = token::channel();
        let (drop_tx, drop_rx) = token::channel::<()>();
        let sender = thread::spawn(move || {
            for i in 0..BURST {
                tx.send(i).unwrap();
            }
            done_tx.send(()).unwrap();
            drop_rx.recv().unwrap();
            drop(tx);
        });
        // Every send returned with the receiver idle.
        done_rx.recv().unwrap();
        assert!(rx.try_iter().eq(0..BURST), "variant {variant}");
        assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty));
        drop_tx.send(()).unwrap();
        assert_eq!(rx.recv(), Err(chan::RecvError), "variant {variant}");
        sender.join().unwrap();
    }
}

/// Send and receive interleaved in every rhythm around the likely segment sizes
/// (powers of two and their neighbours): a model queue says what each receive gives.
/// Catches the off-by-ones of a segmented queue: the last slot of a segment, the first
/// of the next, a recycled segment reused while values remain in it.
#[test]
fn values_cross_segment_boundaries_in_order() {
    let sizes: &[u64] = if cfg!(miri) {
        &[1, 15, 16, 17, 31, 32, 33, 63, 64, 65]
    } else {
        &[
            1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512,
            513, 1023, 1024, 1025, 4095, 4096, 4097,
        ]
    };
    for variant in variants() {
        for &burst in sizes {
            for lag in [0, 1, burst / 2, burst] {
                let (tx, rx) = chan::channel_variant::<u64>(variant);
                let mut sent = 0u64;
                let mut expected = 0u64;
                // Send `burst` then receive `burst - lag`, so the queue grows by `lag`
                // per round, crossing segments at every offset.
                let rounds = if cfg!(miri) { 3 } else { 6 };
                for _ in 0..rounds {
                    for _ in 0..burst {
                        tx.send(sent).unwrap();
                        sent += 1;
                    }
                    for _ in 0..burst - lag {
                        assert_eq!(rx.try_recv(), Ok(expected), "burst {burst}, lag {lag}");
                        expected += 1;
                    }
                }
                drop(tx);
                assert!(rx.iter().eq(expected..sent), "burst {burst}, lag {lag}");
            }
        }
    }
}

/// A sender on a thread streams while the receiver drains: in order, all of them.
#[test]
fn a_concurrent_stream_arrives_in_order() {
    let count: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        let sender = thread::spawn(move || {
            for i in 0..count {
                tx.send(i).unwrap();
            }
        });
        let mut expected = 0;
        for value in rx.iter() {
            assert_eq!(value, expected, "variant {variant}");
            expected += 1;
        }
        assert_eq!(expected, count, "variant {variant}");
        sender.join().unwrap();
    }
}

/// Zero-sized values: a queue that counts by address or by bytes breaks here.
#[test]
fn zero_sized_values_are_counted() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<()>(variant);
        for _ in 0..BURST {
            tx.send(()).unwrap();
        }
        assert_eq!(rx.try_iter().count() as u64, BURST);
        tx.send(()).unwrap();
        drop(tx);
        assert_eq!(rx.recv(), Ok(()));
        assert_eq!(rx.recv(), Err(chan::RecvError));
    }
}

// ---------------------------------------------------------------------------------
// The receiver's methods, as std's

#[test]
fn try_recv_says_empty_then_disconnected() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        drop(tx);
        // Buffered values come before the end.
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Disconnected));
        assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Disconnected));
    }
}

#[test]
fn recv_timeout_says_timeout_then_disconnected() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        assert_eq!(
            rx.recv_timeout(Duration::ZERO),
            Err(chan::RecvTimeoutError::Timeout)
        );
        assert_eq!(
            rx.recv_timeout(GRACE / 5),
            Err(chan::RecvTimeoutError::Timeout)
        );
        tx.send(1).unwrap();
        assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.recv_timeout(Duration::from_secs(3600)), Ok(2));
        // Disconnected at once, not after the timeout (the test would take an hour).
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(3600)),
            Err(chan::RecvTimeoutError::Disconnected)
        );
    }
}

/// A `recv` blocked on an empty channel wakes with the value a later send gives, and a
/// `recv_timeout` blocked likewise wakes with its value long before its timeout (an hour:
/// a missed wake-up hangs the test rather than passing late).
#[test]
fn a_blocked_receiver_wakes_for_a_send() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        let receiver = thread::spawn(move || {
            let first = rx.recv();
            let second = rx.recv_timeout(Duration::from_secs(3600));
            let end = rx.recv();
            (first, second, end)
        });
        thread::sleep(GRACE);
        tx.send(1).unwrap();
        thread::sleep(GRACE);
        tx.send(2).unwrap();
        thread::sleep(GRACE);
        drop(tx);
        assert_eq!(
            receiver.join().unwrap(),
            (Ok(1), Ok(2), Err(chan::RecvError)),
            "variant {variant}"
        );
    }
}

#[test]
fn iterators_answer_as_std() {
    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        // try_iter: what is there, without waiting, and again later.
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        assert_eq!(rx.try_iter().next(), None);
        tx.send(5).unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![5]);
        // iter: waits for values until the last sender is gone.
        let clone = tx.clone();
        let sender = thread::spawn(move || {
            for i in 6..10 {
                thread::sleep(GRACE / 10);
                clone.send(i).unwrap();
            }
        });
        tx.send(100).unwrap();
        drop(tx);
        let mut got: Vec<u64> = rx.iter().collect();
        sender.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, vec![6, 7, 8, 9, 100]);
        // into_iter, on a fresh channel.
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    }
}

// ---------------------------------------------------------------------------------
// Disconnection and drops

/// A send after the receiver is gone hands the value back (`SendError(v)`), and the
/// values left in the channel (spread over several segments) are dropped exactly once.
#[test]
fn a_send_to_a_dropped_receiver_hands_the_value_back() {
    for variant in variants() {
        // Around a segment's 63 values, and across many segments.
        for buffered in [0, 1, 62, 63, 64, 1_000, BURST as usize] {
            let context = format!("{buffered} buffered, variant {variant}");
            let ledger = Ledger::new();
            let (tx, rx) = chan::channel_variant::<Tracked>(variant);
            for id in 0..buffered {
                tx.send(ledger.make(id)).unwrap();
            }
            drop(rx);
            match tx.send(ledger.make(buffered)) {
                Err(chan::SendError(back)) => assert_eq!(back.id, buffered, "{context}"),
                Ok(()) => panic!("{context}: sent to a dropped receiver"),
            }
            drop(tx);
            ledger.assert_balanced(&context);
        }
    }
}

/// Values left buffered when the sender goes first are received (in order), then
/// dropped exactly once whether received or left in the channel with the receiver.
#[test]
fn values_left_behind_are_dropped_exactly_once_whichever_half_goes_first() {
    for variant in variants() {
        let sizes: &[usize] = if cfg!(miri) {
            &[0, 1, 64, 300]
        } else {
            &[0, 1, 33, 64, 1_000, 5_000]
        };
        for &buffered in sizes {
            for take in [0, buffered / 3, buffered] {
                for sender_first in [true, false] {
                    let context = format!(
                        "{buffered} buffered, {take} taken, sender first {sender_first}, \
                         variant {variant}"
                    );
                    let ledger = Ledger::new();
                    let (tx, rx) = chan::channel_variant::<Tracked>(variant);
                    for id in 0..buffered {
                        tx.send(ledger.make(id)).unwrap();
                    }
                    if sender_first {
                        drop(tx);
                        for id in 0..take {
                            assert_eq!(rx.recv().unwrap().id, id, "{context}");
                        }
                        drop(rx);
                    } else {
                        for id in 0..take {
                            assert_eq!(rx.recv().unwrap().id, id, "{context}");
                        }
                        drop(rx);
                        drop(tx);
                    }
                    ledger.assert_balanced(&context);
                }
            }
        }
    }
}

/// The receiver drops at a random point while a sender streams: the sender sees its
/// first `Err` with its own value and stops; the receiver got a gapless prefix; every
/// value is dropped exactly once.
#[test]
fn the_receiver_leaving_mid_stream_loses_and_leaks_nothing() {
    let rounds = if cfg!(miri) { 3 } else { 50 };
    let limit = if cfg!(miri) { 200 } else { 20_000 };
    for variant in variants() {
        for round in 0..rounds {
            let context = format!("round {round}, variant {variant}");
            let ledger = Ledger::new();
            let (tx, rx) = chan::channel_variant::<Tracked>(variant);
            let theirs = ledger.clone();
            let sender = thread::spawn(move || {
                for id in 0..limit {
                    if let Err(chan::SendError(back)) = tx.send(theirs.make(id)) {
                        assert_eq!(back.id, id);
                        return id;
                    }
                }
                limit
            });
            let take = round * limit / rounds;
            let mut received = 0;
            while received < take {
                match rx.recv() {
                    Ok(value) => {
                        assert_eq!(value.id, received, "{context}");
                        received += 1;
                    }
                    Err(_) => break,
                }
            }
            drop(rx);
            let sent = sender.join().unwrap();
            assert!(received <= sent, "{context}");
            ledger.assert_balanced(&context);
        }
    }
}
