#![cfg(not(loom))]
// ci: no-miri: a million messages take Miri hours, and Miri's emulation of weak memory may
// let a load return an old null long after a box was recycled (hardware does not hold a
// store back that long), so the producer could rightly allocate there.
//! A stream of boxes with recycling allocates nothing once enough boxes circulate.
//!
//! A global allocator counts the allocations and frees made on the two threads of the
//! stream (the test harness's own thread, which polls for the test's end and may
//! allocate meanwhile, is not counted), so this file holds one test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use ringlink::ring::BoxRing;

/// Counts allocations and frees made on a thread that set `COUNTED`, while `COUNTING` is
/// set.
struct Counting;

thread_local! {
    /// Whether this thread is one of the stream's (a constant initialiser and no
    /// destructor: reading it never allocates).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed) && COUNTED.with(Cell::get)
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters do not
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            FREES.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MESSAGES: u64 = 1_000_000;
const CAPACITY: usize = 64;
/// Boxes put into circulation before counting starts: more than the ring and the two
/// threads' hands can hold, so the return ring never runs dry while the producer looks.
const BOXES: usize = 2 * CAPACITY;

#[test]
fn a_recycled_stream_allocates_nothing_after_warm_up() {
    // The return ring has room for every box in circulation, so none is ever freed for
    // want of room, and the producer always finds one waiting.
    let (mut producer, mut consumer) = BoxRing::<[u64; 4]>::with_recycling(CAPACITY, BOXES + 8);
    for _ in 0..BOXES {
        consumer.recycle(Box::new([0; 4]));
    }
    let barrier = Arc::new(Barrier::new(2));
    let theirs = barrier.clone();
    let pusher = thread::spawn(move || {
        COUNTED.with(|counted| counted.set(true));
        // Running: its start-up (which frees memory of its own) is over.
        theirs.wait();
        theirs.wait();
        for i in 0..MESSAGES {
            let mut value = [i, i + 1, i + 2, i + 3];
            while let Err(full) = producer.push_value(value) {
                value = full.into_inner();
                std::hint::spin_loop();
            }
        }
        theirs.wait();
        producer
    });
    COUNTED.with(|counted| counted.set(true));
    barrier.wait();
    // Both threads run and wait: from here on, only the stream runs.
    COUNTING.store(true, Ordering::SeqCst);
    barrier.wait();
    let mut received = 0;
    while received < MESSAGES {
        match consumer.pop() {
            Ok(boxed) => {
                let i = received;
                assert_eq!(
                    *boxed,
                    [i, i + 1, i + 2, i + 3],
                    "out of order or corrupted"
                );
                received += 1;
                consumer.recycle(boxed);
            }
            Err(_) => std::hint::spin_loop(),
        }
    }
    // Read before the producer's thread moves on and ends (which may free memory of its
    // own): it has published its last box, and waits.
    let allocs = ALLOCS.load(Ordering::SeqCst);
    let frees = FREES.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    barrier.wait();
    let producer = pusher.join().unwrap();
    assert_eq!(
        (allocs, frees),
        (0, 0),
        "{MESSAGES} messages: allocations, frees"
    );

    // The counter has teeth: the same stream without recycling allocates per message.
    COUNTING.store(true, Ordering::SeqCst);
    drop((producer, consumer));
    let (mut producer, mut consumer) = BoxRing::<[u64; 4]>::with_recycling(CAPACITY, 0);
    for i in 0..1000 {
        producer.push_value([i; 4]).unwrap();
        let boxed = consumer.pop().unwrap();
        consumer.recycle(boxed);
    }
    COUNTING.store(false, Ordering::SeqCst);
    assert!(ALLOCS.load(Ordering::SeqCst) >= 1000);
}
