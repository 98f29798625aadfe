//! The sending half.

use core::fmt;
use std::time::Duration;

use super::{rendezvous, Half};
use crate::end::SendEnd;
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::wait::Deadline;

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
    /// Dropping it drops the end: marks the ring abandoned, then wakes the receiver.
    half: Half<SendEnd<T>>,
}

impl<T> SyncSender<T> {
    pub(super) fn new(half: Half<SendEnd<T>>) -> Self {
        SyncSender { half }
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
        self.send_until(value, Deadline::Never)
            .map_err(|error| match error {
                SendTimeoutError::Timeout(value) | SendTimeoutError::Disconnected(value) => {
                    SendError(value)
                }
            })
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
        self.send_until(value, Deadline::Now)
            .map_err(|error| match error {
                SendTimeoutError::Timeout(value) => TrySendError::Full(value),
                SendTimeoutError::Disconnected(value) => TrySendError::Disconnected(value),
            })
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
        self.send_until(value, Deadline::after(timeout))
    }

    /// Every send. The fast path is one try on a ring with room, kept small enough to
    /// be inlined into the caller's loop; everything else (a full ring, a rendezvous, a
    /// disconnection) is the slow path.
    #[inline(always)]
    fn send_until(&self, value: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        let tried = self.half.with(|end, rendezvous| match rendezvous {
            None => end.try_push(value),
            Some(_) => Err(value),
        });
        match tried {
            Ok(()) => Ok(()),
            Err(value) => self.send_slow(value, deadline),
        }
    }

    /// Through the ring (the blocking end waits for room), or through the hand-over of a
    /// rendezvous channel.
    #[inline(never)]
    fn send_slow(&self, value: T, deadline: Deadline) -> Result<(), SendTimeoutError<T>> {
        self.half.with(|end, rendezvous| match rendezvous {
            None => end.send(value, deadline, || false),
            Some(state) => rendezvous::send(state, end, value, deadline),
        })
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}
