//! From the runs to what is printed: each figure's median, spread and ratio to the
//! baseline, the notes that say which figures to distrust and why, and the table.

use std::fmt::Write as _;

use crate::common::contenders::{is_ours, BASELINE, RAW_RING};
use crate::machine::{CpuUsage, Machine, Placement, PLACEMENT_TOLERANCE};
use crate::measure::{
    median, percentile, BoxResults, Results, ONE_CORE_BUDGET, ONE_CORE_TRIPS, PRODUCER_COUNTS,
};

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
    /// How many times better than the best peer (not ringlink) with the same figure, in
    /// the many-producer table (> 1 is better); NaN elsewhere.
    pub vs_best_peer: f64,
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
            vs_best_peer: f64::NAN,
        }
    }
}

/// Whether a smaller or a larger figure is better.
#[derive(Clone, Copy)]
enum Better {
    Lower,
    Higher,
}

/// Sets `vs_best_peer` of the figure `pick` chooses in each of `rows`: against the best
/// median among the rows that are not ringlink's.
fn against_best_peer(rows: &mut [Row], better: Better, pick: impl Fn(&mut Row) -> &mut Figure) {
    let mut best = f64::NAN;
    for row in rows.iter_mut() {
        if is_ours(row.name) {
            continue;
        }
        let m = pick(row).median;
        best = match better {
            Better::Lower => best.min(m),
            Better::Higher => best.max(m),
        };
    }
    for row in rows.iter_mut() {
        let figure = pick(row);
        figure.vs_best_peer = match better {
            Better::Lower => best / figure.median,
            Better::Higher => figure.median / best,
        };
    }
}

/// One of ringlink's channels beside the raw ring and its peers, one sender, never
/// cloned, from the main table's figures.
pub struct PeerRatios {
    pub name: &'static str,
    /// Its echo p50 divided by the raw ring's (< 1.1 is within 10%).
    pub echo_p50_vs_raw_ring: f64,
    /// How many times the u64 stream of each peer that blocks and is bounded alike.
    pub stream_vs: Vec<(&'static str, f64)>,
}

pub struct Row {
    pub name: &'static str,
    pub busy_poll: bool,
    pub bounded: bool,
    pub multi_producer: bool,
    pub echo_p50: Figure,
    pub echo_p99: Figure,
    pub mmsg: Figure,
    pub one_core: Figure,
    pub one_core_trips: usize,
    pub cloned_echo_p50: Figure,
    pub cloned_echo_p99: Figure,
    /// One figure per count of `PRODUCER_COUNTS`.
    pub producers: Vec<Figure>,
}

impl Row {
    /// The figures, each with what it is called in the notes.
    fn figures(&self) -> Vec<(String, &Figure)> {
        let mut all = vec![
            ("echo p50".to_owned(), &self.echo_p50),
            ("echo p99".to_owned(), &self.echo_p99),
            ("throughput".to_owned(), &self.mmsg),
            ("one-core echo".to_owned(), &self.one_core),
        ];
        if self.multi_producer {
            all.push(("cloned echo p50".to_owned(), &self.cloned_echo_p50));
            all.push(("cloned echo p99".to_owned(), &self.cloned_echo_p99));
            for (n, figure) in PRODUCER_COUNTS.iter().zip(&self.producers) {
                all.push((format!("{n} producers"), figure));
            }
        }
        all
    }
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
    pub box_results: Vec<BoxResults>,
    pub seconds: f64,
}

/// One box transport in the recycled stream.
pub struct BoxRow {
    pub name: &'static str,
    pub recycles: bool,
    /// Millions of `Box<u64>` per second; `vs_std` against std's `sync_channel`,
    /// `vs_best_peer` against the best transport that is not ringlink's.
    pub mmsg: Figure,
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
                bounded: r.bounded,
                multi_producer: r.multi_producer,
                echo_p50: Figure::new(&r.echo_p50, kept, SPREAD_LIMIT, two_ok),
                echo_p99: Figure::new(&r.echo_p99, kept, SPREAD_LIMIT_P99, two_ok),
                mmsg: Figure::new(&r.mmsg, kept, SPREAD_LIMIT, two_ok),
                one_core: Figure::new(&r.one_core_p50, &all_runs, SPREAD_LIMIT, one_ok),
                one_core_trips: r.one_core_trips.iter().copied().min().unwrap_or(0),
                cloned_echo_p50: Figure::new(&r.cloned_echo_p50, kept, SPREAD_LIMIT, two_ok),
                cloned_echo_p99: Figure::new(&r.cloned_echo_p99, kept, SPREAD_LIMIT_P99, two_ok),
                producers: r
                    .producers_mmsg
                    .iter()
                    .map(|runs| Figure::new(runs, kept, SPREAD_LIMIT, two_ok))
                    .collect(),
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
        let mut many: Vec<Row> = Vec::new();
        let mut rest: Vec<Row> = Vec::new();
        for row in rows {
            if row.multi_producer {
                many.push(row);
            } else {
                rest.push(row);
            }
        }
        against_best_peer(&mut many, Better::Lower, |r| &mut r.cloned_echo_p50);
        against_best_peer(&mut many, Better::Lower, |r| &mut r.cloned_echo_p99);
        for i in 0..PRODUCER_COUNTS.len() {
            against_best_peer(&mut many, Better::Higher, |r| &mut r.producers[i]);
        }
        // Back in the order of the list.
        let order: Vec<&str> = self.results.iter().map(|r| r.name).collect();
        let mut rows: Vec<Row> = many.into_iter().chain(rest).collect();
        rows.sort_by_key(|r| order.iter().position(|&name| name == r.name));
        rows
    }

    /// The recycled `Box<u64>` stream, each figure beside std's and the best peer's.
    pub fn box_rows(&self) -> Vec<BoxRow> {
        let kept = &self.placement.kept;
        let two_ok =
            !self.placement.unsettled && !self.two_core_usage.is_some_and(|u| u.unreliable());
        let mut rows: Vec<BoxRow> = self
            .box_results
            .iter()
            .map(|r| BoxRow {
                name: r.name,
                recycles: r.recycles,
                mmsg: Figure::new(&r.mmsg, kept, SPREAD_LIMIT, two_ok),
            })
            .collect();
        let std = rows
            .iter()
            .find(|r| r.name == BASELINE)
            .map_or(f64::NAN, |r| r.mmsg.median);
        let best_peer = rows
            .iter()
            .filter(|r| !is_ours(r.name))
            .map(|r| r.mmsg.median)
            .fold(f64::NAN, f64::max);
        for row in &mut rows {
            row.mmsg.vs_std = row.mmsg.median / std;
            row.mmsg.vs_best_peer = row.mmsg.median / best_peer;
        }
        rows
    }

    /// ringlink's channels (one sender) beside the raw ring's echo and the u64 stream of
    /// each peer that blocks and is bounded alike (std, crossbeam, kanal).
    pub fn peer_ratios(&self, rows: &[Row]) -> Vec<PeerRatios> {
        let ring = rows.iter().find(|r| r.name == RAW_RING);
        rows.iter()
            .filter(|r| is_ours(r.name) && !r.busy_poll)
            .map(|ours| PeerRatios {
                name: ours.name,
                echo_p50_vs_raw_ring: ring
                    .map_or(f64::NAN, |ring| ours.echo_p50.median / ring.echo_p50.median),
                stream_vs: rows
                    .iter()
                    .filter(|p| !is_ours(p.name) && !p.busy_poll && p.bounded == ours.bounded)
                    .map(|p| (p.name, ours.mmsg.median / p.mmsg.median))
                    .collect(),
            })
            .collect()
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
        for row in self.box_rows() {
            let figure = &row.mmsg;
            if figure.runs.len() >= 3 && figure.spread > SPREAD_LIMIT {
                notes.push(format!(
                    "{} Box<u64> stream: the middle half of the runs spreads {:.0}% around their median (runs: {}): unreliable",
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
        for row in rows {
            for (what, figure) in row.figures() {
                if figure.runs.len() >= 3 && figure.spread > spread_limit(&what) {
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
            "{:<20} {:>27}  {:>16}  {:>16}",
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
            "{:<20} {:>8} {:>6} {:>8} {:>6}  {:>8} {:>7}  {:>8} {:>7}",
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
                "{:<20} {} {} {} {}  {} {}  {} {}",
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
            "{} busy-poll: {}; the others block (ringlink's channels with their default \
             adaptive wait).",
            busy.join(" and "),
            if self.two_cores {
                "spin between polls on two CPUs, yield on one"
            } else {
                "yield between polls (one CPU)"
            }
        )
        .unwrap();
        writeln!(
            o,
            "echo: one u64 in flight, bound 1; throughput: u64 one way, capacity 1024 \
             ({} unbounded); one sender, never cloned.",
            rows.iter()
                .filter(|r| !r.bounded)
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
        .unwrap();
        self.peer_lines(o, &rows);
        self.producers_table(o, &rows);
        let box_rows = self.box_rows();
        self.box_table(o, &box_rows);
        let notes = self.notes(&rows);
        if rows
            .iter()
            .any(|r| r.figures().iter().any(|(_, f)| !f.reliable))
            || box_rows.iter().any(|r| !r.mmsg.reliable)
        {
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

impl Report {
    /// ringlink's channels beside the raw ring and their peers, from the table above.
    fn peer_lines(&self, o: &mut String, rows: &[Row]) {
        let ratios = self.peer_ratios(rows);
        if ratios.is_empty() {
            return;
        }
        writeln!(o).unwrap();
        writeln!(
            o,
            "ringlink's channels, one sender (from the table above): echo p50 / {RAW_RING}'s \
             (1.00x = as fast, < 1 faster); u64 stream x each peer's (> 1 is better)"
        )
        .unwrap();
        for r in ratios {
            writeln!(
                o,
                "  {:<20} echo {}   stream {}",
                r.name,
                format_args!("{}x", short(r.echo_p50_vs_raw_ring)),
                r.stream_vs
                    .iter()
                    .map(|(peer, x)| format!("{}x {peer}", short(*x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .unwrap();
        }
    }

    /// The many-producer streams and the echo through cloned senders.
    fn producers_table(&self, o: &mut String, rows: &[Row]) {
        let many: Vec<&Row> = rows.iter().filter(|r| r.multi_producer).collect();
        if many.is_empty() {
            return;
        }
        writeln!(o).unwrap();
        let cpus = &self.machine.cpus;
        writeln!(
            o,
            "N producers -> 1 receiver, u64 stream, each producer with a clone of the sender \
             ({}); and echo through cloned senders",
            if self.two_cores {
                format!(
                    "producers all on CPU {}, receiver on CPU {}",
                    cpus[0], cpus[1]
                )
            } else {
                "all threads on one CPU".to_owned()
            }
        )
        .unwrap();
        let mut head = format!("{:<20}", "");
        let mut units = format!("{:<20}", "transport");
        for n in PRODUCER_COUNTS {
            write!(head, " {:>17}", format!("{n} producers")).unwrap();
            write!(units, " {:>8} {:>8}", "Mmsg/s", "vs peer").unwrap();
        }
        write!(head, "  {:>33}", "echo, cloned senders").unwrap();
        write!(
            units,
            "  {:>8} {:>7} {:>8} {:>7}",
            "p50 ns", "vs peer", "p99 ns", "vs peer"
        )
        .unwrap();
        writeln!(o, "{head}").unwrap();
        writeln!(o, "{units}").unwrap();
        for row in many {
            let mut line = format!("{:<20}", row.name);
            for figure in &row.producers {
                write!(line, " {} {}", cell(figure, 8), peer_ratio(figure, 8)).unwrap();
            }
            write!(
                line,
                "  {} {} {} {}",
                cell(&row.cloned_echo_p50, 8),
                peer_ratio(&row.cloned_echo_p50, 7),
                cell(&row.cloned_echo_p99, 8),
                peer_ratio(&row.cloned_echo_p99, 7),
            )
            .unwrap();
            writeln!(o, "{line}").unwrap();
        }
        writeln!(
            o,
            "vs peer: how many times better than the best of the others (not ringlink) in \
             this run; > 1 is better. Bound 1024 where bounded; the echo's bound is 1."
        )
        .unwrap();
    }
}

impl Report {
    /// The recycled `Box<u64>` stream.
    fn box_table(&self, o: &mut String, rows: &[BoxRow]) {
        if rows.is_empty() {
            return;
        }
        writeln!(o).unwrap();
        writeln!(
            o,
            "Box<u64> stream, a new value written into each box, capacity 1024{}",
            if self.two_cores {
                ""
            } else {
                " (both threads on one CPU)"
            }
        )
        .unwrap();
        writeln!(
            o,
            "{:<20} {:<28} {:>8} {:>7} {:>7}",
            "transport", "boxes", "Mmsg/s", "vs std", "vs peer"
        )
        .unwrap();
        for row in rows {
            writeln!(
                o,
                "{:<20} {:<28} {} {} {}",
                row.name,
                if row.recycles {
                    "recycled (handed back)"
                } else {
                    "a Box::new per message"
                },
                cell(&row.mmsg, 8),
                ratio(&row.mmsg, 7),
                peer_ratio(&row.mmsg, 7),
            )
            .unwrap();
        }
        writeln!(
            o,
            "vs std: x {BASELINE}'s figure; vs peer: x the best of the others (not ringlink); \
             > 1 is better."
        )
        .unwrap();
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

fn peer_ratio(f: &Figure, width: usize) -> String {
    format!("{:>width$}", format!("{}x", short(f.vs_best_peer)))
}
