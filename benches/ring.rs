//! The ring against rtrb, and against the physical floor.
//!
//! - `ring_throughput/{ringlink,rtrb}`: one-way stream of `u64` through a 1024-slot ring,
//!   producer and consumer pinned to different cores (elements per second).
//! - `ring_round_trip/{ringlink,rtrb,bare_atomics}`: one value in flight through two
//!   rings (request and reply); `bare_atomics` bounces a counter through two atomics on
//!   separate cache lines, the least any two-ring design can cost.
//! - `ring_push_pop/{ringlink,rtrb}`: one push and one pop on one thread.
//!
//! Run: `cargo bench --bench ring`. Every benchmark checks the values it receives.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;

use support::{relax, Partner};

/// The two halves of an SPSC ring, as the benchmarks use them.
trait Spsc: Send + 'static {
    type Producer: Send + 'static;
    type Consumer: Send + 'static;
    const NAME: &'static str;
    fn new(capacity: usize) -> (Self::Producer, Self::Consumer);
    /// Pushes, busy-waiting while the ring is full.
    fn push(producer: &mut Self::Producer, value: u64);
    /// Pops, busy-waiting while the ring is empty.
    fn pop(consumer: &mut Self::Consumer) -> u64;
    fn try_pop(consumer: &mut Self::Consumer) -> Option<u64>;
}

/// Implements [`Spsc`] for the ring in `module`, whose halves have the shape of ours.
macro_rules! spsc {
    ($name:ident, $id:literal, [$($module:tt)*]) => {
        struct $name;

        impl Spsc for $name {
            type Producer = $($module)*::Producer<u64>;
            type Consumer = $($module)*::Consumer<u64>;
            const NAME: &'static str = $id;
            fn new(capacity: usize) -> (Self::Producer, Self::Consumer) {
                $($module)*::RingBuffer::new(capacity)
            }
            #[inline]
            fn push(producer: &mut Self::Producer, mut value: u64) {
                while let Err($($module)*::PushError::Full(v)) = producer.push(value) {
                    value = v;
                    relax();
                }
            }
            #[inline]
            fn pop(consumer: &mut Self::Consumer) -> u64 {
                loop {
                    if let Ok(value) = consumer.pop() {
                        return value;
                    }
                    relax();
                }
            }
            #[inline]
            fn try_pop(consumer: &mut Self::Consumer) -> Option<u64> {
                consumer.pop().ok()
            }
        }
    };
}

spsc!(Ringlink, "ringlink", [ringlink::ring]);
spsc!(Rtrb, "rtrb", [rtrb]);

/// Tells a partner how many values to stream next; `STOP` ends it.
const STOP: u64 = u64::MAX;
const IDLE: u64 = 0;

/// One-way stream: the partner pushes `iters` values per sample, the caller pops and
/// checks them. The partner is spawned once and waits for orders between samples.
fn throughput<R: Spsc>(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_throughput");
    group.throughput(Throughput::Elements(1));
    let order = Arc::new(CachePadded::new(AtomicU64::new(IDLE)));
    let (mut producer, mut consumer) = R::new(1024);
    let theirs = order.clone();
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        loop {
            let n = theirs.load(Ordering::Acquire);
            if n == STOP {
                return;
            }
            if n == IDLE {
                relax();
                continue;
            }
            theirs.store(IDLE, Ordering::Relaxed);
            for i in 0..n {
                R::push(&mut producer, i);
            }
        }
    });
    start.wait();
    group.bench_function(BenchmarkId::from_parameter(R::NAME), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            order.store(iters, Ordering::Release);
            for i in 0..iters {
                let value = R::pop(&mut consumer);
                assert_eq!(value, i, "{} delivered out of order", R::NAME);
            }
            began.elapsed()
        })
    });
    order.store(STOP, Ordering::Release);
    partner.join();
    group.finish();
}

/// Round trip: the caller pushes `i` into one ring, the partner echoes it through the
/// other. `capacity` 1 is the tightest case; a roomier ring lets the producer skip
/// reloading the consumer's position on every push.
fn round_trip<R: Spsc>(c: &mut Criterion, capacity: usize) {
    let mut group = c.benchmark_group(format!("ring_round_trip/capacity_{capacity}"));
    let (mut to_partner, mut partner_in) = R::new(capacity);
    let (mut partner_out, mut from_partner) = R::new(capacity);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        loop {
            let value = R::pop(&mut partner_in);
            if value == STOP {
                return;
            }
            R::push(&mut partner_out, value);
        }
    });
    start.wait();
    group.bench_function(BenchmarkId::from_parameter(R::NAME), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            for i in 0..iters {
                R::push(&mut to_partner, i);
                let echoed = R::pop(&mut from_partner);
                assert_eq!(echoed, i, "{} echoed the wrong value", R::NAME);
            }
            began.elapsed()
        })
    });
    R::push(&mut to_partner, STOP);
    partner.join();
    assert!(R::try_pop(&mut from_partner).is_none());
    group.finish();
}

/// The floor: a counter bounced through two atomics on separate cache lines.
fn bare_atomics(c: &mut Criterion, capacity: usize) {
    let mut group = c.benchmark_group(format!("ring_round_trip/capacity_{capacity}"));
    let lines: Arc<[CachePadded<AtomicU64>; 2]> = Arc::new(Default::default());
    let theirs = lines.clone();
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        let mut seen = 0;
        loop {
            let value = theirs[0].load(Ordering::Acquire);
            if value == seen {
                relax();
                continue;
            }
            if value == STOP {
                return;
            }
            seen = value;
            theirs[1].store(value, Ordering::Release);
        }
    });
    start.wait();
    let mut next = 0u64;
    group.bench_function(BenchmarkId::from_parameter("bare_atomics"), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            for _ in 0..iters {
                next += 1;
                lines[0].store(next, Ordering::Release);
                while lines[1].load(Ordering::Acquire) != next {
                    relax();
                }
            }
            began.elapsed()
        })
    });
    lines[0].store(STOP, Ordering::Release);
    partner.join();
    group.finish();
}

fn push_pop<R: Spsc>(c: &mut Criterion) {
    let (mut producer, mut consumer) = R::new(1024);
    c.bench_function(&format!("ring_push_pop/{}", R::NAME), |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            R::push(&mut producer, black_box(i));
            let value = R::try_pop(&mut consumer);
            assert_eq!(value, Some(i));
        })
    });
}

fn benches(c: &mut Criterion) {
    // Contenders alternate inside each group, so that a change of the host's placement
    // of our two vCPUs hits them alike.
    throughput::<Ringlink>(c);
    throughput::<Rtrb>(c);
    for capacity in [1, 1024] {
        round_trip::<Ringlink>(c, capacity);
        round_trip::<Rtrb>(c, capacity);
        bare_atomics(c, capacity);
    }
    push_pop::<Ringlink>(c);
    push_pop::<Rtrb>(c);
}

criterion_group! {
    name = ring;
    config = support::criterion()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(ring);
