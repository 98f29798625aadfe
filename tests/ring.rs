#![cfg(not(loom))]
//! Behaviour of the ring's public interface: every method, every edge case, and long
//! cross-thread streams that check the order of every value.
//!
//! Drop accounting lives in `ring_drops.rs`; the memory-ordering proofs in
//! `loom-tests/ring.rs`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use ringlink::ring::{CapacityError, PopError, PopIter, PushError, RingBuffer};

/// How many values the cross-thread streams carry. Miri interprets every step, so it
/// gets a short stream that still wraps the small rings hundreds of times.
const STREAM: u64 = if cfg!(miri) { 1_000 } else { 1_000_000 };

/// Capacities that are not powers of two, so the logical capacity differs from the
/// storage length, plus the degenerate 1.
const ODD_CAPACITIES: [usize; 4] = [1, 3, 5, 1000];

/// Turns of fill-and-drain in the wrap-around tests.
const TURNS: usize = if cfg!(miri) { 20 } else { 1_000 };

fn assert_send<S: Send>() {}

#[test]
fn halves_are_send() {
    assert_send::<ringlink::ring::Producer<u64>>();
    assert_send::<ringlink::ring::Consumer<u64>>();
    assert_send::<ringlink::ring::Producer<Box<String>>>();
    assert_send::<ringlink::ring::Consumer<Box<String>>>();
    assert_send::<PushError<Box<u8>>>();
    assert_send::<PopError>();
    assert_send::<CapacityError>();
}

#[test]
fn capacity_is_exact_and_the_next_push_hands_the_value_back() {
    for capacity in ODD_CAPACITIES {
        let (mut producer, mut consumer) = RingBuffer::<String>::new(capacity);
        assert_eq!(producer.capacity(), capacity);
        assert_eq!(consumer.capacity(), capacity);
        for i in 0..capacity {
            assert!(!producer.is_full(), "capacity {capacity}: full after {i}");
            assert_eq!(producer.push(i.to_string()), Ok(()));
        }
        assert!(producer.is_full());
        assert_eq!(producer.slots(), 0);
        assert_eq!(consumer.slots(), capacity);
        let refused = producer.push("one too many".to_string());
        assert_eq!(refused, Err(PushError::Full("one too many".to_string())));
        assert_eq!(refused.unwrap_err().into_inner(), "one too many");
        // A refused push changes nothing.
        assert_eq!(consumer.slots(), capacity);

        // One pop makes room for exactly one push.
        assert_eq!(consumer.pop().as_deref(), Ok("0"));
        assert_eq!(producer.slots(), 1);
        assert_eq!(producer.push("again".to_string()), Ok(()));
        assert!(producer.push("no".to_string()).is_err());

        for i in 1..capacity {
            assert_eq!(consumer.pop(), Ok(i.to_string()));
        }
        assert_eq!(consumer.pop().as_deref(), Ok("again"));
        assert_eq!(consumer.pop(), Err(PopError::Empty));
        assert!(consumer.is_empty());
        assert_eq!(producer.slots(), capacity);
    }
}

#[test]
fn capacity_zero_is_always_full_and_always_empty() {
    let (mut producer, mut consumer) = RingBuffer::<Vec<u8>>::new(0);
    assert_eq!(producer.capacity(), 0);
    assert_eq!(consumer.capacity(), 0);
    for _ in 0..3 {
        assert!(producer.is_full());
        assert!(consumer.is_empty());
        assert_eq!(producer.slots(), 0);
        assert_eq!(consumer.slots(), 0);
        assert_eq!(producer.push(vec![1, 2]), Err(PushError::Full(vec![1, 2])));
        assert_eq!(consumer.pop(), Err(PopError::Empty));
        assert_eq!(consumer.peek(), None);
    }
    let mut source = vec![vec![7u8]].into_iter();
    assert_eq!(producer.push_iter(&mut source), 0);
    assert_eq!(
        source.next(),
        Some(vec![7]),
        "push_iter took a value it could not push"
    );
    assert_eq!(consumer.pop_iter().len(), 0);
    assert_eq!(consumer.pop_iter().next(), None);
}

#[test]
fn fifo_order_across_many_wrap_arounds() {
    for capacity in ODD_CAPACITIES {
        let (mut producer, mut consumer) = RingBuffer::new(capacity);
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        // Fill and drain by varying amounts so the positions drift through every
        // offset of the storage.
        for turn in 0..TURNS {
            let fill = 1 + turn % capacity;
            for _ in 0..fill {
                if producer.push(next_in).is_ok() {
                    next_in += 1;
                }
            }
            assert_eq!(
                consumer.slots() as u64,
                next_in - next_out,
                "capacity {capacity}"
            );
            assert_eq!(
                producer.slots() as u64,
                capacity as u64 - (next_in - next_out)
            );
            let drain = 1 + (turn * 7) % capacity;
            for _ in 0..drain {
                match consumer.pop() {
                    Ok(value) => {
                        assert_eq!(value, next_out, "capacity {capacity}");
                        next_out += 1;
                    }
                    Err(PopError::Empty) => assert_eq!(next_out, next_in),
                }
            }
        }
        while let Ok(value) = consumer.pop() {
            assert_eq!(value, next_out);
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
        assert!(
            cfg!(miri) || next_in as usize > capacity,
            "never wrapped around"
        );
    }
}

#[test]
fn slots_full_and_empty_track_every_step() {
    let capacity = 5;
    let (mut producer, mut consumer) = RingBuffer::new(capacity);
    for round in 0..4 {
        for n in 0..capacity {
            assert_eq!(producer.slots(), capacity - n);
            assert_eq!(consumer.slots(), n);
            assert!(!producer.is_full());
            assert_eq!(consumer.is_empty(), n == 0);
            producer.push(round * 10 + n).unwrap();
        }
        assert!(producer.is_full());
        assert!(!consumer.is_empty());
        assert_eq!(consumer.slots(), capacity);
        for n in 0..capacity {
            assert_eq!(consumer.slots(), capacity - n);
            assert_eq!(producer.slots(), n);
            assert_eq!(producer.is_full(), n == 0);
            assert!(!consumer.is_empty());
            assert_eq!(consumer.pop(), Ok(round * 10 + n));
        }
        assert!(consumer.is_empty());
        assert_eq!(producer.slots(), capacity);
    }
}

#[test]
fn zero_sized_values_count_exactly_across_wrap_arounds() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Unit;
    impl Drop for Unit {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }

    let (mut producer, mut consumer) = RingBuffer::new(3);
    let mut pushed = 0;
    let mut popped = 0;
    for turn in 0..TURNS {
        while producer.push(Unit).is_ok() {
            pushed += 1;
        }
        assert_eq!(consumer.slots(), 3);
        // The refused value was handed back and dropped here: one drop per turn.
        for _ in 0..=(turn % 3) {
            // Patterns, not `Unit` values: making one would count a drop.
            assert!(matches!(consumer.peek(), Some(Unit)));
            assert!(matches!(consumer.pop(), Ok(Unit)));
            popped += 1;
        }
        assert_eq!(producer.slots(), 1 + turn % 3);
    }
    let left = 3 - (1 + (TURNS - 1) % 3);
    assert_eq!(pushed - popped, left);
    assert_eq!(consumer.slots(), left);
    assert_eq!(DROPS.load(Ordering::Relaxed), popped + TURNS);
    drop(producer);
    assert_eq!(consumer.pop_iter().count(), left);
    assert!(matches!(consumer.pop(), Err(PopError::Empty)));
    drop(consumer);
    assert_eq!(DROPS.load(Ordering::Relaxed), pushed + TURNS);

    // Batches of zero-sized values, too.
    let (mut producer, mut consumer) = RingBuffer::<()>::new(5);
    let mut total = 0;
    for turn in 0..TURNS {
        let mut source = std::iter::repeat(()).take(1 + turn % 7);
        let pushed = producer.push_iter(&mut source);
        assert_eq!(pushed, (1 + turn % 7).min(5));
        assert_eq!(source.count(), (1 + turn % 7) - pushed);
        total += consumer.pop_iter().count();
        assert!(consumer.is_empty());
    }
    assert!(total > 5 * 3);
}

#[test]
fn try_new_reports_what_cannot_be_allocated() {
    let error = RingBuffer::<[u8; 128]>::try_new(usize::MAX / 2).unwrap_err();
    assert_eq!(error.capacity(), usize::MAX / 2);
    // What one slot costs: its share of a line of seven values and their mark word (904
    // bytes, 960 with the line's 64-byte alignment), rounded up.
    assert_eq!(error.slot_size(), 138);
    let text = error.to_string();
    assert!(text.contains(&(usize::MAX / 2).to_string()), "{text}");
    // 2^63 / 7 values need 2^61 lines, rounded up to a power of two: 7 * 2^61 slots.
    assert!(
        text.contains(&(7usize << (usize::BITS - 3)).to_string()),
        "{text}"
    );
    let slot = "138 bytes each";
    assert!(text.contains(slot), "{text}");
    assert!(text.contains("128 for the value"), "{text}");

    // The storage length would overflow `usize` when rounded up to a power of two.
    let error = RingBuffer::<u8>::try_new(usize::MAX).unwrap_err();
    assert_eq!(error.capacity(), usize::MAX);
    let text = error.to_string();
    assert!(text.contains("more than `usize::MAX` slots"), "{text}");
    // Zero-sized values need no storage, so every capacity fits (tests/ring_zst.rs).
    assert!(RingBuffer::<()>::try_new(usize::MAX).is_ok());
    // Rounded up it fits `usize`, but not `isize::MAX` bytes.
    assert!(RingBuffer::<u16>::try_new(usize::MAX / 2 + 1).is_err());

    // Errors for the same request compare equal, for different ones not.
    assert_eq!(
        RingBuffer::<u64>::try_new(usize::MAX).unwrap_err(),
        RingBuffer::<u64>::try_new(usize::MAX).unwrap_err()
    );
    assert_ne!(
        RingBuffer::<u64>::try_new(usize::MAX).unwrap_err(),
        RingBuffer::<u64>::try_new(usize::MAX - 1).unwrap_err()
    );

    // Sizes that work.
    for capacity in [0, 1, 2, 3, 1000, 4096] {
        let (producer, consumer) = RingBuffer::<[u8; 128]>::try_new(capacity).unwrap();
        assert_eq!(producer.capacity(), capacity);
        assert_eq!(consumer.capacity(), capacity);
    }
}

/// A request whose size is a valid layout but far beyond the address space: the
/// allocator, not the size arithmetic, refuses it. (Miri reports such a request as
/// resource exhaustion instead of failing it, so it runs natively only.)
#[cfg(not(miri))]
#[test]
fn try_new_reports_an_allocator_refusal() {
    let capacity = 1usize << (usize::BITS - 3);
    let error = RingBuffer::<u8>::try_new(capacity).unwrap_err();
    assert_eq!(error.capacity(), capacity);
}

#[test]
#[should_panic(expected = "cannot allocate a ring buffer")]
fn new_panics_with_a_plain_message() {
    let _ = RingBuffer::<[u8; 128]>::new(usize::MAX / 2);
}

#[test]
fn new_panics_with_the_error_text() {
    let payload = catch_unwind(|| RingBuffer::<[u8; 128]>::new(usize::MAX / 2)).unwrap_err();
    let expected = RingBuffer::<[u8; 128]>::try_new(usize::MAX / 2)
        .unwrap_err()
        .to_string();
    // A plain message: a `String` payload holding exactly the error's text, not a
    // `Debug` dump of a `Result`.
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .expect("the panic payload is a string");
    assert_eq!(message, expected);
}

#[test]
fn peek_shows_the_oldest_value_without_taking_it() {
    let (mut producer, mut consumer) = RingBuffer::new(2);
    assert_eq!(consumer.peek(), None);
    for round in 0..5u32 {
        producer.push(round * 2).unwrap();
        producer.push(round * 2 + 1).unwrap();
        assert_eq!(consumer.peek(), Some(&(round * 2)));
        assert_eq!(consumer.peek(), Some(&(round * 2)), "peek took the value");
        assert_eq!(consumer.slots(), 2);
        assert_eq!(consumer.pop(), Ok(round * 2));
        assert_eq!(consumer.peek(), Some(&(round * 2 + 1)));
        assert_eq!(consumer.pop(), Ok(round * 2 + 1));
        assert_eq!(consumer.peek(), None);
    }
    // Peek sees a value pushed after the consumer last looked.
    producer.push(99).unwrap();
    assert_eq!(consumer.peek(), Some(&99));
}

#[test]
fn is_abandoned_reports_the_other_half_gone() {
    let (producer, consumer) = RingBuffer::<u8>::new(2);
    assert!(!producer.is_abandoned());
    assert!(!consumer.is_abandoned());
    drop(producer);
    assert!(consumer.is_abandoned());

    let (producer, consumer) = RingBuffer::<u8>::new(2);
    drop(consumer);
    assert!(producer.is_abandoned());

    // The consumer still gets everything pushed before the producer went, then Empty.
    let (mut producer, mut consumer) = RingBuffer::new(3);
    producer.push(1).unwrap();
    producer.push(2).unwrap();
    assert!(!consumer.is_abandoned());
    drop(producer);
    assert!(consumer.is_abandoned());
    assert_eq!(consumer.slots(), 2);
    assert_eq!(consumer.pop(), Ok(1));
    assert_eq!(consumer.pop(), Ok(2));
    assert_eq!(consumer.pop(), Err(PopError::Empty));

    // A producer whose consumer is gone may still push (until full); nothing breaks.
    let (mut producer, consumer) = RingBuffer::new(2);
    drop(consumer);
    assert!(producer.is_abandoned());
    assert_eq!(producer.push(1), Ok(()));
    assert_eq!(producer.push(2), Ok(()));
    assert_eq!(producer.push(3), Err(PushError::Full(3)));
}

#[test]
fn push_iter_takes_only_what_fits_and_counts_it() {
    for capacity in ODD_CAPACITIES {
        let (mut producer, mut consumer) = RingBuffer::new(capacity);
        let taken = Cell::new(0usize);
        let mut source = (0..capacity + 10).inspect(|_| taken.set(taken.get() + 1));
        assert_eq!(producer.push_iter(&mut source), capacity);
        assert_eq!(
            taken.get(),
            capacity,
            "capacity {capacity}: took more than fit"
        );
        assert!(producer.is_full());
        assert_eq!(producer.push_iter(&mut source), 0);
        assert_eq!(
            taken.get(),
            capacity,
            "a full ring still took from the iterator"
        );
        assert_eq!(source.next(), Some(capacity));

        // Partially full: only the free slots are taken.
        let popped: Vec<usize> = consumer.pop_iter().take(capacity / 2 + 1).collect();
        assert_eq!(popped, (0..capacity / 2 + 1).collect::<Vec<_>>());
        let free = producer.slots();
        assert_eq!(free, capacity / 2 + 1);
        assert_eq!(producer.push_iter(100..), free);
        assert!(producer.is_full());

        // A short iterator: all of it, and the count says so.
        while consumer.pop().is_ok() {}
        assert_eq!(producer.push_iter([7, 8]), 2.min(capacity));
        assert_eq!(consumer.pop(), Ok(7));
        assert_eq!(producer.push_iter(std::iter::empty()), 0);
    }
}

#[test]
fn push_iter_wraps_around_in_order() {
    let (mut producer, mut consumer) = RingBuffer::new(5);
    let mut next_in = 0u32;
    let mut next_out = 0u32;
    for turn in 0..TURNS as u32 {
        let want = turn % 8;
        let mut source = next_in..next_in + want;
        let pushed = producer.push_iter(&mut source) as u32;
        assert_eq!(
            source.next(),
            Some(next_in + pushed).filter(|_| pushed < want)
        );
        next_in += pushed;
        let mut batch = consumer.pop_iter();
        assert_eq!(batch.len() as u32, next_in - next_out);
        if turn % 3 == 0 {
            // Leave one behind.
            if let Some(value) = batch.next() {
                assert_eq!(value, next_out);
                next_out += 1;
            }
            continue;
        }
        for value in batch {
            assert_eq!(value, next_out);
            next_out += 1;
        }
    }
    assert!(next_in > 100 || cfg!(miri));
}

#[test]
fn push_iter_publishes_what_it_wrote_when_the_iterator_panics() {
    let (mut producer, mut consumer) = RingBuffer::new(5);
    producer.push(String::from("before")).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        producer.push_iter((0..).map(|i| {
            if i == 2 {
                panic!("the iterator fails");
            }
            i.to_string()
        }))
    }));
    assert!(result.is_err());
    assert_eq!(
        consumer.slots(),
        3,
        "the two values written were not published"
    );
    assert_eq!(producer.slots(), 2);
    assert_eq!(consumer.pop().as_deref(), Ok("before"));
    assert_eq!(consumer.pop().as_deref(), Ok("0"));
    assert_eq!(consumer.pop().as_deref(), Ok("1"));
    assert_eq!(consumer.pop(), Err(PopError::Empty));
    // The ring works on afterwards, from the right position.
    assert_eq!(producer.push_iter(["x".to_string()]), 1);
    assert_eq!(consumer.pop().as_deref(), Ok("x"));
}

#[test]
fn pop_iter_yields_what_is_ready_and_leaves_the_rest() {
    let (mut producer, mut consumer) = RingBuffer::new(6);
    producer.push_iter(0..6);
    {
        let mut batch = consumer.pop_iter();
        assert_eq!(batch.len(), 6);
        assert_eq!(batch.size_hint(), (6, Some(6)));
        assert_eq!(batch.next(), Some(0));
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.next(), Some(1));
        // The slots are handed back only when the batch ends.
        assert_eq!(producer.slots(), 0);
    }
    assert_eq!(producer.slots(), 2);
    let two: Vec<i32> = consumer.pop_iter().take(2).collect();
    assert_eq!(two, [2, 3]);
    assert_eq!(consumer.slots(), 2);
    assert_eq!(consumer.peek(), Some(&4));
    assert_eq!(producer.slots(), 4);

    // A batch yields only what was ready when it was made.
    let mut batch = consumer.pop_iter();
    producer.push(6).unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch.by_ref().collect::<Vec<_>>(), [4, 5]);
    assert_eq!(batch.next(), None, "fused");
    drop(batch);
    assert_eq!(consumer.pop_iter().collect::<Vec<_>>(), [6]);
    assert!(consumer.is_empty());
    assert_eq!(consumer.pop_iter().len(), 0);
    assert_eq!(producer.slots(), 6);
}

#[test]
fn a_forgotten_pop_iter_loses_and_duplicates_nothing() {
    let (mut producer, mut consumer) = RingBuffer::new(4);
    producer.push_iter(0..4);
    let mut batch = consumer.pop_iter();
    assert_eq!(batch.next(), Some(0));
    assert_eq!(batch.next(), Some(1));
    std::mem::forget(batch);
    // Its values are gone from the consumer's view at once...
    assert_eq!(consumer.slots(), 2);
    assert_eq!(consumer.peek(), Some(&2));
    // ...and their slots are handed back by the next pop.
    assert_eq!(consumer.pop(), Ok(2));
    assert_eq!(producer.slots(), 3);
    assert_eq!(producer.push_iter(4..10), 3);
    let rest: Vec<i32> = consumer.pop_iter().collect();
    assert_eq!(rest, [3, 4, 5, 6]);

    // Forgotten twice in a row, then handed back by a later batch.
    producer.push_iter(10..14);
    let mut batch = consumer.pop_iter();
    assert_eq!(batch.next(), Some(10));
    std::mem::forget(batch);
    let mut batch = consumer.pop_iter();
    assert_eq!(batch.next(), Some(11));
    std::mem::forget(batch);
    assert_eq!(consumer.pop_iter().collect::<Vec<_>>(), [12, 13]);
    assert_eq!(producer.slots(), 4);
}

#[test]
fn debug_output_shows_the_state_without_requiring_debug_values() {
    struct Opaque;
    let (mut producer, mut consumer) = RingBuffer::new(3);
    assert!(producer.push(Opaque).is_ok());
    let text = format!("{producer:?}");
    assert!(text.starts_with("Producer"), "{text}");
    assert!(text.contains("capacity: 3"), "{text}");
    assert!(text.contains("slots: 2"), "{text}");
    assert!(text.contains("is_abandoned: false"), "{text}");
    let text = format!("{consumer:?}");
    assert!(text.starts_with("Consumer"), "{text}");
    assert!(text.contains("capacity: 3"), "{text}");
    assert!(text.contains("slots: 1"), "{text}");
    assert!(text.contains("is_abandoned: false"), "{text}");

    assert!(producer.push(Opaque).is_ok());
    let batch: PopIter<'_, Opaque> = consumer.pop_iter();
    let text = format!("{batch:?}");
    assert!(text.starts_with("PopIter"), "{text}");
    assert!(text.contains('2'), "{text}");
    drop(batch);

    drop(producer);
    let text = format!("{consumer:?}");
    assert!(text.contains("is_abandoned: true"), "{text}");
}

#[test]
fn errors_display_compare_and_hand_values_back() {
    struct Opaque(u8);
    let error = PushError::Full(Opaque(5));
    assert_eq!(format!("{error:?}"), "Full(..)");
    assert!(error.to_string().contains("full"), "{error}");
    assert_eq!(error.into_inner().0, 5);

    assert_eq!(PushError::Full(1), PushError::Full(1));
    assert_ne!(PushError::Full(1), PushError::Full(2));
    assert_eq!(PopError::Empty, PopError::Empty);
    assert_eq!(format!("{:?}", PopError::Empty), "Empty");
    assert!(PopError::Empty.to_string().contains("empty"));

    let capacity = RingBuffer::<u32>::try_new(usize::MAX).unwrap_err();
    assert!(format!("{capacity:?}").starts_with("CapacityError"));

    // All are `std::error::Error`s, and so fit `Box<dyn Error>`.
    let boxed: Vec<Box<dyn std::error::Error + Send + Sync>> = vec![
        Box::new(PushError::Full(0u8)),
        Box::new(PopError::Empty),
        Box::new(capacity),
    ];
    for error in boxed {
        assert!(!error.to_string().is_empty());
        assert!(error.source().is_none());
    }
}

/// Sends `STREAM` values from one thread to another, one at a time, checking that every
/// value arrives exactly once and in order.
fn stream_one_by_one(capacity: usize) {
    let (mut producer, mut consumer) = RingBuffer::<u64>::new(capacity);
    let sender = thread::spawn(move || {
        for i in 0..STREAM {
            let mut value = i;
            while let Err(PushError::Full(v)) = producer.push(value) {
                value = v;
                // Both threads may share one CPU: give the consumer a turn.
                thread::yield_now();
            }
            assert!(producer.slots() <= capacity);
        }
    });
    let mut expected = 0;
    while expected < STREAM {
        match consumer.pop() {
            Ok(value) => {
                assert_eq!(value, expected);
                expected += 1;
            }
            Err(PopError::Empty) => thread::yield_now(),
        }
        assert!(consumer.slots() <= capacity);
    }
    sender.join().unwrap();
    assert_eq!(consumer.pop(), Err(PopError::Empty));
    assert!(consumer.is_abandoned());
}

/// The same stream in batches of varying sizes on both sides.
fn stream_in_batches(capacity: usize) {
    let (mut producer, mut consumer) = RingBuffer::<u64>::new(capacity);
    let sender = thread::spawn(move || {
        let mut values = 0..STREAM;
        let mut round = 0u64;
        while !values.is_empty() {
            let want = (round % 13 + 1) as usize;
            let before = values.start;
            let pushed = producer.push_iter(values.by_ref().take(want));
            assert_eq!(values.start - before, pushed as u64, "lost a value");
            if pushed == 0 {
                thread::yield_now();
            }
            round += 1;
        }
    });
    let mut expected = 0;
    let mut round = 0usize;
    while expected < STREAM {
        let mut batch = consumer.pop_iter();
        if batch.len() == 0 {
            drop(batch);
            thread::yield_now();
            continue;
        }
        // Sometimes take only part of what is ready.
        let limit = if round % 4 == 0 {
            1 + round % 5
        } else {
            usize::MAX
        };
        for value in batch.by_ref().take(limit) {
            assert_eq!(value, expected);
            expected += 1;
        }
        round += 1;
    }
    sender.join().unwrap();
    assert_eq!(consumer.pop(), Err(PopError::Empty));
}

#[test]
fn stream_through_capacity_3() {
    stream_one_by_one(3);
}

#[test]
fn stream_through_capacity_1024() {
    stream_one_by_one(1024);
}

#[test]
fn stream_in_batches_through_capacity_3() {
    stream_in_batches(3);
}

#[test]
fn stream_in_batches_through_capacity_1024() {
    stream_in_batches(1024);
}

/// A stream that mixes single and batch operations and peeks on the way.
#[test]
fn stream_mixing_single_batch_and_peek() {
    let (mut producer, mut consumer) = RingBuffer::<Box<u64>>::new(7);
    let count = STREAM / 4;
    let sender = thread::spawn(move || {
        let mut next = 0;
        while next < count {
            let progressed = if next % 2 == 0 {
                producer.push(Box::new(next)).is_ok() as u64
            } else {
                let end = (next + 5).min(count);
                producer.push_iter((next..end).map(Box::new)) as u64
            };
            if progressed == 0 {
                thread::yield_now();
            }
            next += progressed;
        }
    });
    let mut expected = 0;
    while expected < count {
        let before = expected;
        if let Some(value) = consumer.peek() {
            assert_eq!(**value, expected);
        }
        if expected % 3 == 0 {
            if let Ok(value) = consumer.pop() {
                assert_eq!(*value, expected);
                expected += 1;
            }
        } else {
            for value in consumer.pop_iter() {
                assert_eq!(*value, expected);
                expected += 1;
            }
        }
        if expected == before {
            thread::yield_now();
        }
    }
    sender.join().unwrap();
    assert!(consumer.is_empty());
}
