//! A blocking channel that drops in for [`std::sync::mpsc`], built on the lock-free ring
//! of [`crate::ring`].
//!
//! [`sync_channel`] returns a [`SyncSender`] and a [`Receiver`]: values sent through
//! the sender come out of the receiver in the order they were sent. The buffer holds
//! exactly `bound` values; a `bound` of 0 makes a *rendezvous* channel, where each send
//! waits until the receiver takes the value. [`channel`] returns a [`Sender`] whose
//! buffer grows as needed, so its sends never wait. Senders are `Clone`. The names,
//! signatures, errors and semantics are std's, so moving code over is a change of `use`
//! line (see [what differs](#what-differs-from-std)).
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use std::thread;
//! use ringlink::mpsc::sync_channel;
//!
//! let (tx, rx) = sync_channel(16);
//! let producer = thread::spawn(move || {
//!     for i in 0..100u64 {
//!         tx.send(i).unwrap(); // blocks while 16 values wait in the buffer
//!     }
//! }); // `tx` is dropped here: the channel is disconnected
//!
//! let sum: u64 = rx.iter().sum(); // ends once every value sent has been received
//! assert_eq!(sum, 4950);
//! producer.join().unwrap();
//! ```
//!
//! # What blocks
//!
//! | method | waits while | gives up with |
//! |---|---|---|
//! | [`Sender::send`] | never (the buffer grows) | [`SendError`] when the receiver is gone |
//! | [`SyncSender::send`] | the buffer is full (rendezvous: until the receiver has taken the value) | [`SendError`] when the receiver is gone |
//! | [`SyncSender::try_send`] | never | [`TrySendError::Full`], [`TrySendError::Disconnected`] |
//! | [`SyncSender::send_timeout`] | the buffer is full, for at most the timeout | [`SendTimeoutError::Timeout`], [`SendTimeoutError::Disconnected`] |
//! | [`Receiver::recv`] | the buffer is empty | [`RecvError`] when every sender is gone and the buffer empty |
//! | [`Receiver::try_recv`] | never | [`TryRecvError::Empty`], [`TryRecvError::Disconnected`] |
//! | [`Receiver::recv_timeout`], [`Receiver::recv_deadline`] | the buffer is empty, until the time is up | [`RecvTimeoutError::Timeout`], [`RecvTimeoutError::Disconnected`] |
//!
//! Every failed send hands the value back inside the error.
//!
//! # Disconnection
//!
//! When the last sender is dropped (also when its thread panics), the receiver still
//! gets every value sent before; after that, `recv` returns [`RecvError`] and a `recv`
//! that is blocked wakes up and does so. When the [`Receiver`] is dropped, the values
//! still buffered are dropped at once, every later send fails with the value handed
//! back, and every `send` that is blocked wakes up and does so. A send that races with the
//! receiver's drop may still succeed if the channel had room for it before the drop;
//! its value is then dropped with the sender, as with std, where a successful send never
//! promised that the value would be received. It never takes the room that the drop
//! makes by dropping the buffered values: a send into a full channel fails.
//!
//! # Several senders
//!
//! [`SyncSender`] and [`Sender`] are `Clone`, as std's are: each producer thread gets its
//! own clone, and the channel is disconnected when the last one is dropped.
//!
//! - A channel that has never been cloned runs on a single-producer queue: a send is a
//!   store into the ring and a look at whether the receiver sleeps, with no locked
//!   instruction.
//! - After the first `clone`, the senders pass the queue's one producer around: the
//!   sender that holds it sends as the one sender did, with no locked instruction, and
//!   another sender that sends takes it first (a flag handshake and, on Linux, one
//!   `membarrier` system call, 20 µs on the development VM). So senders that take turns (one
//!   sender at a time, or producers sharing a CPU) run at one-sender speed.
//! - When the senders keep taking the producer from each other after only a few values
//!   (senders sending at the same time on different CPUs), the queue becomes one that
//!   every send claims a slot in with one compare-exchange, and stays so. Nothing is
//!   copied or moved either way; the receiver does not notice.
//! - Order: each sender's values arrive in the order it sent them, and a send that
//!   happens before another (on one thread, or ordered by a join, a lock or another
//!   channel) is received first, whichever senders made them.
//! - Bound: `sync_channel(n)` buffers exactly `n` values in all, however many senders
//!   there are; `sync_channel(0)` stays a rendezvous, the senders taking turns.
//! - Waiting: senders blocked on a full channel sleep together and are all woken when a
//!   slot frees (or the receiver goes), then race for it.
//!
//! # What differs from std
//!
//! - The senders are not `Sync` (std's are, since Rust 1.72): share a channel by cloning
//!   its sender for each thread, not by sharing one sender by reference. A `Sync`
//!   sender could be used by two threads with no clone in between, so every send of a
//!   never-cloned channel would need a locked instruction, which is what ringlink avoids.
//! - Values whose `Drop` panics, still queued when the receiver is dropped, are dropped
//!   as a `Vec` drops them (see [`Receiver`]); std leaks them.
//! - [`SyncSender::send_timeout`] and [`Receiver::recv_deadline`] are stable here.

//! # Migrating from std
//!
//! Before:
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use std::sync::mpsc::{sync_channel, RecvTimeoutError};
//! use std::time::Duration;
//!
//! let (tx, rx) = sync_channel::<String>(64);
//! std::thread::spawn(move || tx.send("job".to_string()).unwrap());
//! match rx.recv_timeout(Duration::from_secs(5)) {
//!     Ok(job) => assert_eq!(job, "job"),
//!     Err(RecvTimeoutError::Timeout) => panic!("no job in time"),
//!     Err(RecvTimeoutError::Disconnected) => panic!("producer gone"),
//! }
//! ```
//!
//! After: only the `use` line changes.
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use ringlink::mpsc::{sync_channel, RecvTimeoutError};
//! use std::time::Duration;
//!
//! let (tx, rx) = sync_channel::<String>(64);
//! std::thread::spawn(move || tx.send("job".to_string()).unwrap());
//! match rx.recv_timeout(Duration::from_secs(5)) {
//!     Ok(job) => assert_eq!(job, "job"),
//!     Err(RecvTimeoutError::Timeout) => panic!("no job in time"),
//!     Err(RecvTimeoutError::Disconnected) => panic!("producer gone"),
//! }
//! ```
//!
//! # Choosing how to wait
//!
//! A blocked side waits the way the channel's [`WaitStrategy`] says; pick it with a
//! [`Builder`]. The default, [`WaitStrategy::Adaptive`], spins for a few microseconds
//! when another CPU can run the other side meanwhile (yields a few times when the other
//! side shares our CPU, or the process has only one), then sleeps: an active pair hands
//! values over without a system call, and an idle side uses no CPU. A side that sends or receives pays for waking the other only when the
//! other has gone to sleep. [`WaitStrategy::Spin`] is for threads pinned to CPUs of
//! their own, [`WaitStrategy::Park`] for waits that are long or CPU time that is
//! scarce.
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use ringlink::mpsc::{Builder, WaitStrategy};
//!
//! let (tx, rx) = Builder::new()
//!     .with_wait_strategy(WaitStrategy::Park)
//!     .sync_channel::<u64>(1024);
//! tx.send(1).unwrap();
//! assert_eq!(rx.recv(), Ok(1));
//! ```
//!
//! # Costs
//!
//! Sending or receiving a value that does not have to wait is a push or pop on the
//! ring plus a look at whether the other side sleeps: no allocation, no lock, no
//! system call. A `Box` per message costs an allocation on the sending thread and a
//! free on the receiving one, which then dominates (see the crate's README).

mod bias;
mod flavor;
mod receiver;
mod rendezvous;
mod sender;

pub use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use crate::wait::WaitStrategy;
pub use receiver::{IntoIter, Iter, Receiver, TryIter};
pub use sender::{Sender, SyncSender};

use crate::end::{RecvEnd, SendEnd, Waits};
use crate::fence::prepare_fences;
use crate::ring::list::list;
use crate::ring::RingBuffer;
use crate::sync::{Arc, UnsafeCell};
use crate::wait::WaitSlot;
use flavor::SendFlavor;
use receiver::RecvFlavor;
use rendezvous::Rendezvous;

/// Makes a channel whose buffer holds exactly `bound` values, and returns its two halves.
///
/// `bound == 0` makes a rendezvous channel: [`SyncSender::send`] returns only once the
/// receiver has taken the value, and [`SyncSender::try_send`] succeeds only while the
/// receiver waits in `recv`. Uses the [default wait strategy](WaitStrategy::Adaptive);
/// see [`Builder`] for others.
///
/// # Panics
///
/// When a buffer of `bound` values cannot be allocated (as std's does).
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{sync_channel, TrySendError};
///
/// let (tx, rx) = sync_channel(2);
/// tx.send('a').unwrap();
/// tx.send('b').unwrap(); // no receiver needed: the buffer holds two
/// assert_eq!(tx.try_send('c'), Err(TrySendError::Full('c')));
/// assert_eq!(rx.recv(), Ok('a'));
/// ```
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    Builder::new().sync_channel(bound)
}

/// Makes a channel whose buffer grows as needed, and returns its two halves:
/// [`Sender::send`] never waits.
///
/// The buffer is a chain of fixed-size segments: the sender links a new one when the
/// last is full, the receiver frees each once it has left it (keeping one spare for the
/// sender to reuse), so a steady stream allocates nothing and memory shrinks back after a
/// burst. Uses the [default wait strategy](WaitStrategy::Adaptive); see [`Builder`] for
/// others.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::channel;
///
/// let (tx, rx) = channel();
/// let workers: Vec<_> = (0..4)
///     .map(|id| {
///         let tx = tx.clone();
///         std::thread::spawn(move || tx.send(id * 10).unwrap())
///     })
///     .collect();
/// drop(tx);
/// let mut got: Vec<i32> = rx.iter().collect();
/// got.sort();
/// assert_eq!(got, [0, 10, 20, 30]);
/// # for w in workers { w.join().unwrap(); }
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    Builder::new().channel()
}

/// Makes channels with a chosen [`WaitStrategy`].
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::{Builder, WaitStrategy};
///
/// let builder = Builder::new().with_wait_strategy(WaitStrategy::Spin);
/// let (tx, rx) = builder.sync_channel(8);
/// std::thread::spawn(move || tx.send("hi").unwrap());
/// assert_eq!(rx.recv(), Ok("hi"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Builder {
    strategy: WaitStrategy,
}

impl Builder {
    /// A builder for channels with the default, adaptive, wait strategy.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let (tx, rx) = ringlink::mpsc::Builder::new().sync_channel(1);
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.recv(), Ok(5));
    /// ```
    pub const fn new() -> Self {
        Builder {
            strategy: WaitStrategy::Adaptive,
        }
    }

    /// Sets how both halves of the channels made by this builder wait.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{Builder, WaitStrategy};
    ///
    /// let (tx, rx) = Builder::new().with_wait_strategy(WaitStrategy::Yield).sync_channel(1);
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.recv(), Ok(5));
    /// ```
    pub const fn with_wait_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// How both halves of the channels made by this builder wait.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{Builder, WaitStrategy};
    ///
    /// assert_eq!(Builder::new().wait_strategy(), WaitStrategy::Adaptive);
    /// let builder = Builder::new().with_wait_strategy(WaitStrategy::Spin);
    /// assert_eq!(builder.wait_strategy(), WaitStrategy::Spin);
    /// ```
    pub const fn wait_strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// Makes a channel whose buffer holds exactly `bound` values, as [`sync_channel`]
    /// does, with this builder's wait strategy.
    ///
    /// # Panics
    ///
    /// When a buffer of `bound` values cannot be allocated.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{Builder, WaitStrategy};
    ///
    /// let (tx, rx) = Builder::new().with_wait_strategy(WaitStrategy::Park).sync_channel(0);
    /// let sender = std::thread::spawn(move || tx.send("handed over").unwrap());
    /// assert_eq!(rx.recv(), Ok("handed over"));
    /// sender.join().unwrap();
    /// ```
    pub fn sync_channel<T>(self, bound: usize) -> (SyncSender<T>, Receiver<T>) {
        // A rendezvous holds the one value being handed over.
        let (producer, consumer) = RingBuffer::new(bound.max(1));
        let (send_waits, recv_waits) = self.waits();
        let rendezvous = (bound == 0).then(|| Arc::new(Rendezvous::new()));
        (
            SyncSender::new(Half::new(
                SendFlavor::Single(SendEnd::new(producer, send_waits)),
                rendezvous.clone(),
            )),
            Receiver::new(Half::new(
                RecvFlavor::Bounded(RecvEnd::new(consumer, recv_waits)),
                rendezvous,
            )),
        )
    }

    /// Makes a channel whose buffer grows as needed, as [`channel`] does, with this
    /// builder's wait strategy.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::mpsc::{Builder, WaitStrategy};
    ///
    /// let (tx, rx) = Builder::new().with_wait_strategy(WaitStrategy::Park).channel();
    /// let sender = std::thread::spawn(move || tx.send("queued").unwrap());
    /// assert_eq!(rx.recv(), Ok("queued"));
    /// sender.join().unwrap();
    /// ```
    pub fn channel<T>(self) -> (Sender<T>, Receiver<T>) {
        let (producer, consumer) = list();
        let (send_waits, recv_waits) = self.waits();
        (
            Sender::new(Half::new(
                SendFlavor::Single(SendEnd::new(producer, send_waits)),
                None,
            )),
            Receiver::new(Half::new(
                RecvFlavor::Unbounded(RecvEnd::new(consumer, recv_waits)),
                None,
            )),
        )
    }

    /// The waits of a new channel's sending and receiving ends.
    fn waits(self) -> (Waits, Waits) {
        // Decide the fences now, not on a hot path.
        prepare_fences();
        // Where each side sleeps (every sender of the channel sleeps on the first);
        // each wakes the other's.
        let sender_slot = Arc::new(WaitSlot::new());
        let receiver_slot = Arc::new(WaitSlot::new());
        let strategy = self.strategy;
        (
            Waits::new(sender_slot.clone(), receiver_slot.clone(), strategy),
            Waits::new(receiver_slot, sender_slot, strategy),
        )
    }
}

/// What each half of a channel holds: its blocking end, which only the thread that owns
/// the half touches, and the hand-over state of a rendezvous channel (`bound == 0`, see
/// `rendezvous.rs`).
struct Half<E> {
    end: UnsafeCell<E>,
    rendezvous: Option<Arc<Rendezvous>>,
}

impl<E> Half<E> {
    fn new(end: E, rendezvous: Option<Arc<Rendezvous>>) -> Self {
        Half {
            end: UnsafeCell::new(end),
            rendezvous,
        }
    }

    /// Calls `f` with the end, and the rendezvous state if any.
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut E, Option<&Rendezvous>) -> R) -> R {
        // SAFETY: a `Half` is owned by one sender or receiver; none is `Sync` (nor is
        // `Half`: the cell makes it `!Sync`), and a clone gets a `Half` of its own, so
        // only the thread that owns this one runs this. The halves' closures move values
        // without dropping them (no user code runs) and never call `with` again, so this
        // is the only reference to the end while it lives.
        self.end
            .with_mut(|end| f(unsafe { &mut *end }, self.rendezvous.as_deref()))
    }
}
