//! The ring with many producers: what a channel's senders push through once it has been
//! cloned (crate-internal).
//!
//! [`Producer::into_shared`] turns the one producer into a [`SharedProducer`] that any
//! number of threads push through by `&self`. The slots, their marks and the consumer
//! are unchanged; only the way a position is taken and marked differs. The one producer
//! owns `tail` and stores it after each push; shared producers *claim* a position with a
//! compare-exchange on `tail`, then write its slot and store its mark, as the one
//! producer does (the producers of one line may fill its slots in any order: each slot
//! has its own mark). So:
//! - The upgrade moves nothing: `tail` already holds the one producer's position (its
//!   last push stored it), and every value pushed before comes before every value
//!   claimed after.
//! - The capacity stays exact, for all producers together: a position is claimed only
//!   while `tail - head < capacity`.
//! - Positions are claimed in one order (the modification order of `tail`), so a push
//!   that happens before another has the lower position and is popped first.
//! - `tail` now runs ahead of the values written: the consumer goes by each slot's mark
//!   (`pop`, and its drop stops at the first slot not yet written). Batches and counts
//!   (`pop_iter`, `slots`), which trust `tail`, are not used on a shared ring.

use core::fmt;

use super::{distance, is_zst, next, slot_at, Producer, PushError, RingBuffer};
use crate::sync::Arc;
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed};

// Each `Release`/`Acquire` below is weakened to `Relaxed` in turn by `.ci/mutants`:
// mutants(loom_mpsc_shared): orderings

/// A ring's producer that many threads push through. Dropping it (the last owner, when it
/// is shared through an `Arc`) marks the ring abandoned, as dropping the one producer
/// does.
pub(crate) struct SharedProducer<T> {
    /// Its `tail` and `cached_head` are no longer used: `ring.tail` is the claim counter,
    /// and each pusher keeps its own view of `head`.
    producer: Producer<T>,
}

// SAFETY: `push` takes `&self` and touches only atomics (`head`, `tail`, the marks) and the
// slot at a position that its compare-exchange on `tail` gave to this call alone; the
// other `&self` methods only load atomics. So sharing it moves values of `T` between
// threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SharedProducer<T> {}

impl<T> Producer<T> {
    /// Turns the one producer into one that many threads push through (see the module),
    /// and returns with it the producer's view of `head`, for the pusher that was the
    /// producer (each pusher keeps a view of its own; see [`SharedProducer::push`]).
    ///
    /// Called by the thread that owns the producer, so no push of it is in flight.
    pub(crate) fn into_shared(self) -> (SharedProducer<T>, usize) {
        let cached_head = self.cached_head;
        (SharedProducer { producer: self }, cached_head)
    }
}

impl<T> SharedProducer<T> {
    /// Pushes a value, or hands it back in [`PushError::Full`] when `capacity` values are
    /// queued.
    ///
    /// `cached_head` is the caller's own view of `head`: a value that this thread saw
    /// `head` hold through an `Acquire` load, or got from a thread that did (from
    /// [`Producer::into_shared`], or copied from another pusher's view when the pusher
    /// was made by its thread). It may lag behind `head`, never run ahead, and every slot
    /// before it is known to be read.
    #[inline]
    pub(crate) fn push(&self, cached_head: &mut usize, value: T) -> Result<(), PushError<T>> {
        let producer = &self.producer;
        let ring = &*producer.ring;
        // `Acquire`, here and on the claim: whoever claimed position `tail - 1` had seen
        // `head >= tail - capacity` (or it could not have claimed it), and released that
        // with its claim. So this pusher's view of `head`, once reloaded below, is never
        // more than `capacity` behind the `tail` it holds, and a full ring is told from a
        // stale view. (With `Relaxed`, a `tail` could outrun every `head` this thread may
        // see, and the push would report a full ring that is not.)
        // not a mutant: only a `try_send` racing with a pop could tell (a spurious `Full`
        // from a stale view), which no model can assert; on x86 the claim is a full fence
        // anyway.
        let mut tail = ring.tail.load(Acquire);
        loop {
            if distance::<T>(*cached_head, tail) >= producer.capacity {
                // Pairs with the consumer's `Release` store of `head`: the slots it
                // handed back have been read before a pusher writes them again.
                let head = ring.head.load(Acquire);
                if distance::<T>(head, tail) >= producer.capacity {
                    *cached_head = head;
                    // `tail` can only have grown since: full now.
                    return Err(PushError::Full(value));
                }
                // As in `Producer::push_live`: never into a slot that the consumer's drop
                // emptied (a `head` stored by that drop comes with the abandoned mark),
                // and such a `head` is not kept (a clone copies this view).
                // mutant(loom_mpsc_shared): send through a clone: may fill a slot that the receiver's drop emptied => if false {
                if producer.is_abandoned() {
                    return Err(PushError::Full(value));
                }
                *cached_head = head;
            }
            // Claims position `tail`. `Release`: hands on this pusher's view of `head`
            // (see above) and, for zero-sized values, publishes the value itself (the
            // consumer's `Acquire` load of `tail` pairs with it); a value with a slot is
            // published by its mark below.
            match ring
                .tail
                // not a mutant: as for the load of `tail` above. The `Release` that
                // publishes a zero-sized value is not shown either: in the model
                // `a_zero_sized_send_through_a_clone_publishes_what_came_before` the
                // receiver also learns of the send through the wake-up handshake.
                .compare_exchange_weak(tail, next::<T>(tail), AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(current) => tail = current,
            }
        }
        if is_zst::<T>() {
            // The ring owns the value from now on (see `Producer::push`).
            core::mem::forget(value);
        } else {
            // SAFETY: the compare-exchange gave position `tail` to this call alone, and
            // fewer than `capacity` values lie in `head..tail` by a `head` loaded with
            // `Acquire`: the slot's previous value was popped (read) before that load, and
            // the consumer will not read the slot before its mark (`publish` stores it).
            unsafe { slot_at(producer.buffer, producer.mask, tail).publish(value) };
        }
        Ok(())
    }

    /// Whether the consumer is gone (see [`Producer::is_abandoned`]).
    #[inline]
    pub(crate) fn is_abandoned(&self) -> bool {
        self.producer.is_abandoned()
    }
}

impl<T> fmt::Debug for SharedProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedProducer")
            .field("capacity", &self.producer.capacity)
            .field("is_abandoned", &self.is_abandoned())
            .finish()
    }
}

/// What any sender may look at without owning the ring's producer: whether there is room
/// and whether the consumer is gone. It reads only atomics, so it is right both while one
/// producer stores `tail` after each push and after [`Producer::into_shared`], when
/// `tail` counts claims.
pub(crate) struct RingProbe<T> {
    ring: Arc<RingBuffer<T>>,
    capacity: usize,
}

// SAFETY: a probe only loads the ring's atomics (`head`, `tail`, `abandoned`); it never
// touches a slot, so sharing or sending it moves no `T`. (`T: Send` anyway: the probe
// keeps the ring, and its values, alive.)
unsafe impl<T: Send> Send for RingProbe<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for RingProbe<T> {}

impl<T> Producer<T> {
    /// A probe of this ring (see [`RingProbe`]).
    pub(crate) fn probe(&self) -> RingProbe<T> {
        RingProbe {
            ring: self.ring.clone(),
            capacity: self.capacity,
        }
    }

    /// Where this producer has pushed to: the position of its next push.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.tail
    }

    /// How many values this producer has pushed since it was at `position` (one that
    /// [`position`](Producer::position) returned).
    #[inline]
    pub(crate) fn pushed_since(&self, position: usize) -> usize {
        super::distance::<T>(position, self.tail)
    }
}

impl<T> RingProbe<T> {
    /// Whether a push could find room now (a hint for waiting: another pusher may take
    /// the room first).
    pub(crate) fn has_room(&self) -> bool {
        self.free_slots() > 0
    }

    /// Whether a batched push could go on now ([`Producer::push_live_batched`]): at
    /// least a refill batch of free slots. A hint, as [`has_room`](RingProbe::has_room).
    pub(crate) fn has_room_for_batch(&self) -> bool {
        self.free_slots() >= super::refill_batch(self.capacity)
    }

    /// How many slots look free now: a hint for the two above.
    #[inline]
    fn free_slots(&self) -> usize {
        // `head` first: a `tail` loaded after it is not behind it. `Relaxed`: this only
        // decides whether to try; a push loads `head` itself before it writes a slot.
        let head = self.ring.head.load(Relaxed);
        let tail = self.ring.tail.load(Relaxed);
        self.capacity - distance::<T>(head, tail).min(self.capacity)
    }

    /// Whether the consumer is gone (`Acquire`, as [`Producer::is_abandoned`]).
    #[inline(always)]
    pub(crate) fn is_abandoned(&self) -> bool {
        self.ring.consumer_gone()
    }
}
