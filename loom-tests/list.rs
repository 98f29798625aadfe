#![cfg(loom)]
//! loom models of the unbounded queue (`ringlink::__list`): segment hand-over and
//! recycling, the upgrade to many producers, two producers crossing a segment boundary,
//! and the drop of either side.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_list`.
//!
//! Under loom a segment holds 2 values (a lap is 3 positions: 2 slots and the sentinel),
//! so a handful of values crosses segments and reuses the spare. Each value carries a
//! loom `UnsafeCell` written by its pusher and read by whoever pops it: a read not
//! ordered after the write (or a write into a slot whose old value is still being
//! read) is a loom causality error, and the models also assert the values and their
//! order. `.ci/mutants` checks that each `Acquire`/`Release` in `src/ring/list.rs` is
//! needed by some model here.
//!
//! Every wait yields (`loom::thread::yield_now`), so that loom runs another thread.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc as StdArc;

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use ringlink::__list::{list, ListConsumer};

mod common;

/// Runs `f` under loom with a preemption bound of 3, unless `LOOM_MAX_PREEMPTIONS` sets
/// one.
fn model(f: impl Fn() + Sync + Send + 'static) {
    common::model(3, f);
}

/// A value whose contents live in a loom cell, written when made (on the pushing
/// thread) and read when checked (on the popping one).
struct Msg {
    cell: UnsafeCell<usize>,
    /// Counts the drops of every `Msg` of one model run, when set.
    drops: Option<StdArc<StdAtomicUsize>>,
}

impl Msg {
    fn new(value: usize) -> Box<Msg> {
        Box::new(Msg {
            cell: UnsafeCell::new(value),
            drops: None,
        })
    }

    fn counted(value: usize, drops: &StdArc<StdAtomicUsize>) -> Box<Msg> {
        Box::new(Msg {
            cell: UnsafeCell::new(value),
            drops: Some(drops.clone()),
        })
    }

    fn get(&self) -> usize {
        // SAFETY: only read after the value was popped (or never shared); loom checks
        // that the write when it was made happens before.
        self.cell.with(|p| unsafe { *p })
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // Reads the cell too: a drop on a thread the value was not published to is a
        // causality error.
        let _ = self.get();
        if let Some(drops) = &self.drops {
            drops.fetch_add(1, StdOrdering::Relaxed);
        }
    }
}

/// Pops one value, yielding while none is ready.
fn pop_wait<T>(consumer: &mut ListConsumer<T>) -> T {
    loop {
        if let Some(value) = consumer.pop() {
            return value;
        }
        thread::yield_now();
    }
}

/// One producer, more values than two segments hold: the consumer follows the links,
/// recycles the first segment, and the producer takes it back as the spare and writes
/// the fifth value into it. Needs the stamps' `Release`/`Acquire` (values, links) and
/// the spare's `Release`/`Acquire` (the old value read before the new one is written).
#[test]
fn segments_are_handed_over_and_recycled() {
    model(|| {
        let (mut producer, mut consumer) = list();
        let pusher = thread::spawn(move || {
            for i in 0..5 {
                producer.push(Msg::new(i));
            }
        });
        for i in 0..5 {
            assert_eq!(pop_wait(&mut consumer).get(), i);
        }
        pusher.join().unwrap();
        assert!(consumer.pop().is_none());
    });
}

/// The upgrade on the producer's thread while the consumer pops: the values pushed
/// before it come out first, then the shared producer's, across a segment boundary.
#[test]
fn the_upgrade_races_with_pops() {
    model(|| {
        let (mut producer, mut consumer) = list();
        let pusher = thread::spawn(move || {
            producer.push(Msg::new(0));
            let shared = producer.into_shared();
            shared.push(Msg::new(1));
            shared.push(Msg::new(2));
        });
        for i in 0..3 {
            assert_eq!(pop_wait(&mut consumer).get(), i);
        }
        pusher.join().unwrap();
        assert!(consumer.is_abandoned());
        assert!(consumer.pop().is_none());
    });
}

/// Two shared producers after one value: one claims the segment's last slot and
/// installs the next segment while the other waits on the sentinel (or comes after),
/// and the consumer pops meanwhile. The value pushed before the upgrade comes first; the
/// other two in either order. Needs the index's `Release`/`Acquire` (the waiter finds
/// the new segment) and the stamps'.
#[test]
fn two_shared_producers_cross_a_segment_boundary() {
    model(|| {
        let (mut producer, mut consumer) = list();
        producer.push(Msg::new(0));
        let shared = Arc::new(producer.into_shared());
        let pushers: Vec<_> = (1..3)
            .map(|i| {
                let shared = shared.clone();
                thread::spawn(move || shared.push(Msg::new(i)))
            })
            .collect();
        drop(shared);
        // Pops while they push, without waiting (a spinning consumer beside a waiting
        // producer makes too many interleavings), then the rest after the joins.
        let mut got = Vec::new();
        for _ in 0..2 {
            got.extend(consumer.pop().map(|value| value.get()));
        }
        for pusher in pushers {
            pusher.join().unwrap();
        }
        assert!(consumer.is_abandoned());
        got.extend(core::iter::from_fn(|| consumer.pop()).map(|value| value.get()));
        assert_eq!(got.len(), 3, "every value, once: {got:?}");
        assert_eq!(got[0], 0, "the value from before the upgrade first");
        assert_eq!(got[1] + got[2], 3);
    });
}

/// Two shared producers push two values each from the start of a segment, so that the
/// one which claims the last slot may find the index moved (its CAS fails, the segment
/// it took goes back as the spare) and the other may start after the sentinel went
/// down. Per-producer order holds.
#[test]
fn two_shared_producers_race_for_a_lap() {
    model(|| {
        let (producer, mut consumer) = list();
        let shared = Arc::new(producer.into_shared());
        let pushers: Vec<_> = (0..2)
            .map(|p| {
                let shared = shared.clone();
                thread::spawn(move || {
                    shared.push(Msg::new(p * 10));
                    shared.push(Msg::new(p * 10 + 1));
                })
            })
            .collect();
        drop(shared);
        // As above: pops without waiting while they push, the rest after the joins.
        let mut got = Vec::new();
        got.extend(consumer.pop().map(|value| value.get()));
        for pusher in pushers {
            pusher.join().unwrap();
        }
        got.extend(core::iter::from_fn(|| consumer.pop()).map(|value| value.get()));
        assert_eq!(got.len(), 4, "every value, once: {got:?}");
        let mut next = [0, 10];
        for v in got {
            let p = v / 10;
            assert_eq!(v, next[p], "per-producer order");
            next[p] += 1;
        }
    });
}

/// The producer pushes across a segment boundary and goes; once the consumer sees it
/// gone, every value is there to pop (the flag's `Release`/`Acquire`).
#[test]
fn the_producers_drop_publishes_every_push() {
    model(|| {
        let (mut producer, mut consumer) = list();
        let pusher = thread::spawn(move || {
            for i in 0..3 {
                producer.push(Msg::new(i));
            }
        });
        while !consumer.is_abandoned() {
            thread::yield_now();
        }
        for i in 0..3 {
            assert_eq!(consumer.pop().expect("pushed before the drop").get(), i);
        }
        assert!(consumer.pop().is_none());
        pusher.join().unwrap();
    });
}

/// The same with shared producers: the flag is set when the last owner drops it.
#[test]
fn the_shared_producers_drop_publishes_every_push() {
    model(|| {
        let (producer, mut consumer) = list();
        let shared = Arc::new(producer.into_shared());
        let other = shared.clone();
        let pusher = thread::spawn(move || {
            other.push(Msg::new(1));
        });
        shared.push(Msg::new(0));
        drop(shared);
        while !consumer.is_abandoned() {
            thread::yield_now();
        }
        let a = consumer.pop().expect("pushed before the drop").get();
        let b = consumer.pop().expect("pushed before the drop").get();
        assert_eq!(a + b, 1);
        assert!(consumer.pop().is_none());
        pusher.join().unwrap();
    });
}

/// The consumer pops, records what it got, and goes. A producer that sees it gone
/// sees that record (the consumer's flag's `Release`, `is_abandoned`'s `Acquire`), for
/// the one producer and the shared one.
#[test]
fn the_consumers_drop_publishes_what_it_did_before() {
    for shared in [false, true] {
        model(move || {
            let (mut producer, mut consumer) = list();
            producer.push(Msg::new(7));
            let popped = Arc::new(AtomicUsize::new(0));
            let popper = {
                let popped = popped.clone();
                thread::spawn(move || {
                    let value = consumer.pop().unwrap();
                    popped.store(value.get(), Ordering::Relaxed);
                    drop(consumer);
                })
            };
            if shared {
                let producer = producer.into_shared();
                while !producer.is_abandoned() {
                    thread::yield_now();
                }
            } else {
                while !producer.is_abandoned() {
                    thread::yield_now();
                }
            }
            assert_eq!(popped.load(Ordering::Relaxed), 7, "the consumer's last act");
            popper.join().unwrap();
        });
    }
}

/// Either half goes while the other works: the consumer pops a little and goes while
/// the producer pushes across segments and goes. Every value is dropped exactly once,
/// on a thread it was published to.
#[test]
fn either_half_dropped_while_the_other_works() {
    for pops in 0..2 {
        model(move || {
            let drops = StdArc::new(StdAtomicUsize::new(0));
            let (mut producer, mut consumer) = list();
            let pusher = {
                let drops = drops.clone();
                thread::spawn(move || {
                    for i in 0..4 {
                        producer.push(Msg::counted(i, &drops));
                    }
                })
            };
            for _ in 0..pops {
                if let Some(value) = consumer.pop() {
                    assert_eq!(value.get(), 0);
                }
            }
            drop(consumer);
            pusher.join().unwrap();
            assert_eq!(
                drops.load(StdOrdering::Relaxed),
                4,
                "each value dropped once"
            );
        });
    }
}
