//! The sending halves: [`SyncSender`] (bounded) and [`Sender`] (unbounded).

use core::fmt;
use core::panic::{RefUnwindSafe, UnwindSafe};
use std::time::Duration;

use super::flavor::{self, SendFlavor};
use super::{rendezvous, Half};
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::ring::list::ListProducer;
use crate::ring::Producer;
use crate::wait::Deadline;

/// The sending half of a channel made by [`sync_channel`](super::sync_channel).
///
/// As std's `SyncSender`: it is `Send` (when `T` is) and `Clone`. The channel is
/// disconnected when the last sender is dropped (also when its thread panics); the
/// receiver still gets every value sent before.
///
/// Until it is first cloned, the sender is the ring's one producer and a send is a plain
/// store to the ring. After a `clone`, the senders hand that producer from one to the
/// next as they take turns, and share the ring through one compare-exchange per send
/// only when they keep sending at the same time. The buffer still holds exactly `bound`
/// values in all, and values keep their order (see the [module](super#several-senders)).
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(8);
/// let producers: Vec<_> = (0..3)
///     .map(|id| {
///         let tx = tx.clone();
///         std::thread::spawn(move || tx.send(id).unwrap())
///     })
///     .collect();
/// drop(tx); // the clones keep the channel open
/// let mut got: Vec<_> = rx.iter().collect(); // ends when the last clone is dropped
/// got.sort();
/// assert_eq!(got, [0, 1, 2]);
/// # for p in producers { p.join().unwrap(); }
/// ```
///
/// Unlike std's, it is not `Sync`: share a channel between threads by giving each its own
/// clone, not by sharing one sender by reference. A `Sync` sender could be used by two
/// threads at once without a clone, so even a channel that was never cloned would need a
/// locked instruction on every send.
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::mpsc::SyncSender<u8>>(); // clone it instead
/// ```
pub struct SyncSender<T> {
    /// Dropping it drops the end: the last sender marks the ring abandoned, then every
    /// sender's drop wakes the receiver.
    half: Half<SendFlavor<Producer<T>>>,
}

// A panic in user code never runs inside a send (values are moved, not cloned or
// dropped, there), so no sender is left half-way through one; as std's halves, they may
// cross `catch_unwind`.
impl<T> UnwindSafe for SyncSender<T> {}
impl<T> RefUnwindSafe for SyncSender<T> {}

impl<T> SyncSender<T> {
    pub(super) fn new(half: Half<SendFlavor<Producer<T>>>) -> Self {
        SyncSender { half }
    }

    /// Sends a value, waiting while the buffer is full; fails, handing the value back,
    /// if the [`Receiver`](super::Receiver) is gone.
    ///
    /// On a rendezvous channel (`bound == 0`) it returns only once the receiver has taken
    /// the value. A successful send does not promise that the value will be received:
    /// the receiver may be dropped first.
    ///
    /// A sender that fills the buffer while the wait strategy spins (`Spin`, or
    /// `Adaptive` with the receiver on another CPU) gives the receiver up to a few
    /// microseconds to free an eighth of the buffer before it takes room again, rather
    /// than taking each slot as it comes free and pulling the receiver's position across
    /// to its CPU for each; it then takes whatever room there is, so a receiver that
    /// takes one value and stops still lets one send through. (`try_send` and
    /// `send_timeout` take any free slot at once.)
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
    #[inline(always)]
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
        let batched = flavor::batches(deadline);
        let tried = self.half.with(|end, rendezvous| match rendezvous {
            None => end.try_push(value, batched),
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
        self.half.with(|end, rendezvous| match (rendezvous, end) {
            (None, end) => end.send_slow(value, deadline),
            (Some(state), SendFlavor::Single(end)) => rendezvous::send(state, end, value, deadline),
            (Some(state), SendFlavor::Shared(end)) => {
                rendezvous::send_shared(state, end, value, deadline)
            }
            (Some(_), SendFlavor::Moving) => {
                unreachable!("a sender used while it is being cloned")
            }
        })
    }
}

impl<T> Clone for SyncSender<T> {
    /// Another sender for the same channel. The first clone upgrades the channel to
    /// several senders (see [`SyncSender`]); a send that happens before another, through
    /// whichever senders, is received first.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::sync_channel(4);
    /// tx.send(1).unwrap();
    /// let tx2 = tx.clone();
    /// tx2.send(2).unwrap();
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// ```
    fn clone(&self) -> Self {
        let end = self.half.with(|end, _| end.share());
        SyncSender::new(Half::new(end, self.half.rendezvous.clone()))
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

/// The sending half of a channel made by [`channel`](super::channel): its buffer grows
/// as needed, so [`send`](Sender::send) never waits.
///
/// As std's `Sender`: it is `Send` (when `T` is) and `Clone`; the channel is disconnected
/// when the last sender is dropped, and the receiver still gets every value sent before.
/// A send is a plain store to the queue until the first clone, and after it while the
/// senders take turns; one compare-exchange claims the slot once they send at the same
/// time (see the [module](super#several-senders)). Not `Sync`, for the reason
/// [`SyncSender`] gives.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::channel();
/// for i in 0..10_000 {
///     tx.send(i).unwrap(); // never waits, however many are queued
/// }
/// drop(tx);
/// assert_eq!(rx.iter().count(), 10_000);
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::mpsc::Sender<u8>>(); // clone it instead
/// ```
pub struct Sender<T> {
    /// Dropping it drops the end: the last sender marks the queue abandoned, then every
    /// sender's drop wakes the receiver.
    half: Half<SendFlavor<ListProducer<T>>>,
}

// As for `SyncSender`.
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}

impl<T> Sender<T> {
    pub(super) fn new(half: Half<SendFlavor<ListProducer<T>>>) -> Self {
        Sender { half }
    }

    /// Sends a value; never waits. Fails, handing the value back, if the
    /// [`Receiver`](super::Receiver) is gone.
    ///
    /// A successful send does not promise that the value will be received: the receiver
    /// may be dropped first.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{channel, SendError};
    ///
    /// let (tx, rx) = channel();
    /// tx.send("queued").unwrap();
    /// assert_eq!(rx.recv(), Ok("queued"));
    /// drop(rx);
    /// assert_eq!(tx.send("lost"), Err(SendError("lost")));
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.half
            .with(|end, _| end.try_push(value, false))
            .map_err(SendError)
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender for the same channel; see [`SyncSender::clone`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::channel();
    /// let tx2 = tx.clone();
    /// std::thread::spawn(move || tx2.send(2).unwrap()).join().unwrap();
    /// tx.send(3).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [2, 3]);
    /// ```
    fn clone(&self) -> Self {
        let end = self.half.with(|end, _| end.share());
        Sender::new(Half::new(end, None))
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}
