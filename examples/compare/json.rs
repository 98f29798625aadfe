//! The report as JSON (`--json`): the same figures as the table, every run included.

use std::fmt::Write as _;

use crate::common::contenders::BASELINE;
use crate::measure::PRODUCER_COUNTS;
use crate::report::{Figure, Report};

impl Report {
    pub fn json(&self) -> String {
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
            "\"runs\":{},\"quick\":{},\"seconds\":{},\"clock_read_ns\":{},\"baseline\":{},\
             \"producer_counts\":[{}],",
            self.runs,
            self.quick,
            num(self.seconds),
            num(self.clock_ns),
            json_str(BASELINE),
            PRODUCER_COUNTS.map(|n| n.to_string()).join(",")
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
            let (cloned_p50, cloned_p99, producers) = if row.multi_producer {
                (
                    figure_json(&row.cloned_echo_p50),
                    figure_json(&row.cloned_echo_p99),
                    PRODUCER_COUNTS
                        .iter()
                        .zip(&row.producers)
                        .map(|(n, f)| {
                            format!("{{\"n\":{n},\"throughput_mmsg_s\":{}}}", figure_json(f))
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                )
            } else {
                ("null".to_owned(), "null".to_owned(), String::new())
            };
            write!(
                o,
                "{{\"name\":{},\"busy_poll\":{},\"bounded\":{},\"multi_producer\":{},\
                 \"echo_p50_ns\":{},\"echo_p99_ns\":{},\"throughput_mmsg_s\":{},\
                 \"one_core_echo_p50_ns\":{},\"cloned_echo_p50_ns\":{},\
                 \"cloned_echo_p99_ns\":{},\"producers\":[{}]}}",
                json_str(row.name),
                row.busy_poll,
                row.bounded,
                row.multi_producer,
                figure_json(&row.echo_p50),
                figure_json(&row.echo_p99),
                figure_json(&row.mmsg),
                figure_json(&row.one_core),
                cloned_p50,
                cloned_p99,
                producers,
            )
            .unwrap();
        }
        o.push_str("],\"box_stream\":[");
        for (i, row) in self.box_rows().iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            write!(
                o,
                "{{\"name\":{},\"recycles\":{},\"throughput_mmsg_s\":{}}}",
                json_str(row.name),
                row.recycles,
                figure_json(&row.mmsg)
            )
            .unwrap();
        }
        o.push_str("],\"ringlink_vs_peers\":[");
        let ratios = self.peer_ratios(&rows);
        for (i, r) in ratios.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            write!(
                o,
                "{{\"name\":{},\"echo_p50_vs_raw_ring\":{},\"stream_vs\":{{{}}}}}",
                json_str(r.name),
                num(r.echo_p50_vs_raw_ring),
                r.stream_vs
                    .iter()
                    .map(|(peer, x)| format!("{}:{}", json_str(peer), num(*x)))
                    .collect::<Vec<_>>()
                    .join(",")
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
        "{{\"median\":{},\"vs_std\":{},\"vs_best_peer\":{},\"spread\":{},\"reliable\":{},\
         \"runs\":[{}]}}",
        num(f.median),
        num(f.vs_std),
        num(f.vs_best_peer),
        num(f.spread),
        f.reliable,
        f.runs.iter().map(|&v| num(v)).collect::<Vec<_>>().join(",")
    )
}
