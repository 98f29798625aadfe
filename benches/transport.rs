//! ringlink beside std's channels, crossbeam-channel and rtrb: the same workloads, run
//! against each transport in turn (see `common/contenders.rs` for the list).
//!
//! Benchmark ids are `group/<workload>/<transport>/<parameter>`:
//!
//! - `echo/{MsgOf, box MsgOf, MsgMf, box MsgMf}/<transport>/<N>`: one message in flight,
//!   a partner thread receives it and sends it back; one iteration is one round trip.
//!   `N` is the length of the message's `Vec<u8>` (1 B to 1 MiB); moving a message never
//!   copies the bytes, so N should not matter, and `MsgMf` (the same `Vec` plus 100
//!   scalar fields, about 650 bytes) shows what moving a large struct by value costs
//!   against moving a `Box`.
//! - `echo_clone/{clone MsgOf, …}/<transport>/<N>`: as `echo`, but each side sends a
//!   clone and drops what it received: an allocation, a copy of N bytes and a free per
//!   hop, so the cost grows with N.
//! - `one_thread/<transport>/1000`: the service workload of the original experiment,
//!   1000 messages (500 request/reply round trips of a `Box<u64>` that the server
//!   increments) per iteration, through an echo partner on each transport and through a
//!   `ringlink::service` echo service (`ringlink_service`).
//! - `throughput/{u64, box MsgOf}/<transport>/<producers>`: one-way stream through a
//!   channel of capacity 1024 (or an unbounded one), reported in elements per second;
//!   `box MsgOf` allocates a `Box` and an 8-byte `Vec` per message on the sending thread
//!   and frees both on the receiving one, so it measures the allocator as much as the
//!   transport. `<producers>` is how many threads send: 1 (the transport's own sender)
//!   on every transport; 2 and 4 for `u64` on the transports whose senders clone, each
//!   producer with a clone of its own, the producers all on the measuring thread's CPU
//!   and the receiver on the other.
//! - `recycled_box_u64/<transport>`: a `Box<u64>` stream with a new value in each box,
//!   capacity 1024: `ringlink_boxring` and the busy-poll rings hand used boxes back
//!   through a return ring, the channels allocate a box per message (`common/boxes.rs`).
//! - `burst/<transport>/{1, 10, 100}`: bursts of that many `u64`, each followed by an
//!   acknowledgement and a pause of 50 µs (not timed) that lets blocking receivers fall
//!   asleep; the time reported is per element, wake-up included.
//!
//! Transports: every one of the list; which busy-poll and which block is said there.
//!
//! The partner thread of each benchmark is spawned once, when the benchmark first runs
//! (a filtered-out benchmark costs nothing), pinned to core 1 while the measuring thread
//! is on core 0, and meets it at a barrier before any clock starts; it is joined when the
//! benchmark ends, and what it received is checked then (count, order, contents).
//! With one usable CPU (`taskset -c 0 cargo bench ...`) both threads share it and the
//! busy-poll transports yield between polls instead of spinning through a scheduler tick
//! per hop; their ids then end in `-yield`, so results from one core never compare
//! against results from two.
//!
//! Run: `cargo bench --bench transport` (about 15 minutes on 2 cores), narrowed with a
//! filter, e.g. `cargo bench --bench transport -- 'echo/box MsgOf/'` or `-- rtrb`.

mod common;

use std::marker::PhantomData;
use std::sync::Once;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use criterion::{PlotConfiguration, SamplingMode, Throughput};

use common::contenders::{for_each, ForEach, Poll, Transport};
use common::rigs::{bench_rig, bounce, Bounce, Echo, Producers, Rig, RoundTrip, Stream, Streamed};
use common::support::{self, partner_gone, Cpus, Partner};

/// The lengths of the messages' `Vec<u8>`, as in the original experiment.
const SIZES: [usize; 7] = [1, 4096, 65536, 131072, 262144, 524288, 1048576];

/// The capacity of the streaming channels.
const CAPACITY: usize = 1024;

/// The producer counts of `throughput/u64`: one on every transport, more where the
/// sender clones.
const PRODUCERS: [usize; 3] = [1, 2, 4];

/// Round trips per iteration of `one_thread` (1000 messages).
const ROUND_TRIPS: u64 = 500;

/// The pause between two bursts: longer than any adaptive wait spins (ringlink 10 µs,
/// crossbeam a few µs), so a blocking receiver is asleep when the next burst comes.
const PAUSE: Duration = Duration::from_micros(50);

/// How busy-poll transports wait here, said once on stderr.
fn poll() -> Poll {
    static SAID: Once = Once::new();
    let cores = support::cores();
    SAID.call_once(|| {
        if support::two_cores() {
            eprintln!(
                "transport bench: {} usable CPUs; each benchmark's two threads are pinned to \
                 CPUs {} and {}; busy-poll transports spin",
                cores.len(),
                cores[0].id,
                cores[1].id
            );
        } else {
            eprintln!(
                "transport bench: ONE usable CPU: both threads share it, and the busy-poll \
                 transports yield between polls (their ids end in -yield)"
            );
        }
    });
    Poll::here()
}

// ---------------------------------------------------------------------------------
// Messages

/// A small struct that owns one heap buffer.
#[derive(Clone, Debug, Default)]
pub struct MsgOf {
    pub v: Vec<u8>,
}

/// Declares `MsgMf`: the buffer of `MsgOf` plus ten groups of ten scalar fields.
macro_rules! msg_mf {
    ($([$a:ident, $b:ident, $c:ident, $d:ident, $e:ident,
        $f:ident, $g:ident, $h:ident, $i:ident, $j:ident])*) => {
        /// A message with many fields: `MsgOf`'s buffer plus 100 scalars, ten groups of
        /// `u128, u64, u32, u16, u8, i128, i64, i32, i16, i8` (each field holds its width
        /// in bits).
        #[derive(Clone, Debug)]
        pub struct MsgMf {
            pub v: Vec<u8>,
            $(
                pub $a: u128, pub $b: u64, pub $c: u32, pub $d: u16, pub $e: u8,
                pub $f: i128, pub $g: i64, pub $h: i32, pub $i: i16, pub $j: i8,
            )*
        }

        impl MsgMf {
            fn with(v: Vec<u8>) -> Self {
                MsgMf {
                    v,
                    $(
                        $a: 128, $b: 64, $c: 32, $d: 16, $e: 8,
                        $f: 128, $g: 64, $h: 32, $i: 16, $j: 8,
                    )*
                }
            }

            /// Whether every scalar still holds its width.
            fn scalars_intact(&self) -> bool {
                true $(
                    && self.$a == 128 && self.$b == 64 && self.$c == 32 && self.$d == 16
                    && self.$e == 8 && self.$f == 128 && self.$g == 64 && self.$h == 32
                    && self.$i == 16 && self.$j == 8
                )*
            }
        }
    };
}

msg_mf! {
    [f0u128, f0u64, f0u32, f0u16, f0u8, f0i128, f0i64, f0i32, f0i16, f0i8]
    [f1u128, f1u64, f1u32, f1u16, f1u8, f1i128, f1i64, f1i32, f1i16, f1i8]
    [f2u128, f2u64, f2u32, f2u16, f2u8, f2i128, f2i64, f2i32, f2i16, f2i8]
    [f3u128, f3u64, f3u32, f3u16, f3u8, f3i128, f3i64, f3i32, f3i16, f3i8]
    [f4u128, f4u64, f4u32, f4u16, f4u8, f4i128, f4i64, f4i32, f4i16, f4i8]
    [f5u128, f5u64, f5u32, f5u16, f5u8, f5i128, f5i64, f5i32, f5i16, f5i8]
    [f6u128, f6u64, f6u32, f6u16, f6u8, f6i128, f6i64, f6i32, f6i16, f6i8]
    [f7u128, f7u64, f7u32, f7u16, f7u8, f7i128, f7i64, f7i32, f7i16, f7i8]
    [f8u128, f8u64, f8u32, f8u16, f8u8, f8i128, f8i64, f8i32, f8i16, f8i8]
    [f9u128, f9u64, f9u32, f9u16, f9u8, f9i128, f9i64, f9i32, f9i16, f9i8]
}

/// The contents of a message of length `n`: byte `i` is `i mod 256`.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}

fn is_pattern(v: &[u8], n: usize) -> bool {
    v.len() == n && v.iter().enumerate().all(|(i, &byte)| byte == i as u8)
}

/// What an echo benchmark sends: `MsgOf` or `MsgMf`, by value or boxed.
trait Payload: Clone + Send + 'static {
    /// The name in the benchmark id (the original experiment's).
    fn name() -> String;
    fn make(n: usize) -> Self;
    /// The message's buffer.
    fn v(&self) -> &Vec<u8>;
    /// Where the message's own storage is (the buffer, or the box): an echo that moves
    /// the message must get back the very same one.
    fn address(&self) -> usize;
    /// Whether the message is whole: length, every byte, every field.
    fn intact(&self, n: usize) -> bool;
}

impl Payload for MsgOf {
    fn name() -> String {
        "MsgOf".into()
    }
    fn make(n: usize) -> Self {
        MsgOf { v: pattern(n) }
    }
    fn v(&self) -> &Vec<u8> {
        &self.v
    }
    fn address(&self) -> usize {
        self.v.as_ptr() as usize
    }
    fn intact(&self, n: usize) -> bool {
        is_pattern(&self.v, n)
    }
}

impl Payload for MsgMf {
    fn name() -> String {
        "MsgMf".into()
    }
    fn make(n: usize) -> Self {
        MsgMf::with(pattern(n))
    }
    fn v(&self) -> &Vec<u8> {
        &self.v
    }
    fn address(&self) -> usize {
        self.v.as_ptr() as usize
    }
    fn intact(&self, n: usize) -> bool {
        is_pattern(&self.v, n) && self.scalars_intact()
    }
}

impl<M: Payload> Payload for Box<M> {
    fn name() -> String {
        format!("box {}", M::name())
    }
    fn make(n: usize) -> Self {
        Box::new(M::make(n))
    }
    fn v(&self) -> &Vec<u8> {
        (**self).v()
    }
    fn address(&self) -> usize {
        &**self as *const M as usize
    }
    fn intact(&self, n: usize) -> bool {
        (**self).intact(n)
    }
}

// ---------------------------------------------------------------------------------
// echo, echo_clone

/// One echo benchmark: a partner that sends back what it gets (or a clone of it), and
/// the message, at home between runs.
struct EchoMsg<X: Transport, M: Payload> {
    echo: Echo<X, M>,
    msg: Option<M>,
    n: usize,
    clone: bool,
}

impl<X: Transport, M: Payload> EchoMsg<X, M> {
    fn start(n: usize, clone: bool, poll: Poll) -> Self {
        let msg = M::make(n);
        let answer = move |msg: M| if clone { msg.clone() } else { msg };
        EchoMsg {
            echo: Echo::start(Cpus::pair(), 1, poll, answer),
            msg: Some(msg),
            n,
            clone,
        }
    }
}

impl<X: Transport, M: Payload> Rig for EchoMsg<X, M> {
    fn run(&mut self, iters: u64) -> Duration {
        let mut msg = self.msg.take().expect("the message is home between runs");
        let address = msg.address();
        let start = Instant::now();
        for _ in 0..iters {
            let out = if self.clone { msg.clone() } else { msg };
            msg = self.echo.trip(out);
            // Cheap checks on every trip: a moved message comes back where it was, a
            // cloned one as long as it was.
            if self.clone {
                assert_eq!(
                    msg.v().len(),
                    self.n,
                    "{}: a clone came back short",
                    X::NAME
                );
            } else {
                assert_eq!(msg.address(), address, "{}: not the message sent", X::NAME);
            }
        }
        let elapsed = start.elapsed();
        self.msg = Some(msg);
        elapsed
    }

    /// Ends the partner and checks everything: as many echoes as round trips, and the
    /// message whole.
    fn finish(self) {
        self.echo.finish();
        let msg = self.msg.expect("the message is home");
        assert!(
            msg.intact(self.n),
            "{}: the message came back damaged",
            X::NAME
        );
    }
}

/// Runs one echo benchmark on transport `X`.
struct EchoEach<'a, 'c, M> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    n: usize,
    clone: bool,
    poll: Poll,
    msg: PhantomData<M>,
}

impl<M: Payload> ForEach for EchoEach<'_, '_, M> {
    fn run<X: Transport>(&mut self) {
        let (n, clone, poll) = (self.n, self.clone, self.poll);
        let name = if clone {
            format!("clone {}", M::name())
        } else {
            M::name()
        };
        let id = BenchmarkId::new(format!("{name}/{}", X::label(poll)), n);
        bench_rig(self.group, id, || EchoMsg::<X, M>::start(n, clone, poll));
    }
}

fn echo_group(c: &mut Criterion, group_name: &str, clone: bool) {
    let poll = poll();
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(150))
        .measurement_time(Duration::from_millis(600))
        .plot_config(PlotConfiguration::default().summary_scale(criterion::AxisScale::Logarithmic));
    for n in SIZES {
        // Transports innermost, so that each is measured close in time to the others.
        fn each<M: Payload>(
            g: &mut BenchmarkGroup<'_, WallTime>,
            n: usize,
            clone: bool,
            poll: Poll,
        ) {
            for_each(&mut EchoEach::<M> {
                group: g,
                n,
                clone,
                poll,
                msg: PhantomData,
            });
        }
        each::<MsgOf>(&mut group, n, clone, poll);
        each::<Box<MsgOf>>(&mut group, n, clone, poll);
        each::<MsgMf>(&mut group, n, clone, poll);
        each::<Box<MsgMf>>(&mut group, n, clone, poll);
    }
    group.finish();
}

fn echo(c: &mut Criterion) {
    echo_group(c, "echo", false);
}

fn echo_clone(c: &mut Criterion) {
    echo_group(c, "echo_clone", true);
}

// ---------------------------------------------------------------------------------
// one_thread

/// 500 round trips of one `Box<u64>` that the partner increments, on each transport.
struct OneThreadEach<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    poll: Poll,
}

impl ForEach for OneThreadEach<'_, '_> {
    fn run<X: Transport>(&mut self) {
        let poll = self.poll;
        let id = BenchmarkId::new(X::label(poll), 1000);
        bench_rig(self.group, id, || {
            bounce::<X, Box<u64>>(1, ROUND_TRIPS, poll)
        });
    }
}

/// The server side of `one_thread/ringlink_service`: increments what it is sent.
struct Increment;

impl ringlink::service::Service for Increment {
    type Request = u64;
    type Response = u64;

    fn started(&mut self) {
        support::pin(1);
    }

    fn handle(&mut self, mut request: Box<u64>) -> Option<Box<u64>> {
        *request += 1;
        Some(request)
    }
}

/// A ringlink service and one client of it, on the measuring thread: a round trip is a
/// `call`.
struct ServiceLink {
    manager: ringlink::service::ServiceManager,
    client: ringlink::service::Client<u64, u64>,
    calls: u64,
}

impl ServiceLink {
    fn start() -> Self {
        support::cores();
        support::pin(0);
        let mut manager = ringlink::service::ServiceManager::new();
        let handle = manager
            .start("increment", Increment)
            .expect("the service starts");
        let mut client = handle.connect().expect("the client connects");
        // The first call returns once the server thread is pinned and serving.
        let answer = client.call(Box::new(0)).expect("the service answers");
        assert_eq!(*answer, 1);
        ServiceLink {
            manager,
            client,
            calls: 1,
        }
    }
}

impl RoundTrip<Box<u64>> for ServiceLink {
    const NAME: &'static str = "ringlink_service";

    #[inline]
    fn trip(&mut self, request: Box<u64>) -> Box<u64> {
        self.calls += 1;
        self.client.call(request).expect("the service answers")
    }

    fn finish(self) {
        drop(self.client);
        let report = self.manager.shutdown();
        assert!(report.is_clean(), "ringlink_service: {report}");
        assert_eq!(
            report.handled(),
            self.calls,
            "ringlink_service: requests lost"
        );
    }
}

fn one_thread(c: &mut Criterion) {
    let poll = poll();
    let mut group = c.benchmark_group("one_thread");
    // An iteration is 500 round trips: milliseconds for a blocking transport, and far
    // more when other processes compete for the CPUs; flat sampling with 10 samples
    // keeps such a benchmark to about ten iterations.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    for_each(&mut OneThreadEach {
        group: &mut group,
        poll,
    });
    let id = BenchmarkId::new("ringlink_service", 1000);
    bench_rig(&mut group, id, || {
        Bounce::<_, Box<u64>>::new(ServiceLink::start(), ROUND_TRIPS)
    });
    group.finish();
}

// ---------------------------------------------------------------------------------
// throughput

impl Streamed for Box<MsgOf> {
    const NAME: &'static str = "box MsgOf";
    #[inline]
    fn make(seq: u64) -> Self {
        Box::new(MsgOf {
            v: seq.to_le_bytes().to_vec(),
        })
    }
    #[inline]
    fn seq(&self) -> u64 {
        u64::from_le_bytes(self.v[..].try_into().expect("8 bytes"))
    }
}

/// One-way streams of `S` through each transport from `producers` threads: one (the
/// transport's own sender) on every transport, more (each a clone) on those whose
/// senders clone.
struct StreamEach<'a, 'c, S> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    producers: usize,
    poll: Poll,
    streamed: PhantomData<S>,
}

impl<S: Streamed> ForEach for StreamEach<'_, '_, S> {
    fn wants<X: Transport>(&self) -> bool {
        self.producers == 1 || X::MULTI_PRODUCER
    }

    fn run<X: Transport>(&mut self) {
        let (n, poll) = (self.producers, self.poll);
        let id = BenchmarkId::new(format!("{}/{}", S::NAME, X::label(poll)), n);
        if n == 1 {
            bench_rig(self.group, id, || {
                Stream::<X, S>::start(Cpus::pair(), CAPACITY, poll)
            });
        } else {
            bench_rig(self.group, id, || {
                Producers::<X, S>::start(Cpus::pair(), n, CAPACITY, poll)
            });
        }
    }
}

fn throughput(c: &mut Criterion) {
    let poll = poll();
    let mut group = c.benchmark_group("throughput");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for producers in PRODUCERS {
        for_each(&mut StreamEach::<u64> {
            group: &mut group,
            producers,
            poll,
            streamed: PhantomData,
        });
    }
    for_each(&mut StreamEach::<Box<MsgOf>> {
        group: &mut group,
        producers: 1,
        poll,
        streamed: PhantomData,
    });
    group.finish();
}

// ---------------------------------------------------------------------------------
// burst

/// One burst benchmark: bursts of `burst` values, each acknowledged by the partner once
/// it has them all, with a pause between bursts.
struct Burst<X: Transport> {
    tx: X::Tx<u64>,
    acks: X::Rx<u64>,
    burst: u64,
    sent: u64,
    poll: Poll,
    partner: Partner<u64>,
}

impl<X: Transport> Burst<X> {
    fn start(burst: u64, poll: Poll) -> Self {
        let (tx, mut rx) = X::channel::<u64>(CAPACITY);
        let (mut ack_tx, acks) = X::channel::<u64>(1);
        let partner = Partner::start(Cpus::pair(), move || {
            let mut expected = 0;
            loop {
                for _ in 0..burst {
                    match X::recv(&mut rx, poll) {
                        Some(value) => {
                            assert_eq!(value, expected, "{}: value out of order", X::NAME);
                            expected += 1;
                        }
                        None => return expected,
                    }
                }
                X::send(&mut ack_tx, expected, poll);
            }
        });
        Burst {
            tx,
            acks,
            burst,
            sent: 0,
            poll,
            partner,
        }
    }

    /// Waits `PAUSE`: spinning when the partner has a core of its own (this core stays
    /// awake, the partner's wait strategy alone decides whether it sleeps), sleeping
    /// when it needs ours.
    fn pause(&self) {
        if self.poll == Poll::Spin {
            let until = Instant::now() + PAUSE;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(PAUSE);
        }
    }
}

impl<X: Transport> Rig for Burst<X> {
    /// Runs enough bursts for `iters` elements; returns the time of `iters` elements at
    /// the average time per element, pauses not included.
    fn run(&mut self, iters: u64) -> Duration {
        let bursts = iters.div_ceil(self.burst);
        let mut timed = Duration::ZERO;
        for _ in 0..bursts {
            self.pause();
            let start = Instant::now();
            for _ in 0..self.burst {
                X::send(&mut self.tx, self.sent, self.poll);
                self.sent += 1;
            }
            let ack = X::recv(&mut self.acks, self.poll).unwrap_or_else(|| partner_gone());
            timed += start.elapsed();
            assert_eq!(ack, self.sent, "{}: burst not received whole", X::NAME);
        }
        let elements = u128::from(bursts * self.burst);
        Duration::from_nanos((timed.as_nanos() * u128::from(iters) / elements) as u64)
    }

    fn finish(self) {
        drop(self.tx);
        let received = self.partner.join();
        assert_eq!(received, self.sent, "{}: values lost", X::NAME);
    }
}

struct BurstEach<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    burst: u64,
    poll: Poll,
}

impl ForEach for BurstEach<'_, '_> {
    fn run<X: Transport>(&mut self) {
        let (burst, poll) = (self.burst, self.poll);
        let id = BenchmarkId::new(X::label(poll), burst);
        bench_rig(self.group, id, || Burst::<X>::start(burst, poll));
    }
}

/// `recycled_box_u64/<transport>`: see `common/boxes.rs`.
fn recycled(c: &mut Criterion) {
    common::boxes::recycled_group(c);
}

fn burst(c: &mut Criterion) {
    let poll = poll();
    let mut group = c.benchmark_group("burst");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    for burst in [1, 10, 100] {
        for_each(&mut BurstEach {
            group: &mut group,
            burst,
            poll,
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = echo, echo_clone, one_thread, throughput, recycled, burst
}
criterion_main!(benches);
