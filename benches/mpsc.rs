//! ringlink's channel beside std's `sync_channel` and crossbeam's `bounded`, and beside
//! the raw ring it is built on.
//!
//! - `echo/*`: round trip of one `u64` through a request channel and a reply channel,
//!   one message in flight; blocking receives (the raw ring busy-polls).
//! - `stream_u64/*`, `stream_box/*`: one-way throughput through a channel of bound 1024,
//!   `u64` and `Box<u64>` (an allocation per send, a free per receive).
//!
//! The partner thread of each benchmark is spawned once, pinned (cores 0 and 1 when the
//! process may use two or more, both on the one core otherwise, e.g. under
//! `taskset -c 0`, where the raw ring yields between polls instead of spinning), and
//! waits at a barrier before any clock starts. Each benchmark checks
//! what it received (count and order, or the echoed value).
//!
//! Run: `cargo bench --bench mpsc` (filter with e.g. `-- echo`). Compare ratios within
//! one run: the host moves this VM's vCPUs around (see MEASUREMENTS.md).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringlink::ring::RingBuffer;

mod support;
use support::{relax, Partner};

const BOUND: usize = 1024;

/// Spawns the partner thread pinned to its core, pins the caller, and returns once
/// both are pinned and ready.
fn spawn_partner<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Partner<R> {
    let (partner, ready) = Partner::spawn(move |ready| {
        ready.wait();
        work()
    });
    ready.wait();
    partner
}

// ---------------------------------------------------------------------------------
// Echo

/// One echo benchmark of a blocking channel: `$channel(1)` makes a request channel and
/// a reply channel; the partner answers each request `i` with `i + 1` until the request
/// channel disconnects.
macro_rules! echo_blocking {
    ($group:expr, $name:expr, $channel:expr) => {{
        let (request_tx, request_rx) = $channel(1);
        let (reply_tx, reply_rx) = $channel(1);
        let server = spawn_partner(move || {
            for request in request_rx {
                reply_tx.send(request + 1).unwrap();
            }
        });
        $group.bench_function($name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    request_tx.send(i).unwrap();
                    assert_eq!(reply_rx.recv(), Ok(i + 1));
                }
                start.elapsed()
            })
        });
        drop(request_tx);
        server.join();
    }};
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    echo_blocking!(group, "ringlink", ringlink::mpsc::sync_channel::<u64>);
    echo_blocking!(group, "std", std_mpsc::sync_channel::<u64>);
    echo_blocking!(group, "crossbeam", crossbeam_channel::bounded::<u64>);

    // The floor: the same two rings, busy-polled, no waiting machinery at all.
    {
        let (mut request_tx, mut request_rx) = RingBuffer::<u64>::new(1);
        let (mut reply_tx, mut reply_rx) = RingBuffer::<u64>::new(1);
        let server = spawn_partner(move || loop {
            match request_rx.pop() {
                Ok(u64::MAX) => return,
                Ok(request) => {
                    while reply_tx.push(request + 1).is_err() {
                        relax();
                    }
                }
                Err(_) => relax(),
            }
        });
        group.bench_function("ring_spin", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
                    while request_tx.push(i).is_err() {
                        relax();
                    }
                    let reply = loop {
                        if let Ok(reply) = reply_rx.pop() {
                            break reply;
                        }
                        relax();
                    };
                    assert_eq!(reply, i + 1);
                }
                start.elapsed()
            })
        });
        while request_tx.push(u64::MAX).is_err() {
            relax();
        }
        server.join();
    }
    group.finish();
}

// ---------------------------------------------------------------------------------
// Streaming

/// What the streaming partner is told: receive this many values, then report.
struct Batch {
    count: u64,
}

/// Drives a streaming benchmark: the partner is handed a batch size, signals ready,
/// receives the batch (checking order), and reports through `done`; the clock runs
/// from the first send to that report.
fn stream<Tx>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    make: impl FnOnce() -> (Tx, Box<dyn FnMut(u64) -> u64 + Send>),
    mut send: impl FnMut(&Tx, u64),
) {
    let (tx, mut receive_batch) = make();
    let (command_tx, command_rx) = std_mpsc::channel::<Batch>();
    let state = Arc::new(AtomicU64::new(0)); // 1: partner ready, 2: batch received
    let state2 = state.clone();
    let partner = spawn_partner(move || {
        for Batch { count } in command_rx {
            state2.store(1, Ordering::Release);
            let received = receive_batch(count);
            assert_eq!(received, count, "the batch arrived whole and in order");
            state2.store(2, Ordering::Release);
        }
    });
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| {
            state.store(0, Ordering::Relaxed);
            command_tx.send(Batch { count: iters }).unwrap();
            while state.load(Ordering::Acquire) != 1 {
                relax();
            }
            let start = Instant::now();
            for i in 0..iters {
                send(&tx, i);
            }
            while state.load(Ordering::Acquire) != 2 {
                relax();
            }
            start.elapsed()
        });
    });
    group.finish();
    drop(command_tx);
    partner.join();
    drop(tx);
}

/// Receives `count` values with `recv`, checking that value `i` is the `i`-th; returns
/// how many arrived in order.
macro_rules! receive_in_order {
    ($rx:expr, $unwrap:expr) => {
        Box::new(move |count: u64| {
            let mut in_order = 0;
            for i in 0..count {
                let value: u64 = $unwrap($rx.recv().unwrap());
                in_order += u64::from(value == i);
            }
            in_order
        })
    };
}

fn stream_u64(c: &mut Criterion) {
    stream(
        c,
        "stream_u64",
        "ringlink",
        || {
            let (tx, rx) = ringlink::mpsc::sync_channel::<u64>(BOUND);
            (tx, receive_in_order!(rx, |v| v))
        },
        |tx, i| tx.send(black_box(i)).unwrap(),
    );
    stream(
        c,
        "stream_u64",
        "std",
        || {
            let (tx, rx) = std_mpsc::sync_channel::<u64>(BOUND);
            (tx, receive_in_order!(rx, |v| v))
        },
        |tx, i| tx.send(black_box(i)).unwrap(),
    );
    stream(
        c,
        "stream_u64",
        "crossbeam",
        || {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(BOUND);
            (tx, receive_in_order!(rx, |v| v))
        },
        |tx, i| tx.send(black_box(i)).unwrap(),
    );
}

fn stream_box(c: &mut Criterion) {
    stream(
        c,
        "stream_box",
        "ringlink",
        || {
            let (tx, rx) = ringlink::mpsc::sync_channel::<Box<u64>>(BOUND);
            (tx, receive_in_order!(rx, |v: Box<u64>| *v))
        },
        |tx, i| tx.send(Box::new(black_box(i))).unwrap(),
    );
    stream(
        c,
        "stream_box",
        "std",
        || {
            let (tx, rx) = std_mpsc::sync_channel::<Box<u64>>(BOUND);
            (tx, receive_in_order!(rx, |v: Box<u64>| *v))
        },
        |tx, i| tx.send(Box::new(black_box(i))).unwrap(),
    );
    stream(
        c,
        "stream_box",
        "crossbeam",
        || {
            let (tx, rx) = crossbeam_channel::bounded::<Box<u64>>(BOUND);
            (tx, receive_in_order!(rx, |v: Box<u64>| *v))
        },
        |tx, i| tx.send(Box::new(black_box(i))).unwrap(),
    );
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = echo, stream_u64, stream_box
}
criterion_main!(benches);
