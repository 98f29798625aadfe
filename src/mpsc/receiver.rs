//! The receiving half and its iterators.

use core::fmt;
use core::iter::FusedIterator;
use core::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use super::{rendezvous, Half};
use crate::end::RecvEnd;
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::ring::list::ListConsumer;
use crate::ring::Consumer;
use crate::wait::Deadline;

/// The receiver's blocking end: on the ring of a [`sync_channel`](super::sync_channel),
/// or on the unbounded queue of a [`channel`](super::channel).
///
/// `repr(u8)` for a tag byte of its own, as `SendFlavor` (one compare per receive).
#[repr(u8)]
pub(super) enum RecvFlavor<T> {
    Bounded(RecvEnd<Consumer<T>>),
    Unbounded(RecvEnd<ListConsumer<T>>),
}

/// The receiving half of a channel made by [`sync_channel`](super::sync_channel) or
/// [`channel`](super::channel).
///
/// As std's `Receiver`: there is one, it is `Send` (when `T` is) but not `Sync`.
/// Dropping it drops the values still buffered at once and makes every later send
/// fail. The drop takes bounded time: it drops what was buffered when it began; a value
/// a sender pushes meanwhile is dropped with the sender.
///
/// Values whose `Drop` panics: the drop goes on with the rest, as a `Vec`'s does, and
/// the panic then continues from the receiver's drop; a second panicking value aborts
/// the process (a panic during a panic). std's receiver leaks the values it holds
/// instead.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(4);
/// std::thread::spawn(move || {
///     for word in ["one", "two", "three"] {
///         tx.send(word).unwrap();
///     }
/// });
/// assert_eq!(rx.iter().collect::<Vec<_>>(), ["one", "two", "three"]);
/// ```
pub struct Receiver<T> {
    /// Dropping it drops the end: drops the values still buffered and marks the ring abandoned, then wakes the sender.
    half: Half<RecvFlavor<T>>,
}

// A panic in user code never runs inside a receive (values are moved out, not dropped,
// there), so the receiver is never left half-way through one; as std's, it may cross
// `catch_unwind`.
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    pub(super) fn new(half: Half<RecvFlavor<T>>) -> Self {
        Receiver { half }
    }

    /// Receives the next value, waiting while the channel is empty.
    ///
    /// Fails with [`RecvError`] once the sender is gone and every value it sent has been
    /// received; a `recv` that is waiting when the sender goes wakes up to do so.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{sync_channel, RecvError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// let producer = std::thread::spawn(move || tx.send(42).unwrap());
    /// assert_eq!(rx.recv(), Ok(42));
    /// producer.join().unwrap(); // the sender is dropped with its thread
    /// assert_eq!(rx.recv(), Err(RecvError));
    /// ```
    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(Deadline::Never)
            .map_err(|_: RecvTimeoutError| RecvError)
    }

    /// Receives a value if one is ready, without waiting.
    ///
    /// Fails with [`TryRecvError::Empty`] when none is, with
    /// [`TryRecvError::Disconnected`] once the sender is gone and every value it sent has
    /// been received. On a rendezvous channel a value is ready when the sender waits in
    /// `send`.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{sync_channel, TryRecvError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_until(Deadline::Now).map_err(|error| match error {
            RecvTimeoutError::Timeout => TryRecvError::Empty,
            RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Receives the next value, waiting at most `timeout` while the channel is empty.
    ///
    /// Never returns [`RecvTimeoutError::Timeout`] before `timeout` has passed; a timeout
    /// too large to add to the current time (like `Duration::MAX`) waits forever. Fails
    /// with [`RecvTimeoutError::Disconnected`] as [`recv`](Receiver::recv) does.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use std::time::Duration;
    /// use ringlink::mpsc::{sync_channel, RecvTimeoutError};
    ///
    /// let (tx, rx) = sync_channel(1);
    /// let wait = Duration::from_millis(10);
    /// assert_eq!(rx.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_timeout(wait), Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::MAX), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Deadline::after(timeout))
    }

    /// Receives the next value, waiting at most until `deadline` while the channel is
    /// empty.
    ///
    /// As [`recv_timeout`](Receiver::recv_timeout), with an instant instead of a
    /// duration (std has this method behind a feature gate).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use std::time::{Duration, Instant};
    /// use ringlink::mpsc::{sync_channel, RecvTimeoutError};
    ///
    /// let (tx, rx) = sync_channel::<u8>(1);
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// assert!(Instant::now() >= deadline);
    /// # drop(tx);
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Deadline::At(deadline))
    }

    /// An iterator that receives values with [`recv`](Receiver::recv): it waits for each,
    /// and ends once the channel is disconnected and empty.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::sync_channel(3);
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// An iterator that receives the values ready now, with
    /// [`try_recv`](Receiver::try_recv): it never waits, and ends at the first
    /// [`TryRecvError`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::sync_channel(3);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // empty, though `tx` is still there
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// Every receive. The fast path is one try on a ring with a value, kept small enough
    /// to be inlined into the caller's loop; everything else (an empty ring, a
    /// rendezvous, a disconnection) is the slow path.
    #[inline(always)]
    fn recv_until(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        let tried = self.half.with(|end, rendezvous| match (rendezvous, end) {
            (None, RecvFlavor::Bounded(end)) => end.try_pop(),
            (None, RecvFlavor::Unbounded(end)) => end.try_pop(),
            (Some(_), _) => None,
        });
        match tried {
            Some(value) => Ok(value),
            None => self.recv_slow(deadline),
        }
    }

    /// From the ring (the blocking end waits for a value), or through the hand-over of a
    /// rendezvous channel.
    #[inline(never)]
    fn recv_slow(&self, deadline: Deadline) -> Result<T, RecvTimeoutError> {
        self.half.with(|end, rendezvous| match (rendezvous, end) {
            (None, RecvFlavor::Bounded(end)) => end.recv_slow(deadline, || false),
            (None, RecvFlavor::Unbounded(end)) => end.recv_slow(deadline, || false),
            (Some(state), RecvFlavor::Bounded(end)) => rendezvous::recv(state, end, deadline),
            (Some(_), RecvFlavor::Unbounded(_)) => unreachable!("an unbounded rendezvous"),
        })
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// An iterator that waits for each value; made by [`Receiver::iter`].
///
/// It ends once the sender is gone and every value has been received.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(1);
/// std::thread::spawn(move || (0..5).for_each(|i| tx.send(i).unwrap()));
/// let iter: ringlink::mpsc::Iter<'_, i32> = rx.iter();
/// assert_eq!(iter.sum::<i32>(), 10);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

// Once disconnected and empty, a channel stays so.
impl<T> FusedIterator for Iter<'_, T> {}

/// An iterator over the values ready now; made by [`Receiver::try_iter`].
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(2);
/// tx.send('x').unwrap();
/// let mut ready: ringlink::mpsc::TryIter<'_, char> = rx.try_iter();
/// assert_eq!(ready.next(), Some('x'));
/// assert_eq!(ready.next(), None);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// An iterator that owns the receiver and waits for each value; made by
/// `Receiver::into_iter`.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// let (tx, rx) = ringlink::mpsc::sync_channel(2);
/// std::thread::spawn(move || (1..=3).for_each(|i| tx.send(i).unwrap()));
/// let iter: ringlink::mpsc::IntoIter<i32> = rx.into_iter();
/// assert_eq!(iter.collect::<Vec<_>>(), [1, 2, 3]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for IntoIter<T> {}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    /// Same as [`Receiver::iter`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::sync_channel(2);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// for value in &rx {
    ///     assert_eq!(value, 1);
    /// }
    /// ```
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    /// Turns the receiver into an iterator that waits for each value.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::sync_channel(2);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.into_iter().collect::<Vec<_>>(), [1]);
    /// ```
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}
