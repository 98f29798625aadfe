//! ringlink's channels (`sync_channel` and `channel`) beside every other channel of the
//! contenders' list (std's, crossbeam's and kanal's, bounded and unbounded), and beside
//! the busy-poll rings.
//!
//! - `echo/<transport>`: round trip of one `u64` through a request channel and a reply
//!   channel of bound 1 (the unbounded ones ignore the bound), one message in flight; the
//!   channels block, the rings busy-poll (the floor: the same two rings with no waiting
//!   machinery at all). Each channel's one and only sender, never cloned.
//! - `echo_cloned/<channel>`: the same echo through the channels whose senders clone,
//!   each direction sending through a clone of its sender (cloned first, the original
//!   dropped): the path a channel takes once it has had several senders.
//! - `stream_u64/<channel>`, `stream_box/<channel>`: one-way throughput through a
//!   blocking channel of bound 1024 (or unbounded), one sender, `u64` and `Box<u64>` (an
//!   allocation per send, a free per receive).
//! - `stream_u64_busy/<channel>`: `stream_u64` with a receiver that also does a few
//!   multiply-adds per value, so that it is the slower side and the channel runs full
//!   (where a sender that takes each freed slot as it comes would pull the receiver's
//!   position across to its CPU for each).
//! - `stream_u64_producers/<channel>/<N>`: `N` producer threads (2 and 4), each with its
//!   own clone of the sender, streaming `u64` into one receiver; the producers all pinned
//!   to the first CPU, the receiver to the second. Throughput in values per second.
//!
//! The partner thread of each benchmark is spawned once, pinned (cores 0 and 1 when the
//! process may use two or more, both on the one core otherwise, e.g. under
//! `taskset -c 0`, where the rings yield between polls instead of spinning and their
//! ids end in `-yield`), and waits at a barrier before any clock starts. Each benchmark
//! checks what it received (count and order, per producer where there are several, or
//! the echoed value).
//!
//! `MPSC_SEND_RECV=<transport>[:cloned]:<n> cargo bench --bench mpsc` runs `n` send+recv
//! pairs on one thread (through a cloned sender with `:cloned`) and exits, for
//! `valgrind --tool=callgrind` (instructions per pair: the difference between two `n`).
//!
//! Run: `cargo bench --bench mpsc` (filter with e.g. `-- echo`). Compare ratios within
//! one run: the host moves this VM's vCPUs around, so absolute figures move from run to
//! run (see "What the numbers mean" in the README).

mod common;

use std::hint::black_box;
use std::marker::PhantomData;
use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

use common::contenders::{for_each, ForEach, Poll, Transport};
use common::rigs::{bench_rig, Bounce, Counter, Echo, Producers, Stream, Streamed};
use common::support::{self, Cpus};

const BOUND: usize = 1024;

/// The producer counts of `stream_u64_producers`.
const PRODUCERS: [usize; 2] = [2, 4];

/// Echo of a `u64` counter that the partner increments, on every transport (`cloned`:
/// on those whose senders clone, through clones).
struct EchoEach<'a> {
    c: &'a mut Criterion,
    group: &'static str,
    cloned: bool,
}

impl ForEach for EchoEach<'_> {
    fn wants<X: Transport>(&self) -> bool {
        !self.cloned || X::MULTI_PRODUCER
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let mut group = self.c.benchmark_group(self.group);
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let id = BenchmarkId::from_parameter(X::label(poll));
        let cloned = self.cloned;
        bench_rig(&mut group, id, || {
            let echo = if cloned {
                Echo::<X, u64>::start_cloned(Cpus::pair(), 1, poll, u64::bump)
            } else {
                Echo::<X, u64>::start(Cpus::pair(), 1, poll, u64::bump)
            };
            Bounce::new(echo, 1)
        });
        group.finish();
    }
}

fn echo(c: &mut Criterion) {
    for_each(&mut EchoEach {
        c,
        group: "echo",
        cloned: false,
    });
}

fn echo_cloned(c: &mut Criterion) {
    for_each(&mut EchoEach {
        c,
        group: "echo_cloned",
        cloned: true,
    });
}

/// One-way stream of `S` through every channel that blocks, from one sender; the
/// receiver does `work` multiply-adds per value (see [`Stream::start_busy`]).
struct StreamOf<'a, S> {
    c: &'a mut Criterion,
    group: &'static str,
    work: u32,
    streamed: PhantomData<S>,
}

impl<S: Streamed> ForEach for StreamOf<'_, S> {
    fn wants<X: Transport>(&self) -> bool {
        !X::BUSY_POLL
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let mut group = self.c.benchmark_group(self.group);
        group
            .throughput(Throughput::Elements(1))
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let id = BenchmarkId::from_parameter(X::label(poll));
        let work = self.work;
        bench_rig(&mut group, id, || match work {
            0 => Stream::<X, S>::start(Cpus::pair(), BOUND, poll),
            _ => Stream::<X, S>::start_busy(Cpus::pair(), BOUND, poll, work),
        });
        group.finish();
    }
}

fn stream_u64(c: &mut Criterion) {
    for_each(&mut StreamOf::<u64> {
        c,
        group: "stream_u64",
        work: 0,
        streamed: PhantomData,
    });
}

/// The receiver's work per value in `stream_u64_busy`: enough to make it the slower
/// side here (about half the speed of `stream_u64`).
const BUSY_WORK: u32 = 8;

fn stream_u64_busy(c: &mut Criterion) {
    for_each(&mut StreamOf::<u64> {
        c,
        group: "stream_u64_busy",
        work: BUSY_WORK,
        streamed: PhantomData,
    });
}

fn stream_box(c: &mut Criterion) {
    for_each(&mut StreamOf::<Box<u64>> {
        c,
        group: "stream_box",
        work: 0,
        streamed: PhantomData,
    });
}

/// `n` producers, each with a cloned sender, streaming `u64` into one receiver, through
/// every channel whose senders clone.
struct ProducersEach<'a> {
    c: &'a mut Criterion,
    n: usize,
}

impl ForEach for ProducersEach<'_> {
    fn wants<X: Transport>(&self) -> bool {
        X::MULTI_PRODUCER
    }

    fn run<X: Transport>(&mut self) {
        let poll = Poll::here();
        let n = self.n;
        let mut group = self.c.benchmark_group("stream_u64_producers");
        group
            .throughput(Throughput::Elements(1))
            .sample_size(30)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        let id = BenchmarkId::new(X::label(poll), n);
        bench_rig(&mut group, id, || {
            Producers::<X, u64>::start(Cpus::pair(), n, BOUND, poll)
        });
        group.finish();
    }
}

fn stream_u64_producers(c: &mut Criterion) {
    for n in PRODUCERS {
        for_each(&mut ProducersEach { c, n });
    }
}

/// `n` sends and receives of a `u64` on one thread through transport `X` (capacity 1024),
/// through a clone of the sender when `cloned` (the original dropped): for
/// `valgrind --tool=callgrind`, which counts the instructions of the uncontended path.
struct SendRecv {
    name: String,
    cloned: bool,
    n: u64,
    found: bool,
}

impl ForEach for SendRecv {
    fn wants<X: Transport>(&self) -> bool {
        X::NAME == self.name && (!self.cloned || X::MULTI_PRODUCER)
    }

    fn run<X: Transport>(&mut self) {
        self.found = true;
        let (mut tx, mut rx) = X::channel::<u64>(BOUND);
        if self.cloned {
            let clone = X::clone_sender(&tx).expect("MULTI_PRODUCER");
            drop(tx);
            tx = clone;
        }
        for i in 0..self.n {
            X::send(&mut tx, black_box(i), Poll::Spin);
            let got = X::try_recv(&mut rx).expect("sent just before");
            assert_eq!(black_box(got), i, "{}: wrong value", X::NAME);
        }
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = echo, echo_cloned, stream_u64, stream_u64_busy, stream_box, stream_u64_producers
}

fn main() {
    // `MPSC_SEND_RECV=<transport>[:cloned]:<n>`: run `n` one-thread send+recv pairs and
    // exit (instructions per pair = the difference between two runs' counts divided by
    // the difference of their `n`).
    if let Ok(spec) = std::env::var("MPSC_SEND_RECV") {
        let mut parts: Vec<&str> = spec.split(':').collect();
        let n = parts
            .pop()
            .and_then(|n| n.parse().ok())
            .expect("MPSC_SEND_RECV=<transport>[:cloned]:<n>");
        let cloned = parts.last() == Some(&"cloned");
        if cloned {
            parts.pop();
        }
        let mut run = SendRecv {
            name: parts.join(":"),
            cloned,
            n,
            found: false,
        };
        for_each(&mut run);
        assert!(
            run.found,
            "no transport {spec:?} (cloned needs a cloneable sender)"
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
