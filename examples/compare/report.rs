//! From the runs to what is printed: each figure's median, spread and ratio to the
//! baseline, the notes that say which figures to distrust and why, and the table.

use std::fmt::Write as _;

use crate::common::contenders::BASELINE;
use crate::machine::{CpuUsage, Machine, Placement, PLACEMENT_TOLERANCE};
use crate::measure::{median, percentile, Results, ONE_CORE_BUDGET, ONE_CORE_TRIPS};

/// A figure is unreliable when the middle half of its runs spreads this much around
/// their median (interquartile range / median).
const SPREAD_LIMIT: f64 = 0.20;
const SPREAD_LIMIT_P99: f64 = 0.40;

/// One figure of one transport: its runs, their median, and how far they spread.
pub struct Figure {
    pub runs: Vec<f64>,
    pub median: f64,
    pub spread: f64,
    pub reliable: bool,
    /// How many times better than the baseline (> 1 is better).
    pub vs_std: f64,
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

pub struct Row {
    pub name: &'static str,
    pub busy_poll: bool,
    pub echo_p50: Figure,
    pub echo_p99: Figure,
    pub mmsg: Figure,
    pub one_core: Figure,
    pub one_core_trips: usize,
}

pub struct Report {
    pub machine: Machine,
    pub runs: usize,
    pub quick: bool,
    pub clock_ns: f64,
    pub two_cores: bool,
    pub placement: Placement,
    pub two_core_usage: Option<CpuUsage>,
    pub one_core_usage: Option<CpuUsage>,
    pub results: Vec<Results>,
    pub seconds: f64,
}

impl Report {
    pub fn rows(&self) -> Vec<Row> {
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

    pub fn notes(&self, rows: &[Row]) -> Vec<String> {
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

    pub fn table(&self) -> String {
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
}

fn spread_limit(what: &str) -> f64 {
    if what.contains("p99") {
        SPREAD_LIMIT_P99
    } else {
        SPREAD_LIMIT
    }
}

/// A number in a few significant digits.
pub fn short(v: f64) -> String {
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
