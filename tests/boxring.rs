#![cfg(not(loom))]
//! The ring of boxes: order, exact capacity, counts, recycling, and drop accounting (every
//! box pushed or recycled is dropped exactly once, whoever ends up owning it).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use ringlink::ring::{BoxConsumer, BoxProducer, BoxRing, PopError, PushError};

/// Values in the streams; Miri interprets every step, so it gets few.
const STREAM: usize = if cfg!(miri) { 400 } else { 200_000 };

/// Iterations of the racing-drop tests.
const RACES: usize = if cfg!(miri) { 20 } else { 1_000 };

const UNBORN: u8 = 0;
const ALIVE: u8 = 1;
const DROPPED: u8 = 2;

/// The fate of every value a test makes, by id.
struct Ledger {
    states: Vec<AtomicU8>,
    live: AtomicUsize,
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

    fn is_dropped(&self, id: usize) -> bool {
        self.states[id].load(Ordering::SeqCst) == DROPPED
    }

    #[track_caller]
    fn assert_settled(&self) {
        assert_eq!(
            self.bad_drops.load(Ordering::SeqCst),
            0,
            "a value dropped twice"
        );
        for (id, state) in self.states.iter().enumerate() {
            assert_ne!(state.load(Ordering::SeqCst), ALIVE, "value {id} leaked");
        }
        assert_eq!(self.live.load(Ordering::SeqCst), 0);
    }
}

/// A value that reports its birth and its drop to a ledger.
struct Tracked {
    id: usize,
    ledger: Arc<Ledger>,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(ledger: &Arc<Ledger>, id: usize) -> Box<Tracked> {
        let before = ledger.states[id].swap(ALIVE, Ordering::SeqCst);
        assert_eq!(before, UNBORN, "test bug: id {id} made twice");
        ledger.live.fetch_add(1, Ordering::SeqCst);
        Box::new(Tracked {
            id,
            ledger: ledger.clone(),
            panic_on_drop: false,
        })
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

/// Pushes, spinning while the ring is full.
fn push<T>(producer: &mut BoxProducer<T>, mut boxed: Box<T>) {
    loop {
        match producer.push(boxed) {
            Ok(()) => return,
            Err(PushError::Full(back)) => {
                boxed = back;
                thread::yield_now();
            }
        }
    }
}

/// Pops, spinning while the ring is empty.
fn pop<T>(consumer: &mut BoxConsumer<T>) -> Box<T> {
    loop {
        match consumer.pop() {
            Ok(boxed) => return boxed,
            Err(PopError::Empty) => thread::yield_now(),
        }
    }
}

/// Capacities around the line size (8 slots on 64-bit targets) and the storage rounding.
const CAPACITIES: [usize; 11] = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 100];

#[test]
fn holds_exactly_its_capacity_and_keeps_order() {
    for capacity in CAPACITIES {
        let (mut producer, mut consumer) = BoxRing::new(capacity);
        assert_eq!(
            (producer.capacity(), consumer.capacity()),
            (capacity, capacity)
        );
        let mut next_in = 0;
        let mut next_out = 0;
        // Several laps: fill, empty half, fill again, empty.
        for _ in 0..5 {
            while producer.push(Box::new(next_in)).is_ok() {
                next_in += 1;
            }
            assert_eq!(next_in - next_out, capacity, "capacity {capacity}");
            assert!(producer.is_full());
            assert_eq!(producer.slots(), 0);
            assert_eq!(consumer.slots(), capacity);
            let refused = producer.push(Box::new(usize::MAX)).unwrap_err();
            assert_eq!(*refused.into_inner(), usize::MAX);
            for _ in 0..capacity / 2 {
                assert_eq!(*consumer.pop().unwrap(), next_out);
                next_out += 1;
            }
            // Every pop frees a slot at once: the capacity is exact, not per line.
            assert_eq!(producer.slots(), capacity / 2);
            for _ in 0..capacity / 2 {
                producer.push(Box::new(next_in)).unwrap();
                next_in += 1;
            }
            assert!(producer.is_full());
            while let Ok(boxed) = consumer.pop() {
                assert_eq!(*boxed, next_out);
                next_out += 1;
            }
            assert_eq!(next_out, next_in);
            assert!(consumer.is_empty());
            assert_eq!(consumer.slots(), 0);
            assert_eq!(producer.slots(), capacity);
        }
    }
}

/// One push, one pop, over many laps, and every pattern of fill level in between,
/// checked against a `VecDeque` model.
#[test]
fn matches_a_queue_model() {
    for capacity in [1, 5, 8, 13, 24] {
        let (mut producer, mut consumer) = BoxRing::new(capacity);
        let mut model = VecDeque::new();
        let mut next = 0u64;
        // A fixed pseudo-random walk: no dependency, reproducible.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..if cfg!(miri) { 600 } else { 20_000 } {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state % 7 < 4 {
                let pushed = producer.push(Box::new(next));
                if model.len() < capacity {
                    assert!(pushed.is_ok());
                    model.push_back(next);
                } else {
                    assert_eq!(*pushed.unwrap_err().into_inner(), next);
                }
                next += 1;
            } else {
                assert_eq!(consumer.peek(), model.front());
                let popped = consumer.pop().ok().map(|b| *b);
                assert_eq!(popped, model.pop_front());
            }
            assert_eq!(consumer.slots(), model.len());
            assert_eq!(producer.slots(), capacity - model.len());
        }
    }
}

#[test]
fn zero_sized_values() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Unit;
    impl Drop for Unit {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (mut producer, mut consumer) = BoxRing::new(9);
    for _ in 0..9 {
        producer.push(Box::new(Unit)).unwrap();
    }
    assert!(producer.push(Box::new(Unit)).is_err());
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        1,
        "the refused box was dropped"
    );
    for _ in 0..4 {
        let unit = consumer.pop().unwrap();
        consumer.recycle(unit);
    }
    assert_eq!(consumer.slots(), 5);
    assert!(producer.take_recycled().is_some());
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    drop((producer, consumer));
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        10,
        "9 + 1 made, none lost or doubled"
    );
    // `()` too, the commonest zero-sized type.
    let (mut producer, mut consumer) = BoxRing::new(2);
    producer.push(Box::new(())).unwrap();
    assert!(consumer.pop().is_ok());
    assert!(consumer.pop().is_err());
}

#[test]
fn unsized_values_go_in_a_second_box() {
    trait Shape: Send {
        fn area(&self) -> u32;
    }
    struct Square(u32);
    impl Shape for Square {
        fn area(&self) -> u32 {
            self.0 * self.0
        }
    }
    let (mut producer, mut consumer) = BoxRing::<Box<dyn Shape>>::new(2);
    producer.push(Box::new(Box::new(Square(3)))).unwrap();
    assert_eq!(consumer.pop().unwrap().area(), 9);
}

#[test]
fn recycled_boxes_come_back_in_order_and_are_reused() {
    let (mut producer, mut consumer) = BoxRing::with_recycling(4, 3);
    assert_eq!(consumer.recycle_capacity(), 3);
    let boxes: Vec<Box<u32>> = (0..4).map(Box::new).collect();
    let addresses: Vec<*const u32> = boxes.iter().map(|b| &**b as *const u32).collect();
    for boxed in boxes {
        consumer.recycle(boxed); // The fourth finds the return ring full: freed.
    }
    for (i, address) in addresses.iter().take(3).enumerate() {
        let boxed = producer.take_recycled().unwrap();
        assert_eq!(*boxed, i as u32);
        assert_eq!(&*boxed as *const u32, *address);
    }
    assert!(producer.take_recycled().is_none());

    // `push_value` fills a waiting box in place.
    consumer.recycle(Box::new(100));
    let waiting: *const u32 = {
        let boxed = producer.take_recycled().unwrap();
        let address = &*boxed as *const u32;
        consumer.recycle(boxed);
        address
    };
    producer.push_value(7).unwrap();
    let got = consumer.pop().unwrap();
    assert_eq!((*got, &*got as *const u32), (7, waiting));
    // With none waiting, it allocates.
    producer.push_value(8).unwrap();
    assert_eq!(*consumer.pop().unwrap(), 8);
    // A full ring refuses the value without taking a recycled box.
    consumer.recycle(got);
    for i in 0..4 {
        producer.push_value(i).unwrap();
    }
    assert_eq!(producer.push_value(9), Err(PushError::Full(9)));
    assert!(
        producer.take_recycled().is_none(),
        "push_value(0) took the box"
    );
}

#[test]
fn recycling_laps_the_return_ring() {
    // The return ring wraps around many times, across its lines, with recycles and
    // takes interleaved at every distance.
    let (mut producer, mut consumer) = BoxRing::<usize>::with_recycling(2, 11);
    let mut model = VecDeque::new();
    for round in 0..if cfg!(miri) { 50 } else { 2_000 } {
        for i in 0..round % 13 {
            let full = model.len() == 11;
            consumer.recycle(Box::new(round * 100 + i));
            if !full {
                model.push_back(round * 100 + i);
            }
        }
        for _ in 0..round % 11 {
            assert_eq!(producer.take_recycled().map(|b| *b), model.pop_front());
        }
    }
}

#[test]
fn streams_across_threads_with_recycling() {
    let (mut producer, mut consumer) = BoxRing::<u64>::with_recycling(64, 32);
    let pusher = thread::spawn(move || {
        for i in 0..STREAM as u64 {
            let mut value = i;
            while let Err(full) = producer.push_value(value) {
                value = full.into_inner();
                thread::yield_now();
            }
        }
        producer
    });
    for i in 0..STREAM as u64 {
        let boxed = pop(&mut consumer);
        assert_eq!(*boxed, i, "out of order or corrupted");
        consumer.recycle(boxed);
    }
    let producer = pusher.join().unwrap();
    assert!(consumer.pop().is_err());
    drop(producer);
    assert!(consumer.is_abandoned());
}

#[test]
fn every_box_is_dropped_once_whoever_goes_first() {
    for producer_first in [true, false] {
        let ledger = Ledger::new(40);
        let (mut producer, mut consumer) = BoxRing::with_recycling(9, 5);
        for id in 0..12 {
            let boxed = Tracked::new(&ledger, id);
            if let Err(full) = producer.push(boxed) {
                drop(full.into_inner());
                assert!(
                    ledger.is_dropped(id),
                    "a refused box goes back to the caller"
                );
            }
        }
        for _ in 0..4 {
            let boxed = consumer.pop().unwrap();
            consumer.recycle(boxed);
        }
        for id in 20..24 {
            consumer.recycle(Tracked::new(&ledger, id)); // Only 20 fits: 21..24 are freed.
        }
        assert!(ledger.is_dropped(23));
        let taken = producer.take_recycled().unwrap();
        assert_eq!(taken.id, 0);
        producer.push(taken).unwrap();
        if producer_first {
            drop(producer);
            // The producer freed the return ring's boxes; the queued ones wait.
            assert!((1..4).all(|id| ledger.is_dropped(id)));
            assert!(!ledger.is_dropped(4));
            assert!(consumer.is_abandoned());
            consumer.recycle(Tracked::new(&ledger, 30));
            drop(consumer);
        } else {
            drop(consumer);
            assert!(
                (4..9).all(|id| ledger.is_dropped(id)),
                "dropped with the consumer"
            );
            assert!(producer.is_abandoned());
            producer.push(Tracked::new(&ledger, 31)).unwrap();
            drop(producer);
        }
        ledger.assert_settled();
    }
}

#[test]
fn a_panicking_drop_loses_nothing_else() {
    let ledger = Ledger::new(8);
    let (mut producer, consumer) = BoxRing::new(8);
    for id in 0..8 {
        let mut boxed = Tracked::new(&ledger, id);
        boxed.panic_on_drop = id == 2;
        producer.push(boxed).unwrap();
    }
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err(), "the panic reaches the caller");
    // The consumer stopped at the panicking box; the ring drops the rest.
    drop(producer);
    ledger.assert_settled();

    let ledger = Ledger::new(8);
    let (mut producer, consumer) = BoxRing::new(8);
    for id in 0..8 {
        let mut boxed = Tracked::new(&ledger, id);
        boxed.panic_on_drop = id == 5;
        producer.push(boxed).unwrap();
    }
    drop(producer);
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err());
    ledger.assert_settled();
}

#[test]
fn racing_drops_lose_and_double_nothing() {
    for round in 0..RACES {
        let ledger = Ledger::new(64);
        let (mut producer, mut consumer) = BoxRing::with_recycling(5, 3);
        let barrier = Arc::new(Barrier::new(2));
        let theirs = barrier.clone();
        let producer_ledger = ledger.clone();
        let pusher = thread::spawn(move || {
            theirs.wait();
            for id in 0..32 {
                let boxed = match producer.take_recycled() {
                    Some(mut reused) => {
                        // Reuse the box with a new identity; the old one is dropped.
                        *reused = *Tracked::new(&producer_ledger, 32 + id);
                        reused
                    }
                    None => Tracked::new(&producer_ledger, id),
                };
                if producer.push(boxed).is_err() || (round % 3 == 0 && id == 20) {
                    break;
                }
            }
        });
        barrier.wait();
        for _ in 0..round % 7 {
            if let Ok(boxed) = consumer.pop() {
                consumer.recycle(boxed);
            }
        }
        drop(consumer);
        pusher.join().unwrap();
        ledger.assert_settled();
    }
}

#[test]
fn consumer_drop_ends_while_the_producer_keeps_pushing() {
    let (mut producer, consumer) = BoxRing::new(4);
    let pusher = thread::spawn(move || {
        while !producer.is_abandoned() {
            let _ = producer.push(Box::new(0u8));
        }
        // Abandoned: pushes still succeed while there is room; those boxes go with
        // the ring.
        let _ = producer.push(Box::new(1));
    });
    thread::sleep(std::time::Duration::from_millis(1));
    drop(consumer);
    pusher.join().unwrap();
}

#[test]
fn bad_capacities_are_errors() {
    let error = BoxRing::<u64>::try_new(usize::MAX).unwrap_err();
    assert_eq!(error.capacity(), usize::MAX);
    assert!(error.to_string().contains(&usize::MAX.to_string()));
    assert!(BoxRing::<u64>::try_new(usize::MAX / 8).is_err());
    let error = BoxRing::<u64>::try_with_recycling(1, usize::MAX - 3).unwrap_err();
    assert_eq!(error.capacity(), usize::MAX - 3);
    let message = catch_unwind(|| BoxRing::<u64>::new(usize::MAX)).unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains("cannot allocate"), "{message}");
}

#[test]
fn halves_move_between_threads_and_survive_unwinding() {
    fn send<S: Send>() {}
    fn unwind_safe<U: UnwindSafe + RefUnwindSafe>() {}
    send::<BoxProducer<String>>();
    send::<BoxConsumer<String>>();
    // Like std's channel halves, whatever the value type.
    unwind_safe::<BoxProducer<std::cell::Cell<u8>>>();
    unwind_safe::<BoxConsumer<std::cell::Cell<u8>>>();
    let (producer, consumer) = BoxRing::<u8>::new(3);
    let debug = format!("{producer:?} {consumer:?}");
    assert!(
        debug.contains("BoxProducer") && debug.contains("capacity: 3"),
        "{debug}"
    );
}

#[test]
fn abandonment_is_seen_by_each_side() {
    let (mut producer, mut consumer) = BoxRing::new(2);
    producer.push(Box::new(1)).unwrap();
    let handle = thread::spawn(move || drop(producer));
    handle.join().unwrap();
    assert!(consumer.is_abandoned());
    assert_eq!(*consumer.pop().unwrap(), 1);
    assert!(consumer.pop().is_err());

    let (producer, consumer) = BoxRing::<u8>::new(2);
    assert!(!producer.is_abandoned() && !consumer.is_abandoned());
    drop(consumer);
    assert!(producer.is_abandoned());
}

/// Many values, two threads, no recycling: the order and contents survive every lap.
#[test]
fn streams_across_threads_without_recycling() {
    let (mut producer, mut consumer) = BoxRing::with_recycling(16, 0);
    let pusher = thread::spawn(move || {
        for i in 0..STREAM {
            push(&mut producer, Box::new([i; 3]));
        }
    });
    for i in 0..STREAM {
        assert_eq!(*pop(&mut consumer), [i; 3]);
    }
    pusher.join().unwrap();
}
