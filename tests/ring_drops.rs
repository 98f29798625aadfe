#![cfg(not(loom))]
//! Drop accounting: every value pushed into a ring is dropped exactly once, by whoever
//! ends up owning it, whichever half goes first and whatever the threads race to do.
//!
//! Each value carries an id; a per-test [`Ledger`] (tests/common) records, per id,
//! whether the value was dropped, so a double drop shows up as well as a leak.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use common::{Ledger, Tracked};
use ringlink::ring::{PopError, PushError, RingBuffer};

/// Iterations of the racing-drop tests; Miri interprets every step, so it gets few.
const RACES: usize = if cfg!(miri) { 30 } else { 2_000 };

/// Values in the longer streams.
const STREAM: usize = if cfg!(miri) { 300 } else { 100_000 };

#[test]
fn normal_use_drops_everything_once() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(3);
    let mut ids = 0..64;
    let mut next_out = 0;
    while next_out < 64 {
        // Pushes, refused pushes (the value comes back and is dropped here), batches.
        if let Some(id) = ids.next() {
            if let Err(PushError::Full(value)) = producer.push(ledger.make(id)) {
                assert_eq!(value.id, id);
                drop(value);
                assert!(ledger.is_dropped(id));
                next_out += 1; // That id will not come out of the ring.
            }
        }
        producer.push_iter(ids.by_ref().take(2).map(|id| ledger.make(id)));
        if let Some(value) = consumer.peek() {
            assert!(!ledger.is_dropped(value.id));
        }
        for value in consumer.pop_iter().take(2) {
            assert!(!ledger.is_dropped(value.id));
            next_out += 1;
        }
        if let Ok(value) = consumer.pop() {
            assert!(!ledger.is_dropped(value.id));
            next_out += 1;
        }
    }
    assert!(consumer.is_empty());
    drop((producer, consumer));
    ledger.assert_balanced("normal_use_drops_everything_once");
}

#[test]
fn dropping_the_consumer_drops_queued_values_at_once() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(5);
    for id in 0..4 {
        producer.push(ledger.make(id)).unwrap();
    }
    drop(consumer.pop().unwrap());
    assert_eq!(ledger.alive(), 3);
    drop(consumer);
    // Not when the ring is freed later: now, while the producer still holds it.
    assert_eq!(ledger.alive(), 0);
    assert!(producer.is_abandoned());

    // Values pushed after the consumer went are dropped with the producer.
    producer.push(ledger.make(4)).unwrap();
    assert_eq!(producer.push_iter((5..8).map(|id| ledger.make(id))), 3);
    assert_eq!(ledger.alive(), 4);
    drop(producer);
    ledger.assert_balanced("dropping_the_consumer_drops_queued_values_at_once");
}

#[test]
fn dropping_the_producer_leaves_values_to_the_consumer() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(5);
    producer.push_iter((0..5).map(|id| ledger.make(id)));
    drop(producer);
    assert_eq!(ledger.alive(), 5, "values were dropped with the producer");
    assert!(consumer.is_abandoned());
    assert_eq!(consumer.pop().unwrap().id, 0);
    assert_eq!(consumer.peek().map(|v| v.id), Some(1));
    assert_eq!(ledger.alive(), 4);
    drop(consumer);
    ledger.assert_balanced("dropping_the_producer_leaves_values_to_the_consumer");
}

#[test]
fn each_half_dropped_first_with_values_queued_across_a_wrap_around() {
    for consumer_first in [false, true] {
        let ledger = Ledger::new();
        let (mut producer, mut consumer) = RingBuffer::new(3);
        // Move the positions past the end of the storage first.
        for id in 0..5 {
            producer.push(ledger.make(id)).unwrap();
            drop(consumer.pop().unwrap());
        }
        producer.push_iter((5..8).map(|id| ledger.make(id)));
        assert_eq!(ledger.alive(), 3);
        if consumer_first {
            drop(consumer);
            assert_eq!(ledger.alive(), 0);
            drop(producer);
        } else {
            drop(producer);
            assert_eq!(ledger.alive(), 3);
            drop(consumer);
        }
        ledger.assert_balanced("each_half_dropped_first_with_values_queued_across_a_wrap_around");
    }
}

#[test]
fn a_forgotten_pop_iter_causes_no_double_drop() {
    // Everything it yielded is the caller's; the consumer's drop must not drop it again,
    // even though the shared position was never published.
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(4);
    producer.push_iter((0..2).map(|id| ledger.make(id)));
    let mut batch = consumer.pop_iter();
    drop(batch.next());
    drop(batch.next());
    std::mem::forget(batch);
    assert_eq!(ledger.alive(), 0);
    drop(consumer);
    drop(producer);
    ledger.assert_balanced("a_forgotten_pop_iter_causes_no_double_drop");

    // The same, with values still queued behind the forgotten batch, producer first.
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(4);
    producer.push_iter((0..4).map(|id| ledger.make(id)));
    let mut batch = consumer.pop_iter();
    drop(batch.next());
    std::mem::forget(batch);
    drop(producer);
    assert_eq!(ledger.alive(), 3);
    drop(consumer);
    ledger.assert_balanced("a_forgotten_pop_iter_causes_no_double_drop");
}

#[test]
fn a_partly_consumed_pop_iter_leaves_the_rest_to_be_dropped_once() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(6);
    producer.push_iter((0..6).map(|id| ledger.make(id)));
    let firsts: Vec<Tracked> = consumer.pop_iter().take(2).collect();
    assert_eq!(ledger.alive(), 6);
    drop(firsts);
    assert_eq!(ledger.alive(), 4);
    drop(producer);
    drop(consumer);
    ledger.assert_balanced("a_partly_consumed_pop_iter_leaves_the_rest_to_be_dropped_once");
}

#[test]
fn a_panicking_iterator_in_push_iter_drops_nothing_twice() {
    let ledger = Ledger::new();
    let (mut producer, consumer) = RingBuffer::new(8);
    let result = catch_unwind(AssertUnwindSafe(|| {
        producer.push_iter((0..4).map(|id| {
            if id == 3 {
                panic!("the iterator fails");
            }
            ledger.make(id)
        }))
    }));
    assert!(result.is_err());
    assert_eq!(consumer.slots(), 3);
    assert_eq!(ledger.alive(), 3);
    drop(consumer);
    assert_eq!(ledger.alive(), 0);
    drop(producer);
    ledger.assert_balanced("a_panicking_iterator_in_push_iter_drops_nothing_twice");
}

#[test]
fn a_panicking_drop_while_the_consumer_drains_drops_nothing_twice() {
    let ledger = Ledger::new();
    let (mut producer, consumer) = RingBuffer::new(4);
    producer.push(ledger.make(0)).unwrap();
    producer.push(ledger.make_panicking(1)).unwrap();
    producer.push(ledger.make(2)).unwrap();
    producer.push(ledger.make(3)).unwrap();
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    // As `Vec` does: the values after the one that panicked are dropped all the same,
    // by the consumer's drop, not left for the producer.
    for id in 0..4 {
        assert!(ledger.is_dropped(id), "value {id}");
    }
    assert_eq!(ledger.alive(), 0);
    drop(producer);
    ledger.assert_balanced("a_panicking_drop_while_the_consumer_drains_drops_nothing_twice");
}

#[test]
fn a_panicking_drop_when_the_ring_is_freed_drops_the_rest_once() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(3);
    // Start the queue near the end of the storage, so that it wraps around.
    for id in 0..3 {
        producer.push(ledger.make(id)).unwrap();
        drop(consumer.pop().unwrap());
    }
    drop(consumer);
    producer.push(ledger.make(3)).unwrap();
    producer.push(ledger.make_panicking(4)).unwrap();
    producer.push(ledger.make(5)).unwrap();
    // The producer is the last half: freeing the ring drops 3, 4 (which panics), and
    // still 5, as `Vec` would, rather than leaking it.
    let result = catch_unwind(AssertUnwindSafe(move || drop(producer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    ledger.assert_balanced("a_panicking_drop_when_the_ring_is_freed_drops_the_rest_once");
}

#[test]
fn boxed_values_cross_threads_and_are_dropped_once() {
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::<Box<Tracked>>::new(5);
    let sender = {
        let ledger = ledger.clone();
        thread::spawn(move || {
            for id in 0..STREAM {
                let mut value = Box::new(ledger.make(id));
                while let Err(PushError::Full(v)) = producer.push(value) {
                    if producer.is_abandoned() {
                        // The consumer is gone and the ring stays full: stop here.
                        drop(v);
                        return;
                    }
                    value = v;
                    thread::yield_now();
                }
            }
        })
    };
    // Take about half, then drop the consumer with values still queued and the producer
    // possibly still pushing.
    let mut expected = 0;
    while expected < STREAM / 2 {
        match consumer.pop() {
            Ok(value) => {
                assert_eq!(value.id, expected);
                expected += 1;
            }
            Err(PopError::Empty) => thread::yield_now(),
        }
    }
    drop(consumer);
    sender.join().unwrap();
    ledger.assert_balanced("boxed_values_cross_threads_and_are_dropped_once");
}

#[test]
fn halves_dropped_on_two_racing_threads_drop_everything_once() {
    for round in 0..RACES {
        let ledger = Ledger::new();
        let (mut producer, mut consumer) = RingBuffer::new(3);
        let start = Arc::new(Barrier::new(2));
        // Vary the starting state: positions at different offsets, 0 to 3 values queued.
        let skew = round % 4;
        for id in 0..skew {
            producer.push(ledger.make(id)).unwrap();
        }
        if round % 3 == 0 && skew > 0 {
            drop(consumer.pop().unwrap());
        }
        let pusher = {
            let (ledger, start) = (ledger.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                // Push what fits; refused values come back and are dropped here.
                for id in skew..skew + round % 5 {
                    let _ = producer.push(ledger.make(id));
                }
                let from = skew + round % 5;
                producer.push_iter((from..from + round % 3).map(|id| ledger.make(id)));
                drop(producer);
            })
        };
        let popper = {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for _ in 0..round % 3 {
                    drop(consumer.pop());
                }
                if round % 2 == 0 {
                    consumer.pop_iter().take(1).for_each(drop);
                }
                drop(consumer);
            })
        };
        pusher.join().unwrap();
        popper.join().unwrap();
        ledger.assert_balanced("halves_dropped_on_two_racing_threads_drop_everything_once");
    }
}

#[test]
fn halves_dropped_at_once_from_two_threads_with_a_full_ring() {
    for _ in 0..RACES {
        let ledger = Ledger::new();
        let (mut producer, consumer) = RingBuffer::new(4);
        producer.push_iter((0..4).map(|id| ledger.make(id)));
        let start = Arc::new(Barrier::new(2));
        let a = {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                drop(producer);
            })
        };
        let b = thread::spawn(move || {
            start.wait();
            drop(consumer);
        });
        a.join().unwrap();
        b.join().unwrap();
        ledger.assert_balanced("halves_dropped_at_once_from_two_threads_with_a_full_ring");
    }
}

/// What the values dropped by a consumer's drop wait for: the producer's next tries.
#[derive(Default)]
struct Gate {
    /// Set while the consumer is being dropped: values dropped then wait.
    draining: AtomicBool,
    /// The producer's push attempts so far, successful or not.
    attempts: AtomicUsize,
    /// Set when the producer stops: nothing waits for it any more.
    producer_done: AtomicBool,
}

/// A value that, when dropped while the consumer is being dropped, waits until the
/// producer has finished one more push attempt: a consumer's drop that handed slots back
/// one at a time would see each refilled before it looked again, and so never end.
struct Slow {
    _value: Tracked,
    gate: Arc<Gate>,
}

impl Drop for Slow {
    fn drop(&mut self) {
        let gate = &self.gate;
        if gate.draining.load(Ordering::SeqCst) {
            // An attempt that began after this point has ended once the count moves by 2.
            let seen = gate.attempts.load(Ordering::SeqCst);
            while gate.attempts.load(Ordering::SeqCst) < seen + 2
                && !gate.producer_done.load(Ordering::SeqCst)
            {
                thread::yield_now();
            }
        }
    }
}

/// The consumer's drop takes at most the values queued when it began, however fast the
/// producer refills the ring meanwhile; those pushed later go, each once, with the
/// producer. (The test bounds the producer so that a drop that chases it fails the
/// count rather than hanging.)
#[test]
fn dropping_the_consumer_drains_only_what_was_queued_while_the_producer_pushes_on() {
    const CAPACITY: usize = 4;
    let limit = if cfg!(miri) { 40 } else { 2_000 };
    let ledger = Ledger::new();
    let gate = Arc::new(Gate::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (mut producer, mut consumer) = RingBuffer::new(CAPACITY);
    let pusher = {
        let (ledger, gate, stop) = (ledger.clone(), gate.clone(), stop.clone());
        thread::spawn(move || {
            // Pushes "forever": until told to stop, or `limit` values.
            let mut pushed_after_abandon = 0;
            'values: for id in 0..limit {
                let mut value = Slow {
                    _value: ledger.make(id),
                    gate: gate.clone(),
                };
                loop {
                    let abandoned = producer.is_abandoned();
                    let result = producer.push(value);
                    gate.attempts.fetch_add(1, Ordering::SeqCst);
                    match result {
                        Ok(()) => {
                            pushed_after_abandon += usize::from(abandoned);
                            break;
                        }
                        Err(PushError::Full(back)) => {
                            if stop.load(Ordering::SeqCst) {
                                gate.producer_done.store(true, Ordering::SeqCst);
                                drop(back);
                                break 'values;
                            }
                            value = back;
                            thread::yield_now();
                        }
                    }
                }
            }
            gate.producer_done.store(true, Ordering::SeqCst);
            (producer, pushed_after_abandon)
        })
    };
    // Take two values, in order, then wait for the ring to fill up again.
    for expected in 0..2 {
        loop {
            match consumer.pop() {
                Ok(value) => {
                    assert_eq!(value._value.id, expected);
                    break;
                }
                Err(PopError::Empty) => thread::yield_now(),
            }
        }
    }
    while consumer.slots() < CAPACITY {
        thread::yield_now();
    }

    let before = ledger.dropped();
    gate.draining.store(true, Ordering::SeqCst);
    drop(consumer);
    let by_the_drop = ledger.dropped() - before;
    gate.draining.store(false, Ordering::SeqCst);
    // Values never pass each other, so the ones dropped are the next ones in order.
    assert!(
        (1..=CAPACITY).contains(&by_the_drop),
        "the consumer's drop dropped {by_the_drop} values from a ring of {CAPACITY}"
    );
    for id in 2..2 + by_the_drop {
        assert!(ledger.is_dropped(id), "value {id}");
    }

    stop.store(true, Ordering::SeqCst);
    let (producer, pushed_after_abandon) = pusher.join().unwrap();
    // The producer did push after the consumer was gone: those values are the ring's.
    assert!(pushed_after_abandon > 0);
    assert!(ledger.alive() > 0);
    drop(producer);
    ledger.assert_balanced("dropping_the_consumer_drains_only_what_was_queued");
}
