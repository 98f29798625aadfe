//! The ring of `Box<T>` ([`BoxRing`]): one pointer per slot, and a return ring for
//! recycling the boxes. The public documentation is on [`BoxRing`].
// mutants(loom_boxring): orderings

use core::fmt;
use core::marker::PhantomData;
use core::panic::{RefUnwindSafe, UnwindSafe};
use core::ptr;

use super::{CapacityError, PopError, PushError};
use crate::sync::{Arc, AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// The size and alignment of a cache line, as far as the layout is concerned.
const LINE_BYTES: usize = 64;

/// Slots per cache line (8 on 64-bit targets): how far behind its index the receiver
/// nulls the slots it has taken. Under loom the atomics are larger, so a "line" there
/// holds fewer slots, which lets the models lap the storage in few steps.
struct Line<T>(PhantomData<T>);

impl<T> Line<T> {
    const SLOTS: usize = {
        let slots = LINE_BYTES / core::mem::size_of::<AtomicPtr<T>>();
        if slots == 0 {
            1
        } else {
            slots
        }
    };
}

/// What the first line's worth of slots holds before the first lap, standing for boxes
/// "taken but not yet nulled" (see [`Lane`]): never dereferenced, never freed.
fn taken_mark<T>() -> *mut T {
    ptr::NonNull::dangling().as_ptr()
}

/// One direction of the pair: `S = capacity + L` slots (`L = Line::SLOTS`) and no shared
/// index. The sender writes the box of position `t` (counted from 0 since the lane was
/// made) into slot `t % S`, the receiver reads position `h` from slot `h % S`.
///
/// Invariants:
/// - When the receiver takes position `h`, it nulls the slot of position `h - L` (in the
///   line behind the one it reads, so it stays off the line the sender is writing when
///   the lane runs nearly empty). So, with `h` the receiver's next position, a slot holds
///   the box of a position in `h..t` (queued), or the stale pointer of one in
///   `h - L..h` (taken, not nulled yet), or null. Positions `-L..0` count as taken: the
///   slots `S - L..S` start with [`taken_mark`] in them (no sentinel is needed for
///   capacity 0; see [`Lane::try_new`]).
/// - Hence the slot of position `t` (holding position `t - S` before) is null exactly
///   when `t - S < h - L`, that is `t - h < S - L = capacity`: a load of the sender's
///   own next slot says whether the lane is full, with the exact capacity and without
///   reading anything else of the receiver's. The null slots from the sender's next one
///   on form a run, so a null slot further on vouches for those before it: the sender
///   reads one slot [`LOOK_AHEAD`] places ahead and then writes up to it without reading
///   (see [`Sender::refill`]). The sender only ever turns null slots into boxes, the
///   receiver boxes into null, so each side only learns of room (or of boxes) late,
///   never wrongly.
/// - The slots of positions `h..h + capacity` hold the queued boxes, then nulls: a scan
///   from `h` finds exactly the queued boxes (used by [`Receiver::ready`] and by the
///   lane's drop).
struct Lane<T> {
    /// The slots, with up to `L - 1` unused ones in front so that the first used slot
    /// starts a cache line. Never resized or moved: the halves keep pointers into it.
    storage: Box<[AtomicPtr<T>]>,
    /// Index in `storage` of the sender's first slot.
    sender_first: usize,
    /// Index in `storage` of the receiver's first slot (the sender's, unless the lane has
    /// capacity 0).
    receiver_first: usize,
    /// Used slots (`S`; 1 for capacity 0).
    len: usize,
    /// The most boxes the lane holds at once: exactly what was asked for.
    capacity: usize,
    /// The receiver's last index, stored when it is dropped, for the lane's own drop
    /// (which the `Arc` orders after it).
    left_at: AtomicUsize,
}

impl<T> Lane<T> {
    /// The slots to allocate for `capacity`: `None` if the count overflows.
    fn storage_for(capacity: usize) -> Option<usize> {
        let line = Line::<T>::SLOTS;
        // Capacity 0 uses two slots (see below).
        capacity.max(1).checked_add(line)?.checked_add(line - 1)
    }

    fn try_new(capacity: usize) -> Option<Lane<T>> {
        let line = Line::<T>::SLOTS;
        let total = Self::storage_for(capacity)?;
        let mut storage: Vec<AtomicPtr<T>> = Vec::new();
        // `try_reserve_exact` reports an overflowing size and an allocator refusal alike,
        // where `Vec::with_capacity` would abort.
        storage.try_reserve_exact(total).ok()?;
        storage.extend((0..total).map(|_| AtomicPtr::new(ptr::null_mut())));
        let storage = storage.into_boxed_slice();
        // `usize::MAX` when the slots cannot be aligned (as under loom, whose atomics are
        // larger): then the layout is slower but still correct.
        let first = match storage.as_ptr().align_offset(LINE_BYTES) {
            offset if offset < line => offset,
            _ => 0,
        };
        let lane = if capacity == 0 {
            // Always full and always empty: the sender's one slot holds a mark, the
            // receiver's is another, null; neither side ever writes.
            storage[first].store(taken_mark(), Ordering::Relaxed);
            Lane {
                storage,
                sender_first: first,
                receiver_first: first + 1,
                len: 1,
                capacity,
                left_at: AtomicUsize::new(0),
            }
        } else {
            let len = capacity + line;
            for slot in &storage[first + capacity..first + len] {
                slot.store(taken_mark(), Ordering::Relaxed);
            }
            Lane {
                storage,
                sender_first: first,
                receiver_first: first,
                len,
                capacity,
                left_at: AtomicUsize::new(0),
            }
        };
        Some(lane)
    }

    /// The sender's slots.
    fn sender_slots(&self) -> &[AtomicPtr<T>] {
        &self.storage[self.sender_first..self.sender_first + self.len]
    }

    /// The receiver's slots.
    fn receiver_slots(&self) -> &[AtomicPtr<T>] {
        &self.storage[self.receiver_first..self.receiver_first + self.len]
    }

    fn sender(&self) -> Sender<T> {
        let at = Cursor::new(self.sender_slots());
        Sender {
            at,
            // Nothing known yet: the first push looks.
            limit: at.next,
            ahead: self.capacity.min(LOOK_AHEAD).saturating_sub(1),
        }
    }

    fn receiver(&self) -> Receiver<T> {
        Receiver {
            at: Cursor::new(self.receiver_slots()),
            left_at: &self.left_at,
        }
    }
}

impl<T> Drop for Lane<T> {
    fn drop(&mut self) {
        // Both halves are gone (the `Arc` ordered their accesses before this): the boxes
        // still queued lie from the receiver's last index on, at most `capacity` of them,
        // until a null slot.
        let mut queued = Queued {
            slots: self.receiver_slots(),
            index: self.left_at.load(Ordering::Relaxed),
            left: self.capacity,
        };
        queued.drop_all();
    }
}

/// The boxes a dying lane still holds. If one's `drop` panics, dropping this guard while
/// unwinding drops the rest, as `Vec` does, instead of leaking them.
struct Queued<'a, T> {
    /// The receiver's slots.
    slots: &'a [AtomicPtr<T>],
    /// The next slot to look at.
    index: usize,
    /// How many more slots may hold a queued box.
    left: usize,
}

impl<T> Queued<'_, T> {
    fn drop_all(&mut self) {
        while self.left > 0 {
            self.left -= 1;
            let boxed = self.slots[self.index].load(Ordering::Relaxed);
            if boxed.is_null() {
                break;
            }
            self.index = wrap(self.index + 1, self.slots.len());
            // SAFETY: a non-null slot within `capacity` of the receiver's index holds a
            // published box that was not taken (the lane's invariant); the index moved
            // past it first, so it is dropped once even if its `drop` panics.
            drop(unsafe { Box::from_raw(boxed) });
        }
    }
}

impl<T> Drop for Queued<'_, T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// A side's place in a lane: the next slot it reads or writes, and the lane's slots.
/// Pointers rather than an index: a step is then an add and one compare.
struct Cursor<T> {
    /// The next slot, in `start..end` (the sender's may also be `end`, until it wraps).
    next: *const AtomicPtr<T>,
    /// The lane's first slot.
    start: *const AtomicPtr<T>,
    /// One past the lane's last slot.
    end: *const AtomicPtr<T>,
}

// Plain pointers, whatever `T` is (a derive would ask `T: Copy`).
impl<T> Clone for Cursor<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Cursor<T> {}

impl<T> Cursor<T> {
    /// A cursor at the first of `slots`.
    fn new(slots: &[AtomicPtr<T>]) -> Self {
        let range = slots.as_ptr_range();
        Cursor {
            next: range.start,
            start: range.start,
            end: range.end,
        }
    }

    /// The next slot; `next` must be below `end` (the receiver's always is, the sender's
    /// is below its `limit`).
    #[inline(always)]
    fn slot(&self) -> &AtomicPtr<T> {
        // SAFETY: `next` is in `start..end` (see above), the lane's slots; the lane lives
        // as long as the half that holds this cursor.
        unsafe { &*self.next }
    }

    /// The slot after the next one: back to the first after the last.
    #[inline(always)]
    fn following(&self) -> *const AtomicPtr<T> {
        let next = self.next.wrapping_add(1);
        if next == self.end {
            self.start
        } else {
            next
        }
    }

    /// `before`, a pointer less than `len` slots before `start`, moved up by `len` slots
    /// into the lane: once per lap, so out of line.
    #[cold]
    fn wrapped(&self, before: *const AtomicPtr<T>) -> *const AtomicPtr<T> {
        before.wrapping_add(self.len())
    }

    /// The number of slots.
    fn len(&self) -> usize {
        // SAFETY: both point into (or one past) the lane's slots, `start` first.
        unsafe { self.end.offset_from(self.start) as usize }
    }

    /// The index of the next slot.
    fn index(&self) -> usize {
        // SAFETY: both point into the lane's slots (or `next` one past them), `start`
        // first.
        unsafe { self.next.offset_from(self.start) as usize }
    }

    /// The slot `ahead` places after the next one (wrapped), for `ahead < len`.
    fn slot_ahead(&self, ahead: usize) -> &AtomicPtr<T> {
        let index = wrap(self.index() + ahead, self.len());
        // SAFETY: `index < len`, the lane's slots from `start` on (see `slot`).
        unsafe { &*self.start.add(index) }
    }
}

/// How many slots past the next one the sender looks for room: a null slot there means
/// every slot before it is null too, so the sender writes them without reading them.
/// Four lines (on 64-bit targets): while the lane runs nearly empty, the slot it looks at
/// is on a line the receiver is not reading, and the look costs a fraction of an
/// instruction per push (one push+pop on one thread: 19.9 instructions with 32, 20.8
/// with 16, callgrind).
const LOOK_AHEAD: usize = 32;

/// How many boxes more than the ring itself the return ring of [`BoxRing::new`] holds.
///
/// In a steady recycled stream about `capacity` boxes circulate, plus the one in each
/// thread's hands and the few the producer makes when it looks before a recycled box is
/// visible. When the receiver is the faster side, nearly all of them wait in the return
/// ring. Were it only a little larger than the ring, it would then run within one
/// [`LOOK_AHEAD`] of full, where the consumer's look for room lands on the lines from
/// which the producer takes boxes, and each box would pull a line across. Two look-aheads
/// more keep it clear of that. Measured on a recycled `Box<u64>` stream of capacity 1024
/// (Intel Xeon host, threads on two CPUs, 8 rounds at the slow placement): 55–118 ns per
/// box with a return ring of 1024, 32–123 ns with 1026, 19–40 ns with 1088 and 20–45 ns
/// with 3072.
const RECYCLE_MARGIN: usize = 2 * LOOK_AHEAD;

/// The sending side of a lane, kept inside the half that owns it.
struct Sender<T> {
    /// `next` runs up to `end` and wraps in [`Sender::refill`].
    at: Cursor<T>,
    /// The slots from `at.next` up to here (at most `end`) are known to be null: the fast
    /// path writes them without reading them first.
    limit: *const AtomicPtr<T>,
    /// How far past the next slot `refill` looks: `min(capacity, LOOK_AHEAD) - 1`.
    ahead: usize,
}

impl<T> Sender<T> {
    /// Publishes `boxed`, or returns `false` if the lane is full.
    #[inline(always)]
    fn push(&mut self, boxed: *mut T) -> bool {
        if !self.has_room() {
            return false;
        }
        self.publish(boxed);
        true
    }

    /// Whether a push would succeed right now.
    #[inline(always)]
    fn has_room(&mut self) -> bool {
        self.at.next != self.limit || self.refill()
    }

    /// Publishes `boxed` into the next slot, which `has_room` found null.
    #[inline(always)]
    fn publish(&mut self, boxed: *mut T) {
        // Publishes the box: everything written into it before happens before the
        // receiver's `Acquire` load that finds this pointer.
        self.at.slot().store(boxed, Ordering::Release);
        // Up to `limit`, at most `end`: `refill` wraps it.
        self.at.next = self.at.next.wrapping_add(1);
    }

    /// Wraps the cursor at the end of the slots and looks for room: sets `limit` past the
    /// slots known to be null from `next` on, and returns whether there is one.
    ///
    /// The slots read here are null exactly when fewer than `capacity` boxes are queued
    /// (the lane's invariant), and the null ones from `next` on form a run, so a null
    /// slot `ahead` places on vouches for every slot before it.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> bool {
        if self.at.next == self.at.end {
            self.at.next = self.at.start;
        }
        let next = self.at.next;
        // SAFETY: `next` is in `start..end` now, both in the lane's slots.
        let after = unsafe { self.at.end.offset_from(next) } as usize - 1;
        let ahead = self.ahead.min(after);
        // SAFETY: `next + ahead` is below `end` (`ahead <= after`).
        let far = unsafe { &*next.add(ahead) };
        // Pairs with the receiver's `Release` store of this null: its nulls of the slots
        // before this one happen before it, so this side's later stores into them come
        // after those nulls (or a late null would wipe out a box).
        // not a mutant: the reordering it forbids (a store landing before an earlier null
        // of the same thread into another slot) is one loom does not produce: it keeps
        // each thread's stores in program order.
        let vouched = far.load(Ordering::Acquire).is_null();
        // Else the slot this side writes next: `Relaxed` is enough for that one, as the
        // store into it is ordered after the receiver's null by the slot's own
        // modification order.
        let next_is_null = || self.at.slot().load(Ordering::Relaxed).is_null();
        self.limit = if vouched {
            next.wrapping_add(ahead + 1)
        } else if ahead > 0 && next_is_null() {
            next.wrapping_add(1)
        } else {
            next
        };
        self.limit != next
    }

    /// How many pushes would succeed right now, at least: the null slots from the next
    /// one on, up to `capacity` (they form a run: see the lane's invariants). The
    /// receiver only ever adds nulls, so a slot seen null stays null until this side
    /// fills it.
    fn room(&self, capacity: usize) -> usize {
        run(capacity, |i| {
            self.at.slot_ahead(i).load(Ordering::Relaxed).is_null()
        })
    }
}

/// `index` wrapped into `0..len`, for `index < 2 * len`.
#[inline(always)]
fn wrap(index: usize, len: usize) -> usize {
    if index >= len {
        index - len
    } else {
        index
    }
}

/// The length of the run of `i` in `0..n` for which `holds(i)` is true, given that it
/// holds for a prefix of `0..n` (a binary search).
fn run(n: usize, holds: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, n);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if holds(mid - 1) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// The receiving side of a lane, kept inside the half that owns it.
struct Receiver<T> {
    at: Cursor<T>,
    /// The lane's `left_at`, where the index goes when this side is dropped.
    left_at: *const AtomicUsize,
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // SAFETY: the half that holds this receiver holds the ring in a field declared
        // after it, so the lane is still alive while this runs.
        unsafe { &*self.left_at }.store(self.at.index(), Ordering::Relaxed);
    }
}

impl<T> Receiver<T> {
    /// The box in the next slot, or null.
    #[inline(always)]
    fn peek(&self) -> *mut T {
        // Pairs with the sender's `Release` store of the pointer: what it wrote into the
        // box happens before this side reads it.
        self.at.slot().load(Ordering::Acquire)
    }

    /// Takes the next box (null if there is none).
    #[inline(always)]
    fn pop(&mut self) -> *mut T {
        // A copy, read before the `Acquire` load below: the compiler moves no read of
        // `self` across that load, and would read the cursor again after it.
        let at = self.at;
        // Pairs with the sender's `Release` store of the pointer, as in `peek`.
        let boxed = at.slot().load(Ordering::Acquire);
        if boxed.is_null() {
            return boxed;
        }
        // Hands a slot back to the sender: the one `L` slots behind this one, taken
        // earlier (or holding a start mark). `Release`: a sender that finds this null
        // writes the slots before it without reading them (`Sender::refill`).
        let mut behind = at.next.wrapping_sub(Line::<T>::SLOTS);
        if behind < at.start {
            behind = at.wrapped(behind);
        }
        // SAFETY: `behind` is `L` slots before `next`, wrapped into `start..end` (a lane
        // that can hold a box has more than `L` slots).
        // not a mutant: see the `Acquire` in `Sender::refill`.
        unsafe { &*behind }.store(ptr::null_mut(), Ordering::Release);
        self.at.next = at.following();
        boxed
    }

    /// How many boxes are ready, at least: the non-null slots from the next one on, up
    /// to `capacity` (a run: see the lane's invariants). A count only, so `Relaxed`: no
    /// box is read on the strength of these loads.
    fn ready(&self, capacity: usize) -> usize {
        run(capacity, |i| {
            !self.at.slot_ahead(i).load(Ordering::Relaxed).is_null()
        })
    }
}

/// A ring of `Box<T>` whose slot is one pointer: the state shared by a [`BoxProducer`]
/// and its [`BoxConsumer`], and the functions that make them.
///
/// [`BoxRing::new`] returns a [`BoxProducer`] that pushes boxes and a [`BoxConsumer`] that
/// pops them, in order, like [`RingBuffer`](super::RingBuffer) does for any `T`. A box is
/// never null, so a slot needs no sequence word beside the pointer: null means empty, and
/// a push is one `Release` store of the pointer into an empty slot.
///
/// Streaming boxes normally costs an allocation on one thread and a free on the other.
/// The pair also carries a second ring the other way: the consumer hands used
/// boxes back with [`BoxConsumer::recycle`], and the producer takes them with
/// [`BoxProducer::take_recycled`] (or lets [`BoxProducer::push_value`] do it), so a steady
/// stream allocates nothing. When the return ring is full, a recycled box is freed; when
/// it is empty, the producer allocates: nothing blocks and nothing leaks.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::ring::BoxRing;
///
/// let (mut producer, mut consumer) = BoxRing::new(64);
/// let worker = std::thread::spawn(move || {
///     for i in 0..1000u64 {
///         // Reuses a box the consumer handed back when there is one; a full ring hands
///         // the value back, so try again until the consumer makes room.
///         let mut value = i;
///         while let Err(full) = producer.push_value(value) {
///             value = full.into_inner();
///             std::hint::spin_loop();
///         }
///     }
/// });
/// let mut expected = 0;
/// while expected < 1000 {
///     match consumer.pop() {
///         Ok(boxed) => {
///             assert_eq!(*boxed, expected);
///             expected += 1;
///             consumer.recycle(boxed);
///         }
///         Err(_) => std::hint::spin_loop(),
///     }
/// }
/// worker.join().unwrap();
/// ```
///
/// # Unsized values
///
/// A slot holds a thin pointer, so `T` must be `Sized`. For a `Box<dyn Trait>` (or a
/// `Box<[u8]>`, a `Box<str>`), box the box: a `BoxRing<Box<dyn Trait>>` carries
/// `Box<Box<dyn Trait>>`, one more allocation per message unless the outer boxes are
/// recycled (then only the inner box is allocated per message). Zero-sized `T` works: a
/// `Box` of it is a dangling but non-null pointer, and costs no allocation.
///
/// # Layout, and why
///
/// Each direction is a *lane*: an array of `capacity + 8` `AtomicPtr<T>` slots (on
/// 64-bit targets; a cache line's worth more than the capacity), aligned to a cache line.
/// There is no shared index.
///
/// - A null slot means room, and a `Release` store of the pointer publishes a box. The
///   free slots from the sender's next one on form a run, so the sender reads one slot
///   32 places ahead: if that is null, it writes the 32 slots up to it without reading
///   them (reading its own next slot before every push made the echo 1.4–2× slower,
///   since the receiver spins on that line). When that slot is not null, the sender
///   reads its next slot, so the capacity stays exact. It never reads anything else of
///   the receiver's.
/// - The receiver takes a box with one `Acquire` load of its next slot; non-null means
///   a box. It never reads the sender's position.
/// - The receiver does not null the slot it takes, but the one 8 slots (a cache line)
///   behind it. While the ring runs nearly empty, the sender writes into the line the
///   receiver reads, and nulling there would pull that line back and forth twice per
///   message (a prototype that did so ran at 0.5–0.6× rtrb as the return ring of a
///   recycling pair); a line behind, the sender will not write until a lap later.
/// - The 8 extra slots make the capacity exact: the sender's next slot is null exactly
///   when fewer than `capacity` boxes are queued, since the 8 taken positions behind the
///   receiver are the ones not yet nulled.
///
/// [`RingBuffer`]: super::RingBuffer
pub struct BoxRing<T> {
    /// Producer to consumer: the messages.
    forward: Lane<T>,
    /// Consumer to producer: boxes handed back for reuse.
    back: Lane<T>,
    /// Set (`Release`) by whichever half is dropped first, after its last push or
    /// recycle; read (`Acquire`) by the other half's `is_abandoned`, which then sees
    /// every box the first half published.
    abandoned: AtomicBool,
    _boxes: PhantomData<Box<T>>,
}

impl<T> BoxRing<T> {
    /// Makes a ring that holds exactly `capacity` boxes, with a return ring of
    /// `capacity + 64` for recycling, and returns its two halves.
    ///
    /// The return ring is larger than the ring so that a steady recycled stream never
    /// frees a box and never runs the return ring nearly full, where the two threads
    /// would contend for its cache lines (2–3× slower per box, measured).
    /// [`with_recycling`](BoxRing::with_recycling) chooses it.
    ///
    /// Capacity 0 is allowed: such a ring is always full and always empty.
    ///
    /// # Panics
    ///
    /// When the storage cannot be allocated (see [`BoxRing::try_new`] for the error
    /// instead).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(3);
    /// for i in 0..3 {
    ///     producer.push(Box::new(i)).unwrap();
    /// }
    /// let refused = producer.push(Box::new(3)).unwrap_err();
    /// assert_eq!(*refused.into_inner(), 3, "a full ring hands the box back");
    /// assert_eq!(consumer.pop().as_deref(), Ok(&0));
    /// assert_eq!(consumer.recycle_capacity(), 3 + 64);
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new(capacity: usize) -> (BoxProducer<T>, BoxConsumer<T>) {
        Self::with_recycling(capacity, capacity.saturating_add(RECYCLE_MARGIN))
    }

    /// Makes a ring that holds exactly `capacity` boxes and whose return ring holds
    /// exactly `recycle_capacity` (0: no recycling, [`BoxConsumer::recycle`] frees).
    ///
    /// A return ring at least two boxes larger than the ring itself never has to free a
    /// box in a steady stream where every box comes back, so the producer never has to
    /// allocate once the boxes in circulation suffice. [`new`](BoxRing::new) gives it 64
    /// more, which also keeps it from running nearly full when the consumer is the faster
    /// side (then its two users would contend for the same cache lines).
    ///
    /// # Panics
    ///
    /// When the storage cannot be allocated (see [`BoxRing::try_with_recycling`]).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::<u32>::with_recycling(8, 0);
    /// consumer.recycle(Box::new(1));
    /// assert!(producer.take_recycled().is_none(), "no return ring: the box was freed");
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn with_recycling(
        capacity: usize,
        recycle_capacity: usize,
    ) -> (BoxProducer<T>, BoxConsumer<T>) {
        match Self::try_with_recycling(capacity, recycle_capacity) {
            Ok(halves) => halves,
            Err(error) => panic!("{error}"),
        }
    }

    /// Makes a ring of exactly `capacity` boxes (and a return ring of `capacity + 64`, as
    /// [`new`](BoxRing::new)), or says why it cannot.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// assert!(BoxRing::<u8>::try_new(usize::MAX / 4).is_err());
    /// assert!(BoxRing::<u8>::try_new(16).is_ok());
    /// ```
    pub fn try_new(capacity: usize) -> Result<(BoxProducer<T>, BoxConsumer<T>), CapacityError> {
        Self::try_with_recycling(capacity, capacity.saturating_add(RECYCLE_MARGIN))
    }

    /// Makes a ring of exactly `capacity` boxes with a return ring of exactly
    /// `recycle_capacity`, or says why it cannot.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let error = BoxRing::<u8>::try_with_recycling(4, usize::MAX).unwrap_err();
    /// assert_eq!(error.capacity(), usize::MAX);
    /// ```
    pub fn try_with_recycling(
        capacity: usize,
        recycle_capacity: usize,
    ) -> Result<(BoxProducer<T>, BoxConsumer<T>), CapacityError> {
        let error = |capacity: usize| CapacityError {
            capacity,
            storage: Lane::<T>::storage_for(capacity),
            slot_size: core::mem::size_of::<AtomicPtr<T>>(),
            value_size: core::mem::size_of::<AtomicPtr<T>>(),
            rounding:
                "the capacity plus a cache line of slots, and up to a line more to align them",
            overhead: ": one pointer, null when empty",
        };
        let forward = Lane::try_new(capacity).ok_or(error(capacity))?;
        let back = Lane::try_new(recycle_capacity).ok_or(error(recycle_capacity))?;
        let ring = Arc::new(BoxRing {
            forward,
            back,
            abandoned: AtomicBool::new(false),
            _boxes: PhantomData,
        });
        let producer = BoxProducer {
            forward: ring.forward.sender(),
            back: ring.back.receiver(),
            ring: ring.clone(),
        };
        let consumer = BoxConsumer {
            forward: ring.forward.receiver(),
            back: ring.back.sender(),
            ring,
        };
        Ok((producer, consumer))
    }
}

impl<T> fmt::Debug for BoxRing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxRing")
            .field("capacity", &self.forward.capacity)
            .field("recycle_capacity", &self.back.capacity)
            .field("abandoned", &self.abandoned.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The pushing half of a [`BoxRing`]; it also takes back the boxes the consumer recycles.
///
/// There is one `BoxProducer` per ring: it is neither `Clone` nor `Sync`, though it is
/// `Send` (when `T` is) and so may move to another thread.
///
/// ```compile_fail
/// fn is_clone<C: Clone>() {}
/// is_clone::<ringlink::ring::BoxProducer<u8>>();
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::ring::BoxProducer<u8>>();
/// ```
pub struct BoxProducer<T> {
    forward: Sender<T>,
    back: Receiver<T>,
    ring: Arc<BoxRing<T>>,
}

// SAFETY: the producer moves boxes of `T` to the consumer's thread and back, so it is
// `Send` when `T` is. Its slot pointers refer to storage owned by `ring`, which lives as
// long as the producer; it writes only the forward slots it was granted and reads only the
// return slots the consumer published.
unsafe impl<T: Send> Send for BoxProducer<T> {}

// A panic (only ever in a `T`'s `drop`) leaves the ring consistent, as with std's channel
// halves: the slot pointers are plain data owned through `ring`.
impl<T> UnwindSafe for BoxProducer<T> {}
impl<T> RefUnwindSafe for BoxProducer<T> {}

impl<T> BoxProducer<T> {
    /// Pushes a box, or hands it back in [`PushError::Full`] if the ring is full.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::{BoxRing, PushError};
    ///
    /// let (mut producer, _consumer) = BoxRing::new(1);
    /// assert!(producer.push(Box::new('a')).is_ok());
    /// match producer.push(Box::new('b')) {
    ///     Err(PushError::Full(boxed)) => assert_eq!(*boxed, 'b'),
    ///     Ok(()) => unreachable!("the ring holds one box"),
    /// }
    /// ```
    #[inline]
    pub fn push(&mut self, boxed: Box<T>) -> Result<(), PushError<Box<T>>> {
        let raw = Box::into_raw(boxed);
        if self.forward.push(raw) {
            Ok(())
        } else {
            // SAFETY: `raw` came from `Box::into_raw` above and was not published.
            Err(PushError::Full(unsafe { Box::from_raw(raw) }))
        }
    }

    /// Pushes `value` in a box the consumer recycled, or in a new one if none is
    /// waiting; hands `value` back in [`PushError::Full`] if the ring is full (then no
    /// box is taken or made).
    ///
    /// The recycled box's old value is dropped when `value` replaces it.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(4);
    /// producer.push_value(1).unwrap();
    /// let first = consumer.pop().unwrap();
    /// let address: *const i32 = &*first;
    /// consumer.recycle(first);
    /// producer.push_value(2).unwrap();
    /// let second = consumer.pop().unwrap();
    /// assert_eq!(*second, 2);
    /// assert_eq!(&*second as *const i32, address, "the same box came back");
    /// ```
    #[inline]
    pub fn push_value(&mut self, value: T) -> Result<(), PushError<T>> {
        if !self.forward.has_room() {
            return Err(PushError::Full(value));
        }
        let boxed = match self.take_recycled() {
            Some(mut boxed) => {
                *boxed = value;
                boxed
            }
            None => Box::new(value),
        };
        // The room seen above is this side's to use: only this side fills slots.
        self.forward.publish(Box::into_raw(boxed));
        Ok(())
    }

    /// A box the consumer handed back with [`BoxConsumer::recycle`], if one is waiting:
    /// it still holds the value the consumer left in it.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(4);
    /// assert!(producer.take_recycled().is_none());
    /// consumer.recycle(Box::new(String::from("reuse me")));
    /// let mut boxed = producer.take_recycled().unwrap();
    /// boxed.clear();
    /// boxed.push_str("again");
    /// producer.push(boxed).unwrap();
    /// ```
    #[inline]
    pub fn take_recycled(&mut self) -> Option<Box<T>> {
        let raw = self.back.pop();
        // SAFETY: a non-null pointer taken from a slot is a box the consumer published
        // with `recycle` (from `Box::into_raw`); taking it moved the index past it.
        (!raw.is_null()).then(|| unsafe { Box::from_raw(raw) })
    }

    /// The number of free slots: how many boxes a push could take right now.
    ///
    /// The consumer may free more at any moment, never fewer.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, _consumer) = BoxRing::new(4);
    /// producer.push(Box::new(1)).unwrap();
    /// assert_eq!(producer.slots(), 3);
    /// ```
    pub fn slots(&self) -> usize {
        self.forward.room(self.ring.forward.capacity)
    }

    /// Whether a push would fail right now.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, _consumer) = BoxRing::new(1);
    /// assert!(!producer.is_full());
    /// producer.push(Box::new(())).unwrap();
    /// assert!(producer.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.slots() == 0
    }

    /// The number of boxes the ring holds when full: exactly what was asked for.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (producer, _consumer) = ringlink::ring::BoxRing::<u8>::new(3);
    /// assert_eq!(producer.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.forward.capacity
    }

    /// Whether the [`BoxConsumer`] has been dropped. Once this returns `true`, every box
    /// the consumer recycled is visible to [`take_recycled`](Self::take_recycled).
    /// Boxes pushed from then on are dropped with the producer.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (mut producer, mut consumer) = ringlink::ring::BoxRing::<u8>::new(3);
    /// assert!(!producer.is_abandoned());
    /// consumer.recycle(Box::new(9));
    /// drop(consumer);
    /// assert!(producer.is_abandoned());
    /// assert_eq!(producer.take_recycled().as_deref(), Some(&9));
    /// ```
    pub fn is_abandoned(&self) -> bool {
        // Pairs with the consumer's `Release` store in its `drop`, made after its last
        // `recycle`.
        self.ring.abandoned.load(Ordering::Acquire)
    }
}

impl<T> Drop for BoxProducer<T> {
    fn drop(&mut self) {
        // After the producer's last push: a consumer that sees the flag also sees every
        // box pushed before it.
        self.ring.abandoned.store(true, Ordering::Release);
        // Free now the boxes recycled so far (at most a return ring's worth, so the drop
        // ends even if the consumer keeps recycling); later ones go with the ring.
        for _ in 0..self.ring.back.capacity {
            if self.take_recycled().is_none() {
                break;
            }
        }
    }
}

impl<T> fmt::Debug for BoxProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxProducer")
            .field("capacity", &self.capacity())
            .field("slots", &self.slots())
            .field("is_abandoned", &self.is_abandoned())
            .finish()
    }
}

/// The popping half of a [`BoxRing`]; it also hands boxes back for reuse.
///
/// There is one `BoxConsumer` per ring: it is neither `Clone` nor `Sync`, though it is
/// `Send` (when `T` is) and so may move to another thread. Dropping it drops at once the
/// boxes it could still pop (at most a ring's worth, so the drop ends even if the
/// producer keeps pushing; later ones go with the ring).
///
/// ```compile_fail
/// fn is_clone<C: Clone>() {}
/// is_clone::<ringlink::ring::BoxConsumer<u8>>();
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::ring::BoxConsumer<u8>>();
/// ```
pub struct BoxConsumer<T> {
    forward: Receiver<T>,
    back: Sender<T>,
    ring: Arc<BoxRing<T>>,
}

// SAFETY: the consumer receives boxes of `T` from the producer's thread and hands them
// back, so it is `Send` when `T` is. Its slot pointers refer to storage owned by `ring`,
// which lives as long as the consumer; it reads only the forward slots the producer
// published and writes only the return slots it was granted (and nulls forward slots it
// has read, before handing them back).
unsafe impl<T: Send> Send for BoxConsumer<T> {}

// See `BoxProducer`'s.
impl<T> UnwindSafe for BoxConsumer<T> {}
impl<T> RefUnwindSafe for BoxConsumer<T> {}

impl<T> BoxConsumer<T> {
    /// Pops the oldest box, or returns [`PopError::Empty`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::{BoxRing, PopError};
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(2);
    /// producer.push(Box::new("hello")).unwrap();
    /// assert_eq!(consumer.pop().as_deref(), Ok(&"hello"));
    /// assert_eq!(consumer.pop(), Err(PopError::Empty));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Result<Box<T>, PopError> {
        let raw = self.forward.pop();
        if raw.is_null() {
            return Err(PopError::Empty);
        }
        // SAFETY: a non-null pointer taken from a slot is a box the producer published
        // (from `Box::into_raw`); taking it moved the index past it, so it is owned once.
        Ok(unsafe { Box::from_raw(raw) })
    }

    /// The value in the oldest box, without popping it.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(2);
    /// assert_eq!(consumer.peek(), None);
    /// producer.push(Box::new(7)).unwrap();
    /// assert_eq!(consumer.peek(), Some(&7));
    /// assert_eq!(*consumer.pop().unwrap(), 7);
    /// ```
    pub fn peek(&self) -> Option<&T> {
        let raw = self.forward.peek();
        // SAFETY: a non-null pointer in the next slot is a published box (its contents
        // visible through the `Acquire` load); the producer will not touch it, and the
        // consumer cannot pop it while the returned borrow of `self` lives.
        (!raw.is_null()).then(|| unsafe { &*raw })
    }

    /// Hands a box back to the producer for reuse ([`BoxProducer::take_recycled`]), or
    /// drops it if the return ring is full. Any box will do, not only one that was
    /// popped.
    ///
    /// The value in it stays until the producer overwrites or drops it, so a box that
    /// owns a buffer (a `Vec`, a `String`) can keep its allocation for the next message.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::with_recycling(4, 1);
    /// consumer.recycle(Box::new(1));
    /// consumer.recycle(Box::new(2)); // the return ring is full: freed
    /// assert_eq!(producer.take_recycled().as_deref(), Some(&1));
    /// assert!(producer.take_recycled().is_none());
    /// ```
    #[inline]
    pub fn recycle(&mut self, boxed: Box<T>) {
        let raw = Box::into_raw(boxed);
        if !self.back.push(raw) {
            // SAFETY: `raw` came from `Box::into_raw` above and was not published.
            drop(unsafe { Box::from_raw(raw) });
        }
    }

    /// The number of boxes ready to pop: a lower bound.
    ///
    /// The producer may push more at any moment, never fewer. It takes a binary search
    /// over the slots (there is no shared count to read): `O(log capacity)` loads.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, consumer) = BoxRing::new(4);
    /// producer.push(Box::new(1)).unwrap();
    /// producer.push(Box::new(2)).unwrap();
    /// assert_eq!(consumer.slots(), 2);
    /// ```
    pub fn slots(&self) -> usize {
        self.forward.ready(self.ring.forward.capacity)
    }

    /// Whether a pop would fail right now.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, consumer) = BoxRing::new(4);
    /// assert!(consumer.is_empty());
    /// producer.push(Box::new(1)).unwrap();
    /// assert!(!consumer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.peek().is_none()
    }

    /// The number of boxes the ring holds when full: exactly what was asked for.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (_producer, consumer) = ringlink::ring::BoxRing::<u8>::new(5);
    /// assert_eq!(consumer.capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.forward.capacity
    }

    /// The number of boxes the return ring holds when full.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (_producer, consumer) = ringlink::ring::BoxRing::<u8>::with_recycling(5, 7);
    /// assert_eq!(consumer.recycle_capacity(), 7);
    /// ```
    pub fn recycle_capacity(&self) -> usize {
        self.ring.back.capacity
    }

    /// Whether the [`BoxProducer`] has been dropped. Once this returns `true`, every box
    /// the producer pushed is visible to [`pop`](Self::pop): when it reports
    /// [`PopError::Empty`] after that, nothing more will come.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// let (mut producer, mut consumer) = BoxRing::new(4);
    /// producer.push(Box::new(1)).unwrap();
    /// drop(producer);
    /// assert!(consumer.is_abandoned());
    /// assert_eq!(consumer.pop().as_deref(), Ok(&1));
    /// assert!(consumer.pop().is_err());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        // Pairs with the producer's `Release` store in its `drop`, made after its last
        // push.
        self.ring.abandoned.load(Ordering::Acquire)
    }
}

impl<T> Drop for BoxConsumer<T> {
    fn drop(&mut self) {
        // After the consumer's last `recycle`: a producer that sees the flag also sees
        // every box recycled before it.
        self.ring.abandoned.store(true, Ordering::Release);
        // Drop now what is queued, at most a ring's worth; a box pushed later is dropped
        // with the ring, by the producer's side. A panicking `drop` leaves the rest to
        // the ring too: the receiver's index goes to the lane when it is dropped.
        for _ in 0..self.ring.forward.capacity {
            match self.pop() {
                Ok(boxed) => drop(boxed),
                Err(PopError::Empty) => break,
            }
        }
    }
}

impl<T> fmt::Debug for BoxConsumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxConsumer")
            .field("capacity", &self.capacity())
            .field("slots", &self.slots())
            .field("is_abandoned", &self.is_abandoned())
            .finish()
    }
}
