//! A sender's end before and after its channel is cloned.
//!
//! A channel starts with one sender, which pushes as the queue's one producer: no locked
//! instruction per message. The first `clone` moves that producer, on the thread that
//! owns the sender (so no push is in flight), into a cell that every sender shares
//! ([`Biased`]): one sender at a time owns and pushes through it, and after senders
//! keep taking it from each other it becomes the shared queue (`Upgrade::into_shared`).
//! The queue itself is unchanged throughout, so every value pushed before is popped
//! before any pushed after, and the receiver never knows.

use core::mem;

use super::bias::Biased;
use crate::end::{PushHalf, SendEnd};
use crate::error::SendTimeoutError;
use crate::ring::list::{ListProbe, ListProducer, SharedListProducer};
use crate::ring::{Producer, PushError, RingProbe, SharedProducer};
use crate::wait::Deadline;

/// A queue's one producer, which can be handed from sender to sender (see
/// [`Biased`]) and can become a queue that many push through.
pub(super) trait Upgrade: PushHalf + Sized {
    /// The queue once many push through it by `&self`.
    type Shared;
    /// What one pusher of the shared queue keeps for itself: copied from the producer's
    /// at the upgrade, so every pusher starts from what that producer knew.
    type View: Copy;
    /// What any sender may look at without owning the producer: room, and the consumer.
    type Probe;
    /// A probe of this queue.
    fn probe(&self) -> Self::Probe;
    /// Whether a push could find room now (a hint for waiting).
    fn room(probe: &Self::Probe) -> bool;
    /// Whether a batched push could go on now (see [`PushHalf::has_room_for_batch`]).
    fn room_for_batch(probe: &Self::Probe) -> bool {
        Self::room(probe)
    }
    /// Whether the consumer is gone; `Acquire`, as [`PushHalf::is_abandoned`].
    fn gone(probe: &Self::Probe) -> bool;
    /// Where this producer has pushed to (wrapping).
    fn position(&self) -> usize;
    /// How many values it has pushed since it was at `position` (from
    /// [`Upgrade::position`]): how long a sender has held it.
    fn pushed_since(&self, position: usize) -> usize;
    /// The producer, turned into the shared queue, with the view its pushers start from.
    fn into_shared(self) -> (Self::Shared, Self::View);
    /// One push through the shared queue.
    fn push_shared(
        shared: &Self::Shared,
        view: &mut Self::View,
        value: Self::Item,
    ) -> Result<(), Self::Item>;
}

impl<T> Upgrade for Producer<T> {
    type Shared = SharedProducer<T>;
    type View = usize;
    type Probe = RingProbe<T>;
    fn probe(&self) -> RingProbe<T> {
        Producer::probe(self)
    }
    #[inline]
    fn room(probe: &RingProbe<T>) -> bool {
        probe.has_room()
    }
    #[inline]
    fn room_for_batch(probe: &RingProbe<T>) -> bool {
        probe.has_room_for_batch()
    }
    #[inline(always)]
    fn gone(probe: &RingProbe<T>) -> bool {
        probe.is_abandoned()
    }
    fn position(&self) -> usize {
        Producer::position(self)
    }
    fn pushed_since(&self, position: usize) -> usize {
        Producer::pushed_since(self, position)
    }
    fn into_shared(self) -> (SharedProducer<T>, usize) {
        Producer::into_shared(self)
    }
    #[inline(always)]
    fn push_shared(shared: &SharedProducer<T>, view: &mut usize, value: T) -> Result<(), T> {
        shared
            .push(view, value)
            .map_err(|PushError::Full(value)| value)
    }
}

impl<T> Upgrade for ListProducer<T> {
    type Shared = SharedListProducer<T>;
    type View = ();
    type Probe = ListProbe<T>;
    fn probe(&self) -> ListProbe<T> {
        ListProducer::probe(self)
    }
    #[inline]
    fn room(_: &ListProbe<T>) -> bool {
        true
    }
    #[inline(always)]
    fn gone(probe: &ListProbe<T>) -> bool {
        probe.is_abandoned()
    }
    fn position(&self) -> usize {
        ListProducer::position(self)
    }
    fn pushed_since(&self, position: usize) -> usize {
        ListProducer::position(self).wrapping_sub(position)
    }
    fn into_shared(self) -> (SharedListProducer<T>, ()) {
        (ListProducer::into_shared(self), ())
    }
    #[inline(always)]
    fn push_shared(shared: &SharedListProducer<T>, _: &mut (), value: T) -> Result<(), T> {
        shared.push(value);
        Ok(())
    }
}

/// A sender's blocking end: the queue's one producer, or one pusher of many.
///
/// `repr(u8)`: a tag byte of its own, so that the hot path's `match` is one compare. Left
/// to itself the compiler hides the tag in a spare value of a field, which cost seven
/// instructions per send (callgrind).
#[repr(u8)]
pub(super) enum SendFlavor<S: Upgrade> {
    /// The channel has never been cloned.
    Single(SendEnd<S>),
    /// It has: this is one of its senders.
    Shared(SendEnd<Biased<S>>),
    /// Only inside [`SendFlavor::share`], while the end moves from one to the other.
    Moving,
}

/// Whether a send that waits until `deadline` refills a full ring in batches (see
/// [`SendFlavor::try_push`]): only a `send` without a deadline. `try_send` and
/// `send_timeout` take any room there is, so that a deadline is never overshot by a
/// linger.
#[inline(always)]
pub(super) fn batches(deadline: Deadline) -> bool {
    matches!(deadline, Deadline::Never)
}

impl<S: Upgrade> SendFlavor<S> {
    /// One try (see [`SendEnd::try_push`]); `batched` for the first try of a `send`
    /// without a deadline, made with [`SendEnd::try_push_batched`]: the ring's one
    /// producer, whether the sender was never cloned or owns it now (`Biased`), refills
    /// a full ring in batches (`Producer::push_live_batched`). A deadline's wait does
    /// not linger for a batch, so that it is not late.
    #[inline(always)]
    pub(super) fn try_push(&mut self, value: S::Item, batched: bool) -> Result<(), S::Item> {
        match self {
            SendFlavor::Single(end) if batched => end.try_push_batched(value),
            SendFlavor::Single(end) => end.try_push(value),
            SendFlavor::Shared(end) if batched => end.try_push_batched(value),
            SendFlavor::Shared(end) => end.try_push(value),
            SendFlavor::Moving => unreachable!("a sender used while it is being cloned"),
        }
    }

    /// Waits for room until `deadline` (see [`SendEnd::send_slow`]).
    pub(super) fn send_slow(
        &mut self,
        value: S::Item,
        deadline: Deadline,
    ) -> Result<(), SendTimeoutError<S::Item>> {
        // The first try was batched if the send batches (see `try_push`).
        let batched = batches(deadline);
        match self {
            SendFlavor::Single(end) => end.send_slow(value, deadline, batched, || false),
            SendFlavor::Shared(end) => end.send_slow(value, deadline, batched, || false),
            SendFlavor::Moving => unreachable!("a sender used while it is being cloned"),
        }
    }

    /// The end for a new sender of the same channel; upgrades this one first if it is
    /// still the one producer.
    pub(super) fn share(&mut self) -> Self {
        if let SendFlavor::Single(_) = self {
            let SendFlavor::Single(end) = mem::replace(self, SendFlavor::Moving) else {
                unreachable!()
            };
            let (producer, waits) = end.into_parts();
            *self = SendFlavor::Shared(SendEnd::new(Biased::new(producer), waits));
        }
        match self {
            SendFlavor::Shared(end) => {
                let (pusher, waits) = end.parts();
                SendFlavor::Shared(SendEnd::new(pusher.share(), waits.share()))
            }
            _ => unreachable!("upgraded above"),
        }
    }
}
