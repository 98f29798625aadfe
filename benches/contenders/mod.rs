//! The transports that `benches/transport.rs` and `examples/compare.rs` put side by
//! side, behind one small face ([`Transport`]), so that every benchmark runs the very
//! same code against each of them.
//!
//! | name | what | waits by |
//! |---|---|---|
//! | `ringlink_ring` | `ringlink::ring::RingBuffer` | busy-polling (see [`Poll`]) |
//! | `ringlink_mpsc` | `ringlink::mpsc::sync_channel` | its default (adaptive) strategy |
//! | `std_sync_channel` | `std::sync::mpsc::sync_channel` | blocking |
//! | `std_channel` | `std::sync::mpsc::channel` (unbounded; the bound is ignored) | blocking |
//! | `crossbeam_bounded` | `crossbeam_channel::bounded` | blocking (it spins first) |
//! | `rtrb` | `rtrb::RingBuffer` | busy-polling (see [`Poll`]) |
//!
//! Included by path (`#[path = "contenders/mod.rs"] mod contenders;`) from both; not a
//! bench target of its own.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};

/// How a busy-poll transport waits between two polls. Blocking transports ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// `spin_loop`: right when the partner has a CPU of its own.
    Spin,
    /// `yield_now`: right when both threads share one CPU, where spinning would hold the
    /// CPU the partner needs until the scheduler preempts us (milliseconds).
    Yield,
}

impl Poll {
    /// `Spin` when the two threads have a core each, `Yield` when they share one.
    pub fn for_cores(two_cores: bool) -> Poll {
        if two_cores {
            Poll::Spin
        } else {
            Poll::Yield
        }
    }

    /// Waits once between two polls.
    #[inline]
    pub fn relax(self) {
        match self {
            Poll::Spin => std::hint::spin_loop(),
            Poll::Yield => std::thread::yield_now(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Poll::Spin => "spin",
            Poll::Yield => "yield",
        }
    }
}

/// One kind of channel from one thread to another, used the same way by every benchmark.
///
/// `send` and `recv` block (or busy-poll) until they succeed. `send` panics if the
/// receiving side is gone (a benchmark partner never leaves early unless it failed);
/// `recv` returns `None` once the sending side is gone and everything sent was received.
pub trait Transport: 'static {
    /// The name in benchmark ids and tables.
    const NAME: &'static str;
    /// Whether it waits by polling in a loop (then `Poll` decides how), rather than by
    /// blocking in the library.
    const BUSY_POLL: bool;

    type Tx<T: Send + 'static>: Send + 'static;
    type Rx<T: Send + 'static>: Send + 'static;

    /// A channel that holds `bound` values (`std_channel` is unbounded).
    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, value: T, poll: Poll);
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<T>;

    /// The name, with how a busy-poll transport waits when it does not spin: results
    /// taken on one core then never share an id with results taken on two.
    fn label(poll: Poll) -> String {
        if Self::BUSY_POLL && poll == Poll::Yield {
            format!("{}-yield", Self::NAME)
        } else {
            Self::NAME.to_owned()
        }
    }
}

fn receiver_gone(name: &str) -> ! {
    panic!("{name}: the receiving side is gone (the benchmark partner failed?)")
}

/// A transport that busy-polls a ring: `$push_error` turns the ring's "full" error back
/// into the value.
macro_rules! busy_poll_ring {
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr, $push_error:expr) => {
        pub struct $name;

        impl Transport for $name {
            const NAME: &'static str = $id;
            const BUSY_POLL: bool = true;
            type Tx<T: Send + 'static> = $($tx)*<T>;
            type Rx<T: Send + 'static> = $($rx)*<T>;

            fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
                $new(bound)
            }

            #[inline]
            fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, mut value: T, poll: Poll) {
                loop {
                    match tx.push(value) {
                        Ok(()) => return,
                        Err(full) => value = $push_error(full),
                    }
                    if tx.is_abandoned() {
                        receiver_gone(Self::NAME);
                    }
                    poll.relax();
                }
            }

            #[inline]
            fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<T> {
                loop {
                    if let Ok(value) = rx.pop() {
                        return Some(value);
                    }
                    if rx.is_abandoned() {
                        // The producer may have pushed just before it went.
                        return rx.pop().ok();
                    }
                    poll.relax();
                }
            }
        }
    };
}

/// A transport whose `send` and `recv` block in the library.
macro_rules! blocking {
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr) => {
        pub struct $name;

        impl Transport for $name {
            const NAME: &'static str = $id;
            const BUSY_POLL: bool = false;
            type Tx<T: Send + 'static> = $($tx)*<T>;
            type Rx<T: Send + 'static> = $($rx)*<T>;

            fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
                $new(bound)
            }

            #[inline]
            fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, value: T, _: Poll) {
                if tx.send(value).is_err() {
                    receiver_gone(Self::NAME);
                }
            }

            #[inline]
            fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, _: Poll) -> Option<T> {
                rx.recv().ok()
            }
        }
    };
}

busy_poll_ring!(
    RinglinkRing,
    "ringlink_ring",
    [ringlink::ring::Producer],
    [ringlink::ring::Consumer],
    ringlink::ring::RingBuffer::new,
    ringlink::ring::PushError::into_inner
);
blocking!(
    RinglinkMpsc,
    "ringlink_mpsc",
    [ringlink::mpsc::SyncSender],
    [ringlink::mpsc::Receiver],
    ringlink::mpsc::sync_channel
);
blocking!(
    StdSyncChannel,
    "std_sync_channel",
    [std_mpsc::SyncSender],
    [std_mpsc::Receiver],
    std_mpsc::sync_channel
);
blocking!(
    StdChannel,
    "std_channel",
    [std_mpsc::Sender],
    [std_mpsc::Receiver],
    |_unbounded: usize| std_mpsc::channel()
);
blocking!(
    CrossbeamBounded,
    "crossbeam_bounded",
    [crossbeam_channel::Sender],
    [crossbeam_channel::Receiver],
    crossbeam_channel::bounded
);
busy_poll_ring!(
    Rtrb,
    "rtrb",
    [rtrb::Producer],
    [rtrb::Consumer],
    rtrb::RingBuffer::new,
    |rtrb::PushError::Full(value)| value
);

/// Something to do once for each transport, in the same order everywhere:
/// ringlink's two first, then std's two (the baseline), then crossbeam and rtrb.
pub trait ForEach {
    fn run<X: Transport>(&mut self);
}

pub fn for_each(f: &mut impl ForEach) {
    f.run::<RinglinkRing>();
    f.run::<RinglinkMpsc>();
    f.run::<StdSyncChannel>();
    f.run::<StdChannel>();
    f.run::<CrossbeamBounded>();
    f.run::<Rtrb>();
}

/// The transport the ratios are taken against.
pub const BASELINE: &str = StdSyncChannel::NAME;

/// How far a one-way stream has got, as seen by its receiving partner; `gone` is set
/// when the partner ends for whatever reason (a panic included), so that a sender
/// waiting for the count to reach its target cannot wait forever.
#[derive(Default)]
pub struct Progress {
    received: AtomicU64,
    gone: AtomicBool,
}

impl Progress {
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    /// Called by the partner after each value it received and checked.
    #[inline]
    pub fn set(&self, received: u64) {
        self.received.store(received, Ordering::Release);
    }

    /// Waits until the partner has received `target` values in all.
    pub fn wait_for(&self, target: u64, poll: Poll) {
        while self.received.load(Ordering::Acquire) < target {
            if self.gone.load(Ordering::Acquire) {
                panic!(
                    "the receiving partner ended after {} values, before {target}",
                    { self.received.load(Ordering::Acquire) }
                );
            }
            poll.relax();
        }
    }

    /// A guard for the partner to hold: marks the stream gone when dropped.
    pub fn guard(self: &Arc<Self>) -> GoneOnDrop {
        GoneOnDrop(self.clone())
    }
}

pub struct GoneOnDrop(Arc<Progress>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.gone.store(true, Ordering::Release);
    }
}

/// Receives a stream whose values carry the sequence numbers `0, 1, 2, …` in order
/// (`seq` reads one), recording progress after each; returns how many arrived once the
/// sender is gone. Panics at the first value out of order.
pub fn receive_sequence<X: Transport, T: Send + 'static>(
    rx: &mut X::Rx<T>,
    progress: &Progress,
    poll: Poll,
    seq: impl Fn(&T) -> u64,
) -> u64 {
    let mut expected = 0;
    while let Some(value) = X::recv(rx, poll) {
        assert_eq!(seq(&value), expected, "{}: value out of order", X::NAME);
        expected += 1;
        progress.set(expected);
    }
    expected
}
