//! The runs: one echo run and one stream run of a transport (and, where its sender
//! clones, an echo run through cloned senders and a run of several producers), and what
//! they record.

use std::time::{Duration, Instant};

use crate::common::contenders::{
    BoxTransport, ForEach, ForEachBox, Poll, RinglinkBoxRing, Transport,
};
use crate::common::rigs::{Echo, Producers, Recycled, Rig, RoundTrip, Stream};
use crate::common::support::Cpus;

/// Round trips of the echo before the clock starts (or as many as fit in `ECHO_WARM_UP`).
const ECHO_WARM_UP_TRIPS: u64 = 2_000;
const ECHO_WARM_UP: Duration = Duration::from_millis(20);
/// At most this many timed round trips per run, in at most this long.
const ECHO_TRIPS: usize = 20_000;
const ECHO_BUDGET: Duration = Duration::from_millis(120);
/// The one-core echo: fewer round trips, each costing microseconds.
pub const ONE_CORE_TRIPS: usize = 3_000;
pub const ONE_CORE_BUDGET: Duration = Duration::from_millis(60);
/// The stream: this many values, or as many as fit in the budget.
const STREAM_VALUES: u64 = 2_000_000;
const STREAM_BUDGET: Duration = Duration::from_millis(100);
const STREAM_WARM_UP: u64 = 20_000;
const CAPACITY: usize = 1024;
/// How many producers stream into one receiver in the many-producer runs.
pub const PRODUCER_COUNTS: [usize; 2] = [2, 4];
/// A many-producer run streams at least this many values (and at most `STREAM_VALUES`).
const PRODUCERS_MIN_VALUES: u64 = 200_000;

/// What is measured of one transport: one entry per run (round) in each list.
pub struct Results {
    pub name: &'static str,
    pub busy_poll: bool,
    pub bounded: bool,
    pub multi_producer: bool,
    pub echo_p50: Vec<f64>,
    pub echo_p99: Vec<f64>,
    pub mmsg: Vec<f64>,
    pub one_core_p50: Vec<f64>,
    pub echo_trips: Vec<usize>,
    pub one_core_trips: Vec<usize>,
    /// Echo through cloned senders (only where `multi_producer`).
    pub cloned_echo_p50: Vec<f64>,
    pub cloned_echo_p99: Vec<f64>,
    /// Millions of `u64` per second from `PRODUCER_COUNTS[i]` producers (only where
    /// `multi_producer`).
    pub producers_mmsg: [Vec<f64>; PRODUCER_COUNTS.len()],
}

/// Makes an empty `Results` for each transport.
pub struct Register<'a>(pub &'a mut Vec<Results>);

impl ForEach for Register<'_> {
    fn run<X: Transport>(&mut self) {
        self.0.push(Results {
            name: X::NAME,
            busy_poll: X::BUSY_POLL,
            bounded: X::BOUNDED,
            multi_producer: X::MULTI_PRODUCER,
            echo_p50: Vec::new(),
            echo_p99: Vec::new(),
            mmsg: Vec::new(),
            one_core_p50: Vec::new(),
            echo_trips: Vec::new(),
            one_core_trips: Vec::new(),
            cloned_echo_p50: Vec::new(),
            cloned_echo_p99: Vec::new(),
            producers_mmsg: Default::default(),
        });
    }
}

fn entry<'a>(results: &'a mut [Results], name: &str) -> &'a mut Results {
    results
        .iter_mut()
        .find(|r| r.name == name)
        .expect("registered")
}

/// One round on two CPUs: an echo run and a stream run of each transport; where its
/// sender clones, also an echo run through cloned senders and one run for each count of
/// producers (the producers on `cpus.caller`, the receiver on `cpus.partner`).
pub struct TwoCoreRun<'a> {
    pub results: &'a mut Vec<Results>,
    pub cpus: Cpus,
    pub poll: Poll,
}

impl ForEach for TwoCoreRun<'_> {
    fn run<X: Transport>(&mut self) {
        let (cpus, poll) = (self.cpus, self.poll);
        let trips = echo::<X>(cpus, poll, ECHO_TRIPS, ECHO_BUDGET, false);
        let mmsg = stream::<X>(cpus, poll);
        let r = entry(self.results, X::NAME);
        r.echo_p50.push(percentile(&trips, 0.50));
        r.echo_p99.push(percentile(&trips, 0.99));
        r.echo_trips.push(trips.len());
        r.mmsg.push(mmsg);
        if X::MULTI_PRODUCER {
            let trips = echo::<X>(cpus, poll, ECHO_TRIPS, ECHO_BUDGET, true);
            let r = entry(self.results, X::NAME);
            r.cloned_echo_p50.push(percentile(&trips, 0.50));
            r.cloned_echo_p99.push(percentile(&trips, 0.99));
            for (i, n) in PRODUCER_COUNTS.into_iter().enumerate() {
                let mmsg = producers::<X>(cpus, poll, n);
                entry(self.results, X::NAME).producers_mmsg[i].push(mmsg);
            }
        }
    }
}

/// What is measured of one box transport: millions of `Box<u64>` per second, a new value
/// written into each box, one entry per run.
pub struct BoxResults {
    pub name: &'static str,
    pub recycles: bool,
    pub mmsg: Vec<f64>,
}

/// The box transports of the recycled stream: `ringlink_boxring` (recycling) and the
/// bounded channels, which allocate a box per message.
fn box_stream_wants<B: BoxTransport>() -> bool {
    (B::RECYCLES && B::NAME == RinglinkBoxRing::NAME) || (!B::BUSY_POLL && B::BOUNDED)
}

/// Makes an empty `BoxResults` for each box transport of the recycled stream.
pub struct RegisterBoxes<'a>(pub &'a mut Vec<BoxResults>);

impl ForEachBox for RegisterBoxes<'_> {
    fn wants<B: BoxTransport>(&self) -> bool {
        box_stream_wants::<B>()
    }

    fn run<B: BoxTransport>(&mut self) {
        self.0.push(BoxResults {
            name: B::NAME,
            recycles: B::RECYCLES,
            mmsg: Vec::new(),
        });
    }
}

/// One round on two CPUs of the recycled `Box<u64>` stream.
pub struct BoxRun<'a> {
    pub results: &'a mut Vec<BoxResults>,
    pub cpus: Cpus,
    pub poll: Poll,
}

impl ForEachBox for BoxRun<'_> {
    fn wants<B: BoxTransport>(&self) -> bool {
        box_stream_wants::<B>()
    }

    fn run<B: BoxTransport>(&mut self) {
        let mmsg = box_stream::<B>(self.cpus, self.poll);
        self.results
            .iter_mut()
            .find(|r| r.name == B::NAME)
            .expect("registered")
            .mmsg
            .push(mmsg);
    }
}

/// One run of the recycled stream: millions of `Box<u64>` per second through a
/// transport of 1024 boxes, timed as the `u64` stream is.
fn box_stream<B: BoxTransport>(cpus: Cpus, poll: Poll) -> f64 {
    let mut stream = Recycled::<B>::start(cpus, CAPACITY, poll);
    stream.send(STREAM_WARM_UP);
    stream.wait();
    let first = stream.sent();
    let start = Instant::now();
    let until = start + STREAM_BUDGET;
    while stream.sent() - first < STREAM_VALUES {
        stream.send(CAPACITY as u64);
        if Instant::now() > until {
            break;
        }
    }
    stream.wait();
    let elapsed = start.elapsed();
    let values = stream.sent() - first;
    stream.finish();
    values as f64 / elapsed.as_secs_f64() / 1e6
}

/// One round with both threads on one CPU: an echo run of each transport.
pub struct OneCoreRun<'a> {
    pub results: &'a mut Vec<Results>,
    pub cpus: Cpus,
}

impl ForEach for OneCoreRun<'_> {
    fn run<X: Transport>(&mut self) {
        // Passed explicitly: whatever the machine has, these two threads share a CPU.
        let trips = echo::<X>(
            self.cpus,
            Poll::Yield,
            ONE_CORE_TRIPS,
            ONE_CORE_BUDGET,
            false,
        );
        let r = entry(self.results, X::NAME);
        r.one_core_p50.push(percentile(&trips, 0.50));
        r.one_core_trips.push(trips.len());
    }
}

/// One echo run: the time of each round trip in ns, as many as fit in `trips` and
/// `budget`; `cloned`: both directions send through a clone of their sender. Checks
/// every reply, and the partner's count at the end.
fn echo<X: Transport>(
    cpus: Cpus,
    poll: Poll,
    trips: usize,
    budget: Duration,
    cloned: bool,
) -> Vec<f64> {
    let answer = |value: u64| value + 1;
    let mut echo = if cloned {
        Echo::<X, u64>::start_cloned(cpus, 1, poll, answer)
    } else {
        Echo::<X, u64>::start(cpus, 1, poll, answer)
    };
    let mut trip = |i: u64| {
        let reply = echo.trip(i);
        assert_eq!(reply, i + 1, "{}: wrong reply", X::NAME);
    };
    let mut sent = 0u64;
    let warm_up_until = Instant::now() + ECHO_WARM_UP;
    while sent < ECHO_WARM_UP_TRIPS && Instant::now() < warm_up_until {
        trip(sent);
        sent += 1;
    }
    let mut times = Vec::with_capacity(trips);
    let until = Instant::now() + budget;
    let mut before = Instant::now();
    while times.len() < trips {
        trip(sent);
        sent += 1;
        let now = Instant::now();
        times.push((now - before).as_nanos() as f64);
        before = now;
        if now > until {
            break;
        }
    }
    echo.finish();
    times
}

/// One throughput run: millions of `u64` per second, from the first send until the
/// partner has received the last, after a short warm-up. The partner checks the order.
fn stream<X: Transport>(cpus: Cpus, poll: Poll) -> f64 {
    let mut stream = Stream::<X, u64>::start(cpus, CAPACITY, poll);
    stream.send(STREAM_WARM_UP);
    stream.wait();
    let first = stream.sent();
    let start = Instant::now();
    let until = start + STREAM_BUDGET;
    while stream.sent() - first < STREAM_VALUES {
        stream.send(CAPACITY as u64);
        if Instant::now() > until {
            break;
        }
    }
    stream.wait();
    let elapsed = start.elapsed();
    let values = stream.sent() - first;
    stream.finish();
    values as f64 / elapsed.as_secs_f64() / 1e6
}

/// One many-producer run: millions of `u64` per second from `n` producers, each with a
/// cloned sender, into one receiver, from the producers' wake-up until the receiver
/// holds the last value. A warm-up run tells how many values fit in the budget; the
/// timed run then sends that many in one go (the producers' wake-up is paid once). The
/// receiver checks each producer's order.
fn producers<X: Transport>(cpus: Cpus, poll: Poll, n: usize) -> f64 {
    let mut rig = Producers::<X, u64>::start(cpus, n, CAPACITY, poll);
    let warm_up = rig.run(STREAM_WARM_UP);
    let per_second = STREAM_WARM_UP as f64 / warm_up.as_secs_f64().max(1e-9);
    let values = ((per_second * STREAM_BUDGET.as_secs_f64()) as u64)
        .clamp(PRODUCERS_MIN_VALUES, STREAM_VALUES);
    let elapsed = rig.run(values);
    rig.finish();
    values as f64 / elapsed.as_secs_f64() / 1e6
}

/// What one `Instant::now()` costs, in ns: the fastest of a few batches, so that a
/// preemption during one batch does not count.
pub fn clock_read_ns() -> f64 {
    const READS: u32 = 10_000;
    (0..10)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..READS {
                std::hint::black_box(Instant::now());
            }
            start.elapsed().as_nanos() as f64 / f64::from(READS)
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}
