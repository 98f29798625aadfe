//! One command, one table: ringlink beside `std::sync::mpsc`, crossbeam-channel and rtrb.
//!
//! ```text
//! cargo run --release --example compare            # 10 to 20 s
//! cargo run --release --example compare -- --quick # fewer runs, 3 to 6 s
//! cargo run --release --example compare -- --json  # the same figures as JSON on stdout
//! ```
//!
//! For each transport (the six of `benches/contenders/mod.rs`):
//!
//! - echo round trip, p50 and p99 in ns: one `u64` in flight between two threads pinned
//!   to two different CPUs, the partner sending back the value plus one; every round
//!   trip is timed (each timing includes one clock read, printed in the header);
//! - throughput in millions of `u64` per second, one way through a channel of capacity
//!   1024;
//! - one-core echo round trip, p50 in ns: the same echo with BOTH threads pinned to one
//!   CPU, busy-poll transports yielding between polls (spinning there costs a scheduler
//!   tick per hop); bounded in time, so slow transports get fewer round trips, not none;
//!
//! each as the median of several runs, and as how many times better than
//! `std::sync::mpsc::sync_channel` it is. The transports take turns run by run
//! (A B C … A B C …) so that the host moving our virtual CPUs around affects them alike;
//! each round of runs is bracketed by a bare atomic ping-pong between the two CPUs, and
//! rounds taken while that ping-pong was unusually fast or slow (the two vCPUs on
//! another kind of placement) are dropped. Figures whose runs still disagree, or taken
//! while other processes used the CPUs, are marked unreliable.
//!
//! Progress goes to stderr; the table (or the JSON) to stdout.

#[path = "../benches/contenders/mod.rs"]
mod contenders;
#[path = "../benches/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use core_affinity::CoreId;
use crossbeam_utils::CachePadded;

use contenders::{for_each, ForEach, Poll, Progress, Transport, BASELINE};

/// Round trips of the echo before the clock starts (or as many as fit in `ECHO_WARM_UP`).
const ECHO_WARM_UP_TRIPS: u64 = 2_000;
const ECHO_WARM_UP: Duration = Duration::from_millis(20);
/// At most this many timed round trips per run, in at most this long.
const ECHO_TRIPS: usize = 20_000;
const ECHO_BUDGET: Duration = Duration::from_millis(120);
/// The one-core echo: fewer round trips, each costing microseconds.
const ONE_CORE_TRIPS: usize = 3_000;
const ONE_CORE_BUDGET: Duration = Duration::from_millis(60);
/// The stream: this many values, or as many as fit in the budget.
const STREAM_VALUES: u64 = 2_000_000;
const STREAM_BUDGET: Duration = Duration::from_millis(100);
const STREAM_WARM_UP: u64 = 20_000;
const CAPACITY: usize = 1024;
/// The bare ping-pong: batches of round trips, the median batch taken.
const PING_PONG_TRIPS: u64 = 4_000;
const PING_PONG_BATCHES: usize = 5;
/// A round is dropped when the ping-pong before or after it is this far from the median.
const PLACEMENT_TOLERANCE: f64 = 0.30;
/// A figure is unreliable when the middle half of its runs spreads this much around
/// their median (interquartile range / median).
const SPREAD_LIMIT: f64 = 0.20;
const SPREAD_LIMIT_P99: f64 = 0.40;
/// The share of the machine other processes may use (or the host may steal) before the
/// figures are called unreliable.
const BUSY_LIMIT: f64 = 0.05;

fn main() {
    let mut json = false;
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!("usage: compare [--quick] [--json]");
                return;
            }
            other => {
                eprintln!("compare: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let runs = if quick { 5 } else { 15 };
    let started = Instant::now();

    let cores = support::cores().to_vec();
    let machine = Machine::look(&cores);
    eprintln!("compare: {}", machine.describe());
    let clock_ns = clock_read_ns();

    let mut results = Vec::new();
    for_each(&mut Register(&mut results));

    // Two threads, two CPUs (or the one there is).
    let (main_core, partner_core) = match cores.len() {
        0 => (None, None),
        1 => (Some(cores[0]), Some(cores[0])),
        _ => (Some(cores[0]), Some(cores[1])),
    };
    let two = cores.len() >= 2;
    let poll = Poll::for_cores(two);
    pin(main_core);
    let usage = CpuUsage::start();
    let mut ping_pongs = Vec::new();
    if two {
        ping_pongs.push(ping_pong(partner_core));
    }
    for round in 0..runs {
        eprintln!("compare: round {}/{runs}: echo, throughput", round + 1);
        for_each(&mut TwoCoreRun {
            results: &mut results,
            partner: partner_core,
            poll,
        });
        if two {
            ping_pongs.push(ping_pong(partner_core));
        }
    }
    let two_core_usage = usage.finish();

    // Both threads on one CPU.
    let usage = CpuUsage::start();
    for round in 0..runs {
        eprintln!("compare: round {}/{runs}: one-core echo", round + 1);
        for_each(&mut OneCoreRun {
            results: &mut results,
            core: main_core,
        });
    }
    let one_core_usage = usage.finish();

    let placement = Placement::judge(&ping_pongs, runs);
    let report = Report {
        machine,
        runs,
        quick,
        clock_ns,
        two_cores: two,
        placement,
        two_core_usage,
        one_core_usage,
        results,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!("compare: done in {:.1} s", report.seconds);
    if json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
}

// ---------------------------------------------------------------------------------
// The measurements

/// What is measured of one transport: one entry per run (round) in each list.
struct Results {
    name: &'static str,
    busy_poll: bool,
    echo_p50: Vec<f64>,
    echo_p99: Vec<f64>,
    mmsg: Vec<f64>,
    one_core_p50: Vec<f64>,
    echo_trips: Vec<usize>,
    one_core_trips: Vec<usize>,
}

struct Register<'a>(&'a mut Vec<Results>);

impl ForEach for Register<'_> {
    fn run<X: Transport>(&mut self) {
        self.0.push(Results {
            name: X::NAME,
            busy_poll: X::BUSY_POLL,
            echo_p50: Vec::new(),
            echo_p99: Vec::new(),
            mmsg: Vec::new(),
            one_core_p50: Vec::new(),
            echo_trips: Vec::new(),
            one_core_trips: Vec::new(),
        });
    }
}

fn entry<'a>(results: &'a mut [Results], name: &str) -> &'a mut Results {
    results
        .iter_mut()
        .find(|r| r.name == name)
        .expect("registered")
}

struct TwoCoreRun<'a> {
    results: &'a mut Vec<Results>,
    partner: Option<CoreId>,
    poll: Poll,
}

impl ForEach for TwoCoreRun<'_> {
    fn run<X: Transport>(&mut self) {
        let trips = echo::<X>(self.partner, self.poll, ECHO_TRIPS, ECHO_BUDGET);
        let mmsg = stream::<X>(self.partner, self.poll);
        let r = entry(self.results, X::NAME);
        r.echo_p50.push(percentile(&trips, 0.50));
        r.echo_p99.push(percentile(&trips, 0.99));
        r.echo_trips.push(trips.len());
        r.mmsg.push(mmsg);
    }
}

struct OneCoreRun<'a> {
    results: &'a mut Vec<Results>,
    core: Option<CoreId>,
}

impl ForEach for OneCoreRun<'_> {
    fn run<X: Transport>(&mut self) {
        // Passed explicitly: whatever the machine has, these two threads share a CPU.
        let trips = echo::<X>(self.core, Poll::Yield, ONE_CORE_TRIPS, ONE_CORE_BUDGET);
        let r = entry(self.results, X::NAME);
        r.one_core_p50.push(percentile(&trips, 0.50));
        r.one_core_trips.push(trips.len());
    }
}

fn pin(core: Option<CoreId>) {
    if let Some(core) = core {
        core_affinity::set_for_current(core);
    }
}

/// Spawns `work` pinned to `core`; both threads pass the returned barrier once the
/// partner is pinned and ready, so that no clock starts while it is still migrating.
fn spawn_partner<R: Send + 'static>(
    core: Option<CoreId>,
    work: impl FnOnce(&Barrier) -> R + Send + 'static,
) -> (JoinHandle<R>, Arc<Barrier>) {
    let barrier = Arc::new(Barrier::new(2));
    let theirs = barrier.clone();
    let handle = std::thread::spawn(move || {
        pin(core);
        work(&theirs)
    });
    (handle, barrier)
}

fn join<R>(partner: JoinHandle<R>) -> R {
    partner.join().expect("the partner thread panicked")
}

/// One echo run: the time of each round trip in ns, as many as fit in `trips` and
/// `budget`. Checks every reply, and the partner's count at the end.
fn echo<X: Transport>(
    partner_core: Option<CoreId>,
    poll: Poll,
    trips: usize,
    budget: Duration,
) -> Vec<f64> {
    let (mut tx, mut partner_rx) = X::channel::<u64>(1);
    let (mut partner_tx, mut rx) = X::channel::<u64>(1);
    let (partner, ready) = spawn_partner(partner_core, move |ready| {
        ready.wait();
        let mut echoed = 0u64;
        while let Some(value) = X::recv(&mut partner_rx, poll) {
            X::send(&mut partner_tx, value + 1, poll);
            echoed += 1;
        }
        echoed
    });
    ready.wait();

    let mut trip = |i: u64| {
        X::send(&mut tx, i, poll);
        let reply = X::recv(&mut rx, poll).expect("the partner answers");
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
    // The closure's borrows end here; dropping the sender ends the partner.
    drop(tx);
    assert_eq!(join(partner), sent, "{}: echoes lost", X::NAME);
    times
}

/// One throughput run: millions of `u64` per second, from the first send until the
/// partner has received the last, after a short warm-up. The partner checks the order.
fn stream<X: Transport>(partner_core: Option<CoreId>, poll: Poll) -> f64 {
    let (mut tx, mut rx) = X::channel::<u64>(CAPACITY);
    let progress = Progress::new();
    let theirs = progress.clone();
    let (partner, ready) = spawn_partner(partner_core, move |ready| {
        let _gone = theirs.guard();
        ready.wait();
        contenders::receive_sequence::<X, u64>(&mut rx, &theirs, poll, |&v| v)
    });
    ready.wait();
    let mut sent = 0u64;
    while sent < STREAM_WARM_UP {
        X::send(&mut tx, sent, poll);
        sent += 1;
    }
    progress.wait_for(sent, poll);
    let first = sent;
    let start = Instant::now();
    let until = start + STREAM_BUDGET;
    while sent - first < STREAM_VALUES {
        for _ in 0..CAPACITY {
            X::send(&mut tx, sent, poll);
            sent += 1;
        }
        if Instant::now() > until {
            break;
        }
    }
    progress.wait_for(sent, poll);
    let elapsed = start.elapsed();
    drop(tx);
    assert_eq!(join(partner), sent, "{}: values lost", X::NAME);
    (sent - first) as f64 / elapsed.as_secs_f64() / 1e6
}

/// The round trip of a bare atomic between the two CPUs, in ns: no queue at all, only
/// the cache line travelling. It shows how the host placed our two vCPUs just now.
fn ping_pong(partner_core: Option<CoreId>) -> f64 {
    const STOP: u64 = u64::MAX;
    let ball = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let theirs = ball.clone();
    let (partner, ready) = spawn_partner(partner_core, move |ready| {
        ready.wait();
        loop {
            let seen = theirs.load(Ordering::Acquire);
            if seen == STOP {
                return;
            }
            if seen % 2 == 1 {
                theirs.store(seen + 1, Ordering::Release);
            } else {
                std::hint::spin_loop();
            }
        }
    });
    ready.wait();
    let mut next = 1u64;
    let mut batches = Vec::new();
    for batch in 0..=PING_PONG_BATCHES {
        let start = Instant::now();
        for _ in 0..PING_PONG_TRIPS {
            ball.store(next, Ordering::Release);
            while ball.load(Ordering::Acquire) != next + 1 {
                std::hint::spin_loop();
            }
            next += 2;
        }
        // The first batch warms up.
        if batch > 0 {
            batches.push(start.elapsed().as_nanos() as f64 / PING_PONG_TRIPS as f64);
        }
    }
    ball.store(STOP, Ordering::Release);
    join(partner);
    median(&batches)
}

/// What one `Instant::now()` costs, in ns: the fastest of a few batches, so that a
/// preemption during one batch does not count.
fn clock_read_ns() -> f64 {
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

// ---------------------------------------------------------------------------------
// The machine, and who else used it

struct Machine {
    cpus: Vec<usize>,
    model: Option<String>,
    virtualised: bool,
    parallelism: usize,
}

impl Machine {
    fn look(cores: &[CoreId]) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|model| model.split_whitespace().collect::<Vec<_>>().join(" "));
        let virtualised = cpuinfo.lines().any(|line| {
            line.starts_with("flags") && line.split_whitespace().any(|f| f == "hypervisor")
        });
        Machine {
            cpus: cores.iter().map(|core| core.id).collect(),
            model,
            virtualised,
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "{} usable CPU{} ({}{})",
            self.cpus.len(),
            if self.cpus.len() == 1 { "" } else { "s" },
            self.model.as_deref().unwrap_or("unknown model"),
            if self.virtualised {
                ", virtualised"
            } else {
                ""
            },
        );
        match self.cpus.len() {
            0 => text.push_str("; pinning unavailable, threads not pinned"),
            1 => write!(
                text,
                "; ONE CPU: every figure has both threads on CPU {}",
                self.cpus[0]
            )
            .unwrap(),
            _ => write!(
                text,
                "; threads pinned to CPUs {} and {}, one-core figures both on CPU {}",
                self.cpus[0], self.cpus[1], self.cpus[0]
            )
            .unwrap(),
        }
        text
    }
}

/// CPU time used while we measured, from `/proc` (Linux; elsewhere nothing is known).
#[derive(Clone, Copy)]
struct CpuUsage {
    /// The share of the machine's CPU time that other processes used.
    others: f64,
    /// The share that the hypervisor gave to someone else (steal).
    steal: f64,
}

struct CpuUsageStart {
    at: Option<(ProcStat, u64)>,
}

#[derive(Clone, Copy)]
struct ProcStat {
    busy: u64,
    steal: u64,
    total: u64,
}

impl CpuUsage {
    fn start() -> CpuUsageStart {
        CpuUsageStart {
            at: proc_stat().zip(own_ticks()),
        }
    }

    fn unreliable(&self) -> bool {
        self.others > BUSY_LIMIT || self.steal > BUSY_LIMIT
    }
}

impl CpuUsageStart {
    fn finish(self) -> Option<CpuUsage> {
        let (before, own_before) = self.at?;
        let (after, own_after) = proc_stat().zip(own_ticks())?;
        let total = after.total.checked_sub(before.total)?.max(1) as f64;
        let busy = after.busy.saturating_sub(before.busy);
        let own = own_after.saturating_sub(own_before);
        Some(CpuUsage {
            others: busy.saturating_sub(own) as f64 / total,
            steal: after.steal.saturating_sub(before.steal) as f64 / total,
        })
    }
}

/// The machine's CPU time so far, in ticks: busy (steal excluded), steal, and all.
fn proc_stat() -> Option<ProcStat> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user already)
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    let steal = field(7);
    Some(ProcStat {
        busy,
        steal,
        total: busy + steal + field(3) + field(4),
    })
}

/// Our own CPU time so far, in ticks (user + system).
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest`.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Which rounds ran while the two vCPUs were placed as usual.
struct Placement {
    /// The ping-pong before the first round and after each, in ns.
    ping_pongs: Vec<f64>,
    median: f64,
    /// Whether each round is kept.
    kept: Vec<bool>,
    /// Set when too few rounds were usual to drop the others: all are kept.
    unsettled: bool,
}

impl Placement {
    fn judge(ping_pongs: &[f64], runs: usize) -> Placement {
        if ping_pongs.len() != runs + 1 {
            // One CPU: there is no placement to judge.
            return Placement {
                ping_pongs: Vec::new(),
                median: f64::NAN,
                kept: vec![true; runs],
                unsettled: false,
            };
        }
        let mid = median(ping_pongs);
        let usual = |ns: f64| ((ns - mid) / mid).abs() <= PLACEMENT_TOLERANCE;
        let kept: Vec<bool> = (0..runs)
            .map(|r| usual(ping_pongs[r]) && usual(ping_pongs[r + 1]))
            .collect();
        let enough = kept.iter().filter(|&&k| k).count() * 2 >= runs;
        Placement {
            ping_pongs: ping_pongs.to_vec(),
            median: mid,
            kept: if enough { kept } else { vec![true; runs] },
            unsettled: !enough,
        }
    }

    fn dropped(&self) -> usize {
        self.kept.iter().filter(|&&k| !k).count()
    }
}

// ---------------------------------------------------------------------------------
// Statistics and the report

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

/// One figure of one transport: its runs, their median, and how far they spread.
struct Figure {
    runs: Vec<f64>,
    median: f64,
    spread: f64,
    reliable: bool,
    /// How many times better than the baseline (> 1 is better).
    vs_std: f64,
}

impl Figure {
    /// `kept`: which runs count (the others ran on an unusual placement); `context`:
    /// whether the conditions of the whole section were sound.
    fn new(all: &[f64], kept: &[bool], limit: f64, context_ok: bool) -> Figure {
        let runs: Vec<f64> = all
            .iter()
            .zip(kept.iter().chain(std::iter::repeat(&true)))
            .filter(|(_, &k)| k)
            .map(|(&v, _)| v)
            .collect();
        let mid = median(&runs);
        // The interquartile range: one odd run does not make a figure unreliable.
        let spread = (percentile(&runs, 0.75) - percentile(&runs, 0.25)) / mid;
        Figure {
            reliable: context_ok && runs.len() >= 3 && spread <= limit,
            runs,
            median: mid,
            spread,
            vs_std: f64::NAN,
        }
    }
}

struct Row {
    name: &'static str,
    busy_poll: bool,
    echo_p50: Figure,
    echo_p99: Figure,
    mmsg: Figure,
    one_core: Figure,
    one_core_trips: usize,
}

struct Report {
    machine: Machine,
    runs: usize,
    quick: bool,
    clock_ns: f64,
    two_cores: bool,
    placement: Placement,
    two_core_usage: Option<CpuUsage>,
    one_core_usage: Option<CpuUsage>,
    results: Vec<Results>,
    seconds: f64,
}

impl Report {
    fn rows(&self) -> Vec<Row> {
        let kept = &self.placement.kept;
        let two_ok =
            !self.placement.unsettled && !self.two_core_usage.is_some_and(|u| u.unreliable());
        let one_ok = !self.one_core_usage.is_some_and(|u| u.unreliable());
        let all_runs = vec![true; self.runs];
        let mut rows: Vec<Row> = self
            .results
            .iter()
            .map(|r| Row {
                name: r.name,
                busy_poll: r.busy_poll,
                echo_p50: Figure::new(&r.echo_p50, kept, SPREAD_LIMIT, two_ok),
                echo_p99: Figure::new(&r.echo_p99, kept, SPREAD_LIMIT_P99, two_ok),
                mmsg: Figure::new(&r.mmsg, kept, SPREAD_LIMIT, two_ok),
                one_core: Figure::new(&r.one_core_p50, &all_runs, SPREAD_LIMIT, one_ok),
                one_core_trips: r.one_core_trips.iter().copied().min().unwrap_or(0),
            })
            .collect();
        let base = rows
            .iter()
            .position(|r| r.name == BASELINE)
            .expect("baseline");
        let (b50, b99, bm, b1) = (
            rows[base].echo_p50.median,
            rows[base].echo_p99.median,
            rows[base].mmsg.median,
            rows[base].one_core.median,
        );
        for row in &mut rows {
            row.echo_p50.vs_std = b50 / row.echo_p50.median;
            row.echo_p99.vs_std = b99 / row.echo_p99.median;
            row.mmsg.vs_std = row.mmsg.median / bm;
            row.one_core.vs_std = b1 / row.one_core.median;
        }
        rows
    }

    fn notes(&self, rows: &[Row]) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.two_cores {
            notes.push(
                "only one usable CPU: the two-thread figures were taken with both threads on \
                 it, busy-poll transports yielding; they equal one-core figures"
                    .to_owned(),
            );
        }
        let p = &self.placement;
        if p.unsettled {
            notes.push(format!(
                "the bare ping-pong kept changing (from {:.0} to {:.0} ns): the host moved our \
                 vCPUs during most rounds; two-core figures are unreliable",
                p.ping_pongs.iter().copied().fold(f64::INFINITY, f64::min),
                p.ping_pongs.iter().copied().fold(0.0, f64::max),
            ));
        } else if p.dropped() > 0 {
            notes.push(format!(
                "{} of {} rounds dropped: the bare ping-pong around them was more than {:.0}% \
                 away from its median {:.0} ns (the host placed our vCPUs differently)",
                p.dropped(),
                self.runs,
                PLACEMENT_TOLERANCE * 100.0,
                p.median
            ));
        }
        for (what, usage) in [
            ("two-core", self.two_core_usage),
            ("one-core", self.one_core_usage),
        ] {
            if let Some(u) = usage.filter(CpuUsage::unreliable) {
                notes.push(format!(
                    "other processes used {:.0}% and the hypervisor stole {:.0}% of the CPU \
                     time during the {what} runs: those figures are unreliable (run on a quiet \
                     machine)",
                    u.others * 100.0,
                    u.steal * 100.0
                ));
            }
        }
        for row in rows {
            for (what, figure) in [
                ("echo p50", &row.echo_p50),
                ("echo p99", &row.echo_p99),
                ("throughput", &row.mmsg),
                ("one-core echo", &row.one_core),
            ] {
                if figure.runs.len() >= 3 && figure.spread > spread_limit(what) {
                    notes.push(format!(
                        "{} {what}: the middle half of the runs spreads {:.0}% around their median (runs: {}): unreliable",
                        row.name,
                        figure.spread * 100.0,
                        figure
                            .runs
                            .iter()
                            .map(|v| short(*v))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ));
                }
            }
            if row.one_core_trips < ONE_CORE_TRIPS {
                notes.push(format!(
                    "{} one-core echo: bounded to {:.0} ms per run, so as few as {} round trips",
                    row.name,
                    ONE_CORE_BUDGET.as_secs_f64() * 1e3,
                    row.one_core_trips
                ));
            }
        }
        notes
    }

    fn table(&self) -> String {
        let rows = self.rows();
        let mut out = String::new();
        let o = &mut out;
        writeln!(o, "ringlink compare: {}", self.machine.describe()).unwrap();
        writeln!(
            o,
            "{} runs per figure{}, medians; transports take turns run by run; echo times \
             include one clock read ({:.0} ns)",
            self.runs,
            if self.quick { " (--quick)" } else { "" },
            self.clock_ns
        )
        .unwrap();
        if self.two_cores {
            writeln!(
                o,
                "bare atomic ping-pong between the two CPUs: {:.0} ns (a round trip of one \
                 cache line, the floor for any transport)",
                self.placement.median
            )
            .unwrap();
        }
        for (what, usage) in [
            ("two-core", self.two_core_usage),
            ("one-core", self.one_core_usage),
        ] {
            if let Some(u) = usage {
                writeln!(
                    o,
                    "during the {what} runs other processes used {:.1}% of the CPU time, steal {:.1}%",
                    u.others * 100.0,
                    u.steal * 100.0
                )
                .unwrap();
            }
        }
        writeln!(o).unwrap();
        writeln!(
            o,
            "{:<18} {:>27}  {:>16}  {:>16}",
            "",
            if self.two_cores {
                "echo round trip, 2 CPUs"
            } else {
                "echo round trip"
            },
            "throughput",
            "echo, 1 CPU"
        )
        .unwrap();
        writeln!(
            o,
            "{:<18} {:>8} {:>6} {:>8} {:>6}  {:>8} {:>7}  {:>8} {:>7}",
            "transport",
            "p50 ns",
            "vs std",
            "p99 ns",
            "vs std",
            "Mmsg/s",
            "vs std",
            "p50 ns",
            "vs std"
        )
        .unwrap();
        for row in &rows {
            writeln!(
                o,
                "{:<18} {} {} {} {}  {} {}  {} {}",
                row.name,
                cell(&row.echo_p50, 8),
                ratio(&row.echo_p50, 6),
                cell(&row.echo_p99, 8),
                ratio(&row.echo_p99, 6),
                cell(&row.mmsg, 8),
                ratio(&row.mmsg, 7),
                cell(&row.one_core, 8),
                ratio(&row.one_core, 7),
            )
            .unwrap();
        }
        writeln!(o).unwrap();
        let busy: Vec<&str> = rows
            .iter()
            .filter(|r| r.busy_poll)
            .map(|r| r.name)
            .collect();
        writeln!(
            o,
            "vs std: how many times better than {BASELINE} (std::sync::mpsc::sync_channel); > 1 is better."
        )
        .unwrap();
        writeln!(
            o,
            "{} busy-poll: {} between polls on two CPUs, yield on one; the others block \
             (ringlink_mpsc with its default adaptive wait).",
            busy.join(" and "),
            if self.two_cores { "spin" } else { "yield" }
        )
        .unwrap();
        writeln!(
            o,
            "echo: one u64 in flight, bound 1; throughput: u64 one way, capacity 1024 \
             (std_channel is unbounded)."
        )
        .unwrap();
        let notes = self.notes(&rows);
        if rows.iter().any(|r| {
            [&r.echo_p50, &r.echo_p99, &r.mmsg, &r.one_core]
                .iter()
                .any(|f| !f.reliable)
        }) {
            writeln!(o, "~ marks an unreliable figure (see the notes).").unwrap();
        }
        if !notes.is_empty() {
            writeln!(o, "notes:").unwrap();
            for note in notes {
                writeln!(o, "- {note}").unwrap();
            }
        }
        out
    }

    fn json(&self) -> String {
        let rows = self.rows();
        let mut o = String::new();
        o.push('{');
        let m = &self.machine;
        write!(
            o,
            "\"machine\":{{\"usable_cpus\":{},\"cpu_ids\":[{}],\"model\":{},\"virtualised\":{},\
             \"available_parallelism\":{},\"description\":{}}},",
            m.cpus.len(),
            m.cpus
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
            m.model.as_deref().map_or("null".to_owned(), json_str),
            m.virtualised,
            m.parallelism,
            json_str(&m.describe()),
        )
        .unwrap();
        write!(
            o,
            "\"runs\":{},\"quick\":{},\"seconds\":{},\"clock_read_ns\":{},\"baseline\":{},",
            self.runs,
            self.quick,
            num(self.seconds),
            num(self.clock_ns),
            json_str(BASELINE)
        )
        .unwrap();
        let p = &self.placement;
        write!(
            o,
            "\"placement\":{{\"ping_pong_ns\":[{}],\"median_ns\":{},\"kept_rounds\":[{}],\
             \"unsettled\":{}}},",
            p.ping_pongs
                .iter()
                .map(|&v| num(v))
                .collect::<Vec<_>>()
                .join(","),
            num(p.median),
            p.kept
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(","),
            p.unsettled
        )
        .unwrap();
        for (key, usage) in [
            ("two_core_cpu_usage", self.two_core_usage),
            ("one_core_cpu_usage", self.one_core_usage),
        ] {
            match usage {
                Some(u) => write!(
                    o,
                    "\"{key}\":{{\"others\":{},\"steal\":{}}},",
                    num(u.others),
                    num(u.steal)
                ),
                None => write!(o, "\"{key}\":null,"),
            }
            .unwrap();
        }
        o.push_str("\"transports\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            write!(
                o,
                "{{\"name\":{},\"busy_poll\":{},\"echo_p50_ns\":{},\"echo_p99_ns\":{},\
                 \"throughput_mmsg_s\":{},\"one_core_echo_p50_ns\":{}}}",
                json_str(row.name),
                row.busy_poll,
                figure_json(&row.echo_p50),
                figure_json(&row.echo_p99),
                figure_json(&row.mmsg),
                figure_json(&row.one_core),
            )
            .unwrap();
        }
        o.push_str("],\"notes\":[");
        let notes = self.notes(&rows);
        o.push_str(
            &notes
                .iter()
                .map(|n| json_str(n))
                .collect::<Vec<_>>()
                .join(","),
        );
        o.push_str("]}");
        o
    }
}

fn spread_limit(what: &str) -> f64 {
    if what.contains("p99") {
        SPREAD_LIMIT_P99
    } else {
        SPREAD_LIMIT
    }
}

/// A number in a few significant digits.
fn short(v: f64) -> String {
    if !v.is_finite() {
        "-".to_owned()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(f: &Figure, width: usize) -> String {
    let mark = if f.reliable { "" } else { "~" };
    format!("{:>width$}", format!("{mark}{}", short(f.median)))
}

fn ratio(f: &Figure, width: usize) -> String {
    format!("{:>width$}", format!("{}x", short(f.vs_std)))
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".to_owned()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn figure_json(f: &Figure) -> String {
    format!(
        "{{\"median\":{},\"vs_std\":{},\"spread\":{},\"reliable\":{},\"runs\":[{}]}}",
        num(f.median),
        num(f.vs_std),
        num(f.spread),
        f.reliable,
        f.runs.iter().map(|&v| num(v)).collect::<Vec<_>>().join(",")
    )
}
