//! The ring of `Box<T>` ([`BoxRing`]): one pointer per slot, and a return ring for
//! recycling the boxes. The public documentation is on [`BoxRing`].
// mutants(loom_boxring): orderings

use core::fmt;
use core::marker::PhantomData;
use core::panic::{RefUnwindSafe, UnwindSafe};
use core::ptr;

use crossbeam_utils::CachePadded;

use super::{CapacityError, PopError, PushError};
use crate::sync::{Arc, AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// The size and alignment of a cache line, as far as the layout is concerned.
const LINE_BYTES: usize = 64;

/// Slots per cache line (8 on 64-bit targets): the receiver nulls slots a line at a time.
/// Under loom the atomics are larger, so a "line" there holds fewer slots, which lets the
/// models lap the storage in few steps.
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

/// One direction of the pair: slots, and the receiving side's position.
///
/// Invariants (`S` is `len`, a multiple of `L = Line::SLOTS`, and at least
/// `capacity + L - 1`):
/// - A slot holds a box that the sender published and the receiver has not taken yet,
///   or null, or (only in the receiver's current line, behind its index) the stale
///   pointer of a box already taken.
/// - The receiver nulls the slots of a line (`Relaxed`) before the `Release` store of a
///   `head` beyond that line; the sender's `Acquire` load of `head` pairs with it, so
///   every slot the sender is granted is null before it writes it.
/// - The sender writes at most `capacity` slots ahead of the `head` it saw. Since
///   `S >= capacity + L - 1`, those slots lie on lines the receiver has left.
struct Lane<T> {
    /// Index (in `0..S`) of the receiver's next slot. Written by the receiver only, after
    /// every take (`Release`); read by the sender (`Acquire`) when its room runs out.
    head: CachePadded<AtomicUsize>,
    /// The slots, with up to `L - 1` unused ones in front so that the first used slot starts
    /// a cache line. Never resized or moved: the halves keep pointers into it.
    storage: Box<[AtomicPtr<T>]>,
    /// Index in `storage` of the first used slot.
    first: usize,
    /// Used slots (`S`).
    len: usize,
    /// The most boxes the lane holds at once: exactly what was asked for.
    capacity: usize,
}

impl<T> Lane<T> {
    fn try_new(capacity: usize) -> Option<Lane<T>> {
        let line = Line::<T>::SLOTS;
        let len = capacity
            .checked_add(2 * line - 2)
            .map(|n| n / line * line)?;
        let mut storage: Vec<AtomicPtr<T>> = Vec::new();
        // `try_reserve_exact` reports an overflowing size and an allocator refusal alike,
        // where `Vec::with_capacity` would abort.
        storage.try_reserve_exact(len.checked_add(line - 1)?).ok()?;
        storage.extend((0..len + line - 1).map(|_| AtomicPtr::new(ptr::null_mut())));
        let storage = storage.into_boxed_slice();
        // `usize::MAX` when the slots cannot be aligned (as under loom, whose atomics are
        // larger): then the layout is slower but still correct.
        let first = match storage.as_ptr().align_offset(LINE_BYTES) {
            offset if offset < line => offset,
            _ => 0,
        };
        Some(Lane {
            head: CachePadded::new(AtomicUsize::new(0)),
            storage,
            first,
            len,
            capacity,
        })
    }

    fn base(&self) -> *const AtomicPtr<T> {
        self.storage[self.first..].as_ptr()
    }

    fn sender(&self) -> Sender<T> {
        Sender {
            base: self.base(),
            len: self.len,
            capacity: self.capacity,
            index: 0,
            // `capacity < len`.
            limit: self.capacity,
        }
    }

    fn receiver(&self) -> Receiver<T> {
        Receiver {
            base: self.base(),
            len: self.len,
            index: 0,
        }
    }
}

impl<T> Drop for Lane<T> {
    fn drop(&mut self) {
        // Both halves are gone (the `Arc` ordered their accesses before this): the boxes
        // still queued lie from `head` on, at most `capacity` of them, until a null slot.
        let mut queued = Queued {
            receiver: self.receiver(),
            left: self.capacity,
        };
        queued.receiver.index = self.head.load(Ordering::Relaxed);
        queued.drop_all();
    }
}

/// The boxes a dying lane still holds. If one's `drop` panics, dropping this guard while
/// unwinding drops the rest, as `Vec` does, instead of leaking them.
struct Queued<T> {
    receiver: Receiver<T>,
    left: usize,
}

impl<T> Queued<T> {
    fn drop_all(&mut self) {
        while self.left > 0 {
            self.left -= 1;
            let boxed = self
                .receiver
                .slot(self.receiver.index)
                .load(Ordering::Relaxed);
            if boxed.is_null() {
                break;
            }
            self.receiver.index += 1;
            if self.receiver.index == self.receiver.len {
                self.receiver.index = 0;
            }
            // SAFETY: a non-null slot within `capacity` of `head` holds a published box
            // that was not taken (the lane's invariant); the index moved past it first, so
            // it is dropped once even if its `drop` panics.
            drop(unsafe { Box::from_raw(boxed) });
        }
    }
}

impl<T> Drop for Queued<T> {
    fn drop(&mut self) {
        self.drop_all();
    }
}

/// The sending side of a lane, kept inside the half that owns it.
struct Sender<T> {
    base: *const AtomicPtr<T>,
    len: usize,
    capacity: usize,
    /// Index of the next slot to write, in `0..=len` (`len` until the push that wraps it).
    index: usize,
    /// Index of the first slot that may not be written before `refresh`: `capacity` slots
    /// past the `head` last seen, or the end of the storage if that comes first. So the
    /// fast path has one comparison for both "full as far as this side knows" and "time
    /// to wrap around".
    limit: usize,
}

impl<T> Sender<T> {
    #[inline(always)]
    fn slot(&self, index: usize) -> &AtomicPtr<T> {
        // SAFETY: `index < len`, and the lane has `len` slots from `base` on; the lane
        // lives as long as the half that holds this sender.
        unsafe { &*self.base.add(index) }
    }

    /// Publishes `boxed`, or returns `false` if the lane is full.
    #[inline(always)]
    fn push(&mut self, lane: &Lane<T>, boxed: *mut T) -> bool {
        if self.index == self.limit && !self.refresh(lane) {
            return false;
        }
        // `index < limit <= len`.
        let index = self.index;
        // Publishes the box: everything written into it before happens before the
        // receiver's `Acquire` load that finds this pointer.
        self.slot(index).store(boxed, Ordering::Release);
        self.index = index + 1;
        true
    }

    /// Whether a push would succeed; reloads `head` if the room seen so far is used up.
    #[inline(always)]
    fn has_room(&mut self, lane: &Lane<T>) -> bool {
        self.index != self.limit || self.refresh(lane)
    }

    /// Wraps the index around at the end of the storage, and recounts the room from the
    /// receiver's `head`; returns whether there is any.
    #[inline(never)]
    fn refresh(&mut self, lane: &Lane<T>) -> bool {
        if self.index == self.len {
            self.index = 0;
        }
        let room = self.capacity - self.used(lane);
        self.limit = (self.index + room).min(self.len);
        room != 0
    }

    /// The boxes in the lane, as far as this side can tell: an upper bound.
    fn used(&self, lane: &Lane<T>) -> usize {
        // Pairs with the receiver's `Release` store of `head`, so that the nulls it stored
        // into the slots it left come before this side's stores into them.
        // Needed, but loom cannot show it: loom keeps each thread's stores in program
        // order, so no model sees a store into a slot land before the receiver's null
        // (the C++ model and an Arm CPU allow it). Weakened, the models fail only by
        // exceeding loom's branch limit (the sender spins on a stale `head`).
        // not a mutant: loom cannot model the reordering it forbids (see above)
        let head = lane.head.load(Ordering::Acquire);
        let index = if self.index == self.len {
            0
        } else {
            self.index
        };
        // `head` trails `index` by at most `capacity < len` slots.
        if index >= head {
            index - head
        } else {
            index + self.len - head
        }
    }
}

/// The receiving side of a lane, kept inside the half that owns it.
struct Receiver<T> {
    base: *const AtomicPtr<T>,
    len: usize,
    /// Index of the next slot to read; the lane's `head` mirrors it.
    index: usize,
}

impl<T> Receiver<T> {
    #[inline(always)]
    fn slot(&self, index: usize) -> &AtomicPtr<T> {
        // SAFETY: `index < len`, and the lane has `len` slots from `base` on; the lane
        // lives as long as the half that holds this receiver.
        unsafe { &*self.base.add(index) }
    }

    /// The box in the next slot, or null.
    #[inline(always)]
    fn peek(&self) -> *mut T {
        // Pairs with the sender's `Release` store of the pointer: what it wrote into the
        // box happens before this side reads it.
        self.slot(self.index).load(Ordering::Acquire)
    }

    /// Takes the next box (null if there is none).
    #[inline(always)]
    fn pop(&mut self, lane: &Lane<T>) -> *mut T {
        let index = self.index;
        // Pairs with the sender's `Release` store of the pointer, as in `peek`.
        let boxed = self.slot(index).load(Ordering::Acquire);
        if boxed.is_null() {
            return boxed;
        }
        let mut next = index + 1;
        if next % Line::<T>::SLOTS == 0 {
            next = self.leave_line(next);
        }
        self.index = next;
        // Hands the slots of the lines left behind back to the sender, after their nulls
        // (pairs with the sender's `Acquire` load of `head`).
        // not a mutant: needed, but loom cannot model the reordering (see `Sender::used`)
        lane.head.store(next, Ordering::Release);
        boxed
    }

    /// Nulls the line that ends before `end` (its boxes were all taken); returns the
    /// index that follows it, wrapped around at the end of the storage.
    #[inline(never)]
    fn leave_line(&self, end: usize) -> usize {
        for index in end - Line::<T>::SLOTS..end {
            // Published to the sender by the next `Release` store of `head`.
            self.slot(index).store(ptr::null_mut(), Ordering::Relaxed);
        }
        if end == self.len {
            0
        } else {
            end
        }
    }

    /// How many boxes are ready, at least, among the next `capacity` slots.
    fn ready(&self, capacity: usize) -> usize {
        // The ready slots are a run from `index` on, followed by null ones (the sender
        // fills them in order, and those within `capacity` of `index` have been nulled):
        // a binary search finds its end. A count only, so `Relaxed`: no box is read on
        // the strength of these loads.
        let (mut low, mut high) = (0, capacity);
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            let mut index = self.index + mid - 1;
            if index >= self.len {
                index -= self.len;
            }
            if self.slot(index).load(Ordering::Relaxed).is_null() {
                high = mid - 1;
            } else {
                low = mid;
            }
        }
        low
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
/// Each direction is a *lane*: an array of `AtomicPtr<T>` slots aligned to a cache line,
/// and the index of the receiving side's next slot (`head`) on a line of its own.
///
/// - The receiver takes a box with one `Acquire` load of its slot; it never reads the
///   sender's position. It publishes `head` after every take, on its own line, so the
///   sender sees the room immediately (the capacity is exact).
/// - The receiver does not null each slot as it takes it: it nulls a line's worth of
///   slots at once, when it leaves that line. Nulling one by one would pull the line the
///   sender is writing into the receiver's cache on every message while the ring runs
///   nearly empty (a prototype that did so ran at 0.5–0.6× rtrb as the return ring of a
///   recycling pair).
/// - The sender never reads a slot: it counts its room from `head`, which it reloads
///   only when the room it last saw is used up. The storage holds at least
///   `capacity + 7` slots (rounded up to whole lines of 8), so the slots the sender
///   may write always lie on lines the receiver has left and nulled.
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
    /// Makes a ring that holds exactly `capacity` boxes, with a return ring of the same
    /// capacity for recycling, and returns its two halves.
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
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new(capacity: usize) -> (BoxProducer<T>, BoxConsumer<T>) {
        Self::with_recycling(capacity, capacity)
    }

    /// Makes a ring that holds exactly `capacity` boxes and whose return ring holds
    /// exactly `recycle_capacity` (0: no recycling, [`BoxConsumer::recycle`] frees).
    ///
    /// A return ring two boxes larger than the ring itself never has to free a box in a
    /// steady stream where every box comes back, so the producer never has to allocate
    /// once the boxes in circulation suffice.
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

    /// Makes a ring of exactly `capacity` boxes (and a return ring as large), or says why
    /// it cannot.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::ring::BoxRing;
    ///
    /// assert!(BoxRing::<u8>::try_new(usize::MAX / 4).is_err());
    /// assert!(BoxRing::<u8>::try_new(16).is_ok());
    /// ```
    pub fn try_new(capacity: usize) -> Result<(BoxProducer<T>, BoxConsumer<T>), CapacityError> {
        Self::try_with_recycling(capacity, capacity)
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
        let error = |capacity: usize| {
            let line = Line::<T>::SLOTS;
            CapacityError {
                capacity,
                // As `Lane::try_new` counts them.
                storage: capacity
                    .checked_add(2 * line - 2)
                    .and_then(|n| (n / line * line).checked_add(line - 1)),
                slot_size: core::mem::size_of::<AtomicPtr<T>>(),
                value_size: core::mem::size_of::<AtomicPtr<T>>(),
                rounding: "the capacity plus a line of slack, in whole cache lines",
                overhead: ": one pointer, null when empty",
            }
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
        if self.forward.push(&self.ring.forward, raw) {
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
        if !self.forward.has_room(&self.ring.forward) {
            return Err(PushError::Full(value));
        }
        let boxed = match self.take_recycled() {
            Some(mut boxed) => {
                *boxed = value;
                boxed
            }
            None => Box::new(value),
        };
        let pushed = self.forward.push(&self.ring.forward, Box::into_raw(boxed));
        debug_assert!(pushed, "the room seen above is this side's to use");
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
        let raw = self.back.pop(&self.ring.back);
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
        self.forward.capacity - self.forward.used(&self.ring.forward)
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
        self.forward.capacity
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
        let raw = self.forward.pop(&self.ring.forward);
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
        if !self.back.push(&self.ring.back, raw) {
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
        // the ring too: `head` is published after every pop.
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
