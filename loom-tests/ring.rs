#![cfg(loom)]
//! loom models of the SPSC ring: small runs of the real ring code, explored in every
//! interleaving (up to a preemption bound) and with the stale values the C++11 memory
//! model lets each atomic load return (within loom's limits).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_ring`.
//!
//! The models catch a weakened ordering in two ways: loom's `UnsafeCell` panics when a
//! slot is written while a read of it (or read while a write of it) is not ordered
//! before, and the models assert the values and their order, which a stale index breaks.
//! `.ci/mutants` checks that each `Acquire`/`Release` in `src/ring/` is needed by
//! some model here.
//!
//! Each spin loop yields (`loom::thread::yield_now`): loom then runs the other thread
//! instead of exploring a thread that spins forever.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc as StdArc;

use loom::thread;
use ringlink::ring::{Consumer, PopError, Producer, PushError, RingBuffer};

mod common;

/// Runs `f` under loom with a preemption bound of 5, unless `LOOM_MAX_PREEMPTIONS` sets
/// one.
///
/// With 5, every model takes seconds and `.ci/mutants` finds each guarding
/// ordering needed; a search with a bound of 20 did not finish in ten minutes.
fn model(f: impl Fn() + Sync + Send + 'static) {
    common::model(5, f);
}

/// Pushes `value`, yielding to the other thread while the ring is full.
fn push_until_done<T>(producer: &mut Producer<T>, mut value: T) {
    loop {
        match producer.push(value) {
            Ok(()) => return,
            Err(PushError::Full(v)) => {
                value = v;
                thread::yield_now();
            }
        }
    }
}

/// Pops one value, yielding to the other thread while the ring is empty.
fn pop_until_done<T>(consumer: &mut Consumer<T>) -> T {
    loop {
        match consumer.pop() {
            Ok(value) => return value,
            Err(PopError::Empty) => thread::yield_now(),
        }
    }
}

/// A value whose contents are checked on arrival, so that a read of a slot before its
/// write is published shows up as a wrong value as well as a loom causality error.
fn payload(i: usize) -> Box<usize> {
    Box::new(i * 10 + 1)
}

/// One thread pushes `count` payloads into a ring of `capacity` while the other pops
/// them; the values must arrive in order, and nothing more after them.
fn push_and_pop(capacity: usize, count: usize) {
    model(move || {
        let (mut producer, mut consumer) = RingBuffer::new(capacity);
        let pusher = thread::spawn(move || {
            for i in 0..count {
                push_until_done(&mut producer, payload(i));
            }
        });
        for i in 0..count {
            assert_eq!(*pop_until_done(&mut consumer), i * 10 + 1);
        }
        pusher.join().unwrap();
        assert_eq!(consumer.pop(), Err(PopError::Empty));
    });
}

/// More values than slots: the producer writes each slot a second time, which needs the
/// consumer's `Release` of `head` and the producer's `Acquire` of it; the consumer's
/// reads need the producer's `Release` of `tail` and the consumer's `Acquire` of it.
#[test]
fn push_and_pop_across_wrap_around() {
    push_and_pop(2, 3);
}

/// Two lines (capacity 3: under loom a line holds two slots) and more values than
/// slots: the positions run through both lines and come back to the first on its next
/// lap, where each slot's mark must read "not yet" until the producer stores it again.
/// Catches a wrong line index (with one line, every position maps to line 0) or a wrong
/// lap (the stale mark of the last lap taken for the new value).
#[test]
fn push_and_pop_across_two_lines() {
    push_and_pop(3, 5);
}

/// Capacity 1, the smallest ring. Its storage (one line) is larger than its capacity;
/// `tests/ring.rs` checks that pushes stop at the capacity.
#[test]
fn push_and_pop_through_a_single_slot() {
    push_and_pop(1, 3);
}

/// Batch write and batch read across a wrap-around: `push_iter` reuses slots that a
/// `PopIter` handed back with its one store of `head`, and the `PopIter` reads slots
/// that `push_iter` published with its one store of `tail`.
#[test]
fn batches_across_wrap_around() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            let mut values = (0..4).map(payload);
            let mut sent = 0;
            while sent < 4 {
                let pushed = producer.push_iter(&mut values);
                if pushed == 0 {
                    thread::yield_now();
                }
                sent += pushed;
            }
            assert!(values.next().is_none());
        });
        let mut expected = 0;
        while expected < 4 {
            let mut got_any = false;
            for value in consumer.pop_iter() {
                assert_eq!(*value, expected * 10 + 1);
                expected += 1;
                got_any = true;
            }
            if !got_any {
                thread::yield_now();
            }
        }
        pusher.join().unwrap();
        assert_eq!(consumer.pop(), Err(PopError::Empty));
    });
}

/// A batch write read by single pops, and single pushes read by a batch, each across a
/// wrap-around, so either kind of publication pairs with either kind of read.
#[test]
fn batches_mixed_with_single_operations() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            let mut values = (0..3).map(payload);
            let mut sent = 0;
            while sent < 3 {
                let pushed = producer.push_iter(&mut values);
                if pushed == 0 {
                    thread::yield_now();
                }
                sent += pushed;
            }
        });
        for i in 0..3 {
            assert_eq!(*pop_until_done(&mut consumer), i * 10 + 1);
        }
        pusher.join().unwrap();
    });

    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            for i in 0..3 {
                push_until_done(&mut producer, payload(i));
            }
        });
        let mut expected = 0;
        while expected < 3 {
            let mut batch = consumer.pop_iter();
            match batch.next() {
                // Take one value per batch, so each batch hands back one slot.
                Some(value) => {
                    assert_eq!(*value, expected * 10 + 1);
                    expected += 1;
                }
                None => {
                    drop(batch);
                    thread::yield_now();
                }
            }
        }
        pusher.join().unwrap();
    });
}

/// Single pops, then a count and a batch: whatever tells the consumer that a value is
/// ready for `pop`, `slots` and `pop_iter` must not then see the producer's position
/// behind the consumer's (a count beyond the capacity, or a batch that reads slots that
/// were never published).
#[test]
fn counts_and_batches_after_single_pops() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            for i in 0..3 {
                push_until_done(&mut producer, payload(i));
            }
        });
        assert_eq!(*pop_until_done(&mut consumer), 1);
        let ready = consumer.slots();
        assert!(ready <= 2, "slots() = {ready} after a pop from a ring of 2");
        let mut expected = 1;
        while expected < 3 {
            let batch = consumer.pop_iter();
            let len = batch.len();
            assert!(
                len <= 3 - expected,
                "a batch of {len} with {expected} of 3 popped"
            );
            for value in batch {
                assert_eq!(*value, expected * 10 + 1);
                expected += 1;
            }
            if len == 0 {
                thread::yield_now();
            }
        }
        pusher.join().unwrap();
        assert_eq!(consumer.slots(), 0);
    });
}

/// `peek` reads a slot on the strength of its own `Acquire` load of `tail` (it cannot
/// update the consumer's cached copy), before and after a wrap-around.
#[test]
fn peek_sees_published_values_only() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(1);
        let pusher = thread::spawn(move || {
            for i in 0..2 {
                push_until_done(&mut producer, payload(i));
            }
        });
        for i in 0..2 {
            loop {
                match consumer.peek() {
                    Some(value) => {
                        assert_eq!(**value, i * 10 + 1);
                        break;
                    }
                    None => thread::yield_now(),
                }
            }
            assert_eq!(*consumer.pop().unwrap(), i * 10 + 1);
        }
        pusher.join().unwrap();
    });
}

/// `Consumer::slots` is a lower bound of what `pop` can take: every value it counts is
/// there to pop at once, with no retry. It counts by `tail`, while `pop` looks at the
/// slot's own `seq`; only an `Acquire` load of `tail` makes the `seq` stores before that
/// `tail` visible (weakened to `Relaxed`, `slots()` says 1 and the next `pop` finds the
/// ring empty). Three values through two slots, so that the second use of a slot is
/// counted too.
#[test]
fn slots_is_a_lower_bound_of_what_pop_takes() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            for i in 0..3 {
                push_until_done(&mut producer, payload(i));
            }
        });
        let mut expected = 0;
        while expected < 3 {
            let ready = consumer.slots();
            assert!(
                ready <= 3 - expected,
                "slots() = {ready} with {expected} of 3 popped"
            );
            for _ in 0..ready {
                let value = consumer
                    .pop()
                    .unwrap_or_else(|_| panic!("slots() said {ready}, yet pop found none"));
                assert_eq!(*value, expected * 10 + 1);
                expected += 1;
            }
            if ready == 0 {
                thread::yield_now();
            }
        }
        pusher.join().unwrap();
    });
}

/// The consumer pops, records something, and goes. Once the producer sees
/// `is_abandoned`, it sees all of that: what the consumer's thread did before its drop
/// (a relaxed store here), and the slot it emptied (`slots()` and `push` find it free).
/// This needs the consumer's drop to set the flag with `Release` and `is_abandoned` to
/// load it with `Acquire`.
#[test]
fn consumer_abandonment_publishes_what_it_did_before() {
    model(|| {
        use loom::sync::atomic::{AtomicUsize, Ordering};
        use loom::sync::Arc;

        let (mut producer, mut consumer) = RingBuffer::new(1);
        producer.push(payload(0)).unwrap();
        let popped = Arc::new(AtomicUsize::new(0));
        let popper = {
            let popped = popped.clone();
            thread::spawn(move || {
                let value = consumer.pop().unwrap();
                popped.store(*value, Ordering::Relaxed);
                drop(consumer);
            })
        };
        while !producer.is_abandoned() {
            thread::yield_now();
        }
        assert_eq!(popped.load(Ordering::Relaxed), 1, "the consumer's last act");
        assert_eq!(producer.slots(), 1, "the slot the consumer emptied");
        assert!(producer.push(payload(1)).is_ok());
        popper.join().unwrap();
    });
}

/// Zero-sized values have no slot and no `seq`: `pop` and `peek` go by `tail` alone.
/// A `()` must still publish what the producer did before pushing it, as any value
/// does (here a relaxed store the consumer checks after each pop), across a wrap-around
/// of a one-value ring.
#[test]
fn zero_sized_values_publish_what_came_before_them() {
    model(|| {
        use loom::sync::atomic::{AtomicUsize, Ordering};
        use loom::sync::Arc;

        let (mut producer, mut consumer) = RingBuffer::<()>::new(1);
        let written = Arc::new(AtomicUsize::new(0));
        let pusher = {
            let written = written.clone();
            thread::spawn(move || {
                for i in 1..=2 {
                    written.store(i, Ordering::Relaxed);
                    push_until_done(&mut producer, ());
                }
            })
        };
        for i in 1..=2 {
            while consumer.peek().is_none() {
                thread::yield_now();
            }
            assert!(written.load(Ordering::Relaxed) >= i, "peeked value {i}");
            consumer.pop().expect("peek saw a value");
        }
        pusher.join().unwrap();
        assert_eq!(consumer.pop(), Err(PopError::Empty));
    });
}

/// The producer pushes, then goes. Once the consumer sees `is_abandoned`, every value
/// pushed before must be there to pop, with no retry: `Empty` then means "no more ever".
#[test]
fn abandonment_publishes_prior_pushes() {
    model(|| {
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            producer.push(payload(0)).unwrap();
            producer.push_iter([payload(1)]);
            drop(producer);
        });
        let mut expected = 0;
        loop {
            if consumer.is_abandoned() {
                while expected < 2 {
                    let value = consumer.pop().expect("a value pushed before abandoning");
                    assert_eq!(*value, expected * 10 + 1);
                    expected += 1;
                }
                assert_eq!(consumer.pop(), Err(PopError::Empty));
                break;
            }
            match consumer.pop() {
                Ok(value) => {
                    assert_eq!(*value, expected * 10 + 1);
                    expected += 1;
                }
                Err(PopError::Empty) => thread::yield_now(),
            }
        }
        pusher.join().unwrap();
    });
}

/// The same seen through `slots` and `peek`, which must also count every value pushed
/// before the producer went.
#[test]
fn abandonment_is_seen_by_slots_and_peek() {
    model(|| {
        let (mut producer, consumer) = RingBuffer::new(2);
        let pusher = thread::spawn(move || {
            producer.push(payload(0)).unwrap();
            drop(producer);
        });
        while !consumer.is_abandoned() {
            thread::yield_now();
        }
        assert_eq!(consumer.slots(), 1);
        assert!(!consumer.is_empty());
        assert_eq!(consumer.peek().map(|v| **v), Some(1));
        pusher.join().unwrap();
    });
}

/// A value that counts its drops; `id` lets a double drop of one value be told from a
/// leak of another. The counters are std atomics: they are read only after both threads
/// are joined, so loom need not model them.
struct Counted {
    drops: StdArc<[StdAtomicUsize; 4]>,
    id: usize,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, StdOrdering::Relaxed);
    }
}

fn counters() -> StdArc<[StdAtomicUsize; 4]> {
    StdArc::new([0, 0, 0, 0].map(StdAtomicUsize::new))
}

/// Both halves of a non-empty ring are dropped on two threads, while the producer still
/// pushes and the consumer still pops. Each value made is dropped exactly once: by the
/// consumer that popped it, by the consumer's drop, by a refused push, or with the ring
/// by the last half to go (loom checks that those slot accesses are ordered, through
/// the shared `Arc`).
#[test]
fn dropping_a_non_empty_ring_from_two_threads() {
    model(|| {
        let drops = counters();
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let made = |id| Counted {
            drops: drops.clone(),
            id,
        };
        producer.push(made(0)).unwrap();
        producer.push(made(1)).unwrap();
        let (second, third) = (made(2), made(3));
        let pusher = thread::spawn(move || {
            // Full unless the consumer popped: then it lands behind a wrap-around.
            drop(producer.push(second));
            drop(producer.push(third));
            drop(producer);
        });
        let popper = thread::spawn(move || {
            let value = consumer.pop().unwrap();
            assert_eq!(value.id, 0);
            drop(value);
            drop(consumer);
        });
        pusher.join().unwrap();
        popper.join().unwrap();
        for (id, count) in drops.iter().enumerate() {
            assert_eq!(count.load(StdOrdering::Relaxed), 1, "value {id}");
        }
    });
}

/// Batches in flight while both halves go: the values a `push_iter` published, and the
/// slots a `PopIter` handed back, are still accounted exactly once.
#[test]
fn dropping_halves_after_batches_from_two_threads() {
    model(|| {
        let drops = counters();
        let (mut producer, mut consumer) = RingBuffer::new(2);
        let made = |id| Counted {
            drops: drops.clone(),
            id,
        };
        producer.push(made(0)).unwrap();
        let batch = [made(1), made(2), made(3)];
        let pusher = thread::spawn(move || {
            // What does not fit stays in the iterator and is dropped here.
            let mut batch = batch.into_iter();
            producer.push_iter(&mut batch);
            drop(batch);
            drop(producer);
        });
        let popper = thread::spawn(move || {
            consumer.pop_iter().take(1).for_each(drop);
            drop(consumer);
        });
        pusher.join().unwrap();
        popper.join().unwrap();
        for (id, count) in drops.iter().enumerate() {
            assert_eq!(count.load(StdOrdering::Relaxed), 1, "value {id}");
        }
    });
}
