//! ringlink's channel beside the other bounded channels of the contenders' list (std's
//! `sync_channel`, crossbeam's `bounded`), and beside the busy-poll rings.
//!
//! - `echo/<transport>`: round trip of one `u64` through a request channel and a reply
//!   channel of bound 1, one message in flight; the channels block, the rings busy-poll
//!   (the floor: the same two rings with no waiting machinery at all).
//! - `stream_u64/<channel>`, `stream_box/<channel>`: one-way throughput through a
//!   blocking channel of bound 1024, `u64` and `Box<u64>` (an allocation per send, a
//!   free per receive).
//!
//! The partner thread of each benchmark is spawned once, pinned (cores 0 and 1 when the
//! process may use two or more, both on the one core otherwise, e.g. under
//! `taskset -c 0`, where the rings yield between polls instead of spinning and their
//! ids end in `-yield`), and waits at a barrier before any clock starts. Each benchmark
//! checks what it received (count and order, or the echoed value).
//!
//! Run: `cargo bench --bench mpsc` (filter with e.g. `-- echo`). Compare ratios within
//! one run: the host moves this VM's vCPUs around, so absolute figures move from run to
//! run (see "What the numbers mean" in the README).

mod common;

use std::marker::PhantomData;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use common::contenders::{for_each, ForEach, Poll, Transport};
use common::rigs::{bench_rig, bounce, Stream, Streamed};
use common::support::{self, Cpus};

const BOUND: usize = 1024;

/// Echo of a `u64` counter that the partner increments, on every bounded transport.
struct Echo<'a>(&'a mut Criterion);

impl ForEach for Echo<'_> {
    fn wants<X: Transport>(&self) -> bool {
        X::BOUNDED
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let mut group = self.0.benchmark_group("echo");
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let id = BenchmarkId::from_parameter(X::label(poll));
        bench_rig(&mut group, id, || bounce::<X, u64>(1, 1, poll));
        group.finish();
    }
}

fn echo(c: &mut Criterion) {
    for_each(&mut Echo(c));
}

/// One-way stream of `S` through every bounded channel that blocks.
struct StreamOf<'a, S> {
    c: &'a mut Criterion,
    group: &'static str,
    streamed: PhantomData<S>,
}

impl<S: Streamed> ForEach for StreamOf<'_, S> {
    fn wants<X: Transport>(&self) -> bool {
        X::BOUNDED && !X::BUSY_POLL
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let mut group = self.c.benchmark_group(self.group);
        group
            .throughput(Throughput::Elements(1))
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let id = BenchmarkId::from_parameter(X::label(poll));
        bench_rig(&mut group, id, || {
            Stream::<X, S>::start(Cpus::pair(), BOUND, poll)
        });
        group.finish();
    }
}

fn stream_u64(c: &mut Criterion) {
    for_each(&mut StreamOf::<u64> {
        c,
        group: "stream_u64",
        streamed: PhantomData,
    });
}

fn stream_box(c: &mut Criterion) {
    for_each(&mut StreamOf::<Box<u64>> {
        c,
        group: "stream_box",
        streamed: PhantomData,
    });
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = echo, stream_u64, stream_box
}
criterion_main!(benches);
