//! The machine: which CPUs we run on and what they are, how the host placed our two
//! vCPUs just now (the bare ping-pong), and who else used the CPUs while we measured.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use core_affinity::CoreId;
use crossbeam_utils::CachePadded;

use crate::common::support::{Cpus, Partner};
use crate::measure::median;

/// The bare ping-pong: batches of round trips, the median batch taken.
const PING_PONG_TRIPS: u64 = 4_000;
const PING_PONG_BATCHES: usize = 5;
/// A round is dropped when the ping-pong before or after it is this far from the median.
pub const PLACEMENT_TOLERANCE: f64 = 0.30;
/// The share of the machine other processes may use (or the host may steal) before the
/// figures are called unreliable.
const BUSY_LIMIT: f64 = 0.05;

pub struct Machine {
    pub cpus: Vec<usize>,
    pub model: Option<String>,
    pub virtualised: bool,
    pub parallelism: usize,
}

impl Machine {
    pub fn look(cores: &[CoreId]) -> Machine {
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

    pub fn describe(&self) -> String {
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

// ---------------------------------------------------------------------------------
// Who else used the CPUs

/// CPU time used while we measured, from `/proc` (Linux; elsewhere nothing is known).
#[derive(Clone, Copy)]
pub struct CpuUsage {
    /// The share of the machine's CPU time that other processes used.
    pub others: f64,
    /// The share that the hypervisor gave to someone else (steal).
    pub steal: f64,
}

pub struct CpuUsageStart {
    at: Option<(ProcStat, u64)>,
}

#[derive(Clone, Copy)]
struct ProcStat {
    busy: u64,
    steal: u64,
    total: u64,
}

impl CpuUsage {
    pub fn start() -> CpuUsageStart {
        CpuUsageStart {
            at: proc_stat().zip(own_ticks()),
        }
    }

    pub fn unreliable(&self) -> bool {
        self.others > BUSY_LIMIT || self.steal > BUSY_LIMIT
    }
}

impl CpuUsageStart {
    pub fn finish(self) -> Option<CpuUsage> {
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

// ---------------------------------------------------------------------------------
// The placement of our two vCPUs

/// The round trip of a bare atomic between the two CPUs, in ns: no queue at all, only
/// the cache line travelling. It shows how the host placed our two vCPUs just now.
pub fn ping_pong(cpus: Cpus) -> f64 {
    const STOP: u64 = u64::MAX;
    let ball = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let theirs = ball.clone();
    let partner = Partner::start(cpus, move || loop {
        let seen = theirs.load(Ordering::Acquire);
        if seen == STOP {
            return;
        }
        if seen % 2 == 1 {
            theirs.store(seen + 1, Ordering::Release);
        } else {
            std::hint::spin_loop();
        }
    });
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
    partner.join();
    median(&batches)
}

/// Which rounds ran while the two vCPUs were placed as usual.
pub struct Placement {
    /// The ping-pong before the first round and after each, in ns.
    pub ping_pongs: Vec<f64>,
    pub median: f64,
    /// Whether each round is kept.
    pub kept: Vec<bool>,
    /// Set when too few rounds were usual to drop the others: all are kept.
    pub unsettled: bool,
}

impl Placement {
    pub fn judge(ping_pongs: &[f64], runs: usize) -> Placement {
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

    pub fn dropped(&self) -> usize {
        self.kept.iter().filter(|&&k| !k).count()
    }
}
