//! The busy-poll rings of the contenders' list (`ringlink_ring`, `rtrb`) side by side,
//! and against the physical floor.
//!
//! - `ring_throughput/<ring>`: one-way stream of `u64` through a 1024-slot ring, the two
//!   threads pinned to different cores (elements per second).
//! - `ring_round_trip/capacity_{1,1024}/{<ring>,bare_atomics}`: one value in flight
//!   through two rings (request and reply); `bare_atomics` bounces a counter through two
//!   atomics on separate cache lines, the least any two-ring design can cost.
//! - `ring_push_pop/<ring>`: one push and one pop on one thread.
//! - `ring_box_{stream,echo,push_pop}/<ring>`: the same shapes with `Box<u64>` through the
//!   ring of boxes (`ringlink_boxring`), the generic ring and rtrb (`common/boxes.rs`).
//!
//! With one usable CPU the rings yield between polls and their ids end in `-yield`.
//!
//! Run: `cargo bench --bench ring`. Every benchmark checks the values it receives.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;

use common::contenders::{for_each, ForEach, Poll, Transport};
use common::rigs::{bench_rig, bounce, Stream};
use common::support::{self, Cpus, Partner};

/// The rings of the list: the transports that busy-poll.
fn is_ring<X: Transport>() -> bool {
    X::BUSY_POLL
}

/// One-way stream: the caller pushes, the partner pops and checks the order.
struct OneWay<'a>(&'a mut Criterion);

impl ForEach for OneWay<'_> {
    fn wants<X: Transport>(&self) -> bool {
        is_ring::<X>()
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let mut group = self.0.benchmark_group("ring_throughput");
        group.throughput(Throughput::Elements(1));
        let id = BenchmarkId::from_parameter(X::label(poll));
        bench_rig(&mut group, id, || {
            Stream::<X, u64>::start(Cpus::pair(), 1024, poll)
        });
        group.finish();
    }
}

/// Round trip: the caller pushes a counter into one ring, the partner sends it back
/// incremented through the other. `capacity` 1 is the tightest case; a roomier ring
/// lets the producer skip reloading the consumer's position on every push.
struct RoundTrip<'a> {
    c: &'a mut Criterion,
    capacity: usize,
}

impl ForEach for RoundTrip<'_> {
    fn wants<X: Transport>(&self) -> bool {
        is_ring::<X>()
    }

    fn run<X: Transport>(&mut self) {
        let (poll, capacity) = (Poll::here(), self.capacity);
        let mut group = self
            .c
            .benchmark_group(format!("ring_round_trip/capacity_{capacity}"));
        let id = BenchmarkId::from_parameter(X::label(poll));
        bench_rig(&mut group, id, || bounce::<X, u64>(capacity, 1, poll));
        group.finish();
    }
}

/// The floor: a counter bounced through two atomics on separate cache lines.
fn bare_atomics(c: &mut Criterion, capacity: usize) {
    const STOP: u64 = u64::MAX;
    let poll = Poll::here();
    let mut group = c.benchmark_group(format!("ring_round_trip/capacity_{capacity}"));
    let lines: Arc<[CachePadded<AtomicU64>; 2]> = Arc::new(Default::default());
    let theirs = lines.clone();
    let partner = Partner::start(Cpus::pair(), move || {
        let mut seen = 0;
        loop {
            let value = theirs[0].load(Ordering::Acquire);
            if value == seen {
                poll.relax();
                continue;
            }
            if value == STOP {
                return;
            }
            seen = value;
            theirs[1].store(value, Ordering::Release);
        }
    });
    let mut next = 0u64;
    group.bench_function(BenchmarkId::from_parameter("bare_atomics"), |b| {
        b.iter_custom(|iters| {
            let began = Instant::now();
            for _ in 0..iters {
                next += 1;
                lines[0].store(next, Ordering::Release);
                while lines[1].load(Ordering::Acquire) != next {
                    poll.relax();
                }
            }
            began.elapsed()
        })
    });
    lines[0].store(STOP, Ordering::Release);
    partner.join();
    group.finish();
}

/// One push and one pop on one thread.
struct PushPop<'a>(&'a mut Criterion);

impl ForEach for PushPop<'_> {
    fn wants<X: Transport>(&self) -> bool {
        is_ring::<X>()
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let (mut producer, mut consumer) = X::channel::<u64>(1024);
        let id = format!("ring_push_pop/{}", X::label(poll));
        self.0.bench_function(&id, |b| {
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                X::send(&mut producer, black_box(i), poll);
                let value = X::try_recv(&mut consumer);
                assert_eq!(value, Some(i));
            })
        });
    }
}

fn benches(c: &mut Criterion) {
    // Contenders alternate inside each group, so that a change of the host's placement
    // of our two vCPUs hits them alike.
    for_each(&mut OneWay(c));
    for capacity in [1, 1024] {
        for_each(&mut RoundTrip { c, capacity });
        bare_atomics(c, capacity);
    }
    for_each(&mut PushPop(c));
    common::boxes::ring_groups(c);
}

criterion_group! {
    name = ring;
    config = support::criterion()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(ring);
