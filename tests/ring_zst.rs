#![cfg(not(loom))]
//! Rings of zero-sized values: no storage whatever the capacity, the capacity still
//! exact, and every value (a zero-sized value may have a `Drop`) dropped exactly once.
//!
//! A counting global allocator measures what building a ring allocates on the calling
//! thread (a thread-local count, so tests running meanwhile do not disturb it). It
//! refuses requests beyond 1 GiB from a counting thread, so that a ring that would
//! allocate a slot per value fails here with an error instead of exhausting memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use ringlink::ring::{PopError, PushError, RingBuffer};

struct Counting;

thread_local! {
    /// Bytes requested by this thread while it counts; `None` while it does not.
    static REQUESTED: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Requests larger than this from a counting thread are refused.
const REFUSE_ABOVE: usize = 1 << 30;

/// Adds `size` to this thread's count, if it counts; says whether to refuse it.
fn count(size: usize) -> bool {
    // `try_with`: the thread-local may be gone while the thread exits.
    REQUESTED
        .try_with(|requested| match requested.get() {
            Some(sum) => {
                requested.set(Some(sum.saturating_add(size)));
                size > REFUSE_ABOVE
            }
            None => false,
        })
        .unwrap_or(false)
}

// SAFETY: forwards every call it does not refuse to the system allocator unchanged;
// refusing (a null pointer) is an allowed answer to any request.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if count(layout.size()) {
            return ptr::null_mut();
        }
        // SAFETY: the caller's promises about `layout` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if count(new_size) {
            return ptr::null_mut();
        }
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bytes `f` requests from the allocator on this thread.
fn bytes_requested<R>(f: impl FnOnce() -> R) -> (usize, R) {
    REQUESTED.with(|requested| requested.set(Some(0)));
    let result = f();
    let bytes = REQUESTED.with(|requested| requested.replace(None)).unwrap();
    (bytes, result)
}

#[test]
fn a_ring_of_zero_sized_values_allocates_the_same_whatever_its_capacity() {
    let (small, halves) = bytes_requested(|| RingBuffer::<()>::try_new(1));
    drop(halves.unwrap());
    assert!(small > 0, "the counting allocator counts nothing");
    for capacity in [0, 1 << 32, usize::MAX / 2, usize::MAX] {
        let (bytes, halves) = bytes_requested(|| RingBuffer::<()>::try_new(capacity));
        let (producer, consumer) = halves.unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(bytes, small, "capacity {capacity}");
        assert_eq!(producer.capacity(), capacity);
        assert_eq!(consumer.capacity(), capacity);
        assert_eq!(producer.slots(), capacity);
    }
    // A type with storage pays per slot: the count does see a slot allocation.
    let (bytes, halves) = bytes_requested(|| RingBuffer::<u8>::try_new(1 << 10));
    drop(halves.unwrap());
    assert!(bytes >= small + (1 << 10), "{bytes} bytes for 1024 slots");
}

#[test]
fn a_huge_ring_of_zero_sized_values_counts_exactly() {
    let capacity = usize::MAX / 2;
    let (mut producer, mut consumer) = RingBuffer::<()>::new(capacity);
    assert!(consumer.is_empty());
    assert_eq!(consumer.pop(), Err(PopError::Empty));
    assert_eq!(producer.push_iter(std::iter::repeat(()).take(5)), 5);
    producer.push(()).unwrap();
    assert_eq!(producer.slots(), capacity - 6);
    assert_eq!(consumer.slots(), 6);
    assert_eq!(consumer.peek(), Some(&()));
    assert_eq!(consumer.pop(), Ok(()));
    assert_eq!(consumer.pop_iter().take(2).count(), 2);
    assert_eq!(consumer.slots(), 3);
    assert_eq!(producer.slots(), capacity - 3);
    assert_eq!(consumer.pop_iter().count(), 3);
    assert!(consumer.is_empty());
    assert_eq!(producer.slots(), capacity);
}

#[test]
fn a_ring_of_zero_sized_values_is_full_at_exactly_its_capacity() {
    for capacity in [0, 1, 2, 3, 7, 8] {
        let (mut producer, mut consumer) = RingBuffer::<()>::new(capacity);
        for turn in 0..20 {
            let pushed = producer.push_iter(std::iter::repeat(()).take(capacity + 2));
            assert_eq!(pushed, capacity, "capacity {capacity}, turn {turn}");
            assert!(producer.is_full());
            assert_eq!(producer.push(()), Err(PushError::Full(())));
            let take = turn % (capacity + 1);
            for _ in 0..take {
                assert_eq!(consumer.pop(), Ok(()));
            }
            assert_eq!(producer.slots(), take);
            assert_eq!(consumer.slots(), capacity - take);
            assert_eq!(consumer.pop_iter().count(), capacity - take);
            assert_eq!(consumer.pop(), Err(PopError::Empty));
        }
    }
}

/// A zero-sized value that counts its drops in `DROPS[N]` (one counter per test).
struct Unit<const N: usize>;

static DROPS: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

impl<const N: usize> Drop for Unit<N> {
    fn drop(&mut self) {
        DROPS[N].fetch_add(1, Ordering::SeqCst);
    }
}

fn drops(n: usize) -> usize {
    DROPS[n].load(Ordering::SeqCst)
}

#[test]
fn zero_sized_values_with_drop_are_dropped_exactly_once() {
    const N: usize = 0;
    let (mut producer, mut consumer) = RingBuffer::<Unit<N>>::new(usize::MAX / 2);
    for _ in 0..10 {
        producer
            .push(Unit)
            .unwrap_or_else(|_| panic!("the ring is not full"));
    }
    assert_eq!(producer.push_iter((0..5).map(|_| Unit)), 5);
    assert_eq!(drops(N), 0, "a push dropped its value");
    drop(consumer.pop().unwrap());
    assert_eq!(drops(N), 1);
    consumer.pop_iter().take(4).for_each(drop);
    assert_eq!(drops(N), 5);
    // A value refused by a full ring comes back, and is dropped once, by its owner.
    let (mut full_producer, full_consumer) = RingBuffer::<Unit<N>>::new(0);
    let refused = full_producer.push(Unit).unwrap_err().into_inner();
    drop(refused);
    drop((full_producer, full_consumer));
    assert_eq!(drops(N), 6);
    // The consumer's drop drops the 10 values still queued; what is pushed after it
    // goes with the producer.
    drop(consumer);
    assert_eq!(drops(N), 16);
    assert_eq!(producer.push_iter((0..3).map(|_| Unit)), 3);
    assert_eq!(drops(N), 16);
    drop(producer);
    assert_eq!(drops(N), 19);
}

#[test]
fn zero_sized_values_left_when_the_producer_goes_are_the_consumers() {
    const N: usize = 1;
    let (mut producer, mut consumer) = RingBuffer::<Unit<N>>::new(3);
    producer.push_iter((0..3).map(|_| Unit));
    drop(producer);
    assert!(consumer.is_abandoned());
    assert!(consumer.peek().is_some());
    drop(consumer.pop().unwrap());
    assert_eq!(drops(N), 1);
    drop(consumer);
    assert_eq!(drops(N), 3);
}

#[test]
fn zero_sized_values_cross_threads_in_order_and_are_dropped_once() {
    const N: usize = 2;
    let values = if cfg!(miri) { 500 } else { 10_000 };
    let (mut producer, mut consumer) = RingBuffer::<Unit<N>>::new(3);
    let sender = thread::spawn(move || {
        for _ in 0..values {
            let mut value = Unit;
            while let Err(PushError::Full(v)) = producer.push(value) {
                value = v;
                thread::yield_now();
            }
        }
    });
    let mut received = 0;
    while received < values {
        match consumer.pop() {
            Ok(value) => {
                drop(value);
                received += 1;
                assert_eq!(drops(N), received);
            }
            Err(PopError::Empty) => thread::yield_now(),
        }
    }
    sender.join().unwrap();
    assert_eq!(consumer.pop().map(drop), Err(PopError::Empty));
    assert_eq!(drops(N), values);
}

/// A zero-sized value whose drop panics: the consumer's drop still drops the others,
/// as `Vec` does.
#[test]
fn a_panicking_zero_sized_drop_leaves_no_value_undropped() {
    static PANICKY_DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Panicky;
    impl Drop for Panicky {
        fn drop(&mut self) {
            if PANICKY_DROPS.fetch_add(1, Ordering::SeqCst) == 1 {
                panic!("the second drop panics");
            }
        }
    }
    let (mut producer, consumer) = RingBuffer::<Panicky>::new(8);
    assert_eq!(producer.push_iter((0..5).map(|_| Panicky)), 5);
    let result = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
    assert!(result.is_err(), "the value's panic reached the caller");
    assert_eq!(PANICKY_DROPS.load(Ordering::SeqCst), 5);
    drop(producer);
    assert_eq!(PANICKY_DROPS.load(Ordering::SeqCst), 5);
}
