//! The unbounded queue behind `mpsc::channel()`: a chain of fixed-size segments.
//!
//! Crate-internal; `#[doc(hidden)]`-public only so that tests and loom models can reach
//! it (`ringlink::__list`).
//!
//! Contract:
//! - [`list`] makes an empty queue: a [`ListProducer`] (one pusher, no locked
//!   instruction per push) and a [`ListConsumer`] (one popper).
//! - `push` never fails and never blocks: when the current segment is full the producer
//!   links a fresh segment (or the one spare segment the consumer kept), so a steady
//!   stream allocates nothing.
//! - [`ListProducer::into_shared`] upgrades the one producer into a
//!   [`SharedListProducer`] that any number of threads push through by `&self`
//!   (`Sync`); every value pushed before the upgrade is popped before any pushed after.
//!   Values pushed through the shared producer keep causal order: a push that happens
//!   before another is popped first.
//! - The consumer pops in order, frees a segment once it has left it (keeping at most
//!   one spare), so memory returns to about one segment after a burst is drained.
//! - Dropping the consumer marks the queue abandoned (`Release`, after its last pop) and
//!   drops at once the values ready then; dropping the producer (the shared one: when
//!   its last owner drops it) marks it abandoned after its last push. Whatever is left
//!   is dropped with the last half. Every value is dropped exactly once.
//!
//! # How it works
//!
//! Positions count up from 0 in *laps* of `LAP`: position `p` lives in slot
//! `p % LAP` of the segment of lap `p / LAP`. A segment has `LAP - 1` slots; the last
//! offset of each lap, `SLOTS`, is no slot but a *sentinel*: the shared producer's
//! index sits on it while the producer that took the segment's last slot installs the
//! next segment (the one producer and the consumer skip it). A slot's `stamp` is its
//! position plus one once its value is written: the stamps a recycled segment keeps
//! from its last use are all smaller, so a segment is never cleared.
//!
//! Zero-sized values take the same path as any other (their slots are stamps only):
//! one algorithm, no special case.

// Each `Release`/`Acquire` below is weakened to `Relaxed` in turn by `.ci/mutants`:
// mutants(loom_list): orderings

use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::panic::{RefUnwindSafe, UnwindSafe};
use core::ptr;
use std::alloc::{alloc, handle_alloc_error, Layout};

use crossbeam_utils::CachePadded;

use crate::sync::{
    spin_loop, thread, Arc, AtomicBool, AtomicPtr, AtomicUsize, Ordering, UnsafeCell,
};

/// Positions per segment: its slots plus the sentinel. A power of two, so that `%` and
/// `/` by it are a mask and a shift.
///
/// 64 (63 slots), by measurement: instructions per push+pop of a `u64` on one thread
/// (callgrind, difference between 2 M and 1 M iterations) were 44.0 with 32, 43.5 with
/// 64 and 39.1 with 256 (the bounded ring: 42.0 in the same loop); with a shared
/// producer 60.7, 59.5 and 53.1. 256 saves about 4 instructions, but quadruples what an
/// idle queue holds (two segments: 2 KiB of `u64`s become 8 KiB) and what making a
/// queue costs (a short-lived reply channel allocates and stamps a whole segment).
/// Under loom, 3 (2 slots), so that models cross segments within a few values.
#[cfg(not(loom))]
const LAP: usize = 64;
#[cfg(loom)]
const LAP: usize = 3;

/// Slots per segment; also the offset of the sentinel.
const SLOTS: usize = LAP - 1;

/// The size in bytes of one segment of a queue of `T`: what the queue holds at least
/// while it lives (for tests of its memory use).
pub fn segment_bytes<T>() -> usize {
    core::mem::size_of::<Segment<T>>()
}

/// One slot: a value and the stamp that publishes it.
struct Slot<T> {
    /// `position + 1` once the value for `position` is written (`Release`, by the
    /// producer that claimed the position); the consumer's `Acquire` load of it pairs
    /// with that store. 0 in a fresh segment; a recycled one keeps the stamps of its last
    /// use, all smaller than any position it will hold.
    stamp: AtomicUsize,
    /// Initialised exactly while the stamp says so and the consumer has not passed it.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A fixed run of slots and the link to the next segment.
///
/// A segment is reachable from the consumer's segment through `next`, or is the spare,
/// or is owned by the producer that just took it (before linking it), or is freed.
struct Segment<T> {
    slots: [Slot<T>; SLOTS],
    /// The segment after this one; null until the producer that fills this one's last
    /// slot links it. That producer stores it before the `Release` store of the last
    /// slot's stamp, and the consumer loads it only after the `Acquire` load of that
    /// stamp: the stamp publishes it (and the new segment's contents), so `next` itself
    /// is `Relaxed`.
    next: AtomicPtr<Segment<T>>,
}

impl<T> Segment<T> {
    /// A fresh segment on the heap: stamps 0, `next` null, no values.
    ///
    /// Built in place, so that a large `T` never crosses the stack `SLOTS` times over.
    fn allocate() -> *mut Segment<T> {
        let layout = Layout::new::<Segment<T>>();
        // SAFETY: `layout` is not zero-sized (a segment holds at least `next`).
        let segment = unsafe { alloc(layout) }.cast::<Segment<T>>();
        if segment.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: `segment` is a fresh allocation for one `Segment<T>`; every field is
        // written once, through raw pointers, before any reference to it exists.
        unsafe {
            ptr::addr_of_mut!((*segment).next).write(AtomicPtr::new(ptr::null_mut()));
            let slots = ptr::addr_of_mut!((*segment).slots).cast::<Slot<T>>();
            for i in 0..SLOTS {
                slots.add(i).write(Slot {
                    stamp: AtomicUsize::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                });
            }
        }
        segment
    }

    /// Frees a segment (its values are not dropped: the caller has moved them out).
    ///
    /// # Safety
    ///
    /// `segment` came from [`Segment::allocate`], nothing will touch it again, and every
    /// access to it by other threads happens before this call.
    unsafe fn free(segment: *mut Segment<T>) {
        // SAFETY: `allocate` made it with the global allocator and the layout of one
        // `Segment<T>`, as a `Box` would; the caller gives up every use of it.
        drop(unsafe { Box::from_raw(segment) });
    }

    /// The slot at `offset`.
    ///
    /// # Safety
    ///
    /// `segment` is alive (reachable as the type's doc says) for as long as the returned
    /// reference is used, and `offset < SLOTS`.
    #[inline(always)]
    unsafe fn slot<'a>(segment: *const Segment<T>, offset: usize) -> &'a Slot<T> {
        debug_assert!(offset < SLOTS, "the sentinel offset has no slot");
        // SAFETY: the caller's contract: the segment is alive and the offset in bounds.
        unsafe { (*segment).slots.get_unchecked(offset) }
    }
}

/// The state the halves share.
struct Shared<T> {
    /// The shared producer's index and segment (unused before the upgrade).
    tail: CachePadded<Tail<T>>,
    /// At most one empty segment for the producer to take before it allocates: the
    /// consumer (or a producer that allocated in vain) puts one with a `Release` CAS from
    /// null, a producer takes it with an `Acquire` swap to null, so that the old reads
    /// of its slots happen before the new writes.
    spare: CachePadded<AtomicPtr<Segment<T>>>,
    /// Set (`Release`) by the producer when it goes, after its last push; once a
    /// consumer sees it (`Acquire`), every value pushed is visible to `pop`.
    producer_gone: AtomicBool,
    /// Set (`Release`) by the consumer when it goes, after its last pop.
    consumer_gone: AtomicBool,
    /// Where the consumer stopped: written by its drop, read by the queue's drop (the
    /// `Arc` orders the two), so `Relaxed`.
    consumer_position: AtomicUsize,
    consumer_segment: AtomicPtr<Segment<T>>,
}

/// Where the shared producers claim positions.
///
/// `index` is the next position to claim; it sits on a lap's sentinel offset while the
/// producer that claimed the lap's last slot installs the next segment, and then jumps
/// to the next lap's first position (a `Release` store, after `segment` is stored).
/// `segment` is the segment of `index`'s lap whenever `index` is not on a sentinel.
struct Tail<T> {
    index: AtomicUsize,
    segment: AtomicPtr<Segment<T>>,
}

impl<T> Shared<T> {
    /// Whether the consumer is gone, for every kind of producer and the probe (`Acquire`:
    /// everything the consumer's thread did before is visible).
    #[inline(always)]
    fn consumer_gone(&self) -> bool {
        self.consumer_gone.load(Ordering::Acquire)
    }

    /// An empty segment: the spare if there is one, else a fresh one.
    fn take_segment(&self) -> *mut Segment<T> {
        // Pairs with the `Release` of `put_spare`: whoever used the segment before is
        // done with its slots before they are written again.
        let spare = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if spare.is_null() {
            Segment::allocate()
        } else {
            spare
        }
    }

    /// Keeps an empty segment as the spare, or frees it if there is one already.
    ///
    /// # Safety
    ///
    /// The caller owns `segment`: nobody else will touch it, and every value it held has
    /// been moved out.
    unsafe fn put_spare(&self, segment: *mut Segment<T>) {
        // SAFETY: the caller owns the segment.
        unsafe { (*segment).next.store(ptr::null_mut(), Ordering::Relaxed) };
        // Hands the segment over to the producer that takes it (pairs with the `Acquire`
        // of `take_segment`).
        if self
            .spare
            .compare_exchange(
                ptr::null_mut(),
                segment,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: the caller owns the segment and it did not become the spare.
            unsafe { Segment::free(segment) };
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both halves are gone (the `Arc` made their accesses happen before this): drop
        // what the consumer left and free every segment.
        let mut remains = Remains {
            position: self.consumer_position.load(Ordering::Relaxed),
            segment: self.consumer_segment.load(Ordering::Relaxed),
        };
        remains.drop_all();
        let spare = self.spare.load(Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the spare is empty and nobody else is left to take it.
            unsafe { Segment::free(spare) };
        }
    }
}

/// The values and segments of a queue whose halves are both gone, from the consumer's
/// position on. If a value's `drop` panics, dropping this guard while unwinding drops
/// the rest and frees the segments, as `Vec` does.
struct Remains<T> {
    position: usize,
    /// The segment of `position`'s lap; null once everything is freed.
    segment: *mut Segment<T>,
}

impl<T> Remains<T> {
    fn drop_all(&mut self) {
        while !self.segment.is_null() {
            let segment = self.segment;
            let offset = self.position % LAP;
            if offset == SLOTS {
                // Past the last slot: on to the next segment.
                // SAFETY: no other thread is left; the segment is in the chain.
                let next = unsafe { (*segment).next.load(Ordering::Relaxed) };
                // SAFETY: every value in it is gone; nobody else is left to touch it.
                unsafe { Segment::free(segment) };
                self.segment = next;
                self.position = self.position.wrapping_add(1);
                continue;
            }
            // SAFETY: the segment is alive (in the chain) and `offset < SLOTS`.
            let slot = unsafe { Segment::slot(segment, offset) };
            if slot.stamp.load(Ordering::Relaxed) != self.position.wrapping_add(1) {
                // Every claimed position was written (all producers are gone), so the
                // values end here: the segments from here on are empty.
                self.segment = ptr::null_mut();
                free_chain(segment);
                return;
            }
            // Past it before dropping it: a value whose `drop` panics is not dropped again.
            self.position = self.position.wrapping_add(1);
            // SAFETY: the stamp says the value was written, and the consumer stopped
            // before it, so it was not moved out; `position` moved past it.
            slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Drop for Remains<T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// Frees `segment` and every segment linked after it (all empty).
fn free_chain<T>(mut segment: *mut Segment<T>) {
    while !segment.is_null() {
        // SAFETY: called from the queue's drop: no other thread is left, and the chain's
        // values are gone.
        let next = unsafe { (*segment).next.load(Ordering::Relaxed) };
        // SAFETY: as above.
        unsafe { Segment::free(segment) };
        segment = next;
    }
}

/// Makes an empty unbounded queue.
pub fn list<T>() -> (ListProducer<T>, ListConsumer<T>) {
    let first = Segment::allocate();
    let shared = Arc::new(Shared {
        tail: CachePadded::new(Tail {
            index: AtomicUsize::new(0),
            segment: AtomicPtr::new(first),
        }),
        spare: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
        producer_gone: AtomicBool::new(false),
        consumer_gone: AtomicBool::new(false),
        consumer_position: AtomicUsize::new(0),
        consumer_segment: AtomicPtr::new(first),
    });
    let producer = ListProducer {
        position: 0,
        segment: first,
        shared: shared.clone(),
    };
    let consumer = ListConsumer {
        position: 0,
        segment: first,
        shared,
    };
    (producer, consumer)
}

/// The one pushing half of an unbounded queue.
pub struct ListProducer<T> {
    /// The next position to fill; never on a sentinel offset.
    position: usize,
    /// The segment of `position`'s lap: linked into the chain (the producer links each
    /// segment as soon as it moves into it), so alive until the consumer passes its last
    /// slot, which it cannot before this side fills it.
    segment: *mut Segment<T>,
    shared: Arc<Shared<T>>,
}

// SAFETY: the producer moves values of `T` to the consumer's thread, so it is `Send` when
// `T` is; its segment pointer refers to a segment the queue keeps alive for it (see the
// field).
unsafe impl<T: Send> Send for ListProducer<T> {}

impl<T> UnwindSafe for ListProducer<T> {}
impl<T> RefUnwindSafe for ListProducer<T> {}

impl<T> ListProducer<T> {
    /// Pushes a value; never fails (allocates a segment when the current one is full).
    #[inline]
    pub fn push(&mut self, value: T) {
        let position = self.position;
        let offset = position % LAP;
        // SAFETY: `self.segment` is alive (see the field) and `offset` is no sentinel.
        let slot = unsafe { Segment::slot(self.segment, offset) };
        // SAFETY: the slot's stamp is older than `position + 1`, so the consumer does not
        // read it before the store below, and whoever read it last is done (the spare's
        // hand-over, or a fresh segment).
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        if offset == SLOTS - 1 {
            // mutant(loom_list): publish a segment's last value before linking the next => { slot.stamp.store(position.wrapping_add(1), Ordering::Release); self.link_next(); return; }
            self.link_next();
        } else {
            self.position = position.wrapping_add(1);
        }
        // Publishes the value (and, for the last slot, the link just stored) to `pop`
        // (pairs with its `Acquire` load of the stamp).
        slot.stamp
            .store(position.wrapping_add(1), Ordering::Release);
    }

    /// Links the next segment after the current one and moves into it, before the
    /// current one's last value is published: the consumer that takes that value finds
    /// `next` set.
    #[cold]
    #[inline(never)]
    fn link_next(&mut self) {
        let next = self.shared.take_segment();
        // Published by the last slot's stamp, stored after this.
        // SAFETY: `self.segment` is alive (see the field).
        unsafe { (*self.segment).next.store(next, Ordering::Relaxed) };
        self.segment = next;
        // Over the sentinel: the one producer never needs it.
        self.position = self.position.wrapping_add(2);
    }

    /// Whether the consumer is gone (`Acquire`: everything it did before is visible).
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        self.shared.consumer_gone()
    }

    /// Turns this producer into one that many threads may push through.
    ///
    /// Every value pushed before is popped before any pushed through the result.
    pub fn into_shared(self) -> SharedListProducer<T> {
        let this = ManuallyDrop::new(self);
        // The thread that calls this is the only producer: the other threads reach the
        // result only through something that synchronizes (a spawn, a channel, an
        // `Arc`), which orders these stores before their loads.
        this.shared
            .tail
            .segment
            .store(this.segment, Ordering::Relaxed);
        this.shared
            .tail
            .index
            .store(this.position, Ordering::Relaxed);
        SharedListProducer {
            // SAFETY: `this` is never used or dropped again, so its `Arc` moves out once.
            shared: unsafe { ptr::read(&this.shared) },
            _values: PhantomData,
        }
    }
}

impl<T> Drop for ListProducer<T> {
    fn drop(&mut self) {
        // After the last push: a consumer that sees the flag sees every value.
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for ListProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListProducer")
            .field("position", &self.position)
            .field("is_abandoned", &self.is_abandoned())
            .finish_non_exhaustive()
    }
}

/// What any sender may look at without owning the list's producer: whether the
/// consumer is gone (crate-internal; the list always has room).
pub(crate) struct ListProbe<T> {
    shared: Arc<Shared<T>>,
}

// SAFETY: a probe only loads `consumer_gone`; it never touches a segment, so sharing or
// sending it moves no `T`. (`T: Send` anyway: the probe keeps the queue alive.)
unsafe impl<T: Send> Send for ListProbe<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for ListProbe<T> {}

impl<T> ListProbe<T> {
    /// Whether the consumer is gone (`Acquire`, as [`ListProducer::is_abandoned`]).
    #[inline(always)]
    pub(crate) fn is_abandoned(&self) -> bool {
        self.shared.consumer_gone()
    }
}

impl<T> ListProducer<T> {
    /// A probe of this list (see [`ListProbe`]).
    pub(crate) fn probe(&self) -> ListProbe<T> {
        ListProbe {
            shared: self.shared.clone(),
        }
    }

    /// How far this producer has pushed (positions, wrapping; each segment also skips a
    /// sentinel position).
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.position
    }
}

/// The pushing half after the upgrade: `Sync`, pushes by `&self`.
///
/// Producers claim positions with a CAS on the shared index, so the positions, and the
/// order of popping, follow that index's modification order: a push that happens before
/// another claims an earlier position.
pub struct SharedListProducer<T> {
    shared: Arc<Shared<T>>,
    /// The values pushed go to the consumer's thread: `Send` and `Sync` only when `T`
    /// is `Send` (see the impls).
    _values: PhantomData<*const T>,
}

// SAFETY: the producer moves values of `T` to the consumer's thread, so it is `Send` when
// `T` is.
unsafe impl<T: Send> Send for SharedListProducer<T> {}
// SAFETY: through `&self`, threads only push (moving their values to the consumer's
// thread, hence `T: Send`); they claim positions by CAS, so no two write one slot.
unsafe impl<T: Send> Sync for SharedListProducer<T> {}

impl<T> UnwindSafe for SharedListProducer<T> {}
impl<T> RefUnwindSafe for SharedListProducer<T> {}

impl<T> SharedListProducer<T> {
    /// Pushes a value; never fails.
    #[inline]
    pub fn push(&self, value: T) {
        let tail = &self.shared.tail;
        // A segment taken for the next lap before claiming a lap's last slot, so that
        // the other producers wait on the sentinel as briefly as possible.
        let mut fresh: *mut Segment<T> = ptr::null_mut();
        // Pairs with the `Release` store of `index` by the producer that installed this
        // lap's segment (the CASs since continue its release sequence): `segment` below
        // is that one or a later one.
        let mut index = tail.index.load(Ordering::Acquire);
        loop {
            let offset = index % LAP;
            if offset == SLOTS {
                index = wait_for_next_lap(&tail.index);
                continue;
            }
            // Not dereferenced unless the CAS below succeeds, which proves it is `index`'s
            // segment: `index` stood still from its load to the CAS, and `segment`
            // changes only while `index` is on a sentinel. The `Acquire` of `index`
            // makes `segment` this lap's or a later one's; this `Acquire` (with the
            // installer's `Release` store) excludes a later one's when the CAS succeeds:
            // that store comes after the CAS that moved `index` past this lap, which then
            // happens before this CAS, so this one cannot find `index` unchanged.
            // not a mutant: it forbids a load reading from a store that in effect comes
            // after its own thread's later CAS (load buffering), which loom does not model
            // (a load returns only values already stored).
            let segment = tail.segment.load(Ordering::Acquire);
            if offset == SLOTS - 1 && fresh.is_null() {
                fresh = self.shared.take_segment();
            }
            let claimed = index.wrapping_add(1);
            // Success: `Relaxed`, the loads above did the acquiring. Failure: `Acquire`,
            // as for the first load.
            match tail.index.compare_exchange_weak(
                index,
                claimed,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset == SLOTS - 1 {
                        // `claimed` is the sentinel: install the next lap's segment.
                        let next = core::mem::replace(&mut fresh, ptr::null_mut());
                        // mutant(loom_list): lower the sentinel before installing the segment => { tail.index.store(claimed.wrapping_add(1), Ordering::Release); tail.segment.store(next, Ordering::Release); }
                        // Pairs with the `Acquire` load of `segment` above (see there).
                        // not a mutant: the same load buffering loom does not model; the
                        // waiters find `next` through `index`'s `Release` below.
                        tail.segment.store(next, Ordering::Release);
                        // Lowers the sentinel; pairs with the other producers' `Acquire`
                        // loads of `index`, which then find `next` in `segment`.
                        tail.index.store(claimed.wrapping_add(1), Ordering::Release);
                        // Published by the last slot's stamp, stored below.
                        // SAFETY: `segment` is alive: its last slot is unwritten.
                        unsafe { (*segment).next.store(next, Ordering::Relaxed) };
                    }
                    // SAFETY: the CAS proved `segment` is `index`'s (see above); it is
                    // alive until the consumer passes position `index`, unwritten yet.
                    let slot = unsafe { Segment::slot(segment, offset) };
                    // SAFETY: this thread alone claimed `index`; the consumer reads the
                    // slot only after the stamp below, and its last reader is done (the
                    // spare's hand-over, or a fresh segment).
                    slot.value.with_mut(|p| unsafe { (*p).write(value) });
                    // Publishes the value (and the link) to `pop` (pairs with its
                    // `Acquire` load of the stamp).
                    slot.stamp.store(index.wrapping_add(1), Ordering::Release);
                    if !fresh.is_null() {
                        // Taken for a lap's end that another producer claimed.
                        // SAFETY: never linked, so this thread owns it.
                        unsafe { self.shared.put_spare(fresh) };
                    }
                    return;
                }
                Err(now) => index = now,
            }
        }
    }

    /// Whether the consumer is gone (`Acquire`: everything it did before is visible).
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        self.shared.consumer_gone()
    }
}

/// Waits while `index` is on a sentinel (another producer installs the next segment,
/// a few instructions away), and returns the index past it.
#[cold]
#[inline(never)]
fn wait_for_next_lap(index: &AtomicUsize) -> usize {
    let mut spins = 0u32;
    loop {
        // The installer is a few instructions from done, unless it was preempted: spin a
        // little, then give it the CPU.
        if spins < 16 {
            spins += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
        // As the first load in `push`.
        let now = index.load(Ordering::Acquire);
        if now % LAP != SLOTS {
            return now;
        }
    }
}

impl<T> Drop for SharedListProducer<T> {
    fn drop(&mut self) {
        // Runs once, when the last owner drops it, after every push through `&self`
        // (which the owners' own synchronization orders before): a consumer that sees
        // the flag sees every value.
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for SharedListProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedListProducer")
            .field("is_abandoned", &self.is_abandoned())
            .finish_non_exhaustive()
    }
}

/// The popping half of an unbounded queue.
pub struct ListConsumer<T> {
    /// The next position to pop; never on a sentinel offset.
    position: usize,
    /// The segment of `position`'s lap. The consumer frees segments, and only those it
    /// has left, so this one is alive.
    segment: *mut Segment<T>,
    shared: Arc<Shared<T>>,
}

// SAFETY: the consumer receives values of `T` from the producers' threads, so it is
// `Send` when `T` is; its segment pointer refers to a segment only it frees.
unsafe impl<T: Send> Send for ListConsumer<T> {}

impl<T> UnwindSafe for ListConsumer<T> {}
impl<T> RefUnwindSafe for ListConsumer<T> {}

impl<T> ListConsumer<T> {
    /// Pops the oldest value, or `None` when none is ready.
    ///
    /// Waits for nothing: `None` when the value at the head is not written yet, even if
    /// later ones are.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let position = self.position;
        let offset = position % LAP;
        // SAFETY: `self.segment` is alive (see the field) and `offset` is no sentinel.
        let slot = unsafe { Segment::slot(self.segment, offset) };
        // Pairs with the producer's `Release` store of the stamp: the value (and, in a
        // segment's last slot, its `next`) is visible.
        if slot.stamp.load(Ordering::Acquire) != position.wrapping_add(1) {
            return None;
        }
        // SAFETY: the stamp says the value for `position` is written, and no producer
        // touches the slot again before the segment is recycled, which only this side
        // does, after moving past it below.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        if offset == SLOTS - 1 {
            self.leave_segment();
        } else {
            self.position = position.wrapping_add(1);
        }
        Some(value)
    }

    /// Whether no value is ready to pop right now.
    #[inline]
    pub fn is_empty(&self) -> bool {
        let position = self.position;
        // SAFETY: as in `pop`.
        let slot = unsafe { Segment::slot(self.segment, position % LAP) };
        // `Relaxed`: nothing is read on the strength of it (`pop` acquires for itself).
        slot.stamp.load(Ordering::Relaxed) != position.wrapping_add(1)
    }

    /// Moves into the next segment after taking the current one's last value, and
    /// recycles the current one.
    #[cold]
    #[inline(never)]
    fn leave_segment(&mut self) {
        let old = self.segment;
        // Set before the last slot's stamp that `pop` just acquired.
        // SAFETY: `old` is alive until recycled below.
        let next = unsafe { (*old).next.load(Ordering::Relaxed) };
        // Once per segment, so a real check: a broken invariant is a panic, not UB.
        assert!(
            !next.is_null(),
            "ringlink: a segment's last value published unlinked"
        );
        self.segment = next;
        self.position = self.position.wrapping_add(2);
        // SAFETY: every value of `old` is popped, and each producer's last access to it
        // (a stamp's store, after the link) happens before this thread's `Acquire` load
        // of that stamp; no producer dereferences it again (only a successful CAS on an
        // index of its lap lets one, and the index is past that lap).
        unsafe { self.shared.put_spare(old) };
    }

    /// Whether the producer (every shared owner, after an upgrade) is gone; once true,
    /// every value pushed is visible to `pop`.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        self.shared.producer_gone.load(Ordering::Acquire)
    }
}

impl<T> Drop for ListConsumer<T> {
    fn drop(&mut self) {
        // After the last pop (pairs with the producers' `Acquire` loads in
        // `is_abandoned`).
        self.shared.consumer_gone.store(true, Ordering::Release);
        let mut drain = Drain { consumer: self };
        drain.drop_all();
    }
}

/// The values a dropped [`ListConsumer`] drops before it goes: those ready. If one's
/// `drop` panics, dropping this guard while unwinding drops the rest, as `Vec` does (a
/// second panic then aborts the process).
///
/// It pops until a pop finds nothing: a producer that kept pushing as fast as this
/// drops would keep it going; producers are expected to stop once `is_abandoned`.
struct Drain<'a, T> {
    consumer: &'a mut ListConsumer<T>,
}

impl<T> Drain<'_, T> {
    fn drop_all(&mut self) {
        while let Some(value) = self.consumer.pop() {
            drop(value);
        }
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.drop_all();
        // Where the queue's drop picks up (the `Arc` orders these before it).
        let shared = &self.consumer.shared;
        shared
            .consumer_position
            .store(self.consumer.position, Ordering::Relaxed);
        shared
            .consumer_segment
            .store(self.consumer.segment, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for ListConsumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListConsumer")
            .field("position", &self.position)
            .field("is_abandoned", &self.is_abandoned())
            .finish_non_exhaustive()
    }
}
