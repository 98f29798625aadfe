//! A sender's end before and after its channel is cloned.
//!
//! A channel starts with one sender, which pushes as the queue's one producer: no locked
//! instruction per message. The first `clone` turns that producer into a shared one
//! (`Upgrade::into_shared`), on the thread that owns the sender, so no push is in flight;
//! from then on every sender, the first included, is one pusher of the shared queue.
//! The queue itself is unchanged, so every value pushed before the upgrade is popped
//! before any pushed after, and the receiver never knows.

use core::mem;

use crate::end::{PushHalf, SendEnd, SharedPusher};
use crate::error::SendTimeoutError;
use crate::ring::list::{ListProducer, SharedListProducer};
use crate::ring::Producer;
use crate::sync::Arc;
use crate::wait::Deadline;

/// A producer that can become one of many pushers.
pub(super) trait Upgrade: PushHalf + Sized {
    /// One pusher of the shared queue.
    type Shared: PushHalf<Item = Self::Item>;
    /// The producer, as the first pusher of the shared queue.
    fn into_shared(self) -> Self::Shared;
    /// Another pusher of the same queue.
    fn share(pusher: &Self::Shared) -> Self::Shared;
}

impl<T> Upgrade for Producer<T> {
    type Shared = SharedPusher<T>;
    fn into_shared(self) -> SharedPusher<T> {
        SharedPusher::new(self)
    }
    fn share(pusher: &SharedPusher<T>) -> SharedPusher<T> {
        pusher.share()
    }
}

impl<T> Upgrade for ListProducer<T> {
    type Shared = Arc<SharedListProducer<T>>;
    fn into_shared(self) -> Arc<SharedListProducer<T>> {
        Arc::new(ListProducer::into_shared(self))
    }
    fn share(pusher: &Arc<SharedListProducer<T>>) -> Arc<SharedListProducer<T>> {
        pusher.clone()
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
    Shared(SendEnd<S::Shared>),
    /// Only inside [`SendFlavor::share`], while the end moves from one to the other.
    Moving,
}

impl<S: Upgrade> SendFlavor<S> {
    /// One try (see [`SendEnd::try_push`]).
    #[inline(always)]
    pub(super) fn try_push(&mut self, value: S::Item) -> Result<(), S::Item> {
        match self {
            SendFlavor::Single(end) => end.try_push(value),
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
        match self {
            SendFlavor::Single(end) => end.send_slow(value, deadline, || false),
            SendFlavor::Shared(end) => end.send_slow(value, deadline, || false),
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
            *self = SendFlavor::Shared(SendEnd::new(producer.into_shared(), waits));
        }
        match self {
            SendFlavor::Shared(end) => {
                let (pusher, waits) = end.parts();
                SendFlavor::Shared(SendEnd::new(S::share(pusher), waits.share()))
            }
            _ => unreachable!("upgraded above"),
        }
    }
}
