#![cfg(not(loom))]
//! Drop accounting: every value pushed into a ring is dropped exactly once, by whoever
//! ends up owning it, whichever half goes first and whatever the threads race to do.
//!
//! Each value carries an id; a per-test [`Ledger`] records, per id, whether the value is
//! alive or dropped, so a double drop or a leak shows up by name, not only as a count.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use ringlink::ring::{PopError, PushError, RingBuffer};

/// Iterations of the racing-drop tests; Miri interprets every step, so it gets few.
const RACES: usize = if cfg!(miri) { 30 } else { 2_000 };

/// Values in the longer streams.
const STREAM: usize = if cfg!(miri) { 300 } else { 100_000 };

const UNBORN: u8 = 0;
const ALIVE: u8 = 1;
const DROPPED: u8 = 2;

/// The fate of every value a test makes.
struct Ledger {
    states: Vec<AtomicU8>,
    live: AtomicUsize,
    /// Drops of a value that was not alive: double drops (or drops of a value that was
    /// never made, i.e. of uninitialised memory).
    bad_drops: AtomicUsize,
}

impl Ledger {
    fn new(ids: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            states: (0..ids).map(|_| AtomicU8::new(UNBORN)).collect(),
            live: AtomicUsize::new(0),
            bad_drops: AtomicUsize::new(0),
        })
    }

    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    fn is_alive(&self, id: usize) -> bool {
        self.states[id].load(Ordering::SeqCst) == ALIVE
    }

    fn is_dropped(&self, id: usize) -> bool {
        self.states[id].load(Ordering::SeqCst) == DROPPED
    }

    /// Everything made was dropped exactly once.
    #[track_caller]
    fn assert_settled(&self) {
        assert_eq!(
            self.bad_drops.load(Ordering::SeqCst),
            0,
            "a value was dropped twice"
        );
        assert_eq!(self.live(), 0, "values leaked");
        for (id, state) in self.states.iter().enumerate() {
            let state = state.load(Ordering::SeqCst);
            assert!(state != ALIVE, "value {id} was never dropped");
        }
    }
}

/// A value that reports its birth and its drop to a ledger.
struct Tracked {
    id: usize,
    ledger: Arc<Ledger>,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(ledger: &Arc<Ledger>, id: usize) -> Tracked {
        let before = ledger.states[id].swap(ALIVE, Ordering::SeqCst);
        assert_eq!(before, UNBORN, "test bug: id {id} made twice");
        ledger.live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            ledger: ledger.clone(),
            panic_on_drop: false,
        }
    }

    fn panicking(ledger: &Arc<Ledger>, id: usize) -> Tracked {
        let mut value = Tracked::new(ledger, id);
        value.panic_on_drop = true;
        value
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.ledger.states[self.id].swap(DROPPED, Ordering::SeqCst) == ALIVE {
            self.ledger.live.fetch_sub(1, Ordering::SeqCst);
        } else {
            self.ledger.bad_drops.fetch_add(1, Ordering::SeqCst);
        }
        if self.panic_on_drop && !thread::panicking() {
            panic!("Tracked {} panics in drop", self.id);
        }
    }
}

#[test]
fn normal_use_drops_everything_once() {
    let ledger = Ledger::new(64);
    let (mut producer, mut consumer) = RingBuffer::new(3);
    let mut ids = 0..64;
    let mut next_out = 0;
    while next_out < 64 {
        // Pushes, refused pushes (the value comes back and is dropped here), batches.
        if let Some(id) = ids.next() {
            if let Err(PushError::Full(value)) = producer.push(Tracked::new(&ledger, id)) {
                assert_eq!(value.id, id);
                drop(value);
                assert!(ledger.is_dropped(id));
                next_out += 1; // That id will not come out of the ring.
            }
        }
        producer.push_iter(ids.by_ref().take(2).map(|id| Tracked::new(&ledger, id)));
        if let Some(value) = consumer.peek() {
            assert!(ledger.is_alive(value.id));
        }
        for value in consumer.pop_iter().take(2) {
            assert!(ledger.is_alive(value.id));
            next_out += 1;
        }
        if let Ok(value) = consumer.pop() {
            assert!(ledger.is_alive(value.id));
            next_out += 1;
        }
    }
    assert!(consumer.is_empty());
    drop((producer, consumer));
    ledger.assert_settled();
}

#[test]
fn dropping_the_consumer_drops_queued_values_at_once() {
    let ledger = Ledger::new(8);
    let (mut producer, mut consumer) = RingBuffer::new(5);
    for id in 0..4 {
        producer.push(Tracked::new(&ledger, id)).unwrap();
    }
    drop(consumer.pop().unwrap());
    assert_eq!(ledger.live(), 3);
    drop(consumer);
    // Not when the ring is freed later: now, while the producer still holds it.
    assert_eq!(ledger.live(), 0);
    assert!(producer.is_abandoned());

    // Values pushed after the consumer went are dropped with the producer.
    producer.push(Tracked::new(&ledger, 4)).unwrap();
    assert_eq!(
        producer.push_iter((5..8).map(|id| Tracked::new(&ledger, id))),
        3
    );
    assert_eq!(ledger.live(), 4);
    drop(producer);
    ledger.assert_settled();
}

#[test]
fn dropping_the_producer_leaves_values_to_the_consumer() {
    let ledger = Ledger::new(5);
    let (mut producer, mut consumer) = RingBuffer::new(5);
    producer.push_iter((0..5).map(|id| Tracked::new(&ledger, id)));
    drop(producer);
    assert_eq!(ledger.live(), 5, "values were dropped with the producer");
    assert!(consumer.is_abandoned());
    assert_eq!(consumer.pop().unwrap().id, 0);
    assert_eq!(consumer.peek().map(|v| v.id), Some(1));
    assert_eq!(ledger.live(), 4);
    drop(consumer);
    ledger.assert_settled();
}

#[test]
fn each_half_dropped_first_with_values_queued_across_a_wrap_around() {
    for consumer_first in [false, true] {
        let ledger = Ledger::new(10);
        let (mut producer, mut consumer) = RingBuffer::new(3);
        // Move the positions past the end of the storage first.
        for id in 0..5 {
            producer.push(Tracked::new(&ledger, id)).unwrap();
            drop(consumer.pop().unwrap());
        }
        producer.push_iter((5..8).map(|id| Tracked::new(&ledger, id)));
        assert_eq!(ledger.live(), 3);
        if consumer_first {
            drop(consumer);
            assert_eq!(ledger.live(), 0);
            drop(producer);
        } else {
            drop(producer);
            assert_eq!(ledger.live(), 3);
            drop(consumer);
        }
        ledger.assert_settled();
    }
}

#[test]
fn a_forgotten_pop_iter_causes_no_double_drop() {
    // Everything it yielded is the caller's; the consumer's drop must not drop it again,
    // even though the shared position was never published.
    let ledger = Ledger::new(4);
    let (mut producer, mut consumer) = RingBuffer::new(4);
    producer.push_iter((0..2).map(|id| Tracked::new(&ledger, id)));
    let mut batch = consumer.pop_iter();
    drop(batch.next());
    drop(batch.next());
    std::mem::forget(batch);
    assert_eq!(ledger.live(), 0);
    drop(consumer);
    drop(producer);
    ledger.assert_settled();

    // The same, with values still queued behind the forgotten batch, producer first.
    let ledger = Ledger::new(4);
    let (mut producer, mut consumer) = RingBuffer::new(4);
    producer.push_iter((0..4).map(|id| Tracked::new(&ledger, id)));
    let mut batch = consumer.pop_iter();
    drop(batch.next());
    std::mem::forget(batch);
    drop(producer);
    assert_eq!(ledger.live(), 3);
    drop(consumer);
    ledger.assert_settled();
}

#[test]
fn a_partly_consumed_pop_iter_leaves_the_rest_to_be_dropped_once() {
    let ledger = Ledger::new(6);
    let (mut producer, mut consumer) = RingBuffer::new(6);
    producer.push_iter((0..6).map(|id| Tracked::new(&ledger, id)));
    let firsts: Vec<Tracked> = consumer.pop_iter().take(2).collect();
    assert_eq!(ledger.live(), 6);
    drop(firsts);
    assert_eq!(ledger.live(), 4);
    drop(producer);
    drop(consumer);
    ledger.assert_settled();
}

#[test]
fn a_panicking_iterator_in_push_iter_drops_nothing_twice() {
    let ledger = Ledger::new(4);
    let (mut producer, consumer) = RingBuffer::new(8);
    let result = catch_unwind(AssertUnwindSafe(|| {
        producer.push_iter((0..4).map(|id| {
            if id == 3 {
                panic!("the iterator fails");
            }
            Tracked::new(&ledger, id)
        }))
    }));
    assert!(result.is_err());
    assert_eq!(consumer.slots(), 3);
    assert_eq!(ledger.live(), 3);
    drop(consumer);
    assert_eq!(ledger.live(), 0);
    drop(producer);
    ledger.assert_settled();
}

#[test]
fn a_panicking_drop_while_the_consumer_drains_drops_nothing_twice() {
    let ledger = Ledger::new(4);
    let (mut producer, consumer) = RingBuffer::new(4);
    producer.push(Tracked::new(&ledger, 0)).unwrap();
    producer.push(Tracked::panicking(&ledger, 1)).unwrap();
    producer.push(Tracked::new(&ledger, 2)).unwrap();
    producer.push(Tracked::new(&ledger, 3)).unwrap();
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    assert!(ledger.is_dropped(0));
    assert!(ledger.is_dropped(1));
    // What the consumer did not get to is still owned by the ring and goes with it.
    drop(producer);
    ledger.assert_settled();
}

#[test]
fn a_panicking_drop_when_the_ring_is_freed_drops_the_rest_once() {
    let ledger = Ledger::new(6);
    let (mut producer, mut consumer) = RingBuffer::new(3);
    // Start the queue near the end of the storage, so that it wraps around.
    for id in 0..3 {
        producer.push(Tracked::new(&ledger, id)).unwrap();
        drop(consumer.pop().unwrap());
    }
    drop(consumer);
    producer.push(Tracked::new(&ledger, 3)).unwrap();
    producer.push(Tracked::panicking(&ledger, 4)).unwrap();
    producer.push(Tracked::new(&ledger, 5)).unwrap();
    // The producer is the last half: freeing the ring drops 3, 4 (which panics), and
    // still 5, as `Vec` would, rather than leaking it.
    let result = catch_unwind(AssertUnwindSafe(move || drop(producer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    ledger.assert_settled();
}

#[test]
fn boxed_values_cross_threads_and_are_dropped_once() {
    let ledger = Ledger::new(STREAM);
    let (mut producer, mut consumer) = RingBuffer::<Box<Tracked>>::new(5);
    let sender = {
        let ledger = ledger.clone();
        thread::spawn(move || {
            for id in 0..STREAM {
                let mut value = Box::new(Tracked::new(&ledger, id));
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
    ledger.assert_settled();
}

#[test]
fn halves_dropped_on_two_racing_threads_drop_everything_once() {
    for round in 0..RACES {
        let ids = 16;
        let ledger = Ledger::new(ids);
        let (mut producer, mut consumer) = RingBuffer::new(3);
        let start = Arc::new(Barrier::new(2));
        // Vary the starting state: positions at different offsets, 0 to 3 values queued.
        let skew = round % 4;
        for id in 0..skew {
            producer.push(Tracked::new(&ledger, id)).unwrap();
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
                    let _ = producer.push(Tracked::new(&ledger, id));
                }
                let from = skew + round % 5;
                producer.push_iter((from..from + round % 3).map(|id| Tracked::new(&ledger, id)));
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
        ledger.assert_settled();
    }
}

#[test]
fn halves_dropped_at_once_from_two_threads_with_a_full_ring() {
    for _ in 0..RACES {
        let ledger = Ledger::new(4);
        let (mut producer, consumer) = RingBuffer::new(4);
        producer.push_iter((0..4).map(|id| Tracked::new(&ledger, id)));
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
        ledger.assert_settled();
    }
}
