//! The lock-free single-producer/single-consumer ring buffer.
//!
//! [`RingBuffer::new`] returns the two halves of one bounded ring: a [`Producer`] that
//! pushes values and a [`Consumer`] that pops them, in order. Neither ever blocks, takes
//! a lock or allocates; each may live on its own thread. There is exactly one of each,
//! and neither is `Clone` or `Sync`, so "single producer, single consumer" is checked by
//! the compiler rather than at run time.
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use ringlink::ring::{PopError, PushError, RingBuffer};
//!
//! let (mut producer, mut consumer) = RingBuffer::new(2);
//! let worker = std::thread::spawn(move || {
//!     for i in 0..1000u32 {
//!         let mut value = i;
//!         // A full ring hands the value back; try again until the consumer makes room.
//!         while let Err(PushError::Full(v)) = producer.push(value) {
//!             value = v;
//!             std::hint::spin_loop();
//!         }
//!     }
//! });
//! let mut expected = 0;
//! while expected < 1000 {
//!     match consumer.pop() {
//!         Ok(value) => {
//!             assert_eq!(value, expected);
//!             expected += 1;
//!         }
//!         Err(PopError::Empty) => std::hint::spin_loop(),
//!     }
//! }
//! worker.join().unwrap();
//! ```
//!
//! To wait instead of polling, use the blocking channel built on this ring,
//! [`crate::mpsc`].

mod batch;
mod boxring;
mod error;
#[doc(hidden)]
pub mod list;
mod shared;

pub use batch::PopIter;
pub use boxring::{BoxConsumer, BoxProducer, BoxRing};
pub use error::{CapacityError, PopError, PushError};
pub(crate) use shared::{RingProbe, SharedProducer};

use core::fmt;
use core::mem::MaybeUninit;
use core::panic::{RefUnwindSafe, UnwindSafe};

use crossbeam_utils::CachePadded;

use crate::sync::{Arc, AtomicBool, AtomicU8, AtomicUsize, Ordering, UnsafeCell};

// Each `Release`/`Acquire` below is weakened to `Relaxed` in turn by `.ci/mutants`:
// mutants(loom_ring): orderings

/// How many values share one [`Line`]. Seven `u64` and their marks fill one 64-byte
/// cache line. (Under loom, 2: the same code, with lines small enough for a model to
/// wrap around the ring with a few values.)
#[cfg(not(loom))]
const LINE_SLOTS: usize = 7;
#[cfg(loom)]
const LINE_SLOTS: usize = 2;

/// A position is `line << LINE_SHIFT | offset`, with `offset < LINE_SLOTS`: the offsets
/// from `LINE_SLOTS` to 7 are skipped (see [`next`]).
const LINE_SHIFT: u32 = 3;
const OFFSET_MASK: usize = (1 << LINE_SHIFT) - 1;

/// A group of slots and, at its start, the byte marks that publish their values.
///
/// A byte per slot, gathered at the start of the line, rather than a word beside each
/// value: in a stream, the consumer reads and the producer writes the line the producer
/// is filling, and each time the consumer reads it first, the line crosses between the
/// CPUs twice. With seven `u64` values to a line instead of four, the stream crosses
/// fewer lines: a scratch prototype of the two layouts measured 1.2–2.3x the throughput
/// on the development VM (see the README). A consumer that finds its value's mark has
/// the value in hand without a second cache miss, and never reads `tail` on the fast
/// path.
///
/// `marks[k]` publishes the value of slot `k`. Each write of the slot stores (`Release`)
/// the mark that says "written" in the lap of its position ([`written_mark`]: the lap
/// is the number of times the positions have come round the ring), 1 on even laps and 0
/// on odd ones. The consumer, which knows the lap of the position it waits for, compares
/// the mark with it (`Acquire`, pairing with that store). The marks start at 0, which
/// says "not written" for lap 0. A byte each, not one word for the line: the producers
/// of a cloned channel fill the slots of a line in any order, and each stores only its
/// own slot's mark, with no read-modify-write.
#[repr(C, align(64))]
struct Line<T> {
    marks: [AtomicU8; LINE_SLOTS],
    /// Slot `k` is initialised exactly when its current position lies in `head..tail`.
    values: [UnsafeCell<MaybeUninit<T>>; LINE_SLOTS],
}

/// One slot, found for one position by [`slot_at`]: its mark, its value, and the mark
/// that says "written" in the position's lap.
struct SlotAt<'a, T> {
    mark: &'a AtomicU8,
    value: &'a UnsafeCell<MaybeUninit<T>>,
    written: u8,
}

impl<T> SlotAt<'_, T> {
    /// Whether the slot holds the value of its position (not one from the lap before).
    #[inline(always)]
    fn is_written(&self) -> bool {
        // Pairs with the `Release` store in `publish`: the value published is written
        // before this side reads it.
        self.mark.load(Ordering::Acquire) == self.written
    }

    /// Writes `value` into the slot and publishes it to `pop` (`Release`, pairing with
    /// the `Acquire` load in `is_written`). Both the one producer and the producers of a
    /// cloned channel publish this way: each stores only its own slot's mark.
    ///
    /// # Safety
    ///
    /// The slot is empty, the caller alone may write it (the one producer, or the pusher
    /// that claimed the position), and the consumer will not read it before the mark.
    #[inline(always)]
    unsafe fn publish(&self, value: T) {
        // SAFETY: the caller's contract.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        self.mark.store(self.written, Ordering::Release);
    }
}

/// The position after `position`.
#[inline(always)]
fn next<T>(position: usize) -> usize {
    let after = position.wrapping_add(1);
    if !is_zst::<T>() && after & OFFSET_MASK == LINE_SLOTS {
        after.wrapping_add(OFFSET_MASK + 1 - LINE_SLOTS)
    } else {
        after
    }
}

/// How many positions lie in `from..to`, where `to` is not behind `from`.
///
/// Exact while fewer than `LINE_SLOTS * 2^61` values lie between them (on 64-bit
/// targets): the line numbers are taken modulo 2^61, where they wrap.
#[inline(always)]
fn distance<T>(from: usize, to: usize) -> usize {
    if is_zst::<T>() {
        return to.wrapping_sub(from);
    }
    let lines = (to >> LINE_SHIFT).wrapping_sub(from >> LINE_SHIFT) & (usize::MAX >> LINE_SHIFT);
    lines
        .wrapping_mul(LINE_SLOTS)
        .wrapping_add(to & OFFSET_MASK)
        .wrapping_sub(from & OFFSET_MASK)
}

/// The position `count` positions after `position`; `count` is at most the ring's
/// storage, which keeps the sum below from overflowing.
#[inline]
fn advance<T>(position: usize, count: usize) -> usize {
    if is_zst::<T>() {
        return position.wrapping_add(count);
    }
    let offsets = (position & OFFSET_MASK) + count;
    let line = (position >> LINE_SHIFT).wrapping_add(offsets / LINE_SLOTS);
    (line << LINE_SHIFT) | (offsets % LINE_SLOTS)
}

/// The state shared by the two halves of one ring.
///
/// Positions (`head`, `tail` and the halves' copies of them) name the slots in the order
/// they are filled and wrap around `usize`: position `line << LINE_SHIFT | offset` is
/// slot `offset` of line `line & mask` (offsets `LINE_SLOTS` to 7 are skipped, see
/// `next`). Because the number of lines is a power of two it divides 2^61, so wrapping
/// never breaks that map. `distance` counts the values between two positions. For a
/// zero-sized `T`, positions are plain counts.
///
/// Invariants:
/// - `distance(head, tail) <= capacity`, at every moment and from either
///   side's view, since each side only ever sees the other's position lag behind.
/// - The slots at positions `head..tail` hold initialised values; all others are empty.
/// - For a zero-sized `T` there is no storage and no marks: `head..tail` is the whole
///   state, and `tail` publishes each value.
/// - A slot's value is written before the `Release` store of its mark and the store of
///   `tail` that publish it, and read only after an `Acquire` load that observed one of
///   them.
///   The consumer hands the slot back with a `Release` store of `head`, which the
///   producer's `Acquire` load of `head` pairs with before it writes the slot again.
pub struct RingBuffer<T> {
    /// Position of the next value to pop. Written by the consumer only (`Release`); read
    /// by the producer (`Acquire`) only when its cached copy says the ring is full.
    /// Padded so that the producer's stores to `tail` never touch this cache line.
    head: CachePadded<AtomicUsize>,
    /// Position of the next slot to fill. Written by the producer only (`Release`); read
    /// by the consumer (`Acquire`) only for a batch or a count: its `pop` looks at the
    /// mark of the slot instead, so on the fast path this line never leaves the
    /// producer's cache.
    tail: CachePadded<AtomicUsize>,
    /// Set (`Release`) by whichever half is dropped first; read (`Acquire`) by the other
    /// half's `is_abandoned`. The producer sets it after its last store of `tail`, so a
    /// consumer that sees it set also sees every value pushed before. The consumer sets
    /// it after its last store of `head` for the values it popped (before it drains the
    /// rest), so a producer that sees it set also sees those slots free.
    abandoned: AtomicBool,
    /// The number of lines minus one; the number of lines is the number that `capacity`
    /// fills, rounded up to a power of two (at least one). 0 for a zero-sized `T`, which
    /// has no storage.
    mask: usize,
    /// Never resized or moved after construction: the halves keep raw pointers into it.
    /// Empty (no allocation) for a zero-sized `T`: such values need no place to live, and
    /// `tail` alone says which are ready (see [`is_zst`]).
    buffer: Box<[Line<T>]>,
}

/// Whether values of `T` take no memory. A ring of them allocates no slots and keeps no
/// mark words: its values are all alike, so only their number matters, and `head`
/// and `tail` hold it. Pushing one forgets it; popping one conjures it back. (A constant
/// for each `T`: the branches on it cost nothing.)
#[inline(always)]
const fn is_zst<T>() -> bool {
    core::mem::size_of::<T>() == 0
}

/// Where a zero-sized value "lives": any aligned non-null address is valid for it.
#[inline(always)]
fn zst_ptr<T>() -> *mut T {
    debug_assert!(is_zst::<T>());
    core::ptr::NonNull::dangling().as_ptr()
}

impl<T> RingBuffer<T> {
    /// Whether the consumer is gone: [`Producer::is_abandoned`], and the probe of a
    /// cloned channel's senders.
    #[inline(always)]
    fn consumer_gone(&self) -> bool {
        // Pairs with the `Release` store in `Consumer`'s drop: see the promise of
        // `Producer::is_abandoned`.
        self.abandoned.load(Ordering::Acquire)
    }

    /// Makes a ring that holds exactly `capacity` values and returns its two halves.
    ///
    /// Capacity 0 is allowed: such a ring is always full and always empty.
    ///
    /// # Panics
    ///
    /// When the storage cannot be allocated (see [`RingBuffer::try_new`] for the error
    /// instead).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(3);
    /// for i in 0..3 {
    ///     producer.push(i).unwrap();
    /// }
    /// assert!(producer.push(3).is_err(), "the fourth push finds the ring full");
    /// assert_eq!(consumer.pop(), Ok(0));
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new(capacity: usize) -> (Producer<T>, Consumer<T>) {
        match Self::try_new(capacity) {
            Ok(halves) => halves,
            Err(error) => panic!("{error}"),
        }
    }

    /// Makes a ring that holds exactly `capacity` values, or says why it cannot.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// assert!(RingBuffer::<[u8; 128]>::try_new(usize::MAX / 2).is_err());
    /// assert!(RingBuffer::<[u8; 128]>::try_new(16).is_ok());
    /// ```
    pub fn try_new(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
        let (mask, buffer) = if is_zst::<T>() {
            // Nothing to store, so any capacity fits: positions wrap around `usize` and
            // `tail - head` still counts up to `usize::MAX` values.
            (0, Box::default())
        } else {
            // The number of lines must be a power of two (see `RingBuffer`), and below
            // 2^61 for `distance`: any number that can be allocated is, since a line
            // takes at least 64 bytes.
            let lines = capacity
                .div_ceil(LINE_SLOTS)
                .max(1)
                .checked_next_power_of_two();
            let error = CapacityError {
                capacity,
                storage: lines.and_then(|lines| lines.checked_mul(LINE_SLOTS)),
                // A line's bytes shared among its slots (rounded up).
                slot_size: core::mem::size_of::<Line<T>>().div_ceil(LINE_SLOTS),
                value_size: core::mem::size_of::<T>(),
                rounding: "the capacity rounded up to whole lines of slots, and the lines to \
                           a power of two",
                overhead: ", the rest for a share of its line's mark word and alignment",
            };
            let lines = lines.ok_or(error)?;
            let mut buffer: Vec<Line<T>> = Vec::new();
            // `try_reserve_exact` reports both a size that overflows the address space and
            // an allocator refusal as an error, where `Vec::with_capacity` would abort.
            buffer.try_reserve_exact(lines).map_err(|_| error)?;
            buffer.extend((0..lines).map(|_| Line {
                marks: core::array::from_fn(|_| AtomicU8::new(0)),
                values: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            }));
            debug_assert!(lines <= usize::MAX >> LINE_SHIFT);
            (lines - 1, buffer.into_boxed_slice())
        };

        let ring = Arc::new(RingBuffer {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            abandoned: AtomicBool::new(false),
            mask,
            buffer,
        });
        let base = ring.buffer.as_ptr();
        let producer = Producer {
            buffer: base,
            mask,
            capacity,
            tail: 0,
            cached_head: 0,
            limit: advance::<T>(0, capacity),
            ring: ring.clone(),
        };
        let consumer = Consumer {
            buffer: base,
            mask,
            capacity,
            head: 0,
            ring,
        };
        Ok((producer, consumer))
    }
}

impl<T> fmt::Debug for RingBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("head", &self.head.load(Ordering::Relaxed))
            .field("tail", &self.tail.load(Ordering::Relaxed))
            .field("abandoned", &self.abandoned.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> Drop for RingBuffer<T> {
    fn drop(&mut self) {
        // The last half is gone (the `Arc` made its accesses happen before this), so no
        // other thread can touch the slots: drop the values still queued.
        let mut queued = Queued {
            head: self.head.load(Ordering::Relaxed),
            tail: self.tail.load(Ordering::Relaxed),
            ring: self,
        };
        queued.drop_all();
    }
}

/// The values a dying ring still holds. If one's `drop` panics, dropping this guard while
/// unwinding drops the rest, as `Vec` does, instead of leaking them.
struct Queued<'a, T> {
    ring: &'a RingBuffer<T>,
    head: usize,
    tail: usize,
}

impl<T> Queued<'_, T> {
    fn drop_all(&mut self) {
        if !core::mem::needs_drop::<T>() {
            self.head = self.tail;
            return;
        }
        while self.head != self.tail {
            let position = self.head;
            // Past it before dropping it: a value whose `drop` panics is not dropped again.
            self.head = next::<T>(position);
            if is_zst::<T>() {
                // SAFETY: position `position` lies in `head..tail`, so a zero-sized value
                // was pushed for it and not popped; it is dropped once because `head`
                // advanced past it. Any aligned non-null pointer is valid for a ZST.
                unsafe { zst_ptr::<T>().drop_in_place() };
            } else {
                let line = &self.ring.buffer[(position >> LINE_SHIFT) & self.ring.mask];
                let slot = &line.values[position & OFFSET_MASK];
                // SAFETY: positions `head..tail` hold initialised values (the ring's
                // invariant), and each is dropped once because `head` advanced past it.
                slot.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T> Drop for Queued<'_, T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// The pushing half of a ring buffer. Made by [`RingBuffer::new`].
///
/// There is one `Producer` per ring: it is neither `Clone` nor `Sync`, though it is
/// `Send` (when `T` is) and so may move to another thread.
///
/// ```compile_fail
/// fn is_clone<C: Clone>() {}
/// is_clone::<ringlink::ring::Producer<u8>>();
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::ring::Producer<u8>>();
/// ```
pub struct Producer<T> {
    /// Start of `ring.buffer`; copied here so that a push touches no shared cache line
    /// but the slot and `tail`.
    buffer: *const Line<T>,
    mask: usize,
    capacity: usize,
    /// This side's position: the authoritative value that `ring.tail` mirrors.
    tail: usize,
    /// The consumer's position as last seen; it may lag behind `ring.head`, which only
    /// makes the ring look fuller than it is, never emptier.
    cached_head: usize,
    /// `capacity` positions after `cached_head`: the ring is full, as far as this side
    /// knows, when `tail` reaches it. (One compare on the fast path, where counting the
    /// values between `cached_head` and `tail` would take several instructions.)
    limit: usize,
    ring: Arc<RingBuffer<T>>,
}

// SAFETY: the producer moves values of `T` to the consumer's thread, so it is `Send` when
// `T` is. Its raw slot pointer refers to storage owned by `ring`, which lives as long as
// the producer, and which only the producer writes at positions outside `head..tail`.
unsafe impl<T: Send> Send for Producer<T> {}

// A panic cannot leave a half's state broken where it could be seen: the only user code a
// push runs is none (values are moved, not cloned or dropped), and a panicking `drop` of
// a value leaves the positions past it (see `Consumer`). So the halves may cross
// `catch_unwind`, as std's channel halves do.
impl<T> UnwindSafe for Producer<T> {}
impl<T> RefUnwindSafe for Producer<T> {}

impl<T> Producer<T> {
    /// Pushes a value, or hands it back in [`PushError::Full`] if the ring is full.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::{PushError, RingBuffer};
    ///
    /// let (mut producer, _consumer) = RingBuffer::new(1);
    /// assert_eq!(producer.push(1), Ok(()));
    /// assert_eq!(producer.push(2), Err(PushError::Full(2)));
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), PushError<T>> {
        self.push_into::<false>(value, 1)
    }

    /// [`push`](Producer::push) for a channel's send, which must not report a value sent
    /// into a ring whose consumer's drop has already emptied it: this push never fills a
    /// slot that the consumer's drop emptied. It reports `Full` instead, when those are
    /// the only free slots, and the send then sees the consumer gone. (A slot that a pop
    /// emptied while the consumer lived may still be filled after it went: that send
    /// came before the consumer's drop was seen, and its value is dropped with the
    /// ring.)
    #[inline(always)]
    pub(crate) fn push_live(&mut self, value: T) -> Result<(), PushError<T>> {
        self.push_into::<true>(value, 1)
    }

    /// [`push_live`](Producer::push_live) for a channel's `send` without a deadline: once
    /// it has filled the room it knew of, it takes the room that the consumer has freed
    /// since only when that is at least a [`refill_batch`](Producer::refill_batch); it
    /// reports `Full` otherwise, and the send waits a while for a batch before it takes
    /// any room (`SendEnd::send_slow`).
    ///
    /// Why: a producer that outruns its consumer keeps the ring full, and then took each
    /// slot as it came free, loading `head` for it. `head` sits on a line that the
    /// consumer writes after every value, so that line crossed between the CPUs once or
    /// twice per value and slowed the consumer down, which kept the ring full. With
    /// batches, a `sync_channel(1024)` stream whose receiver does a little work per
    /// value ran 1.52× as fast (medians of 9 rounds, the builds with and without
    /// batches taking turns in one process, sender and receiver on the two CPUs); where
    /// the receiver keeps up and the ring is rarely full, 0.99×.
    #[inline(always)]
    pub(crate) fn push_live_batched(&mut self, value: T) -> Result<(), PushError<T>> {
        self.push_into::<true>(value, self.refill_batch())
    }

    /// The least room that [`push_live_batched`](Producer::push_live_batched) takes
    /// once it has run out: an eighth of the capacity, at least one slot. (A ring of
    /// up to 15 slots takes any room.)
    #[inline(always)]
    pub(crate) fn refill_batch(&self) -> usize {
        refill_batch(self.capacity)
    }

    /// All pushes: `LIVE` is `true` for [`push_live`](Producer::push_live) and
    /// [`push_live_batched`](Producer::push_live_batched); once the room this side knew
    /// of is filled, a reload of `head` must find `min_room` free slots to go on.
    #[inline(always)]
    fn push_into<const LIVE: bool>(
        &mut self,
        value: T,
        min_room: usize,
    ) -> Result<(), PushError<T>> {
        let tail = self.tail;
        if tail == self.limit && !self.reload_limit::<LIVE>(min_room) {
            return Err(PushError::Full(value));
        }
        let next = next::<T>(tail);
        if is_zst::<T>() {
            // Nothing to write: the ring owns the value from now on, and `pop` (or the
            // ring's drop) makes it again from nothing.
            core::mem::forget(value);
        } else {
            // SAFETY: `tail` has not reached `limit`, so fewer than `capacity` values lie
            // in `head..tail` and position `tail` is outside it: its slot is empty, and
            // the consumer will not read it before the mark below.
            unsafe { self.write(tail, value) };
        }
        // Publishes the value to batches and counts, and, for zero-sized values, to `pop`
        // too (pairs with the consumer's `Acquire` loads of `tail`).
        self.ring.tail.store(next, Ordering::Release);
        self.tail = next;
        Ok(())
    }

    /// The number of free slots: how many values a push could take right now.
    ///
    /// The consumer may free more at any moment, never fewer.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, _consumer) = RingBuffer::new(4);
    /// producer.push('a').unwrap();
    /// assert_eq!(producer.slots(), 3);
    /// ```
    pub fn slots(&self) -> usize {
        self.capacity - distance::<T>(self.load_head(), self.tail)
    }

    /// The consumer's position: every slot before it has been read, and may be written.
    #[inline]
    fn load_head(&self) -> usize {
        // Pairs with the consumer's `Release` store of `head`: the slots it handed back
        // have been read before this side writes them again.
        self.ring.head.load(Ordering::Acquire)
    }

    /// Whether a push would fail right now.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, _consumer) = RingBuffer::new(1);
    /// assert!(!producer.is_full());
    /// producer.push(()).unwrap();
    /// assert!(producer.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.slots() == 0
    }

    /// The number of values the ring holds when full: exactly what was asked for.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (producer, _consumer) = ringlink::ring::RingBuffer::<u8>::new(3);
    /// assert_eq!(producer.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the [`Consumer`] has been dropped. Values pushed from then on are dropped
    /// with the producer.
    ///
    /// Once this returns `true`, everything the consumer's thread did before it dropped
    /// the consumer is visible to this thread, as after joining that thread: among it,
    /// every slot the consumer emptied is free for [`push`](Producer::push).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (producer, consumer) = ringlink::ring::RingBuffer::<u8>::new(3);
    /// assert!(!producer.is_abandoned());
    /// drop(consumer);
    /// assert!(producer.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.ring.consumer_gone()
    }

    /// At `limit`: loads `head` to see whether the consumer has freed at least
    /// `min_room` slots since, and moves `limit` on if it has; returns whether the push
    /// may go ahead. Out of line: it runs once a lap while the consumer keeps up, and
    /// inlined it took registers that the fast path then saved and restored on every
    /// push.
    #[cold]
    #[inline(never)]
    fn reload_limit<const LIVE: bool>(&mut self, min_room: usize) -> bool {
        // Pairs with the consumer's `Release` store of `head`: the slots it handed
        // back have been read before this side writes them again.
        let head = self.ring.head.load(Ordering::Acquire);
        let filled = distance::<T>(head, self.tail);
        if filled >= self.capacity {
            self.set_cached_head(head);
            return false;
        }
        // Too little room for a batched push: left for later (`limit` stays, so the
        // next push reloads `head` too).
        // mutant(loom_mpsc): try_send: Full while fewer slots than a refill batch are free => if self.capacity - filled < min_room.max(self.refill_batch()) {
        if self.capacity - filled < min_room {
            return false;
        }
        // The consumer's drop marks the ring abandoned before it stores the `head`
        // that hands back the slots it emptied: a `head` loaded above (`Acquire`)
        // from that store comes with the mark. Without the mark, every slot before
        // this `head` was emptied by a pop. Such a `head` is not kept either: the
        // producer may pass to another sender of a cloned channel (`mpsc::bias`)
        // whose send checked the mark before the drop, and whose push would then
        // trust it without a reload.
        // mutant(loom_mpsc): send: may fill a slot that the receiver's drop emptied => if false {
        if LIVE && self.is_abandoned() {
            return false;
        }
        self.set_cached_head(head);
        true
    }

    /// Takes `head`, loaded with `Acquire`, as this side's view of the consumer.
    #[inline]
    fn set_cached_head(&mut self, head: usize) {
        self.cached_head = head;
        self.limit = advance::<T>(head, self.capacity);
    }

    /// Writes `value` into the slot at `position` and publishes it to `pop`
    /// ([`SlotAt::publish`]).
    ///
    /// # Safety
    ///
    /// The slot at `position` is empty, this side alone may write it (the one producer),
    /// and the consumer will not read it before the mark. `T` is not zero-sized.
    #[inline(always)]
    unsafe fn write(&self, position: usize, value: T) {
        // SAFETY: the caller's contract.
        unsafe { slot_at(self.buffer, self.mask, position).publish(value) };
    }
}

/// The slot of `position`: its line is `(position >> LINE_SHIFT) & mask`, its offset in
/// the line `position & OFFSET_MASK`.
#[inline(always)]
fn slot_at<'a, T>(buffer: *const Line<T>, mask: usize, position: usize) -> SlotAt<'a, T> {
    debug_assert!(!is_zst::<T>(), "a ring of zero-sized values has no slots");
    let offset = position & OFFSET_MASK;
    debug_assert!(offset < LINE_SLOTS, "position {position:#x} names no slot");
    // mutant(loom_ring): every position mapped to the first line => let line = unsafe { &*buffer.add((position >> LINE_SHIFT) & mask & 0) };
    // SAFETY: `T` is not zero-sized (callers check), so `buffer` is the start of `mask +
    // 1` lines; `(position >> LINE_SHIFT) & mask` is below that. The lines live as long as
    // the ring, which every caller's half holds (the lifetime is the caller's to bound).
    let line = unsafe { &*buffer.add((position >> LINE_SHIFT) & mask) };
    // SAFETY: `offset < LINE_SLOTS`: positions come from `next` and `advance`, which skip
    // the offsets from `LINE_SLOTS` on.
    let (mark, value) = unsafe {
        (
            line.marks.get_unchecked(offset),
            line.values.get_unchecked(offset),
        )
    };
    SlotAt {
        mark,
        value,
        written: written_mark(mask, position),
    }
}

/// The mark that says the slot at `position` is written for the lap of `position` (see
/// [`Line`]): 1 on even laps, 0 on odd ones. The same slot on the lap before held the
/// other mark, and no slot can be two laps behind its consumer.
#[inline(always)]
fn written_mark(mask: usize, position: usize) -> u8 {
    // The lap is the line number over the number of lines, `mask + 1`: its lowest bit
    // is the line number's bit `mask + 1`.
    // mutant(loom_ring): the lap ignored, so a mark left by the last lap reads as written => true as u8
    ((position >> LINE_SHIFT) & (mask + 1) == 0) as u8
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // After the producer's last `Release` store of `tail`: a consumer that sees the
        // flag also sees every value pushed before it.
        self.ring.abandoned.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity)
            .field("slots", &self.slots())
            .field("is_abandoned", &self.is_abandoned())
            .finish()
    }
}

/// The popping half of a ring buffer. Made by [`RingBuffer::new`].
///
/// There is one `Consumer` per ring: it is neither `Clone` nor `Sync`, though it is
/// `Send` (when `T` is) and so may move to another thread.
///
/// # Dropping it
///
/// Dropping the consumer drops at once the values that were ready to pop when the drop
/// began, and no more: a producer that keeps pushing cannot keep the drop going (it
/// takes at most `capacity` drops of values). What the producer pushes after that is
/// dropped with the ring, when the producer goes. Either way each value is dropped
/// exactly once.
///
/// If a value's `drop` panics while the consumer drains the ring, the consumer still
/// drops the others it was draining, then lets the panic continue; a second panicking
/// `drop` among them aborts the process. This is what `Vec` does with its elements
/// (std's channel instead leaks the values after the one that panicked). The values
/// dropped with the ring, by the last half to go, are treated the same way.
///
/// ```compile_fail
/// fn is_clone<C: Clone>() {}
/// is_clone::<ringlink::ring::Consumer<u8>>();
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::ring::Consumer<u8>>();
/// ```
pub struct Consumer<T> {
    /// Start of `ring.buffer`; copied here so that a pop touches no shared cache line but
    /// the slot and `head`.
    buffer: *const Line<T>,
    mask: usize,
    capacity: usize,
    /// This side's position. `ring.head` mirrors it, except while a [`PopIter`] is alive
    /// (it publishes once, when dropped) or if one was leaked.
    ///
    /// Unlike the producer, the consumer keeps no copy of the other side's position:
    /// the slot at `head` says itself whether it is ready (see [`Line`]).
    head: usize,
    ring: Arc<RingBuffer<T>>,
}

// SAFETY: the consumer receives values of `T` from the producer's thread, so it is `Send`
// when `T` is. Its raw slot pointer refers to storage owned by `ring`, which lives as long
// as the consumer, and which only the consumer reads at positions inside `head..tail`.
unsafe impl<T: Send> Send for Consumer<T> {}

// As for `Producer`.
impl<T> UnwindSafe for Consumer<T> {}
impl<T> RefUnwindSafe for Consumer<T> {}

impl<T> Consumer<T> {
    /// Pops the oldest value, or returns [`PopError::Empty`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::{PopError, RingBuffer};
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(2);
    /// producer.push("hello").unwrap();
    /// assert_eq!(consumer.pop(), Ok("hello"));
    /// assert_eq!(consumer.pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Result<T, PopError> {
        let head = self.head;
        let value = if is_zst::<T>() {
            if !self.head_is_ready() {
                return Err(PopError::Empty);
            }
            // SAFETY: position `head` was published (`head_is_ready`), so a zero-sized
            // value was pushed for it; `head` advances past it at once.
            unsafe { self.read(head) }
        } else {
            // The slot found once, for the mark and the value: the `Acquire` load between
            // them would make the compiler reload `buffer` and `mask` to find it again.
            let slot = self.slot(head);
            if !slot.is_written() {
                return Err(PopError::Empty);
            }
            // SAFETY: position `head` was published (`is_written`), so it lies in
            // `head..tail` and its slot holds an initialised value; the producer will not
            // touch the slot before the store of `head` below, and `head` advances past
            // it at once.
            slot.value.with(|p| unsafe { (*p).assume_init_read() })
        };
        let next = next::<T>(head);
        // Hands the slot back (pairs with the producer's `Acquire` load of `head`).
        self.ring.head.store(next, Ordering::Release);
        self.head = next;
        Ok(value)
    }

    /// The oldest value, without popping it.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(2);
    /// assert_eq!(consumer.peek(), None);
    /// producer.push(7).unwrap();
    /// assert_eq!(consumer.peek(), Some(&7));
    /// assert_eq!(consumer.pop(), Ok(7));
    /// ```
    pub fn peek(&self) -> Option<&T> {
        if !self.head_is_ready() {
            return None;
        }
        if is_zst::<T>() {
            // SAFETY: a zero-sized value was pushed for position `head`; any aligned
            // non-null pointer is valid for reading a zero-sized `T`.
            return Some(unsafe { &*zst_ptr::<T>() });
        }
        // SAFETY: position `head` was published (`head_is_ready`), so its slot holds an
        // initialised value; the producer will not overwrite it while `head` stays put,
        // and `head` cannot move while the returned borrow of `self` lives.
        Some(
            self.slot(self.head)
                .value
                .with(|p| unsafe { (*p).assume_init_ref() }),
        )
    }

    /// The number of values ready to pop: a lower bound.
    ///
    /// The producer may push more at any moment, never fewer, and every value counted
    /// is there for [`pop`](Consumer::pop) to take at once. The count comes from `tail`,
    /// which the producer stores just after the slot's mark, so for an instant `pop`
    /// may already see a value that this count does not include yet.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, consumer) = RingBuffer::new(4);
    /// producer.push(1).unwrap();
    /// producer.push(2).unwrap();
    /// assert_eq!(consumer.slots(), 2);
    /// ```
    pub fn slots(&self) -> usize {
        // Pairs with the producer's `Release` store of `tail`, made after the marks of the
        // values before it: each value counted is visible to `pop`.
        let tail = self.ring.tail.load(Ordering::Acquire);
        let ready = distance::<T>(self.head, tail);
        // `pop` goes by the marks, so `head` may be ahead of the `tail` this thread sees
        // yet (the producer marks first): that `tail` says nothing is ready, not a count
        // near `usize::MAX`.
        if ready > self.capacity {
            0
        } else {
            ready
        }
    }

    /// Whether a pop would fail right now.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, consumer) = RingBuffer::new(4);
    /// assert!(consumer.is_empty());
    /// producer.push(1).unwrap();
    /// assert!(!consumer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.peek().is_none()
    }

    /// The number of values the ring holds when full: exactly what was asked for.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (_producer, consumer) = ringlink::ring::RingBuffer::<u8>::new(5);
    /// assert_eq!(consumer.capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the [`Producer`] has been dropped. Once this returns `true`, every value
    /// the producer pushed is visible to [`pop`](Consumer::pop): when it reports
    /// [`PopError::Empty`] after that, nothing more will come.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::RingBuffer;
    ///
    /// let (mut producer, mut consumer) = RingBuffer::new(4);
    /// producer.push(1).unwrap();
    /// drop(producer);
    /// assert!(consumer.is_abandoned());
    /// assert_eq!(consumer.pop(), Ok(1));
    /// assert!(consumer.pop().is_err());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.ring.abandoned.load(Ordering::Acquire)
    }

    /// Whether the value at `head` is published, so that `pop` and `peek` may read it.
    #[inline(always)]
    fn head_is_ready(&self) -> bool {
        if is_zst::<T>() {
            // No slot, no mark: `tail` says it (for zero-sized values, `head` never
            // passes the `tail` this side has seen).
            self.load_tail() != self.head
        } else {
            self.slot(self.head).is_written()
        }
    }

    /// The slot of `position`; `T` is not zero-sized.
    #[inline(always)]
    fn slot(&self, position: usize) -> SlotAt<'_, T> {
        slot_at(self.buffer, self.mask, position)
    }

    /// Moves the value at `position` out of the ring.
    ///
    /// # Safety
    ///
    /// `position` lies in `head..tail` as seen through an `Acquire` load (of `tail`, or of
    /// the slot's mark), the shared `head` has not passed it (so the producer leaves
    /// the slot alone), and the caller advances `self.head` past it, so that the value
    /// is moved out once.
    #[inline(always)]
    unsafe fn read(&self, position: usize) -> T {
        if is_zst::<T>() {
            // SAFETY: a zero-sized value was pushed for `position` (the caller's
            // contract); any aligned non-null pointer is valid for reading one.
            unsafe { zst_ptr::<T>().read() }
        } else {
            // SAFETY: the slot holds an initialised value that nobody else touches (the
            // caller's contract).
            self.slot(position)
                .value
                .with(|p| unsafe { (*p).assume_init_read() })
        }
    }

    /// The producer's position: every slot before it holds a published value.
    #[inline]
    fn load_tail(&self) -> usize {
        // Pairs with the producer's `Release` store of `tail`, made after it wrote the
        // values (and their marks) of every position before it.
        self.ring.tail.load(Ordering::Acquire)
    }

    /// Where the values ready now end: every position in `head..ready_end()` holds a
    /// published value.
    #[inline]
    fn ready_end(&self) -> usize {
        let tail = self.load_tail();
        // A `tail` behind `head` (`pop` may have gone ahead by the marks) means nothing
        // is ready; taken as is, it would send a batch through the slots beyond `tail`,
        // which hold no values.
        if distance::<T>(self.head, tail) > self.capacity {
            self.head
        } else {
            tail
        }
    }

    /// Hands every slot before `self.head` back to the producer.
    #[inline]
    fn publish_head(&self) {
        self.ring.head.store(self.head, Ordering::Release);
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // A leaked `PopIter` may have left `ring.head` behind `self.head`: publish it, or
        // the values it moved out would be dropped again below or with the ring.
        self.publish_head();
        // Pairs with `Producer::is_abandoned`'s `Acquire` load: a producer that sees the
        // flag sees everything this thread did before (the slots it handed back, too).
        self.ring.abandoned.store(true, Ordering::Release);
        // Drop now what is queued rather than when the producer goes, but only what is
        // queued now: the producer may keep pushing, and a drop that chased it would
        // last as long as it does. What it pushes from here on is dropped with the ring,
        // by whichever half goes last.
        let end = self.ready_end();
        let mut drain = Drain {
            consumer: self,
            end,
        };
        drain.drop_all();
    }
}

/// The values a dropped [`Consumer`] drops before it goes: those ready when its drop
/// began. If one's `drop` panics, dropping this guard while unwinding drops the rest, as
/// `Vec` does (a second panic then aborts the process).
struct Drain<'a, T> {
    consumer: &'a mut Consumer<T>,
    end: usize,
}

impl<T> Drain<'_, T> {
    fn drop_all(&mut self) {
        if !core::mem::needs_drop::<T>() {
            // Nothing to drop, but the same end as below: a slot claimed and not yet
            // written must not be handed back.
            while self.consumer.head != self.end && self.consumer.head_is_ready() {
                self.consumer.head = next::<T>(self.consumer.head);
            }
            return;
        }
        // After `into_shared`, `tail` counts positions claimed, not yet written: stop at
        // the first slot whose value is not published (the ring's drop takes the rest).
        while self.consumer.head != self.end && self.consumer.head_is_ready() {
            let head = self.consumer.head;
            // SAFETY: `head` lies in `head..end` and its value is published
            // (`head_is_ready`: an `Acquire` load of its mark, or of `tail` for zero-sized
            // values); the shared `head` is published only below, after the loop, and the
            // private one advances past the value at once.
            let value = unsafe { self.consumer.read(head) };
            // Past it before dropping it: a value whose `drop` panics is not dropped again.
            self.consumer.head = next::<T>(head);
            drop(value);
        }
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        self.drop_all();
        // Hands the drained slots back, so that the ring's own drop does not drop them
        // again.
        self.consumer.publish_head();
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity)
            .field("slots", &self.slots())
            .field("is_abandoned", &self.is_abandoned())
            .finish()
    }
}

/// The least room that a batched push takes once it has run out, for a ring of
/// `capacity` slots (see [`Producer::push_live_batched`]).
#[inline(always)]
pub(crate) fn refill_batch(capacity: usize) -> usize {
    (capacity / 8).max(1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Line, PushError, RingBuffer};

    /// Seven `u64` (or pointers) and their marks fill one cache line, the layout the
    /// stream figures were measured with; a larger `Line` would spread over two lines.
    #[test]
    fn seven_words_and_their_marks_fill_one_cache_line() {
        assert_eq!(core::mem::size_of::<Line<u64>>(), 64);
        assert_eq!(core::mem::size_of::<Line<Box<u8>>>(), 64);
        assert_eq!(core::mem::align_of::<Line<u8>>(), 64);
    }

    /// A channel's pushes (`push_live`, and the shared push of a cloned channel) never
    /// fill a slot that the consumer's drop emptied, while the ring's own `push` may (its
    /// documented behaviour). Catches a channel send reported successful into a ring
    /// whose receiver is gone and whose buffer was drained: the value would be dropped
    /// unseen instead of handed back. (The race itself is modelled in `loom_mpsc` and
    /// `loom_mpsc_shared`; here the producer's stale view of `head` stands in for a send
    /// that checked the receiver before its drop.)
    #[test]
    fn a_channel_push_refuses_the_slots_the_consumer_drop_emptied() {
        // A full ring whose consumer was then dropped (draining it).
        let full_and_abandoned = |capacity| {
            let (mut producer, consumer) = RingBuffer::new(capacity);
            for value in 0..capacity {
                producer.push(value).unwrap();
            }
            drop(consumer);
            producer
        };
        for capacity in [1, 2, 5] {
            let mut producer = full_and_abandoned(capacity);
            assert_eq!(
                producer.push_live(99),
                Err(PushError::Full(99)),
                "{capacity}"
            );
            // The refused push must not keep the `head` the drop stored: the producer may
            // pass to another sender (`mpsc::bias`), whose push would trust it.
            assert_eq!(
                producer.push_live(98),
                Err(PushError::Full(98)),
                "{capacity}: a second push"
            );
            assert_eq!(producer.push(99), Ok(()), "{capacity}: the ring's own push");

            let (shared, mut cached_head) = full_and_abandoned(capacity).into_shared();
            for value in [99, 98] {
                assert_eq!(
                    shared.push(&mut cached_head, value),
                    Err(PushError::Full(value)),
                    "{capacity}: shared, {value}"
                );
            }
        }
        // While the consumer lives, a push that reloads `head` fills the slots it freed.
        let (mut producer, mut consumer) = RingBuffer::new(2);
        producer.push(0).unwrap();
        producer.push(1).unwrap();
        assert_eq!(consumer.pop(), Ok(0));
        assert_eq!(producer.push_live(2), Ok(()));
        let (shared, mut cached_head) = producer.into_shared();
        assert_eq!(consumer.pop(), Ok(1));
        assert_eq!(shared.push(&mut cached_head, 3), Ok(()));
        assert_eq!(consumer.pop(), Ok(2));
        assert_eq!(consumer.pop(), Ok(3));
    }

    /// A batched push (a blocking send's first try) that has filled the room it knew of
    /// goes on only once the consumer has freed a whole batch (an eighth of the
    /// capacity), then fills exactly that room; an unbatched push takes any free slot.
    /// Catches a batched push that takes single slots (the line holding `head` crossing
    /// between the CPUs per value again), one that waits for more than a batch, and one
    /// that overfills.
    #[test]
    fn a_batched_push_waits_for_a_batch_then_fills_exactly_the_room() {
        let (mut producer, mut consumer) = RingBuffer::new(64);
        assert_eq!(producer.refill_batch(), 8);
        for value in 0..64 {
            producer.push_live_batched(value).unwrap();
        }
        let mut popped = 0;
        for _ in 0..7 {
            assert_eq!(consumer.pop(), Ok(popped));
            popped += 1;
            assert_eq!(producer.push_live_batched(99), Err(PushError::Full(99)));
        }
        assert_eq!(consumer.pop(), Ok(popped));
        popped += 1;
        for value in 64..72 {
            assert_eq!(producer.push_live_batched(value), Ok(()), "{value}");
        }
        assert_eq!(producer.push_live_batched(99), Err(PushError::Full(99)));
        // One slot free: too few for the batched push, enough for the unbatched one.
        assert_eq!(consumer.pop(), Ok(popped));
        popped += 1;
        assert_eq!(producer.push_live_batched(99), Err(PushError::Full(99)));
        assert_eq!(producer.push_live(72), Ok(()));
        assert_eq!(producer.push_live(99), Err(PushError::Full(99)));
        for expected in popped..73 {
            assert_eq!(consumer.pop(), Ok(expected));
        }
        assert!(consumer.pop().is_err());
        // Small rings refill slot by slot.
        assert_eq!(RingBuffer::<u8>::new(15).0.refill_batch(), 1);
        assert_eq!(RingBuffer::<u8>::new(16).0.refill_batch(), 2);
    }
}
