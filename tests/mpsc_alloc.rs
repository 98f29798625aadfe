#![cfg(not(loom))]
// ci: no-miri: a global counting allocator and 10 M messages; Miri would take hours.
//! Memory of `channel()` and of a cloned `sync_channel`, measured by a counting global
//! allocator: after a burst has been received the unbounded channel returns close to
//! its idle size; a steady stream through `channel()` allocates nothing after warm-up;
//! a stream through a cloned `sync_channel` allocates nothing per message; a first park
//! allocates nothing.
//!
//! The allocator is process-wide, so this file holds one test that runs the parts one
//! after the other (the harness's own thread only waits meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

/// The channel under test (`std::sync::mpsc` passes every part but the steady
/// `channel()` stream, which allocates a block per 31 messages there).
mod chan {
    pub use ringlink::mpsc::*;
}

/// Counts the live bytes of the whole process, and the allocations made on threads that
/// set `COUNTED` while `COUNTING` is set; remembers the largest allocation while
/// `TRACK_LARGEST` is set.
struct Counting;

thread_local! {
    /// Whether this thread is one of a stream's (const-initialised, no destructor:
    /// reading it never allocates).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static TRACK_LARGEST: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn on_alloc(size: usize) {
    LIVE.fetch_add(size as isize, Ordering::Relaxed);
    if COUNTING.load(Ordering::Relaxed) && COUNTED.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
    if TRACK_LARGEST.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters do not
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        on_alloc(new_size);
        // SAFETY: the caller's guarantees for `ptr`, `layout` and `new_size` are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// The values of a burst.
const BURST: u64 = 10_000_000;

#[test]
fn the_channels_memory_stays_bounded() {
    a_burst_through_channel_is_given_back_once_received();
    a_concurrent_burst_through_channel_is_given_back_once_received();
    a_steady_stream_through_channel_allocates_nothing_after_warm_up();
    a_cloned_sync_channel_stream_allocates_nothing_per_message();
    a_first_park_allocates_nothing();
}

/// 10 M `u64` sent with no receiver running (all of them held at the peak), then all
/// received: the live bytes return to within two segments of the idle channel's.
/// Two segments: the one the receiver is reading (the last value's) and the one spare
/// the queue may keep for the sender's next segment; anything more (say, segments freed
/// only at the end, or a spare list that grows with the burst) is memory a drained
/// channel holds for nothing. A segment's size is measured, not assumed: it is the
/// largest allocation made during the burst (which must be small beside the burst, or
/// "two segments" would excuse anything). Catches: segments never freed, freed only
/// when the channel is dropped, or recycled into an unbounded free list; and a leak of
/// segments when the channel is dropped.
fn a_burst_through_channel_is_given_back_once_received() {
    let before = live();
    let (tx, rx) = chan::channel::<u64>();
    // Warm: the first segment exists.
    tx.send(0).unwrap();
    assert_eq!(rx.recv(), Ok(0));
    let idle = live();
    LARGEST.store(0, Ordering::SeqCst);
    TRACK_LARGEST.store(true, Ordering::SeqCst);
    for i in 0..BURST {
        tx.send(i).unwrap();
    }
    TRACK_LARGEST.store(false, Ordering::SeqCst);
    let peak = live();
    let segment = LARGEST.load(Ordering::SeqCst) as isize;
    for i in 0..BURST {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    let drained = live();
    // The counter sees the burst (else the rest would prove nothing).
    assert!(
        peak - idle >= 8 * BURST as isize,
        "the burst's {BURST} values must be held at the peak: idle {idle}, peak {peak}"
    );
    assert!(
        segment > 0 && segment * 100 <= peak - idle,
        "a segment ({segment} bytes) is at most 1% of the burst ({} bytes)",
        peak - idle
    );
    assert!(
        drained <= idle + 2 * segment,
        "after draining: {drained} live bytes, idle {idle}, segment {segment}"
    );
    drop((tx, rx));
    let gone = live();
    assert!(
        gone < before + segment,
        "dropping the channel gives everything back: {gone} live bytes, {before} before it"
    );
    // Printed only now: the test harness captures the output in a buffer it allocates,
    // which the counter would take for the channel's.
    eprintln!(
        "channel() burst of {BURST} u64: live bytes idle {idle}, peak {peak}, drained \
         {drained}, after the drop {gone} (before the channel {before}); largest \
         allocation (a segment) {segment} bytes"
    );
}

/// The same burst with the sender on its own thread and the receiver draining as it
/// goes: after the sender's thread is joined and everything is received, the live bytes
/// return to within two segments of the idle channel's.
fn a_concurrent_burst_through_channel_is_given_back_once_received() {
    let (tx, rx) = chan::channel::<u64>();
    tx.send(0).unwrap();
    assert_eq!(rx.recv(), Ok(0));
    // A thread's own memory (its handle, its name) is not the channel's: measure the
    // idle size with a spawned and joined thread's leftovers included.
    thread::spawn(|| {}).join().unwrap();
    let idle = live();
    LARGEST.store(0, Ordering::SeqCst);
    TRACK_LARGEST.store(true, Ordering::SeqCst);
    let sender = thread::spawn(move || {
        for i in 0..BURST {
            tx.send(i).unwrap();
        }
        tx
    });
    let mut expected = 0;
    while expected < BURST {
        assert_eq!(rx.recv(), Ok(expected));
        expected += 1;
    }
    let tx = sender.join().unwrap();
    TRACK_LARGEST.store(false, Ordering::SeqCst);
    let segment = LARGEST.load(Ordering::SeqCst) as isize;
    let drained = live();
    eprintln!(
        "channel() concurrent burst of {BURST} u64: live bytes idle {idle}, drained \
         {drained}; largest allocation {segment} bytes"
    );
    assert!(
        drained <= idle + 2 * segment,
        "after draining: {drained} live bytes, idle {idle}, segment {segment}"
    );
    drop((tx, rx));
}

/// A steady stream through `channel()` whose receiver keeps up (never more than a few
/// values queued) allocates nothing once warm: the receiver hands its finished segment
/// back as the spare the sender links next. First on one thread (send a few, receive
/// them), then with the two halves on two threads. Catches a queue that frees every
/// finished segment and allocates a fresh one (as std's does: this part fails on std,
/// which shows the counter has teeth).
fn a_steady_stream_through_channel_allocates_nothing_after_warm_up() {
    const MESSAGES: u64 = 1_000_000;
    const WARM_UP: u64 = 100_000;
    /// The most values queued at once: small beside any sensible segment.
    const DEPTH: u64 = 4;

    // One thread: send `DEPTH`, receive `DEPTH`.
    let (tx, rx) = chan::channel::<u64>();
    let round = |next: u64| {
        for i in 0..DEPTH {
            tx.send(next + i).unwrap();
        }
        for i in 0..DEPTH {
            assert_eq!(rx.try_recv(), Ok(next + i));
        }
    };
    let mut next = 0;
    while next < WARM_UP {
        round(next);
        next += DEPTH;
    }
    COUNTED.with(|counted| counted.set(true));
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    while next < WARM_UP + MESSAGES {
        round(next);
        next += DEPTH;
    }
    COUNTING.store(false, Ordering::SeqCst);
    COUNTED.with(|counted| counted.set(false));
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(
        allocs, 0,
        "one thread, {MESSAGES} messages at most {DEPTH} deep: allocations"
    );
    drop(tx);

    // Two threads: the sender stays at most `DEPTH` values ahead of the receiver.
    let (tx, rx) = chan::channel::<u64>();
    let received = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(2));
    let (theirs, their_barrier) = (received.clone(), barrier.clone());
    let sender = thread::spawn(move || {
        COUNTED.with(|counted| counted.set(true));
        let mut sent = 0;
        let mut send_up_to = |end: u64| {
            while sent < end {
                if sent - theirs.load(Ordering::Acquire) < DEPTH {
                    tx.send(sent).unwrap();
                    sent += 1;
                } else {
                    std::hint::spin_loop();
                    thread::yield_now();
                }
            }
        };
        send_up_to(WARM_UP);
        their_barrier.wait(); // warm
        their_barrier.wait(); // counting
        send_up_to(WARM_UP + MESSAGES);
        their_barrier.wait(); // done (the receiver has read the count)
        tx
    });
    let mut expected = 0;
    let mut receive_up_to = |end: u64| {
        while expected < end {
            assert_eq!(rx.recv(), Ok(expected));
            expected += 1;
            received.store(expected, Ordering::Release);
        }
    };
    receive_up_to(WARM_UP);
    barrier.wait();
    COUNTED.with(|counted| counted.set(true));
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    barrier.wait();
    receive_up_to(WARM_UP + MESSAGES);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    COUNTED.with(|counted| counted.set(false));
    barrier.wait();
    drop(sender.join().unwrap());
    assert_eq!(
        allocs, 0,
        "two threads, {MESSAGES} messages at most {DEPTH} deep: allocations"
    );
    counter_has_teeth();
}

/// A `sync_channel(64)` whose sender was cloned for three threads: once the stream runs,
/// neither the senders (even when they block on the full buffer, and wake) nor the
/// receiver allocate. Catches a multi-producer path that allocates per message (a node
/// per value) or per wait (a waiter entry per blocked send).
fn a_cloned_sync_channel_stream_allocates_nothing_per_message() {
    const SENDERS: u64 = 3;
    const PER_SENDER: u64 = 300_000;
    const WARM_UP: u64 = 10_000;
    let (tx, rx) = chan::sync_channel::<u64>(64);
    let barrier = Arc::new(Barrier::new(SENDERS as usize + 1));
    let senders: Vec<_> = (0..SENDERS)
        .map(|id| {
            let tx = tx.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                COUNTED.with(|counted| counted.set(true));
                for seq in 0..WARM_UP {
                    tx.send((id << 32) | seq).unwrap();
                }
                barrier.wait(); // warm
                barrier.wait(); // counting
                for seq in WARM_UP..PER_SENDER {
                    tx.send((id << 32) | seq).unwrap();
                }
                barrier.wait(); // done
                tx
            })
        })
        .collect();
    drop(tx);
    let mut next = [0u64; SENDERS as usize];
    let mut receive = |count: u64| {
        for _ in 0..count {
            let value = rx.recv().unwrap();
            let (id, seq) = ((value >> 32) as usize, value & 0xFFFF_FFFF);
            assert_eq!(seq, next[id], "sender {id}");
            next[id] += 1;
        }
    };
    receive(SENDERS * WARM_UP);
    barrier.wait();
    COUNTED.with(|counted| counted.set(true));
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    barrier.wait();
    receive(SENDERS * (PER_SENDER - WARM_UP));
    let allocs = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    COUNTED.with(|counted| counted.set(false));
    barrier.wait();
    for sender in senders {
        drop(sender.join().unwrap());
    }
    assert_eq!(
        allocs,
        0,
        "{} messages from {SENDERS} clones: allocations",
        SENDERS * (PER_SENDER - WARM_UP)
    );
}

/// The allocation counter counts: a box made on a counted thread while counting is.
fn counter_has_teeth() {
    COUNTED.with(|counted| counted.set(true));
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let boxed = std::hint::black_box(Box::new(7u64));
    COUNTING.store(false, Ordering::SeqCst);
    COUNTED.with(|counted| counted.set(false));
    drop(boxed);
    assert_eq!(ALLOCS.load(Ordering::SeqCst), 1);
}

/// A sender blocks on a full `sync_channel(1)` long enough to park, then the receiver
/// takes both values (and may park for the second): neither side's first park on its
/// wait slot allocates. Catches a slot that makes room for its sleepers only when the
/// first one parks: a stream that first parks after its warm-up would then allocate in
/// the counted stream (it made the cloned-stream part above flaky). The pause only makes
/// the park likely; a correct channel passes whatever the timing.
fn a_first_park_allocates_nothing() {
    /// Far longer than a sender spins before it parks (about 10 µs).
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
    let (tx, rx) = chan::sync_channel::<u64>(1);
    tx.send(0).unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let their_barrier = barrier.clone();
    let sender = thread::spawn(move || {
        their_barrier.wait(); // counting
        COUNTED.with(|counted| counted.set(true));
        tx.send(1).unwrap(); // blocks on the full buffer, then parks
        COUNTED.with(|counted| counted.set(false));
        tx
    });
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    barrier.wait();
    thread::sleep(PAUSE);
    COUNTED.with(|counted| counted.set(true));
    assert_eq!(rx.recv(), Ok(0));
    assert_eq!(rx.recv(), Ok(1));
    COUNTED.with(|counted| counted.set(false));
    let allocs = ALLOCS.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    drop(sender.join().unwrap());
    assert_eq!(
        allocs, 0,
        "a blocked sender's first park and the receiver's"
    );
}
