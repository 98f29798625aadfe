//! The two-thread set-ups that the measurements run on, written once for every
//! transport:
//!
//! - [`Echo`]: a partner that answers each message it receives through a second channel
//!   (one [`RoundTrip::trip`] per message); [`Bounce`] is the Criterion rig that bounces
//!   one counter through such a round trip;
//! - [`Stream`]: a partner that receives a one-way stream, checks its order and says how
//!   far it got;
//! - [`Rig`] and [`bench_rig`]: how a bench starts such a set-up only when its benchmark
//!   runs (a filtered-out benchmark costs nothing), and checks it when the benchmark ends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};

use super::contenders::{Poll, Transport};
use super::support::{partner_gone, Cpus, Partner};

/// A two-thread set-up that Criterion measures.
pub trait Rig {
    /// Runs `iters` iterations and returns how long they took.
    fn run(&mut self, iters: u64) -> Duration;
    /// Ends the partner and checks everything it did.
    fn finish(self);
}

/// Benchmarks `id` on a rig that `start` makes when the benchmark first runs, and
/// finishes it (its checks included) when the benchmark ends.
pub fn bench_rig<R: Rig>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    start: impl FnOnce() -> R,
) {
    let mut start = Some(start);
    let mut rig: Option<R> = None;
    group.bench_function(id, |b| {
        let rig = rig.get_or_insert_with(|| (start.take().expect("started once"))());
        b.iter_custom(|iters| rig.run(iters));
    });
    if let Some(rig) = rig {
        rig.finish();
    }
}

// ---------------------------------------------------------------------------------
// Echo

/// The measuring thread's ends of a request channel and a reply channel, and the partner
/// that answers each request.
pub struct Echo<X: Transport, M: Send + 'static> {
    tx: X::Tx<M>,
    rx: X::Rx<M>,
    poll: Poll,
    trips: u64,
    partner: Partner<u64>,
}

impl<X: Transport, M: Send + 'static> Echo<X, M> {
    /// Two channels of `bound` values, and a partner on `cpus.partner` that sends back
    /// `answer(request)` for each request until the request channel is gone.
    pub fn start(
        cpus: Cpus,
        bound: usize,
        poll: Poll,
        answer: impl Fn(M) -> M + Send + 'static,
    ) -> Self {
        let (tx, mut partner_rx) = X::channel::<M>(bound);
        let (mut partner_tx, rx) = X::channel::<M>(bound);
        let partner = Partner::start(cpus, move || {
            let mut answered = 0u64;
            while let Some(request) = X::recv(&mut partner_rx, poll) {
                X::send(&mut partner_tx, answer(request), poll);
                answered += 1;
            }
            answered
        });
        Echo {
            tx,
            rx,
            poll,
            trips: 0,
            partner,
        }
    }
}

/// One end of a round trip: an [`Echo`], or anything else that answers a request (a
/// ringlink service, say).
pub trait RoundTrip<M> {
    /// The name in failure messages.
    const NAME: &'static str;
    /// Sends `request`, returns the answer.
    fn trip(&mut self, request: M) -> M;
    /// Ends the other side and checks that it answered every request.
    fn finish(self);
}

impl<X: Transport, M: Send + 'static> RoundTrip<M> for Echo<X, M> {
    const NAME: &'static str = X::NAME;

    #[inline]
    fn trip(&mut self, request: M) -> M {
        X::send(&mut self.tx, request, self.poll);
        self.trips += 1;
        X::recv(&mut self.rx, self.poll).unwrap_or_else(|| partner_gone())
    }

    fn finish(self) {
        let Echo {
            tx,
            rx,
            trips,
            partner,
            ..
        } = self;
        drop(tx);
        let answered = partner.join();
        drop(rx);
        assert_eq!(answered, trips, "{}: answers lost or made up", X::NAME);
    }
}

/// A counter that an echo partner increments: `u64`, or a `Box<u64>` that goes back and
/// forth without a new allocation.
pub trait Counter: Send + 'static {
    fn zero() -> Self;
    fn count(&self) -> u64;
    fn bump(self) -> Self;
}

impl Counter for u64 {
    fn zero() -> Self {
        0
    }
    #[inline]
    fn count(&self) -> u64 {
        *self
    }
    #[inline]
    fn bump(self) -> Self {
        self + 1
    }
}

impl Counter for Box<u64> {
    fn zero() -> Self {
        Box::new(0)
    }
    #[inline]
    fn count(&self) -> u64 {
        **self
    }
    #[inline]
    fn bump(mut self) -> Self {
        *self += 1;
        self
    }
}

/// Round trips of one counter that the other side increments, `trips_per_iter` of them
/// per iteration; every answer is checked.
pub struct Bounce<L, C> {
    link: L,
    counter: Option<C>,
    trips_per_iter: u64,
    trips: u64,
}

impl<L: RoundTrip<C>, C: Counter> Bounce<L, C> {
    pub fn new(link: L, trips_per_iter: u64) -> Self {
        Bounce {
            link,
            counter: Some(C::zero()),
            trips_per_iter,
            trips: 0,
        }
    }
}

/// A [`Bounce`] through transport `X`: an echo partner on the benches' two CPUs,
/// channels of `bound` values.
pub fn bounce<X: Transport, C: Counter>(
    bound: usize,
    trips_per_iter: u64,
    poll: Poll,
) -> Bounce<Echo<X, C>, C> {
    Bounce::new(
        Echo::start(Cpus::pair(), bound, poll, C::bump),
        trips_per_iter,
    )
}

impl<L: RoundTrip<C>, C: Counter> Rig for Bounce<L, C> {
    fn run(&mut self, iters: u64) -> Duration {
        let mut counter = self
            .counter
            .take()
            .expect("the counter is home between runs");
        let start = Instant::now();
        for _ in 0..iters * self.trips_per_iter {
            let expected = counter.count() + 1;
            counter = self.link.trip(counter);
            assert_eq!(counter.count(), expected, "{}: wrong answer", L::NAME);
        }
        let elapsed = start.elapsed();
        self.trips += iters * self.trips_per_iter;
        self.counter = Some(counter);
        elapsed
    }

    fn finish(self) {
        self.link.finish();
        let counter = self.counter.expect("the counter is home");
        assert_eq!(counter.count(), self.trips, "{}: answers lost", L::NAME);
    }
}

// ---------------------------------------------------------------------------------
// Stream

/// What a stream carries; each value carries its sequence number.
pub trait Streamed: Send + 'static {
    /// The name in benchmark ids.
    const NAME: &'static str;
    fn make(seq: u64) -> Self;
    fn seq(&self) -> u64;
}

impl Streamed for u64 {
    const NAME: &'static str = "u64";
    #[inline]
    fn make(seq: u64) -> Self {
        seq
    }
    #[inline]
    fn seq(&self) -> u64 {
        *self
    }
}

impl Streamed for Box<u64> {
    const NAME: &'static str = "box u64";
    #[inline]
    fn make(seq: u64) -> Self {
        Box::new(seq)
    }
    #[inline]
    fn seq(&self) -> u64 {
        **self
    }
}

/// How far a one-way stream has got, as seen by its receiving partner; `gone` is set
/// when the partner ends for whatever reason (a panic included), so that a sender
/// waiting for the count to reach its target cannot wait forever.
#[derive(Default)]
struct Progress {
    received: AtomicU64,
    gone: AtomicBool,
}

impl Progress {
    /// Waits until the partner has received `target` values in all.
    fn wait_for(&self, target: u64, poll: Poll) {
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
}

/// Marks the stream gone when the partner ends, however it ends.
struct GoneOnDrop(Arc<Progress>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.gone.store(true, Ordering::Release);
    }
}

/// The sending end of a one-way stream, and a partner that receives it, checks that
/// the values come in order and records its progress after each.
pub struct Stream<X: Transport, S: Streamed> {
    tx: X::Tx<S>,
    sent: u64,
    progress: Arc<Progress>,
    poll: Poll,
    partner: Partner<u64>,
}

impl<X: Transport, S: Streamed> Stream<X, S> {
    /// A channel of `bound` values, the partner on `cpus.partner`.
    pub fn start(cpus: Cpus, bound: usize, poll: Poll) -> Self {
        let (tx, mut rx) = X::channel::<S>(bound);
        let progress = Arc::new(Progress::default());
        let theirs = progress.clone();
        let partner = Partner::start(cpus, move || {
            let gone = GoneOnDrop(theirs);
            let mut expected = 0;
            while let Some(value) = X::recv(&mut rx, poll) {
                assert_eq!(value.seq(), expected, "{}: value out of order", X::NAME);
                expected += 1;
                gone.0.received.store(expected, Ordering::Release);
            }
            expected
        });
        Stream {
            tx,
            sent: 0,
            progress,
            poll,
            partner,
        }
    }

    /// Sends the next `n` values.
    #[inline]
    pub fn send(&mut self, n: u64) {
        for _ in 0..n {
            X::send(&mut self.tx, S::make(self.sent), self.poll);
            self.sent += 1;
        }
    }

    /// Waits until the partner has received everything sent.
    pub fn wait(&self) {
        self.progress.wait_for(self.sent, self.poll);
    }

    /// How many values were sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

impl<X: Transport, S: Streamed> Rig for Stream<X, S> {
    /// Sends `iters` values; the clock stops when the partner has received the last.
    fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        self.send(iters);
        self.wait();
        start.elapsed()
    }

    fn finish(self) {
        drop(self.tx);
        let received = self.partner.join();
        assert_eq!(received, self.sent, "{}: values lost", X::NAME);
    }
}
