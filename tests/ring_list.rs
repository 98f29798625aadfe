#![cfg(not(loom))]
//! The unbounded queue behind `mpsc::channel()` (`ringlink::__list`): order with one
//! producer and with many, the upgrade between them, drop accounting, zero-sized values.
//!
//! Segments hold 63 values: the streams below cross many segment boundaries, and the
//! counts are chosen so that boundaries fall in the middle of things (an upgrade, a
//! drain, a drop).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use common::Ledger;
use ringlink::__list::{list, ListConsumer, SharedListProducer};

/// Values in the longer streams; Miri interprets every step, so it gets few.
const STREAM: usize = if cfg!(miri) { 400 } else { 200_000 };

/// Threads pushing through one shared producer.
const PRODUCERS: usize = if cfg!(miri) { 3 } else { 4 };

/// Repetitions of the racing tests.
const RACES: usize = if cfg!(miri) { 4 } else { 200 };

/// Pops one value, spinning while none is ready.
fn pop_wait<T>(consumer: &mut ListConsumer<T>) -> T {
    loop {
        if let Some(value) = consumer.pop() {
            return value;
        }
        thread::yield_now();
    }
}

#[test]
fn one_producer_keeps_order_across_segments() {
    let (mut producer, mut consumer) = list();
    assert_eq!(consumer.pop(), None);
    assert!(consumer.is_empty());
    // Bursts of different lengths, so that a burst ends on every offset of a segment.
    let mut next_in = 0usize;
    let mut next_out = 0usize;
    for burst in 1..200 {
        for _ in 0..burst {
            producer.push(next_in);
            next_in += 1;
        }
        assert!(!consumer.is_empty());
        for _ in 0..burst / 2 + 1 {
            assert_eq!(consumer.pop(), Some(next_out));
            next_out += 1;
        }
    }
    while let Some(value) = consumer.pop() {
        assert_eq!(value, next_out);
        next_out += 1;
    }
    assert_eq!(next_out, next_in);
    assert!(consumer.is_empty());
}

#[test]
fn one_producer_streams_to_another_thread_in_order() {
    let (mut producer, mut consumer) = list();
    let pusher = thread::spawn(move || {
        for i in 0..STREAM {
            producer.push(Box::new(i));
        }
    });
    for i in 0..STREAM {
        assert_eq!(*pop_wait(&mut consumer), i);
    }
    pusher.join().unwrap();
    assert!(consumer.is_abandoned());
    assert_eq!(consumer.pop(), None);
}

#[test]
fn a_shared_producer_keeps_order_on_one_thread() {
    let (producer, mut consumer) = list();
    let producer = producer.into_shared();
    for i in 0..1000usize {
        producer.push(i);
        if i % 3 == 0 {
            assert_eq!(consumer.pop(), Some(i / 3), "each pop takes the oldest");
        }
    }
    // Pops so far: i = 0, 3, 6, ... each popped the oldest value.
    let popped = (0..1000).filter(|i| i % 3 == 0).count();
    for i in popped..1000 {
        assert_eq!(consumer.pop(), Some(i));
    }
    assert_eq!(consumer.pop(), None);
}

/// The upgrade at every offset of a segment, with values in flight on another thread:
/// everything pushed before comes out before anything pushed after, and each producer's
/// values come out in its order.
#[test]
fn the_upgrade_mid_segment_keeps_earlier_values_first() {
    let befores: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 62, 63, 100]
    } else {
        (0..130).collect()
    };
    let after = if cfg!(miri) { 40 } else { 500 };
    for before in befores {
        let (mut producer, mut consumer) = list::<(usize, usize)>();
        let popper = thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < before + PRODUCERS * after {
                got.push(pop_wait(&mut consumer));
            }
            assert_eq!(consumer.pop(), None);
            got
        });
        for i in 0..before {
            producer.push((PRODUCERS, i));
        }
        let shared = producer.into_shared();
        thread::scope(|scope| {
            for p in 0..PRODUCERS {
                let shared = &shared;
                scope.spawn(move || {
                    for i in 0..after {
                        shared.push((p, i));
                    }
                });
            }
        });
        let got = popper.join().unwrap();
        let expected_first: Vec<(usize, usize)> = (0..before).map(|i| (PRODUCERS, i)).collect();
        assert_eq!(got[..before], expected_first[..], "upgrade after {before}");
        let mut next = [0; PRODUCERS];
        for &(p, i) in &got[before..] {
            assert!(p < PRODUCERS, "a value from before the upgrade came late");
            assert_eq!(
                i, next[p],
                "producer {p} out of order (upgrade after {before})"
            );
            next[p] += 1;
        }
        assert_eq!(next, [after; PRODUCERS]);
    }
}

/// Many threads pushing by `&SharedListProducer` while the consumer pops: per-producer
/// FIFO, nothing lost or duplicated.
#[test]
fn many_shared_producers_keep_per_producer_order() {
    let per_producer = STREAM / PRODUCERS;
    let (producer, mut consumer) = list::<(usize, usize)>();
    let producer = Arc::new(producer.into_shared());
    let pushers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let producer = producer.clone();
            thread::spawn(move || {
                for i in 0..per_producer {
                    producer.push((p, i));
                }
            })
        })
        .collect();
    drop(producer);
    let mut next = [0; PRODUCERS];
    for _ in 0..per_producer * PRODUCERS {
        let (p, i) = pop_wait(&mut consumer);
        assert_eq!(i, next[p], "producer {p} out of order");
        next[p] += 1;
    }
    for pusher in pushers {
        pusher.join().unwrap();
    }
    assert!(consumer.is_abandoned(), "the last owner dropped it");
    assert_eq!(consumer.pop(), None);
}

/// Causal order across threads: a push that happens before another (here, through a
/// join) is popped first, whichever thread made it.
#[test]
fn pushes_ordered_by_a_join_are_popped_in_that_order() {
    let (producer, mut consumer) = list::<usize>();
    let producer = producer.into_shared();
    let rounds = if cfg!(miri) { 20 } else { 300 };
    for i in 0..rounds {
        thread::scope(|scope| {
            scope.spawn(|| producer.push(2 * i)).join().unwrap();
            scope.spawn(|| producer.push(2 * i + 1)).join().unwrap();
        });
    }
    for i in 0..2 * rounds {
        assert_eq!(consumer.pop(), Some(i));
    }
}

#[test]
fn the_halves_are_send_sync_and_unwind_safe() {
    fn send_sync<S: Send + Sync>() {}
    fn send<S: Send>() {}
    send_sync::<SharedListProducer<Box<u8>>>();
    send::<ringlink::__list::ListProducer<Box<u8>>>();
    send::<ListConsumer<Box<u8>>>();
    // As std's channel halves, whatever `T`.
    fn unwind_safe<U: UnwindSafe + RefUnwindSafe>() {}
    unwind_safe::<SharedListProducer<std::cell::Cell<u8>>>();
    unwind_safe::<ringlink::__list::ListProducer<std::cell::Cell<u8>>>();
    unwind_safe::<ListConsumer<std::cell::Cell<u8>>>();
}

#[test]
fn every_value_is_dropped_once_whichever_half_goes_first() {
    for consumer_first in [false, true] {
        for shared in [false, true] {
            for popped in [0, 1, 62, 63, 64, 100] {
                let ledger = Ledger::new();
                let (mut producer, mut consumer) = list();
                for id in 0..150 {
                    producer.push(ledger.make(id));
                }
                for id in 0..popped {
                    assert_eq!(consumer.pop().unwrap().id, id);
                }
                assert_eq!(ledger.alive(), 150 - popped);
                let context =
                    format!("consumer first {consumer_first}, shared {shared}, popped {popped}");
                if shared {
                    let producer = producer.into_shared();
                    producer.push(ledger.make(150));
                    if consumer_first {
                        drop(consumer);
                        // The values ready are dropped at once, not when the queue goes.
                        assert_eq!(ledger.alive(), 0, "{context}");
                        assert!(producer.is_abandoned());
                        // Pushed after: dropped with the producer.
                        producer.push(ledger.make(151));
                        assert_eq!(ledger.alive(), 1, "{context}");
                        drop(producer);
                    } else {
                        drop(producer);
                        assert!(consumer.is_abandoned());
                        assert_eq!(ledger.alive(), 151 - popped, "{context}");
                        drop(consumer);
                    }
                } else {
                    if consumer_first {
                        drop(consumer);
                        assert_eq!(ledger.alive(), 0, "{context}");
                        assert!(producer.is_abandoned());
                        for id in 150..200 {
                            producer.push(ledger.make(id));
                        }
                        drop(producer);
                    } else {
                        drop(producer);
                        assert_eq!(ledger.alive(), 150 - popped, "{context}");
                        drop(consumer);
                    }
                }
                ledger.assert_balanced(&context);
            }
        }
    }
}

#[test]
fn a_panicking_drop_while_the_consumer_drains_drops_nothing_twice() {
    let ledger = Ledger::new();
    let (mut producer, consumer) = list();
    // Across a segment boundary, the panicking one in the first segment.
    for id in 0..100 {
        if id == 30 {
            producer.push(ledger.make_panicking(id));
        } else {
            producer.push(ledger.make(id));
        }
    }
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    // As `Vec` does: the values after the one that panicked are dropped all the same,
    // by the consumer's drop, not left for the producer.
    assert_eq!(ledger.alive(), 0);
    assert!(producer.is_abandoned());
    drop(producer);
    ledger.assert_balanced("a_panicking_drop_while_the_consumer_drains_drops_nothing_twice");
}

#[test]
fn a_panicking_drop_in_the_last_half_drops_the_rest_and_frees_the_segments() {
    let ledger = Ledger::new();
    let (mut producer, consumer) = list();
    drop(consumer);
    for id in 0..200 {
        if id == 70 {
            producer.push(ledger.make_panicking(id));
        } else {
            producer.push(ledger.make(id));
        }
    }
    let result = catch_unwind(AssertUnwindSafe(move || drop(producer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    ledger.assert_balanced("a_panicking_drop_in_the_last_half_drops_the_rest");
}

/// The consumer goes while several threads push: each value is dropped once, by the
/// consumer's drain or with the last producer.
#[test]
fn the_consumer_dropped_while_producers_push_drops_everything_once() {
    for round in 0..RACES {
        let ledger = Ledger::new();
        let (producer, mut consumer) = list();
        let producer = producer.into_shared();
        let popped = AtomicUsize::new(0);
        let barrier = Barrier::new(PRODUCERS + 1);
        thread::scope(|scope| {
            for _ in 0..PRODUCERS {
                scope.spawn(|| {
                    barrier.wait();
                    // Until the consumer is seen gone, and a few more after.
                    let mut after = 0;
                    while after < 10 {
                        producer.push(ledger.make_next());
                        if producer.is_abandoned() {
                            after += 1;
                        }
                    }
                });
            }
            barrier.wait();
            for _ in 0..round % 80 {
                if consumer.pop().is_some() {
                    popped.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(consumer);
        });
        drop(producer);
        ledger.assert_balanced(&format!("round {round}"));
    }
}

/// Zero-sized values go through the same segments as any other; their drops count.
#[test]
fn zero_sized_values_are_counted_and_dropped_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let (mut producer, mut consumer) = list();
    for _ in 0..300 {
        producer.push(Zst);
    }
    for _ in 0..200 {
        drop(consumer.pop().expect("a value"));
    }
    assert_eq!(DROPS.load(Ordering::Relaxed), 200);
    let producer = producer.into_shared();
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..100 {
                    producer.push(Zst);
                }
            });
        }
    });
    for _ in 0..250 {
        drop(consumer.pop().expect("a value"));
    }
    assert_eq!(DROPS.load(Ordering::Relaxed), 450);
    drop(consumer);
    assert_eq!(DROPS.load(Ordering::Relaxed), 600);
    drop(producer);
    assert_eq!(DROPS.load(Ordering::Relaxed), 600);

    // Without drop glue, too.
    let (mut producer, mut consumer) = list::<()>();
    for _ in 0..130 {
        producer.push(());
    }
    for _ in 0..130 {
        assert_eq!(consumer.pop(), Some(()));
    }
    assert_eq!(consumer.pop(), None);
}

/// The halves see each other go.
#[test]
fn each_half_sees_the_other_go() {
    let (producer, consumer) = list::<u8>();
    assert!(!producer.is_abandoned());
    assert!(!consumer.is_abandoned());
    drop(consumer);
    assert!(producer.is_abandoned());

    let (producer, consumer) = list::<u8>();
    // The upgrade is no drop of the producer.
    let shared = producer.into_shared();
    assert!(!consumer.is_abandoned());
    assert!(!shared.is_abandoned());
    drop(shared);
    assert!(consumer.is_abandoned());
}
