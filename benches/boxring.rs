//! The ring of boxes (`ringlink::ring::BoxRing`) against rtrb and ringlink's generic ring
//! carrying the same `Box<u64>`, and recycled streams against std and crossbeam-channel.
//!
//! - `boxring_stream/{boxring,generic,rtrb}`: one-way stream of pre-allocated boxes
//!   through a 1024-slot ring (a pool of boxes that the producer hands out again once
//!   the consumer is done with them, so no allocator runs): the cost of the queue alone.
//! - `boxring_echo/{boxring,generic,rtrb}`: one box in flight, bounced through two
//!   1024-slot rings: both rings run nearly empty.
//! - `boxring_recycled/{boxring,generic,rtrb,std,crossbeam}`: a `Box<u64>` stream with a
//!   new value written into each box. The ring pairs recycle: the consumer hands each
//!   box back through a return ring (`BoxRing`'s own, or a second ring of the same kind),
//!   which runs nearly empty; std `sync_channel(1024)` and crossbeam `bounded(1024)`
//!   allocate a box per message and free it on the other thread.
//! - `boxring_push_pop/{boxring,generic,rtrb}`: one push and one pop on one thread.
//!
//! Run: `cargo bench --bench boxring`. Every benchmark checks the values it receives.
//!
//! Two more modes, for figures that Criterion's one-contender-at-a-time schedule cannot
//! give on a noisy machine:
//! - `BOXRING_ROUNDS=9 cargo bench --bench boxring` runs the contenders of each group in
//!   turn (A B C A B C ...), each round bracketed by a bare ping-pong to show the CPUs'
//!   placement, and prints per-round figures and median ratios over the rounds whose
//!   ping-pongs took at most `BOXRING_PROBE_MAX` ns (default 300; the usual placement
//!   gives about 100-130).
//! - `BOXRING_PUSH_POP=<contender>:<n>` runs `n` one-thread push+pop pairs and exits,
//!   for `valgrind --tool=callgrind` (instructions per pair = the difference between two
//!   `n`, divided by the difference of `n`).

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;

use common::support;

/// The partner thread as these benchmarks start it: on the second CPU, meeting the caller
/// at the returned barrier once its side is ready.
struct Partner<R>(support::Partner<R>);

impl<R: Send + 'static> Partner<R> {
    fn spawn(work: impl FnOnce(&Barrier) -> R + Send + 'static) -> (Self, Arc<Barrier>) {
        let barrier = Arc::new(Barrier::new(2));
        let theirs = barrier.clone();
        let partner = support::Partner::start(support::Cpus::pair(), move || work(&theirs));
        (Partner(partner), barrier)
    }

    fn join(self) -> R {
        self.0.join()
    }
}

/// Between two polls: spin when the partner has a CPU of its own, yield when it shares ours.
#[inline]
fn relax() {
    if support::two_cores() {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

const CAPACITY: usize = 1024;

/// A ring that carries `Box<u64>`, as the benchmarks use it.
trait BoxSpsc: 'static {
    type Producer: Send + 'static;
    type Consumer: Send + 'static;
    const NAME: &'static str;
    fn new(capacity: usize) -> (Self::Producer, Self::Consumer);
    fn try_push(producer: &mut Self::Producer, boxed: Box<u64>) -> Result<(), Box<u64>>;
    fn try_pop(consumer: &mut Self::Consumer) -> Option<Box<u64>>;

    /// Pushes, busy-waiting while the ring is full.
    #[inline]
    fn push(producer: &mut Self::Producer, mut boxed: Box<u64>) {
        while let Err(back) = Self::try_push(producer, boxed) {
            boxed = back;
            relax();
        }
    }

    /// Pops, busy-waiting while the ring is empty.
    #[inline]
    fn pop(consumer: &mut Self::Consumer) -> Box<u64> {
        loop {
            if let Some(boxed) = Self::try_pop(consumer) {
                return boxed;
            }
            relax();
        }
    }
}

struct BoxRing;

impl BoxSpsc for BoxRing {
    type Producer = ringlink::ring::BoxProducer<u64>;
    type Consumer = ringlink::ring::BoxConsumer<u64>;
    const NAME: &'static str = "boxring";
    fn new(capacity: usize) -> (Self::Producer, Self::Consumer) {
        ringlink::ring::BoxRing::new(capacity)
    }
    #[inline]
    fn try_push(producer: &mut Self::Producer, boxed: Box<u64>) -> Result<(), Box<u64>> {
        producer.push(boxed).map_err(|e| e.into_inner())
    }
    #[inline]
    fn try_pop(consumer: &mut Self::Consumer) -> Option<Box<u64>> {
        consumer.pop().ok()
    }
}

struct Generic;

impl BoxSpsc for Generic {
    type Producer = ringlink::ring::Producer<Box<u64>>;
    type Consumer = ringlink::ring::Consumer<Box<u64>>;
    const NAME: &'static str = "generic";
    fn new(capacity: usize) -> (Self::Producer, Self::Consumer) {
        ringlink::ring::RingBuffer::new(capacity)
    }
    #[inline]
    fn try_push(producer: &mut Self::Producer, boxed: Box<u64>) -> Result<(), Box<u64>> {
        producer.push(boxed).map_err(|e| e.into_inner())
    }
    #[inline]
    fn try_pop(consumer: &mut Self::Consumer) -> Option<Box<u64>> {
        consumer.pop().ok()
    }
}

struct Rtrb;

impl BoxSpsc for Rtrb {
    type Producer = rtrb::Producer<Box<u64>>;
    type Consumer = rtrb::Consumer<Box<u64>>;
    const NAME: &'static str = "rtrb";
    fn new(capacity: usize) -> (Self::Producer, Self::Consumer) {
        rtrb::RingBuffer::new(capacity)
    }
    #[inline]
    fn try_push(producer: &mut Self::Producer, boxed: Box<u64>) -> Result<(), Box<u64>> {
        producer
            .push(boxed)
            .map_err(|rtrb::PushError::Full(back)| back)
    }
    #[inline]
    fn try_pop(consumer: &mut Self::Consumer) -> Option<Box<u64>> {
        consumer.pop().ok()
    }
}

/// Boxes handed out again and again without the allocator: box `k` holds `k`.
const POOL: usize = 4096;

fn pool() -> &'static [usize] {
    static POOL_BOXES: OnceLock<Vec<usize>> = OnceLock::new();
    POOL_BOXES.get_or_init(|| {
        (0..POOL as u64)
            .map(|k| Box::into_raw(Box::new(k)) as usize)
            .collect()
    })
}

/// One-way stream of `n` pooled boxes; returns the consumer's time.
fn stream<R: BoxSpsc>(n: u64) -> Duration {
    let pool = pool();
    let (mut producer, mut consumer) = R::new(CAPACITY);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for i in 0..n {
            let raw = pool[i as usize % POOL] as *mut u64;
            // SAFETY: pool box `k` is owned by at most one `Box` at a time: it is handed
            // out again only `POOL` pushes later, when the ring (1024 boxes) cannot hold
            // it any more, and the consumer gives up each box before it pops the next.
            R::push(&mut producer, unsafe { Box::from_raw(raw) });
        }
    });
    start.wait();
    let began = Instant::now();
    for i in 0..n {
        let boxed = R::pop(&mut consumer);
        assert_eq!(
            *boxed,
            i % POOL as u64,
            "{} delivered out of order",
            R::NAME
        );
        // The pool keeps the box.
        std::mem::forget(boxed);
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

/// `n` round trips of one box through two rings.
fn echo<R: BoxSpsc>(n: u64) -> Duration {
    let (mut to_partner, mut partner_in) = R::new(CAPACITY);
    let (mut partner_out, mut from_partner) = R::new(CAPACITY);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for _ in 0..n {
            let boxed = R::pop(&mut partner_in);
            R::push(&mut partner_out, boxed);
        }
    });
    start.wait();
    let mut boxed = Box::new(0u64);
    let began = Instant::now();
    for i in 0..n {
        *boxed = i;
        R::push(&mut to_partner, boxed);
        boxed = R::pop(&mut from_partner);
        assert_eq!(*boxed, i, "{} echoed the wrong value", R::NAME);
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

/// A stream of `Box<u64>` with a new value in each box, by whatever means the transport
/// offers: recycling for the ring pairs, a new box per message for the channels.
trait BoxStream: 'static {
    type Sender: Send + 'static;
    type Receiver: Send + 'static;
    const NAME: &'static str;
    fn new(capacity: usize) -> (Self::Sender, Self::Receiver);
    /// Sends `value` in a box, busy-waiting (or blocking) while the transport is full.
    fn send(sender: &mut Self::Sender, value: u64);
    /// Receives a box and returns its value, busy-waiting (or blocking) while empty.
    fn recv(receiver: &mut Self::Receiver) -> u64;
}

struct RecycledBoxRing;

impl BoxStream for RecycledBoxRing {
    type Sender = ringlink::ring::BoxProducer<u64>;
    type Receiver = ringlink::ring::BoxConsumer<u64>;
    const NAME: &'static str = "boxring";
    fn new(capacity: usize) -> (Self::Sender, Self::Receiver) {
        ringlink::ring::BoxRing::new(capacity)
    }
    #[inline]
    fn send(sender: &mut Self::Sender, mut value: u64) {
        while let Err(full) = sender.push_value(value) {
            value = full.into_inner();
            relax();
        }
    }
    #[inline]
    fn recv(receiver: &mut Self::Receiver) -> u64 {
        loop {
            if let Ok(boxed) = receiver.pop() {
                let value = *boxed;
                receiver.recycle(boxed);
                return value;
            }
            relax();
        }
    }
}

/// Two rings of one kind, the second carrying used boxes back.
struct RecycledPair<R>(R);

impl<R: BoxSpsc> BoxStream for RecycledPair<R> {
    type Sender = (R::Producer, R::Consumer);
    type Receiver = (R::Consumer, R::Producer);
    const NAME: &'static str = R::NAME;
    fn new(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let (forward, received) = R::new(capacity);
        let (returned, back) = R::new(capacity);
        ((forward, back), (received, returned))
    }
    #[inline]
    fn send((forward, back): &mut Self::Sender, value: u64) {
        let boxed = match R::try_pop(back) {
            Some(mut boxed) => {
                *boxed = value;
                boxed
            }
            None => Box::new(value),
        };
        R::push(forward, boxed);
    }
    #[inline]
    fn recv((received, returned): &mut Self::Receiver) -> u64 {
        let boxed = R::pop(received);
        let value = *boxed;
        // A full return ring hands the box back, and it is freed here.
        let _ = R::try_push(returned, boxed);
        value
    }
}

struct StdChannel;

impl BoxStream for StdChannel {
    type Sender = mpsc::SyncSender<Box<u64>>;
    type Receiver = mpsc::Receiver<Box<u64>>;
    const NAME: &'static str = "std";
    fn new(capacity: usize) -> (Self::Sender, Self::Receiver) {
        mpsc::sync_channel(capacity)
    }
    #[inline]
    fn send(sender: &mut Self::Sender, value: u64) {
        sender.send(Box::new(value)).unwrap();
    }
    #[inline]
    fn recv(receiver: &mut Self::Receiver) -> u64 {
        *receiver.recv().unwrap()
    }
}

struct Crossbeam;

impl BoxStream for Crossbeam {
    type Sender = crossbeam_channel::Sender<Box<u64>>;
    type Receiver = crossbeam_channel::Receiver<Box<u64>>;
    const NAME: &'static str = "crossbeam";
    fn new(capacity: usize) -> (Self::Sender, Self::Receiver) {
        crossbeam_channel::bounded(capacity)
    }
    #[inline]
    fn send(sender: &mut Self::Sender, value: u64) {
        sender.send(Box::new(value)).unwrap();
    }
    #[inline]
    fn recv(receiver: &mut Self::Receiver) -> u64 {
        *receiver.recv().unwrap()
    }
}

/// `n` values streamed through `S`; returns the receiver's time.
fn recycled<S: BoxStream>(n: u64) -> Duration {
    let (mut sender, mut receiver) = S::new(CAPACITY);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for i in 0..n {
            S::send(&mut sender, i);
        }
    });
    start.wait();
    let began = Instant::now();
    for i in 0..n {
        assert_eq!(
            S::recv(&mut receiver),
            i,
            "{} delivered out of order",
            S::NAME
        );
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

/// `n` round trips of a counter through two atomics on their own cache lines: the floor
/// of any two-ring echo, and a probe of where the host placed our two vCPUs.
fn ping_pong(n: u64) -> Duration {
    let lines: Arc<[CachePadded<AtomicU64>; 2]> = Arc::new(Default::default());
    let theirs = lines.clone();
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for i in 1..=n {
            while theirs[0].load(Ordering::Acquire) != i {
                relax();
            }
            theirs[1].store(i, Ordering::Release);
        }
    });
    start.wait();
    let began = Instant::now();
    for i in 1..=n {
        lines[0].store(i, Ordering::Release);
        while lines[1].load(Ordering::Acquire) != i {
            relax();
        }
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

fn push_pop<R: BoxSpsc>(n: u64) {
    let (mut producer, mut consumer) = R::new(CAPACITY);
    let mut boxed = Box::new(0u64);
    for _ in 0..n {
        R::push(&mut producer, black_box(boxed));
        boxed = black_box(R::try_pop(&mut consumer).unwrap());
    }
}

fn criterion_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("boxring_stream");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::from_parameter(BoxRing::NAME), |b| {
        b.iter_custom(stream::<BoxRing>)
    });
    group.bench_function(BenchmarkId::from_parameter(Generic::NAME), |b| {
        b.iter_custom(stream::<Generic>)
    });
    group.bench_function(BenchmarkId::from_parameter(Rtrb::NAME), |b| {
        b.iter_custom(stream::<Rtrb>)
    });
    group.finish();

    let mut group = c.benchmark_group("boxring_echo");
    group.bench_function(BenchmarkId::from_parameter(BoxRing::NAME), |b| {
        b.iter_custom(echo::<BoxRing>)
    });
    group.bench_function(BenchmarkId::from_parameter(Generic::NAME), |b| {
        b.iter_custom(echo::<Generic>)
    });
    group.bench_function(BenchmarkId::from_parameter(Rtrb::NAME), |b| {
        b.iter_custom(echo::<Rtrb>)
    });
    group.finish();

    let mut group = c.benchmark_group("boxring_recycled");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::from_parameter(RecycledBoxRing::NAME), |b| {
        b.iter_custom(recycled::<RecycledBoxRing>)
    });
    group.bench_function(BenchmarkId::from_parameter(Generic::NAME), |b| {
        b.iter_custom(recycled::<RecycledPair<Generic>>)
    });
    group.bench_function(BenchmarkId::from_parameter(Rtrb::NAME), |b| {
        b.iter_custom(recycled::<RecycledPair<Rtrb>>)
    });
    group.bench_function(BenchmarkId::from_parameter(StdChannel::NAME), |b| {
        b.iter_custom(recycled::<StdChannel>)
    });
    group.bench_function(BenchmarkId::from_parameter(Crossbeam::NAME), |b| {
        b.iter_custom(recycled::<Crossbeam>)
    });
    group.finish();

    let mut group = c.benchmark_group("boxring_push_pop");
    group.bench_function(BenchmarkId::from_parameter(BoxRing::NAME), |b| {
        b.iter_custom(|n| timed(|| push_pop::<BoxRing>(n)))
    });
    group.bench_function(BenchmarkId::from_parameter(Generic::NAME), |b| {
        b.iter_custom(|n| timed(|| push_pop::<Generic>(n)))
    });
    group.bench_function(BenchmarkId::from_parameter(Rtrb::NAME), |b| {
        b.iter_custom(|n| timed(|| push_pop::<Rtrb>(n)))
    });
    group.finish();
}

fn timed(f: impl FnOnce()) -> Duration {
    let began = Instant::now();
    f();
    began.elapsed()
}

/// One contender of a round: its name and how it runs `n` messages.
type Contender = (&'static str, fn(u64) -> Duration);

/// Runs `rounds` rounds of every group, contenders in turn, and prints ns per message for
/// each round and the medians of each contender's ratio to the group's first.
fn rounds(rounds: usize) {
    let probe_limit: f64 = std::env::var("BOXRING_PROBE_MAX")
        .map(|v| v.parse().expect("ns"))
        .unwrap_or(300.0);
    let probe = || ping_pong(20_000).as_nanos() as f64 / 20_000.0;
    let groups: [(&str, u64, Vec<Contender>); 3] = [
        (
            "stream (pooled boxes, ns/msg)",
            1_000_000,
            vec![
                (BoxRing::NAME, stream::<BoxRing>),
                (Generic::NAME, stream::<Generic>),
                (Rtrb::NAME, stream::<Rtrb>),
            ],
        ),
        (
            "echo (one box in flight, ns/round trip)",
            50_000,
            vec![
                (BoxRing::NAME, echo::<BoxRing>),
                (Generic::NAME, echo::<Generic>),
                (Rtrb::NAME, echo::<Rtrb>),
            ],
        ),
        (
            "recycled Box<u64> stream (ns/msg)",
            500_000,
            vec![
                (RecycledBoxRing::NAME, recycled::<RecycledBoxRing>),
                (Generic::NAME, recycled::<RecycledPair<Generic>>),
                (Rtrb::NAME, recycled::<RecycledPair<Rtrb>>),
                (StdChannel::NAME, recycled::<StdChannel>),
                (Crossbeam::NAME, recycled::<Crossbeam>),
            ],
        ),
    ];
    for (title, n, contenders) in groups {
        println!("== {title}, {n} messages per run, {rounds} rounds");
        let mut table: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
        let mut probes = Vec::new();
        for round in 0..rounds {
            let before = probe();
            let mut line = format!("round {round}: ping-pong {before:.0} ns |");
            let mut row = Vec::new();
            for (name, run) in &contenders {
                let ns = run(n).as_nanos() as f64 / n as f64;
                row.push(ns);
                line += &format!(" {name} {ns:.2}");
            }
            let after = probe();
            line += &format!(" | ping-pong {after:.0} ns");
            // A round whose bracketing ping-pongs are slow ran while another process held
            // one of our CPUs (or on an unusual placement): its figures are left out.
            if before.max(after) <= probe_limit {
                for (column, ns) in table.iter_mut().zip(row) {
                    column.push(ns);
                }
                probes.push(before.max(after));
            } else {
                line += " (left out)";
            }
            println!("{line}");
        }
        if probes.is_empty() {
            println!("  every round was left out (ping-pong above {probe_limit} ns)");
            continue;
        }
        println!(
            "  {} rounds kept (ping-pong at most {probe_limit} ns), median ping-pong {:.0} ns",
            probes.len(),
            median(probes)
        );
        let reference = contenders[0].0;
        for (k, (name, _)) in contenders.iter().enumerate() {
            let ratios = table[k].iter().zip(&table[0]).map(|(x, r)| x / r).collect();
            println!(
                "  {name}: median {:.2} ns ({:.1} M/s), median time ratio to {reference} {:.2}",
                median(table[k].clone()),
                1e3 / median(table[k].clone()),
                median(ratios),
            );
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

criterion_group! {
    name = boxring;
    config = support::criterion()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = criterion_benches
}

fn main() {
    if let Ok(spec) = std::env::var("BOXRING_PUSH_POP") {
        let (name, n) = spec
            .split_once(':')
            .expect("BOXRING_PUSH_POP=<contender>:<n>");
        let n = n.parse().expect("a count");
        match name {
            "boxring" => push_pop::<BoxRing>(n),
            "generic" => push_pop::<Generic>(n),
            "rtrb" => push_pop::<Rtrb>(n),
            _ => panic!("unknown contender {name}"),
        }
        return;
    }
    if let Ok(count) = std::env::var("BOXRING_ROUNDS") {
        rounds(count.parse().expect("a number of rounds"));
        return;
    }
    boxring();
    Criterion::default().configure_from_args().final_summary();
}
