//! Stress and drop accounting for `ringlink::mpsc`: many values, random interleavings of
//! sends, receives, timeouts and drops; nothing lost, duplicated, reordered or leaked.
#![cfg(not(loom))]

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ringlink::mpsc::{
    sync_channel, Builder, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError,
    WaitStrategy,
};

mod common;
use common::{Ledger, Tracked, STRATEGIES};

/// A small deterministic generator, so that a failing round can be replayed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn streams_many_values_in_order() {
    let count: u64 = if cfg!(miri) { 500 } else { 1_000_000 };
    for bound in [1, 1024] {
        let (tx, rx) = sync_channel(bound);
        let producer = thread::spawn(move || {
            for i in 0..count {
                tx.send(i).unwrap();
            }
        });
        let mut expected = 0;
        for value in rx.iter() {
            assert_eq!(value, expected, "bound {bound}");
            expected += 1;
        }
        assert_eq!(expected, count);
        producer.join().unwrap();
    }
}

#[test]
fn echo_round_trips_through_two_channels() {
    let rounds: u64 = if cfg!(miri) { 100 } else { 100_000 };
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::Park] {
        let rounds = if strategy == WaitStrategy::Park {
            rounds / 20
        } else {
            rounds
        };
        let builder = Builder::new().with_wait_strategy(strategy);
        let (request_tx, request_rx) = builder.sync_channel::<u64>(1);
        let (reply_tx, reply_rx) = builder.sync_channel::<u64>(1);
        let server = thread::spawn(move || {
            for request in request_rx {
                reply_tx.send(request * 2).unwrap();
            }
        });
        for i in 0..rounds {
            request_tx.send(i).unwrap();
            assert_eq!(reply_rx.recv(), Ok(i * 2));
        }
        drop(request_tx);
        server.join().unwrap();
    }
}

/// Both halves stop at random points and drop themselves, racing; whatever the
/// interleaving, every value made is dropped exactly once and arrives in order.
#[test]
fn every_value_is_dropped_once_when_both_halves_race_to_drop() {
    let rounds = if cfg!(miri) { 8 } else { 400 };
    let per_round = if cfg!(miri) { 20 } else { 300 };
    for round in 0..rounds {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ round);
        let bound = [0, 1, 2, 7, 64][rng.below(5) as usize];
        let strategy = STRATEGIES[rng.below(4) as usize];
        let send_count = rng.below(per_round) as usize;
        let recv_count = rng.below(per_round) as usize;
        let ledger = Ledger::new();
        let (tx, rx) = Builder::new()
            .with_wait_strategy(strategy)
            .sync_channel::<Tracked>(bound);
        let start = Arc::new(Barrier::new(2));

        let (ledger2, start2) = (ledger.clone(), start.clone());
        let sender = thread::spawn(move || {
            start2.wait();
            for id in 0..send_count {
                // A failed send hands the value back; it is dropped here, once.
                if tx.send(ledger2.make(id)).is_err() {
                    break;
                }
            }
            drop(tx);
        });
        let receiver = thread::spawn(move || {
            start.wait();
            let mut last = None;
            for _ in 0..recv_count {
                match rx.recv() {
                    Ok(value) => {
                        assert!(last < Some(value.id), "out of order");
                        last = Some(value.id);
                    }
                    Err(_) => break,
                }
            }
            drop(rx); // drops what is still buffered
        });
        sender.join().unwrap();
        receiver.join().unwrap();
        ledger.assert_balanced(&format!(
            "round {round}: bound {bound}, {strategy:?}, sends {send_count}, recvs {recv_count}"
        ));
    }
}

/// The same with the non-blocking and timed operations mixed in at random.
#[test]
fn every_value_is_dropped_once_with_tries_and_timeouts() {
    let rounds = if cfg!(miri) { 6 } else { 200 };
    let per_round = if cfg!(miri) { 20 } else { 500 };
    for round in 0..rounds {
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03 ^ round);
        let bound = [0, 1, 3][rng.below(3) as usize];
        let ledger = Ledger::new();
        let (tx, rx) = sync_channel::<Tracked>(bound);
        let seed = rng.below(u64::MAX);
        let ledger2 = ledger.clone();
        let sender = thread::spawn(move || {
            let mut rng = XorShift(seed | 1);
            let mut delivered = Vec::new();
            for id in 0..per_round as usize {
                let value = ledger2.make(id);
                let sent = match rng.below(3) {
                    0 => tx.send(value).is_ok(),
                    1 => match tx.try_send(value) {
                        Ok(()) => true,
                        Err(TrySendError::Full(back)) => {
                            assert_eq!(back.id, id);
                            false
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    },
                    _ => {
                        let timeout = Duration::from_micros(rng.below(20));
                        match tx.send_timeout(value, timeout) {
                            Ok(()) => true,
                            Err(SendTimeoutError::Timeout(back)) => {
                                assert_eq!(back.id, id);
                                false
                            }
                            Err(SendTimeoutError::Disconnected(_)) => break,
                        }
                    }
                };
                if sent {
                    delivered.push(id);
                }
            }
            delivered
        });
        let mut received = Vec::new();
        let stop_after = rng.below(per_round * 2) as usize;
        for _ in 0..stop_after {
            let got = match rng.below(3) {
                0 => rx.recv().ok(),
                1 => match rx.try_recv() {
                    Ok(value) => Some(value),
                    Err(TryRecvError::Empty) => continue,
                    Err(TryRecvError::Disconnected) => None,
                },
                _ => match rx.recv_timeout(Duration::from_micros(rng.below(20))) {
                    Ok(value) => Some(value),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => None,
                },
            };
            match got {
                Some(value) => received.push(value.id),
                None => break,
            }
        }
        drop(rx);
        let delivered = sender.join().unwrap();
        // What was received is a prefix of what was sent successfully, in order (the
        // rest was dropped with the receiver, or raced with its drop).
        assert_eq!(received[..], delivered[..received.len()], "round {round}");
        ledger.assert_balanced(&format!("round {round}: bound {bound}"));
    }
}

/// Dropping the receiver while the sender is mid-stream and blocked, many times.
#[test]
fn receiver_drop_mid_stream_wakes_the_sender_and_drops_everything() {
    let rounds = if cfg!(miri) { 5 } else { 300 };
    for round in 0..rounds {
        let strategy = STRATEGIES[round % 4];
        let ledger = Ledger::new();
        let (tx, rx) = Builder::new()
            .with_wait_strategy(strategy)
            .sync_channel::<Tracked>(round % 3);
        let ledger2 = ledger.clone();
        let sender = thread::spawn(move || {
            for id in 0..1000 {
                if tx.send(ledger2.make(id)).is_err() {
                    return;
                }
            }
            panic!("1000 sends into a channel whose receiver takes at most 5");
        });
        for _ in 0..round % 5 {
            rx.recv().unwrap();
        }
        drop(rx);
        sender.join().unwrap();
        ledger.assert_balanced(&format!("round {round}"));
    }
}
