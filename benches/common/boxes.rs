//! The workloads of the ring of boxes (`ringlink::ring::BoxRing`) against rtrb and
//! ringlink's generic ring carrying the same `Box<u64>`, and of recycled streams against
//! the channels, which allocate a box per message. The contenders are the box transports
//! of `contenders.rs` (`for_each_box`): `ringlink_boxring`, then each transport of the
//! list, a busy-poll ring as a pair of rings (the second carries used boxes back), a
//! blocking channel allocating a box per message.
//!
//! Criterion groups, registered by `benches/ring.rs` ([`ring_groups`]) and by the
//! transport suite ([`recycled_group`]):
//! - `ring_box_stream/<ring>`: one-way stream of pre-allocated boxes through each
//!   busy-poll ring of 1024 slots (`ringlink_boxring`, `ringlink_ring`, `rtrb`; a pool of
//!   boxes that the producer hands out again once the consumer is done with them, so no
//!   allocator runs): the cost of the queue alone.
//! - `ring_box_echo/<ring>`: one box in flight, bounced through two 1024-slot rings: both
//!   rings run nearly empty.
//! - `ring_box_push_pop/<ring>`: one push and one pop on one thread.
//! - `recycled_box_u64/<transport>`: a `Box<u64>` stream with a new value written into
//!   each box, through every bounded transport. The rings recycle: the consumer hands
//!   each box back through a return ring (`BoxRing`'s own, or a second ring of the same
//!   kind), which runs nearly empty; the channels (`ringlink_mpsc`, std
//!   `sync_channel(1024)`, crossbeam `bounded(1024)`, kanal `bounded(1024)`) allocate a
//!   box per message and free it on the other thread.
//!
//! Every benchmark checks the values it receives. `benches/boxring.rs` runs the same
//! workloads in interleaved rounds ([`rounds`]) and one-thread pairs for callgrind
//! ([`push_pop_mode`]).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;

use super::contenders::{for_each_box, BoxTransport, ForEachBox, Poll};
use super::rigs::{Recycled, Rig};
use super::support::{self, Cpus};

/// The partner thread as these benchmarks start it: on the second CPU, meeting the caller
/// at the returned barrier once its side is ready.
struct Partner<R>(support::Partner<R>);

impl<R: Send + 'static> Partner<R> {
    fn spawn(work: impl FnOnce(&Barrier) -> R + Send + 'static) -> (Self, Arc<Barrier>) {
        let barrier = Arc::new(Barrier::new(2));
        let theirs = barrier.clone();
        let partner = support::Partner::start(Cpus::pair(), move || work(&theirs));
        (Partner(partner), barrier)
    }

    fn join(self) -> R {
        self.0.join()
    }
}

/// Between two polls: spin when the partner has a CPU of its own, yield when it shares ours.
#[inline]
fn relax() {
    Poll::here().relax();
}

const CAPACITY: usize = 1024;

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
fn stream<B: BoxTransport>(n: u64) -> Duration {
    let pool = pool();
    let poll = Poll::here();
    let (mut producer, mut consumer) = B::channel::<u64>(CAPACITY);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for i in 0..n {
            let raw = pool[i as usize % POOL] as *mut u64;
            // SAFETY: pool box `k` is owned by at most one `Box` at a time: it is handed
            // out again only `POOL` pushes later, when the ring (1024 boxes) cannot hold
            // it any more, and the consumer gives up each box before it pops the next.
            B::send(&mut producer, unsafe { Box::from_raw(raw) }, poll);
        }
    });
    start.wait();
    let began = Instant::now();
    for i in 0..n {
        let boxed = B::recv(&mut consumer, poll).expect("the producer sends n boxes");
        assert_eq!(
            *boxed,
            i % POOL as u64,
            "{} delivered out of order",
            B::NAME
        );
        // The pool keeps the box.
        std::mem::forget(boxed);
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

/// `n` round trips of one box through two rings.
fn echo<B: BoxTransport>(n: u64) -> Duration {
    let poll = Poll::here();
    let (mut to_partner, mut partner_in) = B::channel::<u64>(CAPACITY);
    let (mut partner_out, mut from_partner) = B::channel::<u64>(CAPACITY);
    let (partner, start) = Partner::spawn(move |start| {
        start.wait();
        for _ in 0..n {
            let boxed = B::recv(&mut partner_in, poll).expect("the caller sends n boxes");
            B::send(&mut partner_out, boxed, poll);
        }
    });
    start.wait();
    let mut boxed = Box::new(0u64);
    let began = Instant::now();
    for i in 0..n {
        *boxed = i;
        B::send(&mut to_partner, boxed, poll);
        boxed = B::recv(&mut from_partner, poll).expect("the partner answers");
        assert_eq!(*boxed, i, "{} echoed the wrong value", B::NAME);
    }
    let elapsed = began.elapsed();
    partner.join();
    elapsed
}

/// `n` values streamed in recycled boxes (or a new box each, where `B` cannot recycle);
/// the time from the first send until the receiver has the last.
fn recycled<B: BoxTransport>(n: u64) -> Duration {
    let mut rig = Recycled::<B>::start(Cpus::pair(), CAPACITY, Poll::here());
    let elapsed = rig.run(n);
    rig.finish();
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

fn push_pop<B: BoxTransport>(n: u64) {
    let poll = Poll::here();
    let (mut producer, mut consumer) = B::channel::<u64>(CAPACITY);
    let mut boxed = Box::new(0u64);
    for _ in 0..n {
        B::send(&mut producer, boxed, poll);
        boxed = B::try_recv(&mut consumer).unwrap();
        // The box's address must exist, so the pair cannot be optimised away; the box
        // itself stays in a register, as it would in a user's loop.
        black_box(&*boxed);
    }
}

/// Which box transports a group runs, and how it measures one.
#[derive(Clone, Copy)]
enum Workload {
    Stream,
    Echo,
    Recycled,
    PushPop,
}

impl Workload {
    fn wants<B: BoxTransport>(self) -> bool {
        match self {
            // The ring workloads: the busy-poll rings of boxes.
            Workload::Stream | Workload::Echo | Workload::PushPop => B::BUSY_POLL,
            Workload::Recycled => B::BOUNDED,
        }
    }

    fn runner<B: BoxTransport>(self) -> fn(u64) -> Duration {
        match self {
            Workload::Stream => stream::<B>,
            Workload::Echo => echo::<B>,
            Workload::Recycled => recycled::<B>,
            Workload::PushPop => |n| timed(|| push_pop::<B>(n)),
        }
    }
}

/// One contender of a group: its name and how it runs `n` messages.
type Contender = (&'static str, fn(u64) -> Duration);

/// The contenders of `workload`, in the order of the list.
fn contenders(workload: Workload) -> Vec<Contender> {
    struct Collect(Workload, Vec<Contender>);
    impl ForEachBox for Collect {
        fn wants<B: BoxTransport>(&self) -> bool {
            self.0.wants::<B>()
        }
        fn run<B: BoxTransport>(&mut self) {
            let runner = self.0.runner::<B>();
            self.1.push((B::NAME, runner));
        }
    }
    let mut collect = Collect(workload, Vec::new());
    for_each_box(&mut collect);
    collect.1
}

/// The ring groups of `benches/ring.rs`: `ring_box_stream`, `ring_box_echo` and
/// `ring_box_push_pop`, each over the busy-poll rings of boxes.
pub fn ring_groups(c: &mut Criterion) {
    groups(
        c,
        [
            ("ring_box_stream", Workload::Stream, true),
            ("ring_box_echo", Workload::Echo, false),
            ("ring_box_push_pop", Workload::PushPop, false),
        ],
    );
}

/// The transport suite's group `recycled_box_u64`: a `Box<u64>` stream with a new value
/// in each box, over every bounded transport (the rings recycle, the channels allocate).
pub fn recycled_group(c: &mut Criterion) {
    groups(c, [("recycled_box_u64", Workload::Recycled, true)]);
}

fn groups<const N: usize>(c: &mut Criterion, groups: [(&str, Workload, bool); N]) {
    for (group_name, workload, elements) in groups {
        let mut group = c.benchmark_group(group_name);
        if elements {
            group.throughput(Throughput::Elements(1));
        }
        for (name, run) in contenders(workload) {
            group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter_custom(run));
        }
        group.finish();
    }
}

fn timed(f: impl FnOnce()) -> Duration {
    let began = Instant::now();
    f();
    began.elapsed()
}

/// Runs `rounds` rounds of every group, contenders in turn, and prints ns per message for
/// each round and the medians of each contender's ratio to the group's first.
pub fn rounds(rounds: usize) {
    let probe_limit: f64 = std::env::var("BOXRING_PROBE_MAX")
        .map(|v| v.parse().expect("ns"))
        .unwrap_or(300.0);
    let probe = || ping_pong(20_000).as_nanos() as f64 / 20_000.0;
    let groups: [(&str, u64, Vec<Contender>); 3] = [
        (
            "stream (pooled boxes, ns/msg)",
            1_000_000,
            contenders(Workload::Stream),
        ),
        (
            "echo (one box in flight, ns/round trip)",
            50_000,
            contenders(Workload::Echo),
        ),
        (
            "recycled Box<u64> stream (ns/msg)",
            500_000,
            contenders(Workload::Recycled),
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

/// Runs `n` one-thread push+pop pairs on the ring named `name` (`ringlink_boxring`,
/// `ringlink_ring` or `rtrb`), for `valgrind --tool=callgrind`: the same plain loop on
/// each ring's own `push` and `pop` (none of the contenders' wait loops, whose calls make
/// the compiler keep the halves in memory), one box going round.
pub fn push_pop_mode(name: &str, n: u64) {
    // One function per ring, out of line: the loop keeps the halves in registers, as a
    // user's loop would.
    macro_rules! pairs {
        ($halves:expr) => {{
            #[inline(never)]
            fn pairs(n: u64) {
                let (mut producer, mut consumer) = $halves;
                let mut boxed = Box::new(0u64);
                for _ in 0..n {
                    producer.push(boxed).ok().expect("room for the only box");
                    boxed = consumer.pop().ok().expect("the box just pushed");
                    // The box's address must exist, so the pair cannot be optimised away.
                    black_box(&*boxed);
                }
            }
            pairs(n)
        }};
    }
    match name {
        "ringlink_boxring" => pairs!(ringlink::ring::BoxRing::<u64>::with_recycling(CAPACITY, 0)),
        "ringlink_ring" => pairs!(ringlink::ring::RingBuffer::<Box<u64>>::new(CAPACITY)),
        "rtrb" => pairs!(rtrb::RingBuffer::<Box<u64>>::new(CAPACITY)),
        _ => panic!("unknown ring {name}: ringlink_boxring, ringlink_ring or rtrb"),
    }
}
