#![cfg(not(loom))]
// ci: no-miri: a million values take Miri hours; the queue's unsafe code is run under Miri
// by tests/ring_list.rs.
//! The unbounded queue recycles its segments: a steady stream allocates nothing once
//! warm, and after a burst is drained the queue holds no more than two segments (the
//! current one and the spare).
//!
//! A global allocator counts the allocations made on the thread that set `COUNTED` (the
//! test harness's own thread may allocate meanwhile), so this file holds one test only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

use ringlink::__list::{list, segment_bytes};

/// Counts allocations and live bytes of a thread that set `COUNTED`, while `COUNTING`
/// is set.
struct Counting;

thread_local! {
    /// Whether this thread is the test's (a constant initialiser and no destructor:
    /// reading it never allocates).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed) && COUNTED.with(Cell::get)
}

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Bytes allocated minus bytes freed (may go below zero: frees of memory allocated
/// before counting began).
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters do not
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const STEADY: u64 = 1_000_000;
const BURST: u64 = 1_000_000;

#[test]
fn segments_are_recycled_and_freed() {
    COUNTED.with(|counted| counted.set(true));
    COUNTING.store(true, Ordering::SeqCst);
    let before = LIVE.load(Ordering::SeqCst);
    let (mut producer, mut consumer) = list::<u64>();
    let idle = LIVE.load(Ordering::SeqCst) - before;
    let segment = segment_bytes::<u64>() as isize;
    assert!(idle >= segment, "the queue holds its first segment");

    // Warm-up: the second segment, which becomes the spare.
    for i in 0..200 {
        producer.push(i);
        assert_eq!(consumer.pop(), Some(i));
    }

    // A steady stream, in lock step and in bursts shorter than a segment (each crosses
    // at most one boundary, and the segment left behind is the spare again before the
    // next burst needs one): no allocation at all.
    let allocs = ALLOCS.load(Ordering::SeqCst);
    let mut next_in = 0;
    let mut next_out = 0;
    let mut burst = 1;
    while next_in < STEADY {
        for _ in 0..burst {
            producer.push(next_in);
            next_in += 1;
        }
        for _ in 0..burst {
            assert_eq!(consumer.pop(), Some(next_out));
            next_out += 1;
        }
        burst = burst % 60 + 1;
    }
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst) - allocs,
        0,
        "allocations in a steady stream of {STEADY} values"
    );

    // A burst grows the queue to hold it all, and draining it gives the memory back:
    // the queue then holds its current segment and the spare.
    for i in 0..BURST {
        producer.push(i);
    }
    let full = LIVE.load(Ordering::SeqCst) - before;
    assert!(
        full >= (BURST as isize / 63) * segment,
        "the burst is held in segments ({full} bytes)"
    );
    for i in 0..BURST {
        assert_eq!(consumer.pop(), Some(i));
    }
    let drained = LIVE.load(Ordering::SeqCst) - before;
    assert!(
        drained <= idle + segment,
        "after the burst: {drained} bytes, idle {idle}, a segment {segment}"
    );

    drop((producer, consumer));
    assert_eq!(LIVE.load(Ordering::SeqCst) - before, 0, "everything freed");
    COUNTING.store(false, Ordering::SeqCst);
}
