//! The two-thread set-ups that the measurements run on, written once for every
//! transport:
//!
//! - [`Echo`]: a partner that answers each message it receives through a second channel
//!   (one [`RoundTrip::trip`] per message); [`Bounce`] is the Criterion rig that bounces
//!   one counter through such a round trip;
//! - [`Stream`]: a partner that receives a one-way stream, checks its order and says how
//!   far it got;
//! - [`Producers`]: several producer threads, each with a clone of the sender, streaming
//!   into one receiving partner that checks each producer's order;
//! - [`Recycled`]: a stream of `Box<u64>` whose receiver hands the boxes back for the
//!   sender to fill again, where the transport can;
//! - [`Rig`] and [`bench_rig`]: how a bench starts such a set-up only when its benchmark
//!   runs (a filtered-out benchmark costs nothing), and checks it when the benchmark ends.

use std::hint::black_box;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};

use super::contenders::{BoxTransport, Poll, Transport};
use super::support::{self, partner_gone, Cpus, Partner};

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
        Self::start_with(cpus, bound, poll, answer, false)
    }

    /// As [`Echo::start`], but both directions send through a clone of their channel's
    /// sender (cloned first, the original dropped): the path a channel takes once it has
    /// had more than one sender. Panics unless `X::MULTI_PRODUCER`.
    pub fn start_cloned(
        cpus: Cpus,
        bound: usize,
        poll: Poll,
        answer: impl Fn(M) -> M + Send + 'static,
    ) -> Self {
        Self::start_with(cpus, bound, poll, answer, true)
    }

    fn start_with(
        cpus: Cpus,
        bound: usize,
        poll: Poll,
        answer: impl Fn(M) -> M + Send + 'static,
        cloned: bool,
    ) -> Self {
        let (mut tx, mut partner_rx) = X::channel::<M>(bound);
        let (mut partner_tx, rx) = X::channel::<M>(bound);
        if cloned {
            tx = clone_alone::<X, M>(tx);
            partner_tx = clone_alone::<X, M>(partner_tx);
        }
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

/// A clone of `tx`, the original dropped: the sender of a channel that has had two.
fn clone_alone<X: Transport, T: Send + 'static>(tx: X::Tx<T>) -> X::Tx<T> {
    let clone =
        X::clone_sender(&tx).unwrap_or_else(|| panic!("{}: its sender cannot be cloned", X::NAME));
    drop(tx);
    clone
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

/// The receiving partner of a one-way stream, on `cpus.partner`: takes values with
/// `next` until it returns `None`, checks that they come in order (0, 1, 2, ...), and
/// records its progress after each. Returns that progress and the partner, whose result
/// is how many values it received.
fn checking_partner(
    cpus: Cpus,
    name: &'static str,
    mut next: impl FnMut() -> Option<u64> + Send + 'static,
) -> (Arc<Progress>, Partner<u64>) {
    let progress = Arc::new(Progress::default());
    let theirs = progress.clone();
    let partner = Partner::start(cpus, move || {
        let gone = GoneOnDrop(theirs);
        let mut expected = 0;
        while let Some(value) = next() {
            assert_eq!(value, expected, "{name}: value out of order");
            expected += 1;
            gone.0.received.store(expected, Ordering::Release);
        }
        expected
    });
    (progress, partner)
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
        let (progress, partner) = checking_partner(cpus, X::NAME, move || {
            X::recv(&mut rx, poll).map(|v| v.seq())
        });
        Self::with(tx, progress, partner, poll)
    }

    /// [`start`](Stream::start) with a partner that also works on each value: `work`
    /// dependent multiply-adds, so that it is the slower side and the channel runs full,
    /// as behind a receiver with real work to do.
    pub fn start_busy(cpus: Cpus, bound: usize, poll: Poll, work: u32) -> Self {
        let (tx, mut rx) = X::channel::<S>(bound);
        let (progress, partner) = checking_partner(cpus, X::NAME, move || {
            X::recv(&mut rx, poll).map(|v| {
                let seq = v.seq();
                let mut x = seq;
                for _ in 0..work {
                    x = black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                black_box(x);
                seq
            })
        });
        Self::with(tx, progress, partner, poll)
    }

    fn with(tx: X::Tx<S>, progress: Arc<Progress>, partner: Partner<u64>, poll: Poll) -> Self {
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

// ---------------------------------------------------------------------------------
// Producers

/// Where a producer's index sits in a value of a [`Producers`] stream: the low bits
/// count that producer's values, the high bits say whose it is.
const PRODUCER_SHIFT: u32 = 40;
const PRODUCER_SEQ: u64 = (1 << PRODUCER_SHIFT) - 1;

/// What the measuring thread, the producers and the receiving partner of a
/// [`Producers`] rig share.
struct Fan {
    /// How many values producer `p` is to have sent in all, so far: raised by the
    /// measuring thread at the start of each run.
    goals: Vec<CachePadded<AtomicU64>>,
    /// Set once, when the rig finishes: the producers drop their senders and end.
    stop: AtomicBool,
    /// How many values the receiver is to have received in all at the end of the
    /// current run.
    target: AtomicU64,
    /// The highest target the receiver has reached, and when it did.
    reached: AtomicU64,
    reached_at: Mutex<Option<Instant>>,
    /// Set when the receiver ends, however it ends (a failed check included).
    gone: AtomicBool,
    /// The measuring thread, which parks until the receiver reaches the target.
    measurer: Thread,
}

/// Marks the receiver gone and wakes the measuring thread when the receiver ends.
struct ReceiverGone(Arc<Fan>);

impl Drop for ReceiverGone {
    fn drop(&mut self) {
        self.0.gone.store(true, Ordering::Release);
        self.0.measurer.unpark();
    }
}

/// `n` producer threads, each with a sender of its own (a clone; the channel's original
/// sender is dropped), streaming into one receiving partner; the producers all on
/// `cpus.caller` (with the measuring thread, which sleeps while they work), the receiver
/// on `cpus.partner`. The receiver checks that each producer's values come in that
/// producer's order and that none is lost or made up.
///
/// A run of `iters` values shares them out among the producers, wakes them, and takes
/// the time from just before the first wake-up until the receiver holds the last value
/// (the receiver reads the clock; the measuring thread's own wake-up is not counted).
pub struct Producers<X: Transport, S: Streamed> {
    fan: Arc<Fan>,
    producers: Vec<JoinHandle<u64>>,
    receiver: Partner<u64>,
    sent: u64,
    per_producer: Vec<u64>,
    _transport: PhantomData<(X, S)>,
}

impl<X: Transport, S: Streamed> Producers<X, S> {
    /// A channel of `bound` values (where `X::BOUNDED`) with `n` producers; returns once
    /// every thread is on its CPU and waiting. Panics unless `X::MULTI_PRODUCER`.
    pub fn start(cpus: Cpus, n: usize, bound: usize, poll: Poll) -> Self {
        assert!(n >= 1, "at least one producer");
        assert!(
            (n as u64) < (1 << (64 - PRODUCER_SHIFT)),
            "too many producers for the value layout"
        );
        support::cores();
        let (tx, mut rx) = X::channel::<S>(bound);
        let fan = Arc::new(Fan {
            goals: (0..n)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            stop: AtomicBool::new(false),
            target: AtomicU64::new(0),
            reached: AtomicU64::new(0),
            reached_at: Mutex::new(None),
            gone: AtomicBool::new(false),
            measurer: std::thread::current(),
        });

        let theirs = fan.clone();
        let receiver = Partner::start(cpus, move || {
            let fan = ReceiverGone(theirs);
            let mut expected = vec![0u64; n];
            let mut received = 0u64;
            while let Some(value) = X::recv(&mut rx, poll) {
                let seq = value.seq();
                let producer = (seq >> PRODUCER_SHIFT) as usize;
                assert!(producer < n, "{}: a value from nowhere", X::NAME);
                assert_eq!(
                    seq & PRODUCER_SEQ,
                    expected[producer],
                    "{}: producer {producer}'s values out of order",
                    X::NAME
                );
                expected[producer] += 1;
                received += 1;
                if received == fan.0.target.load(Ordering::Acquire) {
                    *fan.0.reached_at.lock().expect("not poisoned") = Some(Instant::now());
                    fan.0.reached.store(received, Ordering::Release);
                    fan.0.measurer.unpark();
                }
            }
            received
        });

        // Every producer pinned and waiting before the first run.
        let ready = Arc::new(Barrier::new(n + 1));
        let producers = (0..n)
            .map(|p| {
                let mut tx = X::clone_sender(&tx)
                    .unwrap_or_else(|| panic!("{}: its sender cannot be cloned", X::NAME));
                let fan = fan.clone();
                let ready = ready.clone();
                std::thread::spawn(move || {
                    support::pin_to(cpus.caller);
                    ready.wait();
                    let mut sent = 0u64;
                    loop {
                        let goal = fan.goals[p].load(Ordering::Acquire);
                        if sent < goal {
                            while sent < goal {
                                let seq = (p as u64) << PRODUCER_SHIFT | sent;
                                X::send(&mut tx, S::make(seq), poll);
                                sent += 1;
                            }
                        } else if fan.stop.load(Ordering::Acquire) {
                            return sent;
                        } else {
                            std::thread::park();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        ready.wait();
        Producers {
            fan,
            producers,
            receiver,
            sent: 0,
            per_producer: vec![0; n],
            _transport: PhantomData,
        }
    }
}

impl<X: Transport, S: Streamed> Rig for Producers<X, S> {
    /// Streams `iters` values, shared out evenly among the producers.
    fn run(&mut self, iters: u64) -> Duration {
        if iters == 0 {
            return Duration::ZERO;
        }
        assert!(
            std::thread::current().id() == self.fan.measurer.id(),
            "a Producers rig is run by the thread that started it"
        );
        let n = self.producers.len() as u64;
        let target = self.sent + iters;
        self.fan.target.store(target, Ordering::Release);
        let start = Instant::now();
        for (p, producer) in self.producers.iter().enumerate() {
            let share = iters / n + u64::from((p as u64) < iters % n);
            if share > 0 {
                self.per_producer[p] += share;
                self.fan.goals[p].store(self.per_producer[p], Ordering::Release);
                producer.thread().unpark();
            }
        }
        while self.fan.reached.load(Ordering::Acquire) < target {
            if self.fan.gone.load(Ordering::Acquire) {
                panic!(
                    "{}: the receiving partner ended before the last value",
                    X::NAME
                );
            }
            std::thread::park();
        }
        self.sent = target;
        let end = self.fan.reached_at.lock().expect("not poisoned").take();
        end.expect("the receiver says when") - start
    }

    fn finish(self) {
        self.fan.stop.store(true, Ordering::Release);
        for (p, producer) in self.producers.into_iter().enumerate() {
            producer.thread().unpark();
            let sent = producer.join().expect("producer thread panicked");
            assert_eq!(sent, self.per_producer[p], "{}: producer {p}", X::NAME);
        }
        let received = self.receiver.join();
        assert_eq!(received, self.sent, "{}: values lost", X::NAME);
    }
}

// ---------------------------------------------------------------------------------
// Recycled boxes

/// A one-way stream of `Box<u64>` with a new value written into each box: the sender
/// fills a box that came back when there is one (a [`BoxTransport`] that `RECYCLES`)
/// and allocates one otherwise; the receiving partner checks the order and hands each
/// box back (or frees it).
pub struct Recycled<B: BoxTransport> {
    tx: B::Tx<u64>,
    sent: u64,
    progress: Arc<Progress>,
    poll: Poll,
    partner: Partner<u64>,
}

impl<B: BoxTransport> Recycled<B> {
    /// A transport of `bound` boxes, the receiving partner on `cpus.partner`.
    pub fn start(cpus: Cpus, bound: usize, poll: Poll) -> Self {
        let (tx, mut rx) = B::channel::<u64>(bound);
        let (progress, partner) = checking_partner(cpus, B::NAME, move || {
            B::recv(&mut rx, poll).map(|boxed| {
                let value = *boxed;
                B::recycle(&mut rx, boxed);
                value
            })
        });
        Recycled {
            tx,
            sent: 0,
            progress,
            poll,
            partner,
        }
    }

    /// Sends the next `n` values, each in a recycled box where one came back.
    #[inline]
    pub fn send(&mut self, n: u64) {
        for _ in 0..n {
            let boxed = match B::reuse(&mut self.tx) {
                Some(mut boxed) => {
                    *boxed = self.sent;
                    boxed
                }
                None => Box::new(self.sent),
            };
            B::send(&mut self.tx, boxed, self.poll);
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

impl<B: BoxTransport> Rig for Recycled<B> {
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
        assert_eq!(received, self.sent, "{}: values lost", B::NAME);
    }
}
