//! The transports that the benches and `examples/compare` put side by side, behind one
//! small face ([`Transport`]), so that every measurement runs the very same code against
//! each of them.
//!
//! | name | what | waits by | bounded | many producers |
//! |---|---|---|---|---|
//! | `ringlink_ring` | `ringlink::ring::RingBuffer` | busy-polling (see [`Poll`]) | yes | no |
//! | `ringlink_mpsc` | `ringlink::mpsc::sync_channel` | its default (adaptive) strategy | yes | cloned `SyncSender` |
//! | `ringlink_channel` | `ringlink::mpsc::channel` (the bound is ignored) | its default (adaptive) strategy | no | cloned `Sender` |
//! | `std_sync_channel` | `std::sync::mpsc::sync_channel` (the baseline) | blocking | yes | cloned |
//! | `std_channel` | `std::sync::mpsc::channel` (the bound is ignored) | blocking | no | cloned |
//! | `crossbeam_bounded` | `crossbeam_channel::bounded` | blocking (it spins first) | yes | cloned |
//! | `crossbeam_unbounded` | `crossbeam_channel::unbounded` (the bound is ignored) | blocking (it spins first) | no | cloned |
//! | `kanal_bounded` | `kanal::bounded` | blocking (it spins first) | yes | cloned |
//! | `kanal_unbounded` | `kanal::unbounded` (the bound is ignored) | blocking (it spins first) | no | cloned |
//! | `rtrb` | `rtrb::RingBuffer` | busy-polling (see [`Poll`]) | yes | no |
//!
//! # Adding a transport
//!
//! One entry in the [`contenders!`] list at the end of this file, and a row in the table
//! above. Each measurement picks the transports it runs by what they are
//! ([`ForEach::wants`]: busy-poll or blocking, bounded, many producers), so the new one
//! joins every bench and the compare example whose kind it is:
//!
//! - a ring busy-polled through `push`/`pop` (whose "full" error gives the value back)
//!   is a `busy_poll_ring` entry. A ring of boxes, whose `pop` returns a `Box<T>`, adds
//!   how a value goes in and comes out, e.g.
//!   `push: push_value, popped: |boxed: Box<_>| *boxed`: the benches send plain values
//!   such as `u64` as well as boxes, so a `T` is boxed on the way in and unboxed on the
//!   way out (say so in its row above);
//! - a channel whose `send`/`recv` block in the library is a `blocking` entry; with
//!   `multi_producer: true` its sender is cloned for measurements with several
//!   producers ([`Transport::clone_sender`]);
//! - anything else implements [`Transport`] by hand next to the macros and names the
//!   type in the list with `custom`.
//!
//! # Boxes
//!
//! Streams of `Box<T>` whose used boxes may go back to the sender ([`BoxTransport`]):
//! `ringlink_boxring` (`ringlink::ring::BoxRing` and its own return ring), then every
//! transport of the list, a busy-poll ring as a pair of rings (the second carries boxes
//! back), a blocking channel allocating a box per message ([`for_each_box`]).

use std::marker::PhantomData;

use super::support;

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

    /// How the benches' two threads poll on this machine (see [`support::Cpus::pair`]).
    pub fn here() -> Poll {
        Poll::for_cores(support::two_cores())
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
///
/// Every implementation marks its per-message methods `#[inline(always)]`, so that a rig
/// measures the transport as a caller's own loop uses it, not a call into the rig's
/// wrapper. With plain `#[inline]` the compiler kept the wrapper of ringlink's channels
/// out of line (their `send` is written to be inlined whole into the caller), and the
/// `u64` stream of `sync_channel` measured 60–64 M values/s through it against 120–123
/// with it inlined, both in one process, while std's `sync_channel` and crossbeam's
/// `bounded` did not move.
pub trait Transport: 'static {
    /// The name in benchmark ids and tables.
    const NAME: &'static str;
    /// Whether it waits by polling in a loop (then `Poll` decides how), rather than by
    /// blocking in the library.
    const BUSY_POLL: bool;
    /// Whether `channel(bound)` holds at most `bound` values (`std_channel` does not).
    const BOUNDED: bool;
    /// Whether [`Transport::clone_sender`] gives more senders on one channel.
    const MULTI_PRODUCER: bool = false;

    type Tx<T: Send + 'static>: Send + 'static;
    type Rx<T: Send + 'static>: Send + 'static;

    /// A channel that holds `bound` values (if `BOUNDED`).
    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, value: T, poll: Poll);
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<T>;
    /// Receives what is there now, without waiting.
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T>;

    /// One more sender on the same channel, where `MULTI_PRODUCER`; `None` elsewhere.
    fn clone_sender<T: Send + 'static>(_tx: &Self::Tx<T>) -> Option<Self::Tx<T>> {
        None
    }

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

/// A transport that busy-polls a ring: `$full` turns the ring's "full" error back into
/// the value; `push:` names the method that takes a `T` (`push` unless said), `popped:`
/// turns what `pop` returns into the `T` (as it is unless said).
macro_rules! busy_poll_ring {
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr, $full:expr) => {
        busy_poll_ring!(
            $name, $id, [$($tx)*], [$($rx)*], $new, $full,
            push: push, popped: std::convert::identity
        );
    };
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr, $full:expr,
     push: $push:ident, popped: $popped:expr) => {
        pub struct $name;

        impl Transport for $name {
            const NAME: &'static str = $id;
            const BUSY_POLL: bool = true;
            const BOUNDED: bool = true;
            type Tx<T: Send + 'static> = $($tx)*<T>;
            type Rx<T: Send + 'static> = $($rx)*<T>;

            fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
                $new(bound)
            }

            #[inline(always)]
            fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, mut value: T, poll: Poll) {
                loop {
                    match tx.$push(value) {
                        Ok(()) => return,
                        Err(full) => value = $full(full),
                    }
                    if tx.is_abandoned() {
                        receiver_gone(Self::NAME);
                    }
                    poll.relax();
                }
            }

            #[inline(always)]
            fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<T> {
                loop {
                    if let Ok(value) = rx.pop() {
                        return Some($popped(value));
                    }
                    if rx.is_abandoned() {
                        // The producer may have pushed just before it went.
                        return rx.pop().ok().map($popped);
                    }
                    poll.relax();
                }
            }

            #[inline(always)]
            fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
                rx.pop().ok().map($popped)
            }
        }
    };
}

/// A transport whose `send` and `recv` block in the library. `try_recv:` turns what the
/// receiver's `try_recv` returns on success into an `Option<T>` (`Some` unless said: kanal's
/// says "nothing there" with `Ok(None)`).
macro_rules! blocking {
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr,
     bounded: $bounded:literal, multi_producer: $multi:tt) => {
        blocking!(
            $name, $id, [$($tx)*], [$($rx)*], $new,
            bounded: $bounded, multi_producer: $multi, try_recv: Some
        );
    };
    ($name:ident, $id:literal, [$($tx:tt)*], [$($rx:tt)*], $new:expr,
     bounded: $bounded:literal, multi_producer: $multi:tt, try_recv: $taken:expr) => {
        pub struct $name;

        impl Transport for $name {
            const NAME: &'static str = $id;
            const BUSY_POLL: bool = false;
            const BOUNDED: bool = $bounded;
            const MULTI_PRODUCER: bool = $multi;
            type Tx<T: Send + 'static> = $($tx)*<T>;
            type Rx<T: Send + 'static> = $($rx)*<T>;

            fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
                $new(bound)
            }

            #[inline(always)]
            fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, value: T, _: Poll) {
                if tx.send(value).is_err() {
                    receiver_gone(Self::NAME);
                }
            }

            #[inline(always)]
            fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, _: Poll) -> Option<T> {
                rx.recv().ok()
            }

            #[inline(always)]
            fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
                rx.try_recv().ok().and_then($taken)
            }

            clone_sender!($multi);
        }
    };
}

/// `Transport::clone_sender` for a blocking transport whose sender is `Clone`.
macro_rules! clone_sender {
    (true) => {
        fn clone_sender<T: Send + 'static>(tx: &Self::Tx<T>) -> Option<Self::Tx<T>> {
            Some(tx.clone())
        }
    };
    (false) => {};
}

/// Something to do once for each transport it wants, in the order of the list.
pub trait ForEach {
    /// Whether to run transport `X` (all of them unless said otherwise).
    fn wants<X: Transport>(&self) -> bool {
        true
    }
    fn run<X: Transport>(&mut self);
}

/// Declares each transport (`$kind!` with the entry's arguments; `custom` for one
/// implemented by hand) and [`for_each`], which visits them in the list's order.
///
/// An entry may carry `#[cfg(...)]` attributes: they apply to its declaration and to its
/// visit (`#[cfg(any())]` switches an entry off without deleting it).
macro_rules! contenders {
    ($($(#[$attr:meta])* $name:ident: $kind:ident $(($($args:tt)*))?;)*) => {
        $(contenders!(@declare [$(#[$attr])*] $name $kind $(($($args)*))?);)*

        /// Runs `f` on each transport it wants, in the order of the list.
        pub fn for_each(f: &mut impl ForEach) {
            $(
                $(#[$attr])*
                {
                    if f.wants::<$name>() {
                        f.run::<$name>();
                    }
                }
            )*
        }
    };
    (@declare [$(#[$attr:meta])*] $name:ident custom) => {};
    (@declare [$(#[$attr:meta])*] $name:ident $kind:ident ($($args:tt)*)) => {
        $(#[$attr])*
        $kind!($name, $($args)*);
    };
}

// THE list. ringlink's first, then std's two (the baseline), crossbeam's two, kanal's
// two, and rtrb.
contenders! {
    RinglinkRing: busy_poll_ring(
        "ringlink_ring",
        [ringlink::ring::Producer],
        [ringlink::ring::Consumer],
        ringlink::ring::RingBuffer::new,
        ringlink::ring::PushError::into_inner
    );
    RinglinkMpsc: blocking(
        "ringlink_mpsc",
        [ringlink::mpsc::SyncSender],
        [ringlink::mpsc::Receiver],
        ringlink::mpsc::sync_channel,
        bounded: true,
        multi_producer: true
    );
    RinglinkChannel: blocking(
        "ringlink_channel",
        [ringlink::mpsc::Sender],
        [ringlink::mpsc::Receiver],
        |_unbounded: usize| ringlink::mpsc::channel(),
        bounded: false,
        multi_producer: true
    );
    StdSyncChannel: blocking(
        "std_sync_channel",
        [std::sync::mpsc::SyncSender],
        [std::sync::mpsc::Receiver],
        std::sync::mpsc::sync_channel,
        bounded: true,
        multi_producer: true
    );
    StdChannel: blocking(
        "std_channel",
        [std::sync::mpsc::Sender],
        [std::sync::mpsc::Receiver],
        |_unbounded: usize| std::sync::mpsc::channel(),
        bounded: false,
        multi_producer: true
    );
    CrossbeamBounded: blocking(
        "crossbeam_bounded",
        [crossbeam_channel::Sender],
        [crossbeam_channel::Receiver],
        crossbeam_channel::bounded,
        bounded: true,
        multi_producer: true
    );
    CrossbeamUnbounded: blocking(
        "crossbeam_unbounded",
        [crossbeam_channel::Sender],
        [crossbeam_channel::Receiver],
        |_unbounded: usize| crossbeam_channel::unbounded(),
        bounded: false,
        multi_producer: true
    );
    KanalBounded: blocking(
        "kanal_bounded",
        [kanal::Sender],
        [kanal::Receiver],
        kanal::bounded,
        bounded: true,
        multi_producer: true,
        try_recv: std::convert::identity
    );
    KanalUnbounded: blocking(
        "kanal_unbounded",
        [kanal::Sender],
        [kanal::Receiver],
        |_unbounded: usize| kanal::unbounded(),
        bounded: false,
        multi_producer: true,
        try_recv: std::convert::identity
    );
    Rtrb: busy_poll_ring(
        "rtrb",
        [rtrb::Producer],
        [rtrb::Consumer],
        rtrb::RingBuffer::new,
        |rtrb::PushError::Full(value)| value
    );
}

/// The transport the ratios are taken against.
pub const BASELINE: &str = StdSyncChannel::NAME;

/// The raw ring: the floor that ringlink's channels are held against.
pub const RAW_RING: &str = RinglinkRing::NAME;

/// Whether the transport named `name` is one of ringlink's own (not a peer).
pub fn is_ours(name: &str) -> bool {
    name.starts_with("ringlink")
}

// ---------------------------------------------------------------------------------
// Boxes

/// A way to stream `Box<T>` from one thread to another that may hand used boxes back to
/// the sending side, so that a steady stream need not allocate: the face of the
/// `boxring` bench and of the compare example's recycled stream.
///
/// The transports of the list above take part through two adapters (see
/// [`for_each_box`]): a busy-poll ring as a [`RecyclingPair`] (a second ring of the same
/// kind carries used boxes back), a blocking channel as an [`Allocating`] one (no way
/// back: every send allocates a box, every receive frees one, as its users must do).
/// [`RinglinkBoxRing`] recycles through the return ring built into `BoxRing`. As for
/// [`Transport`], every per-message method is `#[inline(always)]`.
pub trait BoxTransport: 'static {
    /// The name in benchmark ids and tables.
    const NAME: &'static str;
    /// Whether it waits by polling in a loop (then `Poll` decides how).
    const BUSY_POLL: bool;
    /// Whether `channel(bound)` holds at most `bound` boxes.
    const BOUNDED: bool;
    /// Whether used boxes go back to the sender ([`BoxTransport::recycle`] and
    /// [`BoxTransport::reuse`]); otherwise each message costs an allocation and a free.
    const RECYCLES: bool;

    type Tx<T: Send + 'static>: Send + 'static;
    type Rx<T: Send + 'static>: Send + 'static;

    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>);
    /// Sends `boxed`, waiting while the transport is full; panics if the receiving side
    /// is gone.
    fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, boxed: Box<T>, poll: Poll);
    /// Receives a box, waiting while there is none; `None` once the sending side is gone
    /// and everything was received.
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<Box<T>>;
    /// Receives what is there now, without waiting.
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<Box<T>>;
    /// A used box that came back, if any (always `None` unless `RECYCLES`).
    fn reuse<T: Send + 'static>(tx: &mut Self::Tx<T>) -> Option<Box<T>>;
    /// Hands a used box back to the sender (frees it unless `RECYCLES`, or when there
    /// is no room on the way back).
    fn recycle<T: Send + 'static>(rx: &mut Self::Rx<T>, boxed: Box<T>);
}

/// `ringlink::ring::BoxRing`: one pointer per slot, with its own return ring.
pub struct RinglinkBoxRing;

impl BoxTransport for RinglinkBoxRing {
    const NAME: &'static str = "ringlink_boxring";
    const BUSY_POLL: bool = true;
    const BOUNDED: bool = true;
    const RECYCLES: bool = true;
    type Tx<T: Send + 'static> = ringlink::ring::BoxProducer<T>;
    type Rx<T: Send + 'static> = ringlink::ring::BoxConsumer<T>;

    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        ringlink::ring::BoxRing::new(bound)
    }

    #[inline(always)]
    fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, mut boxed: Box<T>, poll: Poll) {
        loop {
            match tx.push(boxed) {
                Ok(()) => return,
                Err(full) => boxed = full.into_inner(),
            }
            if tx.is_abandoned() {
                receiver_gone(Self::NAME);
            }
            poll.relax();
        }
    }

    #[inline(always)]
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<Box<T>> {
        loop {
            if let Ok(boxed) = rx.pop() {
                return Some(boxed);
            }
            if rx.is_abandoned() {
                // The producer may have pushed just before it went.
                return rx.pop().ok();
            }
            poll.relax();
        }
    }

    #[inline(always)]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<Box<T>> {
        rx.pop().ok()
    }

    #[inline(always)]
    fn reuse<T: Send + 'static>(tx: &mut Self::Tx<T>) -> Option<Box<T>> {
        tx.take_recycled()
    }

    #[inline(always)]
    fn recycle<T: Send + 'static>(rx: &mut Self::Rx<T>, boxed: Box<T>) {
        rx.recycle(boxed);
    }
}

/// Two rings of transport `X` carrying boxes: the second hands used boxes back. Its
/// return ring has the capacity of `BoxRing::new`'s (the forward ring's plus 64), so
/// that both recycle in the same shape: in a steady stream the receiver never finds it
/// full (about as many boxes circulate as the forward ring holds, plus one in each
/// thread's hands; a full return ring would make `recycle` wait, not free), nor nearly
/// full when it is the faster side.
pub struct RecyclingPair<X>(PhantomData<X>);

impl<X: Transport> BoxTransport for RecyclingPair<X> {
    const NAME: &'static str = X::NAME;
    const BUSY_POLL: bool = X::BUSY_POLL;
    const BOUNDED: bool = X::BOUNDED;
    const RECYCLES: bool = true;
    type Tx<T: Send + 'static> = (X::Tx<Box<T>>, X::Rx<Box<T>>);
    type Rx<T: Send + 'static> = (X::Rx<Box<T>>, X::Tx<Box<T>>, Poll);

    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        let (forward, received) = X::channel(bound);
        let (returned, back) = X::channel(recycle_capacity(bound));
        // How the receiver waits in the (never expected) case of a full return ring.
        ((forward, back), (received, returned, Poll::here()))
    }

    #[inline(always)]
    fn send<T: Send + 'static>((forward, _): &mut Self::Tx<T>, boxed: Box<T>, poll: Poll) {
        X::send(forward, boxed, poll);
    }

    #[inline(always)]
    fn recv<T: Send + 'static>((received, ..): &mut Self::Rx<T>, poll: Poll) -> Option<Box<T>> {
        X::recv(received, poll)
    }

    #[inline(always)]
    fn try_recv<T: Send + 'static>((received, ..): &mut Self::Rx<T>) -> Option<Box<T>> {
        X::try_recv(received)
    }

    #[inline(always)]
    fn reuse<T: Send + 'static>((_, back): &mut Self::Tx<T>) -> Option<Box<T>> {
        X::try_recv(back)
    }

    #[inline(always)]
    fn recycle<T: Send + 'static>((_, returned, poll): &mut Self::Rx<T>, boxed: Box<T>) {
        X::send(returned, boxed, *poll);
    }
}

/// The capacity of the return ring that `BoxRing::new(bound)` makes.
fn recycle_capacity(bound: usize) -> usize {
    ringlink::ring::BoxRing::<u8>::new(bound)
        .1
        .recycle_capacity()
}

/// Transport `X` carrying boxes with no way back: each message is a `Box::new` on one
/// thread and a free on the other.
pub struct Allocating<X>(PhantomData<X>);

impl<X: Transport> BoxTransport for Allocating<X> {
    const NAME: &'static str = X::NAME;
    const BUSY_POLL: bool = X::BUSY_POLL;
    const BOUNDED: bool = X::BOUNDED;
    const RECYCLES: bool = false;
    type Tx<T: Send + 'static> = X::Tx<Box<T>>;
    type Rx<T: Send + 'static> = X::Rx<Box<T>>;

    fn channel<T: Send + 'static>(bound: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        X::channel(bound)
    }

    #[inline(always)]
    fn send<T: Send + 'static>(tx: &mut Self::Tx<T>, boxed: Box<T>, poll: Poll) {
        X::send(tx, boxed, poll);
    }

    #[inline(always)]
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>, poll: Poll) -> Option<Box<T>> {
        X::recv(rx, poll)
    }

    #[inline(always)]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<Box<T>> {
        X::try_recv(rx)
    }

    #[inline(always)]
    fn reuse<T: Send + 'static>(_: &mut Self::Tx<T>) -> Option<Box<T>> {
        None
    }

    #[inline(always)]
    fn recycle<T: Send + 'static>(_: &mut Self::Rx<T>, boxed: Box<T>) {
        drop(boxed);
    }
}

/// Something to do once for each box transport it wants.
pub trait ForEachBox {
    /// Whether to run box transport `B` (all of them unless said otherwise).
    fn wants<B: BoxTransport>(&self) -> bool {
        true
    }
    fn run<B: BoxTransport>(&mut self);
}

/// Runs `f` on each box transport it wants: [`RinglinkBoxRing`] first, then each
/// transport of the list in its order, a busy-poll ring as a [`RecyclingPair`], a
/// blocking channel as [`Allocating`].
pub fn for_each_box(f: &mut impl ForEachBox) {
    struct Adapt<'a, F>(&'a mut F);

    impl<F: ForEachBox> ForEach for Adapt<'_, F> {
        fn run<X: Transport>(&mut self) {
            if X::BUSY_POLL {
                if self.0.wants::<RecyclingPair<X>>() {
                    self.0.run::<RecyclingPair<X>>();
                }
            } else if self.0.wants::<Allocating<X>>() {
                self.0.run::<Allocating<X>>();
            }
        }
    }

    if f.wants::<RinglinkBoxRing>() {
        f.run::<RinglinkBoxRing>();
    }
    for_each(&mut Adapt(f));
}
