//! The errors of every blocking send and receive in the crate: std's `std::sync::mpsc`
//! errors, one for one, with the same
//! variants, derives, messages and conversions, so that `match` arms carry over.

use core::fmt;
use std::error::Error;

/// A send failed because the receiving side is gone (a channel's [`Receiver`], a service
/// that stopped); the value is handed back.
///
/// A send can fail only this way: the value could never be received.
///
/// [`Receiver`]: crate::mpsc::Receiver
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{sync_channel, SendError};
///
/// let (tx, rx) = sync_channel(1);
/// drop(rx);
/// assert_eq!(tx.send("lost"), Err(SendError("lost")));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// A receive failed because the sending side is gone (every sender of a channel, a service
/// that stopped) and every value it sent has been received.
///
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{sync_channel, RecvError};
///
/// let (tx, rx) = sync_channel::<u8>(1);
/// drop(tx);
/// assert_eq!(rx.recv(), Err(RecvError));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// Why a receive that does not wait (a `try_recv`) returned no value.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{sync_channel, TryRecvError};
///
/// let (tx, rx) = sync_channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing is ready now, but the sending side is still there: a value may come.
    Empty,
    /// The sending side is gone and every value it sent has been received: none will
    /// come.
    Disconnected,
}

/// Why a receive with a time limit (`recv_timeout`, `recv_deadline`) returned no value.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use std::time::Duration;
/// use ringlink::mpsc::{sync_channel, RecvTimeoutError};
///
/// let (tx, rx) = sync_channel::<u8>(1);
/// let wait = Duration::from_millis(1);
/// assert_eq!(rx.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
/// drop(tx);
/// assert_eq!(rx.recv_timeout(wait), Err(RecvTimeoutError::Disconnected));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// No value came before the time ran out, but the sending side is still there.
    Timeout,
    /// The sending side is gone and every value it sent has been received: none will
    /// come.
    Disconnected,
}

/// Why a send that does not wait (a `try_send`) did not send; the value is handed back.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{sync_channel, TrySendError};
///
/// let (tx, rx) = sync_channel(1);
/// assert_eq!(tx.try_send(1), Ok(()));
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// Sending would have to wait: the buffer is full or, for a rendezvous channel
    /// (`sync_channel(0)`), no receiver is waiting in `recv`.
    Full(T),
    /// The receiving side is gone: the value could never be received.
    Disconnected(T),
}

/// Why a send with a time limit (`send_timeout`) did not send; the value is handed back.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use std::time::Duration;
/// use ringlink::mpsc::{sync_channel, SendTimeoutError};
///
/// let (tx, rx) = sync_channel(1);
/// let wait = Duration::from_millis(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.send_timeout(2, wait), Err(SendTimeoutError::Timeout(2)));
/// drop(rx);
/// assert_eq!(tx.send_timeout(3, wait), Err(SendTimeoutError::Disconnected(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The time ran out while the buffer stayed full or, for a rendezvous channel, while
    /// no receiver was waiting.
    Timeout(T),
    /// The receiving side is gone: the value could never be received.
    Disconnected(T),
}

impl<T> SendError<T> {
    /// Returns the value that was not sent.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let error = ringlink::mpsc::SendError(String::from("kept"));
    /// assert_eq!(error.into_inner(), "kept");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// Returns the value that was not sent.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::TrySendError;
    ///
    /// assert_eq!(TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Disconnected(value) => value,
        }
    }
}

impl<T> SendTimeoutError<T> {
    /// Returns the value that was not sent.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::SendTimeoutError;
    ///
    /// assert_eq!(SendTimeoutError::Timeout(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(value) | SendTimeoutError::Disconnected(value) => value,
        }
    }
}

// `Debug` by hand, as std does, so that `T` need not be `Debug` (and `unwrap` works on
// any `Result<_, SendError<T>>`).
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(..) => f.write_str("Full(..)"),
            TrySendError::Disconnected(..) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(..) => f.write_str("Timeout(..)"),
            SendTimeoutError::Disconnected(..) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(..) => "sending on a full channel",
            TrySendError::Disconnected(..) => "sending on a closed channel",
        })
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(..) => "timed out waiting on send operation",
            SendTimeoutError::Disconnected(..) => "sending on a disconnected channel",
        })
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed channel")
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Disconnected => "receiving on a closed channel",
        })
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "timed out waiting on channel",
            RecvTimeoutError::Disconnected => "channel is empty and sending half is closed",
        })
    }
}

impl<T> Error for SendError<T> {}
impl<T> Error for TrySendError<T> {}
impl<T> Error for SendTimeoutError<T> {}
impl Error for RecvError {}
impl Error for TryRecvError {}
impl Error for RecvTimeoutError {}

impl<T> From<SendError<T>> for TrySendError<T> {
    /// A failed `send` is a `try_send` that found the receiver gone: always
    /// [`TrySendError::Disconnected`].
    fn from(SendError(value): SendError<T>) -> Self {
        TrySendError::Disconnected(value)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    /// A failed `send` is a `send_timeout` that found the receiver gone: always
    /// [`SendTimeoutError::Disconnected`].
    fn from(SendError(value): SendError<T>) -> Self {
        SendTimeoutError::Disconnected(value)
    }
}

impl From<RecvError> for TryRecvError {
    /// A failed `recv` means the channel is disconnected: always
    /// [`TryRecvError::Disconnected`].
    fn from(RecvError: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

impl From<RecvError> for RecvTimeoutError {
    /// A failed `recv` means the channel is disconnected: always
    /// [`RecvTimeoutError::Disconnected`].
    fn from(RecvError: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}
