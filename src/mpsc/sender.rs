//! The sending half.

use core::fmt;
use core::mem::ManuallyDrop;
use std::time::Duration;

use super::error::{SendError, SendTimeoutError, TrySendError};
use super::{rendezvous, Deadline, NotifyOnDrop, Shared};
use crate::ring::{Producer, PushError};
use crate::sync::{Arc, UnsafeCell};

/// The sending half of a channel made by [`sync_channel`](super::sync_channel).
///
/// Like std's `SyncSender`, except that there is only one: it is neither `Clone` nor
/// `Sync` (it is `Send` when `T` is, so it may move to another thread). Dropping it
/// disconnects the channel; the receiver still gets what was sent before.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(8);
/// let producer = std::thread::spawn(move || {
///     for i in 0..3 {
///         tx.send(i).unwrap();
///     }
/// }); // `tx` is dropped with the thread
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// producer.join().unwrap();
/// ```
///
/// ```compile_fail
/// let (tx, _rx) = ringlink::mpsc::sync_channel::<u8>(1);
/// let second_producer = tx.clone(); // single producer: `SyncSender` is not `Clone`
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::mpsc::SyncSender<u8>>(); // nor `Sync`: no sharing by reference
/// ```
pub struct SyncSender<T> {
    /// Only this half's methods touch it, through `with_producer`. `ManuallyDrop` so
    /// that `drop` can drop it (marking the ring abandoned) before waking the receiver.
    producer: UnsafeCell<ManuallyDrop<Producer<T>>>,
    shared: Arc<Shared>,
    /// `bound == 0`: values go through the hand-over of `rendezvous.rs`.
    rendezvous: bool,
}

impl<T> SyncSender<T> {
    pub(super) fn new(producer: Producer<T>, shared: Arc<Shared>, rendezvous: bool) -> Self {
        SyncSender {
            producer: UnsafeCell::new(ManuallyDrop::new(producer)),
            shared,
            rendezvous,
        }
    }

    /// Sends a value, waiting while the buffer is full; fails, handing the value back,
    /// if the [`Receiver`](super::Receiver) is gone.
    ///
    /// On a rendezvous channel (`bound == 0`) it returns only once the receiver has taken
    /// the value. A successful send does not promise that the value will be received:
    /// the receiver may be dropped first.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{sync_channel, SendError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap(); // may wait for the consumer to take 1
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), [1, 2]);
    ///
    /// let (tx, rx) = sync_channel(1);
    /// drop(rx);
    /// assert_eq!(tx.send(3), Err(SendError(3)));
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.push(value) {
            Ok(()) => Ok(()),
            Err(value) => {
                self.send_slow(value, Deadline::Never)
                    .map_err(|error| match error {
                        SendTimeoutError::Timeout(value)
                        | SendTimeoutError::Disconnected(value) => SendError(value),
                    })
            }
        }
    }

    /// Sends a value if that needs no waiting.
    ///
    /// Fails with [`TrySendError::Full`] when the buffer is full (on a rendezvous channel:
    /// when no receiver waits in `recv`), with [`TrySendError::Disconnected`] when the
    /// receiver is gone; the value is handed back in both.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{sync_channel, TrySendError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(tx.try_send(2), Ok(()));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.push(value) {
            Ok(()) => Ok(()),
            Err(value) => self
                .send_slow(value, Deadline::Now)
                .map_err(|error| match error {
                    SendTimeoutError::Timeout(value) => TrySendError::Full(value),
                    SendTimeoutError::Disconnected(value) => TrySendError::Disconnected(value),
                }),
        }
    }

    /// Sends a value, waiting at most `timeout` while the buffer is full (on a
    /// rendezvous channel: while no receiver waits).
    ///
    /// Never times out before `timeout` has passed; a timeout too large to add to the
    /// current time (like `Duration::MAX`) waits forever. On a rendezvous channel, once a
    /// receiver has been found the value is handed over even if the time runs out
    /// meanwhile.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use std::time::Duration;
    /// use ringlink::mpsc::{sync_channel, SendTimeoutError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// tx.send_timeout(1, Duration::from_millis(10)).unwrap();
    /// assert_eq!(
    ///     tx.send_timeout(2, Duration::from_millis(10)),
    ///     Err(SendTimeoutError::Timeout(2)),
    /// );
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match self.push(value) {
            Ok(()) => Ok(()),
            Err(value) => self.send_slow(value, Deadline::after(timeout)),
        }
    }

    /// The fast path: pushes the value if the buffer has room and the receiver is there,
    /// and wakes the receiver if it sleeps. Hands the value back for the slow path
    /// otherwise (and always on a rendezvous channel).
    #[inline(always)]
    fn push(&self, value: T) -> Result<(), T> {
        if self.rendezvous {
            return Err(value);
        }
        self.with_producer(|producer| self.push_to(producer, value))
    }

    /// One try: [`push`](SyncSender::push) on a borrowed producer. A full ring reloads the
    /// receiver's position before it gives up, so a failed try saw the ring truly full.
    #[inline(always)]
    fn push_to(&self, producer: &mut Producer<T>, value: T) -> Result<(), T> {
        if producer.is_abandoned() {
            return Err(value);
        }
        match producer.push(value) {
            Ok(()) => {
                self.shared.receiver.notify();
                Ok(())
            }
            Err(PushError::Full(value)) => Err(value),
        }
    }

    /// Everything but the fast path: a rendezvous, a disconnection, or a full buffer to
    /// wait on (for a free slot, a disconnection, or the deadline). `value` has just
    /// failed a [`push`](SyncSender::push).
    #[inline(never)]
    fn send_slow(&self, mut value: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        self.with_producer(|producer| {
            if self.rendezvous {
                return rendezvous::send(&self.shared, producer, value, deadline);
            }
            loop {
                // The last try failed: the receiver is gone, or the ring was full.
                if producer.is_abandoned() {
                    return Err(SendTimeoutError::Disconnected(value));
                }
                let Some(deadline) = deadline.blocking() else {
                    return Err(SendTimeoutError::Timeout(value));
                };
                let ready = self
                    .shared
                    .sender
                    .wait_until(self.shared.strategy, deadline, || {
                        // Free slots first: the receiver's drop marks the ring abandoned
                        // before it drains it, so a slot freed by the drain comes with the
                        // mark, and a send blocked until then fails as it should.
                        let free = producer.slots() > 0;
                        (free || producer.is_abandoned()).then_some(())
                    });
                if ready.is_none() {
                    return Err(SendTimeoutError::Timeout(value));
                }
                // A free slot or a disconnection: the try finds the slot just seen (only
                // the receiver changes free slots, upwards), or fails on the mark.
                value = match self.push_to(producer, value) {
                    Ok(()) => return Ok(()),
                    Err(value) => value,
                };
            }
        })
    }

    #[inline(always)]
    fn with_producer<R>(&self, f: impl FnOnce(&mut Producer<T>) -> R) -> R {
        // SAFETY: `SyncSender` is neither `Sync` nor `Clone`, so only the thread that owns
        // it runs its methods; none of them runs user code (values are moved, never
        // dropped, here) or calls another while the producer is borrowed. This is the only
        // reference to the producer, which `drop` alone takes down.
        self.producer
            .with_mut(|producer| f(unsafe { &mut *producer }))
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        // Declared first, so dropped last: after the producer has marked the ring
        // abandoned, even if dropping the ring's values panics.
        // mutant(loom_mpsc): SyncSender::drop does not wake the receiver => let _wake_receiver = ();
        let _wake_receiver = NotifyOnDrop(&self.shared.receiver);
        // SAFETY: the producer is dropped here, once, and `self` is not used after.
        self.producer
            .with_mut(|producer| unsafe { ManuallyDrop::drop(&mut *producer) });
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}
